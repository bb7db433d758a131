// Seeded simulated worlds from Python: SimClock, SimVolume (cache, crash, faults), workload
// generators, and the simulated database (TransactionalApp) with its ConsistencyChecker.
#include <pybind11/chrono.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/sim/sim_volume.h"
#include "freezeframe/sim/transactional_app.h"
#include "freezeframe/sim/workload.h"
#include "protocol.h"

namespace freezeframe::python {

namespace {

using sim::SimClock;

class SimVolumeHandle final : public VolumeHandle {
 public:
  explicit SimVolumeHandle(std::shared_ptr<sim::SimVolume> volume)
      : VolumeHandle(volume, "sim volume"), sim_(std::move(volume)) {}
  void close() override {
    sim_.reset();
    VolumeHandle::close();
  }
  std::shared_ptr<sim::SimVolume> sim() const {
    if (!sim_)
      raise_closed();
    return sim_;
  }

 private:
  std::shared_ptr<sim::SimVolume> sim_;
};

// freezeframe.TransactionalApp: the app, kept with the volumes it borrows.
class AppHandle {
 public:
  explicit AppHandle(std::shared_ptr<sim::TransactionalApp> app) : app_(std::move(app)) {}
  sim::TransactionalApp& app() const { return *app_; }
  std::shared_ptr<sim::TransactionalApp> shared() const { return app_; }

 private:
  std::shared_ptr<sim::TransactionalApp> app_;
};

// freezeframe.Workload: a seeded stream of I/O operations; iterating it yields IoOp values.
class WorkloadHandle {
 public:
  explicit WorkloadHandle(std::unique_ptr<sim::Workload> workload)
      : workload_(std::move(workload)) {}
  sim::Workload& workload() const { return *workload_; }

 private:
  std::unique_ptr<sim::Workload> workload_;
};

sim::IoOperation operation_from(const std::string& name) {
  if (name == "read")
    return sim::IoOperation::kRead;
  if (name == "write")
    return sim::IoOperation::kWrite;
  if (name == "flush")
    return sim::IoOperation::kFlush;
  if (name == "discard")
    return sim::IoOperation::kDiscard;
  throw StatusError(
      Status(ErrorCode::kInvalidArgument,
             "unknown operation '" + name + "' (expected read, write, flush or discard)"));
}

sim::IoOperationMask mask_from(const std::vector<std::string>& operations) {
  if (operations.empty())
    return sim::kAllOperations;
  sim::IoOperationMask mask = 0;
  for (const std::string& name : operations)
    mask = static_cast<sim::IoOperationMask>(mask | sim::operation_bit(operation_from(name)));
  return mask;
}

sim::FaultRule::Trigger trigger_from(const std::string& name) {
  if (name == "nth")
    return sim::FaultRule::Trigger::kNth;
  if (name == "from-nth")
    return sim::FaultRule::Trigger::kFromNth;
  if (name == "range")
    return sim::FaultRule::Trigger::kRange;
  if (name == "probability")
    return sim::FaultRule::Trigger::kProbability;
  throw StatusError(Status(
      ErrorCode::kInvalidArgument,
      "unknown fault trigger '" + name + "' (expected nth, from-nth, range or probability)"));
}

sim::AccessPattern pattern_from(const std::string& name) {
  if (name == "sequential")
    return sim::AccessPattern::kSequential;
  if (name == "uniform")
    return sim::AccessPattern::kUniform;
  if (name == "zipfian")
    return sim::AccessPattern::kZipfian;
  throw StatusError(
      Status(ErrorCode::kInvalidArgument,
             "unknown access pattern '" + name + "' (expected sequential, uniform or zipfian)"));
}

py::dict sim_stats_dict(const sim::SimVolumeStats& stats) {
  py::dict out;
  out["reads"] = stats.reads;
  out["writes"] = stats.writes;
  out["flushes"] = stats.flushes;
  out["discards"] = stats.discards;
  out["bytes_read"] = stats.bytes_read;
  out["bytes_written"] = stats.bytes_written;
  out["bytes_discarded"] = stats.bytes_discarded;
  out["units_written_back"] = stats.units_written_back;
  out["crashes"] = stats.crashes;
  out["last_crash_units_dropped"] = stats.last_crash_units_dropped;
  out["last_crash_units_kept"] = stats.last_crash_units_kept;
  out["injected_failures"] = stats.injected_failures;
  return out;
}

py::dict report_dict(const sim::ConsistencyReport& report) {
  py::dict out;
  out["verdict"] = std::string(sim::consistency_name(report.verdict));
  out["epoch"] = report.epoch;
  out["checkpoint_txn"] = report.checkpoint_txn;
  out["log_records"] = report.log_records;
  out["committed_transactions"] = report.committed_transactions;
  out["uncommitted_transactions"] = report.uncommitted_transactions;
  out["last_committed_txn"] = report.last_committed_txn;
  out["blocks_checked"] = report.blocks_checked;
  out["blocks_matching"] = report.blocks_matching;
  out["blocks_behind"] = report.blocks_behind;
  out["blocks_torn"] = report.blocks_torn;
  out["message"] = report.message;
  out["problem_txn"] = report.problem_txn;
  out["problem_block"] = report.problem_block;
  return out;
}

void bind_clock_and_volume(py::module_& m) {
  py::class_<SimClock, std::shared_ptr<SimClock>>(
      m, "SimClock",
      R"(Simulated time: it moves only through advance(), which fires the timers due on the
way (a coordinator's deadlines among them) on the calling thread. Durations are
datetime.timedelta or float seconds.)")
      .def(py::init<>())
      .def_property_readonly("now_ns", [](const SimClock& c) { return c.now().count(); })
      .def_property_readonly("wall_time_ns",
                             [](const SimClock& c) { return c.wall_time().count(); })
      .def("advance", &SimClock::advance, py::arg("delta"),
           py::call_guard<py::gil_scoped_release>(),
           "Moves time forward by `delta`; returns the number of timers fired.")
      .def("advance_to_next_timer", &SimClock::advance_to_next_timer,
           py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("pending_timers", &SimClock::pending_timers);

  py::class_<SimVolumeHandle, VolumeHandle, std::shared_ptr<SimVolumeHandle>>(
      m, "SimVolume",
      R"(A simulated disk over a base volume: a volatile write cache that crash() tears at
atomic_write_bytes, fault rules, optional latency on a SimClock. One seed decides what a
crash keeps and which probabilistic faults fire.)")
      .def(py::init([](const py::handle& base_object, std::uint64_t seed,
                       std::uint32_t atomic_write_bytes, std::uint64_t cache_bytes_max,
                       double crash_survival_probability, const py::object& clock,
                       Nanoseconds latency_per_operation, Nanoseconds latency_per_mib,
                       std::string name) {
             std::shared_ptr<Volume> base = volume_of(base_object);
             std::shared_ptr<SimClock> sim_clock;
             if (!clock.is_none())
               sim_clock = clock.cast<std::shared_ptr<SimClock>>();
             sim::SimVolumeOptions options{.seed = seed,
                                           .atomic_write_bytes = atomic_write_bytes,
                                           .cache_bytes_max = cache_bytes_max,
                                           .crash_survival_probability = crash_survival_probability,
                                           .clock = sim_clock.get(),
                                           .latency_per_operation = latency_per_operation,
                                           .latency_per_mib = latency_per_mib,
                                           .name = std::move(name)};
             auto created = value_or_raise(sim::SimVolume::create(*base, options));
             return std::make_shared<SimVolumeHandle>(
                 owned_with(std::move(created), std::move(base), std::move(sim_clock)));
           }),
           py::arg("base"), py::arg("seed") = 0, py::arg("atomic_write_bytes") = 0,
           py::arg("cache_bytes_max") = 64ull << 20, py::arg("crash_survival_probability") = 0.5,
           py::arg("clock") = py::none(), py::arg("latency_per_operation") = Nanoseconds(0),
           py::arg("latency_per_mib") = Nanoseconds(0), py::arg("name") = "")
      .def(
          "crash",
          [](const SimVolumeHandle& h) {
            auto volume = h.sim();
            return without_gil([&] { return volume->crash(); });
          },
          "Power loss: each unit written since the last flush survives or reverts, as the seed "
          "decides. Returns the number of units dropped.")
      .def_property_readonly("unflushed_bytes",
                             [](const SimVolumeHandle& h) { return h.sim()->unflushed_bytes(); })
      .def("stats", [](const SimVolumeHandle& h) { return sim_stats_dict(h.sim()->stats()); })
      .def("reset_stats", [](const SimVolumeHandle& h) { h.sim()->reset_stats(); })
      .def(
          "add_fault",
          [](const SimVolumeHandle& h, const std::string& trigger,
             const std::vector<std::string>& operations, std::uint64_t n, std::uint64_t offset,
             std::uint64_t length, double probability, std::uint64_t failures_max,
             const py::object& code) {
            sim::FaultRule rule{.trigger = trigger_from(trigger),
                                .operations = mask_from(operations),
                                .n = n,
                                .offset = offset,
                                .length = length,
                                .probability = probability,
                                .failures_max = failures_max,
                                .code = static_cast<ErrorCode>(code.cast<int>())};
            if (rule.code != ErrorCode::kIoError && rule.code != ErrorCode::kNoSpace)
              check(Status(ErrorCode::kInvalidArgument,
                           "a fault fails requests with IO_ERROR or NO_SPACE"));
            return h.sim()->add_fault(rule);
          },
          py::arg("trigger") = "nth", py::arg("operations") = std::vector<std::string>{},
          py::arg("n") = 1, py::arg("offset") = 0, py::arg("length") = 0,
          py::arg("probability") = 0.0, py::arg("failures_max") = 0,
          py::arg("code") = static_cast<int>(ErrorCode::kIoError),
          R"(Adds a rule that fails matching requests: trigger "nth" (the n-th), "from-nth",
"range" (overlapping [offset, offset + length)) or "probability"; operations: a list of
"read", "write", "flush", "discard" (empty: all); code: ErrorCode.IO_ERROR or NO_SPACE.
Returns the rule's id.)")
      .def(
          "remove_fault",
          [](const SimVolumeHandle& h, sim::FaultId id) { return h.sim()->remove_fault(id); },
          py::arg("fault_id"))
      .def("clear_faults", [](const SimVolumeHandle& h) { h.sim()->clear_faults(); });
}

void bind_workload(py::module_& m) {
  py::class_<sim::IoOp>(m, "IoOp", "One operation of a workload.")
      .def_property_readonly(
          "kind", [](const sim::IoOp& op) { return std::string(sim::io_operation_name(op.kind)); })
      .def_readonly("offset", &sim::IoOp::offset)
      .def_readonly("length", &sim::IoOp::length)
      .def_readonly("data_seed", &sim::IoOp::data_seed)
      .def(
          "payload",
          [](const sim::IoOp& op) {
            py::bytes out(nullptr, static_cast<py::ssize_t>(op.length));
            sim::fill_payload(
                op, std::span<std::byte>(reinterpret_cast<std::byte*>(PyBytes_AS_STRING(out.ptr())),
                                         static_cast<std::size_t>(op.length)));
            return out;
          },
          "The bytes a write carries (a function of its data seed and offset).")
      .def(
          "apply",
          [](const sim::IoOp& op, const py::handle& volume_object) {
            std::shared_ptr<Volume> volume = volume_of(volume_object);
            check(without_gil([&] { return sim::apply(*volume, op); }));
          },
          py::arg("volume"), "Issues the operation against `volume`.")
      .def("__eq__", [](const sim::IoOp& a, const sim::IoOp& b) { return a == b; })
      .def("__repr__", [](const sim::IoOp& op) {
        return "<freezeframe.IoOp " + std::string(sim::io_operation_name(op.kind)) +
               " offset=" + std::to_string(op.offset) + " length=" + std::to_string(op.length) +
               ">";
      });

  py::class_<WorkloadHandle, std::shared_ptr<WorkloadHandle>>(
      m, "Workload",
      "A seeded, deterministic stream of block I/O (the same options give the same trace).")
      .def(
          py::init([](std::uint64_t volume_bytes, std::uint64_t seed, std::uint32_t sector_bytes,
                      const std::string& pattern, double read_fraction, double discard_fraction,
                      const std::vector<std::pair<std::uint64_t, std::uint32_t>>& sizes,
                      std::uint64_t alignment_bytes, std::uint64_t operation_count,
                      std::uint64_t flush_every, double zipf_theta, double hot_set_fraction) {
            sim::WorkloadOptions options{.seed = seed,
                                         .volume_bytes = volume_bytes,
                                         .sector_bytes = sector_bytes,
                                         .pattern = pattern_from(pattern),
                                         .zipf_theta = zipf_theta,
                                         .hot_set_fraction = hot_set_fraction,
                                         .read_fraction = read_fraction,
                                         .discard_fraction = discard_fraction,
                                         .sizes = {},
                                         .alignment_bytes = alignment_bytes,
                                         .operation_count = operation_count,
                                         .flush_every = flush_every};
            for (const auto& [bytes, weight] : sizes)
              options.sizes.push_back({.bytes = bytes, .weight = weight});
            return std::make_shared<WorkloadHandle>(value_or_raise(sim::Workload::create(options)));
          }),
          py::arg("volume_bytes"), py::arg("seed") = 0, py::arg("sector_bytes") = 512,
          py::arg("pattern") = "uniform", py::arg("read_fraction") = 0.5,
          py::arg("discard_fraction") = 0.0,
          py::arg("sizes") = std::vector<std::pair<std::uint64_t, std::uint32_t>>{{4096, 1}},
          py::arg("alignment_bytes") = 0, py::arg("operation_count") = 1000,
          py::arg("flush_every") = 0, py::arg("zipf_theta") = 0.99,
          py::arg("hot_set_fraction") = 1.0,
          "pattern: \"sequential\", \"uniform\" or \"zipfian\"; sizes: [(bytes, weight), ...].")
      .def_property_readonly("produced",
                             [](const WorkloadHandle& w) { return w.workload().produced(); })
      .def_property_readonly("done", [](const WorkloadHandle& w) { return w.workload().done(); })
      .def("__iter__", [](const py::object& self) { return self; })
      .def("__next__",
           [](const WorkloadHandle& w) {
             std::optional<sim::IoOp> op = w.workload().next();
             if (!op.has_value())
               throw py::stop_iteration();
             return *op;
           })
      .def(
          "run",
          [](const WorkloadHandle& w, const py::handle& volume_object) {
            std::shared_ptr<Volume> volume = volume_of(volume_object);
            check(without_gil([&] { return sim::run(*volume, w.workload()); }));
          },
          py::arg("volume"), "Issues every remaining operation against `volume`, in order.");

  m.def(
      "trace_hash", [](const std::vector<sim::IoOp>& ops) { return sim::trace_hash(ops); },
      py::arg("ops"), "A hash of a list of IoOp that is equal on every host for equal traces.");
}

void bind_app(py::module_& m) {
  py::class_<AppHandle, std::shared_ptr<AppHandle>>(
      m, "TransactionalApp",
      R"(A simulated write-ahead-logging database on a data and a log volume (it formats
both). It is also a writer: register it with a Coordinator and its freeze makes the
snapshots check "consistent".)")
      .def(py::init([](const py::handle& data_object, const py::handle& log_object,
                       std::uint64_t seed, std::string name, std::uint32_t block_bytes,
                       std::uint64_t data_blocks, std::uint32_t blocks_per_transaction_max,
                       std::uint64_t flush_every) {
             std::shared_ptr<Volume> data = volume_of(data_object);
             std::shared_ptr<Volume> log = volume_of(log_object);
             sim::TransactionalAppOptions options{
                 .name = std::move(name),
                 .seed = seed,
                 .block_bytes = block_bytes,
                 .data_blocks = data_blocks,
                 .blocks_per_transaction_max = blocks_per_transaction_max,
                 .flush_every = flush_every};
             auto created = value_or_raise(
                 without_gil([&] { return sim::TransactionalApp::create(*data, *log, options); }));
             return std::make_shared<AppHandle>(
                 owned_with(std::move(created), std::move(data), std::move(log)));
           }),
           py::arg("data"), py::arg("log"), py::arg("seed") = 0, py::arg("name") = "sim-database",
           py::arg("block_bytes") = 4096, py::arg("data_blocks") = 0,
           py::arg("blocks_per_transaction_max") = 4, py::arg("flush_every") = 8)
      .def(
          "run",
          [](const AppHandle& h, std::uint64_t transactions) {
            auto app = h.shared();
            check(without_gil([&] { return app->run(transactions); }));
          },
          py::arg("transactions"),
          "Runs until `transactions` more transactions completed (waits while frozen).")
      .def(
          "step",
          [](const AppHandle& h) {
            auto app = h.shared();
            return static_cast<int>(value_or_raise(without_gil([&] { return app->step(); })));
          },
          "One I/O of the transaction state machine; returns the step's number (AppStep).")
      .def("stop", [](const AppHandle& h) { h.app().stop(); })
      .def("stats", [](const AppHandle& h) {
        sim::AppStats stats = h.app().stats();
        py::dict out;
        out["transactions_started"] = stats.transactions_started;
        out["transactions_completed"] = stats.transactions_completed;
        out["last_txn_id"] = stats.last_txn_id;
        out["checkpoints"] = stats.checkpoints;
        out["steps"] = stats.steps;
        out["freezes"] = stats.freezes;
        out["in_flight"] = stats.in_flight;
        out["frozen"] = stats.frozen;
        out["failed"] = stats.failed;
        return out;
      });

  struct ConsistencyChecker {};
  py::class_<ConsistencyChecker>(m, "ConsistencyChecker",
                                 "Judges a data image and a log image of a TransactionalApp.")
      .def_static(
          "check",
          [](const py::handle& data_object, const py::handle& log_object) {
            std::shared_ptr<Volume> data = volume_of(data_object);
            std::shared_ptr<Volume> log = volume_of(log_object);
            return report_dict(value_or_raise(
                without_gil([&] { return sim::ConsistencyChecker::check(*data, *log); })));
          },
          py::arg("data"), py::arg("log"),
          "A report dict; its verdict is \"consistent\", \"recoverable\" or \"corrupt\".")
      .def_static(
          "recover",
          [](const py::handle& data_object, const py::handle& log_object) {
            std::shared_ptr<Volume> data = volume_of(data_object);
            std::shared_ptr<Volume> log = volume_of(log_object);
            check(without_gil([&] { return sim::ConsistencyChecker::recover(*data, *log); }));
          },
          py::arg("data"), py::arg("log"),
          "Replays the committed log onto the data (crash recovery); Corrupt if it cannot.");
}

}  // namespace

Writer& writer_of(const py::handle& writer) {
  if (py::isinstance<PythonWriter>(writer))
    return writer.cast<PythonWriter&>();
  if (py::isinstance<AppHandle>(writer))
    return writer.cast<const AppHandle&>().app();
  throw py::type_error("expected a freezeframe.Writer or a freezeframe.TransactionalApp, got " +
                       std::string(py::str(py::type::of(writer))));
}

void bind_sim(py::module_& m) {
  bind_clock_and_volume(m);
  bind_workload(m);
  bind_app(m);
}

}  // namespace freezeframe::python

// The snapshot protocol from Python: writers as Python classes, the Coordinator and its
// backup sessions.
#include "protocol.h"

#include <pybind11/chrono.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "bindings.h"
#include "freezeframe/backup_session.h"
#include "freezeframe/coordinator.h"
#include "freezeframe/executor.h"
#include "freezeframe/holdable_volume.h"
#include "freezeframe/protocol_provider.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/sim_clock.h"
#include "providers.h"

namespace freezeframe::python {

namespace {

// Collects the coordinator's protocol events for Coordinator.events().
class EventList final : public EventSink {
 public:
  void record(const ProtocolEvent& event) override {
    std::lock_guard lock(mutex_);
    if (events_.size() < kEventsMax)
      events_.push_back(event);
  }
  std::vector<ProtocolEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  static constexpr std::size_t kEventsMax = 1 << 16;
  mutable std::mutex mutex_;
  std::vector<ProtocolEvent> events_;
};

py::dict event_dict(const ProtocolEvent& event) {
  py::dict out;
  out["set_id"] = event.set_id.to_string();
  out["phase"] = std::string(protocol_phase_name(event.phase));
  out["participant"] = std::string(participant_name(event.participant));
  out["name"] = event.name;
  out["start_ns"] = event.start.count();
  out["duration_ns"] = event.duration.count();
  out["outcome"] = std::string(event_outcome_name(event.outcome));
  out["message"] = event.message;
  return out;
}

// Destroys `object` with the GIL released when this thread holds it: destroying a coordinator or
// a session may wait for writer events, which take the GIL on other threads. (The C API, not
// pybind11's guard, so that no exception can leave a destructor.)
template <typename T>
void release_without_gil(std::unique_ptr<T>& object) noexcept {
  if (PyGILState_Check() != 0) {
    PyThreadState* state = PyEval_SaveThread();
    object.reset();
    PyEval_RestoreThread(state);
  } else {
    object.reset();
  }
}

// freezeframe.DeterministicExecutor: the engine's DeterministicExecutor (no thread: a session
// runs its writer events and provider calls on the thread that drives it, in submission order
// or in an order a seed draws), behind a lock. The engine's executor serves one thread at a
// time; from Python, sessions driven on two threads take turns at the lock instead of racing.
class LockedDeterministicExecutor final : public Executor {
 public:
  explicit LockedDeterministicExecutor(const std::optional<std::uint64_t>& seed)
      : random_(seed.has_value() ? std::make_unique<Random>(*seed) : nullptr),
        executor_(random_.get()) {}

  [[nodiscard]] Result<std::uint64_t> submit(std::function<void()> task) override {
    std::lock_guard lock(mutex_);
    return executor_.submit(std::move(task));
  }
  // A task may submit and run further tasks (recursively, on this thread).
  void run_queued() override {
    std::lock_guard lock(mutex_);
    executor_.run_queued();
  }
  std::size_t tasks_run() const {
    std::lock_guard lock(mutex_);
    return executor_.tasks_run();
  }

 private:
  mutable std::recursive_mutex mutex_;
  std::unique_ptr<Random> random_;  // before executor_, which borrows it
  DeterministicExecutor executor_;
};

// Everything a Coordinator borrows, and the coordinator itself, destroyed first.
class CoordinatorCore {
 public:
  // One adapter per provider kind serves every volume of that kind.
  struct ServingAdapter {
    std::unique_ptr<BlockSnapshotAdapter> adapter{};
    bool registered = false;
  };

  // Declared in the order they may be destroyed in reverse: the coordinator first, then the
  // writers and adapters it calls, then the providers and volumes they borrow.
  std::shared_ptr<Clock> clock;
  std::unique_ptr<Random> random;
  std::shared_ptr<LockedDeterministicExecutor> executor;  // null: the coordinator's own pool
  EventList events;
  std::vector<std::shared_ptr<Volume>> volumes;  // holdable volumes, and the providers
  std::map<ProviderKind, ServingAdapter> adapters;
  // Every writer ever registered, kept for the coordinator's life: a session that identified
  // a writer may still call it (backup_shutdown) after it was unregistered. Touched with the
  // GIL held.
  std::vector<py::object> writers;
  std::unique_ptr<Coordinator> coordinator;

  ~CoordinatorCore() {
    // The destructor waits for stalled calls, which may be Python writers waiting for the GIL.
    release_without_gil(coordinator);
  }
};

class SessionCore {
 public:
  std::shared_ptr<CoordinatorCore> coordinator;
  // Null once ended at interpreter exit (end_sessions_at_exit).
  std::unique_ptr<BackupSession> session;
  // Held shared by every call on the session, exclusively while it is ended at exit.
  std::shared_mutex calls;
  // The snapshot volumes opened from the session, and their handles: the session may end
  // early (at exit) only once every such volume is gone. Touched with the GIL held.
  std::vector<std::weak_ptr<VolumeHandle>> snapshot_handles;
  std::vector<std::weak_ptr<Volume>> snapshot_volumes;

  ~SessionCore() {
    // Ending a session sends writers backup_shutdown (and abort): they need the GIL.
    release_without_gil(session);
  }
};

// Every session core created, for end_sessions_at_exit; touched with the GIL held. Never
// destroyed: sessions may end up to the interpreter's last moments.
std::vector<std::weak_ptr<SessionCore>>& live_sessions() {
  static auto* sessions = new std::vector<std::weak_ptr<SessionCore>>();
  return *sessions;
}

std::shared_ptr<SessionCore> new_session_core(std::shared_ptr<CoordinatorCore> coordinator,
                                              std::unique_ptr<BackupSession> session) {
  auto core = std::make_shared<SessionCore>();
  core->coordinator = std::move(coordinator);
  core->session = std::move(session);
  std::vector<std::weak_ptr<SessionCore>>& sessions = live_sessions();
  std::erase_if(sessions, [](const std::weak_ptr<SessionCore>& s) { return s.expired(); });
  sessions.push_back(core);
  return core;
}

// Registered with Python's atexit: a session still open when the interpreter exits is ended
// while Python still runs, so its writers get backup_shutdown (and an auto-release context's
// snapshots are deleted), as if it had been closed. Its snapshot volumes are closed first; a
// session whose snapshot volume something else still holds (a volume built over it), or that
// another thread is calling, is left to the interpreter's teardown.
void end_sessions_at_exit() {
  std::vector<std::shared_ptr<SessionCore>> open;
  for (const std::weak_ptr<SessionCore>& weak : live_sessions()) {
    if (std::shared_ptr<SessionCore> core = weak.lock())
      open.push_back(std::move(core));
  }
  for (const std::shared_ptr<SessionCore>& core : open) {
    for (const std::weak_ptr<VolumeHandle>& weak : core->snapshot_handles) {
      if (std::shared_ptr<VolumeHandle> handle = weak.lock())
        handle->close();
    }
    const bool volumes_gone = std::ranges::all_of(
        core->snapshot_volumes, [](const std::weak_ptr<Volume>& v) { return v.expired(); });
    std::unique_ptr<BackupSession> ended;
    {
      std::unique_lock lock(core->calls, std::try_to_lock);
      if (volumes_gone && lock.owns_lock())
        ended = std::move(core->session);
    }
    // Outside the lock: a writer's backup_shutdown may call the session (and gets BadState).
    release_without_gil(ended);
  }
}

// Python's cycle collector sees through a coordinator or session handle to the writers the
// coordinator keeps, so that a writer holding its coordinator (or session) is freed with it.
// Only the handle that alone owns the coordinator's core reports them: the core is C++, and a
// reference the collector cannot see (another handle, a snapshot volume, a call in flight)
// must keep the writers reachable.
int visit_writers(const CoordinatorCore& core, visitproc visit, void* arg) {
  for (const py::object& writer : core.writers)
    Py_VISIT(writer.ptr());
  return 0;
}

class SessionHandle {
 public:
  explicit SessionHandle(std::shared_ptr<SessionCore> core) : core_(std::move(core)) {}
  ~SessionHandle() { close(); }
  SessionHandle(const SessionHandle&) = delete;
  SessionHandle& operator=(const SessionHandle&) = delete;
  std::shared_ptr<SessionCore> core() const {
    if (!core_)
      throw StatusError(Status(ErrorCode::kBadState, "backup session is closed"));
    return core_;
  }
  // reset() empties core_ before the core is destroyed, so a collection that runs meanwhile
  // (writers' Python code in backup_shutdown) sees a closed handle.
  void close() { core_.reset(); }
  bool closed() const noexcept { return core_ == nullptr; }
  int traverse(visitproc visit, void* arg) const {
    if (core_ != nullptr && core_.use_count() == 1 && core_->coordinator.use_count() == 1)
      return visit_writers(*core_->coordinator, visit, arg);
    return 0;
  }

 private:
  std::shared_ptr<SessionCore> core_;
};

class CoordinatorHandle {
 public:
  explicit CoordinatorHandle(std::shared_ptr<CoordinatorCore> core) : core_(std::move(core)) {}
  ~CoordinatorHandle() { close(); }
  CoordinatorHandle(const CoordinatorHandle&) = delete;
  CoordinatorHandle& operator=(const CoordinatorHandle&) = delete;
  std::shared_ptr<CoordinatorCore> core() const {
    if (!core_)
      throw StatusError(Status(ErrorCode::kBadState, "coordinator is closed"));
    return core_;
  }
  void close() { core_.reset(); }  // as SessionHandle::close()
  int traverse(visitproc visit, void* arg) const {
    if (core_ != nullptr && core_.use_count() == 1)
      return visit_writers(*core_, visit, arg);
    return 0;
  }

 private:
  std::shared_ptr<CoordinatorCore> core_;
};

// The C++ handle of a handle type's instance; null for an instance being built or torn down
// (no Python error may come out of a traversal).
template <typename Handle>
Handle* handle_of(PyObject* self) {
  auto* instance = reinterpret_cast<py::detail::instance*>(self);
  py::detail::value_and_holder slot = instance->get_value_and_holder();
  if (!slot.holder_constructed())
    return nullptr;
  return static_cast<Handle*>(slot.value_ptr());
}

// tp_traverse and tp_clear for a handle type, which becomes a GC type (pybind11's
// custom_type_setup).
template <typename Handle>
py::custom_type_setup collectable() {
  return py::custom_type_setup([](PyHeapTypeObject* heap_type) {
    PyTypeObject* type = &heap_type->ht_type;
    type->tp_flags |= Py_TPFLAGS_HAVE_GC;
    type->tp_traverse = [](PyObject* self, visitproc visit, void* arg) -> int {
      Py_VISIT(Py_TYPE(self));
      Handle* handle = handle_of<Handle>(self);
      return handle != nullptr ? handle->traverse(visit, arg) : 0;
    };
    type->tp_clear = [](PyObject* self) -> int {
      if (Handle* handle = handle_of<Handle>(self))
        handle->close();
      return 0;
    };
  });
}

// Runs `call` on the session with the GIL released; raises on error.
template <typename Call>
auto on_session(const SessionHandle& handle, Call&& call) {
  std::shared_ptr<SessionCore> core = handle.core();
  return without_gil([&] {
    std::shared_lock lock(core->calls);
    if (core->session == nullptr)
      throw StatusError(Status(ErrorCode::kBadState, "backup session ended at interpreter exit"));
    return call(*core->session);
  });
}

py::object snapshot_set_object(const SnapshotSet& set) {
  py::dict out;
  out["id"] = set.id.to_string();
  out["context"] = std::string(snapshot_context_name(set.context));
  out["snapshots"] = py::cast(set.snapshots);
  return out;
}

Uuid provider_id_for(CoordinatorCore& core, const py::object& provider) {
  if (provider.is_none())
    return Uuid();
  auto kind = provider.cast<ProviderKind>();
  auto found = core.adapters.find(kind);
  if (found == core.adapters.end())
    throw StatusError(Status(ErrorCode::kNotFound, "no volume of the coordinator is served by a " +
                                                       std::string(provider_kind_name(kind)) +
                                                       " provider"));
  return found->second.adapter->id();
}

void bind_session(py::module_& m) {
  py::class_<SessionHandle, std::shared_ptr<SessionHandle>>(
      m, "BackupSession", collectable<SessionHandle>(),
      R"(The requestor's side of one snapshot set, in the VSS call order. Every call runs with
the GIL released; writers are called on the coordinator's threads.)")
      .def(
          "set_context",
          [](const SessionHandle& h, const std::string& context) {
            SnapshotContext parsed = value_or_raise(parse_snapshot_context(context));
            check(on_session(h, [&](BackupSession& s) { return s.set_context(parsed); }));
          },
          py::arg("context"), "\"backup\", \"filesharebackup\", \"approllback\", ...")
      .def(
          "set_backup_type",
          [](const SessionHandle& h, BackupType type) {
            check(on_session(h, [&](BackupSession& s) { return s.set_backup_type(type); }));
          },
          py::arg("backup_type"))
      .def(
          "gather_writer_metadata",
          [](const SessionHandle& h) {
            auto metadata = value_or_raise(
                on_session(h, [](BackupSession& s) { return s.gather_writer_metadata(); }));
            py::object loads = py::module_::import("json").attr("loads");
            py::list out;
            for (const WriterMetadata& writer : metadata)
              out.append(loads(writer_metadata_to_json(writer)));
            return out;
          },
          "Identify on every writer; their metadata as dicts (the JSON schema of "
          "docs/protocol.md).")
      .def("start_snapshot_set",
           [](const SessionHandle& h) {
             return value_or_raise(
                        on_session(h, [](BackupSession& s) { return s.start_snapshot_set(); }))
                 .to_string();
           })
      .def(
          "add_to_snapshot_set",
          [](const SessionHandle& h, const std::string& volume, const py::object& provider) {
            Uuid id = provider_id_for(*h.core()->coordinator, provider);
            check(
                on_session(h, [&](BackupSession& s) { return s.add_to_snapshot_set(volume, id); }));
          },
          py::arg("volume"), py::arg("provider") = py::none(),
          "Adds a volume by name; `provider` (a ProviderKind) picks the provider, None the "
          "volume's default.")
      .def("prepare_for_backup",
           [](const SessionHandle& h) {
             check(on_session(h, [](BackupSession& s) { return s.prepare_for_backup(); }));
           })
      .def(
          "do_snapshot_set",
          [](const SessionHandle& h) {
            check(on_session(h, [](BackupSession& s) { return s.do_snapshot_set(); }));
          },
          "Prepare, freeze, hold I/O, commit, release, thaw. A failure raises (Timeout for a "
          "deadline) and leaves no snapshot of the set.")
      .def("gather_writer_status",
           [](const SessionHandle& h) {
             py::list out;
             for (const WriterStatus& status :
                  on_session(h, [](BackupSession& s) { return s.gather_writer_status(); })) {
               py::dict entry;
               entry["name"] = status.name;
               entry["state"] = std::string(writer_state_name(status.state));
               entry["failure"] = status.failure;
               entry["message"] = status.message;
               out.append(entry);
             }
             return out;
           })
      .def(
          "backup_complete",
          [](const SessionHandle& h, bool succeeded) {
            check(on_session(h, [&](BackupSession& s) { return s.backup_complete(succeeded); }));
          },
          py::arg("succeeded") = true)
      .def("abort",
           [](const SessionHandle& h) {
             check(on_session(h, [](BackupSession& s) { return s.abort(); }));
           })
      .def("snapshot_set",
           [](const SessionHandle& h) {
             return snapshot_set_object(
                 value_or_raise(on_session(h, [](BackupSession& s) { return s.snapshot_set(); })));
           })
      .def_property_readonly(
          "snapshot_set_id",
          [](const SessionHandle& h) {
            return on_session(h, [](BackupSession& s) { return s.snapshot_set_id(); }).to_string();
          })
      .def(
          "failure",
          [](const SessionHandle& h) -> py::object {
            auto failure = on_session(h, [](BackupSession& s) { return s.failure(); });
            if (!failure.has_value())
              return py::none();
            py::dict out;
            out["participant"] = std::string(participant_name(failure->participant));
            out["name"] = failure->name;
            out["phase"] = std::string(protocol_phase_name(failure->phase));
            out["writer_failure"] = failure->writer_failure;
            out["code"] = error_code_object(failure->status.code());
            out["message"] = failure->status.message();
            return out;
          },
          "Who ended the set, where and why (a dict), or None.")
      .def(
          "open_snapshot",
          [](const SessionHandle& h, const std::string& volume) {
            auto opened = value_or_raise(
                on_session(h, [&](BackupSession& s) { return s.open_snapshot(volume); }));
            std::shared_ptr<SessionCore> core = h.core();
            std::shared_ptr<VolumeHandle> handle = snapshot_volume(std::move(opened), core);
            std::erase_if(core->snapshot_handles,
                          [](const auto& entry) { return entry.expired(); });
            std::erase_if(core->snapshot_volumes,
                          [](const auto& entry) { return entry.expired(); });
            core->snapshot_handles.push_back(handle);
            core->snapshot_volumes.push_back(handle->volume());
            return handle;
          },
          py::arg("volume"), "The set's snapshot of `volume`, read-only.")
      .def(
          "changed_extents",
          [](const SessionHandle& h, const std::string& volume, const std::string& since) {
            auto changed = value_or_raise(
                on_session(h, [&](BackupSession& s) { return s.changed_extents(volume, since); }));
            return changed_extents_dict(changed);
          },
          py::arg("volume"), py::arg("since_change_id"))
      .def("close", &SessionHandle::close,
           "Ends the session (aborting a set in creation, auto-releasing its snapshots) once no "
           "snapshot volume opened from it remains.")
      .def_property_readonly("closed", &SessionHandle::closed)
      .def("__enter__", [](const py::object& self) { return self; })
      .def("__exit__", [](SessionHandle& h, const py::args&) { h.close(); });
}

void bind_coordinator(py::module_& m) {
  py::class_<CoordinatorHandle, std::shared_ptr<CoordinatorHandle>>(
      m, "Coordinator", collectable<CoordinatorHandle>(),
      R"(Runs the snapshot protocol between requestors, writers and providers, with deadlines
measured on its clock (a SimClock for simulated time; None: real time). Writer events and
provider calls run on `executor` (a DeterministicExecutor) or, if None, on a pool of `threads`
to `threads_max` threads of the coordinator's own. A writer that holds the coordinator (or a
session) is freed with it once neither is referenced any more.)")
      .def(
          py::init([](const py::object& clock, Nanoseconds commit_window,
                      Nanoseconds event_duration_max, std::size_t threads, std::size_t threads_max,
                      const py::object& seed, const py::object& executor_object) {
            if (threads < 1 || threads > threads_max)
              check(
                  Status(ErrorCode::kInvalidArgument, "threads must be between 1 and threads_max"));
            auto core = std::make_shared<CoordinatorCore>();
            if (clock.is_none())
              core->clock = std::make_shared<SystemClock>();
            else
              core->clock = clock.cast<std::shared_ptr<sim::SimClock>>();
            if (!seed.is_none())
              core->random = std::make_unique<Random>(seed.cast<std::uint64_t>());
            if (!executor_object.is_none()) {
              if (!py::isinstance<LockedDeterministicExecutor>(executor_object))
                throw py::type_error(
                    "executor must be a freezeframe.DeterministicExecutor or "
                    "None, not " +
                    std::string(py::str(py::type::of(executor_object))));
              core->executor = executor_object.cast<std::shared_ptr<LockedDeterministicExecutor>>();
            }
            CoordinatorOptions options{.events = &core->events,
                                       .commit_window_max = commit_window,
                                       .event_duration_max = event_duration_max,
                                       .random = core->random.get(),
                                       .executor = core->executor.get(),
                                       .threads = {.threads = threads, .threads_max = threads_max}};
            core->coordinator = std::make_unique<Coordinator>(*core->clock, options);
            return std::make_shared<CoordinatorHandle>(std::move(core));
          }),
          py::arg("clock") = py::none(), py::arg("commit_window") = std::chrono::seconds(10),
          py::arg("event_duration_max") = std::chrono::seconds(180), py::arg("threads") = 2,
          py::arg("threads_max") = 32, py::arg("seed") = py::none(),
          py::arg("executor") = py::none())
      .def(
          "register_writer",
          [](const CoordinatorHandle& h, const py::object& writer) {
            std::shared_ptr<CoordinatorCore> core = h.core();
            Writer& engine_writer = writer_of(writer);
            check(without_gil([&] { return core->coordinator->register_writer(engine_writer); }));
            core->writers.push_back(writer);
          },
          py::arg("writer"), "A freezeframe.Writer subclass or a TransactionalApp.")
      .def(
          "unregister_writer",
          [](const CoordinatorHandle& h, const py::object& writer) {
            std::shared_ptr<CoordinatorCore> core = h.core();
            Writer& engine_writer = writer_of(writer);
            check(without_gil([&] { return core->coordinator->unregister_writer(engine_writer); }));
          },
          py::arg("writer"))
      .def(
          "add_volume",
          [](const CoordinatorHandle& h, const std::string& name,
             const ProviderHandle& provider_handle) {
            std::shared_ptr<CoordinatorCore> core = h.core();
            std::shared_ptr<SnapshotProvider> provider = provider_handle.provider();
            ProviderKind kind = provider->kind();
            CoordinatorCore::ServingAdapter& serving = core->adapters[kind];
            if (serving.adapter == nullptr)
              serving.adapter = BlockSnapshotAdapter::create(
                  "freezeframe-" + std::string(provider_kind_name(kind)), kind);
            check(serving.adapter->add_volume(*provider, name));
            // The adapter borrows the provider from now on, whatever fails below.
            core->volumes.push_back(provider);
            if (!serving.registered) {
              // Registration auto-releases what a dead process left (coordinator.h), so it
              // comes once the adapter serves the volume.
              check(without_gil(
                  [&] { return core->coordinator->register_provider(*serving.adapter); }));
              serving.registered = true;
            }
            auto holdable = owned_with(std::make_unique<HoldableVolume>(*provider, name), provider);
            core->volumes.push_back(holdable);
            check(without_gil([&] { return core->coordinator->add_volume(*holdable); }));
            return std::make_shared<VolumeHandle>(holdable, "volume");
          },
          py::arg("name"), py::arg("provider"),
          "Serves `provider` as the protocol volume `name`; returns the Volume applications "
          "write through (its writes wait while the commit window holds I/O).")
      .def("create_session",
           [](const CoordinatorHandle& h) {
             std::shared_ptr<CoordinatorCore> coordinator = h.core();
             std::unique_ptr<BackupSession> session = coordinator->coordinator->create_session();
             return std::make_shared<SessionHandle>(
                 new_session_core(std::move(coordinator), std::move(session)));
           })
      .def(
          "take_snapshot_set",
          [](const CoordinatorHandle& h, const std::vector<std::string>& volumes,
             const std::string& context, BackupType backup_type, const py::object& provider) {
            std::shared_ptr<CoordinatorCore> coordinator = h.core();
            SnapshotSetOptions options{.context = value_or_raise(parse_snapshot_context(context)),
                                       .backup_type = backup_type,
                                       .provider_id = provider_id_for(*coordinator, provider)};
            auto session = value_or_raise(without_gil(
                [&] { return coordinator->coordinator->take_snapshot_set(volumes, options); }));
            return std::make_shared<SessionHandle>(
                new_session_core(std::move(coordinator), std::move(session)));
          },
          py::arg("volumes"), py::arg("context") = "backup",
          py::arg("backup_type") = BackupType::kFull, py::arg("provider") = py::none(),
          "Gathers metadata, starts a set of `volumes`, prepares and creates it; returns the "
          "session holding the snapshots (call backup_complete()).")
      .def_property_readonly(
          "set_in_creation",
          [](const CoordinatorHandle& h) { return h.core()->coordinator->set_in_creation(); })
      .def("stalled_calls",
           [](const CoordinatorHandle& h) {
             py::list out;
             for (const StalledCall& call : h.core()->coordinator->stalled_calls()) {
               py::dict entry;
               entry["participant"] = std::string(participant_name(call.participant));
               entry["name"] = call.name;
               entry["phase"] = std::string(protocol_phase_name(call.phase));
               entry["set_id"] = call.set_id.to_string();
               out.append(entry);
             }
             return out;
           })
      .def(
          "events",
          [](const CoordinatorHandle& h) {
            py::list out;
            for (const ProtocolEvent& event : h.core()->events.events())
              out.append(event_dict(event));
            return out;
          },
          "The protocol's event log as dicts (phase, participant, name, outcome, message, ...).")
      .def("close", &CoordinatorHandle::close,
           "Releases the coordinator once no session or snapshot volume of it remains.")
      .def("__enter__", [](const py::object& self) { return self; })
      .def("__exit__", [](CoordinatorHandle& h, const py::args&) { h.close(); });
}

void bind_executor(py::module_& m) {
  py::class_<LockedDeterministicExecutor, std::shared_ptr<LockedDeterministicExecutor>>(
      m, "DeterministicExecutor",
      R"(Runs a coordinator's writer events and provider calls on the thread that drives the
session, with no thread of its own: in submission order, or with `seed` in an order the seed
draws among calls queued together (a coordinator waits for each call before the next, so its
sessions keep the protocol's order either way). With a SimClock, a session replays the same events at the same simulated times on
every run, and a writer that overruns a deadline (by advancing the clock) fails the set the
same way each time. A writer that blocks (instead of advancing the clock) blocks the session.
Sessions on several threads sharing one executor take turns.)")
      .def(py::init<std::optional<std::uint64_t>>(), py::arg("seed") = py::none())
      .def_property_readonly("tasks_run", &LockedDeterministicExecutor::tasks_run,
                             "Writer events and provider calls run so far.");
}

}  // namespace

void bind_protocol(py::module_& m) {
  bind_writers(m);
  bind_executor(m);
  bind_session(m);
  bind_coordinator(m);
  py::module_::import("atexit").attr("register")(py::cpp_function(&end_sessions_at_exit));
}

}  // namespace freezeframe::python

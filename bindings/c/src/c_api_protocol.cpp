// The C API (bindings/c/include/freezeframe.h): clocks, the coordinator, writers given as
// function tables, and backup sessions.
#include "c_api_protocol.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "freezeframe/sim/scripted_writer.h"
#include "freezeframe/sim/sim_clock.h"

namespace ff = freezeframe;
using ff::c_api::guarded;
using ff::c_api::require;

static_assert(FF_WRITER_OK == static_cast<int>(ff::WriterFailure::kNone));
static_assert(FF_WRITER_RETRYABLE == static_cast<int>(ff::WriterFailure::kRetryable));
static_assert(FF_WRITER_NON_RETRYABLE == static_cast<int>(ff::WriterFailure::kNonRetryable));
static_assert(FF_WRITER_TIMEOUT == static_cast<int>(ff::WriterFailure::kTimeout));
static_assert(FF_WRITER_INCONSISTENT_SNAPSHOT ==
              static_cast<int>(ff::WriterFailure::kInconsistentSnapshot));
static_assert(FF_WRITER_OUT_OF_RESOURCES == static_cast<int>(ff::WriterFailure::kOutOfResources));
static_assert(FF_WRITER_RECOVERY_FAILED == static_cast<int>(ff::WriterFailure::kRecoveryFailed));
static_assert(FF_WRITER_NOT_RESPONDING == static_cast<int>(ff::WriterFailure::kNotResponding));

namespace freezeframe::c_api {

TableWriter::TableWriter(const ff_writer_ops& ops, std::vector<std::string> volumes)
    : name_(ops.name), volumes_(std::move(volumes)) {
  std::memcpy(&ops_, &ops,
              ops.version == 1 ? offsetof(ff_writer_ops, prepare_backup) : sizeof ops_);
}

Result<WriterMetadata> TableWriter::identify() {
  return sim::scripted_writer_metadata(name_, ApplicationLevel::kFrontEnd, volumes_);
}

WriterResult TableWriter::prepare_backup(const WriterSessionInfo& session) {
  if (ops_.prepare_backup == nullptr)
    return WriterResult::success();
  const std::string set_id = session.snapshot_set_id.to_string();
  std::vector<const char*> volumes;
  volumes.reserve(session.volumes.size());
  for (const std::string& volume : session.volumes)
    volumes.push_back(volume.c_str());
  ff_writer_session_info info{};
  info.set_id = set_id.c_str();
  info.context = static_cast<int>(session.context);
  info.backup_type = static_cast<int>(session.backup_type);
  info.volumes = volumes.data();
  info.volume_count = volumes.size();
  std::array<char, FF_MESSAGE_BYTES> message{};
  const int failure = ops_.prepare_backup(ops_.user_data, &info, message.data(), message.size());
  message.back() = '\0';
  return result(failure, message.data());
}

void TableWriter::abort(const WriterSessionInfo& session) {
  if (ops_.abort != nullptr)
    ops_.abort(ops_.user_data, session.snapshot_set_id.to_string().c_str());
}

Nanoseconds TableWriter::freeze_timeout() const {
  return ops_.freeze_timeout_ns > 0 ? Nanoseconds(ops_.freeze_timeout_ns)
                                    : Writer::freeze_timeout();
}

WriterResult TableWriter::call(ff_writer_event event, const WriterSessionInfo& session) {
  if (event == nullptr)
    return WriterResult::success();
  std::array<char, FF_MESSAGE_BYTES> message{};
  const int failure = event(ops_.user_data, session.snapshot_set_id.to_string().c_str(),
                            message.data(), message.size());
  message.back() = '\0';
  return result(failure, message.data());
}

WriterResult TableWriter::result(int failure, const char* message) const {
  if (failure == FF_WRITER_OK)
    return WriterResult::success();
  if (failure < FF_WRITER_RETRYABLE || failure > FF_WRITER_NOT_RESPONDING)
    return WriterResult::fail(
        WriterFailure::kNonRetryable,
        "writer '" + name_ + "' returned " + std::to_string(failure) +
            ", which is not an ff_writer_failure" +
            (message[0] != '\0' ? std::string(": ") + message : std::string()));
  return WriterResult::fail(
      static_cast<WriterFailure>(failure),
      message[0] != '\0' ? std::string(message) : "writer '" + name_ + "' failed");
}

void CallbackSink::record(const ProtocolEvent& event) {
  const std::string line = protocol_event_to_json(event);
  std::lock_guard lock(mutex_);
  callback_(line.c_str(), user_data_);
}

Result<CoordinatorHolder*> open_coordinator(ff_coordinator* handle) {
  if (handle == nullptr || handle->holder == nullptr)
    return invalid_argument("the coordinator is NULL");
  return handle->holder.get();
}

Result<SessionHolder*> open_session(ff_backup_session* handle) {
  if (handle == nullptr || handle->holder == nullptr)
    return invalid_argument("the backup session is NULL");
  return handle->holder.get();
}

}  // namespace freezeframe::c_api

namespace {

using ff::c_api::CoordinatorHolder;
using ff::c_api::open_coordinator;
using ff::c_api::open_session;
using ff::c_api::SessionHolder;

ff::Result<ff::SnapshotInfo> session_snapshot(SessionHolder& holder, const char* volume,
                                              const char* call) {
  FF_TRY(require(volume != nullptr, std::string(call) + ": the volume name is NULL"));
  FF_ASSIGN_OR_RETURN(ff::SnapshotSet set, holder.session->snapshot_set());
  for (const ff::SnapshotInfo& info : set.snapshots) {
    if (info.origin_name == volume)
      return info;
  }
  return ff::Status(ff::ErrorCode::kNotFound,
                    std::string(call) + ": the set has no volume '" + volume + "'");
}

}  // namespace

extern "C" {

int ff_system_clock_create(ff_clock** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_system_clock_create: out is NULL"));
    *out = new ff_clock{std::make_shared<ff::SystemClock>(), nullptr};
    return ff::Status();
  });
}

int ff_sim_clock_create(int64_t wall_epoch_ns, ff_clock** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_sim_clock_create: out is NULL"));
    auto clock = std::make_shared<ff::sim::SimClock>(ff::Nanoseconds(wall_epoch_ns));
    ff::sim::SimClock* sim = clock.get();
    *out = new ff_clock{std::move(clock), sim};
    return ff::Status();
  });
}

int ff_sim_clock_advance(ff_clock* clock, int64_t ns) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(clock != nullptr, "ff_sim_clock_advance: the clock is NULL"));
    FF_TRY(require(clock->sim != nullptr,
                   "ff_sim_clock_advance: the system clock cannot be advanced; create a "
                   "simulated one with ff_sim_clock_create"));
    FF_TRY(require(
        ns >= 0, "ff_sim_clock_advance: a clock does not go back (" + std::to_string(ns) + " ns)"));
    clock->sim->advance(ff::Nanoseconds(ns));
    return ff::Status();
  });
}

int64_t ff_clock_now_ns(ff_clock* clock) {
  if (clock == nullptr)
    return 0;
  return clock->clock->now().count();
}

void ff_clock_destroy(ff_clock* clock) {
  delete clock;
}

void ff_writer_ops_init(ff_writer_ops* ops) {
  if (ops == nullptr)
    return;
  *ops = ff_writer_ops{};
  ops->version = FF_WRITER_OPS_VERSION;
}

void ff_coordinator_options_init(ff_coordinator_options* options) {
  if (options == nullptr)
    return;
  const ff::CoordinatorOptions defaults;
  *options = ff_coordinator_options{};
  options->version = FF_COORDINATOR_OPTIONS_VERSION;
  options->commit_window_max_ns = defaults.commit_window_max.count();
  options->event_duration_max_ns = defaults.event_duration_max.count();
}

int ff_coordinator_create(ff_clock* clock, const ff_coordinator_options* options,
                          ff_coordinator** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_coordinator_create: out is NULL"));
    *out = nullptr;
    FF_TRY(require(clock != nullptr, "ff_coordinator_create: the clock is NULL"));
    FF_TRY(require(options == nullptr || options->version == FF_COORDINATOR_OPTIONS_VERSION,
                   "ff_coordinator_create: options version " +
                       std::to_string(options != nullptr ? options->version : 0) +
                       " is not one this library knows; use ff_coordinator_options_init"));
    ff_coordinator_options o;
    ff_coordinator_options_init(&o);
    if (options != nullptr)
      o = *options;
    FF_TRY(require(o.commit_window_max_ns > 0 && o.event_duration_max_ns > 0,
                   "ff_coordinator_create: the commit window and the event duration must be "
                   "positive"));
    auto holder = std::make_shared<CoordinatorHolder>();
    holder->clock = clock->clock;
    ff::CoordinatorOptions engine;
    engine.commit_window_max = ff::Nanoseconds(o.commit_window_max_ns);
    engine.event_duration_max = ff::Nanoseconds(o.event_duration_max_ns);
    if (clock->sim != nullptr) {
      // Simulated time: every call runs on the caller's thread, in submission order.
      holder->executor = std::make_unique<ff::DeterministicExecutor>();
      engine.executor = holder->executor.get();
    }
    if (o.on_log != nullptr) {
      holder->sink = std::make_unique<ff::c_api::CallbackSink>(o.on_log, o.log_user_data);
      engine.events = holder->sink.get();
    }
    holder->coordinator = std::make_unique<ff::Coordinator>(*holder->clock, engine);
    *out = new ff_coordinator{std::move(holder)};
    return ff::Status();
  });
}

void ff_coordinator_destroy(ff_coordinator* coordinator) {
  delete coordinator;
}

int ff_coordinator_add_volume(ff_coordinator* coordinator, ff_provider* provider, const char* name,
                              ff_volume** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_coordinator_add_volume: out is NULL"));
    *out = nullptr;
    FF_ASSIGN_OR_RETURN(CoordinatorHolder * c, open_coordinator(coordinator));
    FF_ASSIGN_OR_RETURN(ff::SnapshotProvider * engine, ff::c_api::open_provider(provider));
    FF_TRY(require(name != nullptr && name[0] != '\0',
                   "ff_coordinator_add_volume: the volume needs a name"));
    std::lock_guard lock(c->mutex);
    const int kind = static_cast<int>(engine->kind());
    auto& adapter = c->adapters[kind];
    if (adapter == nullptr) {
      adapter = ff::BlockSnapshotAdapter::create(
          kind == FF_PROVIDER_COW ? "c-api-cow" : "c-api-row", engine->kind());
      FF_TRY(c->coordinator->register_provider(*adapter));
    }
    FF_TRY(adapter->add_volume(*engine, name));
    auto holdable = std::make_unique<ff::HoldableVolume>(*engine, name);
    FF_TRY(c->coordinator->add_volume(*holdable));
    FF_TRY(c->coordinator->set_default_provider(name, adapter->id()));
    ff::HoldableVolume* volume = holdable.get();
    c->volumes.push_back(std::move(holdable));
    c->providers.push_back(provider->holder);
    // The handle keeps the coordinator (and so the provider) alive.
    *out = ff::c_api::new_volume_handle(std::shared_ptr<ff::Volume>(coordinator->holder, volume));
    return ff::Status();
  });
}

int ff_coordinator_register_writer(ff_coordinator* coordinator, const ff_writer_ops* ops) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(CoordinatorHolder * c, open_coordinator(coordinator));
    FF_TRY(require(ops != nullptr, "ff_coordinator_register_writer: ops is NULL"));
    FF_TRY(require(ops->version == 1 || ops->version == FF_WRITER_OPS_VERSION,
                   "ff_coordinator_register_writer: ops version " + std::to_string(ops->version) +
                       " is not one this library knows; use ff_writer_ops_init"));
    FF_TRY(require(ops->name != nullptr && ops->name[0] != '\0',
                   "ff_coordinator_register_writer: the writer needs a name"));
    FF_TRY(require(ops->volumes != nullptr || ops->volume_count == 0,
                   "ff_coordinator_register_writer: volumes is NULL"));
    FF_TRY(require(ops->freeze_timeout_ns >= 0,
                   "ff_coordinator_register_writer: the freeze timeout is negative"));
    std::vector<std::string> volumes;
    for (std::size_t i = 0; i < ops->volume_count; ++i) {
      FF_TRY(require(ops->volumes[i] != nullptr,
                     "ff_coordinator_register_writer: volume " + std::to_string(i) + " is NULL"));
      volumes.emplace_back(ops->volumes[i]);
    }
    std::lock_guard lock(c->mutex);
    for (const auto& writer : c->writers) {
      if (writer->name() == ops->name)
        return ff::Status(ff::ErrorCode::kAlreadyExists,
                          std::string("ff_coordinator_register_writer: a writer named '") +
                              ops->name + "' is registered already");
    }
    auto writer = std::make_unique<ff::c_api::TableWriter>(*ops, std::move(volumes));
    FF_TRY(c->coordinator->register_writer(*writer));
    c->writers.push_back(std::move(writer));
    return ff::Status();
  });
}

int ff_coordinator_take_snapshot_set(ff_coordinator* coordinator, const char* const* volumes,
                                     size_t volume_count, ff_backup_session** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_coordinator_take_snapshot_set: out is NULL"));
    *out = nullptr;
    FF_ASSIGN_OR_RETURN(CoordinatorHolder * c, open_coordinator(coordinator));
    FF_TRY(require(volumes != nullptr && volume_count > 0,
                   "ff_coordinator_take_snapshot_set: a set needs at least one volume"));
    std::vector<std::string> names;
    for (std::size_t i = 0; i < volume_count; ++i) {
      FF_TRY(require(volumes[i] != nullptr,
                     "ff_coordinator_take_snapshot_set: volume " + std::to_string(i) + " is NULL"));
      names.emplace_back(volumes[i]);
    }
    auto holder = std::make_shared<SessionHolder>();
    holder->coordinator = coordinator->holder;
    FF_ASSIGN_OR_RETURN(holder->session, c->coordinator->take_snapshot_set(names));
    *out = new ff_backup_session{std::move(holder)};
    return ff::Status();
  });
}

int ff_session_set_id(ff_backup_session* session, char* out, size_t out_bytes) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(SessionHolder * s, open_session(session));
    return ff::c_api::copy_text(s->session->snapshot_set_id().to_string(), out, out_bytes,
                                "ff_session_set_id: the set id");
  });
}

int ff_session_snapshot_info(ff_backup_session* session, const char* volume,
                             ff_snapshot_info* out) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(SessionHolder * s, open_session(session));
    FF_TRY(require(out != nullptr, "ff_session_snapshot_info: out is NULL"));
    FF_ASSIGN_OR_RETURN(ff::SnapshotInfo info,
                        session_snapshot(*s, volume, "ff_session_snapshot_info"));
    return ff::c_api::fill_snapshot_info(info, *out);
  });
}

int ff_session_open_snapshot(ff_backup_session* session, const char* volume, ff_volume** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_session_open_snapshot: out is NULL"));
    *out = nullptr;
    FF_ASSIGN_OR_RETURN(SessionHolder * s, open_session(session));
    FF_TRY(require(volume != nullptr, "ff_session_open_snapshot: the volume name is NULL"));
    // The snapshot volume keeps the session (and its coordinator) alive.
    struct Holder {
      std::shared_ptr<SessionHolder> session;
      std::unique_ptr<ff::Volume> snapshot;
    };
    auto holder = std::make_shared<Holder>();
    holder->session = session->holder;
    FF_ASSIGN_OR_RETURN(holder->snapshot, s->session->open_snapshot(volume));
    FF_ASSIGN_OR_RETURN(ff::SnapshotInfo info,
                        session_snapshot(*s, volume, "ff_session_open_snapshot"));
    ff::Volume* snapshot = holder->snapshot.get();
    *out = ff::c_api::new_volume_handle(std::shared_ptr<ff::Volume>(holder, snapshot));
    (*out)->origin_id = info.origin_id;
    return ff::Status();
  });
}

int ff_session_backup_complete(ff_backup_session* session, int succeeded) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(SessionHolder * s, open_session(session));
    return s->session->backup_complete(succeeded != 0);
  });
}

void ff_backup_session_destroy(ff_backup_session* session) {
  delete session;
}

}  // extern "C"

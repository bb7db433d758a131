// CoordinatorSession: the requestor's calls of a Coordinator's session, one snapshot set at
// a time (see backup_session.h, coordinator_session.h and docs/protocol.md).
#include "coordinator_session.h"

#include <algorithm>
#include <utility>

namespace freezeframe {

using protocol_internals::ExpiryKind;

// ---- helpers ----

WriterSessionInfo CoordinatorSession::session_info(bool backup_succeeded) const {
  WriterSessionInfo info;
  info.snapshot_set_id = set_id;
  info.context = context;
  info.backup_type = backup_type;
  for (const VolumeEntry& volume : volumes)
    info.volumes.push_back(volume.name);
  info.backup_succeeded = backup_succeeded;
  return info;
}

void CoordinatorSession::set_writer_state(std::size_t index, WriterState state) {
  std::lock_guard lock(mutex);
  writers[index].state = state;
}

void CoordinatorSession::release_creation_slot() {
  std::lock_guard lock(coordinator.mutex);
  if (coordinator.creating == this) {
    coordinator.creating = nullptr;
    coordinator.creating_set = Uuid();
  }
}

Status CoordinatorSession::phase_error(const char* call, std::string_view expected) const {
  return bad_state(std::string("backup session: ") + call + " is out of order (" +
                   std::string(expected) + ")");
}

StalledCall CoordinatorSession::label(Nanoseconds start) const {
  return {current.participant, current.name, current.phase, set_id, start};
}

void CoordinatorSession::begin(Participant participant, std::string name, ProtocolPhase phase,
                               std::optional<std::size_t> writer, WriterEvent event) {
  current = {participant, std::move(name), phase, writer, event};
}

Status CoordinatorSession::fail_and_report(const SetFailure& failed, Holds& holds) {
  fail_set(failed, holds).ignore_error();  // failure() carries it
  std::lock_guard lock(mutex);
  active_race.reset();
  return failure_->status;
}

// ---- the requestor's calls ----

CoordinatorSession::~CoordinatorSession() {
  SessionPhase at;
  {
    std::lock_guard lock(mutex);
    at = stage;
  }
  if (at == SessionPhase::kSetStarted || at == SessionPhase::kPrepared) {
    abort().ignore_error();
  } else if (at == SessionPhase::kCreated && auto_release()) {
    // Ended without backup_complete: auto-release. Writers past post-snapshot get no abort
    // (VSS), only backup_shutdown below.
    delete_snapshots().ignore_error();
  }
  if (metadata_gathered && writers_involved()) {
    const WriterSessionInfo info = session_info();
    for (std::size_t i = 0; i < writers.size(); ++i) {
      auto cleanup = std::make_shared<Race>();  // one per call, as in abort_writers
      std::optional<Status> ignored = writer_event(cleanup, i, WriterEvent::kBackupShutdown,
                                                   coordinator.options.event_duration_max, info);
      (void)ignored;
    }
  }
  release_creation_slot();
}

Status CoordinatorSession::set_context(SnapshotContext new_context) {
  std::lock_guard lock(mutex);
  if (stage != SessionPhase::kInitial || metadata_gathered)
    return phase_error("set_context", "call it first, before gather_writer_metadata");
  context = new_context;
  return Status();
}

Status CoordinatorSession::set_backup_type(BackupType type) {
  std::lock_guard lock(mutex);
  if (stage != SessionPhase::kInitial)
    return phase_error("set_backup_type", "call it before start_snapshot_set");
  backup_type = type;
  return Status();
}

Result<std::vector<WriterMetadata>> CoordinatorSession::gather_writer_metadata() {
  {
    std::lock_guard lock(mutex);
    if (metadata_gathered || stage != SessionPhase::kInitial)
      return phase_error("gather_writer_metadata", "once per session, before start_snapshot_set");
    metadata_gathered = true;
    std::lock_guard coordinator_lock(coordinator.mutex);
    for (Writer* writer : coordinator.writers) {
      WriterRecord record;
      record.writer = writer;
      writers.push_back(std::move(record));
    }
  }
  auto race = std::make_shared<Race>();
  std::vector<WriterMetadata> result;
  for (std::size_t i = 0; i < writers.size(); ++i) {
    Writer* writer = writers[i].writer;
    auto metadata = std::make_shared<std::optional<Result<WriterMetadata>>>();
    // Named by position until it says its name.
    begin(Participant::kWriter, "writer #" + std::to_string(i + 1), ProtocolPhase::kIdentify, i);
    const Nanoseconds start = clock().now();
    std::optional<Status> status = coordinator.runner.run(
        race, coordinator.options.event_duration_max, label(start), [writer, metadata] {
          *metadata = writer->identify();
          return metadata->value().ok() ? Status() : metadata->value().status();
        });
    std::optional<SetFailure> failed;
    if (!status.has_value()) {
      failed = expired_failure(race);
    } else if (!status->ok()) {
      failed = SetFailure{
          .participant = Participant::kWriter,
          .name = current.name,
          .phase = ProtocolPhase::kIdentify,
          .writer_failure = WriterFailure::kNonRetryable,
          .status = Status(ErrorCode::kAborted,
                           current.name + " failed at identify: " + status->to_string())};
      std::lock_guard lock(mutex);
      writers[i].state = WriterState::kFailedAtIdentify;
      writers[i].failure = WriterFailure::kNonRetryable;
      writers[i].message = status->message();
    }
    if (failed.has_value()) {
      coordinator.log(Uuid(), ProtocolPhase::kIdentify, Participant::kWriter, current.name, start,
                      status.has_value() ? EventOutcome::kFailed : EventOutcome::kTimeout,
                      failed->status.message());
      std::lock_guard lock(mutex);
      failure_ = failed;
      stage = SessionPhase::kFailed;
      return failed->status;
    }
    WriterMetadata identified = std::move(metadata->value()).value();
    coordinator.log(Uuid(), ProtocolPhase::kIdentify, Participant::kWriter, identified.name, start,
                    EventOutcome::kOk, "");
    {
      std::lock_guard lock(mutex);
      writers[i].metadata = identified;
    }
    result.push_back(std::move(identified));
  }
  return result;
}

Result<Uuid> CoordinatorSession::start_snapshot_set() {
  std::lock_guard lock(mutex);
  if (stage != SessionPhase::kInitial)
    return phase_error("start_snapshot_set", "once per session");
  if (writers_involved() && !metadata_gathered)
    return phase_error("start_snapshot_set",
                       "a context with writers needs gather_writer_metadata first");
  std::lock_guard coordinator_lock(coordinator.mutex);
  if (coordinator.creating != nullptr && coordinator.creating != this)
    return Status(ErrorCode::kBusy, "another snapshot set (" +
                                        coordinator.creating_set.to_string() +
                                        ") is in creation; retry when it is done");
  set_id = coordinator.new_set_id();
  coordinator.creating = this;
  coordinator.creating_set = set_id;
  stage = SessionPhase::kSetStarted;
  return set_id;
}

Status CoordinatorSession::add_to_snapshot_set(const std::string& volume, const Uuid& provider_id) {
  std::lock_guard lock(mutex);
  if (stage != SessionPhase::kSetStarted && stage != SessionPhase::kPrepared)
    return phase_error("add_to_snapshot_set", "between start_snapshot_set and do_snapshot_set");
  for (const auto& entry : volumes) {
    if (entry.name == volume)
      return Status(ErrorCode::kAlreadyExists,
                    "volume '" + volume + "' is already in snapshot set " + set_id.to_string());
  }
  if (volumes.size() >= coordinator.options.volumes_per_set_max)
    return Status(ErrorCode::kLimitExceeded, "snapshot set " + set_id.to_string() +
                                                 " already has " + std::to_string(volumes.size()) +
                                                 " volumes (the maximum)");
  HoldableVolume* hold = nullptr;
  {
    std::lock_guard coordinator_lock(coordinator.mutex);
    auto it = coordinator.volumes.find(volume);
    if (it != coordinator.volumes.end())
      hold = it->second;
  }
  // A volume the coordinator does not hold is fine for a provider that holds I/O itself.
  auto provider = coordinator.registry.select(volume, provider_id);
  if (hold == nullptr && (!provider.ok() || !(*provider)->holds_io_itself()))
    return not_found("volume '" + volume +
                     "' is not known to the coordinator (Coordinator::add_volume)");
  if (!provider.ok())
    return provider.status();
  volumes.push_back({volume, *provider, hold});
  return Status();
}

Status CoordinatorSession::prepare_for_backup() {
  // While this runs, abort() from another thread only expires `race`; the cleanup is done
  // here, on the session's thread, so the two never touch the session at once.
  auto race = std::make_shared<Race>();
  {
    std::lock_guard lock(mutex);
    if (stage != SessionPhase::kSetStarted)
      return phase_error("prepare_for_backup", "once, after start_snapshot_set");
    if (abort_requested)
      return Status(ErrorCode::kAborted, "the snapshot set was aborted");
    active_race = race;
  }
  Holds none;
  begin(Participant::kCoordinator, "", ProtocolPhase::kPrepareForBackup);
  if (writers_involved()) {
    const WriterSessionInfo info = session_info();
    for (std::size_t i = 0; i < writers.size(); ++i) {
      writers[i].prepared_backup = true;
      std::optional<Status> status = writer_event(race, i, WriterEvent::kPrepareBackup,
                                                  coordinator.options.event_duration_max, info);
      if (!status.has_value() || !status->ok())
        return fail_and_report(status.has_value() ? *pending : expired_failure(race), none);
    }
  }
  std::optional<Expiry> expired;
  {
    std::lock_guard lock(mutex);
    expired = race->expiry();
    if (!expired.has_value() && stage == SessionPhase::kSetStarted) {
      stage = SessionPhase::kPrepared;
      active_race.reset();
      return Status();
    }
  }
  begin(Participant::kCoordinator, "", ProtocolPhase::kPrepareForBackup);
  return fail_and_report(
      failure_from(expired.value_or(Expiry{ExpiryKind::kRequestorAbort, 0}), race), none);
}

Status CoordinatorSession::do_snapshot_set() {
  auto race = std::make_shared<Race>();
  {
    std::lock_guard lock(mutex);
    const bool ready = writers_involved() ? stage == SessionPhase::kPrepared
                                          : (stage == SessionPhase::kSetStarted ||
                                             stage == SessionPhase::kPrepared);
    if (!ready)
      return phase_error("do_snapshot_set",
                         writers_involved() ? "after start_snapshot_set, add_to_snapshot_set and "
                                              "prepare_for_backup"
                                            : "after start_snapshot_set and add_to_snapshot_set");
    stage = SessionPhase::kCreating;
    active_race = race;
    if (abort_requested) {
      std::lock_guard race_lock(race->mutex);
      race->expire({ExpiryKind::kRequestorAbort, 0});
    }
  }
  begin(Participant::kCoordinator, "", ProtocolPhase::kDoSnapshotSet);
  const Nanoseconds start = clock().now();
  Holds holds;
  pending.reset();
  if (!create(race, holds).ok())
    return fail_and_report(*pending, holds);
  // Collect what the providers created.
  for (ProtocolProvider* provider : prepared_providers) {
    for (const SnapshotInfo& info : provider->query()) {
      if (info.set_id == set_id)
        snapshots.emplace_back(provider, info);
    }
  }
  // abort() may have come after the last call returned: it expired the race, which no call
  // has looked at since. Decide under the lock abort() takes, so it either lands before
  // the set counts as created (and the set fails here) or after (and deletes the snapshots).
  std::optional<Expiry> expired;
  {
    std::lock_guard lock(mutex);
    expired = race->expiry();
    if (!expired.has_value() && abort_requested)
      expired = Expiry{ExpiryKind::kRequestorAbort, 0};
    if (!expired.has_value()) {
      stage = SessionPhase::kCreated;
      active_race.reset();
    }
  }
  if (expired.has_value()) {
    begin(Participant::kCoordinator, "", ProtocolPhase::kDoSnapshotSet);
    return fail_and_report(failure_from(*expired, race), holds);
  }
  coordinator.log(set_id, ProtocolPhase::kSnapshotSet, Participant::kCoordinator, "", start,
                  EventOutcome::kOk, std::to_string(snapshots.size()) + " snapshots");
  release_creation_slot();
  return Status();
}

std::vector<WriterStatus> CoordinatorSession::gather_writer_status() const {
  std::lock_guard lock(mutex);
  std::vector<WriterStatus> result;
  for (const auto& record : writers) {
    result.push_back({.name = record.metadata.name,
                      .class_id = record.metadata.class_id,
                      .instance_id = record.metadata.instance_id,
                      .state = record.state,
                      .failure = record.failure,
                      .message = record.message});
  }
  return result;
}

Status CoordinatorSession::backup_complete(bool backup_succeeded) {
  {
    std::lock_guard lock(mutex);
    if (stage != SessionPhase::kCreated)
      return phase_error("backup_complete", "after a successful do_snapshot_set");
  }
  Status first_error;
  if (writers_involved()) {
    auto race = std::make_shared<Race>();
    const WriterSessionInfo info = session_info(backup_succeeded);
    for (std::size_t i = 0; i < writers.size(); ++i) {
      std::optional<Status> status = writer_event(race, i, WriterEvent::kBackupComplete,
                                                  coordinator.options.event_duration_max, info);
      if (!status.has_value()) {
        SetFailure failed = expired_failure(race);
        if (first_error.ok())
          first_error = failed.status;
        race = std::make_shared<Race>();
      } else if (!status->ok()) {
        if (first_error.ok())
          first_error = *status;
      } else {
        set_writer_state(i, WriterState::kStable);
      }
    }
  }
  Status released;
  if (auto_release())
    released = delete_snapshots();
  {
    std::lock_guard lock(mutex);
    stage = SessionPhase::kCompleted;
  }
  if (!first_error.ok())
    return first_error;
  return released;
}

Status CoordinatorSession::abort() {
  SessionPhase at;
  {
    std::lock_guard lock(mutex);
    at = stage;
    abort_requested = true;
    const bool before_creation = at == SessionPhase::kInitial || at == SessionPhase::kSetStarted ||
                                 at == SessionPhase::kPrepared;
    if (at == SessionPhase::kCreating || (before_creation && active_race != nullptr)) {
      // do_snapshot_set() or prepare_for_backup() is running on another thread: make it fail
      // promptly; it cleans up.
      if (active_race != nullptr) {
        std::lock_guard race_lock(active_race->mutex);
        active_race->expire({ExpiryKind::kRequestorAbort, 0});
      }
      return Status();
    }
    // Claim the session before cleaning up outside the lock: the session's thread now finds
    // it aborted and starts nothing that would race with the cleanup below.
    if (before_creation)
      stage = SessionPhase::kAborted;
  }
  switch (at) {
    case SessionPhase::kInitial:
    case SessionPhase::kSetStarted:
    case SessionPhase::kPrepared: {
      const ProtocolPhase after = at == SessionPhase::kInitial ? ProtocolPhase::kInitial
                                  : at == SessionPhase::kSetStarted
                                      ? ProtocolPhase::kStartSnapshotSet
                                      : ProtocolPhase::kPrepareForBackup;
      SetFailure failed{
          .participant = Participant::kRequestor,
          .phase = after,
          .status = Status(ErrorCode::kAborted, "requestor aborted the snapshot set after " +
                                                    std::string(protocol_phase_name(after)))};
      Holds none;
      return fail_set(failed, none);
    }
    case SessionPhase::kCreated: {
      abort_writers(/*include_completed=*/true);
      Status deleted = delete_snapshots();
      std::lock_guard lock(mutex);
      failure_ = SetFailure{.participant = Participant::kRequestor,
                            .phase = ProtocolPhase::kBackup,
                            .status = Status(ErrorCode::kAborted, "requestor aborted the backup")};
      stage = SessionPhase::kAborted;
      return deleted;
    }
    case SessionPhase::kFailed:
      // As VSS's AbortBackup after a failed DoSnapshotSet: writers not yet told (a failure at
      // prepare-snapshot sends no abort) get it now.
      abort_writers(/*include_completed=*/false);
      return Status();
    default:
      return Status();
  }
}

Result<SnapshotSet> CoordinatorSession::snapshot_set() const {
  std::lock_guard lock(mutex);
  if (stage != SessionPhase::kCreated && stage != SessionPhase::kCompleted)
    return phase_error("snapshot_set", "after a successful do_snapshot_set");
  SnapshotSet set{.id = set_id, .context = context};
  // In the order the volumes were added, whatever order the providers report them in.
  for (const auto& volume : volumes) {
    for (const auto& [provider, snapshot] : snapshots) {
      if (provider == volume.provider && snapshot.origin_name == volume.name)
        set.snapshots.push_back(snapshot);
    }
  }
  return set;
}

Uuid CoordinatorSession::snapshot_set_id() const {
  std::lock_guard lock(mutex);
  return set_id;
}

std::optional<SetFailure> CoordinatorSession::failure() const {
  std::lock_guard lock(mutex);
  return failure_;
}

Result<std::unique_ptr<Volume>> CoordinatorSession::open_snapshot(const std::string& volume) {
  FF_ASSIGN_OR_RETURN(auto found, set_snapshot("open_snapshot", volume));
  return found.first->open_snapshot(found.second);
}

Result<ChangedExtents> CoordinatorSession::changed_extents(const std::string& volume,
                                                           std::string_view since) const {
  FF_ASSIGN_OR_RETURN(auto found, set_snapshot("changed_extents", volume));
  return found.first->changed_extents(found.second, since);
}

Result<std::pair<ProtocolProvider*, Uuid>> CoordinatorSession::set_snapshot(
    const char* call, const std::string& volume) const {
  ProtocolProvider* provider = nullptr;
  Uuid snapshot_id;
  {
    std::lock_guard lock(mutex);
    if (stage != SessionPhase::kCreated && stage != SessionPhase::kCompleted)
      return phase_error(call, "after a successful do_snapshot_set");
    auto entry = std::find_if(volumes.begin(), volumes.end(),
                              [&](const VolumeEntry& v) { return v.name == volume; });
    if (entry == volumes.end())
      return not_found("volume '" + volume + "' is not in snapshot set " + set_id.to_string());
    for (const auto& [owner, snapshot] : snapshots) {
      if (owner == entry->provider && snapshot.origin_name == volume) {
        provider = owner;
        snapshot_id = snapshot.id;
      }
    }
    if (provider == nullptr)
      return bad_state("the snapshot of volume '" + volume + "' in set " + set_id.to_string() +
                       " was released");
  }
  return std::make_pair(provider, snapshot_id);
}

}  // namespace freezeframe

// BackupSession: the requestor's side of the snapshot protocol, one snapshot set at a time
// (see coordinator.h, docs/protocol.md and, for how waiting works, coordinator.cpp).
#include <algorithm>
#include <mutex>
#include <utility>

#include "freezeframe/coordinator.h"
#include "protocol_internals.h"

namespace freezeframe {

// Everything between do_snapshot_set's checks and its outcome. Returns OK, or the failure
// (also left in `pending`).
Status BackupSession::Impl::create(const std::shared_ptr<Race>& race,
                                   std::vector<std::shared_ptr<HoldToken>>& holds) {
  const Nanoseconds event_limit = coordinator.options.event_duration_max;
  const WriterSessionInfo info = session_info();
  auto check = [&](std::optional<Status> status) -> bool {
    if (!status.has_value()) {
      pending = expired_failure(race);
      return false;
    }
    return status->ok();
  };

  // 1. begin_prepare, once per volume.
  std::uint32_t attributes = static_cast<std::uint32_t>(context);
  for (const VolumeEntry& volume : volumes) {
    Provider* provider = volume.provider;
    if (std::find(prepared_providers.begin(), prepared_providers.end(), provider) ==
        prepared_providers.end())
      prepared_providers.push_back(provider);
    const Uuid id = set_id;
    const std::string name = volume.name;
    if (!check(provider_call(race, provider, "begin-prepare", event_limit,
                             [provider, id, name, attributes] {
                               return provider->begin_prepare(id, name, attributes);
                             })))
      return pending->status;
  }

  // 2. prepare_snapshot to writers.
  if (writers_involved()) {
    for (std::size_t i = 0; i < writers.size(); ++i) {
      writers[i].prepared_snapshot = true;
      if (!check(writer_event(race, i, WriterEvent::kPrepareSnapshot, event_limit, info)))
        return pending->status;
      set_writer_state(i, WriterState::kWaitingForFreeze);
    }
  }

  // 3. end_prepare, once per provider.
  for (Provider* provider : prepared_providers) {
    const Uuid id = set_id;
    if (!check(provider_call(race, provider, "end-prepare", event_limit,
                             [provider, id] { return provider->end_prepare(id); })))
      return pending->status;
  }

  // 4. freeze by level: front-end, back-end, system; each writer's window starts here.
  std::vector<std::size_t> freeze_order;
  if (writers_involved()) {
    for (std::size_t i = 0; i < writers.size(); ++i)
      freeze_order.push_back(i);
    std::stable_sort(freeze_order.begin(), freeze_order.end(), [&](std::size_t a, std::size_t b) {
      return static_cast<int>(writers[a].metadata.level) >
             static_cast<int>(writers[b].metadata.level);
    });
    {
      std::lock_guard lock(race->mutex);
      race->freeze_window_open.assign(writers.size(), false);
    }
    for (std::size_t i : freeze_order) {
      WriterRecord& record = writers[i];
      {
        std::lock_guard lock(race->mutex);
        race->freeze_window_open[i] = true;
      }
      record.freeze_sent = true;
      record.freeze_timer = clock().schedule_after(record.writer->freeze_timeout(), [race, i] {
        std::lock_guard lock(race->mutex);
        if (i < race->freeze_window_open.size() && race->freeze_window_open[i])
          race->expire({ExpiryKind::kFreezeWindow, i});
      });
      // The freeze window bounds the call; no separate event deadline.
      if (!check(writer_event(race, i, WriterEvent::kFreeze, Nanoseconds(0), info)))
        return pending->status;
      record.freeze_done = true;
      set_writer_state(i, WriterState::kWaitingForThaw);
    }
  }

  // 5. pre_commit.
  for (Provider* provider : prepared_providers) {
    const Uuid id = set_id;
    if (!check(provider_call(race, provider, "pre-commit", event_limit,
                             [provider, id] { return provider->pre_commit(id); })))
      return pending->status;
  }

  // 6. Hold I/O on every volume; the commit window starts.
  TimerId commit_timer = 0;
  {
    std::lock_guard lock(race->mutex);
    race->commit_window_open = true;
  }
  commit_timer = clock().schedule_after(coordinator.options.commit_window_max, [race] {
    std::lock_guard lock(race->mutex);
    if (race->commit_window_open)
      race->expire({ExpiryKind::kCommitWindow, 0});
  });
  auto close_commit_window = [&] {
    {
      std::lock_guard lock(race->mutex);
      race->commit_window_open = false;
    }
    clock().cancel(commit_timer);
  };
  for (const VolumeEntry& volume : volumes) {
    auto token = std::make_shared<HoldToken>();
    holds.push_back(token);
    HoldableVolume* hold = volume.hold;
    current = {Participant::kVolume, volume.name, "hold-io", std::nullopt, WriterEvent::kIdentify};
    const Nanoseconds start = clock().now();
    // Raise the hold here, so the release below or in fail_set always undoes it, even while
    // the volume is still draining on the worker when the commit window closes.
    hold->begin_hold();
    {
      std::lock_guard lock(token->mutex);
      token->held = true;
    }
    std::optional<Status> held = coordinator.run(race, Nanoseconds(0), [hold] {
      hold->wait_drained();
      return Status();
    });
    if (held.has_value()) {
      coordinator.log(set_id, "hold-io", Participant::kVolume, volume.name, start, "ok", "");
    } else {
      auto [outcome, why] = expiry_outcome(race);
      coordinator.log(set_id, "hold-io", Participant::kVolume, volume.name, start, outcome, why);
    }
    if (!check(held)) {
      close_commit_window();
      return pending->status;
    }
  }

  // 7. commit every provider while I/O is held.
  for (Provider* provider : prepared_providers) {
    const Uuid id = set_id;
    if (!check(provider_call(race, provider, "commit", Nanoseconds(0),
                             [provider, id] { return provider->commit(id); }))) {
      close_commit_window();
      return pending->status;
    }
  }

  // 8. Release I/O.
  for (std::size_t i = 0; i < holds.size(); ++i) {
    const Nanoseconds start = clock().now();
    std::lock_guard lock(holds[i]->mutex);
    holds[i]->cancelled = true;
    if (holds[i]->held) {
      holds[i]->held = false;
      volumes[i].hold->release();
    }
    coordinator.log(set_id, "release-io", Participant::kVolume, volumes[i].name, start, "ok", "");
  }
  close_commit_window();
  // The race may have expired after the last call returned (a deadline, or abort()). Copy
  // the expiry and build the failure without race->mutex: failure_from takes the session's
  // mutex, which abort() takes before the race's.
  std::optional<Expiry> expired;
  {
    std::lock_guard lock(race->mutex);
    expired = race->expired;
  }
  if (expired.has_value()) {
    pending = failure_from(*expired);
    return pending->status;
  }

  // 9. post_commit.
  for (Provider* provider : prepared_providers) {
    const Uuid id = set_id;
    if (!check(provider_call(race, provider, "post-commit", event_limit,
                             [provider, id] { return provider->post_commit(id); })))
      return pending->status;
  }

  // 10. thaw, in freeze order; each writer's window closes when its thaw returns.
  for (std::size_t i : freeze_order) {
    WriterRecord& record = writers[i];
    if (!check(writer_event(race, i, WriterEvent::kThaw, Nanoseconds(0), info)))
      return pending->status;
    {
      std::lock_guard lock(race->mutex);
      race->freeze_window_open[i] = false;
    }
    clock().cancel(record.freeze_timer);
    record.thawed = true;
    set_writer_state(i, WriterState::kWaitingForPostSnapshot);
  }

  // 11. post_snapshot.
  if (writers_involved()) {
    for (std::size_t i = 0; i < writers.size(); ++i) {
      if (!check(writer_event(race, i, WriterEvent::kPostSnapshot, event_limit, info)))
        return pending->status;
      writers[i].post_snapshot_done = true;
      set_writer_state(i, WriterState::kWaitingForBackupComplete);
    }
  }
  return Status();
}

void BackupSession::Impl::abort_writers(bool include_completed) {
  if (!writers_involved())
    return;
  const WriterSessionInfo info = session_info();
  for (std::size_t i = 0; i < writers.size(); ++i) {
    WriterRecord& record = writers[i];
    const bool involved = record.prepared_backup || record.prepared_snapshot;
    if (!involved || (record.post_snapshot_done && !include_completed))
      continue;
    // A race of its own per call: one writer that overruns its abort must not cost the
    // others theirs (an expired race refuses every later call).
    auto cleanup = std::make_shared<Race>();
    std::optional<Status> ignored =
        writer_event(cleanup, i, WriterEvent::kAbort, coordinator.options.event_duration_max, info);
    (void)ignored;
    std::lock_guard lock(mutex);
    if (!is_failed(record.state))
      record.state = WriterState::kStable;
  }
}

Status BackupSession::Impl::delete_snapshots() {
  Status first_error;
  for (const auto& [provider, snapshot] : snapshots) {
    const Nanoseconds start = clock().now();
    Status deleted = provider->delete_snapshot(snapshot.id);
    if (!deleted.ok() && deleted.code() != ErrorCode::kNotFound && first_error.ok())
      first_error = deleted.with_context("provider '" + provider->name() + "' delete");
    coordinator.log(set_id, "delete-snapshot", Participant::kProvider, provider->name(), start,
                    deleted.ok() ? "ok" : "failed", deleted.ok() ? "" : deleted.to_string());
  }
  snapshots.clear();
  return first_error;
}

Status BackupSession::Impl::fail_set(const SetFailure& failed,
                                     std::vector<std::shared_ptr<HoldToken>>& holds) {
  // Release held I/O first: writers and applications must not stay blocked.
  for (std::size_t i = 0; i < holds.size(); ++i) {
    std::lock_guard lock(holds[i]->mutex);
    holds[i]->cancelled = true;
    if (holds[i]->held) {
      holds[i]->held = false;
      volumes[i].hold->release();
    }
  }
  // Close every window so no timer of this set fires later.
  if (active_race != nullptr) {
    std::lock_guard lock(active_race->mutex);
    active_race->commit_window_open = false;
    std::fill(active_race->freeze_window_open.begin(), active_race->freeze_window_open.end(),
              false);
  }
  for (WriterRecord& record : writers) {
    if (record.freeze_timer != 0)
      clock().cancel(record.freeze_timer);
  }
  abort_writers(/*include_completed=*/false);
  // Providers discard everything of the set, committed or not.
  const Nanoseconds limit = coordinator.options.event_duration_max;
  Status cleanup;
  auto add_problem = [&](ErrorCode code, const std::string& problem) {
    cleanup = cleanup.ok() ? Status(code, problem)
                           : Status(cleanup.code(), cleanup.message() + "; " + problem);
  };
  for (Provider* provider : prepared_providers) {
    auto abort_race = std::make_shared<Race>();  // one per call, as for the writers
    const Uuid id = set_id;
    const Nanoseconds start = clock().now();
    std::optional<Status> aborted =
        coordinator.run(abort_race, limit, [provider, id] { return provider->abort(id); });
    coordinator.log(set_id, "abort", Participant::kProvider, provider->name(), start,
                    aborted.has_value() && aborted->ok() ? "ok" : "failed",
                    aborted.has_value() ? (aborted->ok() ? "" : aborted->to_string()) : "timeout");
    if (!aborted.has_value() || !aborted->ok())
      add_problem(aborted.has_value() ? aborted->code() : ErrorCode::kTimeout,
                  "provider '" + provider->name() + "' abort: " +
                      (aborted.has_value() ? aborted->to_string()
                                           : "no answer within " + duration_text(limit)));
    // Whatever abort() did or did not do, no snapshot of the set may be left: delete each
    // one the provider still reports.
    auto found = std::make_shared<std::vector<SnapshotInfo>>();
    auto query_race = std::make_shared<Race>();
    std::optional<Status> queried = coordinator.run(query_race, limit, [provider, found] {
      *found = provider->query();
      return Status();
    });
    if (!queried.has_value()) {
      add_problem(ErrorCode::kTimeout, "provider '" + provider->name() +
                                           "' query: no answer within " + duration_text(limit));
      continue;
    }
    for (const SnapshotInfo& info : *found) {  // the worker was joined: `found` is ours
      if (info.set_id != id)
        continue;
      const Nanoseconds delete_start = clock().now();
      const Uuid snapshot_id = info.id;
      auto delete_race = std::make_shared<Race>();
      std::optional<Status> deleted = coordinator.run(delete_race, limit, [provider, snapshot_id] {
        return provider->delete_snapshot(snapshot_id);
      });
      const bool gone =
          deleted.has_value() && (deleted->ok() || deleted->code() == ErrorCode::kNotFound);
      coordinator.log(set_id, "delete-snapshot", Participant::kProvider, provider->name(),
                      delete_start, gone ? "ok" : "failed",
                      "snapshot " + snapshot_id.to_string() +
                          (gone                  ? ""
                           : deleted.has_value() ? ": " + deleted->to_string()
                                                 : ": timeout"));
      if (!gone)
        add_problem(deleted.has_value() ? deleted->code() : ErrorCode::kTimeout,
                    "provider '" + provider->name() + "' left snapshot " + snapshot_id.to_string() +
                        ": " +
                        (deleted.has_value() ? deleted->to_string()
                                             : "no answer within " + duration_text(limit)));
    }
  }
  snapshots.clear();
  const Status reported_status = reported(failed.status, cleanup);
  {
    std::lock_guard lock(mutex);
    failure = failed;
    failure->status = reported_status;
    phase = failed.participant == Participant::kRequestor ? Phase::kAborted : Phase::kFailed;
  }
  coordinator.log(set_id, "snapshot-set", failed.participant, failed.name, clock().now(),
                  failed.participant == Participant::kRequestor ? "aborted" : "failed",
                  reported_status.message());
  release_creation_slot();
  return cleanup;
}

// ---- BackupSession ----

BackupSession::BackupSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

BackupSession::~BackupSession() {
  Impl& s = *impl_;
  Phase phase;
  {
    std::lock_guard lock(s.mutex);
    phase = s.phase;
  }
  if (phase == Phase::kSetStarted || phase == Phase::kPrepared) {
    abort().ignore_error();
  } else if (phase == Phase::kCreated && s.auto_release()) {
    // Ended without backup_complete: auto-release. Writers past post-snapshot get no abort
    // (VSS), only backup_shutdown below.
    s.delete_snapshots().ignore_error();
  }
  if (s.metadata_gathered && s.writers_involved()) {
    const WriterSessionInfo info = s.session_info();
    for (std::size_t i = 0; i < s.writers.size(); ++i) {
      auto cleanup = std::make_shared<Race>();  // one per call, as in abort_writers
      std::optional<Status> ignored = s.writer_event(
          cleanup, i, WriterEvent::kBackupShutdown, s.coordinator.options.event_duration_max, info);
      (void)ignored;
    }
  }
  s.release_creation_slot();
}

Status BackupSession::set_context(SnapshotContext context) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->phase != Phase::kInitial || impl_->metadata_gathered)
    return impl_->phase_error("set_context", "call it first, before gather_writer_metadata");
  impl_->context = context;
  return Status();
}

Status BackupSession::set_backup_type(BackupType type) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->phase != Phase::kInitial)
    return impl_->phase_error("set_backup_type", "call it before start_snapshot_set");
  impl_->backup_type = type;
  return Status();
}

Result<std::vector<WriterMetadata>> BackupSession::gather_writer_metadata() {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.mutex);
    if (s.metadata_gathered || s.phase != Phase::kInitial)
      return s.phase_error("gather_writer_metadata", "once per session, before start_snapshot_set");
    s.metadata_gathered = true;
    std::lock_guard coordinator_lock(s.coordinator.mutex);
    for (Writer* writer : s.coordinator.writers) {
      Impl::WriterRecord record;
      record.writer = writer;
      s.writers.push_back(std::move(record));
    }
  }
  auto race = std::make_shared<Race>();
  std::vector<WriterMetadata> result;
  for (std::size_t i = 0; i < s.writers.size(); ++i) {
    Writer* writer = s.writers[i].writer;
    auto metadata = std::make_shared<std::optional<Result<WriterMetadata>>>();
    s.current = {Participant::kWriter, "writer #" + std::to_string(i + 1), "identify", i,
                 WriterEvent::kIdentify};
    const Nanoseconds start = s.clock().now();
    std::optional<Status> status =
        s.coordinator.run(race, s.coordinator.options.event_duration_max, [writer, metadata] {
          *metadata = writer->identify();
          return metadata->value().ok() ? Status() : metadata->value().status();
        });
    std::optional<SetFailure> failed;
    if (!status.has_value()) {
      failed = s.expired_failure(race);
    } else if (!status->ok()) {
      SetFailure f;
      f.participant = Participant::kWriter;
      f.name = s.current.name;
      f.phase = "identify";
      f.writer_failure = WriterFailure::kNonRetryable;
      f.status =
          Status(ErrorCode::kAborted, f.name + " failed at identify: " + status->to_string());
      std::lock_guard lock(s.mutex);
      s.writers[i].state = WriterState::kFailedAtIdentify;
      s.writers[i].failure = WriterFailure::kNonRetryable;
      s.writers[i].message = status->message();
      failed = std::move(f);
    }
    if (failed.has_value()) {
      s.coordinator.log(Uuid(), "identify", Participant::kWriter, s.current.name, start,
                        status.has_value() ? "failed" : "timeout", failed->status.message());
      std::lock_guard lock(s.mutex);
      s.failure = failed;
      s.phase = Phase::kFailed;
      return failed->status;
    }
    WriterMetadata identified = std::move(metadata->value()).value();
    s.coordinator.log(Uuid(), "identify", Participant::kWriter, identified.name, start, "ok", "");
    {
      std::lock_guard lock(s.mutex);
      s.writers[i].metadata = identified;
    }
    result.push_back(std::move(identified));
  }
  return result;
}

Result<Uuid> BackupSession::start_snapshot_set() {
  Impl& s = *impl_;
  std::lock_guard lock(s.mutex);
  if (s.phase != Phase::kInitial)
    return s.phase_error("start_snapshot_set", "once per session");
  if (s.writers_involved() && !s.metadata_gathered)
    return s.phase_error("start_snapshot_set",
                         "a context with writers needs gather_writer_metadata first");
  std::lock_guard coordinator_lock(s.coordinator.mutex);
  if (s.coordinator.creating != nullptr && s.coordinator.creating != &s)
    return Status(ErrorCode::kBusy, "another snapshot set (" +
                                        s.coordinator.creating_set.to_string() +
                                        ") is in creation; retry when it is done");
  s.set_id = s.coordinator.new_set_id();
  s.coordinator.creating = &s;
  s.coordinator.creating_set = s.set_id;
  s.phase = Phase::kSetStarted;
  return s.set_id;
}

Status BackupSession::add_to_snapshot_set(const std::string& volume, const Uuid& provider_id) {
  Impl& s = *impl_;
  std::lock_guard lock(s.mutex);
  if (s.phase != Phase::kSetStarted && s.phase != Phase::kPrepared)
    return s.phase_error("add_to_snapshot_set", "between start_snapshot_set and do_snapshot_set");
  for (const auto& entry : s.volumes) {
    if (entry.name == volume)
      return Status(ErrorCode::kAlreadyExists,
                    "volume '" + volume + "' is already in snapshot set " + s.set_id.to_string());
  }
  if (s.volumes.size() >= s.coordinator.options.volumes_per_set_max)
    return Status(ErrorCode::kLimitExceeded,
                  "snapshot set " + s.set_id.to_string() + " already has " +
                      std::to_string(s.volumes.size()) + " volumes (the maximum)");
  HoldableVolume* hold = nullptr;
  {
    std::lock_guard coordinator_lock(s.coordinator.mutex);
    auto it = s.coordinator.volumes.find(volume);
    if (it != s.coordinator.volumes.end())
      hold = it->second;
  }
  if (hold == nullptr)
    return not_found("volume '" + volume +
                     "' is not known to the coordinator (Coordinator::add_volume)");
  FF_ASSIGN_OR_RETURN(Provider * provider, s.coordinator.registry.select(volume, provider_id));
  s.volumes.push_back({volume, provider, hold});
  return Status();
}

Status BackupSession::prepare_for_backup() {
  Impl& s = *impl_;
  // While this runs, abort() from another thread only expires `race`; the cleanup is done
  // here, on the session's thread, so the two never touch the session at once.
  auto race = std::make_shared<Race>();
  {
    std::lock_guard lock(s.mutex);
    if (s.phase != Phase::kSetStarted)
      return s.phase_error("prepare_for_backup", "once, after start_snapshot_set");
    if (s.abort_requested)
      return Status(ErrorCode::kAborted, "the snapshot set was aborted");
    s.active_race = race;
  }
  auto fail = [&](const SetFailure& failed) {
    std::vector<std::shared_ptr<HoldToken>> none;
    const Status cleanup = s.fail_set(failed, none);
    std::lock_guard lock(s.mutex);
    s.active_race.reset();
    return Impl::reported(failed.status, cleanup);
  };
  s.current = {Participant::kCoordinator, "", "prepare-for-backup", std::nullopt,
               WriterEvent::kIdentify};
  if (s.writers_involved()) {
    const WriterSessionInfo info = s.session_info();
    for (std::size_t i = 0; i < s.writers.size(); ++i) {
      s.writers[i].prepared_backup = true;
      std::optional<Status> status = s.writer_event(race, i, WriterEvent::kPrepareBackup,
                                                    s.coordinator.options.event_duration_max, info);
      if (!status.has_value() || !status->ok())
        return fail(status.has_value() ? *s.pending : s.expired_failure(race));
    }
  }
  std::optional<Expiry> expired;
  {
    std::lock_guard lock(s.mutex);
    {
      std::lock_guard race_lock(race->mutex);
      expired = race->expired;
    }
    if (!expired.has_value() && s.phase == Phase::kSetStarted) {
      s.phase = Phase::kPrepared;
      s.active_race.reset();
      return Status();
    }
  }
  s.current = {Participant::kCoordinator, "", "prepare-for-backup", std::nullopt,
               WriterEvent::kIdentify};
  return fail(s.failure_from(expired.value_or(Expiry{ExpiryKind::kRequestorAbort, 0})));
}

Status BackupSession::do_snapshot_set() {
  Impl& s = *impl_;
  std::shared_ptr<Race> race = std::make_shared<Race>();
  {
    std::lock_guard lock(s.mutex);
    const bool ready = s.writers_involved()
                           ? s.phase == Phase::kPrepared
                           : (s.phase == Phase::kSetStarted || s.phase == Phase::kPrepared);
    if (!ready)
      return s.phase_error("do_snapshot_set",
                           s.writers_involved()
                               ? "after start_snapshot_set, add_to_snapshot_set and "
                                 "prepare_for_backup"
                               : "after start_snapshot_set and add_to_snapshot_set");
    s.phase = Phase::kCreating;
    s.active_race = race;
    if (s.abort_requested) {
      std::lock_guard race_lock(race->mutex);
      race->expire({ExpiryKind::kRequestorAbort, 0});
    }
  }
  s.current = {Participant::kCoordinator, "", "do-snapshot-set", std::nullopt,
               WriterEvent::kIdentify};
  const Nanoseconds start = s.clock().now();
  std::vector<std::shared_ptr<HoldToken>> holds;
  s.pending.reset();
  Status created = s.create(race, holds);
  if (!created.ok()) {
    SetFailure failed = *s.pending;
    const Status cleanup = s.fail_set(failed, holds);
    std::lock_guard lock(s.mutex);
    s.active_race.reset();
    return Impl::reported(failed.status, cleanup);
  }
  // Collect what the providers created.
  for (Provider* provider : s.prepared_providers) {
    for (const SnapshotInfo& info : provider->query()) {
      if (info.set_id == s.set_id)
        s.snapshots.emplace_back(provider, info);
    }
  }
  // abort() may have come after the last call returned: it expired the race, which no call
  // has looked at since. Decide under the lock abort() takes, so it either lands before
  // the set counts as created (and the set fails here) or after (and deletes the snapshots).
  std::optional<Expiry> expired;
  {
    std::lock_guard lock(s.mutex);
    {
      std::lock_guard race_lock(race->mutex);
      expired = race->expired;
    }
    if (!expired.has_value() && s.abort_requested)
      expired = Expiry{ExpiryKind::kRequestorAbort, 0};
    if (!expired.has_value()) {
      s.phase = Phase::kCreated;
      s.active_race.reset();
    }
  }
  if (expired.has_value()) {
    s.current = {Participant::kCoordinator, "", "do-snapshot-set", std::nullopt,
                 WriterEvent::kIdentify};
    SetFailure failed = s.failure_from(*expired);
    const Status cleanup = s.fail_set(failed, holds);
    std::lock_guard lock(s.mutex);
    s.active_race.reset();
    return Impl::reported(failed.status, cleanup);
  }
  s.coordinator.log(s.set_id, "snapshot-set", Participant::kCoordinator, "", start, "ok",
                    std::to_string(s.snapshots.size()) + " snapshots");
  s.release_creation_slot();
  return Status();
}

std::vector<WriterStatus> BackupSession::gather_writer_status() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<WriterStatus> result;
  for (const auto& record : impl_->writers) {
    WriterStatus status;
    status.name = record.metadata.name;
    status.class_id = record.metadata.class_id;
    status.instance_id = record.metadata.instance_id;
    status.state = record.state;
    status.failure = record.failure;
    status.message = record.message;
    result.push_back(std::move(status));
  }
  return result;
}

Status BackupSession::backup_complete(bool backup_succeeded) {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.mutex);
    if (s.phase != Phase::kCreated)
      return s.phase_error("backup_complete", "after a successful do_snapshot_set");
  }
  Status first_error;
  if (s.writers_involved()) {
    auto race = std::make_shared<Race>();
    const WriterSessionInfo info = s.session_info(backup_succeeded);
    for (std::size_t i = 0; i < s.writers.size(); ++i) {
      std::optional<Status> status = s.writer_event(race, i, WriterEvent::kBackupComplete,
                                                    s.coordinator.options.event_duration_max, info);
      if (!status.has_value()) {
        SetFailure failed = s.expired_failure(race);
        if (first_error.ok())
          first_error = failed.status;
        race = std::make_shared<Race>();
      } else if (!status->ok()) {
        if (first_error.ok())
          first_error = *status;
      } else {
        s.set_writer_state(i, WriterState::kStable);
      }
    }
  }
  Status released;
  if (s.auto_release())
    released = s.delete_snapshots();
  {
    std::lock_guard lock(s.mutex);
    s.phase = Phase::kCompleted;
  }
  if (!first_error.ok())
    return first_error;
  return released;
}

Status BackupSession::abort() {
  Impl& s = *impl_;
  Phase phase;
  {
    std::lock_guard lock(s.mutex);
    phase = s.phase;
    s.abort_requested = true;
    const bool before_creation =
        phase == Phase::kInitial || phase == Phase::kSetStarted || phase == Phase::kPrepared;
    if (phase == Phase::kCreating || (before_creation && s.active_race != nullptr)) {
      // do_snapshot_set() or prepare_for_backup() is running on another thread: make it fail
      // promptly; it cleans up.
      if (s.active_race != nullptr) {
        std::lock_guard race_lock(s.active_race->mutex);
        s.active_race->expire({ExpiryKind::kRequestorAbort, 0});
      }
      return Status();
    }
    // Claim the session before cleaning up outside the lock: the session's thread now finds
    // it aborted and starts nothing that would race with the cleanup below.
    if (before_creation)
      s.phase = Phase::kAborted;
  }
  switch (phase) {
    case Phase::kInitial:
    case Phase::kSetStarted:
    case Phase::kPrepared: {
      SetFailure failed;
      failed.participant = Participant::kRequestor;
      failed.phase = phase == Phase::kInitial      ? "initial"
                     : phase == Phase::kSetStarted ? "start-snapshot-set"
                                                   : "prepare-for-backup";
      failed.status =
          Status(ErrorCode::kAborted, "requestor aborted the snapshot set after " + failed.phase);
      std::vector<std::shared_ptr<HoldToken>> none;
      return s.fail_set(failed, none);
    }
    case Phase::kCreated: {
      s.abort_writers(/*include_completed=*/true);
      Status deleted = s.delete_snapshots();
      SetFailure failed;
      failed.participant = Participant::kRequestor;
      failed.phase = "backup";
      failed.status = Status(ErrorCode::kAborted, "requestor aborted the backup");
      std::lock_guard lock(s.mutex);
      s.failure = failed;
      s.phase = Phase::kAborted;
      return deleted;
    }
    default:
      return Status();
  }
}

Result<SnapshotSetInfo> BackupSession::snapshot_set() const {
  std::lock_guard lock(impl_->mutex);
  if (impl_->phase != Phase::kCreated && impl_->phase != Phase::kCompleted)
    return impl_->phase_error("snapshot_set", "after a successful do_snapshot_set");
  SnapshotSetInfo info;
  info.id = impl_->set_id;
  info.context = impl_->context;
  // In the order the volumes were added, whatever order the providers report them in.
  for (const auto& volume : impl_->volumes) {
    for (const auto& [provider, snapshot] : impl_->snapshots) {
      if (provider == volume.provider && snapshot.origin_name == volume.name)
        info.snapshots.push_back(snapshot);
    }
  }
  return info;
}

const Uuid& BackupSession::snapshot_set_id() const {
  return impl_->set_id;
}

std::optional<SetFailure> BackupSession::failure() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->failure;
}

}  // namespace freezeframe

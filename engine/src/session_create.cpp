// CoordinatorSession: the steps inside do_snapshot_set, in VSS's order, and the cleanup of a
// failed set (see coordinator_session.h and docs/protocol.md).
#include <algorithm>
#include <utility>

#include "coordinator_session.h"
#include "plant_hook.h"

namespace freezeframe {

using protocol_internals::duration_text;
using protocol_internals::ExpiryKind;

Status CoordinatorSession::create(const std::shared_ptr<Race>& race, Holds& holds) {
  const Nanoseconds event_limit = coordinator.options.event_duration_max;
  const WriterSessionInfo info = session_info();
  auto check = [&](std::optional<Status> status) -> bool {
    if (!status.has_value()) {
      pending = expired_failure(race);
      return false;
    }
    return status->ok();
  };
  // One call of the set on every provider that was prepared, in first-use order.
  auto each_provider = [&](ProtocolPhase step, Nanoseconds limit,
                           Status (ProtocolProvider::*method)(const Uuid&)) {
    for (ProtocolProvider* provider : prepared_providers) {
      const Uuid id = set_id;
      if (!check(provider_call(race, provider, step, limit,
                               [provider, id, method] { return (provider->*method)(id); })))
        return false;
    }
    return true;
  };

  // 1. begin_prepare, once per volume.
  const auto attributes = static_cast<std::uint32_t>(context);
  for (const VolumeEntry& volume : volumes) {
    ProtocolProvider* provider = volume.provider;
    if (std::find(prepared_providers.begin(), prepared_providers.end(), provider) ==
        prepared_providers.end())
      prepared_providers.push_back(provider);
    const Uuid id = set_id;
    const std::string name = volume.name;
    if (!check(provider_call(race, provider, ProtocolPhase::kBeginPrepare, event_limit,
                             [provider, id, name, attributes] {
                               return provider->begin_prepare(id, name, attributes);
                             })))
      return pending->status;
  }

  // 2. prepare_snapshot to writers.
  if (writers_involved()) {
    for (std::size_t i = 0; i < writers.size(); ++i) {
      writers[i].prepared_snapshot = true;
      writers[i].aborted = false;
      if (!check(writer_event(race, i, WriterEvent::kPrepareSnapshot, event_limit, info)))
        return pending->status;
      set_writer_state(i, WriterState::kWaitingForFreeze);
    }
  }

  // 3. end_prepare, once per provider.
  if (!each_provider(ProtocolPhase::kEndPrepare, event_limit, &ProtocolProvider::end_prepare))
    return pending->status;

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
  if (!each_provider(ProtocolPhase::kPreCommit, event_limit, &ProtocolProvider::pre_commit))
    return pending->status;

  // 6. Hold I/O on every volume; the commit window starts.
  {
    std::lock_guard lock(race->mutex);
    race->commit_window_open = true;
  }
  const TimerId commit_timer =
      clock().schedule_after(coordinator.options.commit_window_max, [race] {
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
    if (hold == nullptr)  // its provider holds I/O itself (holds_io_itself)
      continue;
    begin(Participant::kVolume, volume.name, ProtocolPhase::kHoldIo);
    const Nanoseconds start = clock().now();
    // Raise the hold here, so the release below or in fail_set always undoes it, even while
    // the volume is still draining on the executor when the commit window closes.
    hold->begin_hold();
    {
      std::lock_guard lock(token->mutex);
      token->held = true;
    }
    std::optional<Status> held = coordinator.runner.run(race, Nanoseconds(0), label(start), [hold] {
      hold->wait_drained();
      return Status();
    });
    if (held.has_value()) {
      coordinator.log(set_id, ProtocolPhase::kHoldIo, Participant::kVolume, volume.name, start,
                      EventOutcome::kOk, "");
    } else {
      auto [logged, why] = expiry_outcome(race);
      coordinator.log(set_id, ProtocolPhase::kHoldIo, Participant::kVolume, volume.name, start,
                      logged, why);
    }
    if (!check(held)) {
      close_commit_window();
      return pending->status;
    }
  }

  // 7. commit every provider while I/O is held.
  if (!each_provider(ProtocolPhase::kCommit, Nanoseconds(0), &ProtocolProvider::commit)) {
    close_commit_window();
    return pending->status;
  }

  // 8. Release I/O.
  release_holds(holds, /*log_release=*/true);
  close_commit_window();
  // The race may have expired after the last call returned (a deadline, or abort()). Read
  // the expiry and build the failure without race->mutex: failure_from takes the session's
  // mutex, which abort() takes before the race's.
  if (std::optional<Expiry> expired = race->expiry()) {
    pending = failure_from(*expired, race);
    return pending->status;
  }

  // 9. post_commit.
  if (!each_provider(ProtocolPhase::kPostCommit, event_limit, &ProtocolProvider::post_commit))
    return pending->status;

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

void CoordinatorSession::release_holds(Holds& holds, bool log_release) {
  for (std::size_t i = 0; i < holds.size(); ++i) {
    if (volumes[i].hold == nullptr)  // its provider holds I/O itself: never held here
      continue;
    const Nanoseconds start = clock().now();
    {
      std::lock_guard lock(holds[i]->mutex);
      holds[i]->cancelled = true;
      if (holds[i]->held) {
        holds[i]->held = false;
        volumes[i].hold->release();
      }
    }
    if (log_release)
      coordinator.log(set_id, ProtocolPhase::kReleaseIo, Participant::kVolume, volumes[i].name,
                      start, EventOutcome::kOk, "");
  }
}

void CoordinatorSession::abort_writers(bool include_completed) {
  if (!writers_involved())
    return;
  const WriterSessionInfo info = session_info();
  for (std::size_t i = 0; i < writers.size(); ++i) {
    WriterRecord& record = writers[i];
    const bool involved = record.prepared_backup || record.prepared_snapshot;
    if (!involved || record.aborted || (record.post_snapshot_done && !include_completed))
      continue;
    record.aborted = true;
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

Status CoordinatorSession::delete_snapshots() {
  Status first_error;
  for (const auto& [provider, snapshot] : snapshots) {
    const Nanoseconds start = clock().now();
    Status deleted = provider->delete_snapshot(snapshot.id);
    if (!deleted.ok() && deleted.code() != ErrorCode::kNotFound && first_error.ok())
      first_error = deleted.with_context("provider '" + provider->name() + "' delete");
    coordinator.log(set_id, ProtocolPhase::kDeleteSnapshot, Participant::kProvider,
                    provider->name(), start,
                    deleted.ok() ? EventOutcome::kOk : EventOutcome::kFailed,
                    deleted.ok() ? "" : deleted.to_string());
  }
  snapshots.clear();
  return first_error;
}

// Every provider of the set discards everything of it, committed or not; then whatever a
// provider still reports of the set is deleted one by one. Returns what could not be undone.
Status CoordinatorSession::abort_providers() {
  const Nanoseconds limit = coordinator.options.event_duration_max;
  const std::string no_answer = "no answer within " + duration_text(limit);
  Status cleanup;
  auto add_problem = [&](ErrorCode code, const std::string& problem) {
    cleanup = cleanup.ok() ? Status(code, problem)
                           : Status(cleanup.code(), cleanup.message() + "; " + problem);
  };
  // One cleanup call with a race of its own, as for the writers. Returns nullopt if it
  // overran; a call the executor refused returns that refusal.
  auto run = [&](ProtocolProvider* provider, ProtocolPhase step, std::function<Status()> call) {
    const Nanoseconds start = clock().now();
    begin(Participant::kProvider, provider->name(), step);
    auto race = std::make_shared<Race>();
    std::optional<Status> result =
        coordinator.runner.run(race, limit, label(start), std::move(call));
    std::lock_guard lock(race->mutex);
    if (!result.has_value() && !race->refusal.empty())
      result = Status(ErrorCode::kLimitExceeded, race->refusal);
    return std::make_pair(std::move(result), start);
  };
  for (ProtocolProvider* provider : prepared_providers) {
    const Uuid id = set_id;
    auto [aborted, start] =
        run(provider, ProtocolPhase::kAbort, [provider, id] { return provider->abort(id); });
    const bool ok = aborted.has_value() && aborted->ok();
    const std::string why = aborted.has_value() ? aborted->to_string() : no_answer;
    coordinator.log(set_id, ProtocolPhase::kAbort, Participant::kProvider, provider->name(), start,
                    ok ? EventOutcome::kOk : EventOutcome::kFailed,
                    ok ? "" : (aborted.has_value() ? why : "timeout"));
    if (!ok)
      add_problem(aborted.has_value() ? aborted->code() : ErrorCode::kTimeout,
                  "provider '" + provider->name() + "' abort: " + why);
    // Whatever abort() did or did not do, no snapshot of the set may be left.
    auto found = std::make_shared<std::vector<SnapshotInfo>>();
    auto [queried, query_start] = run(provider, ProtocolPhase::kQuery, [provider, found] {
      *found = provider->query();
      return Status();
    });
    if (!queried.has_value()) {
      add_problem(ErrorCode::kTimeout, "provider '" + provider->name() + "' query: " + no_answer);
      continue;
    }
    for (const SnapshotInfo& info : *found) {  // the call returned: `found` is ours
      if (info.set_id != id)
        continue;
      const Uuid snapshot_id = info.id;
      auto [deleted, delete_start] =
          run(provider, ProtocolPhase::kDeleteSnapshot,
              [provider, snapshot_id] { return provider->delete_snapshot(snapshot_id); });
      const bool gone =
          deleted.has_value() && (deleted->ok() || deleted->code() == ErrorCode::kNotFound);
      const std::string failure = deleted.has_value() ? deleted->to_string() : no_answer;
      coordinator.log(set_id, ProtocolPhase::kDeleteSnapshot, Participant::kProvider,
                      provider->name(), delete_start,
                      gone ? EventOutcome::kOk : EventOutcome::kFailed,
                      "snapshot " + snapshot_id.to_string() +
                          (gone                  ? ""
                           : deleted.has_value() ? ": " + failure
                                                 : ": timeout"));
      if (!gone)
        add_problem(deleted.has_value() ? deleted->code() : ErrorCode::kTimeout,
                    "provider '" + provider->name() + "' left snapshot " + snapshot_id.to_string() +
                        ": " + failure);
    }
  }
  snapshots.clear();
  return cleanup;
}

Status CoordinatorSession::fail_set(const SetFailure& failed, Holds& holds) {
  // Release held I/O first: writers and applications must not stay blocked.
  release_holds(holds, /*log_release=*/false);
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
  // VSS sends no abort for a failure at prepare-snapshot (vss-model.md 2.3): the writers
  // are told only if the requestor calls abort() (AbortBackup).
  const bool at_prepare_snapshot =
      failed.participant == Participant::kWriter && failed.phase == ProtocolPhase::kPrepareSnapshot;
  // PLANTED DEFECT (protocol-skip-thaw): a set failed by a provider leaves its writers as
  // they are, frozen ones included.
  const bool skip_writers =
      detail::planted(Plant::kProtocolSkipThaw) && failed.participant == Participant::kProvider;
  if (!at_prepare_snapshot && !skip_writers)
    abort_writers(/*include_completed=*/false);
  Status cleanup = abort_providers();
  const bool by_requestor = failed.participant == Participant::kRequestor;
  Status reported = failed.status;
  if (!cleanup.ok())
    reported = Status(failed.status.code(),
                      failed.status.message() + "; cleanup failed: " + cleanup.message());
  {
    std::lock_guard lock(mutex);
    failure_ = failed;
    failure_->status = reported;
    stage = by_requestor ? SessionPhase::kAborted : SessionPhase::kFailed;
  }
  coordinator.log(set_id, ProtocolPhase::kSnapshotSet, failed.participant, failed.name,
                  clock().now(), by_requestor ? EventOutcome::kAborted : EventOutcome::kFailed,
                  reported.message());
  release_creation_slot();
  return cleanup;
}

}  // namespace freezeframe

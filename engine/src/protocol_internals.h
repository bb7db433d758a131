// Internals of the snapshot protocol shared by coordinator.cpp and backup_session.cpp: the
// waiting machinery (Race, CallSlot, HoldToken) and the Impl structs of Coordinator and
// BackupSession. Private to the engine; see coordinator.cpp for how waiting works.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "freezeframe/assert.h"
#include "freezeframe/coordinator.h"

namespace freezeframe::protocol_internals {

inline std::string duration_text(Nanoseconds duration) {
  using std::chrono::duration_cast;
  if (duration % std::chrono::seconds(1) == Nanoseconds(0))
    return std::to_string(duration_cast<std::chrono::seconds>(duration).count()) + " s";
  if (duration % std::chrono::milliseconds(1) == Nanoseconds(0))
    return std::to_string(duration_cast<std::chrono::milliseconds>(duration).count()) + " ms";
  return std::to_string(duration.count()) + " ns";
}

enum class ExpiryKind : std::uint8_t { kCall, kFreezeWindow, kCommitWindow, kRequestorAbort };

struct Expiry {
  ExpiryKind kind = ExpiryKind::kCall;
  std::size_t writer = 0;  // kFreezeWindow: index into the session's writers
};

struct Race {
  std::mutex mutex;
  std::condition_variable changed;
  std::optional<Expiry> expired;
  std::uint64_t call_sequence = 0;
  bool call_open = false;
  bool commit_window_open = false;
  std::vector<bool> freeze_window_open;

  // REQUIRES: mutex held.
  void expire(Expiry expiry) {
    if (!expired.has_value()) {
      expired = expiry;
      changed.notify_all();
    }
  }
};

struct CallSlot {
  bool done = false;
  Status result;
};

// A hold of one volume, raised by the driving thread (HoldableVolume::begin_hold) before
// the drain is waited for on a worker: release and fail_set release it if `held`.
struct HoldToken {
  std::mutex mutex;
  bool held = false;
  bool cancelled = false;
};

enum class Phase : std::uint8_t {
  kInitial,
  kSetStarted,
  kPrepared,
  kCreating,
  kCreated,
  kCompleted,
  kFailed,
  kAborted,
};

struct Current {
  Participant participant = Participant::kCoordinator;
  std::string name;
  std::string phase;
  std::optional<std::size_t> writer;
  WriterEvent event = WriterEvent::kIdentify;
};

}  // namespace freezeframe::protocol_internals

namespace freezeframe {

using namespace protocol_internals;  // NOLINT(google-build-using-namespace): one private header

// ---- Coordinator::Impl ----

struct Coordinator::Impl {
  Impl(Clock& c, CoordinatorOptions o) : clock(c), options(std::move(o)) {}

  Clock& clock;
  CoordinatorOptions options;

  mutable std::mutex mutex;
  std::vector<Writer*> writers;
  ProviderRegistry registry;
  std::map<std::string, HoldableVolume*, std::less<>> volumes;
  const void* creating = nullptr;  // the BackupSession::Impl whose set is in creation
  Uuid creating_set;

  std::mutex workers_mutex;
  struct Worker {
    std::thread thread;
    std::shared_ptr<CallSlot> slot;
    std::shared_ptr<Race> race;
  };
  std::vector<Worker> stragglers;

  ~Impl() {
    std::vector<Worker> remaining;
    {
      std::lock_guard lock(workers_mutex);
      remaining.swap(stragglers);
    }
    for (Worker& worker : remaining)
      worker.thread.join();
  }

  Uuid new_set_id() {
    // REQUIRES: mutex held.
    return options.random != nullptr ? Uuid::generate(*options.random) : Uuid::generate();
  }

  void log(const Uuid& set_id, std::string phase, Participant participant, std::string name,
           Nanoseconds start, std::string outcome, std::string message) {
    if (options.events == nullptr)
      return;
    ProtocolEvent event;
    event.set_id = set_id;
    event.phase = std::move(phase);
    event.participant = std::string(participant_name(participant));
    event.name = std::move(name);
    event.start = start;
    event.duration = clock.now() - start;
    event.outcome = std::move(outcome);
    event.message = std::move(message);
    options.events->record(event);
  }

  // Joins stragglers that have finished since they were given up on.
  void reap() {
    std::vector<Worker> finished;
    {
      std::lock_guard lock(workers_mutex);
      for (auto it = stragglers.begin(); it != stragglers.end();) {
        bool done = false;
        {
          std::lock_guard race_lock(it->race->mutex);
          done = it->slot->done;
        }
        if (done) {
          finished.push_back(std::move(*it));
          it = stragglers.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (Worker& worker : finished)
      worker.thread.join();
  }

  // Runs `call` on a worker thread; waits for it or for the race to expire. `limit` > 0 arms
  // a deadline for this call alone. Returns the call's Status, or nullopt if the race expired
  // (before or during the call).
  std::optional<Status> run(const std::shared_ptr<Race>& race, Nanoseconds limit,
                            std::function<Status()> call) {
    reap();
    std::uint64_t sequence = 0;
    {
      std::lock_guard lock(race->mutex);
      if (race->expired.has_value())
        return std::nullopt;
      sequence = ++race->call_sequence;
      race->call_open = true;
    }
    TimerId timer = 0;
    if (limit > Nanoseconds(0)) {
      timer = clock.schedule_after(limit, [race, sequence] {
        std::lock_guard lock(race->mutex);
        if (race->call_open && race->call_sequence == sequence)
          race->expire({ExpiryKind::kCall, 0});
      });
    }
    auto slot = std::make_shared<CallSlot>();
    std::thread thread([race, slot, call = std::move(call)] {
      Status result = call();
      std::lock_guard lock(race->mutex);
      slot->done = true;
      slot->result = std::move(result);
      race->changed.notify_all();
    });
    std::unique_lock lock(race->mutex);
    race->changed.wait(lock, [&] { return slot->done || race->expired.has_value(); });
    race->call_open = false;
    const bool done = slot->done;
    const bool expired = race->expired.has_value();
    Status result = done ? slot->result : Status();
    lock.unlock();
    if (timer != 0)
      clock.cancel(timer);
    if (done) {
      thread.join();
    } else {
      std::lock_guard workers_lock(workers_mutex);
      stragglers.push_back({std::move(thread), slot, race});
    }
    if (expired)
      return std::nullopt;
    return result;
  }
};

// ---- BackupSession::Impl ----

struct BackupSession::Impl {
  struct WriterRecord {
    Writer* writer = nullptr;
    WriterMetadata metadata;
    WriterState state = WriterState::kStable;
    WriterFailure failure = WriterFailure::kNone;
    std::string message;
    bool prepared_backup = false;
    bool prepared_snapshot = false;
    bool freeze_sent = false;
    bool freeze_done = false;
    bool thawed = false;
    bool post_snapshot_done = false;
    TimerId freeze_timer = 0;
  };
  struct VolumeEntry {
    std::string name;
    Provider* provider = nullptr;
    HoldableVolume* hold = nullptr;
  };

  explicit Impl(Coordinator::Impl& c) : coordinator(c) {}

  Coordinator::Impl& coordinator;

  mutable std::mutex mutex;  // guards what other threads read: phase, writers, failure
  Phase phase = Phase::kInitial;
  SnapshotContext context = SnapshotContext::kBackup;
  BackupType backup_type = BackupType::kFull;
  bool metadata_gathered = false;
  bool abort_requested = false;
  std::vector<WriterRecord> writers;
  Uuid set_id;
  std::vector<VolumeEntry> volumes;
  std::vector<Provider*> prepared_providers;  // got begin_prepare, in first-use order
  std::vector<std::pair<Provider*, SnapshotInfo>> snapshots;
  std::optional<SetFailure> failure;
  std::shared_ptr<Race> active_race;  // of the do_snapshot_set() in progress
  Current current;                    // the call the driving thread waits on

  bool writers_involved() const { return !context_has(context, kAttrNoWriters); }
  bool auto_release() const { return !context_has(context, kAttrNoAutoRelease); }
  Clock& clock() { return coordinator.clock; }

  WriterSessionInfo session_info(bool backup_succeeded = false) const {
    WriterSessionInfo info;
    info.snapshot_set_id = set_id;
    info.context = context;
    info.backup_type = backup_type;
    for (const VolumeEntry& volume : volumes)
      info.volumes.push_back(volume.name);
    info.backup_succeeded = backup_succeeded;
    return info;
  }

  void set_writer_state(std::size_t index, WriterState state) {
    std::lock_guard lock(mutex);
    writers[index].state = state;
  }

  void release_creation_slot() {
    std::lock_guard lock(coordinator.mutex);
    if (coordinator.creating == this) {
      coordinator.creating = nullptr;
      coordinator.creating_set = Uuid();
    }
  }

  Status phase_error(const char* call, std::string_view expected) const {
    return bad_state(std::string("backup session: ") + call + " is out of order (" +
                     std::string(expected) + ")");
  }

  // Writer event `event` on writer `index` through `race`. Returns nullopt when the race
  // expired; else a Status (OK, or the writer's failure, already recorded).
  std::optional<Status> writer_event(const std::shared_ptr<Race>& race, std::size_t index,
                                     WriterEvent event, Nanoseconds limit,
                                     const WriterSessionInfo& info) {
    WriterRecord& record = writers[index];
    current = {Participant::kWriter, record.metadata.name, std::string(writer_event_name(event)),
               index, event};
    Writer* writer = record.writer;
    auto outcome = std::make_shared<WriterResult>();
    const Nanoseconds start = clock().now();
    std::optional<Status> status =
        coordinator.run(race, limit, [writer, event, info, outcome]() -> Status {
          WriterResult result;
          switch (event) {
            case WriterEvent::kPrepareBackup:
              result = writer->prepare_backup(info);
              break;
            case WriterEvent::kPrepareSnapshot:
              result = writer->prepare_snapshot(info);
              break;
            case WriterEvent::kFreeze:
              result = writer->freeze(info);
              break;
            case WriterEvent::kThaw:
              result = writer->thaw(info);
              break;
            case WriterEvent::kPostSnapshot:
              result = writer->post_snapshot(info);
              break;
            case WriterEvent::kBackupComplete:
              result = writer->backup_complete(info);
              break;
            case WriterEvent::kAbort:
              writer->abort(info);
              break;
            case WriterEvent::kBackupShutdown:
              writer->backup_shutdown(info.snapshot_set_id);
              break;
            default:
              result = WriterResult::fail(WriterFailure::kNonRetryable, "unexpected event");
              break;
          }
          *outcome = result;
          return result.ok() ? Status() : Status(ErrorCode::kAborted, result.message);
        });
    if (!status.has_value()) {
      auto [outcome_name, why] = expiry_outcome(race);
      coordinator.log(set_id, current.phase, Participant::kWriter, record.metadata.name, start,
                      outcome_name, why);
      return std::nullopt;
    }
    if (status->ok()) {
      coordinator.log(set_id, current.phase, Participant::kWriter, record.metadata.name, start,
                      "ok", "");
      return Status();
    }
    // The thread has been joined: `outcome` is ours alone.
    const WriterFailure kind = outcome->failure;
    std::string message = "writer '" + record.metadata.name + "' failed at " + current.phase +
                          ": " + std::string(writer_failure_name(kind)) +
                          (outcome->message.empty() ? "" : " (" + outcome->message + ")");
    {
      std::lock_guard lock(mutex);
      record.state = failed_state_for(event);
      record.failure = kind;
      record.message = outcome->message;
    }
    coordinator.log(set_id, current.phase, Participant::kWriter, record.metadata.name, start,
                    "failed", message);
    SetFailure failed;
    failed.participant = Participant::kWriter;
    failed.name = record.metadata.name;
    failed.phase = current.phase;
    failed.writer_failure = kind;
    failed.status = Status(
        kind == WriterFailure::kTimeout ? ErrorCode::kTimeout : ErrorCode::kAborted, message);
    pending = std::move(failed);
    return pending->status;
  }

  // A provider call through `race`.
  std::optional<Status> provider_call(const std::shared_ptr<Race>& race, Provider* provider,
                                      const char* step, Nanoseconds limit,
                                      std::function<Status()> call) {
    current = {Participant::kProvider, provider->name(), step, std::nullopt,
               WriterEvent::kIdentify};
    const Nanoseconds start = clock().now();
    std::optional<Status> status = coordinator.run(race, limit, std::move(call));
    if (!status.has_value()) {
      auto [outcome, why] = expiry_outcome(race);
      coordinator.log(set_id, step, Participant::kProvider, provider->name(), start, outcome, why);
      return std::nullopt;
    }
    if (status->ok()) {
      coordinator.log(set_id, step, Participant::kProvider, provider->name(), start, "ok", "");
      return Status();
    }
    std::string message =
        "provider '" + provider->name() + "' failed at " + step + ": " + status->to_string();
    coordinator.log(set_id, step, Participant::kProvider, provider->name(), start, "failed",
                    message);
    SetFailure failed;
    failed.participant = Participant::kProvider;
    failed.name = provider->name();
    failed.phase = step;
    failed.status = Status(status->code(), message);
    pending = std::move(failed);
    return pending->status;
  }

  // Turns an expired race into the failure it stands for, naming the culprit.
  SetFailure failure_from(const Expiry& expiry) {
    SetFailure failed;
    switch (expiry.kind) {
      case ExpiryKind::kRequestorAbort:
        failed.participant = Participant::kRequestor;
        failed.phase = current.phase;
        failed.status = Status(ErrorCode::kAborted,
                               "requestor aborted the snapshot set during " + current.phase);
        return failed;
      case ExpiryKind::kFreezeWindow: {
        WriterRecord& record = writers[expiry.writer];
        const bool in_freeze = !record.freeze_done;
        const Nanoseconds window = record.writer->freeze_timeout();
        failed.participant = Participant::kWriter;
        failed.name = record.metadata.name;
        failed.phase = in_freeze ? "freeze" : "thaw";
        failed.writer_failure = WriterFailure::kTimeout;
        std::string why = "freeze window " + duration_text(window) + " exceeded";
        failed.status = Status(ErrorCode::kTimeout, "writer '" + failed.name + "' failed at " +
                                                        failed.phase + ": timeout (" + why + ")");
        std::lock_guard lock(mutex);
        record.state = in_freeze ? WriterState::kFailedAtFreeze : WriterState::kFailedAtThaw;
        record.failure = WriterFailure::kTimeout;
        record.message = why;
        return failed;
      }
      case ExpiryKind::kCommitWindow:
      case ExpiryKind::kCall: {
        const bool commit = expiry.kind == ExpiryKind::kCommitWindow;
        const Nanoseconds limit =
            commit ? coordinator.options.commit_window_max : coordinator.options.event_duration_max;
        std::string why = commit ? "commit window " + duration_text(limit) + " exceeded"
                                 : "no answer within " + duration_text(limit);
        failed.participant = current.participant;
        failed.name = current.name;
        failed.phase = current.phase;
        failed.status =
            Status(ErrorCode::kTimeout, std::string(participant_name(current.participant)) + " '" +
                                            current.name + "' failed at " + current.phase +
                                            ": timeout (" + why + ")");
        if (current.writer.has_value()) {
          failed.writer_failure = commit ? WriterFailure::kTimeout : WriterFailure::kNotResponding;
          std::lock_guard lock(mutex);
          WriterRecord& record = writers[*current.writer];
          record.state = failed_state_for(current.event);
          record.failure = failed.writer_failure;
          record.message = why;
        }
        return failed;
      }
    }
    return failed;
  }

  // How the current call, given up on because `race` expired, is logged: "timeout" when
  // the deadline was its own, "aborted" when the set ended for another reason (the
  // requestor's abort, another writer's freeze window).
  std::pair<std::string, std::string> expiry_outcome(const std::shared_ptr<Race>& race) {
    std::optional<Expiry> expired;
    {
      std::lock_guard lock(race->mutex);
      expired = race->expired;
    }
    if (!expired.has_value())
      return {"timeout", ""};
    switch (expired->kind) {
      case ExpiryKind::kRequestorAbort:
        return {"aborted", "requestor aborted the snapshot set"};
      case ExpiryKind::kFreezeWindow: {
        const WriterRecord& record = writers[expired->writer];
        const std::string why =
            "freeze window " + duration_text(record.writer->freeze_timeout()) + " exceeded";
        if (current.writer == expired->writer)
          return {"timeout", why};
        return {"aborted", "writer '" + record.metadata.name + "': " + why};
      }
      case ExpiryKind::kCommitWindow:
        return {"timeout", "commit window " + duration_text(coordinator.options.commit_window_max) +
                               " exceeded"};
      case ExpiryKind::kCall:
        return {"timeout",
                "no answer within " + duration_text(coordinator.options.event_duration_max)};
    }
    return {"timeout", ""};
  }

  // The failure behind a nullopt from a call through `race`.
  SetFailure expired_failure(const std::shared_ptr<Race>& race) {
    Expiry expiry;
    {
      std::lock_guard lock(race->mutex);
      FF_ASSERT(race->expired.has_value());
      expiry = *race->expired;
    }
    return failure_from(expiry);
  }

  std::optional<SetFailure> pending;

  Status create(const std::shared_ptr<Race>& race, std::vector<std::shared_ptr<HoldToken>>& holds);
  // Ends the set as failed by `failed`. Returns OK, or what the cleanup could not undo
  // (naming each provider); the session's failure() then carries both.
  Status fail_set(const SetFailure& failed, std::vector<std::shared_ptr<HoldToken>>& holds);
  // `failed` as returned to the requestor: its status, plus any cleanup failure.
  static Status reported(const Status& failed, const Status& cleanup) {
    if (cleanup.ok())
      return failed;
    return Status(failed.code(), failed.message() + "; cleanup failed: " + cleanup.message());
  }
  void abort_writers(bool include_completed);
  Status delete_snapshots();
};

}  // namespace freezeframe

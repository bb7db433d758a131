// The snapshot protocol: Coordinator and BackupSession (see coordinator.h and
// docs/protocol.md).
//
// How waiting works: every writer event and provider call runs on a worker thread of its
// own. The driving thread waits on a Race: either the call finishes, or a deadline (a Clock
// timer) or the requestor's abort() marks the race expired. An expired race wins even over
// a call that finished meanwhile, so a writer that overran its window is failed although it
// returned. A call that is given up on keeps running; its thread is kept and joined later
// (at the latest by ~Coordinator), and everything it touches is either shared-owned or
// borrowed for the coordinator's lifetime.
#include "freezeframe/coordinator.h"

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "freezeframe/assert.h"

namespace freezeframe {
namespace {

std::string duration_text(Nanoseconds duration) {
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

}  // namespace

std::string_view participant_name(Participant participant) noexcept {
  switch (participant) {
    case Participant::kWriter:
      return "writer";
    case Participant::kProvider:
      return "provider";
    case Participant::kVolume:
      return "volume";
    case Participant::kRequestor:
      return "requestor";
    case Participant::kCoordinator:
      return "coordinator";
  }
  return "coordinator";
}

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

// ---- Coordinator ----

Coordinator::Coordinator(Clock& clock, CoordinatorOptions options)
    : impl_(std::make_unique<Impl>(clock, std::move(options))) {}

Coordinator::~Coordinator() = default;

Status Coordinator::register_writer(Writer& writer) {
  std::lock_guard lock(impl_->mutex);
  if (std::find(impl_->writers.begin(), impl_->writers.end(), &writer) != impl_->writers.end())
    return Status(ErrorCode::kAlreadyExists, "writer is already registered");
  impl_->writers.push_back(&writer);
  return Status();
}

Status Coordinator::unregister_writer(Writer& writer) {
  std::lock_guard lock(impl_->mutex);
  auto it = std::find(impl_->writers.begin(), impl_->writers.end(), &writer);
  if (it == impl_->writers.end())
    return not_found("writer is not registered");
  impl_->writers.erase(it);
  return Status();
}

Status Coordinator::register_provider(Provider& provider) {
  FF_TRY(impl_->registry.add(provider));
  // Auto-release what a session of a dead process left behind.
  Status first_error;
  for (const SnapshotInfo& info : provider.query()) {
    if ((info.attributes & kAttrNoAutoRelease) != 0)
      continue;
    const Nanoseconds start = impl_->clock.now();
    Status deleted = provider.delete_snapshot(info.id);
    impl_->log(
        info.set_id, "auto-release", Participant::kProvider, provider.name(), start,
        deleted.ok() ? "ok" : "failed",
        "snapshot " + info.id.to_string() + (deleted.ok() ? "" : ": " + deleted.to_string()));
    if (!deleted.ok() && first_error.ok())
      first_error = deleted.with_context("provider '" + provider.name() + "' auto-release");
  }
  return first_error;
}

Status Coordinator::set_default_provider(std::string volume, const Uuid& provider_id) {
  return impl_->registry.set_default(std::move(volume), provider_id);
}

const ProviderRegistry& Coordinator::providers() const {
  return impl_->registry;
}

Status Coordinator::add_volume(HoldableVolume& volume) {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->volumes.emplace(volume.name(), &volume).second)
    return Status(ErrorCode::kAlreadyExists,
                  "a volume named '" + volume.name() + "' is already known to the coordinator");
  return Status();
}

std::unique_ptr<BackupSession> Coordinator::create_session() {
  return std::unique_ptr<BackupSession>(
      new BackupSession(std::make_unique<BackupSession::Impl>(*impl_)));
}

Result<std::unique_ptr<BackupSession>> Coordinator::take_snapshot_set(
    const std::vector<std::string>& volumes, const SnapshotSetOptions& options) {
  std::unique_ptr<BackupSession> session = create_session();
  FF_TRY(session->set_context(options.context));
  FF_TRY(session->set_backup_type(options.backup_type));
  const bool writers = !context_has(options.context, kAttrNoWriters);
  if (writers) {
    auto metadata = session->gather_writer_metadata();
    if (!metadata.ok())
      return metadata.status();
  }
  auto started = session->start_snapshot_set();
  if (!started.ok())
    return started.status();
  for (const std::string& volume : volumes)
    FF_TRY(session->add_to_snapshot_set(volume, options.provider_id));
  FF_TRY(session->prepare_for_backup());
  FF_TRY(session->do_snapshot_set());
  return session;
}

bool Coordinator::set_in_creation() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->creating != nullptr;
}

}  // namespace freezeframe

// CoordinatorSession: the Coordinator's BackupBackend, the state of one session and the
// steps of its snapshot set. Private to the engine. Its methods live in three files:
// coordinator_session.cpp (the requestor's calls), session_calls.cpp (one writer event or
// provider call through the deadline runner, and what an expired deadline means) and
// session_create.cpp (the steps inside do_snapshot_set, and the cleanup of a failed set).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "coordinator_core.h"
#include "freezeframe/backup_session.h"

namespace freezeframe {

namespace protocol_internals {

// A hold of one volume, raised by the driving thread (HoldableVolume::begin_hold) before
// the drain is waited for on the executor: release and fail_set release it if `held`.
struct HoldToken {
  std::mutex mutex;
  bool held = false;
  bool cancelled = false;
};

enum class SessionPhase : std::uint8_t {
  kInitial,
  kSetStarted,
  kPrepared,
  kCreating,
  kCreated,
  kCompleted,
  kFailed,
  kAborted,
};

// The call the driving thread waits on.
struct Current {
  Participant participant = Participant::kCoordinator;
  std::string name;
  ProtocolPhase phase = ProtocolPhase::kInitial;
  std::optional<std::size_t> writer;
  WriterEvent event = WriterEvent::kIdentify;
};

}  // namespace protocol_internals

class CoordinatorSession final : public BackupBackend {
 public:
  using Race = protocol_internals::Race;
  using Expiry = protocol_internals::Expiry;
  using HoldToken = protocol_internals::HoldToken;
  using Holds = std::vector<std::shared_ptr<HoldToken>>;
  using SessionPhase = protocol_internals::SessionPhase;

  explicit CoordinatorSession(CoordinatorCore& core) : coordinator(core) {}
  ~CoordinatorSession() override;

  Status set_context(SnapshotContext context) override;
  Status set_backup_type(BackupType type) override;
  Result<std::vector<WriterMetadata>> gather_writer_metadata() override;
  Result<Uuid> start_snapshot_set() override;
  Status add_to_snapshot_set(const std::string& volume, const Uuid& provider_id) override;
  Status prepare_for_backup() override;
  Status do_snapshot_set() override;
  std::vector<WriterStatus> gather_writer_status() const override;
  Status backup_complete(bool backup_succeeded) override;
  Status abort() override;
  Result<SnapshotSet> snapshot_set() const override;
  Uuid snapshot_set_id() const override;
  std::optional<SetFailure> failure() const override;
  Result<std::unique_ptr<Volume>> open_snapshot(const std::string& volume) override;
  Result<ChangedExtents> changed_extents(const std::string& volume,
                                         std::string_view since) const override;

 private:
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
    bool aborted = false;  // got abort since it was last prepared
    TimerId freeze_timer = 0;
  };
  struct VolumeEntry {
    std::string name;
    ProtocolProvider* provider = nullptr;
    HoldableVolume* hold = nullptr;
  };

  bool writers_involved() const { return !context_has(context, kAttrNoWriters); }
  bool auto_release() const { return !context_has(context, kAttrNoAutoRelease); }
  Clock& clock() { return coordinator.clock; }
  WriterSessionInfo session_info(bool backup_succeeded = false) const;
  void set_writer_state(std::size_t index, WriterState state);
  void release_creation_slot();
  Status phase_error(const char* call, std::string_view expected) const;
  // The provider and id of the set's snapshot of `volume`, for `call`: kBadState before the
  // set is created or after its snapshots were released, kNotFound for a volume not in it.
  Result<std::pair<ProtocolProvider*, Uuid>> set_snapshot(const char* call,
                                                          const std::string& volume) const;
  // The current call, for the report of stalled calls.
  StalledCall label(Nanoseconds start) const;
  // Marks `current` as the call the driving thread is about to wait on.
  void begin(Participant participant, std::string name, ProtocolPhase phase,
             std::optional<std::size_t> writer = std::nullopt,
             WriterEvent event = WriterEvent::kIdentify);

  // session_calls.cpp
  // Writer event `event` on writer `index` through `race`. Returns nullopt when the race
  // expired; else a Status (OK, or the writer's failure, already recorded in `pending`).
  std::optional<Status> writer_event(const std::shared_ptr<Race>& race, std::size_t index,
                                     WriterEvent event, Nanoseconds limit,
                                     const WriterSessionInfo& info);
  // A provider call through `race`, as writer_event.
  std::optional<Status> provider_call(const std::shared_ptr<Race>& race, ProtocolProvider* provider,
                                      ProtocolPhase phase, Nanoseconds limit,
                                      std::function<Status()> call);
  // Turns an expired race into the failure it stands for, naming the culprit.
  SetFailure failure_from(const Expiry& expiry, const std::shared_ptr<Race>& race);
  // The failure behind a nullopt from a call through `race`.
  SetFailure expired_failure(const std::shared_ptr<Race>& race);
  // How the current call, given up on because `race` expired, is logged.
  std::pair<EventOutcome, std::string> expiry_outcome(const std::shared_ptr<Race>& race);
  // Why a window or deadline of `expiry` closed, e.g. "freeze window 20 s exceeded".
  std::string expiry_reason(const Expiry& expiry, const std::string& refusal) const;

  // session_create.cpp
  // Everything between do_snapshot_set's checks and its outcome. Returns OK, or the failure
  // (also left in `pending`).
  Status create(const std::shared_ptr<Race>& race, Holds& holds);
  // Ends the set as failed by `failed`. Returns OK, or what the cleanup could not undo
  // (naming each provider); failure() then carries both.
  Status fail_set(const SetFailure& failed, Holds& holds);
  // fail_set(), then the Status the requestor gets: the failure, plus any cleanup failure.
  Status fail_and_report(const SetFailure& failed, Holds& holds);
  // Releases every hold still raised and marks them cancelled.
  void release_holds(Holds& holds, bool log_release);
  // Abort to every writer that was prepared and has not yet been told.
  void abort_writers(bool include_completed);
  Status abort_providers();
  Status delete_snapshots();

  CoordinatorCore& coordinator;

  mutable std::mutex mutex;  // guards what other threads read: stage, writers, failure_
  SessionPhase stage = SessionPhase::kInitial;
  SnapshotContext context = SnapshotContext::kBackup;
  BackupType backup_type = BackupType::kFull;
  bool metadata_gathered = false;
  bool abort_requested = false;
  std::vector<WriterRecord> writers;
  Uuid set_id;
  std::vector<VolumeEntry> volumes;
  std::vector<ProtocolProvider*> prepared_providers;  // got begin_prepare, in first-use order
  std::vector<std::pair<ProtocolProvider*, SnapshotInfo>> snapshots;
  std::optional<SetFailure> failure_;
  std::shared_ptr<Race> active_race;  // of the prepare_for_backup()/do_snapshot_set() running
  protocol_internals::Current current;
  std::optional<SetFailure> pending;
};

}  // namespace freezeframe

#include "freezeframe/protocol_log.h"

#include <mutex>
#include <nlohmann/json.hpp>

#include "freezeframe/enum_names.h"

namespace freezeframe {
namespace {

constexpr EnumName<ProtocolPhase> kPhaseNames[] = {
    {ProtocolPhase::kIdentify, "identify"},
    {ProtocolPhase::kPrepareBackup, "prepare-backup"},
    {ProtocolPhase::kPrepareSnapshot, "prepare-snapshot"},
    {ProtocolPhase::kFreeze, "freeze"},
    {ProtocolPhase::kThaw, "thaw"},
    {ProtocolPhase::kPostSnapshot, "post-snapshot"},
    {ProtocolPhase::kBackupComplete, "backup-complete"},
    {ProtocolPhase::kPreRestore, "pre-restore"},
    {ProtocolPhase::kPostRestore, "post-restore"},
    {ProtocolPhase::kBackupShutdown, "backup-shutdown"},
    {ProtocolPhase::kAbort, "abort"},
    {ProtocolPhase::kBeginPrepare, "begin-prepare"},
    {ProtocolPhase::kEndPrepare, "end-prepare"},
    {ProtocolPhase::kPreCommit, "pre-commit"},
    {ProtocolPhase::kCommit, "commit"},
    {ProtocolPhase::kPostCommit, "post-commit"},
    {ProtocolPhase::kDeleteSnapshot, "delete-snapshot"},
    {ProtocolPhase::kAutoRelease, "auto-release"},
    {ProtocolPhase::kQuery, "query"},
    {ProtocolPhase::kHoldIo, "hold-io"},
    {ProtocolPhase::kReleaseIo, "release-io"},
    {ProtocolPhase::kInitial, "initial"},
    {ProtocolPhase::kStartSnapshotSet, "start-snapshot-set"},
    {ProtocolPhase::kPrepareForBackup, "prepare-for-backup"},
    {ProtocolPhase::kDoSnapshotSet, "do-snapshot-set"},
    {ProtocolPhase::kSnapshotSet, "snapshot-set"},
    {ProtocolPhase::kBackup, "backup"},
};

constexpr EnumName<Participant> kParticipantNames[] = {
    {Participant::kWriter, "writer"},           {Participant::kProvider, "provider"},
    {Participant::kVolume, "volume"},           {Participant::kRequestor, "requestor"},
    {Participant::kCoordinator, "coordinator"},
};

constexpr EnumName<EventOutcome> kOutcomeNames[] = {
    {EventOutcome::kOk, "ok"},
    {EventOutcome::kFailed, "failed"},
    {EventOutcome::kTimeout, "timeout"},
    {EventOutcome::kAborted, "aborted"},
};

class JsonLinesEventSink final : public EventSink {
 public:
  explicit JsonLinesEventSink(std::ostream& out) : out_(out) {}

  void record(const ProtocolEvent& event) override {
    std::string line = protocol_event_to_json(event);
    std::lock_guard lock(mutex_);
    out_ << line << '\n';
    out_.flush();
  }

 private:
  std::mutex mutex_;
  std::ostream& out_;
};

}  // namespace

std::string_view protocol_phase_name(ProtocolPhase phase) noexcept {
  return name_of(kPhaseNames, phase);
}

std::string_view participant_name(Participant participant) noexcept {
  return name_of(kParticipantNames, participant, "coordinator");
}

std::string_view event_outcome_name(EventOutcome outcome) noexcept {
  return name_of(kOutcomeNames, outcome);
}

std::string protocol_event_to_json(const ProtocolEvent& event) {
  nlohmann::ordered_json line{
      {"set", event.set_id.is_nil() ? std::string() : event.set_id.to_string()},
      {"phase", protocol_phase_name(event.phase)},
      {"participant", participant_name(event.participant)},
      {"name", event.name},
      {"start_ns", event.start.count()},
      {"duration_ns", event.duration.count()},
      {"outcome", event_outcome_name(event.outcome)},
      {"message", event.message}};
  // Replace invalid UTF-8 (a writer's message is free text) instead of throwing.
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::unique_ptr<EventSink> make_json_lines_event_sink(std::ostream& out) {
  return std::make_unique<JsonLinesEventSink>(out);
}

}  // namespace freezeframe

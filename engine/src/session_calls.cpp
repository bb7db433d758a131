// CoordinatorSession: one writer event or provider call through the deadline runner, and
// what an expired race means (see coordinator_session.h and deadline_runner.h).
#include <utility>

#include "coordinator_session.h"
#include "freezeframe/assert.h"

namespace freezeframe {

using protocol_internals::duration_text;
using protocol_internals::ExpiryKind;

namespace {

// The events a writer answers with a WriterResult, and the handler of each.
using Handler = WriterResult (Writer::*)(const WriterSessionInfo&);
constexpr std::pair<WriterEvent, Handler> kHandlers[] = {
    {WriterEvent::kPrepareBackup, &Writer::prepare_backup},
    {WriterEvent::kPrepareSnapshot, &Writer::prepare_snapshot},
    {WriterEvent::kFreeze, &Writer::freeze},
    {WriterEvent::kThaw, &Writer::thaw},
    {WriterEvent::kPostSnapshot, &Writer::post_snapshot},
    {WriterEvent::kBackupComplete, &Writer::backup_complete},
};

WriterResult deliver(Writer& writer, WriterEvent event, const WriterSessionInfo& info) {
  // abort and backup_shutdown cannot fail.
  if (event == WriterEvent::kAbort) {
    writer.abort(info);
    return WriterResult::success();
  }
  if (event == WriterEvent::kBackupShutdown) {
    writer.backup_shutdown(info.snapshot_set_id);
    return WriterResult::success();
  }
  for (const auto& [handled, handler] : kHandlers) {
    if (handled == event)
      return (writer.*handler)(info);
  }
  return WriterResult::fail(WriterFailure::kNonRetryable,
                            "unexpected event " + std::string(writer_event_name(event)));
}

// "<participant> '<name>' failed at <phase>: <what>".
std::string failed_at(Participant participant, const std::string& name, ProtocolPhase phase,
                      const std::string& what) {
  return std::string(participant_name(participant)) + " '" + name + "' failed at " +
         std::string(protocol_phase_name(phase)) + ": " + what;
}

}  // namespace

std::optional<Status> CoordinatorSession::writer_event(const std::shared_ptr<Race>& race,
                                                       std::size_t index, WriterEvent event,
                                                       Nanoseconds limit,
                                                       const WriterSessionInfo& info) {
  WriterRecord& record = writers[index];
  const ProtocolPhase phase = event;
  begin(Participant::kWriter, record.metadata.name, phase, index, event);
  Writer* writer = record.writer;
  auto outcome = std::make_shared<WriterResult>();
  const Nanoseconds start = clock().now();
  std::optional<Status> status =
      coordinator.runner.run(race, limit, label(start), [writer, event, info, outcome]() -> Status {
        *outcome = deliver(*writer, event, info);
        return outcome->ok() ? Status() : Status(ErrorCode::kAborted, outcome->message);
      });
  if (!status.has_value()) {
    auto [logged, why] = expiry_outcome(race);
    coordinator.log(set_id, phase, Participant::kWriter, record.metadata.name, start, logged, why);
    return std::nullopt;
  }
  if (status->ok()) {
    coordinator.log(set_id, phase, Participant::kWriter, record.metadata.name, start,
                    EventOutcome::kOk, "");
    return Status();
  }
  // The call has returned: `outcome` is ours alone.
  const WriterFailure kind = outcome->failure;
  std::string message =
      failed_at(Participant::kWriter, record.metadata.name, phase,
                std::string(writer_failure_name(kind)) +
                    (outcome->message.empty() ? "" : " (" + outcome->message + ")"));
  {
    std::lock_guard lock(mutex);
    record.state = failed_state_for(event);
    record.failure = kind;
    record.message = outcome->message;
  }
  coordinator.log(set_id, phase, Participant::kWriter, record.metadata.name, start,
                  EventOutcome::kFailed, message);
  pending = SetFailure{
      .participant = Participant::kWriter,
      .name = record.metadata.name,
      .phase = phase,
      .writer_failure = kind,
      .status = Status(kind == WriterFailure::kTimeout ? ErrorCode::kTimeout : ErrorCode::kAborted,
                       message)};
  return pending->status;
}

std::optional<Status> CoordinatorSession::provider_call(const std::shared_ptr<Race>& race,
                                                        ProtocolProvider* provider,
                                                        ProtocolPhase phase, Nanoseconds limit,
                                                        std::function<Status()> call) {
  begin(Participant::kProvider, provider->name(), phase);
  const Nanoseconds start = clock().now();
  std::optional<Status> status = coordinator.runner.run(race, limit, label(start), std::move(call));
  if (!status.has_value()) {
    auto [logged, why] = expiry_outcome(race);
    coordinator.log(set_id, phase, Participant::kProvider, provider->name(), start, logged, why);
    return std::nullopt;
  }
  if (status->ok()) {
    coordinator.log(set_id, phase, Participant::kProvider, provider->name(), start,
                    EventOutcome::kOk, "");
    return Status();
  }
  std::string message =
      failed_at(Participant::kProvider, provider->name(), phase, status->to_string());
  coordinator.log(set_id, phase, Participant::kProvider, provider->name(), start,
                  EventOutcome::kFailed, message);
  pending = SetFailure{.participant = Participant::kProvider,
                       .name = provider->name(),
                       .phase = phase,
                       .status = Status(status->code(), message)};
  return pending->status;
}

std::string CoordinatorSession::expiry_reason(const Expiry& expiry,
                                              const std::string& refusal) const {
  switch (expiry.kind) {
    case ExpiryKind::kRequestorAbort:
      return "requestor aborted the snapshot set";
    case ExpiryKind::kFreezeWindow:
      return "freeze window " + duration_text(writers[expiry.writer].writer->freeze_timeout()) +
             " exceeded";
    case ExpiryKind::kCommitWindow:
      return "commit window " + duration_text(coordinator.options.commit_window_max) + " exceeded";
    case ExpiryKind::kCall:
      return "no answer within " + duration_text(coordinator.options.event_duration_max);
    case ExpiryKind::kNoThread:
      return "no thread to run it: " + refusal;
  }
  return "";
}

SetFailure CoordinatorSession::failure_from(const Expiry& expiry,
                                            const std::shared_ptr<Race>& race) {
  std::string refusal;
  {
    std::lock_guard lock(race->mutex);
    refusal = race->refusal;
  }
  const std::string why = expiry_reason(expiry, refusal);
  SetFailure failed;
  switch (expiry.kind) {
    case ExpiryKind::kRequestorAbort:
      failed.participant = Participant::kRequestor;
      failed.phase = current.phase;
      failed.status = Status(ErrorCode::kAborted,
                             why + " during " + std::string(protocol_phase_name(current.phase)));
      return failed;
    case ExpiryKind::kFreezeWindow: {
      WriterRecord& record = writers[expiry.writer];
      const bool in_freeze = !record.freeze_done;
      failed.participant = Participant::kWriter;
      failed.name = record.metadata.name;
      failed.phase = in_freeze ? ProtocolPhase::kFreeze : ProtocolPhase::kThaw;
      failed.writer_failure = WriterFailure::kTimeout;
      // The window may have closed while another participant's call ran (a slow freeze of
      // a later writer, a slow provider): say which, so the writer is not blamed for it.
      std::string detail = why;
      if (current.writer != expiry.writer && current.participant != Participant::kCoordinator)
        detail += " during " + std::string(participant_name(current.participant)) + " '" +
                  current.name + "' " + std::string(protocol_phase_name(current.phase));
      failed.status = Status(
          ErrorCode::kTimeout,
          failed_at(Participant::kWriter, failed.name, failed.phase, "timeout (" + detail + ")"));
      std::lock_guard lock(mutex);
      record.state = in_freeze ? WriterState::kFailedAtFreeze : WriterState::kFailedAtThaw;
      record.failure = WriterFailure::kTimeout;
      record.message = detail;
      return failed;
    }
    case ExpiryKind::kNoThread:
    case ExpiryKind::kCommitWindow:
    case ExpiryKind::kCall: {
      const bool no_thread = expiry.kind == ExpiryKind::kNoThread;
      failed.participant = current.participant;
      failed.name = current.name;
      failed.phase = current.phase;
      failed.status = Status(no_thread ? ErrorCode::kLimitExceeded : ErrorCode::kTimeout,
                             failed_at(current.participant, current.name, current.phase,
                                       no_thread ? why : "timeout (" + why + ")"));
      if (current.writer.has_value()) {
        failed.writer_failure = expiry.kind == ExpiryKind::kCommitWindow
                                    ? WriterFailure::kTimeout
                                    : WriterFailure::kNotResponding;
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

std::pair<EventOutcome, std::string> CoordinatorSession::expiry_outcome(
    const std::shared_ptr<Race>& race) {
  std::optional<Expiry> expired;
  std::string refusal;
  {
    std::lock_guard lock(race->mutex);
    expired = race->expired;
    refusal = race->refusal;
  }
  if (!expired.has_value())
    return {EventOutcome::kTimeout, ""};
  const std::string why = expiry_reason(*expired, refusal);
  switch (expired->kind) {
    case ExpiryKind::kRequestorAbort:
      return {EventOutcome::kAborted, why};
    case ExpiryKind::kFreezeWindow:
      if (current.writer == expired->writer)
        return {EventOutcome::kTimeout, why};
      return {EventOutcome::kAborted,
              "writer '" + writers[expired->writer].metadata.name + "': " + why};
    case ExpiryKind::kNoThread:
      return {EventOutcome::kFailed, why};
    case ExpiryKind::kCommitWindow:
    case ExpiryKind::kCall:
      return {EventOutcome::kTimeout, why};
  }
  return {EventOutcome::kTimeout, ""};
}

SetFailure CoordinatorSession::expired_failure(const std::shared_ptr<Race>& race) {
  std::optional<Expiry> expiry = race->expiry();
  FF_ASSERT(expiry.has_value());
  return failure_from(*expiry, race);
}

}  // namespace freezeframe

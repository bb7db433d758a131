// Every failure of a snapshot set ends the same way: writers thawed or aborted, held I/O
// released, no snapshot left in any provider, and a Status whose code a caller can branch
// on and whose message names the culprit and the phase.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "protocol_rig.h"

namespace freezeframe {
namespace {

using sim::ScriptedAction;
using std::chrono::seconds;
using testing::make_protocol_rig;
using testing::ProtocolRig;
using testing::ProviderScript;
using testing::run_sequence;
using testing::run_sequence_past;
using testing::run_sequence_while;
using testing::state_of;

// Inside a writer event: the requestor aborts the session, as if from another thread.
ScriptedAction abort_session(BackupSession* session) {
  return ScriptedAction::run_inside([session] { session->abort().ignore_error(); });
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs the sequence and has the requestor abort once, on the session's thread, right after
// the event log records the first event `at` accepts.
Status run_aborting_after(ProtocolRig& rig, BackupSession& session,
                          const std::function<bool(const ProtocolEvent&)>& at) {
  bool aborted = false;
  rig.sink->on_record = [&](const ProtocolEvent& event) {
    if (!aborted && at(event)) {
      aborted = true;
      session.abort().ignore_error();
    }
  };
  Status status = run_sequence(rig, session);
  rig.sink->on_record = nullptr;
  EXPECT_TRUE(aborted);
  return status;
}

// What the requestor's abort during creation leaves: the set failed with kAborted, blamed on
// the requestor, cleaned up, and the creation slot free.
void expect_aborted_by_requestor(ProtocolRig& rig, const BackupSession& session,
                                 const Status& status) {
  EXPECT_EQ(status.code(), ErrorCode::kAborted) << status.to_string();
  EXPECT_TRUE(contains(status.message(), "requestor aborted")) << status.message();
  EXPECT_EQ(session.failure()->participant, Participant::kRequestor);
  rig.expect_clean_failure();
  EXPECT_FALSE(rig.coordinator->set_in_creation());
}

struct WriterFailureCase {
  WriterEvent event;
  WriterState state;
  const char* phase;
};

class ProtocolWriterFailure : public ::testing::TestWithParam<WriterFailureCase> {};

TEST_P(ProtocolWriterFailure, FailsTheSetAndCleansUp) {
  const WriterFailureCase& param = GetParam();
  for (std::size_t volume_count : {std::size_t{1}, std::size_t{3}}) {
    auto rig = make_protocol_rig({.volume_count = volume_count});
    rig->add_writer({.name = "app"});
    rig->add_writer({.name = "mail",
                     .actions = {{param.event, ScriptedAction::fail(WriterFailure::kNonRetryable,
                                                                    "scripted failure")}}});
    auto session = rig->coordinator->create_session();
    Status status = run_sequence(*rig, *session);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.code(), ErrorCode::kAborted) << status.to_string();
    const std::string culprit =
        param.event == WriterEvent::kIdentify ? "writer #2" : "writer 'mail'";
    EXPECT_TRUE(contains(status.message(), culprit + " failed at " + param.phase))
        << status.message();
    EXPECT_FALSE(contains(status.message(), "writer writer")) << status.message();
    auto failure = session->failure();
    ASSERT_TRUE(failure.has_value());
    EXPECT_EQ(failure->participant, Participant::kWriter);
    EXPECT_EQ(protocol_phase_name(failure->phase), param.phase);
    if (param.event != WriterEvent::kIdentify) {
      EXPECT_EQ(failure->name, "mail");
      EXPECT_EQ(failure->writer_failure, WriterFailure::kNonRetryable);
      EXPECT_EQ(state_of(*session, "mail"), param.state);
    }
    rig->expect_clean_failure();
    // The creation slot is free again, and the failed session refuses to go on.
    EXPECT_FALSE(rig->coordinator->set_in_creation());
    EXPECT_EQ(session->do_snapshot_set().code(), ErrorCode::kBadState);
    // Writers that were prepared got abort (VSS: not after their post-snapshot), except
    // after a failure at prepare-snapshot, which VSS answers with no abort; there the
    // requestor's abort() (AbortBackup) tells each prepared writer once.
    if (param.event == WriterEvent::kPrepareSnapshot) {
      EXPECT_EQ(rig->writers[0]->aborts(), 0u);
      EXPECT_EQ(rig->writers[1]->aborts(), 0u);
      EXPECT_TRUE(session->abort().ok());
      EXPECT_EQ(rig->writers[0]->aborts(), 1u);
      EXPECT_EQ(rig->writers[1]->aborts(), 1u);
    } else if (param.event != WriterEvent::kIdentify) {
      EXPECT_GE(rig->writers[1]->aborts(), 1);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    EachEvent, ProtocolWriterFailure,
    ::testing::Values(
        WriterFailureCase{WriterEvent::kIdentify, WriterState::kFailedAtIdentify, "identify"},
        WriterFailureCase{WriterEvent::kPrepareBackup, WriterState::kFailedAtPrepareBackup,
                          "prepare-backup"},
        WriterFailureCase{WriterEvent::kPrepareSnapshot, WriterState::kFailedAtPrepareSnapshot,
                          "prepare-snapshot"},
        WriterFailureCase{WriterEvent::kFreeze, WriterState::kFailedAtFreeze, "freeze"},
        WriterFailureCase{WriterEvent::kThaw, WriterState::kFailedAtThaw, "thaw"},
        WriterFailureCase{WriterEvent::kPostSnapshot, WriterState::kFailedAtPostSnapshot,
                          "post-snapshot"}));

TEST(ProtocolFailure, WriterPastItsFreezeWindowFailsTheSet) {
  auto rig = make_protocol_rig({.volume_count = 2});
  rig->add_writer({.name = "app"});
  // A mail-server-like writer that allows 20 s and takes 21 s to freeze.
  rig->add_writer({.name = "mail",
                   .freeze_timeout = seconds(20),
                   .actions = {{WriterEvent::kFreeze, ScriptedAction::stall_for(seconds(21))}}});
  auto session = rig->coordinator->create_session();
  Status status = run_sequence(*rig, *session);
  EXPECT_EQ(status.code(), ErrorCode::kTimeout) << status.to_string();
  EXPECT_EQ(status.message(),
            "writer 'mail' failed at freeze: timeout (freeze window 20 s exceeded)");
  EXPECT_EQ(state_of(*session, "mail"), WriterState::kFailedAtFreeze);
  EXPECT_EQ(session->failure()->writer_failure, WriterFailure::kTimeout);
  rig->expect_clean_failure();
  // The event log tells the same story.
  const std::string log = rig->sink->json_lines();
  EXPECT_TRUE(contains(log, R"("phase":"freeze","participant":"writer","name":"mail")"));
  EXPECT_TRUE(contains(log, R"("outcome":"timeout")"));
  EXPECT_TRUE(contains(log, R"x("outcome":"failed","message":"writer 'mail' failed at freeze: )x"
                            R"x(timeout (freeze window 20 s exceeded)")x"));
}

// Runs the sequence on a rig whose writer "mail" allows 20 s from freeze to thaw and whose
// window closes after its freeze returned, during `call` of another participant: the set
// fails at mail's thaw, and the text names `call`.
void expect_mail_window_closed_during(ProtocolRig& rig, BackupSession& session,
                                      const std::string& call) {
  Status status = run_sequence(rig, session);
  EXPECT_EQ(status.code(), ErrorCode::kTimeout);
  EXPECT_EQ(
      status.message(),
      "writer 'mail' failed at thaw: timeout (freeze window 20 s exceeded during " + call + ")");
  EXPECT_EQ(state_of(session, "mail"), WriterState::kFailedAtThaw);
}

TEST(ProtocolFailure, FrozenWriterWhoseWindowEndsBeforeThawFailsAtThaw) {
  auto rig = make_protocol_rig({.volume_count = 1});
  // "mail" freezes first (front-end) and allows 20 s; "db" (back-end) takes 30 s to freeze,
  // within its own 60 s window but past mail's.
  rig->add_writer({.name = "mail", .freeze_timeout = seconds(20)});
  rig->add_writer({.name = "db",
                   .level = ApplicationLevel::kBackEnd,
                   .actions = {{WriterEvent::kFreeze, ScriptedAction::stall_for(seconds(30))}}});
  auto session = rig->coordinator->create_session();
  // The window closed during db's freeze: the text says so, rather than blame mail's thaw.
  expect_mail_window_closed_during(*rig, *session, "writer 'db' freeze");
  rig->expect_clean_failure();
}

TEST(ProtocolFailure, FreezeWindowEndingDuringAProviderCallNamesThatCall) {
  auto rig = make_protocol_rig({.volume_count = 1});
  rig->add_writer({.name = "mail", .freeze_timeout = seconds(20)});
  // pre-commit runs inside mail's window and takes 30 s of it.
  rig->provider->set_script({.stall_at = "pre-commit", .clock = &rig->clock, .stall = seconds(30)});
  auto session = rig->coordinator->create_session();
  expect_mail_window_closed_during(*rig, *session, "provider 'block-cow' pre-commit");
  auto failure = session->failure();
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->participant, Participant::kWriter);
  EXPECT_EQ(failure->name, "mail");
  EXPECT_EQ(failure->phase, ProtocolPhase::kThaw);
  EXPECT_EQ(failure->writer_failure, WriterFailure::kTimeout);
  // The provider call cut short is logged as aborted because of mail's window, not as its
  // own timeout; mail's thaw never ran.
  const std::string log = rig->sink->json_lines();
  EXPECT_TRUE(
      contains(log, R"x("phase":"pre-commit","participant":"provider","name":"block-cow")x"));
  EXPECT_TRUE(contains(
      log, R"x("outcome":"aborted","message":"writer 'mail': freeze window 20 s exceeded")x"))
      << log;
  EXPECT_EQ(rig->writers[0]->entered(WriterEvent::kThaw), 0u);
  EXPECT_EQ(rig->writers[0]->aborts(), 1u);
  rig->expect_clean_failure();
}

TEST(ProtocolFailure, PrepareSnapshotFailureSendsNoAbortButLaterFailuresDo) {
  // VSS (vss-model.md 2.3): a failure at PrepareForSnapshot produces no Abort; a failure at
  // freeze does, to every prepared writer.
  auto rig = make_protocol_rig({.volume_count = 2});
  rig->add_writer({.name = "app"});
  rig->add_writer(
      {.name = "db",
       .actions = {{WriterEvent::kPrepareSnapshot,
                    ScriptedAction::fail(WriterFailure::kRetryable, "busy compacting")}}});
  auto session = rig->coordinator->create_session();
  Status status = run_sequence(*rig, *session);
  EXPECT_EQ(status.code(), ErrorCode::kAborted);
  EXPECT_EQ(status.message(),
            "writer 'db' failed at prepare-snapshot: retryable (db: busy compacting)");
  EXPECT_EQ(rig->trace.count("app:abort"), 0u);
  EXPECT_EQ(rig->trace.count("db:abort"), 0u);
  EXPECT_EQ(rig->trace.count("provider:abort"), 1u);  // providers still discard the set
  EXPECT_EQ(state_of(*session, "app"), WriterState::kWaitingForFreeze);
  EXPECT_EQ(state_of(*session, "db"), WriterState::kFailedAtPrepareSnapshot);
  rig->expect_clean_failure();
  EXPECT_FALSE(rig->coordinator->set_in_creation());
  // The requestor gives up (AbortBackup): each prepared writer is told once, then no more.
  EXPECT_TRUE(session->abort().ok());
  EXPECT_TRUE(session->abort().ok());
  EXPECT_EQ(rig->writers[0]->aborts(), 1u);
  EXPECT_EQ(rig->writers[1]->aborts(), 1u);
  EXPECT_EQ(state_of(*session, "app"), WriterState::kStable);

  // The same writers, failing at freeze instead: both get abort without being asked.
  auto again = make_protocol_rig({.volume_count = 2});
  again->add_writer({.name = "app"});
  again->add_writer(
      {.name = "db",
       .actions = {{WriterEvent::kFreeze, ScriptedAction::fail(WriterFailure::kRetryable, "no")}}});
  auto second = again->coordinator->create_session();
  EXPECT_EQ(run_sequence(*again, *second).code(), ErrorCode::kAborted);
  EXPECT_EQ(again->writers[0]->aborts(), 1u);
  EXPECT_EQ(again->writers[1]->aborts(), 1u);
  again->expect_clean_failure();
}

TEST(ProtocolFailure, WriterStalledForeverCannotHangTheCoordinator) {
  auto rig = make_protocol_rig({.volume_count = 1});
  auto& stuck = rig->add_stuck_writer("stuck", WriterEvent::kFreeze);
  auto session = rig->coordinator->create_session();
  // Once the freeze runs, simulated time passes the 60 s window.
  Status status = run_sequence_past(*rig, *session, "stuck:freeze", seconds(61));
  EXPECT_EQ(status.code(), ErrorCode::kTimeout);
  EXPECT_EQ(status.message(),
            "writer 'stuck' failed at freeze: timeout (freeze window 60 s exceeded)");
  EXPECT_GE(stuck.aborts(), 1);  // told to abort while its freeze still runs
  rig->expect_clean_failure();
  stuck.release(WriterEvent::kFreeze);
}

TEST(ProtocolFailure, ProviderPastTheCommitWindowFailsTheSet) {
  for (ProviderKind kind : {ProviderKind::kCopyOnWrite, ProviderKind::kRedirectOnWrite}) {
    auto rig = make_protocol_rig({.kind = kind, .volume_count = 3});
    rig->add_writer({.name = "app"});
    rig->provider->set_script({.stall_at = "commit", .clock = &rig->clock, .stall = seconds(11)});
    auto session = rig->coordinator->create_session();
    Status status = run_sequence(*rig, *session);
    EXPECT_EQ(status.code(), ErrorCode::kTimeout);
    EXPECT_EQ(status.message(), "provider '" + rig->provider->name() +
                                    "' failed at commit: timeout (commit window 10 s exceeded)");
    EXPECT_EQ(session->failure()->participant, Participant::kProvider);
    rig->expect_clean_failure();
  }
}

TEST(ProtocolFailure, WriterOverrunningItsAbortLeavesTheOthersTheirs) {
  auto rig = make_protocol_rig({.volume_count = 2});
  // "slow" takes past event_duration_max (180 s) to abort; "app" must still be told.
  auto& slow = rig->add_writer(
      {.name = "slow",
       .actions = {{WriterEvent::kAbort, ScriptedAction::stall_for(seconds(181))}}});
  auto& app = rig->add_writer({.name = "app"});
  rig->provider->set_script({.fail_at = "pre-commit"});
  auto session = rig->coordinator->create_session();
  Status status = run_sequence(*rig, *session);
  EXPECT_EQ(status.code(), ErrorCode::kAborted) << status.to_string();
  EXPECT_EQ(slow.aborts(), 1);
  EXPECT_EQ(app.aborts(), 1);
  rig->expect_clean_failure();
}

TEST(ProtocolFailure, ProviderOverrunningItsAbortLeavesTheOthersTheirs) {
  // Two providers; the first takes past event_duration_max to abort. The second must still
  // abort, so the set's snapshots on its volume are gone.
  auto rig = make_protocol_rig({.volume_count = 2, .provider_count = 2});
  ASSERT_EQ(rig->providers.size(), 2u);
  rig->add_writer(
      {.name = "app",
       .actions = {{WriterEvent::kPostSnapshot,
                    ScriptedAction::fail(WriterFailure::kRetryable, "scripted failure")}}});
  rig->providers[0]->set_script({.stall_at = "abort", .clock = &rig->clock, .stall = seconds(181)});
  auto session = rig->coordinator->create_session();
  Status status = run_sequence(*rig, *session);
  EXPECT_EQ(status.code(), ErrorCode::kAborted) << status.to_string();
  auto entries = rig->trace.entries();
  EXPECT_EQ(std::count(entries.begin(), entries.end(), "provider:abort"), 2);
  rig->expect_clean_failure();
}

TEST(ProtocolFailure, VolumeStillDrainingWhenTheCommitWindowClosesIsReleased) {
  auto rig = make_protocol_rig({.volume_count = 1});
  rig->add_writer({.name = "app"});
  auto& volume = rig->volumes[0];
  // An application write stops inside the base, so the hold cannot drain.
  volume.latch->close();
  std::vector<std::byte> block(4096, std::byte{0x11});
  Status app_write;
  std::thread application([&] { app_write = volume.holdable->write(8192, block); });
  volume.latch->wait_until_stopped();
  auto session = rig->coordinator->create_session();
  Status status = run_sequence_while(*rig, *session, [&] {
    while (!volume.holdable->held())
      std::this_thread::yield();
    rig->clock.advance(seconds(11));  // past the 10 s commit window
  });
  EXPECT_EQ(status.code(), ErrorCode::kTimeout) << status.to_string();
  EXPECT_EQ(status.message(),
            "volume 'vol0' failed at hold-io: timeout (commit window 10 s exceeded)");
  // The failed set let go of the volume although the write is still in flight.
  EXPECT_FALSE(volume.holdable->held());
  volume.latch->open();
  application.join();
  EXPECT_TRUE(app_write.ok());
  rig->expect_clean_failure();
}

TEST(ProtocolFailure, SnapshotsAreDeletedWhenTheProviderAbortFails) {
  auto rig = make_protocol_rig({.volume_count = 2});
  rig->add_writer(
      {.name = "app",
       .actions = {{WriterEvent::kPostSnapshot,
                    ScriptedAction::fail(WriterFailure::kRetryable, "scripted failure")}}});
  // The provider's abort fails without discarding anything: the set's snapshots stay.
  rig->provider->set_script(
      {.fail_at = "abort", .failure = Status(ErrorCode::kIoError, "diff area unreadable")});
  auto session = rig->coordinator->create_session();
  Status status = run_sequence(*rig, *session);
  EXPECT_EQ(status.code(), ErrorCode::kAborted) << status.to_string();
  EXPECT_TRUE(contains(status.message(), "writer 'app' failed at post-snapshot"))
      << status.message();
  EXPECT_TRUE(contains(status.message(), "provider '" + rig->provider->name() + "' abort"))
      << status.message();
  EXPECT_TRUE(contains(status.message(), "diff area unreadable")) << status.message();
  EXPECT_EQ(session->failure()->status.message(), status.message());
  rig->expect_clean_failure();
}

class ProtocolProviderVeto : public ::testing::TestWithParam<const char*> {};

TEST_P(ProtocolProviderVeto, FailsTheSetNamingTheProvider) {
  const std::string step = GetParam();
  auto rig = make_protocol_rig({.volume_count = 3});
  rig->add_writer({.name = "app"});
  rig->provider->set_script(
      {.fail_at = step, .failure = Status(ErrorCode::kNoSpace, "diff area full")});
  auto session = rig->coordinator->create_session();
  Status status = run_sequence(*rig, *session);
  EXPECT_EQ(status.code(), ErrorCode::kNoSpace);
  EXPECT_TRUE(
      contains(status.message(), "provider '" + rig->provider->name() + "' failed at " + step))
      << status.message();
  EXPECT_TRUE(contains(status.message(), "diff area full"));
  rig->expect_clean_failure();
  auto entries = rig->trace.entries();
  EXPECT_NE(std::find(entries.begin(), entries.end(), "provider:abort"), entries.end());
  EXPECT_NE(std::find(entries.begin(), entries.end(), "app:abort"), entries.end());
}

INSTANTIATE_TEST_SUITE_P(EachCall, ProtocolProviderVeto,
                         ::testing::Values("begin-prepare", "end-prepare", "pre-commit", "commit",
                                           "post-commit"));

class ProtocolAbortDuringCreation : public ::testing::TestWithParam<WriterEvent> {};

TEST_P(ProtocolAbortDuringCreation, RequestorAbortFailsTheSet) {
  auto rig = make_protocol_rig({.volume_count = 2});
  auto session = rig->coordinator->create_session();
  rig->add_writer({.name = "app", .actions = {{GetParam(), abort_session(session.get())}}});
  Status status = run_sequence(*rig, *session);
  expect_aborted_by_requestor(*rig, *session, status);
}

INSTANTIATE_TEST_SUITE_P(EachEvent, ProtocolAbortDuringCreation,
                         ::testing::Values(WriterEvent::kPrepareSnapshot, WriterEvent::kFreeze,
                                           WriterEvent::kThaw, WriterEvent::kPostSnapshot));

TEST(ProtocolAbort, AbortWhileIoIsReleasedFailsTheSet) {
  // abort() lands after the last commit returned, while the driving thread releases I/O:
  // the expiry is only seen after the release, and must fail the set, not hang it.
  auto rig = make_protocol_rig({.volume_count = 2});
  rig->add_writer({.name = "app"});
  auto session = rig->coordinator->create_session();
  Status status = run_aborting_after(*rig, *session, [](const ProtocolEvent& event) {
    return event.phase == ProtocolPhase::kReleaseIo;
  });
  expect_aborted_by_requestor(*rig, *session, status);
}

TEST(ProtocolAbort, AbortAfterTheLastStepFailsTheSet) {
  // abort() lands after the last writer's post-snapshot returned, before do_snapshot_set
  // reports the set created: the set must fail and leave no snapshot.
  auto rig = make_protocol_rig({.volume_count = 2});
  rig->add_writer({.name = "app"});
  auto session = rig->coordinator->create_session();
  Status status = run_aborting_after(*rig, *session, [](const ProtocolEvent& event) {
    return event.phase == ProtocolPhase::kPostSnapshot && event.outcome == EventOutcome::kOk;
  });
  expect_aborted_by_requestor(*rig, *session, status);
  EXPECT_EQ(session->snapshot_set().status().code(), ErrorCode::kBadState);
}

TEST(ProtocolAbort, AbortDuringPrepareForBackupIsCleanedUpByTheSessionThread) {
  auto rig = make_protocol_rig({.volume_count = 2});
  auto& app = rig->add_writer(
      {.name = "app",
       .actions = {{WriterEvent::kPrepareBackup, ScriptedAction::block_until_released()}}});
  auto session = rig->coordinator->create_session();
  Status status = run_sequence_while(*rig, *session, [&] {
    EXPECT_TRUE(rig->trace.wait_for("app:prepare-backup")) << "prepare-backup never started";
    EXPECT_TRUE(session->abort().ok());
    // prepare_backup now returns OK, but the set was aborted: it must not go on to be created.
    app.release(WriterEvent::kPrepareBackup);
  });
  EXPECT_EQ(status.code(), ErrorCode::kAborted) << status.to_string();
  EXPECT_TRUE(contains(status.message(), "requestor aborted")) << status.message();
  EXPECT_EQ(session->failure()->participant, Participant::kRequestor);
  EXPECT_EQ(app.aborts(), 1);
  EXPECT_EQ(session->do_snapshot_set().code(), ErrorCode::kBadState);
  EXPECT_FALSE(rig->coordinator->set_in_creation());
  rig->expect_clean_failure();
}

TEST(ProtocolAbort, EventLogShowsTheCallCutShortByAbortAsAborted) {
  auto rig = make_protocol_rig({.volume_count = 1});
  auto session = rig->coordinator->create_session();
  rig->add_writer(
      {.name = "app", .actions = {{WriterEvent::kFreeze, abort_session(session.get())}}});
  Status status = run_sequence(*rig, *session);
  EXPECT_EQ(status.code(), ErrorCode::kAborted) << status.to_string();
  std::istringstream lines(rig->sink->json_lines());
  bool found = false;
  for (std::string line; std::getline(lines, line);) {
    if (!contains(line, R"("phase":"freeze","participant":"writer","name":"app")"))
      continue;
    found = true;
    EXPECT_TRUE(contains(line, R"("outcome":"aborted")")) << line;
    EXPECT_TRUE(contains(line, "requestor aborted")) << line;
  }
  EXPECT_TRUE(found);
}

TEST(ProtocolAbort, BeforeCreationInEachPhase) {
  for (int stop = 0; stop < 4; ++stop) {
    auto rig = make_protocol_rig({.volume_count = 2});
    rig->add_writer({.name = "app"});
    auto session = rig->coordinator->create_session();
    ASSERT_TRUE(session->gather_writer_metadata().ok());
    if (stop >= 1) {
      ASSERT_TRUE(session->start_snapshot_set().ok());
    }
    if (stop >= 2) {
      for (const std::string& volume : rig->volume_names()) {
        ASSERT_TRUE(session->add_to_snapshot_set(volume).ok());
      }
    }
    if (stop >= 3) {
      ASSERT_TRUE(session->prepare_for_backup().ok());
    }
    ASSERT_TRUE(session->abort().ok());
    EXPECT_EQ(session->failure()->participant, Participant::kRequestor);
    EXPECT_EQ(session->do_snapshot_set().code(), ErrorCode::kBadState);
    EXPECT_FALSE(rig->coordinator->set_in_creation());
    if (stop >= 3) {
      EXPECT_EQ(rig->writers[0]->aborts(), 1);
    }
    rig->expect_clean_failure();
  }
}

TEST(ProtocolAbort, AfterCreationDeletesTheSnapshots) {
  auto rig = make_protocol_rig({.volume_count = 2});
  rig->add_writer({.name = "app"});
  auto session = rig->coordinator->take_snapshot_set(rig->volume_names(),
                                                     {.context = SnapshotContext::kAppRollback});
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(rig->snapshot_count(), 2u);
  ASSERT_TRUE((*session)->abort().ok());
  EXPECT_EQ((*session)->backup_complete().code(), ErrorCode::kBadState);
  EXPECT_EQ(rig->writers[0]->aborts(), 1);
  rig->expect_clean_failure();
}

TEST(ProtocolConcurrency, SecondSetInCreationIsBusy) {
  auto rig = make_protocol_rig({.volume_count = 2});
  rig->add_writer({.name = "app"});
  auto first = rig->coordinator->create_session();
  ASSERT_TRUE(first->gather_writer_metadata().ok());
  auto first_id = first->start_snapshot_set();
  ASSERT_TRUE(first_id.ok());
  auto second = rig->coordinator->create_session();
  ASSERT_TRUE(second->gather_writer_metadata().ok());
  auto refused = second->start_snapshot_set();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kBusy);
  EXPECT_TRUE(contains(refused.status().message(), "another snapshot set"));
  EXPECT_TRUE(contains(refused.status().message(), first_id->to_string()));
  auto one_call = rig->coordinator->take_snapshot_set(rig->volume_names());
  EXPECT_EQ(one_call.status().code(), ErrorCode::kBusy);
  // The first set completes; then another may start.
  for (const std::string& volume : rig->volume_names())
    ASSERT_TRUE(first->add_to_snapshot_set(volume).ok());
  ASSERT_TRUE(first->prepare_for_backup().ok());
  ASSERT_TRUE(first->do_snapshot_set().ok());
  auto third = rig->coordinator->take_snapshot_set({"vol0"});
  ASSERT_TRUE(third.ok()) << third.status().to_string();
  // Destroying a session whose set is in creation frees the slot too.
  ASSERT_TRUE((*third)->backup_complete().ok());
  {
    auto abandoned = rig->coordinator->create_session();
    ASSERT_TRUE(abandoned->gather_writer_metadata().ok());
    ASSERT_TRUE(abandoned->start_snapshot_set().ok());
    EXPECT_TRUE(rig->coordinator->set_in_creation());
  }
  EXPECT_FALSE(rig->coordinator->set_in_creation());
}

TEST(ProtocolSelection, UnknownVolumeOrRefusingProviderIsAClearError) {
  auto rig = make_protocol_rig({.volume_count = 1});
  auto session = rig->coordinator->create_session();
  ASSERT_TRUE(session->gather_writer_metadata().ok());
  ASSERT_TRUE(session->start_snapshot_set().ok());
  EXPECT_EQ(session->add_to_snapshot_set("nope").code(), ErrorCode::kNotFound);
  EXPECT_EQ(session->add_to_snapshot_set("vol0", Uuid::from_name("no such provider")).code(),
            ErrorCode::kNotFound);
  ASSERT_TRUE(session->add_to_snapshot_set("vol0", rig->provider->id()).ok());
  EXPECT_EQ(session->add_to_snapshot_set("vol0").code(), ErrorCode::kAlreadyExists);

  // A provider that serves other volumes refuses vol0, naming both.
  auto other = BlockSnapshotAdapter::create("other", ProviderKind::kRedirectOnWrite);
  ProviderRegistry registry;
  ASSERT_TRUE(registry.add(*rig->provider).ok());
  ASSERT_TRUE(registry.add(*other).ok());
  EXPECT_EQ(registry.add(*other).code(), ErrorCode::kAlreadyExists);
  auto refused = registry.select("vol0", other->id());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(refused.status().message(), "provider 'other' does not support volume 'vol0'");
  EXPECT_EQ(registry.set_default("vol0", other->id()).code(), ErrorCode::kUnsupported);
  auto chosen = registry.select("vol0");
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(*chosen, rig->provider.get());
  auto by_name = registry.find("other");
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(*by_name, other.get());
  EXPECT_EQ(registry.select("vol9").status().code(), ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace freezeframe

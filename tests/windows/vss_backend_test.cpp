// The VSS requestor (VssBackend behind a BackupSession) over a fake IVssBackupComponents:
// the call order VSS expects, every failure path, and that each session ends with nothing
// left (AbortBackup where VSS wants it, shadow copies deleted, every COM reference released).
// Time is a SimClock that the backend's poll advances: a 5-minute deadline costs nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "fake_vss.h"
#include "freezeframe/file_volume.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/vss.h"
#include "freezeframe/vss_errors.h"
#include "temp_path.h"

namespace freezeframe {
namespace {

using testing::FakeVss;
using testing::FakeWriter;
using Calls = std::vector<std::string>;

FakeWriter mail_writer() {
  FakeWriter writer;
  writer.name = L"mail";
  writer.class_id =
      GUID{0x76fe1ac4, 0x15f7, 0x4bcd, {0x98, 0x7e, 0x8e, 0x1a, 0xcb, 0x46, 0x2f, 0xb7}};
  writer.instance_id = GUID{0x11111111, 0x2222, 0x3333, {4, 4, 4, 4, 4, 4, 4, 4}};
  writer.component = L"store";
  writer.file_path = L"d:\\mail\\db";
  writer.file_spec = L"*.edb";
  return writer;
}

const Calls kStartCalls = {"CreateVssBackupComponents", "InitializeForBackup"};
const Calls kWriterStatusCalls = {"GatherWriterStatus", "GetWriterStatusCount",
                                  "GetWriterStatus(0)", "FreeWriterStatus"};

bool ends_with(const Calls& calls, const Calls& tail) {
  return calls.size() >= tail.size() && std::equal(tail.rbegin(), tail.rend(), calls.rbegin());
}

Calls concat(std::initializer_list<Calls> parts) {
  Calls all;
  for (const Calls& part : parts)
    all.insert(all.end(), part.begin(), part.end());
  return all;
}

class VssBackendTest : public ::testing::Test {
 protected:
  VssBackendTest() { vss.script.writers.push_back(mail_writer()); }

  windows::VssBackendOptions options() {
    windows::VssBackendOptions result;
    result.clock = &clock;
    result.do_snapshot_set_duration_max = std::chrono::minutes(5);
    result.async_duration_max = std::chrono::minutes(10);
    result.poll_interval = std::chrono::milliseconds(10);
    result.pause = [this](Nanoseconds interval) { clock.advance(interval); };
    return result;
  }

  std::unique_ptr<BackupSession> make_session() {
    auto backend = windows::VssBackend::create(vss.api(), options());
    EXPECT_TRUE(backend.ok()) << backend.status().to_string();
    if (!backend.ok())
      return nullptr;
    return std::make_unique<BackupSession>(std::move(backend).value());
  }

  // Up to a created set on volume C:\ with the writer context.
  void create_set(BackupSession& session) {
    ASSERT_TRUE(session.set_context(SnapshotContext::kBackup).ok());
    ASSERT_TRUE(session.gather_writer_metadata().ok());
    ASSERT_TRUE(session.start_snapshot_set().ok());
    ASSERT_TRUE(session.add_to_snapshot_set("C:\\").ok());
    ASSERT_TRUE(session.prepare_for_backup().ok());
    Status created = session.do_snapshot_set();
    ASSERT_TRUE(created.ok()) << created.to_string();
  }

  // Nothing left: every fake object released exactly as often as referenced, no shadow copy
  // left undeleted, every snapshot property freed.
  void expect_nothing_left() {
    EXPECT_EQ(vss.live_objects, 0);
    EXPECT_EQ(vss.releases, vss.objects_made + vss.add_refs);
    EXPECT_EQ(vss.live_snapshots, 0);
    EXPECT_EQ(vss.properties_out, 0);
    for (const std::string& call : vss.calls)
      EXPECT_EQ(call.rfind("LEAK", 0), std::string::npos) << call;
  }

  FakeVss vss;
  sim::SimClock clock;
};

TEST_F(VssBackendTest, WholeBackupMakesVssCallsInOrder) {
  testing::TempPath image("shadow");
  {
    FileVolumeCreateOptions create;
    create.size_bytes = 1 << 20;
    auto volume = FileVolume::create(image.str(), create);
    ASSERT_TRUE(volume.ok()) << volume.status().to_string();
    std::vector<std::byte> data(512, std::byte{0x5a});
    ASSERT_TRUE((*volume)->write(4096, data).ok());
    ASSERT_TRUE((*volume)->flush().ok());
  }
  vss.script.devices[L"C:\\"] = windows::widen(image.str());
  {
    auto session = make_session();
    ASSERT_NE(session, nullptr);
    ASSERT_TRUE(session->set_context(SnapshotContext::kBackup).ok());
    ASSERT_TRUE(session->set_backup_type(BackupType::kCopy).ok());
    auto writers = session->gather_writer_metadata();
    ASSERT_TRUE(writers.ok()) << writers.status().to_string();
    ASSERT_EQ(writers->size(), 1u);
    const WriterMetadata& mail = writers->front();
    EXPECT_EQ(mail.name, "mail");
    EXPECT_EQ(mail.class_id.to_string(), "76fe1ac4-15f7-4bcd-987e-8e1acb462fb7");
    EXPECT_EQ(mail.usage, WriterUsage::kUserData);
    EXPECT_EQ(mail.source, WriterSource::kTransactedDatabase);
    EXPECT_EQ(mail.restore_method, RestoreMethod::kRestoreIfNotThere);
    ASSERT_EQ(mail.components.size(), 1u);
    EXPECT_EQ(mail.components[0].name, "store");
    ASSERT_EQ(mail.components[0].files.size(), 1u);
    EXPECT_EQ(mail.components[0].files[0].path, "d:\\mail\\db");
    EXPECT_EQ(mail.components[0].files[0].filespec, "*.edb");
    EXPECT_EQ(mail.volumes(), std::vector<std::string>{"D:\\"});

    auto set_id = session->start_snapshot_set();
    ASSERT_TRUE(set_id.ok());
    EXPECT_EQ(set_id->to_string(), "5e7f00d1-1111-4222-0102-030405060708");
    ASSERT_TRUE(session->add_to_snapshot_set("C:").ok());  // the backslash is added
    EXPECT_EQ(session->add_to_snapshot_set("C:\\").code(), ErrorCode::kAlreadyExists);
    ASSERT_TRUE(session->prepare_for_backup().ok());
    Status created = session->do_snapshot_set();
    ASSERT_TRUE(created.ok()) << created.to_string();

    auto set = session->snapshot_set();
    ASSERT_TRUE(set.ok());
    ASSERT_EQ(set->snapshots.size(), 1u);
    EXPECT_EQ(set->snapshots[0].origin_name, "C:");
    EXPECT_EQ(set->snapshots[0].set_id, *set_id);
    EXPECT_EQ(set->snapshots[0].attributes, 0x20000u);
    EXPECT_EQ(set->snapshots[0].created, std::chrono::seconds(1767225600));
    ASSERT_EQ(session->gather_writer_status().size(), 1u);
    EXPECT_EQ(session->gather_writer_status()[0].state, WriterState::kWaitingForBackupComplete);

    auto snapshot = session->open_snapshot("C:\\");
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().to_string();
    EXPECT_TRUE((*snapshot)->read_only());
    std::vector<std::byte> read(512);
    ASSERT_TRUE((*snapshot)->read(4096, read).ok());
    EXPECT_EQ(read[0], std::byte{0x5a});
    std::vector<std::byte> write(512);
    EXPECT_EQ((*snapshot)->write(0, write).code(), ErrorCode::kReadOnly);
    snapshot->reset();
    EXPECT_EQ(session->changed_extents("C:\\", "").status().code(), ErrorCode::kUnsupported);

    ASSERT_TRUE(session->backup_complete().ok());
    EXPECT_EQ(session->open_snapshot("C:\\").status().code(), ErrorCode::kBadState);
  }
  const Calls expected =
      concat({kStartCalls,
              {"SetContext(0x0)", "SetBackupState(0,0,5,0)", "GatherWriterMetadata",
               "GetWriterMetadataCount", "GetWriterMetadata(0)", "FreeWriterMetadata",
               "StartSnapshotSet", "AddToSnapshotSet(C:\\)", "PrepareForBackup"},
              kWriterStatusCalls,
              {"DoSnapshotSet"},
              kWriterStatusCalls,
              {"GetSnapshotProperties", "VssFreeSnapshotProperties", "BackupComplete"},
              kWriterStatusCalls,
              {"DeleteSnapshots(set,force)", "Release"}});
  EXPECT_EQ(vss.calls, expected);
  expect_nothing_left();
}

TEST_F(VssBackendTest, WriterlessContextSkipsWriterCallsAndDefaultsToAFullBackup) {
  {
    auto session = make_session();
    ASSERT_NE(session, nullptr);
    ASSERT_TRUE(session->set_context(SnapshotContext::kFileShareBackup).ok());
    auto writers = session->gather_writer_metadata();
    ASSERT_TRUE(writers.ok());
    EXPECT_TRUE(writers->empty());
    ASSERT_TRUE(session->start_snapshot_set().ok());
    ASSERT_TRUE(session->add_to_snapshot_set("\\\\?\\Volume{0000-1}\\").ok());
    ASSERT_TRUE(session->do_snapshot_set().ok());
    ASSERT_TRUE(session->backup_complete().ok());
  }
  const Calls expected = concat(
      {kStartCalls,
       {"SetContext(0x10)", "SetBackupState(0,0,1,0)", "StartSnapshotSet",
        "AddToSnapshotSet(\\\\?\\Volume{0000-1}\\)", "DoSnapshotSet", "GetSnapshotProperties",
        "VssFreeSnapshotProperties", "DeleteSnapshots(set,force)", "Release"}});
  EXPECT_EQ(vss.calls, expected);
  expect_nothing_left();
}

TEST_F(VssBackendTest, PersistentContextKeepsItsShadowCopiesAfterBackupComplete) {
  {
    auto session = make_session();
    ASSERT_NE(session, nullptr);
    ASSERT_TRUE(session->set_context(SnapshotContext::kAppRollback).ok());
    ASSERT_TRUE(session->gather_writer_metadata().ok());
    ASSERT_TRUE(session->start_snapshot_set().ok());
    ASSERT_TRUE(session->add_to_snapshot_set("C:\\").ok());
    ASSERT_TRUE(session->prepare_for_backup().ok());
    ASSERT_TRUE(session->do_snapshot_set().ok());
    ASSERT_TRUE(session->backup_complete().ok());
  }
  EXPECT_TRUE(vss.called("SetContext(0x9)"));
  EXPECT_FALSE(vss.called("DeleteSnapshots(set,force)"));
  EXPECT_EQ(vss.live_snapshots, 1);  // persistent: VSS keeps it, as asked
  vss.live_snapshots = 0;
  expect_nothing_left();
}

TEST_F(VssBackendTest, SessionDestroyedWithoutBackupCompleteDeletesAnAutoReleaseSet) {
  {
    auto session = make_session();
    ASSERT_NE(session, nullptr);
    create_set(*session);
  }
  EXPECT_FALSE(vss.called("BackupComplete"));
  EXPECT_FALSE(vss.called("AbortBackup"));
  EXPECT_EQ(vss.calls.back(), "Release");
  EXPECT_EQ(vss.calls[vss.calls.size() - 2], "DeleteSnapshots(set,force)");
  expect_nothing_left();
}

TEST_F(VssBackendTest, WriterFailedAtFreezeFailsTheSetAndCleansUp) {
  vss.script.writers[0].fails_at = "DoSnapshotSet";
  vss.script.writers[0].failed_state = VSS_WS_FAILED_AT_FREEZE;
  vss.script.writers[0].failure = static_cast<HRESULT>(vss::hr::kWriterErrorRetryable);
  {
    auto session = make_session();
    ASSERT_NE(session, nullptr);
    ASSERT_TRUE(session->gather_writer_metadata().ok());
    ASSERT_TRUE(session->start_snapshot_set().ok());
    ASSERT_TRUE(session->add_to_snapshot_set("C:\\").ok());
    ASSERT_TRUE(session->prepare_for_backup().ok());
    Status created = session->do_snapshot_set();
    EXPECT_EQ(created.code(), ErrorCode::kAborted);
    EXPECT_EQ(created.message(),
              "writer 'mail' failed at freeze: VSS_E_WRITERERROR_RETRYABLE (0x800423F3): the "
              "writer failed; retry as is");
    auto failure = session->failure();
    ASSERT_TRUE(failure.has_value());
    EXPECT_EQ(failure->participant, Participant::kWriter);
    EXPECT_EQ(failure->name, "mail");
    EXPECT_EQ(failure->phase, ProtocolPhase::kFreeze);
    EXPECT_EQ(failure->writer_failure, WriterFailure::kRetryable);
    auto status = session->gather_writer_status();
    ASSERT_EQ(status.size(), 1u);
    EXPECT_EQ(status[0].state, WriterState::kFailedAtFreeze);
    EXPECT_EQ(session->snapshot_set().status().code(), ErrorCode::kBadState);
    EXPECT_EQ(session->open_snapshot("C:\\").status().code(), ErrorCode::kBadState);
    EXPECT_TRUE(session->abort().ok());  // as VSS's AbortBackup after a failed set: done already
  }
  const Calls tail = {"AbortBackup", "DeleteSnapshots(set,force)", "Release"};
  EXPECT_TRUE(ends_with(vss.calls, tail)) << ::testing::PrintToString(vss.calls);
  EXPECT_EQ(vss.count("AbortBackup"), 1);
  EXPECT_FALSE(vss.called("GetSnapshotProperties"));
  expect_nothing_left();
}

TEST_F(VssBackendTest, WriterTimeoutAtThawIsATimeout) {
  vss.script.writers[0].fails_at = "DoSnapshotSet";
  vss.script.writers[0].failed_state = VSS_WS_FAILED_AT_THAW;
  vss.script.writers[0].failure = static_cast<HRESULT>(vss::hr::kWriterErrorTimeout);
  {
    auto session = make_session();
    ASSERT_NE(session, nullptr);
    ASSERT_TRUE(session->gather_writer_metadata().ok());
    ASSERT_TRUE(session->start_snapshot_set().ok());
    ASSERT_TRUE(session->add_to_snapshot_set("C:\\").ok());
    ASSERT_TRUE(session->prepare_for_backup().ok());
    Status created = session->do_snapshot_set();
    EXPECT_EQ(created.code(), ErrorCode::kTimeout);
    EXPECT_NE(created.message().find("writer 'mail' failed at thaw: VSS_E_WRITERERROR_TIMEOUT"),
              std::string::npos);
    EXPECT_EQ(session->failure()->writer_failure, WriterFailure::kTimeout);
  }
  EXPECT_EQ(vss.count("AbortBackup"), 1);
  EXPECT_EQ(vss.count("DeleteSnapshots(set,force)"), 1);
  expect_nothing_left();
}

TEST_F(VssBackendTest, WriterFailedAtPrepareBackupAbortsWithoutSnapshotsToDelete) {
  vss.script.writers[0].fails_at = "PrepareForBackup";
  vss.script.writers[0].failed_state = VSS_WS_FAILED_AT_PREPARE_BACKUP;
  vss.script.writers[0].failure = static_cast<HRESULT>(vss::hr::kWriterErrorNonRetryable);
  {
    auto session = make_session();
    ASSERT_NE(session, nullptr);
    ASSERT_TRUE(session->gather_writer_metadata().ok());
    ASSERT_TRUE(session->start_snapshot_set().ok());
    ASSERT_TRUE(session->add_to_snapshot_set("C:\\").ok());
    Status prepared = session->prepare_for_backup();
    EXPECT_EQ(prepared.code(), ErrorCode::kAborted);
    EXPECT_NE(prepared.message().find("writer 'mail' failed at prepare-backup"), std::string::npos);
    EXPECT_EQ(session->do_snapshot_set().code(), ErrorCode::kBadState);
  }
  EXPECT_EQ(vss.count("AbortBackup"), 1);
  EXPECT_FALSE(vss.called("DoSnapshotSet"));
  EXPECT_FALSE(vss.called("DeleteSnapshots(set,force)"));
  expect_nothing_left();
}

TEST_F(VssBackendTest, SnapshotSetInProgressIsBusyAndTheSessionCanRetry) {
  vss.script.returns["StartSnapshotSet"] = static_cast<HRESULT>(vss::hr::kSnapshotSetInProgress);
  {
    auto session = make_session();
    ASSERT_NE(session, nullptr);
    ASSERT_TRUE(session->gather_writer_metadata().ok());
    auto started = session->start_snapshot_set();
    ASSERT_FALSE(started.ok());
    EXPECT_EQ(started.status().code(), ErrorCode::kBusy);
    EXPECT_EQ(started.status().message(),
              "StartSnapshotSet returned VSS_E_SNAPSHOT_SET_IN_PROGRESS (0x80042316): another "
              "shadow copy creation is in progress; retry later");
    EXPECT_FALSE(session->failure().has_value());
    vss.script.returns.erase("StartSnapshotSet");
    ASSERT_TRUE(session->start_snapshot_set().ok());
  }
  EXPECT_EQ(vss.count("StartSnapshotSet"), 2);
  // Before PrepareForBackup VSS wants no AbortBackup: releasing the object is the cleanup.
  EXPECT_FALSE(vss.called("AbortBackup"));
  EXPECT_EQ(vss.calls.back(), "Release");
  expect_nothing_left();
}

TEST_F(VssBackendTest, DoSnapshotSetPastItsDeadlineIsCancelledAndAborted) {
  vss.script.never_finish.insert("DoSnapshotSet");
  {
    auto session = make_session();
    ASSERT_NE(session, nullptr);
    ASSERT_TRUE(session->gather_writer_metadata().ok());
    ASSERT_TRUE(session->start_snapshot_set().ok());
    ASSERT_TRUE(session->add_to_snapshot_set("C:\\").ok());
    ASSERT_TRUE(session->prepare_for_backup().ok());
    const Nanoseconds start = clock.now();
    Status created = session->do_snapshot_set();
    EXPECT_EQ(created.code(), ErrorCode::kTimeout);
    EXPECT_EQ(created.message(), "DoSnapshotSet did not finish within 300 s; cancelled");
    EXPECT_GE(clock.now() - start, std::chrono::minutes(5));
    EXPECT_LE(clock.now() - start, std::chrono::minutes(5) + std::chrono::milliseconds(20));
    auto failure = session->failure();
    ASSERT_TRUE(failure.has_value());
    EXPECT_EQ(failure->participant, Participant::kCoordinator);
    EXPECT_EQ(failure->phase, ProtocolPhase::kDoSnapshotSet);
  }
  const Calls tail = {"Cancel(DoSnapshotSet)", "AbortBackup", "DeleteSnapshots(set,force)",
                      "Release"};
  EXPECT_TRUE(ends_with(vss.calls, tail)) << ::testing::PrintToString(vss.calls);
  expect_nothing_left();
}

TEST_F(VssBackendTest, AbortFromTheRequestorDuringDoSnapshotSetCancelsAndAborts) {
  std::unique_ptr<BackupSession> session = make_session();
  ASSERT_NE(session, nullptr);
  vss.script.never_finish.insert("DoSnapshotSet");
  int polls = 0;
  vss.script.on_poll = [&](const std::string& call) {
    // Another thread's abort(), at the third poll.
    if (call == "DoSnapshotSet" && ++polls == 3) {
      EXPECT_TRUE(session->abort().ok());
    }
  };
  ASSERT_TRUE(session->gather_writer_metadata().ok());
  ASSERT_TRUE(session->start_snapshot_set().ok());
  ASSERT_TRUE(session->add_to_snapshot_set("C:\\").ok());
  ASSERT_TRUE(session->prepare_for_backup().ok());
  Status created = session->do_snapshot_set();
  EXPECT_EQ(created.code(), ErrorCode::kAborted);
  EXPECT_EQ(created.message(), "requestor aborted the snapshot set during DoSnapshotSet");
  EXPECT_EQ(session->failure()->participant, Participant::kRequestor);
  EXPECT_EQ(polls, 3);
  session.reset();
  const Calls tail = {"Cancel(DoSnapshotSet)", "AbortBackup", "DeleteSnapshots(set,force)",
                      "Release"};
  EXPECT_TRUE(ends_with(vss.calls, tail)) << ::testing::PrintToString(vss.calls);
  expect_nothing_left();
}

TEST_F(VssBackendTest, AbortDuringPrepareForBackupCancelsItAndAbortsTheWriters) {
  std::unique_ptr<BackupSession> session = make_session();
  ASSERT_NE(session, nullptr);
  vss.script.never_finish.insert("PrepareForBackup");
  vss.script.on_poll = [&](const std::string& call) {
    if (call == "PrepareForBackup") {
      EXPECT_TRUE(session->abort().ok());  // another thread's, while the step runs
    }
  };
  ASSERT_TRUE(session->gather_writer_metadata().ok());
  ASSERT_TRUE(session->start_snapshot_set().ok());
  ASSERT_TRUE(session->add_to_snapshot_set("C:\\").ok());
  Status prepared = session->prepare_for_backup();
  EXPECT_EQ(prepared.code(), ErrorCode::kAborted);
  EXPECT_EQ(prepared.message(), "requestor aborted the snapshot set during PrepareForBackup");
  EXPECT_EQ(session->failure()->phase, ProtocolPhase::kPrepareForBackup);
  EXPECT_EQ(session->do_snapshot_set().code(), ErrorCode::kBadState);
  session.reset();
  // The writers may have seen PrepareForBackup: they get AbortBackup. No set was created.
  const Calls tail = {"Cancel(PrepareForBackup)", "AbortBackup", "Release"};
  EXPECT_TRUE(ends_with(vss.calls, tail)) << ::testing::PrintToString(vss.calls);
  EXPECT_FALSE(vss.called("DeleteSnapshots(set,force)"));
  expect_nothing_left();
}

TEST_F(VssBackendTest, AbortAfterPrepareForBackupCallsAbortBackup) {
  {
    auto session = make_session();
    ASSERT_NE(session, nullptr);
    ASSERT_TRUE(session->gather_writer_metadata().ok());
    ASSERT_TRUE(session->start_snapshot_set().ok());
    ASSERT_TRUE(session->add_to_snapshot_set("C:\\").ok());
    ASSERT_TRUE(session->prepare_for_backup().ok());
    EXPECT_TRUE(session->abort().ok());
    EXPECT_EQ(session->failure()->participant, Participant::kRequestor);
    EXPECT_EQ(session->do_snapshot_set().code(), ErrorCode::kBadState);
  }
  EXPECT_EQ(vss.count("AbortBackup"), 1);
  EXPECT_FALSE(vss.called("DoSnapshotSet"));
  EXPECT_EQ(vss.calls.back(), "Release");
  expect_nothing_left();
}

TEST_F(VssBackendTest, AbortAfterTheSetWasCreatedDeletesIt) {
  {
    auto session = make_session();
    ASSERT_NE(session, nullptr);
    create_set(*session);
    EXPECT_TRUE(session->abort().ok());
    EXPECT_EQ(session->backup_complete().code(), ErrorCode::kBadState);
  }
  const Calls tail = {"AbortBackup", "DeleteSnapshots(set,force)", "Release"};
  EXPECT_TRUE(ends_with(vss.calls, tail)) << ::testing::PrintToString(vss.calls);
  expect_nothing_left();
}

TEST_F(VssBackendTest, AccessDeniedFromDoSnapshotSetNamesTheCallAndCleansUp) {
  vss.script.async_results["DoSnapshotSet"] = static_cast<HRESULT>(vss::hr::kAccessDenied);
  {
    auto session = make_session();
    ASSERT_NE(session, nullptr);
    ASSERT_TRUE(session->gather_writer_metadata().ok());
    ASSERT_TRUE(session->start_snapshot_set().ok());
    ASSERT_TRUE(session->add_to_snapshot_set("C:\\").ok());
    ASSERT_TRUE(session->prepare_for_backup().ok());
    Status created = session->do_snapshot_set();
    EXPECT_EQ(created.code(), ErrorCode::kIoError);
    EXPECT_EQ(created.message(),
              "DoSnapshotSet returned E_ACCESSDENIED (0x80070005): access denied (an "
              "administrator or backup operator is needed); run it from an elevated process");
    EXPECT_EQ(session->failure()->participant, Participant::kProvider);
  }
  EXPECT_EQ(vss.count("AbortBackup"), 1);
  EXPECT_EQ(vss.count("DeleteSnapshots(set,force)"), 1);
  expect_nothing_left();
}

TEST_F(VssBackendTest, AccessDeniedAtInitializationFailsCreateAndReleasesTheObject) {
  vss.script.returns["InitializeForBackup"] = static_cast<HRESULT>(vss::hr::kAccessDenied);
  auto backend = windows::VssBackend::create(vss.api(), options());
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), ErrorCode::kIoError);
  EXPECT_NE(backend.status().message().find("InitializeForBackup returned E_ACCESSDENIED"),
            std::string::npos);
  EXPECT_EQ(vss.calls, concat({kStartCalls, {"Release"}}));
  expect_nothing_left();
}

TEST_F(VssBackendTest, FlushWritesTimeoutFromDoSnapshotSetIsATimeoutWithItsMeaning) {
  vss.script.async_results["DoSnapshotSet"] = static_cast<HRESULT>(vss::hr::kFlushWritesTimeout);
  {
    auto session = make_session();
    ASSERT_NE(session, nullptr);
    ASSERT_TRUE(session->gather_writer_metadata().ok());
    ASSERT_TRUE(session->start_snapshot_set().ok());
    ASSERT_TRUE(session->add_to_snapshot_set("C:\\").ok());
    ASSERT_TRUE(session->prepare_for_backup().ok());
    Status created = session->do_snapshot_set();
    EXPECT_EQ(created.code(), ErrorCode::kTimeout);
    EXPECT_EQ(created.message(),
              "DoSnapshotSet returned VSS_E_FLUSH_WRITES_TIMEOUT (0x80042313): the system could "
              "not flush I/O writes");
  }
  EXPECT_EQ(vss.count("AbortBackup"), 1);
  expect_nothing_left();
}

TEST_F(VssBackendTest, FailedWriterMetadataGatheringFailsTheSessionWithoutAbortBackup) {
  vss.script.async_results["GatherWriterMetadata"] = static_cast<HRESULT>(0x80042318);
  {
    auto session = make_session();
    ASSERT_NE(session, nullptr);
    auto writers = session->gather_writer_metadata();
    ASSERT_FALSE(writers.ok());
    EXPECT_EQ(writers.status().code(), ErrorCode::kIoError);
    EXPECT_NE(writers.status().message().find("VSS_E_WRITER_INFRASTRUCTURE"), std::string::npos);
    EXPECT_EQ(session->start_snapshot_set().status().code(), ErrorCode::kBadState);
  }
  EXPECT_FALSE(vss.called("AbortBackup"));
  expect_nothing_left();
}

TEST_F(VssBackendTest, OutOfOrderCallsAreBadStateAndReachNoVss) {
  {
    auto session = make_session();
    ASSERT_NE(session, nullptr);
    EXPECT_EQ(session->start_snapshot_set().status().code(), ErrorCode::kBadState);
    EXPECT_EQ(session->prepare_for_backup().code(), ErrorCode::kBadState);
    EXPECT_EQ(session->do_snapshot_set().code(), ErrorCode::kBadState);
    EXPECT_EQ(session->backup_complete().code(), ErrorCode::kBadState);
    EXPECT_EQ(session->add_to_snapshot_set("C:\\").code(), ErrorCode::kBadState);
    EXPECT_EQ(session->open_snapshot("C:\\").status().code(), ErrorCode::kBadState);
  }
  EXPECT_EQ(vss.calls, concat({kStartCalls, {"Release"}}));
  expect_nothing_left();
}

TEST_F(VssBackendTest, VssMissingIsUnsupportedWithTheDocumentedMessage) {
  vss.create_result = static_cast<HRESULT>(vss::hr::kNotImpl);
  auto backend = windows::VssBackend::create(vss.api(), options());
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(backend.status().message(),
            "VSS is not available on this system (CreateVssBackupComponents returned E_NOTIMPL "
            "(0x80004001): the operation is not implemented here)");
  expect_nothing_left();

  vss.create_result = S_OK;
  vss.script.returns["InitializeForBackup"] = static_cast<HRESULT>(vss::hr::kNotImpl);
  backend = windows::VssBackend::create(vss.api(), options());
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(backend.status().message().rfind("VSS is not available on this system", 0), 0u);
  expect_nothing_left();
}

// The real CreateVssBackupComponents: Wine implements no VSS (E_NOTIMPL), so the session is
// refused with the documented error and leaves nothing behind. On Windows this needs an
// elevated process and a running VSS service, which a test cannot assume: skipped there.
TEST(VssSessionTest, RealVssUnderWineIsUnsupportedAndSaysSo) {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  const bool wine = ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version") != nullptr;
  if (!wine)
    GTEST_SKIP() << "not under Wine: the real VSS service needs an elevated process";
  auto session = create_vss_session();
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(session.status().message().rfind("VSS is not available on this system (", 0), 0u)
      << session.status().message();
  // COM was uninitialised again: a fresh initialisation of this thread is the first one.
  const HRESULT com = CoInitializeEx(nullptr, COINIT_MULTITHREADED);
  EXPECT_EQ(com, S_OK);
  if (SUCCEEDED(com))
    CoUninitialize();
}

}  // namespace
}  // namespace freezeframe

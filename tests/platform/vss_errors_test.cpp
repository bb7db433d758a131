// The VSS HRESULT table and the other VSS translations (freezeframe/vss_errors.h): portable,
// so they run on Linux and, cross-built, under Wine.
#include "freezeframe/vss_errors.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "freezeframe/vss.h"

namespace freezeframe::vss {
namespace {

TEST(VssErrors, TableIsSortedWithUniqueValuesAndNames) {
  std::set<std::string_view> names;
  const auto table = known_hresults();
  ASSERT_FALSE(table.empty());
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(table[i - 1].value, table[i].value) << table[i].name;
    }
    EXPECT_TRUE(names.insert(table[i].name).second) << table[i].name;
    EXPECT_FALSE(table[i].meaning.empty()) << table[i].name;
    // Success codes map to OK, failures never do.
    EXPECT_EQ(table[i].code == ErrorCode::kOk, !failed(table[i].value)) << table[i].name;
    EXPECT_EQ(find_hresult(table[i].value), &table[i]);
  }
}

TEST(VssErrors, KnowsEveryVssErrorOfTheReferenceAndTheGenericComCodes) {
  // vss-model.md section 6.1 (and 2.5), in vsserror.h's spelling.
  const std::set<std::string_view> expected = {
      "VSS_E_BAD_STATE",
      "VSS_E_UNEXPECTED",
      "VSS_E_PROVIDER_ALREADY_REGISTERED",
      "VSS_E_PROVIDER_NOT_REGISTERED",
      "VSS_E_PROVIDER_VETO",
      "VSS_E_PROVIDER_IN_USE",
      "VSS_E_OBJECT_NOT_FOUND",
      "VSS_S_ASYNC_PENDING",
      "VSS_S_ASYNC_FINISHED",
      "VSS_S_ASYNC_CANCELLED",
      "VSS_E_VOLUME_NOT_SUPPORTED",
      "VSS_E_OBJECT_ALREADY_EXISTS",
      "VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER",
      "VSS_E_UNEXPECTED_PROVIDER_ERROR",
      "VSS_E_CORRUPT_XML_DOCUMENT",
      "VSS_E_INVALID_XML_DOCUMENT",
      "VSS_E_MAXIMUM_NUMBER_OF_VOLUMES_REACHED",
      "VSS_E_FLUSH_WRITES_TIMEOUT",
      "VSS_E_HOLD_WRITES_TIMEOUT",
      "VSS_E_UNEXPECTED_WRITER_ERROR",
      "VSS_E_SNAPSHOT_SET_IN_PROGRESS",
      "VSS_E_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED",
      "VSS_E_WRITER_INFRASTRUCTURE",
      "VSS_E_WRITER_NOT_RESPONDING",
      "VSS_E_WRITER_ALREADY_SUBSCRIBED",
      "VSS_E_UNSUPPORTED_CONTEXT",
      "VSS_E_VOLUME_IN_USE",
      "VSS_E_MAXIMUM_DIFFAREA_ASSOCIATIONS_REACHED",
      "VSS_E_INSUFFICIENT_STORAGE",
      "VSS_E_NO_SNAPSHOTS_IMPORTED",
      "VSS_S_SOME_SNAPSHOTS_NOT_IMPORTED",
      "VSS_E_SOME_SNAPSHOTS_NOT_IMPORTED",
      "VSS_E_MAXIMUM_NUMBER_OF_REMOTE_MACHINES_REACHED",
      "VSS_E_REMOTE_SERVER_UNAVAILABLE",
      "VSS_E_REMOTE_SERVER_UNSUPPORTED",
      "VSS_E_REVERT_IN_PROGRESS",
      "VSS_E_REVERT_VOLUME_LOST",
      "VSS_E_REBOOT_REQUIRED",
      "VSS_E_TRANSACTION_FREEZE_TIMEOUT",
      "VSS_E_TRANSACTION_THAW_TIMEOUT",
      "VSS_E_UNSELECTED_VOLUME",
      "VSS_E_SNAPSHOT_NOT_IN_SET",
      "VSS_E_NESTED_VOLUME_LIMIT",
      "VSS_E_VOLUME_NOT_LOCAL",
      "VSS_E_CLUSTER_TIMEOUT",
      "VSS_E_NOT_SUPPORTED",
      "VSS_E_WRITERERROR_PARTIAL_FAILURE",
      "VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT",
      "VSS_E_WRITERERROR_OUTOFRESOURCES",
      "VSS_E_WRITERERROR_TIMEOUT",
      "VSS_E_WRITERERROR_RETRYABLE",
      "VSS_E_WRITERERROR_NONRETRYABLE",
      "VSS_E_WRITERERROR_RECOVERY_FAILED",
      "VSS_E_BREAK_REVERT_ID_FAILED",
      "VSS_E_LEGACY_PROVIDER",
      "VSS_E_MISSING_DISK",
      "VSS_E_MISSING_HIDDEN_VOLUME",
      "VSS_E_MISSING_VOLUME",
      "VSS_E_AUTORECOVERY_FAILED",
      "VSS_E_DYNAMIC_DISK_ERROR",
      "VSS_E_NONTRANSPORTABLE_BCD",
      "VSS_E_CANNOT_REVERT_DISKID",
      "VSS_E_RESYNC_IN_PROGRESS",
      "VSS_E_CLUSTER_ERROR",
      "VSS_E_ASRERROR_DISK_ASSIGNMENT_FAILED",
      "VSS_E_ASRERROR_DISK_RECREATION_FAILED",
      "VSS_E_ASRERROR_NO_ARCPATH",
      "VSS_E_ASRERROR_MISSING_DYNDISK",
      "VSS_E_ASRERROR_SHARED_CRIDISK",
      "VSS_E_ASRERROR_DATADISK_RDISK0",
      "VSS_E_ASRERROR_RDISK0_TOOSMALL",
      "VSS_E_ASRERROR_CRITICAL_DISKS_TOO_SMALL",
      "VSS_E_WRITER_STATUS_NOT_AVAILABLE",
      "VSS_E_ASRERROR_DYNAMIC_VHD_NOT_SUPPORTED",
      "VSS_E_CRITICAL_VOLUME_ON_INVALID_DISK",
      "VSS_E_ASRERROR_RDISK_FOR_SYSTEM_DISK_NOT_FOUND",
      "VSS_E_ASRERROR_NO_PHYSICAL_DISK_AVAILABLE",
      "VSS_E_ASRERROR_FIXED_PHYSICAL_DISK_AVAILABLE_AFTER_DISK_EXCLUSION",
      "VSS_E_ASRERROR_CRITICAL_DISK_CANNOT_BE_EXCLUDED",
      "VSS_E_ASRERROR_SYSTEM_PARTITION_HIDDEN",
      "VSS_E_FSS_TIMEOUT",
      "E_ACCESSDENIED",
      "E_INVALIDARG",
      "E_OUTOFMEMORY",
      "E_UNEXPECTED",
      "E_NOTIMPL",
      "E_FAIL",
  };
  std::set<std::string_view> known;
  for (const HresultInfo& info : known_hresults())
    known.insert(info.name);
  for (std::string_view name : expected)
    EXPECT_TRUE(known.count(name)) << name;
}

TEST(VssErrors, ValuesMatchVsserror) {
  EXPECT_EQ(hresult_name(0x80042301), "VSS_E_BAD_STATE");
  EXPECT_EQ(hresult_name(0x8004230E), "VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER");
  EXPECT_EQ(hresult_name(0x80042316), "VSS_E_SNAPSHOT_SET_IN_PROGRESS");
  EXPECT_EQ(hresult_name(0x8004231F), "VSS_E_INSUFFICIENT_STORAGE");
  EXPECT_EQ(hresult_name(0x800423F2), "VSS_E_WRITERERROR_TIMEOUT");
  EXPECT_EQ(hresult_name(0x80042336), "VSS_E_WRITERERROR_PARTIAL_FAILURE");
  EXPECT_EQ(hresult_name(0x80042409), "VSS_E_WRITER_STATUS_NOT_AVAILABLE");
  EXPECT_EQ(hresult_name(0x80042417), "VSS_E_FSS_TIMEOUT");
  EXPECT_EQ(hresult_name(0x80070005), "E_ACCESSDENIED");
  EXPECT_EQ(hresult_name(0x80004001), "E_NOTIMPL");
  EXPECT_EQ(hresult_name(0x0004230A), "VSS_S_ASYNC_FINISHED");
}

TEST(VssErrors, CodesFollowWhatTheCallerDoesNext) {
  EXPECT_EQ(hresult_error_code(hr::kSnapshotSetInProgress), ErrorCode::kBusy);
  EXPECT_EQ(hresult_error_code(hr::kFlushWritesTimeout), ErrorCode::kTimeout);
  EXPECT_EQ(hresult_error_code(0x80042314), ErrorCode::kTimeout);  // hold writes
  EXPECT_EQ(hresult_error_code(0x80042328), ErrorCode::kTimeout);  // KTM freeze
  EXPECT_EQ(hresult_error_code(hr::kWriterErrorTimeout), ErrorCode::kTimeout);
  EXPECT_EQ(hresult_error_code(hr::kWriterNotResponding), ErrorCode::kTimeout);
  EXPECT_EQ(hresult_error_code(hr::kBadState), ErrorCode::kBadState);
  EXPECT_EQ(hresult_error_code(hr::kObjectNotFound), ErrorCode::kNotFound);
  EXPECT_EQ(hresult_error_code(hr::kInsufficientStorage), ErrorCode::kNoSpace);
  EXPECT_EQ(hresult_error_code(hr::kUnexpectedWriterError), ErrorCode::kAborted);
  EXPECT_EQ(hresult_error_code(hr::kWriterErrorRetryable), ErrorCode::kAborted);
  EXPECT_EQ(hresult_error_code(hr::kWriterErrorNonRetryable), ErrorCode::kAborted);
  EXPECT_EQ(hresult_error_code(hr::kWriterErrorPartialFailure), ErrorCode::kAborted);
  EXPECT_EQ(hresult_error_code(0x80042306), ErrorCode::kAborted);  // provider veto
  EXPECT_EQ(hresult_error_code(0x80042312), ErrorCode::kLimitExceeded);
  EXPECT_EQ(hresult_error_code(0x8004231B), ErrorCode::kUnsupported);  // context
  EXPECT_EQ(hresult_error_code(hr::kNotImpl), ErrorCode::kUnsupported);
  EXPECT_EQ(hresult_error_code(hr::kInvalidArg), ErrorCode::kInvalidArgument);
  EXPECT_EQ(hresult_error_code(hr::kAccessDenied), ErrorCode::kIoError);
  EXPECT_EQ(hresult_error_code(hr::kOutOfMemory), ErrorCode::kIoError);
  EXPECT_EQ(hresult_error_code(hr::kUnexpected), ErrorCode::kIoError);
  EXPECT_EQ(hresult_error_code(hr::kFail), ErrorCode::kIoError);
  EXPECT_EQ(hresult_error_code(0x80042310), ErrorCode::kCorrupt);
  EXPECT_EQ(hresult_error_code(hr::kOk), ErrorCode::kOk);
  EXPECT_EQ(hresult_error_code(hr::kAsyncFinished), ErrorCode::kOk);
  // Unknown: a failure is an I/O error, a success code is OK.
  EXPECT_EQ(hresult_error_code(0x8007001F), ErrorCode::kIoError);
  EXPECT_EQ(hresult_error_code(0x00000001), ErrorCode::kOk);
}

TEST(VssErrors, StatusNamesTheCallTheCodeItsValueAndItsMeaning) {
  Status status = hresult_status("DoSnapshotSet", hr::kFlushWritesTimeout);
  EXPECT_EQ(status.code(), ErrorCode::kTimeout);
  EXPECT_EQ(status.message(),
            "DoSnapshotSet returned VSS_E_FLUSH_WRITES_TIMEOUT (0x80042313): the system could "
            "not flush I/O writes");
  EXPECT_EQ(hresult_status("StartSnapshotSet", hr::kSnapshotSetInProgress).message(),
            "StartSnapshotSet returned VSS_E_SNAPSHOT_SET_IN_PROGRESS (0x80042316): another "
            "shadow copy creation is in progress; retry later");
  Status denied = hresult_status("InitializeForBackup", hr::kAccessDenied);
  EXPECT_EQ(denied.code(), ErrorCode::kIoError);
  EXPECT_NE(denied.message().find("elevated"), std::string::npos);
  Status unknown = hresult_status("Query", 0x8007001F);
  EXPECT_EQ(unknown.code(), ErrorCode::kIoError);
  EXPECT_EQ(unknown.message(), "Query returned HRESULT 0x8007001F (0x8007001F): unknown error");
  EXPECT_TRUE(hresult_status("SetContext", hr::kOk).ok());
  EXPECT_TRUE(hresult_status("QueryStatus", hr::kAsyncPending).ok());
  EXPECT_EQ(hresult_description(hr::kInsufficientStorage),
            "VSS_E_INSUFFICIENT_STORAGE (0x8004231F): not enough disk space for the shadow copy "
            "storage");
}

TEST(VssErrors, UnavailableIsUnsupportedWithTheDocumentedSentence) {
  Status status = vss_unavailable("CreateVssBackupComponents", hr::kNotImpl);
  EXPECT_EQ(status.code(), ErrorCode::kUnsupported);
  EXPECT_EQ(status.message(),
            "VSS is not available on this system (CreateVssBackupComponents returned E_NOTIMPL "
            "(0x80004001): the operation is not implemented here)");
}

TEST(VssErrors, ContextsAndBackupTypesKeepVssValues) {
  EXPECT_EQ(context_value(SnapshotContext::kBackup), 0x0);             // VSS_CTX_BACKUP
  EXPECT_EQ(context_value(SnapshotContext::kFileShareBackup), 0x10);   // FILE_SHARE_BACKUP
  EXPECT_EQ(context_value(SnapshotContext::kNasRollback), 0x19);       // NAS_ROLLBACK
  EXPECT_EQ(context_value(SnapshotContext::kAppRollback), 0x9);        // APP_ROLLBACK
  EXPECT_EQ(context_value(SnapshotContext::kClientAccessible), 0x1d);  // CLIENT_ACCESSIBLE
  EXPECT_EQ(context_value(SnapshotContext::kClientAccessibleWriters), 0xd);
  EXPECT_EQ(backup_type_value(BackupType::kFull), 1);  // VSS_BT_FULL
  EXPECT_EQ(backup_type_value(BackupType::kIncremental), 2);
  EXPECT_EQ(backup_type_value(BackupType::kDifferential), 3);
  EXPECT_EQ(backup_type_value(BackupType::kLog), 4);
  EXPECT_EQ(backup_type_value(BackupType::kCopy), 5);
  EXPECT_EQ(backup_type_value(BackupType::kOther), 6);
}

TEST(VssErrors, WriterStatesAndFailuresMapFromVss) {
  EXPECT_EQ(writer_state_from(1), WriterState::kStable);
  EXPECT_EQ(writer_state_from(5), WriterState::kWaitingForBackupComplete);
  EXPECT_EQ(writer_state_from(9), WriterState::kFailedAtFreeze);
  EXPECT_EQ(writer_state_from(15), WriterState::kFailedAtBackupShutdown);
  EXPECT_EQ(writer_state_from(16), WriterState::kUnknown);  // VSS_WS_COUNT
  EXPECT_EQ(writer_state_from(-1), WriterState::kUnknown);

  const WriterState failed_state = WriterState::kFailedAtFreeze;
  EXPECT_EQ(writer_failure_from(hr::kOk, WriterState::kStable), WriterFailure::kNone);
  EXPECT_EQ(writer_failure_from(hr::kOk, failed_state), WriterFailure::kNonRetryable);
  EXPECT_EQ(writer_failure_from(hr::kWriterErrorInconsistentSnapshot, failed_state),
            WriterFailure::kInconsistentSnapshot);
  EXPECT_EQ(writer_failure_from(hr::kWriterErrorOutOfResources, failed_state),
            WriterFailure::kOutOfResources);
  EXPECT_EQ(writer_failure_from(hr::kWriterErrorTimeout, failed_state), WriterFailure::kTimeout);
  EXPECT_EQ(writer_failure_from(hr::kWriterErrorRetryable, failed_state),
            WriterFailure::kRetryable);
  EXPECT_EQ(writer_failure_from(hr::kWriterErrorNonRetryable, failed_state),
            WriterFailure::kNonRetryable);
  EXPECT_EQ(writer_failure_from(hr::kWriterErrorRecoveryFailed, failed_state),
            WriterFailure::kRecoveryFailed);
  EXPECT_EQ(writer_failure_from(hr::kWriterNotResponding, failed_state),
            WriterFailure::kNotResponding);
  EXPECT_EQ(writer_failure_from(hr::kWriterStatusNotAvailable, failed_state),
            WriterFailure::kRetryable);
  EXPECT_EQ(writer_failure_from(hr::kWriterErrorPartialFailure, failed_state),
            WriterFailure::kNonRetryable);
}

#ifndef _WIN32
TEST(VssSession, IsUnsupportedOutsideWindows) {
  auto session = create_vss_session();
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(session.status().message().rfind("VSS is not available on this system", 0), 0u);
  EXPECT_NE(session.status().message().find("only on Windows"), std::string::npos);
}

TEST(VssSession, ShadowCopiesAndTheProviderAreUnsupportedOutsideWindows) {
  EXPECT_FALSE(vss_built_in());
  auto listed = list_vss_shadows();
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(listed.status().message().find("only on Windows"), std::string::npos);
  EXPECT_EQ(delete_vss_shadow(Uuid::from_name("x")).code(), ErrorCode::kUnsupported);
  EXPECT_EQ(open_vss_shadow(VssShadowCopy{}).status().code(), ErrorCode::kUnsupported);
  auto provider = create_vss_provider();
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().code(), ErrorCode::kUnsupported);
}
#endif

}  // namespace
}  // namespace freezeframe::vss

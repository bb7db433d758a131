// The HRESULT table of VSS (see vss_errors.h). Names as vsserror.h spells them; meanings
// paraphrase the VSS documentation in one line each.
#include "freezeframe/vss_errors.h"

#include <algorithm>
#include <array>
#include <cstdio>

namespace freezeframe::vss {

namespace {

using enum ErrorCode;

// Ascending by value (checked by a test, relied on by find_hresult's binary search).
constexpr std::array kTable = {
    HresultInfo{0x00000000, "S_OK", "the operation succeeded", kOk},
    HresultInfo{0x00042309, "VSS_S_ASYNC_PENDING", "the asynchronous operation is still running",
                kOk},
    HresultInfo{0x0004230A, "VSS_S_ASYNC_FINISHED", "the asynchronous operation finished", kOk},
    HresultInfo{0x0004230B, "VSS_S_ASYNC_CANCELLED", "the asynchronous operation was cancelled",
                kOk},
    HresultInfo{0x00042321, "VSS_S_SOME_SNAPSHOTS_NOT_IMPORTED",
                "some shadow copies of the set were not imported", kOk},
    HresultInfo{0x80004001, "E_NOTIMPL", "the operation is not implemented here", kUnsupported},
    HresultInfo{0x80004005, "E_FAIL", "unspecified failure", kIoError},
    HresultInfo{0x8000FFFF, "E_UNEXPECTED", "unexpected failure", kIoError},
    HresultInfo{0x80042301, "VSS_E_BAD_STATE",
                "the call is out of order, or the object is not initialised for it", kBadState},
    HresultInfo{0x80042302, "VSS_E_UNEXPECTED",
                "unexpected error inside VSS (details in the event log)", kIoError},
    HresultInfo{0x80042303, "VSS_E_PROVIDER_ALREADY_REGISTERED",
                "the provider is already registered", kAlreadyExists},
    HresultInfo{0x80042304, "VSS_E_PROVIDER_NOT_REGISTERED",
                "no provider with that id is registered", kNotFound},
    HresultInfo{0x80042306, "VSS_E_PROVIDER_VETO",
                "the provider refused the operation (its reason is in the event log)", kAborted},
    HresultInfo{0x80042307, "VSS_E_PROVIDER_IN_USE", "the provider is in use", kBusy},
    HresultInfo{0x80042308, "VSS_E_OBJECT_NOT_FOUND",
                "the volume, shadow copy, set or component was not found", kNotFound},
    HresultInfo{0x8004230C, "VSS_E_VOLUME_NOT_SUPPORTED",
                "no provider supports shadow copies of the volume", kUnsupported},
    HresultInfo{0x8004230D, "VSS_E_OBJECT_ALREADY_EXISTS", "the object already exists",
                kAlreadyExists},
    HresultInfo{0x8004230E, "VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER",
                "the chosen provider does not support the volume", kUnsupported},
    HresultInfo{0x8004230F, "VSS_E_UNEXPECTED_PROVIDER_ERROR",
                "the provider failed unexpectedly (details in the event log)", kIoError},
    HresultInfo{0x80042310, "VSS_E_CORRUPT_XML_DOCUMENT", "the XML document is corrupt", kCorrupt},
    HresultInfo{0x80042311, "VSS_E_INVALID_XML_DOCUMENT",
                "the XML document does not match its schema", kCorrupt},
    HresultInfo{0x80042312, "VSS_E_MAXIMUM_NUMBER_OF_VOLUMES_REACHED",
                "the snapshot set already has the maximum number of volumes (64)", kLimitExceeded},
    HresultInfo{0x80042313, "VSS_E_FLUSH_WRITES_TIMEOUT", "the system could not flush I/O writes",
                kTimeout},
    HresultInfo{0x80042314, "VSS_E_HOLD_WRITES_TIMEOUT",
                "the system could not hold I/O writes for the commit (10 s limit)", kTimeout},
    HresultInfo{0x80042315, "VSS_E_UNEXPECTED_WRITER_ERROR",
                "a writer failed unexpectedly (see the writer status)", kAborted},
    HresultInfo{0x80042316, "VSS_E_SNAPSHOT_SET_IN_PROGRESS",
                "another shadow copy creation is in progress; retry later", kBusy},
    HresultInfo{0x80042317, "VSS_E_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED",
                "the volume already has the maximum number of shadow copies", kLimitExceeded},
    HresultInfo{0x80042318, "VSS_E_WRITER_INFRASTRUCTURE",
                "the writer infrastructure (VSS service or COM+ event system) is not working",
                kIoError},
    HresultInfo{0x80042319, "VSS_E_WRITER_NOT_RESPONDING", "a writer did not respond", kTimeout},
    HresultInfo{0x8004231A, "VSS_E_WRITER_ALREADY_SUBSCRIBED", "the writer has already subscribed",
                kAlreadyExists},
    HresultInfo{0x8004231B, "VSS_E_UNSUPPORTED_CONTEXT",
                "the context is not supported here (by this system, provider or operation)",
                kUnsupported},
    HresultInfo{0x8004231D, "VSS_E_VOLUME_IN_USE", "the volume is in use", kBusy},
    HresultInfo{0x8004231E, "VSS_E_MAXIMUM_DIFFAREA_ASSOCIATIONS_REACHED",
                "the volume has the maximum number of shadow storage associations", kLimitExceeded},
    HresultInfo{0x8004231F, "VSS_E_INSUFFICIENT_STORAGE",
                "not enough disk space for the shadow copy storage", kNoSpace},
    HresultInfo{0x80042320, "VSS_E_NO_SNAPSHOTS_IMPORTED", "no shadow copy was imported", kIoError},
    HresultInfo{0x80042321, "VSS_E_SOME_SNAPSHOTS_NOT_IMPORTED",
                "some shadow copies of the set were not imported", kIoError},
    HresultInfo{0x80042322, "VSS_E_MAXIMUM_NUMBER_OF_REMOTE_MACHINES_REACHED",
                "the maximum number of remote machines was reached", kLimitExceeded},
    HresultInfo{0x80042323, "VSS_E_REMOTE_SERVER_UNAVAILABLE",
                "the file share's server is unavailable", kIoError},
    HresultInfo{0x80042324, "VSS_E_REMOTE_SERVER_UNSUPPORTED",
                "the file share's server does not support shadow copies", kUnsupported},
    HresultInfo{0x80042325, "VSS_E_REVERT_IN_PROGRESS", "a revert is already running on the volume",
                kBusy},
    HresultInfo{0x80042326, "VSS_E_REVERT_VOLUME_LOST", "the volume was lost during a revert",
                kIoError},
    HresultInfo{0x80042327, "VSS_E_REBOOT_REQUIRED",
                "the system must be restarted before shadow copies can be created", kBadState},
    HresultInfo{0x80042328, "VSS_E_TRANSACTION_FREEZE_TIMEOUT",
                "the kernel transaction manager could not freeze in time", kTimeout},
    HresultInfo{0x80042329, "VSS_E_TRANSACTION_THAW_TIMEOUT",
                "the kernel transaction manager could not thaw in time", kTimeout},
    HresultInfo{0x8004232A, "VSS_E_UNSELECTED_VOLUME",
                "the target holds a volume that was not explicitly included", kInvalidArgument},
    HresultInfo{0x8004232B, "VSS_E_SNAPSHOT_NOT_IN_SET", "the shadow copy is not part of the set",
                kNotFound},
    HresultInfo{0x8004232C, "VSS_E_NESTED_VOLUME_LIMIT",
                "nested virtual disks, or a virtual disk with its host volume, in one set",
                kUnsupported},
    HresultInfo{0x8004232D, "VSS_E_VOLUME_NOT_LOCAL", "the volume is not local to this node",
                kUnsupported},
    HresultInfo{0x8004232E, "VSS_E_CLUSTER_TIMEOUT", "a cluster operation timed out", kTimeout},
    HresultInfo{0x8004232F, "VSS_E_NOT_SUPPORTED", "the operation is not supported", kUnsupported},
    HresultInfo{0x80042336, "VSS_E_WRITERERROR_PARTIAL_FAILURE",
                "some of the writer's components failed", kAborted},
    HresultInfo{0x800423F0, "VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT",
                "the set lacks something the writer needs (a volume), or is inconsistent",
                kAborted},
    HresultInfo{0x800423F1, "VSS_E_WRITERERROR_OUTOFRESOURCES",
                "the writer ran out of memory or other resources", kAborted},
    HresultInfo{0x800423F2, "VSS_E_WRITERERROR_TIMEOUT",
                "the writer could not finish in time (typically the freeze window)", kTimeout},
    HresultInfo{0x800423F3, "VSS_E_WRITERERROR_RETRYABLE", "the writer failed; retry as is",
                kAborted},
    HresultInfo{0x800423F4, "VSS_E_WRITERERROR_NONRETRYABLE",
                "the writer failed and a retry will not help", kAborted},
    HresultInfo{0x800423F5, "VSS_E_WRITERERROR_RECOVERY_FAILED",
                "auto-recovery on the shadow copy failed for the writer", kAborted},
    HresultInfo{0x800423F6, "VSS_E_BREAK_REVERT_ID_FAILED",
                "the disk identity could not be reverted on break", kIoError},
    HresultInfo{0x800423F7, "VSS_E_LEGACY_PROVIDER", "the provider is too old for the operation",
                kUnsupported},
    HresultInfo{0x800423F8, "VSS_E_MISSING_DISK", "a disk of the shadow copy is missing",
                kNotFound},
    HresultInfo{0x800423F9, "VSS_E_MISSING_HIDDEN_VOLUME",
                "a hidden volume of the shadow copy is missing", kNotFound},
    HresultInfo{0x800423FA, "VSS_E_MISSING_VOLUME", "a volume of the shadow copy is missing",
                kNotFound},
    HresultInfo{0x800423FB, "VSS_E_AUTORECOVERY_FAILED", "auto-recovery on the shadow copy failed",
                kIoError},
    HresultInfo{0x800423FC, "VSS_E_DYNAMIC_DISK_ERROR", "a dynamic disk failed", kIoError},
    HresultInfo{0x800423FD, "VSS_E_NONTRANSPORTABLE_BCD",
                "the backup components document is not of a transportable set", kInvalidArgument},
    HresultInfo{0x800423FE, "VSS_E_CANNOT_REVERT_DISKID",
                "the disk signature or id could not be reverted", kIoError},
    HresultInfo{0x800423FF, "VSS_E_RESYNC_IN_PROGRESS", "a resynchronisation is already running",
                kBusy},
    HresultInfo{0x80042400, "VSS_E_CLUSTER_ERROR", "a cluster operation failed", kIoError},
    HresultInfo{0x80042401, "VSS_E_ASRERROR_DISK_ASSIGNMENT_FAILED",
                "ASR: the disks could not be assigned", kIoError},
    HresultInfo{0x80042402, "VSS_E_ASRERROR_DISK_RECREATION_FAILED",
                "ASR: a disk could not be recreated", kIoError},
    HresultInfo{0x80042403, "VSS_E_ASRERROR_NO_ARCPATH", "ASR: a disk has no ARC path", kIoError},
    HresultInfo{0x80042404, "VSS_E_ASRERROR_MISSING_DYNDISK", "ASR: a dynamic disk is missing",
                kIoError},
    HresultInfo{0x80042405, "VSS_E_ASRERROR_SHARED_CRIDISK",
                "ASR: a critical disk is shared (cluster)", kIoError},
    HresultInfo{0x80042406, "VSS_E_ASRERROR_DATADISK_RDISK0",
                "ASR: a data disk is the first disk (rdisk0)", kIoError},
    HresultInfo{0x80042407, "VSS_E_ASRERROR_RDISK0_TOOSMALL",
                "ASR: the first disk (rdisk0) is too small", kIoError},
    HresultInfo{0x80042408, "VSS_E_ASRERROR_CRITICAL_DISKS_TOO_SMALL",
                "ASR: the critical disks are too small", kIoError},
    HresultInfo{0x80042409, "VSS_E_WRITER_STATUS_NOT_AVAILABLE",
                "the writer's status is not available now (too many sessions)", kBusy},
    HresultInfo{0x8004240A, "VSS_E_ASRERROR_DYNAMIC_VHD_NOT_SUPPORTED",
                "ASR: dynamic virtual disks are not supported", kIoError},
    HresultInfo{0x80042411, "VSS_E_CRITICAL_VOLUME_ON_INVALID_DISK",
                "ASR: a critical volume is on a disk that cannot be used", kIoError},
    HresultInfo{0x80042412, "VSS_E_ASRERROR_RDISK_FOR_SYSTEM_DISK_NOT_FOUND",
                "ASR: no disk found for the system disk", kIoError},
    HresultInfo{0x80042413, "VSS_E_ASRERROR_NO_PHYSICAL_DISK_AVAILABLE",
                "ASR: no physical disk is available", kIoError},
    HresultInfo{0x80042414, "VSS_E_ASRERROR_FIXED_PHYSICAL_DISK_AVAILABLE_AFTER_DISK_EXCLUSION",
                "ASR: a fixed disk is still available after disk exclusion", kIoError},
    HresultInfo{0x80042415, "VSS_E_ASRERROR_CRITICAL_DISK_CANNOT_BE_EXCLUDED",
                "ASR: a critical disk cannot be excluded", kIoError},
    HresultInfo{0x80042416, "VSS_E_ASRERROR_SYSTEM_PARTITION_HIDDEN",
                "ASR: the system partition is hidden", kIoError},
    HresultInfo{0x80042417, "VSS_E_FSS_TIMEOUT", "a file share shadow copy operation timed out",
                kTimeout},
    HresultInfo{0x80070005, "E_ACCESSDENIED",
                "access denied (an administrator or backup operator is needed)", kIoError},
    HresultInfo{0x8007000E, "E_OUTOFMEMORY", "out of memory", kIoError},
    HresultInfo{0x80070057, "E_INVALIDARG", "an argument is invalid", kInvalidArgument},
};

}  // namespace

std::span<const HresultInfo> known_hresults() noexcept {
  return kTable;
}

const HresultInfo* find_hresult(std::uint32_t hresult) noexcept {
  const auto* it = std::lower_bound(
      kTable.begin(), kTable.end(), hresult,
      [](const HresultInfo& entry, std::uint32_t value) { return entry.value < value; });
  if (it == kTable.end() || it->value != hresult)
    return nullptr;
  return &*it;
}

std::string hresult_hex(std::uint32_t hresult) {
  std::array<char, 16> text{};
  std::snprintf(text.data(), text.size(), "0x%08X", static_cast<unsigned>(hresult));
  return text.data();
}

std::string hresult_name(std::uint32_t hresult) {
  if (const HresultInfo* info = find_hresult(hresult))
    return std::string(info->name);
  return "HRESULT " + hresult_hex(hresult);
}

std::string hresult_description(std::uint32_t hresult) {
  const HresultInfo* info = find_hresult(hresult);
  return hresult_name(hresult) + " (" + hresult_hex(hresult) +
         "): " + std::string(info != nullptr ? info->meaning : "unknown error");
}

ErrorCode hresult_error_code(std::uint32_t hresult) noexcept {
  if (const HresultInfo* info = find_hresult(hresult))
    return info->code;
  return failed(hresult) ? ErrorCode::kIoError : ErrorCode::kOk;
}

Status hresult_status(std::string_view call, std::uint32_t hresult) {
  if (!failed(hresult))
    return Status();
  std::string message = std::string(call) + " returned " + hresult_description(hresult);
  if (hresult == hr::kAccessDenied)
    message += "; run it from an elevated process";
  return Status(hresult_error_code(hresult), std::move(message));
}

Status vss_unavailable(std::string_view call, std::uint32_t hresult) {
  std::string message = "VSS is not available on this system (" + std::string(call) + " returned " +
                        hresult_name(hresult) + " (" + hresult_hex(hresult) + ")";
  if (const HresultInfo* info = find_hresult(hresult))
    message += ": " + std::string(info->meaning);
  message += ")";
  return Status(ErrorCode::kUnsupported, std::move(message));
}

std::int32_t context_value(SnapshotContext context) noexcept {
  return static_cast<std::int32_t>(context);
}

std::int32_t backup_type_value(BackupType type) noexcept {
  return static_cast<std::int32_t>(type);
}

WriterState writer_state_from(std::int32_t vss_state) noexcept {
  if (vss_state < 0 || vss_state > static_cast<std::int32_t>(WriterState::kFailedAtBackupShutdown))
    return WriterState::kUnknown;
  return static_cast<WriterState>(vss_state);
}

WriterFailure writer_failure_from(std::uint32_t hresult, WriterState state) noexcept {
  switch (hresult) {
    case hr::kOk:
      return is_failed(state) ? WriterFailure::kNonRetryable : WriterFailure::kNone;
    case hr::kWriterErrorInconsistentSnapshot:
      return WriterFailure::kInconsistentSnapshot;
    case hr::kWriterErrorOutOfResources:
      return WriterFailure::kOutOfResources;
    case hr::kWriterErrorTimeout:
      return WriterFailure::kTimeout;
    case hr::kWriterErrorRetryable:
    case hr::kWriterStatusNotAvailable:
      return WriterFailure::kRetryable;
    case hr::kWriterErrorRecoveryFailed:
      return WriterFailure::kRecoveryFailed;
    case hr::kWriterNotResponding:
      return WriterFailure::kNotResponding;
    default:
      return WriterFailure::kNonRetryable;
  }
}

}  // namespace freezeframe::vss

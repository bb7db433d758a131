// What VSS's HRESULTs mean, in freezeframe's terms: a name, a one-line meaning and an
// ErrorCode for every code a requestor meets (docs/windows.md, "The VSS requestor"; the
// codes are those of vsserror.h and the generic COM ones VSS documents). Also the other
// translations between VSS's enumerations and freezeframe's: contexts, backup types, writer
// states and writer failures.
//
// Portable: no operating-system header. An HRESULT is passed as its 32-bit pattern
// (static_cast<std::uint32_t>(hr) on Windows), so the table and its tests build and run on
// Linux as well as on Windows.
//
// How codes are chosen (status.h: by what the caller does next):
//   timeouts (flush/hold writes, KTM freeze/thaw, cluster, file share, a writer's timeout,
//     a writer that does not respond)                                   -> kTimeout
//   another creation in progress, a revert or resync running, a busy provider, a volume in
//     use, writer status not available now                              -> kBusy
//   a writer's failure (other than a timeout), a provider's veto        -> kAborted
//   VSS_E_BAD_STATE (out of order), a reboot needed first               -> kBadState
//   not found (object, provider, disk, volume)                          -> kNotFound
//   already exists (object, provider, subscription)                     -> kAlreadyExists
//   VSS_E_INSUFFICIENT_STORAGE                                          -> kNoSpace
//   count limits (volumes per set, snapshots per volume, diff areas)    -> kLimitExceeded
//   unsupported volume, context, operation; E_NOTIMPL                   -> kUnsupported
//   corrupt or invalid XML documents                                    -> kCorrupt
//   E_INVALIDARG, an unselected volume, a non-transportable BCD         -> kInvalidArgument
//   E_ACCESSDENIED -> kIoError: the call is right (not kInvalidArgument) and the platform
//     supports it (not kUnsupported, which would send a caller to another provider); the
//     process lacks the rights (administrator or backup operator), and the message says so.
//     FileVolume does the same for a volume opened without elevation.
//   everything else, including unknown codes (E_FAIL, E_UNEXPECTED, E_OUTOFMEMORY,
//     VSS_E_UNEXPECTED, provider and infrastructure errors)             -> kIoError
// Success codes (S_OK, VSS_S_*) map to kOk.
//
// Thread-safety: every function is pure; the table is immutable.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "freezeframe/status.h"
#include "freezeframe/writer.h"

namespace freezeframe::vss {

// HRESULTs the VSS backend and its tests name (vsserror.h spelling beside each).
namespace hr {
inline constexpr std::uint32_t kOk = 0x00000000;
inline constexpr std::uint32_t kAsyncPending = 0x00042309;    // VSS_S_ASYNC_PENDING
inline constexpr std::uint32_t kAsyncFinished = 0x0004230A;   // VSS_S_ASYNC_FINISHED
inline constexpr std::uint32_t kAsyncCancelled = 0x0004230B;  // VSS_S_ASYNC_CANCELLED
inline constexpr std::uint32_t kBadState = 0x80042301;        // VSS_E_BAD_STATE
inline constexpr std::uint32_t kObjectNotFound = 0x80042308;  // VSS_E_OBJECT_NOT_FOUND
inline constexpr std::uint32_t kFlushWritesTimeout = 0x80042313;
inline constexpr std::uint32_t kSnapshotSetInProgress = 0x80042316;
inline constexpr std::uint32_t kInsufficientStorage = 0x8004231F;
inline constexpr std::uint32_t kUnexpectedWriterError = 0x80042315;
inline constexpr std::uint32_t kWriterNotResponding = 0x80042319;
inline constexpr std::uint32_t kWriterErrorInconsistentSnapshot = 0x800423F0;
inline constexpr std::uint32_t kWriterErrorOutOfResources = 0x800423F1;
inline constexpr std::uint32_t kWriterErrorTimeout = 0x800423F2;
inline constexpr std::uint32_t kWriterErrorRetryable = 0x800423F3;
inline constexpr std::uint32_t kWriterErrorNonRetryable = 0x800423F4;
inline constexpr std::uint32_t kWriterErrorRecoveryFailed = 0x800423F5;
inline constexpr std::uint32_t kWriterErrorPartialFailure = 0x80042336;
inline constexpr std::uint32_t kWriterStatusNotAvailable = 0x80042409;
inline constexpr std::uint32_t kAccessDenied = 0x80070005;  // E_ACCESSDENIED
inline constexpr std::uint32_t kInvalidArg = 0x80070057;    // E_INVALIDARG
inline constexpr std::uint32_t kOutOfMemory = 0x8007000E;   // E_OUTOFMEMORY
inline constexpr std::uint32_t kUnexpected = 0x8000FFFF;    // E_UNEXPECTED
inline constexpr std::uint32_t kNotImpl = 0x80004001;       // E_NOTIMPL
inline constexpr std::uint32_t kFail = 0x80004005;          // E_FAIL
}  // namespace hr

// Whether an HRESULT is a failure (its severity bit is set).
constexpr bool failed(std::uint32_t hresult) noexcept {
  return (hresult & 0x80000000u) != 0;
}

struct HresultInfo {
  std::uint32_t value = 0;
  std::string_view name{};     // "VSS_E_FLUSH_WRITES_TIMEOUT"
  std::string_view meaning{};  // "the system could not flush I/O writes"
  ErrorCode code = ErrorCode::kOk;
};

// Every HRESULT the table knows, in ascending order of value.
std::span<const HresultInfo> known_hresults() noexcept;
// The entry for `hresult`; nullptr for a code the table does not know.
const HresultInfo* find_hresult(std::uint32_t hresult) noexcept;
// Its name, or "HRESULT 0x8007001F" for an unknown one.
std::string hresult_name(std::uint32_t hresult);
// "0x80042313".
std::string hresult_hex(std::uint32_t hresult);
// "<name> (<hex>): <meaning>", e.g. "VSS_E_WRITERERROR_TIMEOUT (0x800423F2): the writer could
// not finish in time (typically the freeze window)"; "unknown error" as the meaning of a code
// the table does not know.
std::string hresult_description(std::uint32_t hresult);
// freezeframe's code for `hresult` (kOk for a success code, kIoError for an unknown failure).
ErrorCode hresult_error_code(std::uint32_t hresult) noexcept;

// The Status of a VSS call: OK for a success code, otherwise hresult_error_code(hresult) with
// "<call> returned <name> (<hex>): <meaning>", e.g.
//   "DoSnapshotSet returned VSS_E_FLUSH_WRITES_TIMEOUT (0x80042313): the system could not
//    flush I/O writes"
// An unknown failure reads "<call> returned HRESULT 0x8007001F (0x8007001F): unknown error".
// E_ACCESSDENIED adds what is needed: an elevated process (administrator or backup operator).
Status hresult_status(std::string_view call, std::uint32_t hresult);

// "VSS is not available on this system": CreateVssBackupComponents (or the first call on the
// object it made) failed with `hresult`, e.g. E_NOTIMPL under Wine. kUnsupported, with the
// call and the HRESULT in words after the sentence.
Status vss_unavailable(std::string_view call, std::uint32_t hresult);

// VSS_SNAPSHOT_CONTEXT and VSS_BACKUP_TYPE of freezeframe's (the values are VSS's).
std::int32_t context_value(SnapshotContext context) noexcept;
std::int32_t backup_type_value(BackupType type) noexcept;
// VSS_WRITER_STATE to WriterState (same values; kUnknown for anything out of range).
WriterState writer_state_from(std::int32_t vss_state) noexcept;
// A writer's failure HRESULT (GetWriterStatus's hrFailure) as a WriterFailure: the
// VSS_E_WRITERERROR_* kinds, VSS_E_WRITER_NOT_RESPONDING as kNotResponding,
// VSS_E_WRITER_STATUS_NOT_AVAILABLE as kRetryable; S_OK as kNone when `state` is not a failed
// state, else (a failed state without a code) kNonRetryable, as any other code.
WriterFailure writer_failure_from(std::uint32_t hresult, WriterState state) noexcept;

}  // namespace freezeframe::vss

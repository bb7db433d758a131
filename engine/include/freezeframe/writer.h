// Writers: an application's agent in the snapshot protocol (the model of a VSS writer).
//
// A writer describes what it owns (metadata: components with their files, volumes,
// databases and logs, and how to restore them), and receives the protocol's events in VSS
// order:
//
//   identify                      gather metadata
//   prepare_backup                the requestor chose components, context and backup type
//   prepare_snapshot              get ready; stop long work         -> waiting-for-freeze
//   freeze                        flush, then hold new writes       -> waiting-for-thaw
//   thaw                          resume writes                     -> waiting-for-post-snapshot
//   post_snapshot                 the snapshots exist               -> waiting-for-backup-complete
//   backup_complete               the requestor copied the data     -> stable
//   backup_shutdown               the session ended, in any outcome -> stable
//   abort                         undo prepare/freeze: resume normal operation (may repeat)
//   pre_restore / post_restore    around a restore
//
// The coordinator calls the events; a writer never calls them itself. Each event returns a
// WriterResult: OK, or a failure kind and a message. The coordinator records the writer's
// state (failed-at-<event> after a failure) and, while a snapshot set is in creation, fails
// the set and aborts every writer. The freeze-to-thaw window of each writer is bounded by its
// freeze_timeout() (60 s by default, as VSS; a mail-server-like writer may allow only 20 s).
//
// Thread-safety: the coordinator delivers one event at a time to a writer, but possibly from
// different threads, and an event may still be running (a stalled writer) when the
// coordinator gives up on it and calls abort() from another thread. Implementations guard
// their state accordingly.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "freezeframe/clock.h"
#include "freezeframe/protocol_phase.h"
#include "freezeframe/status.h"
#include "freezeframe/uuid.h"

namespace freezeframe {

// VSS_WRITER_STATE, same values.
enum class WriterState : std::uint8_t {
  kUnknown = 0,
  kStable = 1,
  kWaitingForFreeze = 2,
  kWaitingForThaw = 3,
  kWaitingForPostSnapshot = 4,
  kWaitingForBackupComplete = 5,
  kFailedAtIdentify = 6,
  kFailedAtPrepareBackup = 7,
  kFailedAtPrepareSnapshot = 8,
  kFailedAtFreeze = 9,
  kFailedAtThaw = 10,
  kFailedAtPostSnapshot = 11,
  kFailedAtBackupComplete = 12,
  kFailedAtPreRestore = 13,
  kFailedAtPostRestore = 14,
  kFailedAtBackupShutdown = 15,
};
// "stable", "waiting-for-freeze", "failed-at-freeze", ...
std::string_view writer_state_name(WriterState state) noexcept;
bool is_failed(WriterState state) noexcept;

// Why a writer failed (VSS_E_WRITERERROR_*).
enum class WriterFailure : std::uint8_t {
  kNone = 0,
  kRetryable = 1,             // transient: retry as is
  kNonRetryable = 2,          // severe: do not retry
  kTimeout = 3,               // could not finish in time (typically the freeze window)
  kInconsistentSnapshot = 4,  // the set lacks something the writer needs (a volume)
  kOutOfResources = 5,        // memory, handles
  kRecoveryFailed = 6,        // post-snapshot recovery on the snapshot failed
  kNotResponding = 7,         // the writer did not answer at all
};
// "retryable", "non-retryable", "timeout", ...
std::string_view writer_failure_name(WriterFailure failure) noexcept;

// A writer event: one of ProtocolPhase's writer phases (kIdentify to kAbort).
using WriterEvent = ProtocolPhase;
// "identify", "prepare-backup", ... (protocol_phase_name).
std::string_view writer_event_name(WriterEvent event) noexcept;
// The failed-at state for a failure in `event` (kUnknown for abort, which cannot fail, and
// for a phase that is no writer event).
WriterState failed_state_for(WriterEvent event) noexcept;

// VSS_USAGE_TYPE, VSS_SOURCE_TYPE, VSS_COMPONENT_TYPE, VSS_RESTOREMETHOD_ENUM, with VSS's
// values.
enum class WriterUsage : std::uint8_t {
  kUndefined = 0,
  kBootableSystemState = 1,
  kSystemService = 2,
  kUserData = 3,
  kOther = 4,
};
enum class WriterSource : std::uint8_t {
  kUndefined = 0,
  kTransactedDatabase = 1,
  kNonTransactedDatabase = 2,
  kOther = 3,
};
enum class ComponentType : std::uint8_t { kUndefined = 0, kDatabase = 1, kFileGroup = 2 };
enum class RestoreMethod : std::uint8_t {
  kUndefined = 0,
  kRestoreIfNotThere = 1,
  kRestoreIfCanReplace = 2,
  kStopRestoreStart = 3,
  kRestoreToAlternateLocation = 4,
  kRestoreAtReboot = 5,
  kRestoreAtRebootIfCannotReplace = 6,
  kCustom = 7,
  kRestoreStopStart = 8,
};
// Freeze order: front-end writers freeze first, then back-end, then system (VSS levels).
enum class ApplicationLevel : std::uint8_t { kSystem = 1, kBackEnd = 2, kFrontEnd = 3 };

// VSS_FILE_SPEC_BACKUP_TYPE: all backup types and all snapshot types required.
inline constexpr std::uint32_t kFileSpecAllTypes = 0xF0F;

// Files of a component, as VSS file descriptors.
struct FileSpec {
  std::string path{};      // directory
  std::string filespec{};  // file name or wildcard
  bool recursive = false;
  std::string alternate_location{};
  std::uint32_t backup_type_mask = kFileSpecAllTypes;
  friend bool operator==(const FileSpec&, const FileSpec&) = default;
};

struct WriterComponent {
  ComponentType type = ComponentType::kFileGroup;
  std::string logical_path{};  // place in the writer's component tree, "a\\b"
  std::string name{};
  std::string caption{};
  bool selectable = true;
  bool notify_on_backup_complete = true;
  // Names of the volumes the component's data lives on; a snapshot set must include all of
  // them for the component to be consistent.
  std::vector<std::string> volumes{};
  std::vector<FileSpec> files{};          // file-group files, or database data files
  std::vector<FileSpec> database_logs{};  // database log files
  friend bool operator==(const WriterComponent&, const WriterComponent&) = default;
};

struct WriterMetadata {
  std::string name{};
  Uuid class_id{};     // fixed per product
  Uuid instance_id{};  // this running instance
  std::string instance_name{};
  WriterUsage usage = WriterUsage::kUserData;
  WriterSource source = WriterSource::kOther;
  ApplicationLevel level = ApplicationLevel::kFrontEnd;
  RestoreMethod restore_method = RestoreMethod::kRestoreIfCanReplace;
  std::string restore_service{};
  bool reboot_required = false;
  std::vector<WriterComponent> components{};
  std::vector<FileSpec> excluded_files{};

  // Every volume named by a component, each once, in first-seen order.
  std::vector<std::string> volumes() const;

  friend bool operator==(const WriterMetadata&, const WriterMetadata&) = default;
};

// JSON form of writer metadata; the schema is documented in docs/protocol.md. from_json
// rejects malformed documents, unknown enum names and missing required fields with
// kInvalidArgument naming the field.
std::string writer_metadata_to_json(const WriterMetadata& metadata);
Result<WriterMetadata> writer_metadata_from_json(std::string_view json);

// VSS_BACKUP_TYPE.
enum class BackupType : std::uint8_t {
  kFull = 1,
  kIncremental = 2,
  kDifferential = 3,
  kLog = 4,
  kCopy = 5,
  kOther = 6,
};
std::string_view backup_type_name(BackupType type) noexcept;

// Snapshot attribute bits (VSS_VOLSNAP_ATTR_*), stored in SnapshotInfo::attributes.
inline constexpr std::uint32_t kAttrPersistent = 0x1;
inline constexpr std::uint32_t kAttrNoAutoRecovery = 0x2;
inline constexpr std::uint32_t kAttrClientAccessible = 0x4;
inline constexpr std::uint32_t kAttrNoAutoRelease = 0x8;
inline constexpr std::uint32_t kAttrNoWriters = 0x10;
inline constexpr std::uint32_t kAttrDifferential = 0x20000;

// VSS_SNAPSHOT_CONTEXT: a context is a set of attribute bits.
enum class SnapshotContext : std::uint32_t {
  kBackup = 0x0,                   // auto-released, with writers (the default)
  kFileShareBackup = 0x10,         // auto-released, no writers
  kNasRollback = 0x19,             // persistent, no writers
  kAppRollback = 0x9,              // persistent, with writers
  kClientAccessible = 0x1d,        // persistent, client-accessible, no writers
  kClientAccessibleWriters = 0xd,  // persistent, client-accessible, with writers
};
// "backup", "filesharebackup", "nasrollback", "approllback", "clientaccessible",
// "clientaccessiblewriters".
std::string_view snapshot_context_name(SnapshotContext context) noexcept;
Result<SnapshotContext> parse_snapshot_context(std::string_view name);
inline bool context_has(SnapshotContext context, std::uint32_t attribute) {
  return (static_cast<std::uint32_t>(context) & attribute) != 0;
}

// What a writer learns about the session during an event.
struct WriterSessionInfo {
  Uuid snapshot_set_id{};  // nil before the set is started
  SnapshotContext context = SnapshotContext::kBackup;
  BackupType backup_type = BackupType::kFull;
  std::vector<std::string> volumes{};  // volumes of the set (names)
  bool backup_succeeded = false;       // backup_complete only
};

// Outcome of one event.
struct WriterResult {
  WriterFailure failure = WriterFailure::kNone;
  std::string message{};

  static WriterResult success() { return {}; }
  static WriterResult fail(WriterFailure kind, std::string why) { return {kind, std::move(why)}; }
  bool ok() const noexcept { return failure == WriterFailure::kNone; }
};

class Writer {
 public:
  virtual ~Writer() = default;

  // Metadata; called at least once per session, also during restores. Cannot fail: a writer
  // that cannot describe itself returns a failure through the Result.
  virtual Result<WriterMetadata> identify() = 0;

  virtual WriterResult prepare_backup(const WriterSessionInfo&) { return {}; }
  virtual WriterResult prepare_snapshot(const WriterSessionInfo& session) = 0;
  virtual WriterResult freeze(const WriterSessionInfo& session) = 0;
  virtual WriterResult thaw(const WriterSessionInfo& session) = 0;
  virtual WriterResult post_snapshot(const WriterSessionInfo&) { return {}; }
  // Undo prepare or freeze and resume normal operation. Idempotent; may be called while
  // another event of this writer is still running (a stalled freeze).
  virtual void abort(const WriterSessionInfo& session) = 0;
  virtual WriterResult backup_complete(const WriterSessionInfo&) { return {}; }
  virtual void backup_shutdown(const Uuid& /*snapshot_set_id*/) {}
  virtual WriterResult pre_restore(const WriterSessionInfo&) { return {}; }
  virtual WriterResult post_restore(const WriterSessionInfo&) { return {}; }

  // The freeze-to-thaw window this writer allows (measured on the coordinator's Clock).
  virtual Nanoseconds freeze_timeout() const { return std::chrono::seconds(60); }
};

}  // namespace freezeframe

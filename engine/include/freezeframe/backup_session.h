// BackupSession: the requestor's side of the snapshot protocol (the model of
// IVssBackupComponents), one snapshot set per session, in the VSS call order
// (docs/protocol.md):
//
//   auto session = coordinator.create_session();
//   session->set_context(SnapshotContext::kBackup);        // optional
//   session->gather_writer_metadata();                      // identify
//   session->start_snapshot_set();                          // one set in creation at a time
//   session->add_to_snapshot_set("data");                   // default provider, or by id
//   session->prepare_for_backup();                          // prepare-backup
//   session->do_snapshot_set();                             // prepare, freeze, hold, commit...
//   auto volume = session->open_snapshot("data");           // read what was taken
//   session->backup_complete();                             // auto-release deletes them
//
// A session drives a BackupBackend: the engine that talks to writers and providers. The
// Coordinator's own sessions (Coordinator::create_session) are the first backend; a backend
// over the operating system's snapshot service can sit behind the same session API.
//
// Failure: whatever fails (a writer event, a provider call, a deadline, the requestor's
// abort()), the set ends the same way: held I/O released, writers told to abort where VSS
// tells them (after a failed freeze, thaw, provider call or deadline; not after a failed
// prepare-snapshot), every provider of the set aborted (no snapshot of the set is left), the
// session failed, and the returned Status names the culprit and the phase (plus, after
// "; cleanup failed: ", any snapshot a provider could not remove, naming the provider):
//   "writer 'mail' failed at freeze: timeout (freeze window 20 s exceeded)"
// Codes: kTimeout for a deadline or a writer's timeout failure, kAborted for a writer's
// other failures and the requestor's abort, the provider's own code for a provider failure,
// kLimitExceeded when the executor has no thread left for a call, kBusy when another set is
// in creation, kBadState for an out-of-order call. failure() gives the same account as data.
//
// Contexts: auto-release contexts (kBackup, kFileShareBackup) have their snapshots deleted
// at backup_complete(), when the session is destroyed without it, and, for a process that
// died, when their provider is next registered with a coordinator. Persistent contexts
// survive all three. Each snapshot carries the context's bits (plus kAttrDifferential for
// copy-on-write) in SnapshotInfo::attributes.
//
// Incremental backups: each snapshot of the set carries its change id
// (SnapshotInfo::change_id in snapshot_set()). A requestor records it with its backup, and
// the next time asks changed_extents(volume, that id) for what to read. Change tracking
// outlives the snapshots, so an auto-release context does not break the chain. The backup
// type set with set_backup_type() tells writers what kind of backup this is; which earlier
// backup the changes are counted from is the requestor's (the last one of any type for an
// incremental, the last full one for a differential).
//
// Thread-safety: a session is driven by one thread; abort() and gather_writer_status() may
// be called from any other thread at any time (abort() during prepare_for_backup() or
// do_snapshot_set() makes that call fail promptly, and the call does the cleanup).
// Lifetime: a session must not outlive what created it (the Coordinator); a volume returned
// by open_snapshot() must not outlive the session, nor the snapshot's deletion.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "freezeframe/protocol_log.h"
#include "freezeframe/snapshot_set.h"
#include "freezeframe/status.h"
#include "freezeframe/volume.h"
#include "freezeframe/writer.h"

namespace freezeframe {

// Who ended a snapshot set, where, and why.
struct SetFailure {
  Participant participant = Participant::kCoordinator;
  std::string name{};  // the writer's, provider's or volume's name
  ProtocolPhase phase = ProtocolPhase::kInitial;
  WriterFailure writer_failure = WriterFailure::kNone;
  Status status{};  // what the failed call returned
};

struct WriterStatus {
  std::string name{};
  Uuid class_id{};
  Uuid instance_id{};
  WriterState state = WriterState::kUnknown;
  WriterFailure failure = WriterFailure::kNone;
  std::string message{};
};

// What a BackupSession drives. Each method has the contract of the BackupSession method of
// the same name; the destructor ends the session (see ~BackupSession).
class BackupBackend {
 public:
  virtual ~BackupBackend() = default;

  virtual Status set_context(SnapshotContext context) = 0;
  virtual Status set_backup_type(BackupType type) = 0;
  virtual Result<std::vector<WriterMetadata>> gather_writer_metadata() = 0;
  virtual Result<Uuid> start_snapshot_set() = 0;
  virtual Status add_to_snapshot_set(const std::string& volume, const Uuid& provider_id) = 0;
  virtual Status prepare_for_backup() = 0;
  virtual Status do_snapshot_set() = 0;
  virtual std::vector<WriterStatus> gather_writer_status() const = 0;
  virtual Status backup_complete(bool backup_succeeded) = 0;
  virtual Status abort() = 0;
  virtual Result<SnapshotSet> snapshot_set() const = 0;
  virtual Uuid snapshot_set_id() const = 0;
  virtual std::optional<SetFailure> failure() const = 0;
  virtual Result<std::unique_ptr<Volume>> open_snapshot(const std::string& volume) = 0;
  virtual Result<ChangedExtents> changed_extents(const std::string& volume,
                                                 std::string_view since_change_id) const {
    (void)since_change_id;
    return Status(ErrorCode::kUnsupported,
                  "this backend does not track changes (volume '" + volume + "')");
  }
};

class BackupSession {
 public:
  // REQUIRES: `backend` not null.
  explicit BackupSession(std::unique_ptr<BackupBackend> backend);
  // Aborts a set in creation, auto-releases the snapshots of an auto-release context that
  // never saw backup_complete(), and sends backup_shutdown to the writers.
  ~BackupSession();
  BackupSession(const BackupSession&) = delete;
  BackupSession& operator=(const BackupSession&) = delete;

  // Before start_snapshot_set() (kBadState after).
  Status set_context(SnapshotContext context);
  Status set_backup_type(BackupType type);

  // Identify on every registered writer; once per session. A writer that fails fails the
  // session (the Status names it).
  Result<std::vector<WriterMetadata>> gather_writer_metadata();
  // kBusy if another session's set is in creation.
  Result<Uuid> start_snapshot_set();
  // `provider_id` nil: the volume's default provider. kNotFound for an unknown volume or
  // provider, kUnsupported if the provider refuses the volume, kAlreadyExists for a volume
  // added twice, kLimitExceeded past the coordinator's volumes_per_set_max.
  Status add_to_snapshot_set(const std::string& volume, const Uuid& provider_id = Uuid());
  // prepare_backup on every writer (writer contexts).
  Status prepare_for_backup();
  // Creates the set; see docs/protocol.md for the order, the deadlines and the failures.
  Status do_snapshot_set();
  std::vector<WriterStatus> gather_writer_status() const;
  // backup_complete on the writers; then deletes the snapshots of an auto-release context.
  Status backup_complete(bool backup_succeeded = true);
  // Abandons the session in any phase: a set in creation fails with kAborted, writers that
  // were prepared and not yet told are told to abort (also after a failed do_snapshot_set,
  // as VSS's AbortBackup), the set's snapshots (created or half-created) are deleted.
  Status abort();

  // REQUIRES: do_snapshot_set() succeeded (kBadState otherwise).
  Result<SnapshotSet> snapshot_set() const;
  Uuid snapshot_set_id() const;
  std::optional<SetFailure> failure() const;
  // The snapshot of `volume` in this session's set, opened read-only. kBadState before the
  // set is created or after its snapshots were released; kNotFound for a volume not in it.
  Result<std::unique_ptr<Volume>> open_snapshot(const std::string& volume);
  // Change tracking, for an incremental or differential backup: the chunks of `volume`
  // written between `since_change_id` (the change id a previous backup recorded, its
  // snapshot's SnapshotInfo::change_id) and this set's snapshot of it. A reset (read
  // everything) when the provider can no longer tell (see ChangedExtents). Same states and
  // errors as open_snapshot(); kUnsupported from a backend or provider that does not track.
  Result<ChangedExtents> changed_extents(const std::string& volume,
                                         std::string_view since_change_id) const;

 private:
  std::unique_ptr<BackupBackend> backend_;
};

}  // namespace freezeframe

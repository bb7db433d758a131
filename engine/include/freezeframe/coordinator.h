// The coordinator (the model of the VSS service) and the requestor's BackupSession.
//
// A Coordinator knows the writers, the providers (through a ProviderRegistry) and the
// HoldableVolumes applications write through. A BackupSession drives one snapshot set in
// the VSS call order (docs/protocol.md):
//
//   auto session = coordinator.create_session();
//   session->set_context(SnapshotContext::kBackup);        // optional
//   session->gather_writer_metadata();                      // identify
//   session->start_snapshot_set();                          // one set in creation at a time
//   session->add_to_snapshot_set("data");                   // default provider, or by id
//   session->prepare_for_backup();                          // prepare-backup
//   session->do_snapshot_set();                             // prepare, freeze, hold, commit...
//   ... copy data from session->snapshot_set().snapshots ...
//   session->backup_complete();                             // auto-release deletes them
//
// or all of it in one call: coordinator.take_snapshot_set({"data", "log"}).
//
// Inside do_snapshot_set: begin_prepare to providers, prepare_snapshot to writers,
// end_prepare, freeze by level (front-end, back-end, system), pre_commit, hold I/O on every
// volume, commit every provider, release I/O, post_commit, thaw, post_snapshot.
//
// Deadlines, all measured on the coordinator's Clock: each writer's freeze window
// (Writer::freeze_timeout(), freeze sent to thaw returned), the commit window
// (commit_window_max, I/O held to released), and every other writer event or provider call
// (event_duration_max). Every event runs on a worker thread, and the coordinator waits for
// it or for a deadline, whichever comes first, so a writer stalled forever cannot hang it.
//
// Failure: whatever fails (a writer event, a provider call, a deadline, the requestor's
// abort()), the set ends the same way: held I/O released, writers that were prepared or
// frozen told to abort, every provider of the set aborted (no snapshot of the set is left),
// the session failed, and the returned Status names the culprit and the phase (plus, after
// "; cleanup failed: ", any snapshot a provider could not remove, naming the provider):
//   "writer 'mail' failed at freeze: timeout (freeze window 20 s exceeded)"
// Codes: kTimeout for a deadline or a writer's timeout failure, kAborted for a writer's
// other failures and the requestor's abort, the provider's own code for a provider failure,
// kBusy when another set is in creation, kBadState for an out-of-order call. failure() gives
// the same account as data.
//
// Contexts: auto-release contexts (kBackup, kFileShareBackup) have their snapshots deleted
// at backup_complete(), when the session is destroyed without it, and, for a process that
// died, when their provider is next registered with a coordinator: register_provider()
// deletes every snapshot without kAttrNoAutoRelease. Persistent contexts survive all three.
// Each snapshot carries the context's bits (plus kAttrDifferential for copy-on-write) in
// SnapshotInfo::attributes.
//
// Thread-safety: Coordinator methods may be called from any thread. A BackupSession is
// driven by one thread; abort() and gather_writer_status() may be called from any other
// thread at any time (abort() during prepare_for_backup() or do_snapshot_set() makes that
// call fail promptly, and the call does the cleanup).
// Lifetime: writers, providers, volumes and the event sink are borrowed and must outlive the
// coordinator; sessions must not outlive it. The coordinator's destructor waits for events
// still running on stalled writers or providers, so those must return eventually.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "freezeframe/clock.h"
#include "freezeframe/holdable_volume.h"
#include "freezeframe/protocol_log.h"
#include "freezeframe/protocol_provider.h"
#include "freezeframe/random.h"
#include "freezeframe/status.h"
#include "freezeframe/writer.h"

namespace freezeframe {

struct CoordinatorOptions {
  // Where the event log goes; nullptr: nowhere.
  EventSink* events = nullptr;
  // I/O hold to release (VSS: 10 s, fixed).
  Nanoseconds commit_window_max = std::chrono::seconds(10);
  // Any writer event but freeze/thaw, and any provider call outside the commit window.
  Nanoseconds event_duration_max = std::chrono::seconds(180);
  std::size_t volumes_per_set_max = 64;
  // Source of snapshot-set ids; nullptr: the operating system's random source. Used under
  // the coordinator's lock.
  Random* random = nullptr;
};

// Who ended a snapshot set.
enum class Participant : std::uint8_t {
  kWriter = 1,
  kProvider = 2,
  kVolume = 3,       // an I/O hold that could not drain in the commit window
  kRequestor = 4,    // abort()
  kCoordinator = 5,  // a deadline that belongs to no single participant
};
std::string_view participant_name(Participant participant) noexcept;

struct SetFailure {
  Participant participant = Participant::kCoordinator;
  std::string name{};   // the writer's, provider's or volume's name
  std::string phase{};  // "identify", "freeze", "commit", ...
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

struct SnapshotSetInfo {
  Uuid id{};
  SnapshotContext context = SnapshotContext::kBackup;
  // One per volume, in the order the volumes were added.
  std::vector<SnapshotInfo> snapshots{};
};

struct SnapshotSetOptions {
  SnapshotContext context = SnapshotContext::kBackup;
  BackupType backup_type = BackupType::kFull;
  // Nil: each volume's default provider.
  Uuid provider_id{};
};

class Coordinator;

class BackupSession {
 public:
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
  // added twice, kLimitExceeded past volumes_per_set_max.
  Status add_to_snapshot_set(const std::string& volume, const Uuid& provider_id = Uuid());
  // prepare_backup on every writer (writer contexts).
  Status prepare_for_backup();
  // Creates the set; see the file comment for the order, deadlines and failure handling.
  Status do_snapshot_set();
  std::vector<WriterStatus> gather_writer_status() const;
  // backup_complete on the writers; then deletes the snapshots of an auto-release context.
  Status backup_complete(bool backup_succeeded = true);
  // Abandons the session in any phase: a set in creation fails with kAborted, writers are
  // told to abort, the set's snapshots (created or half-created) are deleted.
  Status abort();

  // REQUIRES: do_snapshot_set() succeeded (kBadState otherwise).
  Result<SnapshotSetInfo> snapshot_set() const;
  const Uuid& snapshot_set_id() const;
  std::optional<SetFailure> failure() const;

  struct Impl;

 private:
  friend class Coordinator;
  explicit BackupSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class Coordinator {
 public:
  explicit Coordinator(Clock& clock, CoordinatorOptions options = {});
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // kAlreadyExists for a writer registered twice.
  Status register_writer(Writer& writer);
  Status unregister_writer(Writer& writer);

  // Registers the provider and auto-releases what a dead process left: every snapshot the
  // provider holds without kAttrNoAutoRelease is deleted.
  Status register_provider(Provider& provider);
  Status set_default_provider(std::string volume, const Uuid& provider_id);
  const ProviderRegistry& providers() const;

  // The volume applications write through, held during the commit window; registered under
  // its name. Every volume added to a set must have one (kNotFound otherwise).
  Status add_volume(HoldableVolume& volume);

  std::unique_ptr<BackupSession> create_session();
  // The common case in one call: gather metadata, start a set, add `volumes`, prepare for
  // backup, do the set. The returned session holds the snapshots; call backup_complete().
  Result<std::unique_ptr<BackupSession>> take_snapshot_set(const std::vector<std::string>& volumes,
                                                           const SnapshotSetOptions& options = {});

  // True while some session's set is between start_snapshot_set() and the end of
  // do_snapshot_set().
  bool set_in_creation() const;

  struct Impl;

 private:
  friend class BackupSession;
  std::unique_ptr<Impl> impl_;
};

}  // namespace freezeframe

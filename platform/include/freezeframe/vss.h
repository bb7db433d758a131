// The VSS requestor: a BackupSession whose backend is Windows' Volume Shadow Copy Service
// (IVssBackupComponents), so a vendor's code drives real VSS exactly as it drives a
// Coordinator's session (backup_session.h). docs/windows.md, "The VSS requestor", says how
// contexts, backup types, writer states and errors map and what mingw-w64 builds can do.
//
//   VssSessionOptions options;
//   auto session = create_vss_session(options);      // kUnsupported where there is no VSS
//   if (!session.ok()) ...;
//   (*session)->set_context(SnapshotContext::kBackup);
//   (*session)->gather_writer_metadata();
//   (*session)->start_snapshot_set();
//   (*session)->add_to_snapshot_set("C:\\");           // a volume name VSS accepts
//   (*session)->prepare_for_backup();
//   (*session)->do_snapshot_set();
//   auto volume = (*session)->open_snapshot("C:\\");   // the shadow copy, read-only
//   (*session)->backup_complete();
//
// Volumes are named as VSS names them: "C:\", "C:\mount\", "\\?\Volume{GUID}\" (a trailing
// backslash is added when missing). open_snapshot() opens the shadow copy's device
// (\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN) as a read-only FileVolume. Shadow copies
// carry no change tracking: changed_extents() is kUnsupported and a backup reads everything.
//
// Availability: create_vss_session() fails with kUnsupported and the message "VSS is not
// available on this system (...)" when CreateVssBackupComponents fails or the first call on
// the object returns E_NOTIMPL (Wine, which implements no VSS), and on every operating system
// but Windows ("... exists only on Windows"). E_ACCESSDENIED from either (the process is no
// administrator or backup operator) is no such case: kIoError, saying so. Nothing is left behind
// then: the object, if any, is released and COM is uninitialised again. Otherwise VSS's failures
// come back as freezeframe codes with messages naming the VSS call, the HRESULT's name and value
// and its meaning (vss_errors.h); E_ACCESSDENIED (not an administrator or backup operator) is
// kIoError with a message that says so.
//
// Deadlines: each asynchronous VSS step (IVssAsync) is polled on `clock` every
// `poll_interval` until it completes or its deadline passes; then the step is cancelled
// (IVssAsync::Cancel), the backup aborted (AbortBackup) and the set's shadow copies deleted,
// and the call fails with kTimeout.
//
// Threading: COM is initialised (multithreaded apartment) on the thread that calls
// create_vss_session() and uninitialised when the session is destroyed; create, drive and
// destroy the session on threads of the multithreaded apartment (one driving thread at a
// time, as backup_session.h says). abort() may come from any thread; during an asynchronous
// step it makes that step fail at its next poll. gather_writer_status() returns the writer
// status VSS last reported (after prepare_for_backup, do_snapshot_set and backup_complete).
//
// Shadow copies outside a session, as vssadmin sees them: list_vss_shadows() lists every shadow
// copy VSS holds on the system (IVssBackupComponents::Query in VSS_CTX_ALL), whoever made it;
// delete_vss_shadow() deletes one by id (DeleteSnapshots); open_vss_shadow() opens one's device
// read-only. Each makes its own VSS object and releases it before returning.
//
// The `vss` provider (create_vss_provider): a ProtocolProvider (protocol_provider.h) that takes
// its snapshots with VSS, so a Coordinator's set can freeze freezeframe's writers and take a
// Windows volume's shadow copy at the same time:
//   end_prepare    VSS object: InitializeForBackup, SetContext (the set's context),
//                  GatherWriterMetadata, StartSnapshotSet, AddToSnapshotSet per volume,
//                  PrepareForBackup (VSS's own writers take part as the context says)
//   pre_commit     DoSnapshotSet: the point in time, taken while freezeframe's writers are
//                  frozen; VSS holds the volumes' I/O itself (holds_io_itself()), so the
//                  coordinator needs no HoldableVolume for them
//   commit         nothing left to do
//   post_commit    a persistent set: BackupComplete, and the object is released (the shadow
//                  copies stay until deleted); an auto-release set keeps its object, and so its
//                  shadow copies, until its last snapshot is deleted (BackupComplete then) or
//                  the provider is destroyed
//   abort          AbortBackup and DeleteSnapshots of the set, at any stage
// query() lists the shadow copies this provider made (never another requestor's: the
// coordinator auto-releases what query() lists at registration), with the coordinator's set id.
// Volumes are named as VSS names them (see above). changed_extents() is kUnsupported: a
// backup of a VSS shadow copy reads everything.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "freezeframe/backup_session.h"
#include "freezeframe/clock.h"
#include "freezeframe/protocol_provider.h"
#include "freezeframe/status.h"
#include "freezeframe/uuid.h"
#include "freezeframe/volume.h"

namespace freezeframe {

struct VssSessionOptions {
  // Deadlines and polls are measured on it; nullptr: a SystemClock owned by the session.
  // Borrowed: it must outlive the session.
  Clock* clock = nullptr;
  // Limits of the asynchronous steps. DoSnapshotSet covers every writer's freeze window (60 s
  // by default in VSS) and the commit; the others are writer events without a freeze.
  Nanoseconds do_snapshot_set_duration_max = std::chrono::minutes(5);
  Nanoseconds async_duration_max = std::chrono::minutes(10);
  // How often an IVssAsync is asked whether it finished (QEMU's agent: 10 ms).
  Nanoseconds poll_interval = std::chrono::milliseconds(10);
  // SetBackupState's bBackupBootableSystemState.
  bool backup_bootable_system_state = false;
};

// A BackupSession over VSS; see above. kUnsupported where VSS is not available.
Result<std::unique_ptr<BackupSession>> create_vss_session(const VssSessionOptions& options = {});

// True in a build for Windows, where VSS may be there (it still may not: Wine has none).
bool vss_built_in() noexcept;

// A shadow copy VSS holds (VSS_SNAPSHOT_PROP).
struct VssShadowCopy {
  Uuid id{};
  Uuid set_id{};
  std::uint32_t set_size = 0;     // shadow copies in its set
  std::string original_volume{};  // \\?\Volume{GUID}\ as VSS names it
  std::string device{};           // \\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN
  std::string originating_machine{};
  std::string service_machine{};
  Uuid provider_id{};            // the VSS provider that made it
  std::uint32_t attributes = 0;  // VSS_VOLSNAP_ATTR_* (writer.h kAttr* bits)
  Nanoseconds created{0};        // since the Unix epoch
};

// Every shadow copy VSS holds on this system, oldest first. kUnsupported where VSS is not
// available (as create_vss_session); kIoError for E_ACCESSDENIED (not elevated).
Result<std::vector<VssShadowCopy>> list_vss_shadows();
// Deletes one shadow copy (DeleteSnapshots, VSS_OBJECT_SNAPSHOT, forced). kNotFound if VSS
// holds none with this id.
Status delete_vss_shadow(const Uuid& shadow_id);
// The shadow copy's device as a read-only Volume named after its original volume.
Result<std::unique_ptr<Volume>> open_vss_shadow(const VssShadowCopy& shadow);

// The `vss` provider; see above. Its name is kVssProviderName, its id
// Uuid::from_name(kVssProviderName). kUnsupported where VSS is not available (checked by making
// and releasing one VSS object).
inline constexpr std::string_view kVssProviderName = "vss";
Result<std::unique_ptr<ProtocolProvider>> create_vss_provider(
    const VssSessionOptions& options = {});

}  // namespace freezeframe

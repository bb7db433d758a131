// VssBackend: a BackupBackend over one IVssBackupComponents object (the requestor side of
// VSS). create_vss_session() (freezeframe/vss.h) wraps it in a BackupSession; tests build it
// over a fake object. Private to platform/windows.
//
// Call order (vss-model.md section 1.2), each BackupSession call to its VSS calls:
//   create              CreateVssBackupComponents, InitializeForBackup
//   set_context         SetContext(VSS_CTX_*)
//   set_backup_type     SetBackupState(volume mode, bootable system state, VSS_BT_*); the
//                       first step that needs it calls it with VSS_BT_FULL if nobody did
//   gather_writer_metadata  GatherWriterMetadata + IVssAsync, GetWriterMetadataCount,
//                       GetWriterMetadata (IVssExamineWriterMetadata), FreeWriterMetadata
//   start_snapshot_set  StartSnapshotSet
//   add_to_snapshot_set AddToSnapshotSet
//   prepare_for_backup  PrepareForBackup + IVssAsync, GatherWriterStatus + IVssAsync
//   do_snapshot_set     DoSnapshotSet + IVssAsync, GatherWriterStatus + IVssAsync,
//                       GetSnapshotProperties (+ free_snapshot_properties) per volume
//   backup_complete     BackupComplete + IVssAsync, GatherWriterStatus + IVssAsync,
//                       DeleteSnapshots(set) in an auto-release context
//   destruction         Release (VSS sends BackupShutdown and auto-releases)
// Writer-less contexts (kAttrNoWriters) skip GatherWriterMetadata, PrepareForBackup,
// BackupComplete and the writer status, which VSS refuses there.
//
// Failure: a failed VSS call, a failed writer in the writer status, an IVssAsync past its
// deadline, or abort() ends the set: an async still running is cancelled (Cancel), AbortBackup
// is called once PrepareForBackup succeeded or DoSnapshotSet was called, the set's shadow
// copies are deleted (DeleteSnapshots of the set, forced; VSS_E_OBJECT_NOT_FOUND counts as
// done) once DoSnapshotSet was called, and the object is released. failure() then names the
// culprit: the writer (from the writer status), VSS as provider (a failed call), the
// coordinator (a deadline) or the requestor (abort). A call that fails without ending the set
// (StartSnapshotSet busy, AddToSnapshotSet refusing a volume, a call out of order) leaves the
// session as it was.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "freezeframe/backup_session.h"
#include "freezeframe/clock.h"
#include "vss_com.h"

namespace freezeframe::windows {

// What the backend calls besides the object's methods; tests inject fakes.
struct VssApi {
  // Makes the IVssBackupComponents object (CreateVssBackupComponents).
  std::function<HRESULT(IVssBackupComponents**)> create{};
  // Frees what GetSnapshotProperties filled in (VssFreeSnapshotProperties). Called only for
  // properties a successful GetSnapshotProperties returned: Wine's stub aborts otherwise.
  std::function<void(VSS_SNAPSHOT_PROP*)> free_snapshot_properties{};

  // The real ones, from vssapi.dll.
  static VssApi system();
};

struct VssBackendOptions {
  // Borrowed; must outlive the backend. Required.
  Clock* clock = nullptr;
  // Kept alive as long as the backend (create_vss_session's own SystemClock, if any).
  std::shared_ptr<Clock> own_clock{};
  Nanoseconds do_snapshot_set_duration_max = std::chrono::minutes(5);
  Nanoseconds async_duration_max = std::chrono::minutes(10);
  Nanoseconds poll_interval = std::chrono::milliseconds(10);
  bool backup_bootable_system_state = false;
  // Waits `interval` between two polls of an IVssAsync. Empty: waits on `clock` (a timer and
  // a condition variable). A test over a SimClock advances the clock here.
  std::function<void(Nanoseconds)> pause{};
  // Called once after the object is released (create_vss_session: CoUninitialize).
  std::function<void()> on_release{};
};

class VssBackend final : public BackupBackend {
 public:
  // Makes the object with api.create and calls InitializeForBackup. kUnsupported "VSS is not
  // available on this system (...)" when create fails (but for E_ACCESSDENIED) or
  // InitializeForBackup returns E_NOTIMPL; E_ACCESSDENIED and other failures as
  // vss::hresult_status. Nothing is left behind on failure (the object is released;
  // options.on_release is not called).
  static Result<std::unique_ptr<VssBackend>> create(VssApi api, VssBackendOptions options);
  ~VssBackend() override;
  VssBackend(const VssBackend&) = delete;
  VssBackend& operator=(const VssBackend&) = delete;

  Status set_context(SnapshotContext context) override;
  Status set_backup_type(BackupType type) override;
  Result<std::vector<WriterMetadata>> gather_writer_metadata() override;
  Result<Uuid> start_snapshot_set() override;
  Status add_to_snapshot_set(const std::string& volume, const Uuid& provider_id) override;
  Status prepare_for_backup() override;
  Status do_snapshot_set() override;
  std::vector<WriterStatus> gather_writer_status() const override;
  Status backup_complete(bool backup_succeeded) override;
  Status abort() override;
  Result<SnapshotSet> snapshot_set() const override;
  Uuid snapshot_set_id() const override;
  std::optional<SetFailure> failure() const override;
  Result<std::unique_ptr<Volume>> open_snapshot(const std::string& volume) override;
  Result<ChangedExtents> changed_extents(const std::string& volume,
                                         std::string_view since_change_id) const override;

  // The device of the volume's shadow copy, once the set exists (open_snapshot's errors).
  Result<std::wstring> snapshot_device(const std::string& volume) const;
  // DeleteSnapshots of one shadow copy of the set on this object (the vss provider deleting
  // one snapshot of an auto-release set that keeps the others). kNotFound if VSS has none.
  Status delete_snapshot(const Uuid& snapshot_id);

  // The most volumes VSS takes in one set.
  static constexpr std::size_t kVolumesPerSetMax = 64;

 private:
  enum class Stage : std::uint8_t {
    kInitial,
    kSetStarted,
    kPrepared,
    kCreating,
    kCreated,
    kCompleted,
    kFailed,
    kAborted,
  };
  struct VolumeEntry {
    std::string name;    // as the requestor named it
    std::wstring path;   // as VSS takes it (trailing backslash)
    GUID snapshot_id{};  // AddToSnapshotSet's
    SnapshotInfo info;   // from GetSnapshotProperties
    std::wstring device;
  };
  // How an IVssAsync ended.
  enum class AsyncEnd : std::uint8_t { kFinished, kFailed, kTimedOut, kAborted };
  struct AsyncOutcome {
    AsyncEnd end = AsyncEnd::kFinished;
    Status status;
  };

  VssBackend(VssApi api, VssBackendOptions options, ComRef<IVssBackupComponents> components);

  // Clears busy_ when a call that set it returns, on every path.
  struct BusyScope {
    explicit BusyScope(VssBackend& owner) : backend(owner) {}
    ~BusyScope() {
      std::lock_guard lock(backend.mutex_);
      backend.busy_ = false;
    }
    BusyScope(const BusyScope&) = delete;
    BusyScope& operator=(const BusyScope&) = delete;
    VssBackend& backend;
  };

  bool writers_involved() const { return !context_has(context_, kAttrNoWriters); }
  bool auto_release() const { return !context_has(context_, kAttrNoAutoRelease); }
  Status out_of_order(const char* call, std::string_view expected) const;
  // SetBackupState with `type`; with the recorded type unless done (ensure_backup_state).
  Status set_backup_state(BackupType type);
  Status ensure_backup_state();
  // Starts an asynchronous VSS call and polls its IVssAsync until it ends, its deadline
  // (`limit`) passes, or abort() is requested; Cancel()s it in the last two cases.
  AsyncOutcome run_async(const char* call, const std::function<HRESULT(IVssAsync**)>& start,
                         Nanoseconds limit);
  void pause(Nanoseconds interval);
  // GatherWriterStatus and the statuses; the first failed writer as a SetFailure.
  Result<std::optional<SetFailure>> refresh_writer_status();
  // The failure an AsyncOutcome other than kFinished stands for, in `phase`.
  SetFailure async_failure(const AsyncOutcome& outcome, ProtocolPhase phase) const;
  // Ends the set as `failed` says (see the header comment); returns the Status to report.
  // What the cleanup could not do also goes to `*cleanup_status` (kIoError) when given.
  Status fail_set(SetFailure failed, bool abort_backup, bool delete_set, Stage final_stage,
                  Status* cleanup_status = nullptr);
  // DeleteSnapshots of the whole set; OK when VSS finds nothing to delete.
  Status delete_set();
  Status read_snapshot_properties();
  void release_components();

  VssApi api_;
  VssBackendOptions options_;
  ComRef<IVssBackupComponents> components_;

  mutable std::mutex mutex_;  // guards what abort() and the status getters read
  Stage stage_ = Stage::kInitial;
  SnapshotContext context_ = SnapshotContext::kBackup;
  BackupType backup_type_ = BackupType::kFull;
  bool backup_state_set_ = false;
  bool metadata_gathered_ = false;
  bool prepared_backup_ = false;  // PrepareForBackup succeeded
  GUID set_guid_{};
  Uuid set_id_{};
  std::vector<VolumeEntry> volumes_;
  std::vector<WriterStatus> writer_status_;
  std::optional<SetFailure> failure_;
  std::atomic<bool> abort_requested_{false};
  // A call that polls an IVssAsync runs on the driving thread: abort() from another thread
  // then only raises abort_requested_ and leaves the cleanup to that call.
  bool busy_ = false;
};

}  // namespace freezeframe::windows

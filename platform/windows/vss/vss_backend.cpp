// VssBackend: the requestor's calls over IVssBackupComponents (see vss_backend.h).
#include "vss_backend.h"

#include <algorithm>
#include <condition_variable>
#include <utility>

#include "freezeframe/assert.h"
#include "freezeframe/file_volume.h"
#include "freezeframe/vss_errors.h"
#include "vss_shadows.h"

namespace freezeframe::windows {

namespace {

std::uint32_t bits(HRESULT hr) {
  return static_cast<std::uint32_t>(hr);
}

std::string seconds_text(Nanoseconds duration) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
  if (ms % 1000 == 0)
    return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

// VSS wants volume names with a trailing backslash ("C:\", "\\?\Volume{...}\").
std::wstring vss_volume_path(const std::string& volume) {
  std::wstring path = widen(volume);
  if (path.empty() || path.back() != L'\\')
    path.push_back(L'\\');
  return path;
}

// The writer event a failed-at state stands for (WriterState and ProtocolPhase keep the same
// order, protocol_phase.h).
ProtocolPhase phase_of_failed_state(WriterState state) {
  const int offset = static_cast<int>(state) - static_cast<int>(WriterState::kFailedAtIdentify);
  return static_cast<ProtocolPhase>(static_cast<int>(ProtocolPhase::kIdentify) + offset);
}

}  // namespace

Result<std::unique_ptr<VssBackend>> VssBackend::create(VssApi api, VssBackendOptions options) {
  FF_ASSERT(options.clock != nullptr);
  FF_ASSERT(api.create && api.free_snapshot_properties);
  FF_ASSIGN_OR_RETURN(ComRef<IVssBackupComponents> components, make_backup_components(api));
  return std::unique_ptr<VssBackend>(
      new VssBackend(std::move(api), std::move(options), std::move(components)));
}

VssBackend::VssBackend(VssApi api, VssBackendOptions options,
                       ComRef<IVssBackupComponents> components)
    : api_(std::move(api)), options_(std::move(options)), components_(std::move(components)) {}

VssBackend::~VssBackend() {
  Stage at;
  {
    std::lock_guard lock(mutex_);
    at = stage_;
  }
  if (at == Stage::kSetStarted || at == Stage::kPrepared) {
    abort().ignore_error();
  } else if (at == Stage::kCreated && auto_release()) {
    // Ended without backup_complete: the set goes, as releasing the object would do anyway.
    delete_set().ignore_error();
  }
  release_components();
}

void VssBackend::release_components() {
  if (!components_)
    return;
  components_.reset();
  if (options_.on_release)
    options_.on_release();
}

Status VssBackend::out_of_order(const char* call, std::string_view expected) const {
  return bad_state(std::string("VSS backup session: ") + call + " is out of order (" +
                   std::string(expected) + ")");
}

void VssBackend::pause(Nanoseconds interval) {
  if (options_.pause) {
    options_.pause(interval);
    return;
  }
  struct Wake {
    std::mutex mutex;
    std::condition_variable done;
    bool fired = false;
  };
  auto wake = std::make_shared<Wake>();
  options_.clock->schedule_after(interval, [wake] {
    std::lock_guard lock(wake->mutex);
    wake->fired = true;
    wake->done.notify_all();
  });
  std::unique_lock lock(wake->mutex);
  wake->done.wait(lock, [&] { return wake->fired; });
}

Status VssBackend::ensure_backup_state() {
  if (backup_state_set_)
    return Status();
  return set_backup_state(backup_type_);
}

VssBackend::AsyncOutcome VssBackend::run_async(const char* call,
                                               const std::function<HRESULT(IVssAsync**)>& start,
                                               Nanoseconds limit) {
  ComRef<IVssAsync> async;
  const HRESULT started = start(async.put());
  if (FAILED(started))
    return {AsyncEnd::kFailed, vss::hresult_status(call, bits(started))};
  if (!async)
    return {AsyncEnd::kFailed, io_error(std::string(call) + " returned no IVssAsync")};
  Clock& clock = *options_.clock;
  const Nanoseconds deadline = clock.now() + limit;
  // The deadline bounds the loop on a clock that moves; the count bounds it on one that
  // does not.
  const std::int64_t polls_max = limit / std::max(options_.poll_interval, Nanoseconds(1)) + 2;
  for (std::int64_t poll = 0;; ++poll) {
    HRESULT result = S_OK;
    const HRESULT queried = async->QueryStatus(&result, nullptr);
    if (FAILED(queried)) {
      async->Cancel();
      return {AsyncEnd::kFailed,
              vss::hresult_status(std::string("IVssAsync::QueryStatus of ") + call, bits(queried))};
    }
    if (bits(result) != vss::hr::kAsyncPending) {
      if (bits(result) == vss::hr::kAsyncCancelled)
        return {AsyncEnd::kAborted, aborted(std::string(call) + " was cancelled")};
      if (FAILED(result))
        return {AsyncEnd::kFailed, vss::hresult_status(call, bits(result))};
      return {AsyncEnd::kFinished, Status()};
    }
    if (abort_requested_.load()) {
      async->Cancel();
      return {AsyncEnd::kAborted,
              aborted(std::string("requestor aborted the snapshot set during ") + call)};
    }
    if (clock.now() >= deadline || poll >= polls_max) {
      async->Cancel();
      return {AsyncEnd::kTimedOut, timeout(std::string(call) + " did not finish within " +
                                           seconds_text(limit) + "; cancelled")};
    }
    pause(options_.poll_interval);
  }
}

SetFailure VssBackend::async_failure(const AsyncOutcome& outcome, ProtocolPhase phase) const {
  switch (outcome.end) {
    case AsyncEnd::kTimedOut:
      return {.participant = Participant::kCoordinator, .phase = phase, .status = outcome.status};
    case AsyncEnd::kAborted:
      return {.participant = Participant::kRequestor, .phase = phase, .status = outcome.status};
    default:
      return {.participant = Participant::kProvider,
              .name = "VSS",
              .phase = phase,
              .status = outcome.status};
  }
}

Result<std::optional<SetFailure>> VssBackend::refresh_writer_status() {
  AsyncOutcome gathered = run_async(
      "GatherWriterStatus", [&](IVssAsync** out) { return components_->GatherWriterStatus(out); },
      options_.async_duration_max);
  if (gathered.end != AsyncEnd::kFinished)
    return gathered.status;
  UINT count = 0;
  FF_TRY(
      vss::hresult_status("GetWriterStatusCount", bits(components_->GetWriterStatusCount(&count))));
  std::vector<WriterStatus> statuses;
  std::optional<SetFailure> first_failed;
  Status read;
  for (UINT i = 0; i < count && read.ok(); ++i) {
    VSS_ID instance{};
    VSS_ID writer{};
    BSTR name = nullptr;
    VSS_WRITER_STATE state = VSS_WS_UNKNOWN;
    HRESULT failure = S_OK;
    read = vss::hresult_status(
        "GetWriterStatus",
        bits(components_->GetWriterStatus(i, &instance, &writer, &name, &state, &failure)));
    if (!read.ok())
      break;
    WriterStatus status{.name = take_bstr(name),
                        .class_id = uuid_from_guid(writer),
                        .instance_id = uuid_from_guid(instance),
                        .state = vss::writer_state_from(static_cast<std::int32_t>(state))};
    status.failure = vss::writer_failure_from(bits(failure), status.state);
    if (is_failed(status.state)) {
      status.message = vss::hresult_description(bits(failure));
      if (!first_failed.has_value()) {
        const ProtocolPhase phase = phase_of_failed_state(status.state);
        const bool timed_out = status.failure == WriterFailure::kTimeout ||
                               status.failure == WriterFailure::kNotResponding;
        first_failed = SetFailure{
            .participant = Participant::kWriter,
            .name = status.name,
            .phase = phase,
            .writer_failure = status.failure,
            .status = Status(timed_out ? ErrorCode::kTimeout : ErrorCode::kAborted,
                             "writer '" + status.name + "' failed at " +
                                 std::string(protocol_phase_name(phase)) + ": " + status.message)};
      }
    }
    statuses.push_back(std::move(status));
  }
  const HRESULT freed = components_->FreeWriterStatus();
  FF_TRY(read);
  FF_TRY(vss::hresult_status("FreeWriterStatus", bits(freed)));
  {
    std::lock_guard lock(mutex_);
    writer_status_ = std::move(statuses);
  }
  return first_failed;
}

Status VssBackend::delete_set() {
  LONG deleted = 0;
  VSS_ID not_deleted{};
  const HRESULT hr = components_->DeleteSnapshots(set_guid_, VSS_OBJECT_SNAPSHOT_SET, TRUE,
                                                  &deleted, &not_deleted);
  if (bits(hr) == vss::hr::kObjectNotFound)
    return Status();
  Status status = vss::hresult_status("DeleteSnapshots", bits(hr));
  if (!status.ok()) {
    return Status(status.code(), status.message() + " (snapshot set " + set_id_.to_string() + ", " +
                                     std::to_string(deleted) + " deleted, not deleted: " +
                                     uuid_from_guid(not_deleted).to_string() + ")");
  }
  return status;
}

Status VssBackend::fail_set(SetFailure failed, bool abort_backup, bool delete_shadows,
                            Stage final_stage, Status* cleanup_status) {
  std::string cleanup;
  if (components_) {
    if (abort_backup) {
      Status status = vss::hresult_status("AbortBackup", bits(components_->AbortBackup()));
      if (!status.ok())
        cleanup += status.message();
    }
    if (delete_shadows) {
      Status status = delete_set();
      if (!status.ok())
        cleanup += (cleanup.empty() ? "" : "; ") + status.message();
    }
  }
  if (!cleanup.empty()) {
    failed.status =
        Status(failed.status.code(), failed.status.message() + "; cleanup failed: " + cleanup);
    if (cleanup_status != nullptr)
      *cleanup_status = io_error("cleanup failed: " + cleanup);
  }
  // One object, one backup: release it now, so another requestor can create a set.
  release_components();
  std::lock_guard lock(mutex_);
  stage_ = final_stage;
  failure_ = failed;
  return failed.status;
}

// ---- the requestor's calls ----

Status VssBackend::set_context(SnapshotContext context) {
  std::lock_guard lock(mutex_);
  if (stage_ != Stage::kInitial || metadata_gathered_)
    return out_of_order("set_context", "call it first, before gather_writer_metadata");
  FF_TRY(vss::hresult_status("SetContext",
                             bits(components_->SetContext(vss::context_value(context)))));
  context_ = context;
  return Status();
}

Status VssBackend::set_backup_type(BackupType type) {
  std::lock_guard lock(mutex_);
  if (stage_ != Stage::kInitial)
    return out_of_order("set_backup_type", "call it before start_snapshot_set");
  return set_backup_state(type);
}

Status VssBackend::set_backup_state(BackupType type) {
  // Volume mode (no component selection), no partial files.
  FF_TRY(vss::hresult_status(
      "SetBackupState", bits(components_->SetBackupState(
                            false, options_.backup_bootable_system_state,
                            static_cast<VSS_BACKUP_TYPE>(vss::backup_type_value(type)), false))));
  backup_type_ = type;
  backup_state_set_ = true;
  return Status();
}

Result<std::vector<WriterMetadata>> VssBackend::gather_writer_metadata() {
  {
    std::lock_guard lock(mutex_);
    if (metadata_gathered_ || stage_ != Stage::kInitial)
      return out_of_order("gather_writer_metadata", "once per session, before start_snapshot_set");
    metadata_gathered_ = true;
    busy_ = true;
  }
  BusyScope scope(*this);
  // VSS involves no writers in these contexts (and needs no metadata).
  if (!writers_involved())
    return std::vector<WriterMetadata>{};
  FF_TRY(ensure_backup_state());
  AsyncOutcome gathered = run_async(
      "GatherWriterMetadata",
      [&](IVssAsync** out) { return components_->GatherWriterMetadata(out); },
      options_.async_duration_max);
  if (gathered.end != AsyncEnd::kFinished)
    return fail_set(async_failure(gathered, ProtocolPhase::kIdentify), false, false,
                    Stage::kFailed);
  UINT count = 0;
  Status status = vss::hresult_status("GetWriterMetadataCount",
                                      bits(components_->GetWriterMetadataCount(&count)));
  std::vector<WriterMetadata> result;
  for (UINT i = 0; i < count && status.ok(); ++i) {
    VSS_ID instance{};
    ComRef<IVssExamineWriterMetadata> document;
    status = vss::hresult_status(
        "GetWriterMetadata", bits(components_->GetWriterMetadata(i, &instance, document.put())));
    if (status.ok() && !document)
      status = io_error("GetWriterMetadata returned no metadata document");
    if (!status.ok())
      break;
    Result<WriterMetadata> metadata = writer_metadata_from(*document.get());
    if (!metadata.ok()) {
      status = metadata.status();
      break;
    }
    result.push_back(std::move(metadata).value());
  }
  const Status freed =
      vss::hresult_status("FreeWriterMetadata", bits(components_->FreeWriterMetadata()));
  if (status.ok())
    status = freed;
  if (!status.ok()) {
    return fail_set({.participant = Participant::kProvider,
                     .name = "VSS",
                     .phase = ProtocolPhase::kIdentify,
                     .status = status},
                    false, false, Stage::kFailed);
  }
  {
    std::lock_guard lock(mutex_);
    busy_ = false;
    if (!abort_requested_.load())
      return result;
  }
  abort().ignore_error();  // failure() carries it
  return aborted("requestor aborted the session during gather_writer_metadata");
}

Result<Uuid> VssBackend::start_snapshot_set() {
  // Under the lock, as every short synchronous call: abort() from another thread waits for it.
  std::lock_guard lock(mutex_);
  if (stage_ != Stage::kInitial)
    return out_of_order("start_snapshot_set", "once per session");
  if (writers_involved() && !metadata_gathered_)
    return out_of_order("start_snapshot_set",
                        "a context with writers needs gather_writer_metadata first");
  FF_TRY(ensure_backup_state());
  VSS_ID id{};
  // VSS_E_SNAPSHOT_SET_IN_PROGRESS is kBusy: the session stays as it was, to retry later.
  FF_TRY(vss::hresult_status("StartSnapshotSet", bits(components_->StartSnapshotSet(&id))));
  set_guid_ = id;
  set_id_ = uuid_from_guid(id);
  stage_ = Stage::kSetStarted;
  return set_id_;
}

Status VssBackend::add_to_snapshot_set(const std::string& volume, const Uuid& provider_id) {
  std::lock_guard lock(mutex_);
  if (stage_ != Stage::kSetStarted && stage_ != Stage::kPrepared)
    return out_of_order("add_to_snapshot_set", "between start_snapshot_set and do_snapshot_set");
  const std::wstring path = vss_volume_path(volume);
  for (const VolumeEntry& entry : volumes_) {
    if (entry.path == path)
      return already_exists("volume '" + volume + "' is already in snapshot set " +
                            set_id_.to_string());
  }
  if (volumes_.size() >= kVolumesPerSetMax)
    return limit_exceeded("snapshot set " + set_id_.to_string() + " already has " +
                          std::to_string(volumes_.size()) + " volumes (the maximum)");
  std::wstring name = path;  // AddToSnapshotSet takes a non-const string
  VSS_ID snapshot{};
  const HRESULT hr =
      components_->AddToSnapshotSet(name.data(), guid_from_uuid(provider_id), &snapshot);
  Status status = vss::hresult_status("AddToSnapshotSet", bits(hr));
  if (!status.ok())
    return status.with_context("volume '" + volume + "'");
  volumes_.push_back({.name = volume, .path = path, .snapshot_id = snapshot});
  return Status();
}

Status VssBackend::prepare_for_backup() {
  {
    std::lock_guard lock(mutex_);
    if (stage_ != Stage::kSetStarted)
      return out_of_order("prepare_for_backup", "once, after start_snapshot_set");
    busy_ = true;
  }
  BusyScope scope(*this);
  if (writers_involved()) {
    AsyncOutcome prepared = run_async(
        "PrepareForBackup", [&](IVssAsync** out) { return components_->PrepareForBackup(out); },
        options_.async_duration_max);
    if (prepared.end != AsyncEnd::kFinished) {
      // After a failed PrepareForBackup VSS wants no AbortBackup; after a cancelled one the
      // writers may have been told, so they get it.
      return fail_set(async_failure(prepared, ProtocolPhase::kPrepareForBackup),
                      prepared.end != AsyncEnd::kFailed, false,
                      prepared.end == AsyncEnd::kAborted ? Stage::kAborted : Stage::kFailed);
    }
    prepared_backup_ = true;
    Result<std::optional<SetFailure>> writers = refresh_writer_status();
    if (!writers.ok() || writers->has_value()) {
      SetFailure failed = writers.ok() ? **writers
                                       : SetFailure{.participant = Participant::kProvider,
                                                    .name = "VSS",
                                                    .phase = ProtocolPhase::kPrepareForBackup,
                                                    .status = writers.status()};
      return fail_set(std::move(failed), true, false, Stage::kFailed);
    }
  }
  bool aborted_meanwhile = false;
  {
    std::lock_guard lock(mutex_);
    stage_ = Stage::kPrepared;
    busy_ = false;
    aborted_meanwhile = abort_requested_.load();
  }
  if (aborted_meanwhile) {
    abort().ignore_error();  // failure() carries it
    return aborted("requestor aborted the snapshot set during prepare_for_backup");
  }
  return Status();
}

Status VssBackend::do_snapshot_set() {
  {
    std::lock_guard lock(mutex_);
    const bool ready = writers_involved()
                           ? stage_ == Stage::kPrepared
                           : (stage_ == Stage::kSetStarted || stage_ == Stage::kPrepared);
    if (!ready) {
      return out_of_order("do_snapshot_set",
                          writers_involved() ? "after start_snapshot_set, add_to_snapshot_set and "
                                               "prepare_for_backup"
                                             : "after start_snapshot_set and add_to_snapshot_set");
    }
    stage_ = Stage::kCreating;
  }
  AsyncOutcome created = run_async(
      "DoSnapshotSet", [&](IVssAsync** out) { return components_->DoSnapshotSet(out); },
      options_.do_snapshot_set_duration_max);
  if (created.end != AsyncEnd::kFinished) {
    return fail_set(async_failure(created, ProtocolPhase::kDoSnapshotSet), true, true,
                    created.end == AsyncEnd::kAborted ? Stage::kAborted : Stage::kFailed);
  }
  if (writers_involved()) {
    Result<std::optional<SetFailure>> writers = refresh_writer_status();
    if (!writers.ok() || writers->has_value()) {
      SetFailure failed = writers.ok() ? **writers
                                       : SetFailure{.participant = Participant::kProvider,
                                                    .name = "VSS",
                                                    .phase = ProtocolPhase::kDoSnapshotSet,
                                                    .status = writers.status()};
      return fail_set(std::move(failed), true, true, Stage::kFailed);
    }
  }
  if (Status read = read_snapshot_properties(); !read.ok()) {
    return fail_set({.participant = Participant::kProvider,
                     .name = "VSS",
                     .phase = ProtocolPhase::kDoSnapshotSet,
                     .status = read},
                    true, true, Stage::kFailed);
  }
  bool aborted_meanwhile = false;
  {
    // abort() takes this lock to read the stage: it lands either before the set counts as
    // created (and the set fails here) or after (and deletes the snapshots itself).
    std::lock_guard lock(mutex_);
    aborted_meanwhile = abort_requested_.load();
    if (!aborted_meanwhile)
      stage_ = Stage::kCreated;
  }
  if (aborted_meanwhile) {
    return fail_set({.participant = Participant::kRequestor,
                     .phase = ProtocolPhase::kDoSnapshotSet,
                     .status = aborted("requestor aborted the snapshot set")},
                    true, true, Stage::kAborted);
  }
  return Status();
}

Status VssBackend::read_snapshot_properties() {
  std::uint32_t sequence = 0;
  for (VolumeEntry& entry : volumes_) {
    VSS_SNAPSHOT_PROP properties{};
    const HRESULT hr = components_->GetSnapshotProperties(entry.snapshot_id, &properties);
    FF_TRY(vss::hresult_status("GetSnapshotProperties", bits(hr))
               .with_context("volume '" + entry.name + "'"));
    SnapshotInfo info;
    info.id = uuid_from_guid(properties.m_SnapshotId);
    info.set_id = uuid_from_guid(properties.m_SnapshotSetId);
    info.created = unix_time_from_vss(properties.m_tsCreationTimestamp);
    const std::wstring original = properties.m_pwszOriginalVolumeName != nullptr
                                      ? properties.m_pwszOriginalVolumeName
                                      : entry.path;
    info.origin_id = Uuid::from_name(narrow(original));
    info.origin_name = entry.name;
    info.provider = ProviderKind::kCopyOnWrite;
    info.attributes = static_cast<std::uint32_t>(properties.m_lSnapshotAttributes);
    info.sequence = ++sequence;
    entry.device = properties.m_pwszSnapshotDeviceObject != nullptr
                       ? properties.m_pwszSnapshotDeviceObject
                       : std::wstring();
    entry.info = std::move(info);
    api_.free_snapshot_properties(&properties);
    if (entry.device.empty())
      return io_error("GetSnapshotProperties gave no device for the snapshot of volume '" +
                      entry.name + "'");
  }
  return Status();
}

std::vector<WriterStatus> VssBackend::gather_writer_status() const {
  std::lock_guard lock(mutex_);
  return writer_status_;
}

Status VssBackend::backup_complete(bool backup_succeeded) {
  (void)backup_succeeded;  // volume mode: no component results to record (SetBackupSucceeded)
  {
    std::lock_guard lock(mutex_);
    if (stage_ != Stage::kCreated)
      return out_of_order("backup_complete", "after a successful do_snapshot_set");
    busy_ = true;
  }
  BusyScope scope(*this);
  Status first_error;
  if (writers_involved()) {
    AsyncOutcome completed = run_async(
        "BackupComplete", [&](IVssAsync** out) { return components_->BackupComplete(out); },
        options_.async_duration_max);
    first_error = completed.status;
    if (completed.end == AsyncEnd::kFinished) {
      Result<std::optional<SetFailure>> writers = refresh_writer_status();
      if (!writers.ok())
        first_error = writers.status();
      else if (writers->has_value())
        first_error = (*writers)->status;
    }
  }
  Status released;
  if (auto_release())
    released = delete_set();
  {
    std::lock_guard lock(mutex_);
    stage_ = Stage::kCompleted;
  }
  if (!first_error.ok())
    return first_error;
  return released;
}

Status VssBackend::abort() {
  Stage at;
  {
    std::lock_guard lock(mutex_);
    at = stage_;
    abort_requested_.store(true);
    if (at == Stage::kCreating || busy_)
      return Status();  // the running call sees it at its next poll (or its end) and cleans up
    if (at == Stage::kInitial || at == Stage::kSetStarted || at == Stage::kPrepared ||
        at == Stage::kCreated)
      stage_ = Stage::kAborted;  // claim the session before the cleanup below
  }
  switch (at) {
    case Stage::kInitial:
    case Stage::kSetStarted:
    case Stage::kPrepared: {
      const ProtocolPhase after = at == Stage::kInitial      ? ProtocolPhase::kInitial
                                  : at == Stage::kSetStarted ? ProtocolPhase::kStartSnapshotSet
                                                             : ProtocolPhase::kPrepareForBackup;
      fail_set({.participant = Participant::kRequestor,
                .phase = after,
                .status = aborted("requestor aborted the snapshot set after " +
                                  std::string(protocol_phase_name(after)))},
               prepared_backup_, false, Stage::kAborted)
          .ignore_error();  // failure() carries it
      return Status();
    }
    case Stage::kCreated: {
      Status cleanup;
      fail_set({.participant = Participant::kRequestor,
                .phase = ProtocolPhase::kBackup,
                .status = aborted("requestor aborted the backup")},
               true, true, Stage::kAborted, &cleanup)
          .ignore_error();  // failure() carries it
      return cleanup;
    }
    default:
      // Failed (the cleanup, AbortBackup included, is done), completed or aborted already.
      return Status();
  }
}

Result<SnapshotSet> VssBackend::snapshot_set() const {
  std::lock_guard lock(mutex_);
  if (stage_ != Stage::kCreated && stage_ != Stage::kCompleted)
    return out_of_order("snapshot_set", "after a successful do_snapshot_set");
  SnapshotSet set{.id = set_id_, .context = context_};
  for (const VolumeEntry& entry : volumes_)
    set.snapshots.push_back(entry.info);
  return set;
}

Uuid VssBackend::snapshot_set_id() const {
  std::lock_guard lock(mutex_);
  return set_id_;
}

std::optional<SetFailure> VssBackend::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

Result<std::wstring> VssBackend::snapshot_device(const std::string& volume) const {
  std::lock_guard lock(mutex_);
  const bool released = stage_ == Stage::kCompleted && auto_release();
  if ((stage_ != Stage::kCreated && stage_ != Stage::kCompleted) || released) {
    return released ? bad_state("the snapshots of set " + set_id_.to_string() +
                                " were released at backup_complete")
                    : out_of_order("open_snapshot", "after a successful do_snapshot_set");
  }
  const std::wstring path = vss_volume_path(volume);
  auto entry = std::find_if(volumes_.begin(), volumes_.end(),
                            [&](const VolumeEntry& e) { return e.path == path; });
  if (entry == volumes_.end())
    return not_found("volume '" + volume + "' is not in snapshot set " + set_id_.to_string());
  return entry->device;
}

Result<std::unique_ptr<Volume>> VssBackend::open_snapshot(const std::string& volume) {
  FF_ASSIGN_OR_RETURN(std::wstring device, snapshot_device(volume));
  return open_shadow_device(std::move(device), volume);
}

Status VssBackend::delete_snapshot(const Uuid& snapshot_id) {
  {
    std::lock_guard lock(mutex_);
    if (stage_ != Stage::kCreated && stage_ != Stage::kCompleted)
      return out_of_order("delete_snapshot", "after a successful do_snapshot_set");
  }
  return delete_shadow(*components_.get(), snapshot_id);
}

Result<ChangedExtents> VssBackend::changed_extents(const std::string& volume,
                                                   std::string_view since_change_id) const {
  (void)since_change_id;
  return unsupported("VSS shadow copies carry no change tracking: back up volume '" + volume +
                     "' in full");
}

}  // namespace freezeframe::windows

// The `vss` provider (see vss_provider.h and freezeframe/vss.h).
#include "vss_provider.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "vss_shadows.h"

namespace freezeframe::windows {

namespace {

// The context whose bits the coordinator passed (writer.h: a context is a set of attribute
// bits); kUnsupported for bits that make none.
Result<SnapshotContext> context_of(std::uint32_t attributes) {
  const std::uint32_t bits = attributes & 0x1fU;
  for (SnapshotContext context :
       {SnapshotContext::kBackup, SnapshotContext::kFileShareBackup, SnapshotContext::kNasRollback,
        SnapshotContext::kAppRollback, SnapshotContext::kClientAccessible,
        SnapshotContext::kClientAccessibleWriters}) {
    if (static_cast<std::uint32_t>(context) == bits)
      return context;
  }
  return unsupported("the vss provider has no VSS context for attributes " +
                     std::to_string(attributes));
}

Status not_prepared(const Uuid& set_id, const char* call) {
  return bad_state(std::string("vss provider: ") + call + " for snapshot set " +
                   set_id.to_string() + ", which is not being prepared here");
}

}  // namespace

Result<std::unique_ptr<VssProvider>> VssProvider::create(VssApi api, VssBackendOptions options) {
  {
    // Is VSS there? One object made and released says so.
    FF_ASSIGN_OR_RETURN(ComRef<IVssBackupComponents> probe, make_backup_components(api));
  }
  return std::unique_ptr<VssProvider>(new VssProvider(std::move(api), std::move(options)));
}

VssProvider::VssProvider(VssApi api, VssBackendOptions options)
    : api_(std::move(api)),
      options_(std::move(options)),
      id_(Uuid::from_name(kVssProviderName)),
      name_(kVssProviderName) {}

VssProvider::~VssProvider() {
  // A set still being prepared is aborted; auto-release sets go with their objects (VSS
  // releases their shadow copies); persistent ones stay, as VSS keeps them.
  std::optional<Set> pending;
  std::vector<Set> held;
  {
    std::lock_guard lock(mutex_);
    pending = std::exchange(pending_, std::nullopt);
    held = std::exchange(held_, {});
  }
  if (pending)
    discard(std::move(*pending)).ignore_error();
  for (Set& set : held) {
    if (set.backend)
      set.backend->backup_complete(true).ignore_error();
  }
  held.clear();
  if (options_.on_release)
    options_.on_release();
}

bool VssProvider::is_volume_supported(std::string_view volume) const {
  auto letter = [&](std::size_t at) {
    return at < volume.size() && std::isalpha(static_cast<unsigned char>(volume[at])) != 0;
  };
  if (volume.rfind("\\\\?\\Volume{", 0) == 0)
    return volume.find('}') != std::string_view::npos;
  // C:, C:\ or C:\folder\ (a mounted folder).
  if (!letter(0) || volume.size() < 2 || volume[1] != ':')
    return false;
  return volume.size() == 2 || volume[2] == '\\';
}

Result<std::shared_ptr<VssBackend>> VssProvider::pending_backend(const Uuid& set_id,
                                                                 const char* call) const {
  std::lock_guard lock(mutex_);
  if (!pending_ || pending_->set_id != set_id || !pending_->backend)
    return not_prepared(set_id, call);
  return pending_->backend;
}

Status VssProvider::begin_prepare(const Uuid& set_id, std::string_view volume,
                                  std::uint32_t attributes) {
  FF_TRY(context_of(attributes).status());
  if (!is_volume_supported(volume))
    return unsupported("the vss provider does not take volume '" + std::string(volume) +
                       "' (a drive such as C:\\, a volume GUID path or a mounted folder)");
  std::optional<Set> stale;
  {
    std::lock_guard lock(mutex_);
    if (pending_ && pending_->set_id != set_id)
      stale = std::exchange(pending_, std::nullopt);  // a set that never reached its commit
    if (!pending_)
      pending_ = Set{.set_id = set_id, .attributes = attributes};
    if (std::find(pending_->volumes.begin(), pending_->volumes.end(), volume) ==
        pending_->volumes.end())
      pending_->volumes.emplace_back(volume);
  }
  if (stale)
    discard(std::move(*stale)).ignore_error();
  return Status();
}

Status VssProvider::end_prepare(const Uuid& set_id) {
  std::uint32_t attributes = 0;
  std::vector<std::string> volumes;
  {
    std::lock_guard lock(mutex_);
    if (!pending_ || pending_->set_id != set_id || pending_->backend)
      return not_prepared(set_id, "end_prepare");
    attributes = pending_->attributes;
    volumes = pending_->volumes;
  }
  FF_ASSIGN_OR_RETURN(SnapshotContext context, context_of(attributes));
  VssBackendOptions options = options_;
  options.on_release = nullptr;  // the provider's, when it goes
  auto made = VssBackend::create(api_, std::move(options));
  Status status = made.status();
  std::shared_ptr<VssBackend> backend;
  if (made.ok()) {
    backend = std::move(made).value();
    // On any failure below, destroying the backend aborts the VSS set and releases the object.
    status = backend->set_context(context);
    if (status.ok())
      status = backend->gather_writer_metadata().status();
    if (status.ok())
      status = backend->start_snapshot_set().status();
    for (const std::string& volume : volumes) {
      if (status.ok())
        status = backend->add_to_snapshot_set(volume, Uuid());
    }
    if (status.ok())
      status = backend->prepare_for_backup();
  }
  std::lock_guard lock(mutex_);
  const bool still_ours = pending_ && pending_->set_id == set_id && !pending_->backend;
  if (!status.ok() || !still_ours) {
    if (still_ours)
      pending_.reset();
    if (backend)
      backend->abort().ignore_error();
    return status.ok() ? aborted("snapshot set " + set_id.to_string() +
                                 " was aborted while VSS prepared it")
                       : status.with_context("vss provider");
  }
  pending_->backend = std::move(backend);
  return Status();
}

Status VssProvider::pre_commit(const Uuid& set_id) {
  FF_ASSIGN_OR_RETURN(std::shared_ptr<VssBackend> backend, pending_backend(set_id, "pre_commit"));
  Status status = backend->do_snapshot_set();  // the shadow copies: the point in time
  std::vector<Snapshot> snapshots;
  if (status.ok()) {
    auto set = backend->snapshot_set();
    status = set.status();
    if (set.ok()) {
      for (SnapshotInfo info : set->snapshots) {
        auto device = backend->snapshot_device(info.origin_name);
        if (!device.ok()) {
          status = device.status();
          break;
        }
        snapshots.push_back({std::move(info), std::move(device).value()});
      }
    }
  }
  std::lock_guard lock(mutex_);
  const bool still_ours = pending_ && pending_->set_id == set_id && pending_->backend == backend;
  if (!status.ok() || !still_ours) {
    if (still_ours)
      pending_.reset();
    backend->abort().ignore_error();  // deletes the set's shadow copies if any were made
    return status.ok()
               ? aborted("snapshot set " + set_id.to_string() + " was aborted while VSS took it")
               : status.with_context("vss provider");
  }
  for (Snapshot& snapshot : snapshots) {
    snapshot.info.set_id = set_id;
    snapshot.info.attributes |= pending_->attributes;
  }
  pending_->snapshots = std::move(snapshots);
  pending_->created = true;
  return Status();
}

Status VssProvider::commit(const Uuid& set_id) {
  // DoSnapshotSet took the shadow copies at pre_commit, while the writers were frozen.
  std::lock_guard lock(mutex_);
  if (!pending_ || pending_->set_id != set_id || !pending_->created)
    return not_prepared(set_id, "commit");
  return Status();
}

Status VssProvider::post_commit(const Uuid& set_id) {
  Set set;
  {
    std::lock_guard lock(mutex_);
    if (!pending_ || pending_->set_id != set_id || !pending_->created)
      return not_prepared(set_id, "post_commit");
    set = std::move(*pending_);
    pending_.reset();
  }
  if (!auto_release(set)) {
    // Persistent: VSS keeps the shadow copies; the writers hear BackupComplete now.
    Status completed = set.backend->backup_complete(true);
    set.backend.reset();
    if (!completed.ok()) {
      discard(std::move(set)).ignore_error();
      return completed.with_context("vss provider");
    }
  }
  std::lock_guard lock(mutex_);
  held_.push_back(std::move(set));
  return Status();
}

Status VssProvider::discard(Set set) {
  if (set.backend)
    return set.backend->abort();  // AbortBackup, DeleteSnapshots of the set, as its stage needs
  Status first;
  for (const Snapshot& snapshot : set.snapshots) {
    Status deleted = delete_shadow(api_, snapshot.info.id);
    if (!deleted.ok() && deleted.code() != ErrorCode::kNotFound && first.ok())
      first = deleted;
  }
  return first;
}

Status VssProvider::abort(const Uuid& set_id) {
  std::optional<Set> found;
  {
    std::lock_guard lock(mutex_);
    if (pending_ && pending_->set_id == set_id) {
      found = std::exchange(pending_, std::nullopt);
    } else {
      auto it = std::find_if(held_.begin(), held_.end(),
                             [&](const Set& set) { return set.set_id == set_id; });
      if (it != held_.end()) {
        found = std::move(*it);
        held_.erase(it);
      }
    }
  }
  return found ? discard(std::move(*found)) : Status();
}

Status VssProvider::delete_snapshot(const Uuid& snapshot_id) {
  std::shared_ptr<VssBackend> backend;
  bool last = false;
  {
    std::lock_guard lock(mutex_);
    auto set = std::find_if(held_.begin(), held_.end(), [&](const Set& s) {
      return std::any_of(s.snapshots.begin(), s.snapshots.end(),
                         [&](const Snapshot& snapshot) { return snapshot.info.id == snapshot_id; });
    });
    if (set == held_.end())
      return not_found("the vss provider made no snapshot " + snapshot_id.to_string() +
                       " (delete_vss_shadow deletes any shadow copy VSS holds)");
    backend = set->backend;
    last = set->snapshots.size() == 1;
    if (!last || !backend) {
      Status deleted =
          backend ? backend->delete_snapshot(snapshot_id) : delete_shadow(api_, snapshot_id);
      if (!deleted.ok() && deleted.code() != ErrorCode::kNotFound)
        return deleted;
      std::erase_if(set->snapshots,
                    [&](const Snapshot& snapshot) { return snapshot.info.id == snapshot_id; });
      if (set->snapshots.empty())
        held_.erase(set);
      return Status();
    }
    held_.erase(set);
  }
  // The last snapshot of an auto-release set: BackupComplete, which releases the set.
  return backend->backup_complete(true);
}

std::vector<SnapshotInfo> VssProvider::query() const {
  std::lock_guard lock(mutex_);
  std::vector<SnapshotInfo> infos;
  for (const Set& set : held_)
    for (const Snapshot& snapshot : set.snapshots)
      infos.push_back(snapshot.info);
  return infos;
}

Result<std::unique_ptr<Volume>> VssProvider::open_snapshot(const Uuid& snapshot_id) {
  std::wstring device;
  std::string volume;
  {
    std::lock_guard lock(mutex_);
    for (const Set& set : held_)
      for (const Snapshot& snapshot : set.snapshots)
        if (snapshot.info.id == snapshot_id) {
          device = snapshot.device;
          volume = snapshot.info.origin_name;
        }
  }
  if (volume.empty())
    return not_found("the vss provider holds no snapshot " + snapshot_id.to_string());
  return open_shadow_device(std::move(device), volume);
}

}  // namespace freezeframe::windows

#include "freezeframe/protocol_provider.h"

#include <algorithm>
#include <utility>

#include "freezeframe/writer.h"

namespace freezeframe {

BlockSnapshotProvider::BlockSnapshotProvider(std::string name, ProviderKind kind, Uuid id)
    : name_(std::move(name)), kind_(kind), id_(id.is_nil() ? Uuid::from_name(name_) : id) {}

Status BlockSnapshotProvider::add_volume(SnapshotProvider& provider, std::string volume) {
  if (volume.empty())
    volume = provider.name();
  if (provider.kind() != kind_)
    return invalid_argument("provider '" + name_ + "' (" + std::string(provider_kind_name(kind_)) +
                            ") cannot serve volume '" + volume + "': it is " +
                            std::string(provider_kind_name(provider.kind())));
  std::lock_guard lock(mutex_);
  if (!volumes_.emplace(volume, &provider).second)
    return Status(ErrorCode::kAlreadyExists,
                  "provider '" + name_ + "' already serves a volume named '" + volume + "'");
  return Status();
}

bool BlockSnapshotProvider::is_volume_supported(std::string_view volume) const {
  std::lock_guard lock(mutex_);
  return volumes_.find(volume) != volumes_.end();
}

SnapshotProvider* BlockSnapshotProvider::volume_provider(std::string_view volume) const {
  auto it = volumes_.find(volume);
  return it == volumes_.end() ? nullptr : it->second;
}

Status BlockSnapshotProvider::begin_prepare(const Uuid& set_id, std::string_view volume,
                                            std::uint32_t attributes) {
  std::lock_guard lock(mutex_);
  if (volume_provider(volume) == nullptr)
    return Status(ErrorCode::kUnsupported,
                  "provider '" + name_ + "' does not support volume '" + std::string(volume) + "'");
  // A new set discards the half-prepared state of any earlier set that never committed.
  for (auto it = sets_.begin(); it != sets_.end();) {
    if (it->first != set_id && !it->second.aborted && it->second.created.empty())
      it = sets_.erase(it);
    else
      ++it;
  }
  SetState& state = sets_[set_id];
  if (state.aborted)
    return Status(ErrorCode::kAborted,
                  "provider '" + name_ + "': snapshot set " + set_id.to_string() + " was aborted");
  for (const PreparedVolume& prepared : state.volumes) {
    if (prepared.volume == volume)
      return Status(ErrorCode::kAlreadyExists, "provider '" + name_ + "': volume '" +
                                                   std::string(volume) + "' is already in set " +
                                                   set_id.to_string());
  }
  std::uint32_t bits = attributes;
  if (kind_ == ProviderKind::kCopyOnWrite)
    bits |= kAttrDifferential;
  state.volumes.push_back({std::string(volume), bits});
  return Status();
}

Status BlockSnapshotProvider::end_prepare(const Uuid& set_id) {
  std::lock_guard lock(mutex_);
  auto it = sets_.find(set_id);
  if (it == sets_.end() || it->second.aborted)
    return not_found("provider '" + name_ + "': no snapshot set " + set_id.to_string() +
                     " in preparation");
  return Status();
}

Status BlockSnapshotProvider::pre_commit(const Uuid& set_id) {
  FF_TRY(end_prepare(set_id));
  std::vector<PreparedVolume> volumes;
  {
    std::lock_guard lock(mutex_);
    volumes = sets_.at(set_id).volumes;
  }
  // Flush before the commit window opens (writers are frozen, I/O not yet held), so that
  // commit() finds little to write back: a CoW write-back buffer would otherwise be written,
  // with its barriers, while the volumes' I/O is held.
  for (const PreparedVolume& prepared : volumes) {
    SnapshotProvider* provider = nullptr;
    {
      std::lock_guard lock(mutex_);
      provider = volume_provider(prepared.volume);
    }
    if (Status status = provider->flush(); !status.ok())
      return status.with_context("provider '" + name_ + "' pre-commit flush of volume '" +
                                 prepared.volume + "'");
  }
  return Status();
}

Status BlockSnapshotProvider::commit(const Uuid& set_id) {
  std::vector<PreparedVolume> volumes;
  {
    std::lock_guard lock(mutex_);
    auto it = sets_.find(set_id);
    if (it == sets_.end() || it->second.aborted)
      return not_found("provider '" + name_ + "': no snapshot set " + set_id.to_string() +
                       " to commit");
    volumes = it->second.volumes;
  }
  for (const PreparedVolume& prepared : volumes) {
    SnapshotProvider* provider = nullptr;
    {
      std::lock_guard lock(mutex_);
      auto it = sets_.find(set_id);
      if (it == sets_.end() || it->second.aborted)
        return Status(ErrorCode::kAborted, "provider '" + name_ + "': snapshot set " +
                                               set_id.to_string() + " aborted during commit");
      provider = volume_provider(prepared.volume);
    }
    auto created = provider->create_snapshot(set_id, prepared.attributes);
    if (!created.ok())
      return created.status().with_context("provider '" + name_ + "' commit of volume '" +
                                           prepared.volume + "'");
    bool discard = false;
    {
      std::lock_guard lock(mutex_);
      auto it = sets_.find(set_id);
      if (it == sets_.end() || it->second.aborted)
        discard = true;
      else
        it->second.created.emplace_back(prepared.volume, created->id);
    }
    if (discard) {
      // abort() ran while this snapshot was being created: it must not survive.
      provider->delete_snapshot(created->id).ignore_error();
      return Status(ErrorCode::kAborted, "provider '" + name_ + "': snapshot set " +
                                             set_id.to_string() + " aborted during commit");
    }
  }
  return Status();
}

Status BlockSnapshotProvider::post_commit(const Uuid& set_id) {
  std::lock_guard lock(mutex_);
  auto it = sets_.find(set_id);
  if (it == sets_.end() || it->second.aborted)
    return not_found("provider '" + name_ + "': no snapshot set " + set_id.to_string() +
                     " committed");
  // The set is complete: its snapshots are ordinary snapshots from now on.
  sets_.erase(it);
  return Status();
}

Status BlockSnapshotProvider::discard_snapshots_of(const Uuid& set_id) {
  std::vector<SnapshotProvider*> providers;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, provider] : volumes_)
      providers.push_back(provider);
  }
  Status first_error;
  for (SnapshotProvider* provider : providers) {
    for (const SnapshotInfo& info : provider->snapshots()) {
      if (info.set_id != set_id)
        continue;
      Status deleted = provider->delete_snapshot(info.id);
      if (!deleted.ok() && deleted.code() != ErrorCode::kNotFound && first_error.ok())
        first_error = deleted.with_context("provider '" + name_ + "' abort");
    }
  }
  return first_error;
}

Status BlockSnapshotProvider::abort(const Uuid& set_id) {
  if (set_id.is_nil())
    return invalid_argument("provider '" + name_ + "': abort needs a snapshot set id");
  {
    std::lock_guard lock(mutex_);
    SetState& state = sets_[set_id];
    if (!state.aborted) {
      state.aborted = true;
      state.volumes.clear();
      state.created.clear();
      aborted_order_.push_back(set_id);
      // Remember a bounded number of aborted sets, so a late commit of one is discarded.
      while (aborted_order_.size() > kAbortedSetsMax) {
        sets_.erase(aborted_order_.front());
        aborted_order_.erase(aborted_order_.begin());
      }
    }
  }
  return discard_snapshots_of(set_id);
}

Status BlockSnapshotProvider::delete_snapshot(const Uuid& snapshot_id) {
  std::vector<SnapshotProvider*> providers;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, provider] : volumes_)
      providers.push_back(provider);
  }
  for (SnapshotProvider* provider : providers) {
    if (provider->snapshot_info(snapshot_id).ok())
      return provider->delete_snapshot(snapshot_id);
  }
  return not_found("provider '" + name_ + "': no snapshot " + snapshot_id.to_string());
}

std::vector<SnapshotInfo> BlockSnapshotProvider::query() const {
  std::vector<SnapshotProvider*> providers;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, provider] : volumes_)
      providers.push_back(provider);
  }
  std::vector<SnapshotInfo> result;
  for (SnapshotProvider* provider : providers) {
    auto snapshots = provider->snapshots();
    result.insert(result.end(), snapshots.begin(), snapshots.end());
  }
  return result;
}

// ---- ProviderRegistry ----

Status ProviderRegistry::add(Provider& provider) {
  std::lock_guard lock(mutex_);
  for (const Provider* existing : providers_) {
    if (existing->id() == provider.id() || existing->name() == provider.name())
      return Status(ErrorCode::kAlreadyExists, "provider '" + provider.name() + "' (" +
                                                   provider.id().to_string() +
                                                   ") is already registered");
  }
  providers_.push_back(&provider);
  return Status();
}

Status ProviderRegistry::remove(const Uuid& provider_id) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(providers_.begin(), providers_.end(),
                         [&](const Provider* p) { return p->id() == provider_id; });
  if (it == providers_.end())
    return not_found("no provider " + provider_id.to_string() + " is registered");
  providers_.erase(it);
  for (auto d = defaults_.begin(); d != defaults_.end();) {
    if (d->second == provider_id)
      d = defaults_.erase(d);
    else
      ++d;
  }
  return Status();
}

Status ProviderRegistry::set_default(std::string volume, const Uuid& provider_id) {
  FF_ASSIGN_OR_RETURN(Provider * provider, find(provider_id));
  if (!provider->is_volume_supported(volume))
    return Status(ErrorCode::kUnsupported,
                  "provider '" + provider->name() + "' does not support volume '" + volume + "'");
  std::lock_guard lock(mutex_);
  defaults_[std::move(volume)] = provider_id;
  return Status();
}

Result<Provider*> ProviderRegistry::find(const Uuid& provider_id) const {
  std::lock_guard lock(mutex_);
  for (Provider* provider : providers_) {
    if (provider->id() == provider_id)
      return provider;
  }
  return not_found("no provider " + provider_id.to_string() + " is registered");
}

Result<Provider*> ProviderRegistry::find(std::string_view provider_name) const {
  std::lock_guard lock(mutex_);
  for (Provider* provider : providers_) {
    if (provider->name() == provider_name)
      return provider;
  }
  return not_found("no provider named '" + std::string(provider_name) + "' is registered");
}

Result<Provider*> ProviderRegistry::select(std::string_view volume, const Uuid& provider_id) const {
  if (!provider_id.is_nil()) {
    FF_ASSIGN_OR_RETURN(Provider * provider, find(provider_id));
    if (!provider->is_volume_supported(volume))
      return Status(ErrorCode::kUnsupported, "provider '" + provider->name() +
                                                 "' does not support volume '" +
                                                 std::string(volume) + "'");
    return provider;
  }
  std::vector<Provider*> candidates;
  Uuid preferred;
  {
    std::lock_guard lock(mutex_);
    candidates = providers_;
    auto it = defaults_.find(volume);
    if (it != defaults_.end())
      preferred = it->second;
  }
  if (!preferred.is_nil()) {
    for (Provider* provider : candidates) {
      if (provider->id() == preferred && provider->is_volume_supported(volume))
        return provider;
    }
  }
  for (Provider* provider : candidates) {
    if (provider->is_volume_supported(volume))
      return provider;
  }
  return Status(ErrorCode::kUnsupported,
                "no registered provider supports volume '" + std::string(volume) + "'");
}

std::vector<Provider*> ProviderRegistry::providers() const {
  std::lock_guard lock(mutex_);
  return providers_;
}

}  // namespace freezeframe

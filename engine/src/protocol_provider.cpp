// BlockSnapshotAdapter and ProviderRegistry (see protocol_provider.h).
#include "freezeframe/protocol_provider.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "freezeframe/writer.h"

namespace freezeframe {

// ---- BlockSnapshotAdapter ----

namespace {

class BlockAdapter final : public BlockSnapshotAdapter {
 public:
  BlockAdapter(std::string name, ProviderKind kind, Uuid id)
      : name_(std::move(name)), kind_(kind), id_(id.is_nil() ? Uuid::from_name(name_) : id) {}

  const Uuid& id() const noexcept override { return id_; }
  const std::string& name() const noexcept override { return name_; }
  ProviderKind kind() const noexcept override { return kind_; }
  bool is_volume_supported(std::string_view volume) const override {
    std::lock_guard lock(mutex_);
    return engine(volume) != nullptr;
  }

  Status begin_prepare(const Uuid& set_id, std::string_view volume,
                       std::uint32_t attributes) override {
    std::lock_guard lock(mutex_);
    if (engine(volume) == nullptr)
      return Status(ErrorCode::kUnsupported, "provider '" + name_ + "' does not support volume '" +
                                                 std::string(volume) + "'");
    // A new set discards the half-prepared state of any earlier set that never committed.
    for (auto it = sets_.begin(); it != sets_.end();) {
      if (it->first != set_id && !it->second.aborted && it->second.created.empty())
        it = sets_.erase(it);
      else
        ++it;
    }
    SetState& state = sets_[set_id];
    if (state.aborted)
      return Status(ErrorCode::kAborted, "provider '" + name_ + "': snapshot set " +
                                             set_id.to_string() + " was aborted");
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

  Status end_prepare(const Uuid& set_id) override {
    std::lock_guard lock(mutex_);
    return live_or_not_found(set_id, "in preparation").status();
  }

  Status pre_commit(const Uuid& set_id) override {
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
      SnapshotProvider* served = nullptr;
      {
        std::lock_guard lock(mutex_);
        served = engine(prepared.volume);
      }
      if (Status status = served->flush(); !status.ok())
        return status.with_context("provider '" + name_ + "' pre-commit flush of volume '" +
                                   prepared.volume + "'");
    }
    return Status();
  }

  Status commit(const Uuid& set_id) override {
    std::vector<PreparedVolume> volumes;
    {
      std::lock_guard lock(mutex_);
      FF_ASSIGN_OR_RETURN(const SetState* state, live_or_not_found(set_id, "to commit"));
      volumes = state->volumes;
    }
    Status aborted_meanwhile(
        ErrorCode::kAborted,
        "provider '" + name_ + "': snapshot set " + set_id.to_string() + " aborted during commit");
    for (const PreparedVolume& prepared : volumes) {
      SnapshotProvider* served = nullptr;
      {
        std::lock_guard lock(mutex_);
        if (live(set_id) == nullptr)
          return aborted_meanwhile;
        served = engine(prepared.volume);
      }
      auto created = served->create_snapshot(set_id, prepared.attributes);
      if (!created.ok())
        return created.status().with_context("provider '" + name_ + "' commit of volume '" +
                                             prepared.volume + "'");
      bool discard = false;
      {
        std::lock_guard lock(mutex_);
        SetState* state = live(set_id);
        if (state == nullptr)
          discard = true;
        else
          state->created.emplace_back(prepared.volume, created->id);
      }
      if (discard) {
        // abort() ran while this snapshot was being created: it must not survive.
        served->delete_snapshot(created->id).ignore_error();
        return aborted_meanwhile;
      }
    }
    return Status();
  }

  Status post_commit(const Uuid& set_id) override {
    std::lock_guard lock(mutex_);
    FF_TRY(live_or_not_found(set_id, "committed").status());
    // The set is complete: its snapshots are ordinary snapshots from now on.
    sets_.erase(set_id);
    return Status();
  }

  Status abort(const Uuid& set_id) override {
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
        while (aborted_order_.size() > kAbortedSetsMax) {
          sets_.erase(aborted_order_.front());
          aborted_order_.erase(aborted_order_.begin());
        }
      }
    }
    Status first_error;
    for (SnapshotProvider* engine : engines()) {
      for (const SnapshotInfo& info : engine->snapshots()) {
        if (info.set_id != set_id)
          continue;
        Status deleted = engine->delete_snapshot(info.id);
        if (!deleted.ok() && deleted.code() != ErrorCode::kNotFound && first_error.ok())
          first_error = deleted.with_context("provider '" + name_ + "' abort");
      }
    }
    return first_error;
  }

  Status delete_snapshot(const Uuid& snapshot_id) override {
    for (SnapshotProvider* engine : engines()) {
      if (engine->snapshot_info(snapshot_id).ok())
        return engine->delete_snapshot(snapshot_id);
    }
    return not_found("provider '" + name_ + "': no snapshot " + snapshot_id.to_string());
  }

  // Each snapshot names its origin by the volume name this adapter serves it under (the
  // name the protocol speaks), whatever the engine's own volume is called.
  std::vector<SnapshotInfo> query() const override {
    std::vector<std::pair<std::string, SnapshotProvider*>> served;
    {
      std::lock_guard lock(mutex_);
      served.assign(volumes_.begin(), volumes_.end());
    }
    std::vector<SnapshotInfo> result;
    for (const auto& [volume, engine] : served) {
      for (SnapshotInfo& info : engine->snapshots()) {
        info.origin_name = volume;
        result.push_back(std::move(info));
      }
    }
    return result;
  }

  Result<std::unique_ptr<Volume>> open_snapshot(const Uuid& snapshot_id) override {
    for (SnapshotProvider* engine : engines()) {
      if (engine->snapshot_info(snapshot_id).ok())
        return engine->open_snapshot(snapshot_id);
    }
    return not_found("provider '" + name_ + "': no snapshot " + snapshot_id.to_string());
  }

  Result<ChangedExtents> changed_extents(const Uuid& snapshot_id,
                                         std::string_view since_change_id) const override {
    for (SnapshotProvider* engine : engines()) {
      auto info = engine->snapshot_info(snapshot_id);
      if (!info.ok())
        continue;
      if (info->change_id.empty()) {
        ChangedExtents reset;
        reset.reset = true;
        reset.reset_reason =
            "snapshot " + snapshot_id.to_string() + " was taken before change tracking started";
        return reset;
      }
      return engine->changed_extents(since_change_id, info->change_id);
    }
    return not_found("provider '" + name_ + "': no snapshot " + snapshot_id.to_string());
  }

 protected:
  Status add_engine(SnapshotProvider& engine, std::string volume) override {
    if (volume.empty())
      volume = engine.name();
    if (engine.kind() != kind_)
      return invalid_argument("provider '" + name_ + "' (" +
                              std::string(provider_kind_name(kind_)) + ") cannot serve volume '" +
                              volume + "': it is " +
                              std::string(provider_kind_name(engine.kind())));
    std::lock_guard lock(mutex_);
    if (!volumes_.emplace(volume, &engine).second)
      return Status(ErrorCode::kAlreadyExists,
                    "provider '" + name_ + "' already serves a volume named '" + volume + "'");
    return Status();
  }

 private:
  struct PreparedVolume {
    std::string volume{};
    std::uint32_t attributes = 0;
  };
  struct SetState {
    std::vector<PreparedVolume> volumes{};
    std::vector<std::pair<std::string, Uuid>> created{};
    bool aborted = false;
  };
  // Aborted sets remembered, so that a late commit of one is discarded.
  static constexpr std::size_t kAbortedSetsMax = 16;

  // REQUIRES: mutex_ held.
  SnapshotProvider* engine(std::string_view volume) const {
    auto it = volumes_.find(volume);
    return it == volumes_.end() ? nullptr : it->second;
  }
  // The set `set_id` if it exists and was not aborted. REQUIRES: mutex_ held.
  SetState* live(const Uuid& set_id) {
    auto it = sets_.find(set_id);
    return it == sets_.end() || it->second.aborted ? nullptr : &it->second;
  }
  // live(), or kNotFound naming the set and what was expected of it ("to commit").
  // REQUIRES: mutex_ held.
  Result<SetState*> live_or_not_found(const Uuid& set_id, const char* expected) {
    SetState* state = live(set_id);
    if (state == nullptr)
      return not_found("provider '" + name_ + "': no snapshot set " + set_id.to_string() + " " +
                       expected);
    return state;
  }
  // Every engine served, copied out so that they are called without the lock.
  std::vector<SnapshotProvider*> engines() const {
    std::lock_guard lock(mutex_);
    std::vector<SnapshotProvider*> result;
    for (const auto& [name, served] : volumes_)
      result.push_back(served);
    return result;
  }

  std::string name_;
  ProviderKind kind_;
  Uuid id_;
  mutable std::mutex mutex_;
  std::map<std::string, SnapshotProvider*, std::less<>> volumes_;
  std::map<Uuid, SetState> sets_;
  std::vector<Uuid> aborted_order_;
};

}  // namespace

std::unique_ptr<BlockSnapshotAdapter> BlockSnapshotAdapter::create(std::string name,
                                                                   ProviderKind kind, Uuid id) {
  return std::make_unique<BlockAdapter>(std::move(name), kind, id);
}

// ---- ProviderRegistry ----

class ProviderRegistry::Entries {
 public:
  mutable std::mutex mutex;
  std::vector<ProtocolProvider*> providers;
  std::map<std::string, Uuid, std::less<>> defaults;
};

ProviderRegistry::ProviderRegistry() : entries_(std::make_unique<Entries>()) {}
ProviderRegistry::~ProviderRegistry() = default;

Status ProviderRegistry::add(ProtocolProvider& provider) {
  std::lock_guard lock(entries_->mutex);
  for (const ProtocolProvider* existing : entries_->providers) {
    if (existing->id() == provider.id() || existing->name() == provider.name())
      return Status(ErrorCode::kAlreadyExists, "provider '" + provider.name() + "' (" +
                                                   provider.id().to_string() +
                                                   ") is already registered");
  }
  entries_->providers.push_back(&provider);
  return Status();
}

Status ProviderRegistry::remove(const Uuid& provider_id) {
  std::lock_guard lock(entries_->mutex);
  auto& providers = entries_->providers;
  auto it = std::find_if(providers.begin(), providers.end(),
                         [&](const ProtocolProvider* p) { return p->id() == provider_id; });
  if (it == providers.end())
    return not_found("no provider " + provider_id.to_string() + " is registered");
  providers.erase(it);
  std::erase_if(entries_->defaults, [&](const auto& entry) { return entry.second == provider_id; });
  return Status();
}

namespace {
Status refuses(const ProtocolProvider& provider, std::string_view volume) {
  return Status(
      ErrorCode::kUnsupported,
      "provider '" + provider.name() + "' does not support volume '" + std::string(volume) + "'");
}
}  // namespace

Status ProviderRegistry::set_default(std::string volume, const Uuid& provider_id) {
  FF_ASSIGN_OR_RETURN(ProtocolProvider * provider, find(provider_id));
  if (!provider->is_volume_supported(volume))
    return refuses(*provider, volume);
  std::lock_guard lock(entries_->mutex);
  entries_->defaults[std::move(volume)] = provider_id;
  return Status();
}

Result<ProtocolProvider*> ProviderRegistry::find(const Uuid& provider_id) const {
  std::lock_guard lock(entries_->mutex);
  for (ProtocolProvider* provider : entries_->providers) {
    if (provider->id() == provider_id)
      return provider;
  }
  return not_found("no provider " + provider_id.to_string() + " is registered");
}

Result<ProtocolProvider*> ProviderRegistry::find(std::string_view provider_name) const {
  std::lock_guard lock(entries_->mutex);
  for (ProtocolProvider* provider : entries_->providers) {
    if (provider->name() == provider_name)
      return provider;
  }
  return not_found("no provider named '" + std::string(provider_name) + "' is registered");
}

Result<ProtocolProvider*> ProviderRegistry::select(std::string_view volume,
                                                   const Uuid& provider_id) const {
  if (!provider_id.is_nil()) {
    FF_ASSIGN_OR_RETURN(ProtocolProvider * provider, find(provider_id));
    if (!provider->is_volume_supported(volume))
      return refuses(*provider, volume);
    return provider;
  }
  std::vector<ProtocolProvider*> candidates;
  Uuid preferred;
  {
    std::lock_guard lock(entries_->mutex);
    candidates = entries_->providers;
    auto it = entries_->defaults.find(volume);
    if (it != entries_->defaults.end())
      preferred = it->second;
  }
  if (!preferred.is_nil()) {
    for (ProtocolProvider* provider : candidates) {
      if (provider->id() == preferred && provider->is_volume_supported(volume))
        return provider;
    }
  }
  for (ProtocolProvider* provider : candidates) {
    if (provider->is_volume_supported(volume))
      return provider;
  }
  return Status(ErrorCode::kUnsupported,
                "no registered provider supports volume '" + std::string(volume) + "'");
}

std::vector<ProtocolProvider*> ProviderRegistry::providers() const {
  std::lock_guard lock(entries_->mutex);
  return entries_->providers;
}

}  // namespace freezeframe

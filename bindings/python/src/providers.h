// The Python provider handle, shared by providers.cpp and the protocol bindings (which serve a
// provider's volume through a coordinator).
#pragma once

#include <memory>
#include <string>

#include "bindings.h"
#include "freezeframe/snapshot_provider.h"

namespace freezeframe::python {

// freezeframe.CowProvider / RowProvider: the live volume of a provider (it is a Volume) and
// its snapshot management.
class ProviderHandle final : public VolumeHandle {
 public:
  explicit ProviderHandle(std::shared_ptr<SnapshotProvider> provider)
      : VolumeHandle(provider, provider->kind() == ProviderKind::kCopyOnWrite ? "cow provider"
                                                                              : "row provider"),
        provider_(std::move(provider)) {}
  void close() override {
    provider_.reset();
    VolumeHandle::close();
  }
  std::shared_ptr<SnapshotProvider> provider() const {
    if (!provider_)
      raise_closed();
    return provider_;
  }

 private:
  std::shared_ptr<SnapshotProvider> provider_;
};

// ChangedExtents as a dict: reset, reset_reason, extents [(offset, length)], chunk_bytes.
py::dict changed_extents_dict(const ChangedExtents& changed);

// A snapshot opened read-only (freezeframe.SnapshotVolume); `owner` is what it must not
// outlive (a provider or a backup session), kept alive by the volume's deleter.
template <typename Owner>
std::shared_ptr<VolumeHandle> snapshot_volume(std::unique_ptr<Volume> volume,
                                              std::shared_ptr<Owner> owner);

class SnapshotVolumeHandle final : public VolumeHandle {
 public:
  SnapshotVolumeHandle(std::shared_ptr<Volume> volume, std::string snapshot_id)
      : VolumeHandle(std::move(volume), "snapshot"), snapshot_id_(std::move(snapshot_id)) {}
  const std::string& snapshot_id() const noexcept { return snapshot_id_; }

 private:
  std::string snapshot_id_;
};

template <typename Owner>
std::shared_ptr<VolumeHandle> snapshot_volume(std::unique_ptr<Volume> volume,
                                              std::shared_ptr<Owner> owner) {
  std::string id = volume->uuid().to_string();
  return std::make_shared<SnapshotVolumeHandle>(owned_with(std::move(volume), std::move(owner)),
                                                std::move(id));
}

}  // namespace freezeframe::python

// The read side of a provider: VersionReader reads the volume as one version of it saw it
// (a snapshot, or the RoW live volume), and SnapshotView is the read-only Volume that
// open_snapshot() returns. Private to the engine.
//
// Layering: above ProviderState (which says where each chunk's version is) and DiffArea
// (which reads slots, decompressing frames); SnapshotView asks the OverflowGuard why a deleted
// snapshot is gone; below the write paths, which use VersionReader
// for RoW reads and read-modify-writes. The CoW live volume is not read here: it is the
// origin overlaid with the write-back buffer (cow_provider.h).
//
// Thread-safety: VersionReader has no state of its own; its caller holds the provider's
// mutex, shared or exclusive. SnapshotView takes that mutex shared for each read, so
// snapshot reads run concurrently with each other and with live reads, never with a change.
//
// Lifetime: the reader borrows the state, the diff area and the origin; a SnapshotView
// borrows the mutex, the guard and the reader, so it must not outlive the provider.
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <span>

#include "diff_area.h"
#include "freezeframe/volume.h"
#include "overflow_guard.h"
#include "provider_state.h"

namespace freezeframe::detail {

class VersionReader {
 public:
  VersionReader(const ProviderState& state, const DiffArea& diff_area, Volume& origin)
      : state_(state), diff_area_(diff_area), origin_(origin) {}

  // Reads [offset, offset + out.size()) as the version `tag` sees it (0: the RoW live
  // volume), coalescing runs that are contiguous on the origin or on the diff volume into one
  // read each. REQUIRES: the caller checked the range (Volume does) and, for tag != 0, that
  // snapshot `tag` exists and is not invalidated.
  Status read(std::uint32_t tag, std::uint64_t offset, std::span<std::byte> out) const;

 private:
  const ProviderState& state_;
  const DiffArea& diff_area_;
  Volume& origin_;
};

// A snapshot as a read-only Volume. Reads fail with kNotFound once the snapshot is deleted
// (saying why when the overflow policy deleted it for space) and with kInvalidated once it is
// invalidated; writes and discards fail with kReadOnly; flush does nothing. Device properties: the
// live volume's, as the provider reported them when the view was opened (a file system mounted from
// the snapshot sees the geometry of the volume it was taken of).
class SnapshotView final : public Volume {
 public:
  SnapshotView(std::shared_mutex& mutex, const ProviderState& state, const OverflowGuard& guard,
               const VersionReader& reader, Volume& origin, std::uint32_t tag,
               VolumeIdentity identity, const DeviceProperties& properties)
      : mutex_(mutex),
        state_(state),
        guard_(guard),
        reader_(reader),
        origin_(origin),
        tag_(tag),
        identity_(std::move(identity)),
        properties_(properties) {}

  const VolumeIdentity& identity() const noexcept override { return identity_; }
  std::uint64_t size_bytes() const noexcept override { return origin_.size_bytes(); }
  std::uint32_t sector_bytes() const noexcept override { return origin_.sector_bytes(); }
  bool read_only() const noexcept override { return true; }
  DeviceProperties properties() const noexcept override { return properties_; }

 protected:
  Status do_read(std::uint64_t offset, std::span<std::byte> out) override;
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override;
  Status do_flush() override { return Status(); }
  Status do_discard(std::uint64_t offset, std::uint64_t length) override;

 private:
  std::shared_mutex& mutex_;
  const ProviderState& state_;
  const OverflowGuard& guard_;
  const VersionReader& reader_;
  Volume& origin_;
  std::uint32_t tag_;
  VolumeIdentity identity_;
  DeviceProperties properties_;
};

}  // namespace freezeframe::detail

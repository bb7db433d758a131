// MemoryVolume: a volume held in memory, for tests, simulations and scratch space.
//
// Storage is sparse: 64 KiB pages are allocated on first write and freed when a discard
// covers them whole, so a large, mostly empty volume costs little. Everything is lost when
// the object is destroyed; flush() is a no-op barrier (memory is "durable" for the object's
// lifetime). Wrap it in a SimVolume (or a sim::CacheVolume) to model a volatile cache and
// crashes.
//
// Device properties: whatever the options say (memory has no physical geometry of its own),
// so tests can present any geometry a real device has; unset ones take the defaults of
// volume.h. create() checks them with validate_device_properties().
//
// Thread-safety: as Volume. Reads share a lock, writes and discards take it exclusively.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "freezeframe/volume.h"

namespace freezeframe {

struct MemoryVolumeOptions {
  std::string name = "memory";
  std::uint64_t size_bytes = 0;
  std::uint32_t sector_bytes = 512;
  bool read_only = false;
  // Nil: a fresh random UUID.
  Uuid uuid{};
  // Device properties to report; 0: the default of volume.h for that property.
  std::uint32_t physical_sector_bytes = 0;
  std::uint32_t atomic_write_bytes = 0;
  std::uint32_t optimal_io_bytes = 0;
};

class MemoryVolume final : public Volume {
 public:
  static constexpr std::uint64_t kPageBytes = std::uint64_t{64} * 1024;

  // Fails with kInvalidArgument if the size is zero or not a multiple of the sector size, or
  // the sector size is not supported.
  static Result<std::unique_ptr<MemoryVolume>> create(const MemoryVolumeOptions& options);

  const VolumeIdentity& identity() const noexcept override { return identity_; }
  std::uint64_t size_bytes() const noexcept override { return size_bytes_; }
  std::uint32_t sector_bytes() const noexcept override { return sector_bytes_; }
  bool read_only() const noexcept override { return read_only_; }
  DeviceProperties properties() const noexcept override { return properties_; }

  // Bytes of pages currently allocated.
  std::uint64_t allocated_bytes() const;

 protected:
  Status do_read(std::uint64_t offset, std::span<std::byte> out) override;
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override;
  Status do_flush() override;
  Status do_discard(std::uint64_t offset, std::uint64_t length) override;

 private:
  MemoryVolume(const MemoryVolumeOptions& options, Uuid uuid, const DeviceProperties& properties);

  VolumeIdentity identity_;
  std::uint64_t size_bytes_;
  std::uint32_t sector_bytes_;
  bool read_only_;
  DeviceProperties properties_;
  mutable std::shared_mutex mutex_;
  std::vector<std::unique_ptr<std::byte[]>> pages_;
};

}  // namespace freezeframe

// VolumeIo: byte-granular reads, writes, trims and zeroing over a Volume, which accepts only
// whole sectors. What an NBD export needs, since NBD clients may send any offset and length.
//
// Aligned requests go straight to the volume. An unaligned read reads the covering sectors
// into a buffer; an unaligned write reads the covering sectors, patches them and writes them
// back (read-modify-write). A read-modify-write excludes every other write for its duration,
// so that two writes to different bytes of one sector never undo each other.
//
// Requests must lie within [0, size_bytes()) (nbdkit checks this before calling); the volume's
// own checks report anything else with kInvalidArgument.
//
// Thread-safety: every method may be called concurrently, as the volume's own.
// Lifetime: the volume is borrowed and must outlive this object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <span>

#include "freezeframe/volume.h"

namespace freezeframe::nbd {

class VolumeIo {
 public:
  explicit VolumeIo(Volume& volume) : volume_(volume) {}

  Volume& volume() const noexcept { return volume_; }

  Status read(std::uint64_t offset, std::span<std::byte> out);
  Status write(std::uint64_t offset, std::span<const std::byte> data);
  // Discards the whole sectors inside the range; partial sectors at its ends are left as they
  // are (NBD's trim is advisory).
  Status trim(std::uint64_t offset, std::uint64_t length);
  // The range reads as zeros afterwards: whole sectors discarded when `may_trim`, else written
  // with zeros; partial sectors at the ends are written with zeros.
  Status zero(std::uint64_t offset, std::uint64_t length, bool may_trim);

 private:
  bool aligned(std::uint64_t value) const noexcept { return value % volume_.sector_bytes() == 0; }
  Status write_zeros(std::uint64_t offset, std::uint64_t length);
  Status read_modify_write(std::uint64_t offset, std::span<const std::byte> data);

  Volume& volume_;
  // Shared by aligned writes, exclusive for a read-modify-write.
  std::shared_mutex write_lock_;
};

// True when every byte of `data` is zero.
bool all_zero(std::span<const std::byte> data) noexcept;

}  // namespace freezeframe::nbd

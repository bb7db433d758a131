// Volume: the block-device abstraction every layer of freezeframe speaks.
//
// A volume is a fixed number of bytes addressed in logical sectors (512 or 4096 bytes). A
// provider (CoW, RoW) is a Volume stacked on a Volume; a snapshot is a read-only Volume; a
// simulated volume wraps a Volume and adds faults. So tests, benchmarks, backup and expose
// code run unchanged over any of them.
//
// Durability: a Volume behaves like a disk with a volatile write cache. A write or discard
// that returned OK is visible to every later read, but it is durable (survives a crash) only
// once a flush() that started after it has returned OK. Writes not yet flushed may be lost or
// torn after a crash, at the granularity of atomic_write_bytes() (the logical sector unless
// the volume says otherwise): each aligned unit of that size then holds its old or its new
// content, never a mix.
//
// Requests: every offset and length must be a multiple of sector_bytes() and lie within
// [0, size_bytes()); otherwise the request fails with kInvalidArgument, whose message says
// "misaligned" or "out of range"; a zero-length request succeeds and does nothing. Writes and
// discards on a read-only volume fail with kReadOnly (flush succeeds). Device failures are
// kIoError. Every error message names the volume, the offset and the length. These checks are made
// once, here, for every implementation.
//
// discard(): the range reads back as zeros afterwards; the volume may release the space.
//
// allocate(): reserves backing storage for a range, so that later writes there cannot fail
// for lack of space (a sparse image file on a full file system). The content is unchanged; a
// later discard() of the range may release the space again. On a read-only volume it fails
// with kReadOnly, as write does. A volume with no notion of allocation (memory, a block
// device, a file system that cannot preallocate) does nothing and returns OK: the promise of
// no later kNoSpace for the range holds only where such an error can arise at all. kNoSpace,
// naming the volume, when the space is not there. Durable like a write (after the next
// flush).
//
// Thread-safety: all methods may be called concurrently from any number of threads.
// Operations on disjoint ranges do not affect each other. Where concurrent operations
// overlap (two writes, or a read and a write), the content of the overlapping sectors is
// unspecified until both complete, and afterwards each sector holds the content of one of
// the writes; nothing outside the overlap is affected. Layers that need ordering between
// overlapping requests (providers) serialise them themselves.
//
// Device properties: what a file system or database above needs to lay out its writes.
//   logical sector  sector_bytes(): the unit of addressing (512 or 4096).
//   physical sector physical_sector_bytes(): the unit the medium writes in; a smaller write
//                   costs a read-modify-write inside the device. Default: the logical sector.
//   atomic write    atomic_write_bytes(): the tearing unit. A write that a crash interrupts
//                   leaves every aligned unit of this size old or new, whole. Default: the
//                   logical sector. It may be smaller than the logical sector (a device that
//                   tears inside a sector: the harshest case a crash simulation models).
//   optimal I/O     optimal_io_bytes(): requests of this size, aligned to it, cost least (a
//                   provider's chunk, a RAID stripe). A hint; any aligned request is valid.
//                   Default: 64 KiB, or the physical sector if larger.
// Invariants, for every volume at every time (validate_device_properties() checks them):
// each value is a power of two; 512 <= atomic <= physical; logical <= physical <=
// kPhysicalSectorBytesMax; physical <= optimal <= kOptimalIoBytesMax. The values never change
// while the volume exists. Stacked volumes forward the base's values unless they change what
// the base offers (a write cache that tears at its own unit, a provider's chunk size).
//
// Lifetime: a Volume that stacks on another holds a reference or owns it, as its factory
// says; a borrowed base must outlive the volume stacked on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "freezeframe/status.h"
#include "freezeframe/uuid.h"

namespace freezeframe {

struct VolumeIdentity {
  // Free text chosen by the user ("C:", "data", "/dev/loop3").
  std::string name{};
  // Stable across close and reopen.
  Uuid uuid{};
};

// True for the logical sector sizes freezeframe supports (512 and 4096).
bool is_supported_sector_size(std::uint32_t sector_bytes) noexcept;

// Bounds on the device properties (see the file comment).
constexpr std::uint32_t kPhysicalSectorBytesMax = 64 * 1024;
constexpr std::uint32_t kOptimalIoBytesDefault = 64 * 1024;
constexpr std::uint32_t kOptimalIoBytesMax = 16 * 1024 * 1024;

// The device properties of a volume in one value (Volume::properties()).
struct DeviceProperties {
  std::uint32_t logical_sector_bytes{512};
  std::uint32_t physical_sector_bytes{512};
  std::uint32_t atomic_write_bytes{512};
  std::uint32_t optimal_io_bytes{kOptimalIoBytesDefault};
  friend bool operator==(const DeviceProperties&, const DeviceProperties&) = default;
};

// OK if `properties` satisfies the invariants in the file comment; kInvalidArgument naming
// the first broken rule otherwise.
Status validate_device_properties(const DeviceProperties& properties);

class Volume {
 public:
  virtual ~Volume() = default;
  Volume(const Volume&) = delete;
  Volume& operator=(const Volume&) = delete;

  virtual const VolumeIdentity& identity() const noexcept = 0;
  virtual std::uint64_t size_bytes() const noexcept = 0;
  virtual std::uint32_t sector_bytes() const noexcept = 0;
  virtual bool read_only() const noexcept = 0;

  // Device properties; see the file comment for their meaning, defaults and invariants. An
  // implementation whose device differs from the defaults overrides properties(); its
  // logical_sector_bytes is sector_bytes().
  virtual DeviceProperties properties() const noexcept;
  std::uint32_t physical_sector_bytes() const noexcept {
    return properties().physical_sector_bytes;
  }
  std::uint32_t atomic_write_bytes() const noexcept { return properties().atomic_write_bytes; }
  std::uint32_t optimal_io_bytes() const noexcept { return properties().optimal_io_bytes; }

  const std::string& name() const noexcept { return identity().name; }
  const Uuid& uuid() const noexcept { return identity().uuid; }

  // Reads out.size() bytes at `offset` into `out`.
  Status read(std::uint64_t offset, std::span<std::byte> out);
  // Writes `data` at `offset`. Visible to reads at once, durable after the next flush().
  Status write(std::uint64_t offset, std::span<const std::byte> data);
  // Durability barrier: every write and discard that completed before this call started is
  // durable when it returns OK. On error, nothing is promised about unflushed data.
  Status flush();
  // Zeroes [offset, offset + length); durable after the next flush().
  Status discard(std::uint64_t offset, std::uint64_t length);
  // Reserves storage for [offset, offset + length) (see the file comment).
  Status allocate(std::uint64_t offset, std::uint64_t length);

  // The checks read/write/discard make, available to layers that split requests.
  Status check_range(const char* operation, std::uint64_t offset, std::uint64_t length) const;

 protected:
  Volume() = default;

  // Implementations: the request has been validated (aligned, in range, non-empty, writable).
  virtual Status do_read(std::uint64_t offset, std::span<std::byte> out) = 0;
  virtual Status do_write(std::uint64_t offset, std::span<const std::byte> data) = 0;
  virtual Status do_flush() = 0;
  virtual Status do_discard(std::uint64_t offset, std::uint64_t length) = 0;
  // Default: nothing to reserve (no notion of allocation).
  virtual Status do_allocate(std::uint64_t offset, std::uint64_t length);

  // "volume 'NAME' (uuid) <operation> offset O length L: <detail>", for implementations'
  // own errors.
  std::string describe(const char* operation, std::uint64_t offset, std::uint64_t length,
                       std::string_view detail) const;
};

}  // namespace freezeframe

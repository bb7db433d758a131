// CacheVolume: a volume filter that behaves like a disk's volatile write cache, and can lose
// power.
//
// Cache model. Writes and discards that succeed are kept in a volatile cache, in units of
// `atomic_write_bytes` (512 by default: the granularity at which a real disk tears writes).
// Reads see the cache over the base volume. flush() writes the whole cache to the base
// volume, flushes the base, and empties the cache. The device may also write cached units
// back on its own when the cache exceeds `cache_bytes_max` (oldest first), as a real disk
// does; such units are on the base but still count as unflushed for crash(). A write-back the
// base refuses is not reported to the write that caused it: the units stay cached and the
// next flush() tries them again (and reports the failure). The cache is bounded all the same:
// while the base refuses write-backs, a write or discard that would take the cache past
// twice `cache_bytes_max` fails with kIoError (as a disk whose medium is gone stops taking
// writes), until a write-back or a flush succeeds. Discards are cached as writes of zeros and
// reach the base as such.
//
// crash() models power loss: every unit written since the last completed flush either
// survives with its newest content or reverts to its content as of that flush, chosen by the
// seeded generator (Random(seed).fork("sim-volume/crash")), independently per unit, in unit
// order. Nothing else changes: flushed data stays, and no unit ever holds a mix of two
// writes. After crash() the volume works again, like a disk after reboot, holding the
// surviving image. The same seed and the same history give the same surviving image.
//
// Failures of the base. A failed flush() leaves the cache as it was, but the base may already
// hold some of the units it was writing; a later crash keeps those whatever the generator
// says (a failed flush promises nothing, as volume.h says). crash() writes the surviving image
// to the base; if the base refuses (a FaultVolume under the cache), crash() still empties the
// cache and returns the first error: every unit still holds its old or its new content,
// whole, but which one no longer follows the seed alone.
//
// Device properties: atomic_write_bytes() is the cache's unit; everything else (identity,
// size, sectors, optimal I/O) is the base's.
//
// Thread-safety: all methods may be called concurrently; one mutex serialises them, held
// while the base works (a simulation is about determinism, not speed). So the base must not
// call back into this volume during a request: a LatencyVolume under the cache must not have
// timers that use the cache. For deterministic runs, drive it from one thread.
//
// Lifetime: create(Volume&, ...) borrows the base, which must outlive the CacheVolume and
// should not be used directly while the cache holds data; create(std::unique_ptr<Volume>,
// ...) owns it and destroys it with the CacheVolume. Destroying a CacheVolume discards what
// it holds unflushed, as power loss would (without the crash's random survivors).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "freezeframe/random.h"
#include "freezeframe/volume_wrapper.h"

namespace freezeframe::sim {

struct CacheVolumeOptions {
  // Seeds crash outcomes.
  std::uint64_t seed = 0;
  // Non-null: crash outcomes are drawn from this tape first (random.h, ChoiceTape).
  ChoiceTape* choices = nullptr;
  // Tearing granularity. REQUIRES: a power of two from 512 to the base's logical sector size.
  // 0 means 512.
  std::uint32_t atomic_write_bytes = 0;
  // Above this many cached bytes the device writes the oldest units back on its own.
  std::uint64_t cache_bytes_max = 64ull << 20;
  // Probability that an unflushed unit survives a crash; in [0, 1].
  double crash_survival_probability = 0.5;
};

struct CacheVolumeStats {
  // Requests that succeeded, and their bytes.
  std::uint64_t reads = 0;
  std::uint64_t writes = 0;
  std::uint64_t flushes = 0;
  std::uint64_t discards = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t bytes_discarded = 0;
  // Units the device wrote back on its own because the cache was over its limit.
  std::uint64_t units_written_back = 0;
  std::uint64_t crashes = 0;
  // Units dropped and kept by the last crash.
  std::uint64_t last_crash_units_dropped = 0;
  std::uint64_t last_crash_units_kept = 0;
};

class CacheVolume final : public VolumeWrapper {
 public:
  // Fails with kInvalidArgument if an option is out of range.
  static Result<std::unique_ptr<CacheVolume>> create(Volume& base,
                                                     const CacheVolumeOptions& options = {});
  // Also fails with kInvalidArgument if `base` is null.
  static Result<std::unique_ptr<CacheVolume>> create(std::unique_ptr<Volume> base,
                                                     const CacheVolumeOptions& options = {});
  ~CacheVolume() override;

  // The base's, with the cache's tearing unit as the atomic write.
  DeviceProperties properties() const noexcept override {
    DeviceProperties properties = VolumeWrapper::properties();
    properties.atomic_write_bytes = unit_bytes_;
    return properties;
  }

  // Power loss; see the file comment. Returns the number of units dropped, or the first error
  // of the base while the surviving image was written to it.
  Result<std::uint64_t> crash();
  // Bytes written or discarded since the last completed flush (what a crash may lose).
  std::uint64_t unflushed_bytes() const;

  CacheVolumeStats stats() const;
  void reset_stats();

 protected:
  Status do_read(std::uint64_t offset, std::span<std::byte> out) override;
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override;
  Status do_flush() override;
  Status do_discard(std::uint64_t offset, std::uint64_t length) override;

 private:
  // One cached unit: its newest content, and its content as of the last completed flush if
  // that is not on the base any more (the device wrote the unit back early).
  struct CachedUnit {
    std::unique_ptr<std::byte[]> data{};
    std::unique_ptr<std::byte[]> durable{};  // set once written back early
    std::uint64_t sequence = 0;              // write order, for oldest-first write-back
    bool written_back = false;
  };
  using UnitList = std::vector<std::pair<std::uint64_t, const std::byte*>>;

  CacheVolume(Volume& base, const CacheVolumeOptions& options);

  void cache_write(std::uint64_t offset, std::span<const std::byte> data);
  void write_back_over_limit();
  // kIoError when the base refuses write-backs and `bytes` more would take the cache past its
  // hard limit (twice cache_bytes_max).
  Status check_room(const char* operation, std::uint64_t offset, std::uint64_t bytes) const;
  Status read_base_unit(std::uint64_t index, std::byte* out);
  Status write_units_to_base(const UnitList& units, bool continue_after_error);
  void empty_cache();

  std::uint32_t unit_bytes_;
  CacheVolumeOptions options_;
  mutable std::mutex mutex_;
  Random random_;
  std::map<std::uint64_t, CachedUnit> cache_;  // unit index -> unit; ordered: deterministic
  std::map<std::uint64_t, std::uint64_t> dirty_by_sequence_;  // sequence -> unit index
  std::uint64_t cached_dirty_bytes_ = 0;                      // units not yet written back
  bool write_back_refused_ = false;  // the last write-back the base was asked for failed
  std::uint64_t sequence_ = 0;
  CacheVolumeStats stats_;
};

}  // namespace freezeframe::sim

// SimVolume: a Volume wrapper that behaves like a real disk with a volatile write cache, and
// that injects the faults a real disk can show.
//
// Cache model. Writes and discards that succeed are kept in a volatile cache, in units of
// `atomic_write_bytes` (512 by default: the sector granularity at which a real disk tears
// writes). Reads see the cache over the base volume. flush() writes the whole cache to the
// base volume, flushes the base, and empties the cache. The device may also write cached
// units back on its own when the cache exceeds `cache_bytes_max` (oldest first), as a real
// disk does; such units are on the base but still count as unflushed for crash().
//
// crash() models power loss: every unit written since the last completed flush either
// survives with its newest content or reverts to its content as of that flush, chosen by the
// seeded generator, independently per unit. Nothing else changes: flushed data stays, and no
// unit ever holds a mix of two writes. After crash() the volume works again, like a disk
// after reboot, holding the surviving image. The same seed and the same history give the
// same surviving image.
//
// Faults. FaultRule objects fail chosen operations with kIoError: the Nth matching operation,
// every matching operation from the Nth on, operations touching an offset range, or each
// matching operation with a probability (drawn from the seeded generator). A failed write or
// discard changes nothing; a failed flush leaves the cache as it was (nothing more becomes
// durable). Latency: each operation advances the SimClock, if one is given, by a fixed
// per-operation cost plus a per-byte cost.
//
// Thread-safety: all methods may be called concurrently; the volume serialises them with one
// mutex (a simulation is about determinism, not speed). For deterministic runs, drive it from
// one thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "freezeframe/clock.h"
#include "freezeframe/random.h"
#include "freezeframe/volume.h"

namespace freezeframe::sim {

class SimClock;

enum class IoOperation : std::uint8_t { kRead = 1, kWrite = 2, kFlush = 4, kDiscard = 8 };

// A set of IoOperation bits.
using IoOperationMask = std::uint8_t;
constexpr IoOperationMask kAllOperations = 0x0f;
constexpr IoOperationMask operation_bit(IoOperation operation) {
  return static_cast<IoOperationMask>(operation);
}

struct FaultRule {
  enum class Trigger : std::uint8_t {
    // Fail the `n`-th matching operation counted from when the rule was added (1-based).
    kNth,
    // Fail every matching operation from the `n`-th on.
    kFromNth,
    // Fail matching operations that overlap [offset, offset + length). Flushes never match.
    kRange,
    // Fail each matching operation with `probability`.
    kProbability,
  };
  Trigger trigger = Trigger::kNth;
  IoOperationMask operations = kAllOperations;
  std::uint64_t n = 1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  double probability = 0.0;
  // Stop firing after this many failures; 0 = no limit.
  std::uint64_t failures_max = 0;
};

using FaultId = std::uint64_t;

struct SimVolumeOptions {
  // Seeds crash outcomes and probabilistic faults.
  std::uint64_t seed = 0;
  // Tearing granularity. REQUIRES: 512 <= atomic_write_bytes <= base sector size, power of 2.
  // 0 means 512.
  std::uint32_t atomic_write_bytes = 0;
  // Above this many cached bytes the device writes the oldest units back on its own.
  std::uint64_t cache_bytes_max = 64ull << 20;
  // Probability that an unflushed unit survives a crash.
  double crash_survival_probability = 0.5;
  // Simulated latency; only applied when `clock` is set.
  SimClock* clock = nullptr;
  Nanoseconds latency_per_operation{0};
  Nanoseconds latency_per_mib{0};
  // Name and UUID of the simulated volume; empty/nil: "sim:" + base name, base UUID.
  std::string name{};
  Uuid uuid{};
};

struct SimVolumeStats {
  std::uint64_t reads = 0;
  std::uint64_t writes = 0;
  std::uint64_t flushes = 0;
  std::uint64_t discards = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t bytes_discarded = 0;
  std::uint64_t injected_failures = 0;
  std::uint64_t crashes = 0;
  // Units dropped and kept by the last crash.
  std::uint64_t last_crash_units_dropped = 0;
  std::uint64_t last_crash_units_kept = 0;
};

class SimVolume final : public Volume {
 public:
  // Wraps `base`, which must outlive the SimVolume. The base should not be accessed
  // directly while the SimVolume is in use.
  static Result<std::unique_ptr<SimVolume>> create(Volume& base, const SimVolumeOptions& options);
  // Wraps and owns `base`.
  static Result<std::unique_ptr<SimVolume>> create(std::unique_ptr<Volume> base,
                                                   const SimVolumeOptions& options);
  ~SimVolume() override;

  const VolumeIdentity& identity() const noexcept override { return identity_; }
  std::uint64_t size_bytes() const noexcept override { return base_.size_bytes(); }
  std::uint32_t sector_bytes() const noexcept override { return base_.sector_bytes(); }
  bool read_only() const noexcept override { return base_.read_only(); }
  std::uint32_t atomic_write_bytes() const noexcept { return unit_bytes_; }

  FaultId add_fault(const FaultRule& rule);
  bool remove_fault(FaultId id);
  void clear_faults();

  // Power loss; see the file comment. Returns the number of units dropped.
  std::uint64_t crash();
  // Bytes written or discarded since the last completed flush (what a crash may lose).
  std::uint64_t unflushed_bytes() const;

  SimVolumeStats stats() const;
  void reset_stats();

 protected:
  Status do_read(std::uint64_t offset, std::span<std::byte> out) override;
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override;
  Status do_flush() override;
  Status do_discard(std::uint64_t offset, std::uint64_t length) override;

 private:
  struct ActiveFault {
    FaultRule rule{};
    std::uint64_t matched = 0;
    std::uint64_t fired = 0;
  };
  // One cached unit: its newest content, and its content as of the last completed flush if
  // that is not on the base any more (the device wrote the unit back early).
  struct CachedUnit {
    std::unique_ptr<std::byte[]> data{};
    std::unique_ptr<std::byte[]> durable{};  // set once written back early
    std::uint64_t sequence = 0;              // write order, for oldest-first write-back
    bool written_back = false;
  };

  SimVolume(Volume& base, std::unique_ptr<Volume> owned, const SimVolumeOptions& options);

  Status check_faults(IoOperation operation, std::uint64_t offset, std::uint64_t length);
  void charge_latency(std::uint64_t bytes);
  Status cache_write(std::uint64_t offset, std::span<const std::byte> data);
  Status write_back_over_limit();
  Status read_base_unit(std::uint64_t index, std::byte* out);
  Status write_units_to_base(const std::vector<std::pair<std::uint64_t, const std::byte*>>& units);

  std::unique_ptr<Volume> owned_;
  Volume& base_;
  VolumeIdentity identity_;
  std::uint32_t unit_bytes_;
  SimVolumeOptions options_;
  mutable std::mutex mutex_;
  // Separate streams, so adding a fault rule does not change which units a crash keeps.
  Random crash_random_;
  Random fault_random_;
  std::map<std::uint64_t, CachedUnit> cache_;  // unit index -> unit; ordered: deterministic
  std::map<std::uint64_t, std::uint64_t> dirty_by_sequence_;  // sequence -> unit index
  std::uint64_t cached_dirty_bytes_ = 0;                      // units not yet written back
  std::uint64_t sequence_ = 0;
  std::map<FaultId, ActiveFault> faults_;
  FaultId next_fault_id_ = 1;
  SimVolumeStats stats_;
};

}  // namespace freezeframe::sim

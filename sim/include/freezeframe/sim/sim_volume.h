// SimVolume: a simulated disk, the usual stack of simulation filters over a base volume, in
// one object with one seed.
//
//   SimVolume (identity "sim:" + base name unless the options name another)
//     LatencyVolume   each request advances the SimClock (only when `clock` is set)
//       FaultVolume   FaultRule objects fail chosen requests with kIoError
//         CacheVolume volatile write cache, torn at atomic_write_bytes, crash()
//           base      the medium (a MemoryVolume, a FileVolume, ...)
//
// So a request first costs its simulated time (a failed one too), then may be failed by a
// rule (a failed write or discard changes nothing; a failed flush makes nothing more
// durable), then meets the cache. The filters' contracts are in latency_volume.h,
// fault_volume.h and cache_volume.h; other orders are built by stacking the filters directly
// (a fault under the cache fails its write-backs and flushes instead of the writes).
//
// Determinism: one seed drives the crash outcomes and the probabilistic faults, through
// separate streams (Random(seed).fork("sim-volume/crash") and "sim-volume/faults"), so adding
// a fault rule does not change which units a crash keeps. The same seed and the same history
// give the same surviving image and the same injected failures.
//
// Device properties: the base's, except the atomic write unit, which is the cache's.
//
// Thread-safety: all methods may be called concurrently (each filter guards its own state).
// For deterministic runs, drive it from one thread.
//
// Lifetime: create(Volume&, ...) borrows the base, which must outlive the SimVolume and should
// not be accessed directly while the SimVolume is in use; create(std::unique_ptr<Volume>, ...)
// owns it. The SimVolume owns its filters; references from cache(), faults() and latency()
// live as long as it does. The clock must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "freezeframe/clock.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/cache_volume.h"
#include "freezeframe/sim/fault_volume.h"
#include "freezeframe/sim/latency_volume.h"
#include "freezeframe/volume_wrapper.h"

namespace freezeframe::sim {

class SimClock;

struct SimVolumeOptions {
  // Seeds crash outcomes and probabilistic faults.
  std::uint64_t seed = 0;
  // Non-null: crash outcomes are drawn from this tape first (random.h, ChoiceTape), so a
  // structured fuzzer chooses which unflushed units survive.
  ChoiceTape* choices = nullptr;
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

// The cache's counters (requests that reached the disk, crashes) and the injected failures.
struct SimVolumeStats : CacheVolumeStats {
  std::uint64_t injected_failures = 0;
};

class SimVolume final : public VolumeWrapper {
 public:
  // Wraps `base`, which must outlive the SimVolume. Fails with kInvalidArgument if an option
  // is out of range.
  static Result<std::unique_ptr<SimVolume>> create(Volume& base, const SimVolumeOptions& options);
  // Wraps and owns `base`.
  static Result<std::unique_ptr<SimVolume>> create(std::unique_ptr<Volume> base,
                                                   const SimVolumeOptions& options);
  ~SimVolume() override;

  const VolumeIdentity& identity() const noexcept override { return identity_; }

  FaultId add_fault(const FaultRule& rule) { return faults_->add_fault(rule); }
  bool remove_fault(FaultId id) { return faults_->remove_fault(id); }
  void clear_faults() { faults_->clear_faults(); }

  // Power loss; see cache_volume.h. Returns the number of units dropped.
  std::uint64_t crash();
  // Bytes written or discarded since the last completed flush (what a crash may lose).
  std::uint64_t unflushed_bytes() const { return cache_->unflushed_bytes(); }

  SimVolumeStats stats() const;
  void reset_stats();

  // The filters, for callers that need more than the summary above.
  CacheVolume& cache() const noexcept { return *cache_; }
  FaultVolume& faults() const noexcept { return *faults_; }
  // Null when no clock was given.
  LatencyVolume* latency() const noexcept { return latency_.get(); }

 private:
  // The filters in the order they stack, bottom first; the last is what this wrapper forwards
  // to. Members are destroyed in reverse: the top filter first, the owned base last.
  struct Stack {
    std::unique_ptr<CacheVolume> cache{};
    std::unique_ptr<FaultVolume> faults{};
    std::unique_ptr<LatencyVolume> latency{};
    Volume* top = nullptr;
  };

  SimVolume(Stack stack, VolumeIdentity identity);

  std::unique_ptr<CacheVolume> cache_;
  std::unique_ptr<FaultVolume> faults_;
  std::unique_ptr<LatencyVolume> latency_;
  VolumeIdentity identity_;
};

}  // namespace freezeframe::sim

// LatencyVolume: a volume filter that makes requests take simulated time.
//
// Each request advances the SimClock by `per_operation` plus `per_mib` for each MiB it moves
// (reads and writes; flushes and discards move none), before the request goes to the base.
// So a failed request below still costs its time, and timers due during a request fire
// inside it, at their own deadlines, before the request reaches the base. Where the filter
// sits decides what is charged: over a write cache every request pays; under one only the
// cache's write-backs and flushes do.
//
// The clock is advanced without any lock held: its timer callbacks may use this volume.
//
// Device properties, identity and size: the base's.
//
// Thread-safety: as the base; the filter's only state is its options and a total of the time
// it charged (atomic).
//
// Lifetime: the clock and a borrowed base must outlive the LatencyVolume; create() with a
// std::unique_ptr owns the base and destroys it with the LatencyVolume.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "freezeframe/clock.h"
#include "freezeframe/sim/request_filter.h"

namespace freezeframe::sim {

class SimClock;

struct LatencyVolumeOptions {
  // Both at least zero.
  Nanoseconds per_operation{0};
  Nanoseconds per_mib{0};
};

class LatencyVolume final : public RequestFilter {
 public:
  // Fails with kInvalidArgument if a latency is negative.
  static Result<std::unique_ptr<LatencyVolume>> create(Volume& base, SimClock& clock,
                                                       const LatencyVolumeOptions& options);
  // Also fails with kInvalidArgument if `base` is null.
  static Result<std::unique_ptr<LatencyVolume>> create(std::unique_ptr<Volume> base,
                                                       SimClock& clock,
                                                       const LatencyVolumeOptions& options);
  ~LatencyVolume() override;

  // The cost of a request that moves `bytes`.
  Nanoseconds cost(std::uint64_t bytes) const noexcept;
  // Simulated time charged so far.
  Nanoseconds charged() const noexcept { return Nanoseconds(charged_.load()); }

 protected:
  // Advances the clock by cost(bytes moved): the length of a read or write, 0 otherwise.
  Status admit(IoOperation operation, std::uint64_t offset, std::uint64_t length) override;

 private:
  LatencyVolume(Volume& base, SimClock& clock, const LatencyVolumeOptions& options);

  SimClock& clock_;
  LatencyVolumeOptions options_;
  std::atomic<std::int64_t> charged_{0};
};

}  // namespace freezeframe::sim

#include "freezeframe/sim/latency_volume.h"

#include "freezeframe/sim/sim_clock.h"

namespace freezeframe::sim {

Result<std::unique_ptr<LatencyVolume>> LatencyVolume::create(Volume& base, SimClock& clock,
                                                             const LatencyVolumeOptions& options) {
  if (options.per_operation.count() < 0 || options.per_mib.count() < 0) {
    return invalid_argument("latency volume over '" + base.name() +
                            "': latencies must not be negative");
  }
  return std::unique_ptr<LatencyVolume>(new LatencyVolume(base, clock, options));
}

Result<std::unique_ptr<LatencyVolume>> LatencyVolume::create(std::unique_ptr<Volume> base,
                                                             SimClock& clock,
                                                             const LatencyVolumeOptions& options) {
  return owning(std::move(base), "latency volume",
                [&](Volume& borrowed) { return create(borrowed, clock, options); });
}

LatencyVolume::LatencyVolume(Volume& base, SimClock& clock, const LatencyVolumeOptions& options)
    : RequestFilter(base), clock_(clock), options_(options) {}

LatencyVolume::~LatencyVolume() = default;

Nanoseconds LatencyVolume::cost(std::uint64_t bytes) const noexcept {
  Nanoseconds cost = options_.per_operation;
  if (options_.per_mib.count() != 0) {
    cost += Nanoseconds(static_cast<std::int64_t>(static_cast<double>(options_.per_mib.count()) *
                                                  static_cast<double>(bytes) /
                                                  static_cast<double>(1 << 20)));
  }
  return cost;
}

Status LatencyVolume::admit(IoOperation operation, std::uint64_t, std::uint64_t length) {
  const bool moves_data = operation == IoOperation::kRead || operation == IoOperation::kWrite;
  const Nanoseconds delta = cost(moves_data ? length : 0);
  if (delta.count() > 0) {
    charged_.fetch_add(delta.count());
    clock_.advance(delta);
  }
  return Status();
}

}  // namespace freezeframe::sim

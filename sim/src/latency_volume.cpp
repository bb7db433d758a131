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
  if (!base)
    return invalid_argument("latency volume: no base volume given");
  FF_ASSIGN_OR_RETURN(auto volume, create(*base, clock, options));
  volume->owned_ = std::move(base);
  return volume;
}

LatencyVolume::LatencyVolume(Volume& base, SimClock& clock, const LatencyVolumeOptions& options)
    : VolumeWrapper(base), clock_(clock), options_(options) {}

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

void LatencyVolume::charge(std::uint64_t bytes) {
  const Nanoseconds delta = cost(bytes);
  if (delta.count() <= 0)
    return;
  charged_.fetch_add(delta.count());
  clock_.advance(delta);
}

Status LatencyVolume::do_read(std::uint64_t offset, std::span<std::byte> out) {
  charge(out.size());
  return VolumeWrapper::do_read(offset, out);
}

Status LatencyVolume::do_write(std::uint64_t offset, std::span<const std::byte> data) {
  charge(data.size());
  return VolumeWrapper::do_write(offset, data);
}

Status LatencyVolume::do_flush() {
  charge(0);
  return VolumeWrapper::do_flush();
}

Status LatencyVolume::do_discard(std::uint64_t offset, std::uint64_t length) {
  charge(0);
  return VolumeWrapper::do_discard(offset, length);
}

}  // namespace freezeframe::sim

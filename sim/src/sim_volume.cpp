#include "freezeframe/sim/sim_volume.h"

#include "freezeframe/assert.h"

namespace freezeframe::sim {

Result<std::unique_ptr<SimVolume>> SimVolume::create(Volume& base,
                                                     const SimVolumeOptions& options) {
  VolumeIdentity identity{options.name.empty() ? "sim:" + base.name() : options.name,
                          options.uuid.is_nil() ? base.uuid() : options.uuid};
  Stack stack;
  FF_ASSIGN_OR_RETURN(
      stack.cache, CacheVolume::create(
                       base, {.seed = options.seed,
                              .choices = options.choices,
                              .atomic_write_bytes = options.atomic_write_bytes,
                              .cache_bytes_max = options.cache_bytes_max,
                              .crash_survival_probability = options.crash_survival_probability}));
  // The fault filter presents the SimVolume's identity, so injected errors name the volume
  // the caller used.
  FF_ASSIGN_OR_RETURN(stack.faults, FaultVolume::create(*stack.cache, {.seed = options.seed,
                                                                       .choices = options.choices,
                                                                       .name = identity.name,
                                                                       .uuid = identity.uuid}));
  stack.top = stack.faults.get();
  if (options.clock != nullptr) {
    FF_ASSIGN_OR_RETURN(stack.latency,
                        LatencyVolume::create(*stack.faults, *options.clock,
                                              {.per_operation = options.latency_per_operation,
                                               .per_mib = options.latency_per_mib}));
    stack.top = stack.latency.get();
  }
  return std::unique_ptr<SimVolume>(new SimVolume(std::move(stack), std::move(identity)));
}

Result<std::unique_ptr<SimVolume>> SimVolume::create(std::unique_ptr<Volume> base,
                                                     const SimVolumeOptions& options) {
  return owning(std::move(base), "simulated volume",
                [&](Volume& borrowed) { return create(borrowed, options); });
}

SimVolume::SimVolume(Stack stack, VolumeIdentity identity)
    : VolumeWrapper(*stack.top),
      cache_(std::move(stack.cache)),
      faults_(std::move(stack.faults)),
      latency_(std::move(stack.latency)),
      identity_(std::move(identity)) {}

SimVolume::~SimVolume() = default;

std::uint64_t SimVolume::crash() {
  // The cache sits directly on the caller's base, the medium: writing the surviving image to
  // it cannot be refused by a simulated power loss. A failure means the base itself is broken.
  Result<std::uint64_t> dropped = cache_->crash();
  FF_ASSERT_MSG(dropped.ok(), "the base of a simulated volume failed while applying a crash");
  return dropped.value();
}

SimVolumeStats SimVolume::stats() const {
  const CacheVolumeStats cache = cache_->stats();
  const FaultVolumeStats faults = faults_->stats();
  SimVolumeStats stats;
  static_cast<CacheVolumeStats&>(stats) = cache;
  stats.injected_failures = faults.injected_failures;
  return stats;
}

void SimVolume::reset_stats() {
  cache_->reset_stats();
  faults_->reset_stats();
}

}  // namespace freezeframe::sim

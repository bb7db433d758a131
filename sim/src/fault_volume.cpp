#include "freezeframe/sim/fault_volume.h"

#include <string>

namespace freezeframe::sim {

Result<std::unique_ptr<FaultVolume>> FaultVolume::create(Volume& base,
                                                         const FaultVolumeOptions& options) {
  return std::unique_ptr<FaultVolume>(new FaultVolume(base, options));
}

Result<std::unique_ptr<FaultVolume>> FaultVolume::create(std::unique_ptr<Volume> base,
                                                         const FaultVolumeOptions& options) {
  return owning(std::move(base), "fault volume",
                [&](Volume& borrowed) { return create(borrowed, options); });
}

FaultVolume::FaultVolume(Volume& base, const FaultVolumeOptions& options)
    : RequestFilter(base),
      identity_{options.name.empty() ? base.name() : options.name,
                options.uuid.is_nil() ? base.uuid() : options.uuid},
      random_(Random(options.seed, options.choices).fork("sim-volume/faults")) {}

FaultVolume::~FaultVolume() = default;

FaultId FaultVolume::add_fault(const FaultRule& rule) {
  std::lock_guard lock(mutex_);
  FaultId id = next_fault_id_++;
  faults_.emplace(id, ActiveFault{rule, 0, 0});
  return id;
}

bool FaultVolume::remove_fault(FaultId id) {
  std::lock_guard lock(mutex_);
  return faults_.erase(id) > 0;
}

void FaultVolume::clear_faults() {
  std::lock_guard lock(mutex_);
  faults_.clear();
}

FaultVolumeStats FaultVolume::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void FaultVolume::reset_stats() {
  std::lock_guard lock(mutex_);
  stats_ = FaultVolumeStats{};
}

Status FaultVolume::admit(IoOperation operation, std::uint64_t offset, std::uint64_t length) {
  std::lock_guard lock(mutex_);
  for (auto& [id, fault] : faults_) {
    const FaultRule& rule = fault.rule;
    if ((rule.operations & operation_bit(operation)) == 0)
      continue;
    if (rule.failures_max != 0 && fault.fired >= rule.failures_max)
      continue;
    bool fire = false;
    switch (rule.trigger) {
      case FaultRule::Trigger::kNth:
        fire = ++fault.matched == rule.n;
        break;
      case FaultRule::Trigger::kFromNth:
        fire = ++fault.matched >= rule.n;
        break;
      case FaultRule::Trigger::kRange:
        fire = operation != IoOperation::kFlush && length > 0 &&
               offset < rule.offset + rule.length && rule.offset < offset + length;
        if (fire)
          ++fault.matched;
        break;
      case FaultRule::Trigger::kProbability:
        ++fault.matched;
        fire = random_.chance(rule.probability);
        break;
    }
    if (fire) {
      ++fault.fired;
      ++stats_.injected_failures;
      return Status(rule.code, describe(io_operation_name(operation), offset, length,
                                        "injected fault " + std::to_string(id)));
    }
  }
  ++stats_.requests_passed;
  return Status();
}

}  // namespace freezeframe::sim

// Crash rigs for recovery tests: an origin and a diff volume, each a SimVolume (a volatile
// write cache that can lose power, with fault rules) behind a TracingVolume that records
// every write and flush in one shared trace. A fault-free run's trace tells which volume the
// k-th operation of a scenario goes to; a later run of the same scenario arms a fault on
// exactly that operation (crash_at), then both volumes lose power (power_loss).
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "freezeframe/assert.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/sim_volume.h"
#include "freezeframe/volume_wrapper.h"

namespace freezeframe::testing {

// Forwards to a volume and appends `label` to a shared trace on every write or flush, so a
// fault-free run tells which volume the k-th operation of the whole scenario went to.
class TracingVolume final : public VolumeWrapper {
 public:
  TracingVolume(Volume& base, char label, std::vector<std::pair<char, sim::IoOperation>>& trace)
      : VolumeWrapper(base), label_(label), trace_(trace) {}

 protected:
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override {
    trace_.emplace_back(label_, sim::IoOperation::kWrite);
    return VolumeWrapper::do_write(offset, data);
  }
  Status do_flush() override {
    trace_.emplace_back(label_, sim::IoOperation::kFlush);
    return VolumeWrapper::do_flush();
  }

 private:
  char label_;
  std::vector<std::pair<char, sim::IoOperation>>& trace_;
};

// Origin ('o') and diff ('d'): SimVolumes over the given bases, each behind a TracingVolume.
// The crash outcomes of each volume are seeded from `seed` and the volume's role.
struct CrashRig {
  std::vector<std::pair<char, sim::IoOperation>> trace;
  std::unique_ptr<sim::SimVolume> origin_sim;
  std::unique_ptr<sim::SimVolume> diff_sim;
  std::unique_ptr<TracingVolume> origin;
  std::unique_ptr<TracingVolume> diff;

  CrashRig(std::unique_ptr<Volume> origin_base, std::unique_ptr<Volume> diff_base,
           std::uint64_t seed, double survival) {
    sim::SimVolumeOptions options;
    options.crash_survival_probability = survival;
    options.seed = derive_seed(seed, "origin");
    auto origin_made = sim::SimVolume::create(std::move(origin_base), options);
    options.seed = derive_seed(seed, "diff");
    auto diff_made = sim::SimVolume::create(std::move(diff_base), options);
    FF_ASSERT(origin_made.ok() && diff_made.ok());
    origin_sim = std::move(origin_made).value();
    diff_sim = std::move(diff_made).value();
    origin = std::make_unique<TracingVolume>(*origin_sim, 'o', trace);
    diff = std::make_unique<TracingVolume>(*diff_sim, 'd', trace);
  }

  std::uint64_t injected_failures() const {
    return origin_sim->stats().injected_failures + diff_sim->stats().injected_failures;
  }

  // The volume label of each traced operation in `operations`, in order.
  std::vector<char> volumes_of(sim::IoOperationMask operations) const {
    std::vector<char> labels;
    for (const auto& [label, operation] : trace) {
      if ((sim::operation_bit(operation) & operations) != 0)
        labels.push_back(label);
    }
    return labels;
  }

  // Fails the k-th operation (1-based) in `operations` of a run whose fault-free run traced
  // `volume_of` (volumes_of(operations) of that run).
  void crash_at(const std::vector<char>& volume_of, std::size_t k,
                sim::IoOperationMask operations) {
    FF_ASSERT(k >= 1 && k <= volume_of.size());
    const char label = volume_of[k - 1];
    std::uint64_t ordinal = 0;
    for (std::size_t i = 0; i < k; ++i)
      ordinal += volume_of[i] == label ? 1 : 0;
    sim::FaultRule rule;
    rule.trigger = sim::FaultRule::Trigger::kNth;
    rule.operations = operations;
    rule.n = ordinal;
    (label == 'o' ? *origin_sim : *diff_sim).add_fault(rule);
  }

  // Power loss: the faults are cleared and both volumes drop or keep their unflushed units.
  void power_loss() {
    origin_sim->clear_faults();
    diff_sim->clear_faults();
    origin_sim->crash();
    diff_sim->crash();
  }
};

}  // namespace freezeframe::testing

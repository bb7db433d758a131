// The simulator's report: its counts, findings and replay arguments (world.h).
#include <string>

#include "freezeframe/hex.h"
#include "freezeframe/sim/world.h"

namespace freezeframe::sim {

WorldCounts& WorldCounts::operator+=(const WorldCounts& other) {
  seeds += other.seeds;
  steps += other.steps;
  crashes += other.crashes;
  faults += other.faults;
  checks += other.checks;
  snapshot_sets += other.snapshot_sets;
  snapshot_sets_failed += other.snapshot_sets_failed;
  backups += other.backups;
  incremental_backups += other.incremental_backups;
  restores += other.restores;
  interleavings += other.interleavings;
  prunes += other.prunes;
  change_resets += other.change_resets;
  return *this;
}

std::string WorldCounts::to_string() const {
  return "seeds " + std::to_string(seeds) + ", steps " + std::to_string(steps) + ", crashes " +
         std::to_string(crashes) + ", faults " + std::to_string(faults) + ", checks " +
         std::to_string(checks) + ", snapshot sets " + std::to_string(snapshot_sets) +
         ", failed sets " + std::to_string(snapshot_sets_failed) + ", backups " +
         std::to_string(backups) + ", incremental backups " + std::to_string(incremental_backups) +
         ", restores " + std::to_string(restores) + ", prunes " + std::to_string(prunes) +
         ", interleavings " + std::to_string(interleavings) + ", change-tracking resets " +
         std::to_string(change_resets);
}

std::string world_arguments(const WorldOptions& options) {
  const WorldOptions defaults;
  std::string text =
      "--seed " + std::to_string(options.seed) + " --steps " + std::to_string(options.steps);
  if (options.volumes != defaults.volumes)
    text += " --volumes " + std::to_string(options.volumes);
  if (options.volume_bytes != defaults.volume_bytes)
    text += " --volume-kib " + std::to_string(options.volume_bytes >> 10);
  if (options.scratch_dir.empty())
    text += " --no-backups";
  if (!options.snapshot_sets)
    text += " --no-sets";
  if (!options.choices.empty())
    text += " --choices " + to_hex(options.choices);
  return text;
}

std::string WorldFinding::replay_command() const {
  return "freezeframe sim " + arguments;
}

std::string WorldFinding::to_string() const {
  return "sim: seed " + std::to_string(seed) + ", step " + std::to_string(step) + ", " + operation +
         ": " + detail + "\nreplay: " + replay_command();
}

}  // namespace freezeframe::sim

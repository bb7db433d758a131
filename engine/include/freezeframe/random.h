// The one seeded random source.
//
// Every component that makes a random choice in a simulation (workloads, fault injection,
// crash outcomes, UUIDs of simulated objects) takes a Random derived from one 64-bit seed,
// so a whole run is a function of that seed. fork() derives an independent stream for a
// named component, so adding draws in one component does not shift another's.
//
// The generator is std::mt19937_64 (its output is fixed by the C++ standard) with our own
// integer and real mappings, so a seed gives the same sequence with every standard library.
//
// Thread-safety: none; give each thread its own fork.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string_view>

namespace freezeframe {

class Random {
 public:
  explicit Random(std::uint64_t seed) : seed_(seed), engine_(seed) {}

  std::uint64_t seed() const noexcept { return seed_; }

  std::uint64_t next_u64() { return engine_(); }
  // Uniform in [0, bound). REQUIRES: bound > 0.
  std::uint64_t uniform(std::uint64_t bound);
  // Uniform in [low, high]. REQUIRES: low <= high.
  std::uint64_t uniform_range(std::uint64_t low, std::uint64_t high);
  // Uniform in [0, 1) with 53 bits of precision.
  double uniform_real();
  // True with the given probability (clamped to [0, 1]).
  bool chance(double probability);
  // Fills `out` with random bytes.
  void fill(std::span<std::byte> out);

  // An independent generator for the component named `label`, seeded from this generator's
  // seed and the label (not from its current position).
  Random fork(std::string_view label) const;

 private:
  std::uint64_t seed_;
  std::mt19937_64 engine_;
};

// Deterministic 64-bit mixing of a seed and a label (XXH3), for deriving sub-seeds.
std::uint64_t derive_seed(std::uint64_t seed, std::string_view label) noexcept;

}  // namespace freezeframe

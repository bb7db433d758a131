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
// A choice tape (ChoiceTape) can stand in for the seed's draws: a structured fuzzer hands
// a run the fuzzer's input bytes, and coverage guidance then picks the run's choices
// directly (tests/fuzz/sim_world_fuzz.cpp, WorldOptions::choices, the harness's `choices`).
//
// Thread-safety: none; give each thread its own fork. Randoms sharing a tape draw from it
// one at a time (as the simulator's Scheduler runs one task at a time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace freezeframe {

// Bytes that decide a run's choices in place of its seed. A Random given a tape draws each
// choice from the tape's next bytes while it has any, and from its seeded generator once
// the tape is used up, so any bytes make a valid run and a short tape decides the first
// choices only:
//   uniform(bound)    as many bytes as bound needs (1 up to 256, 2 up to 65536, ...),
//                     little-endian, reduced modulo bound;
//   uniform_real(),   2 bytes, as a multiple of 1/65536;
//   chance()
//   next_u64()        8 bytes;
//   fill()            never (payload bytes are not choices).
// Randoms forked from one with a tape share the tape, so it is read in the order the run
// draws; the same seed and the same tape give the same run.
// Lifetime: outlives every Random that draws from it.
class ChoiceTape {
 public:
  explicit ChoiceTape(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)) {}

  // The next `count` bytes (1 to 8) as a little-endian number, zero-padded when fewer are
  // left; nullopt once the tape is used up.
  std::optional<std::uint64_t> take(std::size_t count);
  std::size_t size() const noexcept { return bytes_.size(); }
  // Bytes read so far (at most size()).
  std::size_t consumed() const noexcept { return at_; }
  bool used_up() const noexcept { return at_ >= bytes_.size(); }

 private:
  std::vector<std::uint8_t> bytes_;
  std::size_t at_ = 0;
};

class Random {
 public:
  explicit Random(std::uint64_t seed) : seed_(seed), engine_(seed) {}
  // Draws from `tape` first (see ChoiceTape); null: from the seed only.
  Random(std::uint64_t seed, ChoiceTape* tape) : seed_(seed), engine_(seed), tape_(tape) {}

  std::uint64_t seed() const noexcept { return seed_; }
  ChoiceTape* tape() const noexcept { return tape_; }

  std::uint64_t next_u64();
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
  // seed and the label (not from its current position). It shares this generator's tape.
  Random fork(std::string_view label) const;

 private:
  std::uint64_t seed_;
  std::mt19937_64 engine_;
  ChoiceTape* tape_ = nullptr;
};

// Deterministic 64-bit mixing of a seed and a label (XXH3), for deriving sub-seeds.
std::uint64_t derive_seed(std::uint64_t seed, std::string_view label) noexcept;

}  // namespace freezeframe

// Seeds for randomized tests: a test uses its fixed default seed unless FREEZEFRAME_SEED is
// set, and every failure message carries the seed and the command that replays it.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "freezeframe/random.h"

namespace freezeframe::testing {

inline std::uint64_t test_seed(std::uint64_t default_seed) {
  if (const char* text = std::getenv("FREEZEFRAME_SEED"); text != nullptr && *text != '\0') {
    return std::strtoull(text, nullptr, 0);
  }
  return default_seed;
}

// "FREEZEFRAME_SEED=<n> ctest -R '<Suite.Name>' --output-on-failure", for SCOPED_TRACE.
inline std::string replay_command(std::uint64_t seed) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "";
  return "seed " + std::to_string(seed) + "; replay: FREEZEFRAME_SEED=" + std::to_string(seed) +
         " ctest -R '" + name + "' --output-on-failure";
}

// The seed of a randomized test, test_seed(default_seed); while it lives, every failure
// message carries the seed and the command that replays it (as
// SCOPED_TRACE(replay_command(seed)) would).
class TracedSeed {
 public:
  explicit TracedSeed(std::uint64_t default_seed)
      : value_(test_seed(default_seed)), trace_(__FILE__, __LINE__, replay_command(value_)) {}

  std::uint64_t value() const noexcept { return value_; }

 private:
  std::uint64_t value_;
  ::testing::ScopedTrace trace_;
};

// The random source of a randomized test, seeded with a TracedSeed.
class TracedRandom : private TracedSeed, public Random {
 public:
  explicit TracedRandom(std::uint64_t default_seed)
      : TracedSeed(default_seed), Random(TracedSeed::value()) {}
};

}  // namespace freezeframe::testing

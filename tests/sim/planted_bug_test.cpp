// Planted bugs (freezeframe/plant.h): each real defect, switched on at run time, is caught by
// the simulator's general checks within the CI seed budget, and the very same seeds pass with
// the plant off.
//
// Storage plants run the provider model check in crash mode (sim/model_check.h: bit-exact
// snapshots, flushed writes kept, the survivor rule after each crash) over seeds first, first
// + 1, ... (first = FREEZEFRAME_SEED, else 1) until one diverges, at most kSeedBudget seeds.
// No check here is aimed at a plant: the test only asks whether the general run diverges.
//
// The protocol plant runs sim::run_protocol_check (sim/protocol_check.h): seeded snapshot sets
// with injected provider and writer failures and deadlines, checked after every set for the
// cleanup invariant (every writer that froze is thawed or aborted, I/O released, no snapshot
// of the failed set left).
//
// A catch prints the plant, the provider, the seed, the step and the divergence, and the
// command that replays it (with FREEZEFRAME_SEED set to the catching seed, the first seed
// run catches it). In a build without plants (FREEZEFRAME_PLANTS off) the catching tests are
// skipped, saying so.
#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <string>

#include "freezeframe/plant.h"
#include "freezeframe/sim/model_check.h"
#include "freezeframe/sim/protocol_check.h"
#include "seed.h"

namespace freezeframe {
namespace {

// The CI seed budget of a plant, per provider (issue 15: 200 seeds per provider).
constexpr std::uint64_t kSeedBudget = 200;
// Steps of a storage run: enough for several snapshots, crashes and reopens per seed.
constexpr std::uint64_t kModelSteps = 300;

const char* kind_text(ProviderKind kind) {
  return kind == ProviderKind::kCopyOnWrite ? "CoW" : "RoW";
}

sim::ModelCheckOptions crash_options(ProviderKind kind, std::uint64_t seed) {
  sim::ModelCheckOptions options;
  options.kind = kind;
  options.seed = seed;
  options.steps = kModelSteps;
  options.chunk_bytes = 4096;
  options.origin_bytes = 1 << 20;
  options.diff_bytes = 32ull << 20;
  options.crash = true;
  options.mix = sim::ModelCheckMix::with_crashes();
  return options;
}

// "plant <name> on <kind>: caught by seed <n> (<k> seeds run) at <where>: <what>", and the
// command that replays it.
void print_catch(Plant plant, ProviderKind kind, std::uint64_t first, std::uint64_t seed,
                 const std::string& where, const std::string& what) {
  const std::string line = "plant " + std::string(plant_name(plant)) + " on " + kind_text(kind) +
                           ": caught by seed " + std::to_string(seed) + " (" +
                           std::to_string(seed - first + 1) + " seeds run) at " + where + ": " +
                           what;
  std::printf("%s\n%s\n", line.c_str(), testing::replay_command(seed).c_str());
}

struct Caught {
  std::uint64_t seed = 0;
  sim::Divergence divergence{};
};

// Seeds first .. first + kSeedBudget - 1 of the crash model check with the active plants;
// the first that diverges, if any.
std::optional<Caught> first_divergence(ProviderKind kind, std::uint64_t first) {
  for (std::uint64_t seed = first; seed < first + kSeedBudget; ++seed) {
    auto report = sim::run_model_check(crash_options(kind, seed));
    EXPECT_TRUE(report.ok()) << report.status().to_string();
    if (!report.ok())
      return std::nullopt;
    if (!report->ok())
      return Caught{seed, *report->divergence};
  }
  return std::nullopt;
}

// `plant` is caught by the crash model check of `kind` within the budget, and the seeds up to
// the catching one pass without it.
void expect_caught_by_model_check(Plant plant, ProviderKind kind) {
  // The test build compiles the planted defects (FREEZEFRAME_PLANTS follows
  // FREEZEFRAME_BUILD_TESTS; CMakeLists.txt refuses tests without them).
  ASSERT_TRUE(plants_compiled()) << "configure the tests with -DFREEZEFRAME_PLANTS=ON";
  const std::uint64_t first = testing::test_seed(1);
  std::optional<Caught> caught;
  {
    ScopedPlants planted(PlantSet().add(plant));
    ASSERT_TRUE(planted.status().ok()) << planted.status().to_string();
    caught = first_divergence(kind, first);
  }
  ASSERT_TRUE(caught.has_value()) << "plant " << plant_name(plant) << " on " << kind_text(kind)
                                  << " was not caught by seeds " << first << ".."
                                  << first + kSeedBudget - 1 << " of the crash model check";
  print_catch(
      plant, kind, first, caught->seed,
      "step " + std::to_string(caught->divergence.step) + " (" + caught->divergence.operation + ")",
      caught->divergence.to_string());
  ::testing::Test::RecordProperty("catching_seed", std::to_string(caught->seed));
  ::testing::Test::RecordProperty("catching_step", std::to_string(caught->divergence.step));
  // The same seeds, no plant: the engine as built for users passes them all.
  ASSERT_TRUE(active_plants().empty());
  for (std::uint64_t seed = first; seed <= caught->seed; ++seed) {
    auto report = sim::run_model_check(crash_options(kind, seed));
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_TRUE(report->ok()) << "without the plant: " << report->divergence->to_string() << "; "
                              << testing::replay_command(seed);
  }
}

TEST(PlantedBug, CowOverwriteBeforeItsCopyIsDurableIsCaughtByTheCrashModelCheck) {
  expect_caught_by_model_check(Plant::kCowEarlyOverwrite, ProviderKind::kCopyOnWrite);
}

TEST(PlantedBug, RowMapRecordDurableBeforeItsDataIsCaughtByTheCrashModelCheck) {
  expect_caught_by_model_check(Plant::kRowMapBeforeData, ProviderKind::kRedirectOnWrite);
}

TEST(PlantedBug, JournalReplaySkippingTheLastRecordIsCaughtOnCow) {
  expect_caught_by_model_check(Plant::kJournalSkipLast, ProviderKind::kCopyOnWrite);
}

TEST(PlantedBug, JournalReplaySkippingTheLastRecordIsCaughtOnRow) {
  expect_caught_by_model_check(Plant::kJournalSkipLast, ProviderKind::kRedirectOnWrite);
}

// Seeds of the protocol check, per provider kind: each run takes kProtocolSets sets.
constexpr std::uint32_t kProtocolSets = 20;

sim::ProtocolCheckOptions protocol_options(ProviderKind kind, std::uint64_t seed) {
  return {.kind = kind, .seed = seed, .sets = kProtocolSets};
}

void expect_caught_by_protocol_check(ProviderKind kind) {
  // The test build compiles the planted defects (FREEZEFRAME_PLANTS follows
  // FREEZEFRAME_BUILD_TESTS; CMakeLists.txt refuses tests without them).
  ASSERT_TRUE(plants_compiled()) << "configure the tests with -DFREEZEFRAME_PLANTS=ON";
  const Plant plant = Plant::kProtocolSkipThaw;
  const std::uint64_t first = testing::test_seed(1);
  std::optional<sim::ProtocolViolation> caught;
  {
    ScopedPlants planted(PlantSet().add(plant));
    ASSERT_TRUE(planted.status().ok()) << planted.status().to_string();
    for (std::uint64_t seed = first; seed < first + kSeedBudget && !caught; ++seed) {
      auto report = sim::run_protocol_check(protocol_options(kind, seed));
      ASSERT_TRUE(report.ok()) << report.status().to_string();
      caught = report->violation;
    }
  }
  ASSERT_TRUE(caught.has_value()) << "plant " << plant_name(plant) << " on " << kind_text(kind)
                                  << " was not caught by seeds " << first << ".."
                                  << first + kSeedBudget - 1 << " of the protocol check";
  print_catch(plant, kind, first, caught->seed, "set " + std::to_string(caught->set),
              caught->to_string());
  ::testing::Test::RecordProperty("catching_seed", std::to_string(caught->seed));
  ::testing::Test::RecordProperty("catching_set", std::to_string(caught->set));
  ASSERT_TRUE(active_plants().empty());
  for (std::uint64_t seed = first; seed <= caught->seed; ++seed) {
    auto report = sim::run_protocol_check(protocol_options(kind, seed));
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_TRUE(report->ok()) << "without the plant: " << report->violation->to_string() << "; "
                              << testing::replay_command(seed);
  }
}

TEST(PlantedBug, ProtocolFailureThatSkipsTheThawIsCaughtByTheProtocolCheckOnCow) {
  expect_caught_by_protocol_check(ProviderKind::kCopyOnWrite);
}

TEST(PlantedBug, ProtocolFailureThatSkipsTheThawIsCaughtByTheProtocolCheckOnRow) {
  expect_caught_by_protocol_check(ProviderKind::kRedirectOnWrite);
}

}  // namespace
}  // namespace freezeframe

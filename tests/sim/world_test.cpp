// The simulator's world (sim/world.h): a run is a function of its options, its checks are
// general enough to catch each planted defect within the CI seed budget while the same seeds
// pass without it, and bad options are refused.
#include "freezeframe/sim/world.h"

#include <gtest/gtest.h>

#include <string>

#include "freezeframe/plant.h"
#include "freezeframe/random.h"
#include "freezeframe/snapshot_provider.h"
#include "seed.h"
#include "temp_path.h"

namespace freezeframe {
namespace {

// Seeds tried per planted defect before giving up: the CI budget is 200 seeds.
constexpr std::uint64_t kPlantSeedsMax = 200;

sim::WorldOptions world_options(std::uint64_t seed, const std::filesystem::path& scratch) {
  return {.seed = seed, .steps = 300, .scratch_dir = scratch};
}

TEST(World, SameSeedGivesTheSameCountsAndADifferentSeedDifferentOnes) {
  testing::TempPath scratch("world");
  std::filesystem::create_directories(scratch.path());
  auto first = sim::run_world(world_options(11, scratch.path()));
  auto second = sim::run_world(world_options(11, scratch.path()));
  auto other = sim::run_world(world_options(12, scratch.path()));
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  ASSERT_TRUE(second.ok() && other.ok());
  ASSERT_TRUE(first->ok()) << first->finding->to_string();
  EXPECT_EQ(first->counts.to_string(), second->counts.to_string());
  EXPECT_NE(first->counts.to_string(), other->counts.to_string());
  // The concurrent steps' schedules replay exactly, and another seed interleaves otherwise.
  EXPECT_GT(first->counts.interleavings, 0u);
  EXPECT_EQ(first->trace_hash, second->trace_hash);
  EXPECT_NE(first->trace_hash, other->trace_hash);
  EXPECT_EQ(first->counts.steps, 300u);
  EXPECT_GT(first->counts.crashes, 0u);
  EXPECT_GT(first->counts.snapshot_sets, 0u);
  // Backups need the repository's zstd: none in a build without it.
  if (compression_available()) {
    EXPECT_GT(first->counts.backups, 0u);
    EXPECT_GT(first->counts.restores, 0u);
  } else {
    EXPECT_EQ(first->counts.backups, 0u);
    EXPECT_EQ(first->counts.restores, 0u);
  }
  // The repository lives in the scratch directory only while the run does.
  EXPECT_TRUE(std::filesystem::is_empty(scratch.path()));
}

TEST(World, AChoiceTapeDecidesTheRunReplaysExactlyAndAnEmptyOneIsTheSeed) {
  testing::TempPath scratch("world-tape");
  std::filesystem::create_directories(scratch.path());
  auto with_tape = [&](std::uint64_t tape_seed, std::size_t bytes) {
    sim::WorldOptions options = world_options(11, scratch.path());
    options.steps = 150;
    std::vector<std::byte> tape(bytes);
    Random(tape_seed).fill(tape);
    for (std::byte byte : tape)
      options.choices.push_back(static_cast<std::uint8_t>(byte));
    auto report = sim::run_world(options);
    EXPECT_TRUE(report.ok()) << report.status().to_string();
    if (report.ok() && !report->ok())
      ADD_FAILURE() << report->finding->to_string();
    return report.ok() ? *report : sim::WorldReport{};
  };
  const sim::WorldReport first = with_tape(1, 2000);
  const sim::WorldReport again = with_tape(1, 2000);
  const sim::WorldReport other = with_tape(2, 2000);
  const sim::WorldReport none = with_tape(1, 0);
  auto seeded = sim::run_world({.seed = 11, .steps = 150, .scratch_dir = scratch.path()});
  ASSERT_TRUE(seeded.ok());
  // The tape was read, and the same seed and tape replay the same run.
  EXPECT_GT(first.choices_read, 0u);
  EXPECT_LE(first.choices_read, 2000u);
  EXPECT_EQ(first.counts.to_string(), again.counts.to_string());
  EXPECT_EQ(first.trace_hash, again.trace_hash);
  // Another tape, same seed: another run.
  EXPECT_NE(first.counts.to_string(), other.counts.to_string());
  EXPECT_NE(first.counts.to_string(), seeded->counts.to_string());
  // An empty tape leaves the seed in charge.
  EXPECT_EQ(none.choices_read, 0u);
  EXPECT_EQ(none.counts.to_string(), seeded->counts.to_string());
  EXPECT_EQ(none.trace_hash, seeded->trace_hash);
}

TEST(World, OptionsOutOfRangeAreRefused) {
  for (sim::WorldOptions options : {sim::WorldOptions{.steps = 0}, sim::WorldOptions{.volumes = 5},
                                    sim::WorldOptions{.volume_bytes = 4096},
                                    sim::WorldOptions{.volume_bytes = (256 << 10) + 512}}) {
    auto report = sim::run_world(options);
    ASSERT_FALSE(report.ok()) << sim::world_arguments(options);
    EXPECT_EQ(report.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(report.status().message().find("sim:"), std::string::npos);
  }
}

TEST(World, FindingCarriesTheCommandThatReplaysIt) {
  sim::WorldOptions options{.seed = 5, .steps = 77, .volumes = 3};
  EXPECT_EQ(sim::world_arguments(options), "--seed 5 --steps 77 --volumes 3 --no-backups");
  sim::WorldFinding finding{.seed = 5, .arguments = sim::world_arguments(options)};
  EXPECT_EQ(finding.replay_command(),
            "freezeframe sim --seed 5 --steps 77 --volumes 3 --no-backups");
  options.choices = {0x0a, 0xff, 0x00};
  EXPECT_EQ(sim::world_arguments(options),
            "--seed 5 --steps 77 --volumes 3 --no-backups --choices 0aff00");
}

class WorldPlantTest : public ::testing::TestWithParam<Plant> {};

// The world's checks are the general invariants; none looks for a particular defect.
TEST_P(WorldPlantTest, PlantedDefectIsCaughtWithinTheSeedBudgetAndTheSameSeedsPassWithout) {
  // The test build compiles the planted defects (FREEZEFRAME_PLANTS follows
  // FREEZEFRAME_BUILD_TESTS; CMakeLists.txt refuses tests without them).
  ASSERT_TRUE(plants_compiled()) << "configure the tests with -DFREEZEFRAME_PLANTS=ON";
  testing::TempPath scratch("world");
  std::filesystem::create_directories(scratch.path());
  const std::uint64_t first = testing::test_seed(1);
  std::uint64_t caught_at = 0;
  {
    ScopedPlants planted(PlantSet().add(GetParam()));
    ASSERT_TRUE(planted.status().ok()) << planted.status().to_string();
    for (std::uint64_t seed = first; seed < first + kPlantSeedsMax && caught_at == 0; ++seed) {
      auto report = sim::run_world(world_options(seed, scratch.path()));
      ASSERT_TRUE(report.ok()) << report.status().to_string();
      if (!report->ok()) {
        caught_at = seed;
        std::printf("%s caught: %s\n", std::string(plant_name(GetParam())).c_str(),
                    report->finding->to_string().c_str());
      }
    }
  }
  ASSERT_NE(caught_at, 0u) << plant_name(GetParam()) << " not caught in seeds " << first << " to "
                           << first + kPlantSeedsMax - 1;
  for (std::uint64_t seed = first; seed <= caught_at; ++seed) {
    auto report = sim::run_world(world_options(seed, scratch.path()));
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_TRUE(report->ok()) << "without the plant: " << report->finding->to_string();
  }
}

INSTANTIATE_TEST_SUITE_P(Plants, WorldPlantTest,
                         ::testing::Values(Plant::kCowEarlyOverwrite, Plant::kRowMapBeforeData,
                                           Plant::kJournalSkipLast, Plant::kProtocolSkipThaw),
                         [](const ::testing::TestParamInfo<Plant>& param) {
                           std::string name(plant_name(param.param));
                           for (char& c : name)
                             c = c == '-' ? '_' : c;
                           return name;
                         });

}  // namespace
}  // namespace freezeframe

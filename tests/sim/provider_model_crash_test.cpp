// Model-based tests of the CoW and RoW providers with power loss: the model check
// (sim/model_check.h) in crash mode runs the seeded random sequence of the reference-model
// test (writes, discards, snapshot creations, deletions, reverts, consolidations, flushes,
// clean reopens) over simulated origin and diff volumes, plus crash steps that drop the
// provider without a flush, make both volumes lose an arbitrary subset of their unflushed
// sectors, and reopen. After each crash every sector of the live volume must hold its
// content as of the last completed flush or a write issued since (the model then adopts
// it), and every snapshot must read back exactly. Each case records its number of crash
// points (property `crash_points`, and a line on stdout).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "freezeframe/sim/model_check.h"
#include "seed.h"

namespace freezeframe {
namespace {

struct ModelParam {
  ProviderKind kind;
  std::uint32_t chunk_bytes;
  std::uint64_t origin_bytes;
  bool compress = false;
};

std::string param_name(const ::testing::TestParamInfo<ModelParam>& info) {
  return std::string(provider_kind_name(info.param.kind)) + "_" +
         std::to_string(info.param.chunk_bytes / 1024) + "K" + (info.param.compress ? "_zstd" : "");
}

class ProviderModelCrashTest : public ::testing::TestWithParam<ModelParam> {};

TEST_P(ProviderModelCrashTest, RandomOperationsAndCrashesMatchTheReferenceModel) {
  const ModelParam param = GetParam();
  const std::uint64_t seed = testing::test_seed(20261211 + param.chunk_bytes);
  SCOPED_TRACE(testing::replay_command(seed));
  auto report = sim::run_model_check({.kind = param.kind,
                                      .seed = seed,
                                      .steps = 600,
                                      .chunk_bytes = param.chunk_bytes,
                                      .origin_bytes = param.origin_bytes,
                                      .diff_bytes = 32ull << 20,
                                      .compress = param.compress,
                                      .snapshots_max = 16,
                                      .crash = true,
                                      .mix = sim::ModelCheckMix::with_crashes()});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  const std::uint64_t crashes = report->counts.crashes;
  RecordProperty("crash_points", static_cast<int>(crashes));
  std::printf("%s: %llu crash points in %llu steps\n", param_name({GetParam(), 0}).c_str(),
              static_cast<unsigned long long>(crashes),
              static_cast<unsigned long long>(report->counts.steps));
  ASSERT_TRUE(report->ok()) << report->divergence->to_string();
  EXPECT_EQ(report->counts.steps, 600u);
  EXPECT_GT(crashes, 5u);
}

INSTANTIATE_TEST_SUITE_P(
    Providers, ProviderModelCrashTest,
    ::testing::Values(ModelParam{ProviderKind::kCopyOnWrite, 4096, 1 << 20},
                      ModelParam{ProviderKind::kCopyOnWrite, 16384, 2 << 20},
                      ModelParam{ProviderKind::kRedirectOnWrite, 4096, 1 << 20},
                      ModelParam{ProviderKind::kRedirectOnWrite, 16384, 2 << 20},
                      ModelParam{ProviderKind::kCopyOnWrite, 16384, 2 << 20, true},
                      ModelParam{ProviderKind::kRedirectOnWrite, 4096, 1 << 20, true}),
    param_name);

// The model says one thing about a byte of the live volume and the provider another: in
// crash mode too, the checks after the last step report it.
TEST(ModelCheckCrash, ReportsAModelThatDisagreesWithTheProvider) {
  constexpr std::uint64_t kSteps = 150;
  constexpr std::uint64_t kOffset = 4097;
  sim::ModelCheckOptions options{.kind = ProviderKind::kRedirectOnWrite,
                                 .seed = 20261211,
                                 .steps = kSteps,
                                 .chunk_bytes = 4096,
                                 .origin_bytes = 1 << 20,
                                 .diff_bytes = 32ull << 20,
                                 .crash = true,
                                 .mix = sim::ModelCheckMix::with_crashes()};
  options.after_step = [&](std::uint64_t step, sim::ModelCheckWorld& world) {
    if (step == kSteps - 1)
      world.model->corrupt_live_byte(kOffset);
  };
  auto report = sim::run_model_check(options);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_FALSE(report->ok()) << "the checker missed a model that disagrees";
  const sim::Divergence& divergence = *report->divergence;
  std::printf("planted divergence reported as: %s\n", divergence.to_string().c_str());
  EXPECT_EQ(divergence.step, kSteps);
  EXPECT_EQ(divergence.operation, "final-check");
  EXPECT_EQ(divergence.subject, "live");
  EXPECT_EQ(divergence.offset, kOffset);
  EXPECT_NE(divergence.expected, divergence.actual);
  EXPECT_GT(report->counts.crashes, 0u);
}

}  // namespace
}  // namespace freezeframe

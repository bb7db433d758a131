// Model-based tests of the CoW and RoW providers, over the one model check
// (sim/model_check.h).
//
// ProviderModelTest runs a seeded random sequence of writes, discards, snapshot creations,
// deletions, reverts, consolidations, flushes and reopens against the provider and against a
// plain in-memory reference model; every read must match the model byte for byte.
//
// ProviderModelCrashTest runs the same kind of sequence in crash mode, over simulated origin
// and diff volumes, with crash steps that drop the provider without a flush, make both volumes
// lose an arbitrary subset of their unflushed sectors, and reopen. After each crash every
// sector of the live volume must hold its content as of the last completed flush or a write
// issued since (the model then adopts it), and every snapshot must read back exactly. Each
// case records its number of crash points (property `crash_points`, and a line on stdout).
//
// The checker itself is shown to fail when the provider's volume is changed behind its back
// and when the model disagrees with the provider.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "freezeframe/sim/model_check.h"
#include "seed.h"
#include "zstd_skip.h"

namespace freezeframe {
namespace {

struct ModelParam {
  ProviderKind kind;
  std::uint32_t chunk_bytes;
  std::uint64_t origin_bytes;
  std::uint32_t sector_bytes = 512;  // of both the origin and the diff volume
  bool compress = false;
};

std::string param_name(const ::testing::TestParamInfo<ModelParam>& info) {
  return std::string(provider_kind_name(info.param.kind)) + "_" +
         std::to_string(info.param.chunk_bytes / 1024) + "K" +
         (info.param.sector_bytes == 512 ? "" : "_sector4K") + (info.param.compress ? "_zstd" : "");
}

// Each of `params` (CoW providers), and each again for a RoW provider.
std::vector<ModelParam> with_row_too(std::initializer_list<ModelParam> params) {
  std::vector<ModelParam> both(params);
  for (ModelParam param : params) {
    param.kind = ProviderKind::kRedirectOnWrite;
    both.push_back(param);
  }
  return both;
}

// The options of the model suite.
sim::ModelCheckOptions options_for(const ModelParam& param, std::uint64_t seed) {
  return {.kind = param.kind,
          .seed = seed,
          .steps = 600,
          .chunk_bytes = param.chunk_bytes,
          .origin_bytes = param.origin_bytes,
          .diff_bytes = 256ull << 20,
          .sector_bytes = param.sector_bytes,
          .compress = param.compress,
          .snapshots_max = 16};
}

// Crash mode: a smaller diff volume, and crash steps in the mix.
sim::ModelCheckOptions crash_options_for(const ModelParam& param, std::uint64_t seed) {
  sim::ModelCheckOptions options = options_for(param, seed);
  options.diff_bytes = 32ull << 20;
  options.crash = true;
  options.mix = sim::ModelCheckMix::with_crashes();
  return options;
}

// Runs `options` for `steps` steps with `plant` called on the world after the last of them,
// and returns the report, which must name a divergence (nullopt, with the test failed, when
// the run fails or finds none).
std::optional<sim::ModelCheckReport> run_planted(
    sim::ModelCheckOptions options, std::uint64_t steps,
    const std::function<void(sim::ModelCheckWorld&)>& plant) {
  options.steps = steps;
  options.after_step = [&](std::uint64_t step, sim::ModelCheckWorld& world) {
    if (step == steps - 1)
      plant(world);
  };
  auto report = sim::run_model_check(options);
  EXPECT_TRUE(report.ok()) << report.status().to_string();
  if (!report.ok())
    return std::nullopt;
  EXPECT_FALSE(report->ok()) << "the checker missed the planted divergence";
  if (report->ok())
    return std::nullopt;
  std::printf("planted divergence reported as: %s\n", report->divergence->to_string().c_str());
  return std::move(report).value();
}

// The checks after the last of `steps` steps found the live volume differing at `offset`.
void expect_live_differs_at_final_check(const sim::Divergence& divergence, std::uint64_t steps,
                                        std::uint64_t offset) {
  EXPECT_EQ(divergence.step, steps);
  EXPECT_EQ(divergence.operation, "final-check");
  EXPECT_EQ(divergence.subject, "live");
  EXPECT_EQ(divergence.offset, offset);
}

class ProviderModelTest : public ::testing::TestWithParam<ModelParam> {};

TEST_P(ProviderModelTest, RandomOperationsMatchTheReferenceModel) {
  FF_SKIP_WITHOUT_ZSTD(GetParam().compress);
  const testing::TracedSeed seed(20261127 + GetParam().chunk_bytes);
  auto report = sim::run_model_check(options_for(GetParam(), seed.value()));
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_TRUE(report->ok()) << report->divergence->to_string();
  EXPECT_EQ(report->counts.steps, 600u);
  EXPECT_GT(report->counts.by_operation[sim::ModelOperation::kIntegrity], 0u);
  EXPECT_GT(report->counts.by_operation[sim::ModelOperation::kChangedExtents], 0u);
  RecordProperty("full_checks",
                 static_cast<int>(report->counts.by_operation[sim::ModelOperation::kCheckAll]));
  RecordProperty("reopens",
                 static_cast<int>(report->counts.by_operation[sim::ModelOperation::kReopen]));
}

// A chunk damaged behind the provider's back: the next integrity step (or a read of
// the chunk) reports it; the run never goes on as if nothing happened.
TEST(ProviderModelIntegrityTest, DamageToAStoredChunkIsFound) {
  for (ProviderKind kind : {ProviderKind::kCopyOnWrite, ProviderKind::kRedirectOnWrite}) {
    SCOPED_TRACE(kind == ProviderKind::kCopyOnWrite ? "CoW" : "RoW");
    sim::ModelCheckOptions options;
    options.kind = kind;
    options.seed = 20261202;
    options.steps = 300;
    options.diff_bytes = 8 << 20;
    options.mix = sim::ModelCheckMix();
    for (std::uint32_t& weight : options.mix.values)
      weight = 0;
    options.mix[sim::ModelOperation::kWrite] = 20;
    options.mix[sim::ModelOperation::kCreateSnapshot] = 1;
    options.mix[sim::ModelOperation::kIntegrity] = 4;
    bool damaged = false;
    options.after_step = [&](std::uint64_t, sim::ModelCheckWorld& world) {
      if (damaged || world.provider->usage().used_bytes == 0)
        return;
      // A byte of data slot 0 (the first slot handed out).
      std::vector<std::byte> superblock(512);
      ASSERT_TRUE(world.diff_base->read(0, superblock).ok());
      std::uint64_t data_offset = 0;
      std::memcpy(&data_offset, superblock.data() + 120, 8);
      std::vector<std::byte> sector(512);
      ASSERT_TRUE(world.diff_base->read(data_offset, sector).ok());
      sector[3] ^= std::byte{0x20};
      ASSERT_TRUE(world.diff_base->write(data_offset, sector).ok());
      damaged = true;
    };
    auto report = sim::run_model_check(options);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    ASSERT_TRUE(damaged);
    ASSERT_FALSE(report->ok()) << "the damaged chunk went unnoticed";
    EXPECT_THAT(report->divergence->to_string(), ::testing::HasSubstr("fails its checksum"));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Providers, ProviderModelTest,
    ::testing::ValuesIn(with_row_too({{ProviderKind::kCopyOnWrite, 4096, 1 << 20},
                                      {ProviderKind::kCopyOnWrite, 16384, 2 << 20},
                                      {ProviderKind::kCopyOnWrite, 1 << 20, 8 << 20},
                                      {ProviderKind::kCopyOnWrite, 16384, 2 << 20, 4096},
                                      {ProviderKind::kCopyOnWrite, 4096, 1 << 20, 512, true},
                                      {ProviderKind::kCopyOnWrite, 16384, 2 << 20, 4096, true}})),
    param_name);

// A byte of the origin changed after the last step, behind the provider's back: the checks
// after the last step must report it, naming the offset and both contents. The provider is
// flushed first so that the live volume reads that byte from the origin.
TEST(ModelCheck, ReportsAVolumeChangedBehindTheProvidersBack) {
  constexpr std::uint64_t kSteps = 200;
  constexpr std::uint64_t kOffset = 12345;
  std::byte before{};
  Status hook_status;
  // A CoW origin holds the live image: flip one byte of it, a whole sector rewritten.
  const auto flip_origin_byte = [&](sim::ModelCheckWorld& world) {
    hook_status = world.provider->flush();
    if (!hook_status.ok())
      return;
    const std::uint64_t sector_offset = kOffset - kOffset % 512;
    std::vector<std::byte> sector(512);
    hook_status = world.origin_base->read(sector_offset, sector);
    if (!hook_status.ok())
      return;
    before = sector[kOffset % 512];
    sector[kOffset % 512] = ~before;
    hook_status = world.origin_base->write(sector_offset, sector);
  };
  auto report =
      run_planted(options_for({ProviderKind::kCopyOnWrite, 4096, 1 << 20}, /*seed=*/20261127),
                  kSteps, flip_origin_byte);
  ASSERT_TRUE(report.has_value());
  ASSERT_TRUE(hook_status.ok()) << hook_status.to_string();
  const sim::Divergence& divergence = *report->divergence;
  EXPECT_EQ(divergence.seed, 20261127u);
  expect_live_differs_at_final_check(divergence, kSteps, kOffset);
  const auto hex = [](std::byte value) {
    char text[3];
    std::snprintf(text, sizeof text, "%02x", static_cast<unsigned>(value));
    return std::string(text);
  };
  EXPECT_EQ(divergence.expected.substr(0, 2), hex(before));
  EXPECT_EQ(divergence.actual.substr(0, 2), hex(~before));
  EXPECT_NE(divergence.to_string().find("seed 20261127, step 200"), std::string::npos)
      << divergence.to_string();
}

// Both kinds at two chunk sizes, and each kind once with compression.
std::vector<ModelParam> crash_params() {
  std::vector<ModelParam> params = with_row_too(
      {{ProviderKind::kCopyOnWrite, 4096, 1 << 20}, {ProviderKind::kCopyOnWrite, 16384, 2 << 20}});
  params.push_back({ProviderKind::kCopyOnWrite, 16384, 2 << 20, 512, true});
  params.push_back({ProviderKind::kRedirectOnWrite, 4096, 1 << 20, 512, true});
  return params;
}

class ProviderModelCrashTest : public ::testing::TestWithParam<ModelParam> {};

TEST_P(ProviderModelCrashTest, RandomOperationsAndCrashesMatchTheReferenceModel) {
  FF_SKIP_WITHOUT_ZSTD(GetParam().compress);
  const testing::TracedSeed seed(20261211 + GetParam().chunk_bytes);
  auto report = sim::run_model_check(crash_options_for(GetParam(), seed.value()));
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  const std::uint64_t crashes = report->counts.by_operation[sim::ModelOperation::kCrash];
  RecordProperty("crash_points", static_cast<int>(crashes));
  std::printf("%s: %llu crash points in %llu steps\n", param_name({GetParam(), 0}).c_str(),
              static_cast<unsigned long long>(crashes),
              static_cast<unsigned long long>(report->counts.steps));
  ASSERT_TRUE(report->ok()) << report->divergence->to_string();
  EXPECT_EQ(report->counts.steps, 600u);
  EXPECT_GT(crashes, 5u);
}

INSTANTIATE_TEST_SUITE_P(Providers, ProviderModelCrashTest, ::testing::ValuesIn(crash_params()),
                         param_name);

// The model says one thing about a byte of the live volume and the provider another: in
// crash mode too, the checks after the last step report it.
TEST(ModelCheckCrash, ReportsAModelThatDisagreesWithTheProvider) {
  constexpr std::uint64_t kSteps = 150;
  constexpr std::uint64_t kOffset = 4097;
  auto report = run_planted(
      crash_options_for({ProviderKind::kRedirectOnWrite, 4096, 1 << 20}, /*seed=*/20261211), kSteps,
      [](sim::ModelCheckWorld& world) { world.model->corrupt_live_byte(kOffset); });
  ASSERT_TRUE(report.has_value());
  const sim::Divergence& divergence = *report->divergence;
  expect_live_differs_at_final_check(divergence, kSteps, kOffset);
  EXPECT_NE(divergence.expected, divergence.actual);
  EXPECT_GT(report->counts.by_operation[sim::ModelOperation::kCrash], 0u);
}

}  // namespace
}  // namespace freezeframe

// Model-based tests of the CoW and RoW providers with power loss: the seeded random sequence of
// the reference-model test (writes, discards, snapshot creations, deletions, reverts,
// consolidations, flushes, clean reopens) over simulated origin and diff volumes, plus crash
// steps that drop the provider without a flush, make both volumes lose an arbitrary subset of
// their unflushed sectors, and reopen. After each crash every sector of the live volume must
// hold its content as of the last completed flush or a write issued since (the model then
// adopts it), and every snapshot must read back exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crash_model.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/sim_volume.h"
#include "freezeframe/snapshot_provider.h"
#include "payload.h"
#include "seed.h"

namespace freezeframe {
namespace {

using Bytes = std::vector<std::byte>;

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

struct ModelSnapshot {
  Uuid id;
  Bytes image;
};

TEST_P(ProviderModelCrashTest, RandomOperationsAndCrashesMatchTheReferenceModel) {
  const ModelParam param = GetParam();
  const std::uint64_t seed = testing::test_seed(20261211 + param.chunk_bytes);
  SCOPED_TRACE(testing::replay_command(seed));
  Random random(seed);
  Random uuids = random.fork("uuids");

  auto origin_base = MemoryVolume::create({.name = "origin", .size_bytes = param.origin_bytes});
  ASSERT_TRUE(origin_base.ok());
  auto diff_base = MemoryVolume::create({.name = "diff", .size_bytes = 32ull << 20});
  ASSERT_TRUE(diff_base.ok());
  sim::SimVolumeOptions sim_options;
  sim_options.seed = derive_seed(seed, "origin");
  auto origin = sim::SimVolume::create(std::move(origin_base).value(), sim_options);
  ASSERT_TRUE(origin.ok());
  sim_options.seed = derive_seed(seed, "diff");
  auto diff = sim::SimVolume::create(std::move(diff_base).value(), sim_options);
  ASSERT_TRUE(diff.ok());
  ProviderOptions options;
  options.chunk_bytes = param.chunk_bytes;
  options.limit = DiffAreaLimit::unbounded();
  options.snapshots_max = 16;
  options.random = &uuids;
  options.compress = param.compress;
  auto created = SnapshotProvider::create(param.kind, *origin.value(), *diff.value(), options);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  std::unique_ptr<SnapshotProvider> provider = std::move(created).value();

  const std::uint64_t size = param.origin_bytes;
  const std::uint64_t sector = 512;
  // The expected live image (model.live()) and what a crash may leave of it.
  testing::SectorModel model(size);
  std::vector<ModelSnapshot> snapshots;  // oldest first
  int crashes = 0;

  auto random_range = [&](std::uint64_t max_bytes) {
    std::uint64_t length = sector * random.uniform_range(1, max_bytes / sector);
    std::uint64_t offset = sector * random.uniform((size - length) / sector + 1);
    return std::pair(offset, length);
  };
  auto check_read = [&](Volume& volume, const Bytes& image, const std::string& what) {
    auto [offset, length] = random_range(3 * param.chunk_bytes);
    Bytes got(length);
    ASSERT_TRUE(volume.read(offset, got).ok()) << what;
    ASSERT_EQ(0, std::memcmp(got.data(), image.data() + offset, length))
        << what << " differs at offset " << offset << " length " << length;
  };
  auto check_all = [&](const std::string& when) {
    Bytes got(size);
    ASSERT_TRUE(provider->read(0, got).ok());
    ASSERT_TRUE(got == model.live()) << "live volume differs " << when;
    for (std::size_t i = 0; i < snapshots.size(); ++i) {
      auto volume = provider->open_snapshot(snapshots[i].id);
      ASSERT_TRUE(volume.ok()) << volume.status().to_string();
      ASSERT_TRUE(volume.value()->read(0, got).ok());
      ASSERT_TRUE(got == snapshots[i].image) << "snapshot " << i << " differs " << when;
    }
  };

  const int steps = 600;
  for (int step = 0; step < steps; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    std::uint64_t dice = random.uniform(100);
    if (dice < 40) {
      auto [offset, length] = random_range(3 * param.chunk_bytes);
      Bytes data(length);
      testing::fill_mixed(random, data);
      model.begin_write(offset, data);
      ASSERT_TRUE(provider->write(offset, data).ok());
      model.complete_write(offset, data);
    } else if (dice < 45) {
      auto [offset, length] = random_range(2 * param.chunk_bytes);
      Bytes zeros(length);
      model.begin_write(offset, zeros);
      ASSERT_TRUE(provider->discard(offset, length).ok());
      model.complete_write(offset, zeros);
    } else if (dice < 55) {
      check_read(*provider, model.live(), "live");
    } else if (dice < 65 && !snapshots.empty()) {
      std::size_t i = random.uniform(snapshots.size());
      auto volume = provider->open_snapshot(snapshots[i].id);
      ASSERT_TRUE(volume.ok());
      check_read(*volume.value(), snapshots[i].image, "snapshot " + std::to_string(i));
    } else if (dice < 73) {
      auto info = provider->create_snapshot();
      if (snapshots.size() >= options.snapshots_max) {
        ASSERT_EQ(info.status().code(), ErrorCode::kLimitExceeded);
      } else {
        ASSERT_TRUE(info.ok()) << info.status().to_string();
        snapshots.push_back({info.value().id, model.live()});
      }
    } else if (dice < 79 && !snapshots.empty()) {
      std::size_t i = random.uniform(snapshots.size());
      ASSERT_TRUE(provider->delete_snapshot(snapshots[i].id).ok());
      snapshots.erase(snapshots.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (dice < 82 && !snapshots.empty()) {
      std::size_t i = random.uniform(snapshots.size());
      model.begin_write(0, snapshots[i].image);
      Status status = provider->revert_to_snapshot(snapshots[i].id);
      ASSERT_TRUE(status.ok()) << status.to_string();
      model.complete_write(0, snapshots[i].image);
      snapshots.resize(i + 1);
    } else if (dice < 86) {
      if (param.kind == ProviderKind::kCopyOnWrite) {
        ASSERT_EQ(provider->as_row(), nullptr);  // consolidation is RoW's alone
      } else {
        Status status = provider->as_row()->consolidate();
        ASSERT_TRUE(status.ok()) << status.to_string();
      }
    } else if (dice < 91) {
      ASSERT_TRUE(provider->flush().ok());
      model.flushed();
    } else if (dice < 93) {
      // Close and reopen: a clean shutdown flushes first.
      ASSERT_TRUE(provider->flush().ok());
      model.flushed();
      provider.reset();
      auto reopened = SnapshotProvider::open(*origin.value(), *diff.value(), {.random = &uuids});
      ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
      provider = std::move(reopened).value();
    } else if (dice < 97) {
      // Power loss: no flush; each unflushed sector of either volume survives or not.
      ++crashes;
      provider.reset();
      origin.value()->crash();
      diff.value()->crash();
      auto reopened = SnapshotProvider::open(*origin.value(), *diff.value(), {.random = &uuids});
      ASSERT_TRUE(reopened.ok()) << "reopen after a crash: " << reopened.status().to_string();
      provider = std::move(reopened).value();
      Bytes image(size);
      ASSERT_TRUE(provider->read(0, image).ok());
      std::string problem = model.check_recovered(image);
      ASSERT_TRUE(problem.empty()) << "live volume after a crash: " << problem;
      model.adopt(image);
      check_all("after a crash at step " + std::to_string(step));
    } else {
      check_all("at step " + std::to_string(step));
    }
    if (HasFatalFailure())
      return;
  }
  check_all("at the end");
  EXPECT_GT(crashes, 5);
  // The provider's catalog lists exactly the model's snapshots, oldest first.
  auto listed = provider->snapshots();
  ASSERT_EQ(listed.size(), snapshots.size());
  for (std::size_t i = 0; i < listed.size(); ++i)
    EXPECT_EQ(listed[i].id, snapshots[i].id);
  // Space accounting agrees with the index: nothing leaked.
  if (snapshots.empty() && param.kind == ProviderKind::kCopyOnWrite) {
    EXPECT_EQ(provider->usage().used_bytes, 0u);
  }
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

}  // namespace
}  // namespace freezeframe

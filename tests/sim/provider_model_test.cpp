// Model-based tests of the CoW and RoW providers: a seeded random sequence of writes,
// discards, snapshot creations, deletions, reverts, consolidations, flushes and reopens runs
// against the provider and against a plain in-memory reference model; every read must match
// the model byte for byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
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
  std::uint32_t sector_bytes = 512;  // of both the origin and the diff volume
  bool compress = false;
};

std::string param_name(const ::testing::TestParamInfo<ModelParam>& info) {
  return std::string(provider_kind_name(info.param.kind)) + "_" +
         std::to_string(info.param.chunk_bytes / 1024) + "K" +
         (info.param.sector_bytes == 512 ? "" : "_sector4K") + (info.param.compress ? "_zstd" : "");
}

class ProviderModelTest : public ::testing::TestWithParam<ModelParam> {};

struct ModelSnapshot {
  Uuid id;
  Bytes image;
};

TEST_P(ProviderModelTest, RandomOperationsMatchTheReferenceModel) {
  const ModelParam param = GetParam();
  const std::uint64_t seed = testing::test_seed(20261127 + param.chunk_bytes);
  SCOPED_TRACE(testing::replay_command(seed));
  Random random(seed);
  Random uuids = random.fork("uuids");

  auto origin = MemoryVolume::create(
      {.name = "origin", .size_bytes = param.origin_bytes, .sector_bytes = param.sector_bytes});
  ASSERT_TRUE(origin.ok());
  auto diff = MemoryVolume::create(
      {.name = "diff", .size_bytes = 256ull << 20, .sector_bytes = param.sector_bytes});
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
  const std::uint64_t sector = param.sector_bytes;
  Bytes live(size);
  std::vector<ModelSnapshot> snapshots;  // oldest first

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
    ASSERT_TRUE(got == live) << "live volume differs " << when;
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
      ASSERT_TRUE(provider->write(offset, data).ok());
      std::memcpy(live.data() + offset, data.data(), length);
    } else if (dice < 45) {
      auto [offset, length] = random_range(2 * param.chunk_bytes);
      ASSERT_TRUE(provider->discard(offset, length).ok());
      std::fill_n(live.begin() + static_cast<std::ptrdiff_t>(offset), length, std::byte{0});
    } else if (dice < 55) {
      check_read(*provider, live, "live");
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
        snapshots.push_back({info.value().id, live});
      }
    } else if (dice < 79 && !snapshots.empty()) {
      std::size_t i = random.uniform(snapshots.size());
      ASSERT_TRUE(provider->delete_snapshot(snapshots[i].id).ok());
      snapshots.erase(snapshots.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (dice < 82 && !snapshots.empty()) {
      std::size_t i = random.uniform(snapshots.size());
      Status status = provider->revert_to_snapshot(snapshots[i].id);
      ASSERT_TRUE(status.ok()) << status.to_string();
      live = snapshots[i].image;
      snapshots.resize(i + 1);
    } else if (dice < 86) {
      if (param.kind == ProviderKind::kCopyOnWrite) {
        ASSERT_EQ(provider->as_row(), nullptr);  // consolidation is RoW's alone
      } else {
        Status status = provider->as_row()->consolidate();
        ASSERT_TRUE(status.ok()) << status.to_string();
      }
    } else if (dice < 93) {
      ASSERT_TRUE(provider->flush().ok());
    } else if (dice < 97) {
      // Close and reopen: a clean shutdown flushes first.
      ASSERT_TRUE(provider->flush().ok());
      provider.reset();
      auto reopened = SnapshotProvider::open(*origin.value(), *diff.value(), {.random = &uuids});
      ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
      provider = std::move(reopened).value();
    } else {
      check_all("at step " + std::to_string(step));
    }
    if (HasFatalFailure())
      return;
  }
  check_all("at the end");
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
    Providers, ProviderModelTest,
    ::testing::Values(ModelParam{ProviderKind::kCopyOnWrite, 4096, 1 << 20},
                      ModelParam{ProviderKind::kCopyOnWrite, 16384, 2 << 20},
                      ModelParam{ProviderKind::kCopyOnWrite, 1 << 20, 8 << 20},
                      ModelParam{ProviderKind::kRedirectOnWrite, 4096, 1 << 20},
                      ModelParam{ProviderKind::kRedirectOnWrite, 16384, 2 << 20},
                      ModelParam{ProviderKind::kRedirectOnWrite, 1 << 20, 8 << 20},
                      ModelParam{ProviderKind::kCopyOnWrite, 16384, 2 << 20, 4096},
                      ModelParam{ProviderKind::kRedirectOnWrite, 16384, 2 << 20, 4096},
                      ModelParam{ProviderKind::kCopyOnWrite, 4096, 1 << 20, 512, true},
                      ModelParam{ProviderKind::kCopyOnWrite, 16384, 2 << 20, 4096, true},
                      ModelParam{ProviderKind::kRedirectOnWrite, 4096, 1 << 20, 512, true},
                      ModelParam{ProviderKind::kRedirectOnWrite, 16384, 2 << 20, 4096, true}),
    param_name);

}  // namespace
}  // namespace freezeframe

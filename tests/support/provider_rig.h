// A CoW or RoW provider over in-memory origin and diff volumes, each wrapped in a SimVolume
// so that tests can count the bytes the provider writes to either of them, and helpers to
// write patterns and build histories of snapshots (images: volume_image.h).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/sim_volume.h"
#include "freezeframe/snapshot_provider.h"
#include "seed.h"
#include "volume_image.h"

namespace freezeframe::testing {

struct RigOptions {
  std::uint64_t origin_bytes = 1 << 20;
  std::uint64_t diff_bytes = 8 << 20;
  std::uint64_t seed = 1;
};

struct ProviderRig {
  std::unique_ptr<MemoryVolume> origin_base;
  std::unique_ptr<MemoryVolume> diff_base;
  std::unique_ptr<sim::SimVolume> origin;
  std::unique_ptr<sim::SimVolume> diff;
  std::unique_ptr<Random> uuids;
  std::unique_ptr<SnapshotProvider> provider;

  // Closes the provider cleanly (flush first) and opens the diff area again.
  Status reopen() {
    if (provider != nullptr) {
      Status flushed = provider->flush();
      if (!flushed.ok())
        return flushed;
    }
    provider.reset();
    auto opened = SnapshotProvider::open(*origin, *diff, {.random = uuids.get()});
    if (!opened.ok())
      return opened.status();
    provider = std::move(opened).value();
    return Status();
  }
};

// Builds the volumes and a provider; fails the current test (fatally) on error.
inline std::unique_ptr<ProviderRig> make_rig(ProviderKind kind, const ProviderOptions& options,
                                             const RigOptions& rig_options = {}) {
  auto rig = std::make_unique<ProviderRig>();
  auto origin = MemoryVolume::create({.name = "origin", .size_bytes = rig_options.origin_bytes});
  auto diff = MemoryVolume::create({.name = "diff", .size_bytes = rig_options.diff_bytes});
  EXPECT_TRUE(origin.ok() && diff.ok());
  if (!origin.ok() || !diff.ok())
    return nullptr;
  rig->origin_base = std::move(origin).value();
  rig->diff_base = std::move(diff).value();
  auto origin_sim = sim::SimVolume::create(*rig->origin_base, {.seed = rig_options.seed});
  auto diff_sim = sim::SimVolume::create(*rig->diff_base, {.seed = rig_options.seed + 1});
  EXPECT_TRUE(origin_sim.ok() && diff_sim.ok());
  if (!origin_sim.ok() || !diff_sim.ok())
    return nullptr;
  rig->origin = std::move(origin_sim).value();
  rig->diff = std::move(diff_sim).value();
  rig->uuids = std::make_unique<Random>(rig_options.seed ^ 0x5eed);
  ProviderOptions with_random = options;
  if (with_random.random == nullptr)
    with_random.random = rig->uuids.get();
  auto created = SnapshotProvider::create(kind, *rig->origin, *rig->diff, with_random);
  EXPECT_TRUE(created.ok()) << created.status().to_string();
  if (!created.ok())
    return nullptr;
  rig->provider = std::move(created).value();
  return rig;
}

// A snapshot a test took, and the image it must read back as.
struct Taken {
  Uuid id;
  Bytes image;
};

// A rig with the history a test built on it: the snapshots taken, oldest first, and the image
// the live volume must read back as.
struct RigHistory {
  // What the history's data is drawn from; its seed's replay command is on every failure
  // while the history lives.
  std::unique_ptr<TracedRandom> random;
  std::unique_ptr<ProviderRig> rig;
  std::vector<Taken> taken;
  Bytes live;
};

// Takes `count` snapshots and returns their ids, oldest first; a failure fails the test and
// returns the ids taken so far.
inline std::vector<Uuid> take_snapshots(SnapshotProvider& provider, int count) {
  std::vector<Uuid> ids;
  for (int i = 0; i < count; ++i) {
    auto info = provider.create_snapshot();
    EXPECT_TRUE(info.ok()) << info.status().to_string();
    if (!info.ok())
      break;
    ids.push_back(info.value().id);
  }
  return ids;
}

// make_rig() with snapshots_max set to `snapshots_max` and that many snapshots taken: a full
// catalog. Their ids, oldest first, go to `ids`; a failure fails the test.
inline std::unique_ptr<ProviderRig> make_rig_with_full_catalog(ProviderKind kind,
                                                               ProviderOptions options,
                                                               std::uint32_t snapshots_max,
                                                               std::vector<Uuid>& ids) {
  options.snapshots_max = snapshots_max;
  auto rig = make_rig(kind, options);
  if (rig != nullptr)
    ids = take_snapshots(*rig->provider, static_cast<int>(snapshots_max));
  return rig;
}

// Writes `data` at `offset` through `volume` and into the model image.
inline Status write_both(Volume& volume, Bytes& model, std::uint64_t offset, const Bytes& data) {
  Status status = volume.write(offset, data);
  if (status.ok())
    std::memcpy(model.data() + offset, data.data(), data.size());
  return status;
}

// The start of a history: a rig (as make_rig) whose live volume holds random bytes drawn from
// test_seed(default_seed), written and not yet flushed, and no snapshot. On error the test
// has failed, and `rig` may be null.
inline RigHistory start_history(ProviderKind kind, const ProviderOptions& options,
                                std::uint64_t default_seed) {
  RigHistory history;
  history.random = std::make_unique<TracedRandom>(default_seed);
  history.rig = make_rig(kind, options);
  if (history.rig == nullptr)
    return history;
  SnapshotProvider& provider = *history.rig->provider;
  history.live = random_bytes(*history.random, provider.size_bytes());
  Status status = provider.write(0, history.live);
  EXPECT_TRUE(status.ok()) << status.to_string();
  return history;
}

inline std::string kind_param_name(const ::testing::TestParamInfo<ProviderKind>& info) {
  return std::string(provider_kind_name(info.param));
}

}  // namespace freezeframe::testing

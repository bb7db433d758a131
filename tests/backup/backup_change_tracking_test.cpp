// Backups from snapshots of both providers, incremental through change tracking: a full
// backup, then generations of random changes each backed up reading only the chunks
// changed_extents() lists between the two snapshots' change ids. Every generation restores
// byte-identical to its snapshot, and each incremental backup reads no more than the
// repository chunks the changes touch.
#include <gtest/gtest.h>

#include <set>

#include "backup_rig.h"
#include "freezeframe/snapshot_provider.h"
#include "provider_rig.h"

namespace freezeframe {
namespace {

using testing::Bytes;

constexpr std::uint32_t kProviderChunk = 4096;
constexpr std::uint32_t kRepositoryChunk = 16 * 1024;
constexpr std::uint64_t kVolumeBytes = 4 << 20;

class BackupChangeTrackingTest : public ::testing::TestWithParam<ProviderKind> {};

TEST_P(BackupChangeTrackingTest, IncrementalChainsReadOnlyWhatChangedAndRestoreExactly) {
  testing::ScratchDir scratch;
  testing::RepoRig rig(scratch.repo(),
                       {.chunk_bytes = kRepositoryChunk, .pack_bytes_target = 1 << 20});
  ProviderOptions options;
  options.chunk_bytes = kProviderChunk;
  options.limit = DiffAreaLimit::unbounded();
  auto provider_rig = testing::make_rig(GetParam(), options,
                                        {.origin_bytes = kVolumeBytes, .diff_bytes = 32 << 20});
  ASSERT_NE(provider_rig, nullptr);
  SnapshotProvider& provider = *provider_rig->provider;
  Random random(derive_seed(2026, provider_kind_name(GetParam())));
  Bytes data = testing::random_bytes(random, kVolumeBytes / 2);
  ASSERT_TRUE(provider.write(kVolumeBytes / 4, data).ok());

  struct Generation {
    std::string backup;
    Bytes image;
  };
  std::vector<Generation> generations;
  std::optional<SnapshotInfo> previous;
  for (int generation = 0; generation < 6; ++generation) {
    SCOPED_TRACE("generation " + std::to_string(generation));
    if (generation > 0) {
      // Random writes of 512 bytes to 4 chunks (some repeated), through the provider.
      for (int i = 0; i < 12; ++i) {
        const std::uint64_t offset = random.uniform(kVolumeBytes / 512) * 512;
        ASSERT_TRUE(provider.write(offset, testing::random_bytes(random, 512)).ok());
      }
    }
    auto snapshot = provider.create_snapshot();
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().to_string();
    auto volume = provider.open_snapshot(snapshot->id);
    ASSERT_TRUE(volume.ok());
    Bytes image = testing::read_all(*volume.value());
    testing::CountingVolume counting(*volume.value());
    std::optional<std::string> parent;
    std::optional<std::vector<Extent>> changed;
    std::uint64_t limit = kVolumeBytes;
    if (previous) {
      auto listed = provider.changed_extents(previous->change_id, snapshot->change_id);
      ASSERT_TRUE(listed.ok()) << listed.status().to_string();
      ASSERT_FALSE(listed->reset) << listed->reset_reason;
      // Every chunk that differs from the previous generation is listed.
      const Bytes& before = generations.back().image;
      std::set<std::uint64_t> repository_chunks;
      for (const Extent& extent : listed->extents)
        for (std::uint64_t at = extent.offset; at < extent.end(); at += kProviderChunk)
          repository_chunks.insert(at / kRepositoryChunk);
      for (std::uint64_t at = 0; at < kVolumeBytes; at += kProviderChunk) {
        if (std::memcmp(before.data() + at, image.data() + at, kProviderChunk) == 0)
          continue;
        bool covered = false;
        for (const Extent& extent : listed->extents)
          covered = covered || (at >= extent.offset && at < extent.end());
        ASSERT_TRUE(covered) << "changed chunk at " << at << " is not listed";
      }
      limit = repository_chunks.size() * kRepositoryChunk;
      parent = generations.back().backup;
      changed = std::move(listed->extents);
    }
    const std::string id = rig.backup_one(counting, parent, changed);
    ASSERT_FALSE(id.empty());
    EXPECT_LE(counting.bytes_read(), limit);
    generations.push_back({id, std::move(image)});
    // The backup context's habit: the snapshot goes once it is backed up; change tracking
    // stays.
    volume.value().reset();
    ASSERT_TRUE(provider.delete_snapshot(snapshot->id).ok());
    previous = *snapshot;
  }
  for (const Generation& generation : generations) {
    auto restored = rig.restore_image(generation.backup, kVolumeBytes);
    ASSERT_TRUE(restored.ok()) << restored.status().to_string();
    EXPECT_TRUE(*restored == generation.image) << "backup " << generation.backup;
  }
}

INSTANTIATE_TEST_SUITE_P(Providers, BackupChangeTrackingTest,
                         ::testing::Values(ProviderKind::kCopyOnWrite,
                                           ProviderKind::kRedirectOnWrite),
                         testing::kind_param_name);

}  // namespace
}  // namespace freezeframe

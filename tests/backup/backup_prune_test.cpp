// Forget and prune: keep-last-N forgets older backups per volume, prune removes what no kept
// backup references (whole packs, and partly used packs by repacking), the repository
// shrinks, and every kept backup still restores exactly and verifies.
#include <gtest/gtest.h>

#include "backup_rig.h"

namespace freezeframe {
namespace {

using testing::Bytes;
using testing::RepoRig;
using testing::ScratchDir;

constexpr std::uint64_t kVolumeBytes = 4 << 20;

struct Generation {
  std::string id;
  Bytes image;
};

// Backs up `generations` versions of `volume`, each with 1 MiB of it rewritten.
std::vector<Generation> make_generations(RepoRig& rig, Volume& volume, int generations,
                                         Random& random) {
  std::vector<Generation> made;
  for (int g = 0; g < generations; ++g) {
    std::uint64_t offset = random.uniform(4) << 20;
    testing::write_bytes(volume, offset, testing::random_bytes(random, 1 << 20));
    std::optional<std::string> parent;
    std::optional<std::vector<Extent>> changed;
    if (!made.empty()) {
      parent = made.back().id;
      changed = std::vector<Extent>{{offset, 1 << 20}};
    }
    made.push_back({rig.backup_one(volume, parent, changed), testing::read_all(volume)});
  }
  return made;
}

void expect_restores(RepoRig& rig, const Generation& generation) {
  auto image = rig.restore_image(generation.id, kVolumeBytes);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_TRUE(*image == generation.image);
  auto report = verify(rig.repo(), generation.id);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_TRUE(report->ok()) << report->first_problem.to_string();
}

TEST(BackupPrune, KeepLastForgetsOlderBackupsAndTheRepositoryShrinks) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto volume = testing::memory_volume(kVolumeBytes);
  auto other = testing::memory_volume(kVolumeBytes, "other");
  Random random(71);
  auto generations = make_generations(rig, *volume, 6, random);
  auto others = make_generations(rig, *other, 2, random);
  std::uint64_t before = testing::bytes_on_disk(dir.repo());

  ASSERT_TRUE(rig.reopen(LockMode::kExclusive).ok());
  auto report = prune(rig.repo(), {.keep_last = 2});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->backups_forgotten, 4u);
  EXPECT_EQ(report->manifests_removed, 4u);
  EXPECT_GT(report->packs_removed, 0u);
  EXPECT_GT(report->bytes_freed, 0u);
  std::uint64_t after = testing::bytes_on_disk(dir.repo());
  EXPECT_LT(after, before);
  // The kept data is at most the two kept images of each volume.
  EXPECT_LT(testing::bytes_on_disk(dir.repo() / "packs"), 2 * (8u << 20));

  auto sets = rig.repo().list();
  ASSERT_TRUE(sets.ok());
  EXPECT_EQ(sets->size(), 4u);
  for (std::size_t g = 0; g < 4; ++g)
    EXPECT_EQ(rig.repo().find(generations[g].id).status().code(), ErrorCode::kNotFound);
  expect_restores(rig, generations[4]);
  expect_restores(rig, generations[5]);
  expect_restores(rig, others[0]);
  expect_restores(rig, others[1]);

  // A second prune finds nothing more to do.
  auto again = prune(rig.repo(), {.keep_last = 2});
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->backups_forgotten, 0u);
  EXPECT_EQ(again->packs_removed, 0u);
  EXPECT_EQ(again->packs_repacked, 0u);
  EXPECT_EQ(testing::bytes_on_disk(dir.repo()), after);
}

TEST(BackupPrune, PartlyUsedPacksAreRepackedOrKeptByThreshold) {
  ScratchDir dir;
  RepoRig rig(dir.repo(), {.chunk_bytes = 16 * 1024, .pack_bytes_target = 16 << 20});
  auto volume = testing::memory_volume(kVolumeBytes);
  Random random(72);
  testing::write_bytes(*volume, 0, testing::random_bytes(random, kVolumeBytes));
  std::string first = rig.backup_one(*volume);  // one pack of 4 MiB
  testing::write_bytes(*volume, 0, testing::random_bytes(random, 1 << 20));
  Generation second{rig.backup_one(*volume, first, std::vector<Extent>{{0, 1 << 20}}),
                    testing::read_all(*volume)};
  ASSERT_TRUE(rig.reopen(LockMode::kExclusive).ok());
  ASSERT_TRUE(forget(rig.repo(), first).ok());

  // 25 % of the first pack is unused now: kept under a 50 % threshold...
  auto kept = prune(rig.repo(), {.repack_unused_percent_min = 50});
  ASSERT_TRUE(kept.ok()) << kept.status().to_string();
  EXPECT_EQ(kept->packs_repacked, 0u);
  EXPECT_EQ(kept->manifests_removed, 1u);
  std::uint64_t before = testing::bytes_on_disk(dir.repo() / "packs");
  // ... and repacked under a 10 % one.
  auto repacked = prune(rig.repo(), {.repack_unused_percent_min = 10});
  ASSERT_TRUE(repacked.ok()) << repacked.status().to_string();
  EXPECT_EQ(repacked->packs_repacked, 1u);
  EXPECT_EQ(repacked->packs_written, 1u);
  std::uint64_t after = testing::bytes_on_disk(dir.repo() / "packs");
  EXPECT_LT(after, before - (900u << 10));
  expect_restores(rig, second);
  EXPECT_EQ(testing::files_in(dir.repo() / "index").size(), 1u);
}

TEST(BackupPrune, ForgettingOneVolumeOfASetKeepsTheOthers) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto a = testing::memory_volume(kVolumeBytes, "a");
  auto b = testing::memory_volume(kVolumeBytes, "b");
  Random random(73);
  testing::write_bytes(*a, 0, testing::random_bytes(random, 1 << 20));
  testing::write_bytes(*b, 0, testing::random_bytes(random, 1 << 20));
  std::vector<VolumeBackupRequest> requests{rig.request(*a), rig.request(*b)};
  auto result = rig.backup(requests);
  ASSERT_TRUE(result.ok());
  ASSERT_TRUE(rig.reopen(LockMode::kExclusive).ok());
  ASSERT_TRUE(forget(rig.repo(), result->set.volumes[0].id).ok());
  EXPECT_EQ(forget(rig.repo(), result->set.volumes[0].id).code(), ErrorCode::kNotFound);
  auto report = prune(rig.repo());
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  auto sets = rig.repo().list();
  ASSERT_TRUE(sets.ok());
  ASSERT_EQ(sets->size(), 1u);
  ASSERT_EQ(sets->at(0).volumes.size(), 1u);
  EXPECT_EQ(sets->at(0).volumes[0].volume_name, "b");
  expect_restores(rig, {result->set.volumes[1].id, testing::read_all(*b)});
}

}  // namespace
}  // namespace freezeframe

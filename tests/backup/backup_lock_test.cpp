// Locking: backups hold the repository shared, so a prune started during one fails with
// kBusy (or waits), and the backup restores exactly afterwards; prune and forget need the
// exclusive lock.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "backup_rig.h"

namespace freezeframe {
namespace {

using testing::Bytes;
using testing::RepoRig;
using testing::ScratchDir;

TEST(BackupLock, PruneDuringABackupFailsBusyAndTheBackupRestoresExactly) {
  ScratchDir dir;
  { RepoRig init(dir.repo()); }
  auto shared = Repository::open(dir.repo(), {.mode = LockMode::kShared});
  ASSERT_TRUE(shared.ok()) << shared.status().to_string();
  auto volume = testing::memory_volume(2 << 20);
  Random random(31);
  testing::write_bytes(*volume, 0, testing::random_bytes(random, 2 << 20));
  testing::HoldingVolume holding(*volume);

  VolumeBackupRequest request;
  request.source = &holding;
  request.volume_name = "data";
  request.volume_id = volume->uuid();
  auto running =
      std::async(std::launch::async, [&] { return backup_set(**shared, std::span(&request, 1)); });
  holding.wait_held();  // the backup is reading

  auto exclusive = Repository::open(dir.repo(), {.mode = LockMode::kExclusive});
  EXPECT_EQ(exclusive.status().code(), ErrorCode::kBusy);
  auto waited = Repository::open(
      dir.repo(), {.mode = LockMode::kExclusive, .lock_wait = std::chrono::milliseconds(50)});
  EXPECT_EQ(waited.status().code(), ErrorCode::kBusy);
  // Another backup or a restore may run meanwhile.
  auto another_shared = Repository::open(dir.repo(), {.mode = LockMode::kShared});
  EXPECT_TRUE(another_shared.ok());
  another_shared = Status(ErrorCode::kAborted, "closed by the test");

  holding.release();
  auto result = running.get();
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  shared = Status(ErrorCode::kAborted, "closed by the test");

  auto pruner = Repository::open(dir.repo(), {.mode = LockMode::kExclusive});
  ASSERT_TRUE(pruner.ok()) << pruner.status().to_string();
  auto report = prune(**pruner, {.keep_last = 5});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->packs_removed, 0u);
  auto target = testing::memory_volume(2 << 20, "target");
  ASSERT_TRUE(restore(**pruner, result->set.volumes[0].id, *target).ok());
  EXPECT_TRUE(testing::read_all(*target) == testing::read_all(*volume));
}

TEST(BackupLock, PruneWaitsForABackupWhenAskedTo) {
  ScratchDir dir;
  { RepoRig init(dir.repo()); }
  auto shared = Repository::open(dir.repo(), {.mode = LockMode::kShared});
  ASSERT_TRUE(shared.ok());
  auto waiting = std::async(std::launch::async, [&] {
    return Repository::open(dir.repo(),
                            {.mode = LockMode::kExclusive, .lock_wait = std::chrono::seconds(30)});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  shared = Status(ErrorCode::kAborted, "the backup ended");
  auto opened = waiting.get();
  EXPECT_TRUE(opened.ok()) << opened.status().to_string();
}

TEST(BackupLock, PruneAndForgetNeedTheExclusiveLock) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto volume = testing::memory_volume(1 << 20);
  std::string id = rig.backup_one(*volume);
  ASSERT_TRUE(rig.reopen(LockMode::kShared).ok());
  EXPECT_EQ(prune(rig.repo()).status().code(), ErrorCode::kBadState);
  EXPECT_EQ(forget(rig.repo(), id).code(), ErrorCode::kBadState);
  ASSERT_TRUE(rig.reopen(LockMode::kExclusive).ok());
  EXPECT_TRUE(forget(rig.repo(), id).ok());
}

}  // namespace
}  // namespace freezeframe

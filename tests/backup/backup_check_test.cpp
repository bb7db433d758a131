// The whole-repository check (check_repository) on intact repositories and on what prune
// leaves for later, and restore's promise about its target when the repository is damaged:
// checked before writing, nothing is written; otherwise the error says the target was partly
// overwritten. The flipped-byte matrix of every file is in backup_corruption_test.cpp.
#include <gtest/gtest.h>

#include "backup_rig.h"

namespace freezeframe {
namespace {

using testing::Bytes;
using testing::RepoRig;
using testing::ScratchDir;
namespace fs = std::filesystem;

constexpr std::uint32_t kChunk = 4096;
constexpr std::uint64_t kVolumeBytes = std::uint64_t{4} << 20;

// Random data in the first and the last 64 KiB, zeros between: two frames in one pack, and
// restore writes the first data, then the zeros, before it reads the last frame.
std::unique_ptr<MemoryVolume> two_ends_volume() {
  auto volume = testing::memory_volume(kVolumeBytes);
  Random random(61);
  testing::write_bytes(*volume, 0, testing::random_bytes(random, 65536));
  testing::write_bytes(*volume, kVolumeBytes - 65536, testing::random_bytes(random, 65536));
  return volume;
}

fs::path only_pack(const ScratchDir& dir) {
  auto packs = testing::files_in(dir.repo() / "packs");
  EXPECT_EQ(packs.size(), 1u);
  return packs.at(0);
}

// Flips a byte inside the payload of the pack's last frame (just before the trailer).
void damage_last_frame(const fs::path& pack, std::uint64_t chunks_in_pack) {
  Bytes bytes = testing::file_bytes_of(pack);
  const std::uint64_t trailer = 32 * chunks_in_pack + 32;
  bytes[bytes.size() - trailer - 10] ^= std::byte{0x10};
  testing::write_file_bytes(pack, bytes);
}

TEST(BackupCheck, IntactRepositoryChecksCleanAndCountsWhatItRead) {
  ScratchDir dir;
  RepoRig rig(dir.repo(), {.chunk_bytes = kChunk, .pack_bytes_target = 1 << 20});
  auto volume = two_ends_volume();
  const std::string full = rig.backup_one(*volume);
  Random random(7);
  testing::write_bytes(*volume, 8192, testing::random_bytes(random, 4096));
  rig.backup_one(*volume, full, std::vector<Extent>{{8192, 4096}});

  auto report = check_repository(rig.repo());
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_TRUE(report->ok()) << report->problems.front().to_string();
  EXPECT_EQ(report->packs_checked, testing::files_in(dir.repo() / "packs").size());
  EXPECT_EQ(report->index_files_checked, 2u);
  EXPECT_EQ(report->set_records_checked, 2u);
  EXPECT_EQ(report->manifests_checked, 2u);
  // 32 chunks of the full backup and the one the incremental changed, each read back.
  EXPECT_EQ(report->chunks_checked, 33u);
  EXPECT_EQ(report->bytes_checked, 33u * kChunk);
  EXPECT_EQ(report->frames_checked, 3u);
  EXPECT_EQ(report->damaged_backups, 0u);
  EXPECT_EQ(report->unreferenced_chunks, 0u);
  EXPECT_EQ(report->unindexed_packs + report->uncommitted_manifests + report->temporary_files, 0u);

  auto metadata = check_repository(rig.repo(), {.read_data = false});
  ASSERT_TRUE(metadata.ok());
  EXPECT_TRUE(metadata->ok());
  EXPECT_EQ(metadata->chunks_checked, 0u);
  EXPECT_EQ(metadata->frames_checked, 0u);
}

TEST(BackupCheck, WhatPruneCollectsIsCountedButIsNotDamage) {
  ScratchDir dir;
  RepoRig rig(dir.repo(), {.chunk_bytes = kChunk, .pack_bytes_target = 1 << 20});
  auto volume = two_ends_volume();
  const std::string full = rig.backup_one(*volume);
  Random random(8);
  testing::write_bytes(*volume, 0, testing::random_bytes(random, 8192));
  const std::string next = rig.backup_one(*volume, full, std::vector<Extent>{{0, 8192}});
  ASSERT_TRUE(rig.reopen(LockMode::kExclusive).ok());
  ASSERT_TRUE(forget(rig.repo(), next).ok());
  testing::write_file_bytes(dir.repo() / "index" / "left-over.index.tmp", Bytes(100));

  auto report = check_repository(rig.repo());
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_TRUE(report->ok()) << report->problems.front().to_string();
  EXPECT_EQ(report->manifests_checked, 1u);
  EXPECT_EQ(report->uncommitted_manifests, 1u);
  EXPECT_EQ(report->unreferenced_chunks, 2u);  // the two chunks only the forgotten one used
  EXPECT_EQ(report->temporary_files, 1u);
}

TEST(BackupCheck, RemovedPackIsReportedWithTheBackupItBreaks) {
  ScratchDir dir;
  RepoRig rig(dir.repo(), {.chunk_bytes = kChunk, .pack_bytes_target = 1 << 20});
  auto volume = two_ends_volume();
  rig.backup_one(*volume);
  const fs::path pack = only_pack(dir);
  fs::remove(pack);
  auto report = check_repository(rig.repo());
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_FALSE(report->ok());
  EXPECT_EQ(report->problems.front().code(), ErrorCode::kNotFound);
  EXPECT_NE(report->problems.front().message().find(pack.filename().string()), std::string::npos)
      << report->problems.front().to_string();
  EXPECT_EQ(report->damaged_backups, 1u);
  EXPECT_EQ(report->packs_checked, 0u);
}

TEST(BackupCheck, DamageFoundBeforeWritingLeavesTheTargetUntouched) {
  ScratchDir dir;
  RepoRig rig(dir.repo(), {.chunk_bytes = kChunk, .pack_bytes_target = 1 << 20});
  auto volume = two_ends_volume();
  const std::string id = rig.backup_one(*volume);
  damage_last_frame(only_pack(dir), 32);

  auto target = testing::memory_volume(kVolumeBytes, "target");
  const Bytes old_content(kVolumeBytes, std::byte{0xaa});
  testing::write_bytes(*target, 0, old_content);
  Status restored = restore(rig.repo(), id, *target,
                            {.zeros = ZeroPolicy::kWrite, .verify_before_writing = true});
  ASSERT_EQ(restored.code(), ErrorCode::kCorrupt) << restored.to_string();
  EXPECT_NE(restored.message().find(".pack' offset"), std::string::npos) << restored.to_string();
  EXPECT_NE(restored.message().find("nothing was written"), std::string::npos)
      << restored.to_string();
  EXPECT_TRUE(testing::read_all(*target) == old_content) << "the target was written";
}

TEST(BackupCheck, DamageFoundWhileWritingSaysTheTargetWasPartlyOverwritten) {
  ScratchDir dir;
  RepoRig rig(dir.repo(), {.chunk_bytes = kChunk, .pack_bytes_target = 1 << 20});
  auto volume = two_ends_volume();
  const std::string id = rig.backup_one(*volume);
  const Bytes backed_up = testing::read_all(*volume);
  damage_last_frame(only_pack(dir), 32);

  auto target = testing::memory_volume(kVolumeBytes, "target");
  const Bytes old_content(kVolumeBytes, std::byte{0xaa});
  testing::write_bytes(*target, 0, old_content);
  Status restored = restore(rig.repo(), id, *target, {.zeros = ZeroPolicy::kWrite});
  ASSERT_EQ(restored.code(), ErrorCode::kCorrupt) << restored.to_string();
  EXPECT_NE(restored.message().find("partly overwritten, up to offset " +
                                    std::to_string(kVolumeBytes - 65536)),
            std::string::npos)
      << restored.to_string();
  const Bytes now = testing::read_all(*target);
  EXPECT_FALSE(now == old_content);
  EXPECT_FALSE(now == backed_up);
  // Only verified bytes were written: the first data and the zeros are the backup's, the
  // damaged end is the old content.
  EXPECT_TRUE(std::equal(now.begin(), now.end() - 65536, backed_up.begin()));
  EXPECT_TRUE(std::equal(now.end() - 65536, now.end(), old_content.begin()));
}

}  // namespace
}  // namespace freezeframe

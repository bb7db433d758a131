// Interrupted backups: whatever point a backup stops at, the repository stays valid and holds
// no part of it; its finished packs are adopted by the next backup (their chunks indexed again
// from the packs' own trailers) or removed by prune, and leftovers of half-written files are
// ignored, then removed by prune.
#include <gtest/gtest.h>

#include "backup_rig.h"

namespace freezeframe {
namespace {

using testing::Bytes;
using testing::RepoRig;
using testing::ScratchDir;
namespace fs = std::filesystem;

constexpr std::uint64_t kVolumeBytes = 4 << 20;

// Fails every read at or past `fail_at` with kIoError, as a device would.
class FailingVolume final : public VolumeWrapper {
 public:
  FailingVolume(Volume& base, std::uint64_t fail_at) : VolumeWrapper(base), fail_at_(fail_at) {}

 protected:
  Status do_read(std::uint64_t offset, std::span<std::byte> out) override {
    if (offset + out.size() > fail_at_)
      return io_error(describe("read", offset, out.size(), "injected failure"));
    return VolumeWrapper::do_read(offset, out);
  }

 private:
  std::uint64_t fail_at_;
};

std::unique_ptr<MemoryVolume> random_volume(std::uint64_t seed) {
  auto volume = testing::memory_volume(kVolumeBytes);
  Random random(seed);
  testing::write_bytes(*volume, 0, testing::random_bytes(random, kVolumeBytes));
  return volume;
}

TEST(BackupCrash, FailedBackupCommitsNothingAndTheNextOneAdoptsItsPacks) {
  ScratchDir dir;
  RepoRig rig(dir.repo());  // 1 MiB packs: incompressible data fills several
  auto volume = random_volume(51);
  FailingVolume failing(*volume, 3 << 20);
  auto one = rig.request(failing);
  auto failed = rig.backup(std::span(&one, 1));
  EXPECT_EQ(failed.status().code(), ErrorCode::kIoError) << failed.status().to_string();
  // Packs finished before the failure stay; nothing indexes or references them.
  EXPECT_GE(testing::files_in(dir.repo() / "packs").size(), 1u);
  EXPECT_TRUE(testing::files_in(dir.repo() / "index").empty());
  EXPECT_TRUE(testing::files_in(dir.repo() / "manifests").empty());
  auto sets = rig.repo().list();
  ASSERT_TRUE(sets.ok());
  EXPECT_TRUE(sets->empty());
  for (const auto& file : testing::files_in(dir.repo() / "packs"))
    EXPECT_EQ(file.extension(), ".pack") << "a temporary file was left: " << file;

  std::string id = rig.backup_one(*volume);
  EXPECT_GE(rig.last_result().adopted_packs, 1u);
  // The adopted chunks were not stored again.
  EXPECT_LT(rig.last_result().new_stored_bytes, 2u << 20);
  auto image = rig.restore_image(id, kVolumeBytes);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_TRUE(*image == testing::read_all(*volume));
  ASSERT_TRUE(rig.reopen(LockMode::kExclusive).ok());
  auto report = prune(rig.repo());
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->packs_removed, 0u);
}

TEST(BackupCrash, FailedBackupLeftoversAreRemovedByPrune) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto volume = random_volume(52);
  FailingVolume failing(*volume, 3 << 20);
  auto one = rig.request(failing);
  ASSERT_FALSE(rig.backup(std::span(&one, 1)).ok());
  ASSERT_FALSE(testing::files_in(dir.repo() / "packs").empty());
  ASSERT_TRUE(rig.reopen(LockMode::kExclusive).ok());
  auto report = prune(rig.repo());
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_GE(report->packs_removed, 1u);
  EXPECT_TRUE(testing::files_in(dir.repo() / "packs").empty());
}

TEST(BackupCrash, BackupWithoutItsSetRecordDoesNotExistAndPruneRemovesIt) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto volume = random_volume(53);
  std::string kept = rig.backup_one(*volume);
  testing::write_bytes(*volume, 0, Bytes(1 << 20, std::byte{0x77}));
  std::string lost = rig.backup_one(*volume);
  // A crash after the manifest, before the set record: remove the record.
  auto sets = rig.repo().list();
  ASSERT_TRUE(sets.ok());
  ASSERT_EQ(sets->size(), 2u);
  fs::remove(dir.repo() / "sets" / (sets->at(1).id + ".set"));
  EXPECT_EQ(rig.repo().find(lost).status().code(), ErrorCode::kNotFound);

  ASSERT_TRUE(rig.reopen(LockMode::kExclusive).ok());
  auto report = prune(rig.repo(), {.repack_unused_percent_min = 0});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->manifests_removed, 1u);
  EXPECT_EQ(testing::files_in(dir.repo() / "manifests").size(), 1u);
  EXPECT_EQ(testing::files_in(dir.repo() / "index").size(), 1u);
  auto image = rig.restore_image(kept, kVolumeBytes);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  Random random(53);
  EXPECT_TRUE(*image == testing::random_bytes(random, kVolumeBytes));
  auto report2 = verify(rig.repo(), kept);
  ASSERT_TRUE(report2.ok());
  EXPECT_TRUE(report2->ok()) << report2->first_problem.to_string();
}

TEST(BackupCrash, HalfWrittenFilesAreIgnoredThenRemovedByPrune) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto volume = random_volume(54);
  std::string first = rig.backup_one(*volume);
  // Leftovers of writes a crash interrupted: temporary files, and a pack torn before its
  // trailer under a final-looking name.
  fs::path real_pack = testing::files_in(dir.repo() / "packs").at(0);
  Bytes pack = testing::file_bytes_of(real_pack);
  testing::write_file_bytes(
      dir.repo() / "packs" / "0123456789abcdef0123456789abcdef.pack",
      Bytes(pack.begin(), pack.begin() + static_cast<std::ptrdiff_t>(pack.size() / 2)));
  testing::write_file_bytes(dir.repo() / "packs" / "f00d.pack.tmp", Bytes(100, std::byte{1}));
  testing::write_file_bytes(dir.repo() / "index" / "abc.index.tmp", Bytes(10, std::byte{2}));
  testing::write_file_bytes(dir.repo() / "manifests" / "abc.manifest.tmp", Bytes(10));
  testing::write_file_bytes(dir.repo() / "sets" / "abc.set.tmp", Bytes(10));

  testing::write_bytes(*volume, 0, Bytes(65536, std::byte{9}));
  std::string second = rig.backup_one(*volume, first, std::vector<Extent>{{0, 65536}});
  EXPECT_EQ(rig.last_result().adopted_packs, 0u);  // the torn pack is not used
  auto image = rig.restore_image(second, kVolumeBytes);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_TRUE(*image == testing::read_all(*volume));

  ASSERT_TRUE(rig.reopen(LockMode::kExclusive).ok());
  auto report = prune(rig.repo());
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->temporary_files_removed, 4u);
  EXPECT_EQ(report->packs_removed, 1u);
  EXPECT_FALSE(fs::exists(dir.repo() / "packs" / "0123456789abcdef0123456789abcdef.pack"));
  for (const std::string& id : {first, second}) {
    auto verified = verify(rig.repo(), id);
    ASSERT_TRUE(verified.ok());
    EXPECT_TRUE(verified->ok()) << verified->first_problem.to_string();
  }
}

TEST(BackupCrash, LostIndexIsRebuiltFromThePacksByTheNextBackup) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto volume = random_volume(55);
  std::string first = rig.backup_one(*volume);
  for (const auto& file : testing::files_in(dir.repo() / "index"))
    fs::remove(file);
  // Prune refuses to remove what a kept backup needs, even when nothing indexes it.
  ASSERT_TRUE(rig.reopen(LockMode::kExclusive).ok());
  auto refused = prune(rig.repo());
  EXPECT_EQ(refused.status().code(), ErrorCode::kCorrupt) << refused.status().to_string();
  EXPECT_FALSE(testing::files_in(dir.repo() / "packs").empty());

  std::string second = rig.backup_one(*volume);
  EXPECT_GE(rig.last_result().adopted_packs, 1u);
  EXPECT_EQ(rig.last_result().new_chunks, 0u);
  for (const std::string& id : {first, second}) {
    auto image = rig.restore_image(id, kVolumeBytes);
    ASSERT_TRUE(image.ok()) << image.status().to_string();
    EXPECT_TRUE(*image == testing::read_all(*volume));
  }
}

}  // namespace
}  // namespace freezeframe

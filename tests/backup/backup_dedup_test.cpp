// Deduplication and zeros: a second backup of the same data stores nothing new; zero chunks
// are stored as nothing, so a mostly empty 1 GiB volume makes a tiny repository and a tiny
// manifest; frames hold several chunks; packs stay within their target size.
#include <gtest/gtest.h>

#include "backup_rig.h"

namespace freezeframe {
namespace {

using testing::Bytes;
using testing::RepoRig;
using testing::ScratchDir;

TEST(BackupDedup, SecondBackupOfTheSameDataAddsNoPackBytes) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto volume = testing::memory_volume(4 << 20);
  Random random(21);
  testing::write_bytes(*volume, 0, testing::random_bytes(random, 3 << 20));
  std::string first = rig.backup_one(*volume);
  EXPECT_GT(rig.last_result().new_stored_bytes, 0u);
  std::uint64_t packs_before = testing::bytes_on_disk(dir.repo() / "packs");

  std::string second = rig.backup_one(*volume);
  EXPECT_EQ(rig.last_result().new_chunks, 0u);
  EXPECT_EQ(rig.last_result().new_stored_bytes, 0u);
  EXPECT_EQ(testing::bytes_on_disk(dir.repo() / "packs"), packs_before);
  EXPECT_NE(first, second);  // another snapshot, another manifest

  auto image = rig.restore_image(second, 4 << 20);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_TRUE(*image == testing::read_all(*volume));
}

TEST(BackupDedup, IdenticalChunksAreStoredOnceAcrossVolumes) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  Random random(22);
  Bytes data = testing::random_bytes(random, 1 << 20);
  auto a = testing::memory_volume(2 << 20, "a");
  auto b = testing::memory_volume(2 << 20, "b");
  testing::write_bytes(*a, 0, data);
  testing::write_bytes(*b, 1 << 20, data);
  rig.backup_one(*a);
  EXPECT_EQ(rig.last_result().new_chunks, 64u);
  std::string id = rig.backup_one(*b);
  EXPECT_EQ(rig.last_result().new_chunks, 0u);
  auto image = rig.restore_image(id, 2 << 20);
  ASSERT_TRUE(image.ok());
  EXPECT_TRUE(*image == testing::read_all(*b));
}

TEST(BackupDedup, RepeatedChunksInsideOneVolumeAreStoredOnce) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto volume = testing::memory_volume(8 << 20);
  testing::write_bytes(*volume, 0, Bytes(8 << 20, std::byte{0x11}));
  std::string id = rig.backup_one(*volume);
  EXPECT_EQ(rig.last_result().new_chunks, 1u);
  // One chunk repeated 512 times is one run in the manifest.
  EXPECT_LT(testing::bytes_on_disk(dir.repo() / "manifests"), 300u);
  auto image = rig.restore_image(id, 8 << 20);
  ASSERT_TRUE(image.ok());
  EXPECT_TRUE(*image == testing::read_all(*volume));
}

TEST(BackupDedup, MostlyZeroGibibyteVolumeMakesATinyRepository) {
  ScratchDir dir;
  RepoRig rig(dir.repo(), {.chunk_bytes = 64 * 1024});
  auto volume = testing::memory_volume(std::uint64_t{1} << 30);
  Random random(23);
  for (std::uint64_t offset :
       {std::uint64_t{0}, std::uint64_t{300} << 20, (std::uint64_t{1} << 30) - 8192})
    testing::write_bytes(*volume, offset, testing::random_bytes(random, 8192));
  auto one = rig.request(*volume);
  auto result = rig.backup(std::span(&one, 1), {.threads = 2});
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->new_chunks, 3u);
  EXPECT_EQ(result->set.volumes[0].zero_chunks, 16384u - 3);
  EXPECT_LT(testing::bytes_on_disk(dir.repo()), 1u << 20);
  EXPECT_LT(testing::bytes_on_disk(dir.repo() / "manifests"), 512u);

  auto target = testing::memory_volume(std::uint64_t{1} << 30, "target");
  ASSERT_TRUE(
      restore(rig.repo(), result->set.volumes[0].id, *target, {.zeros = ZeroPolicy::kSkip}).ok());
  for (std::uint64_t offset :
       {std::uint64_t{0}, std::uint64_t{300} << 20, (std::uint64_t{1} << 30) - 8192}) {
    Bytes expected(8192);
    Bytes got(8192);
    ASSERT_TRUE(volume->read(offset, expected).ok());
    ASSERT_TRUE(target->read(offset, got).ok());
    EXPECT_TRUE(expected == got) << "offset " << offset;
  }
  // Only the three data chunks took memory on the target.
  EXPECT_LE(target->allocated_bytes(), 3u * 65536);
}

TEST(BackupDedup, PacksStayNearTheirTargetAndFramesHoldSeveralChunks) {
  ScratchDir dir;
  RepoRig rig(dir.repo(), {.chunk_bytes = 4096, .pack_bytes_target = 1 << 20});
  auto volume = testing::memory_volume(6 << 20);
  // Compressible but distinct chunks: each 4 KiB chunk starts with its number.
  Bytes data(6 << 20, std::byte{0x33});
  for (std::size_t chunk = 0; chunk < data.size() / 4096; ++chunk)
    std::memcpy(data.data() + chunk * 4096, &chunk, sizeof(chunk));
  testing::write_bytes(*volume, 0, data);
  std::string id = rig.backup_one(*volume);
  auto packs = testing::files_in(dir.repo() / "packs");
  ASSERT_GE(packs.size(), 1u);
  for (const auto& pack : packs)
    EXPECT_LE(std::filesystem::file_size(pack), 1u << 20);
  // 1536 chunks compress far better in 1 MiB frames than one by one.
  EXPECT_LT(testing::bytes_on_disk(dir.repo() / "packs"), 200u * 1024);
  auto image = rig.restore_image(id, 6 << 20);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_TRUE(*image == data);
}

}  // namespace
}  // namespace freezeframe

// A diff area in a sparse image file on a file system that fills up: its metadata was
// preallocated when it was created, so snapshot deletes keep working, and a chunk write that
// finds no space runs the overflow policy (delete-oldest frees slots and the write goes on;
// fail-writes refuses the write naming the diff area). The file system is a small tmpfs this
// test mounts (as root) and unmounts; without the right to mount, the test is skipped.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "freezeframe/durable_file.h"
#include "freezeframe/file_volume.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/snapshot_provider.h"
#include "temp_path.h"
#include "volume_image.h"

namespace freezeframe {
namespace {

constexpr std::uint64_t kChunk = 4096;
constexpr std::uint64_t kFileSystemBytes = 8 << 20;
// Larger than the file system, so the file system fills before the diff area does.
constexpr std::uint64_t kDiffImageBytes = 16 << 20;

// A tmpfs of kFileSystemBytes mounted on a fresh directory for the test's lifetime.
class SmallFileSystem {
 public:
  SmallFileSystem() : dir_(testing::TempPath("tmpfs").path()) {}
  ~SmallFileSystem() {
    if (mounted_)
      ::umount2(dir_.c_str(), MNT_DETACH);
    std::error_code ignored;
    std::filesystem::remove(dir_, ignored);
  }
  SmallFileSystem(const SmallFileSystem&) = delete;
  SmallFileSystem& operator=(const SmallFileSystem&) = delete;

  // Empty when mounted; otherwise why the mount failed (a test failure: as root it must work).
  std::string mount() {
    std::error_code error;
    std::filesystem::create_directories(dir_, error);
    if (error)
      return "cannot create " + dir_.string() + ": " + error.message();
    const std::string size = "size=" + std::to_string(kFileSystemBytes);
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, size.c_str()) != 0)
      return "cannot mount a tmpfs on " + dir_.string() + ": " + std::strerror(errno);
    mounted_ = true;
    return "";
  }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
};

// Writes a filler file until the file system is full. Returns the status of the write that
// found it full (kNoSpace expected).
Status fill(const std::filesystem::path& path) {
  auto file = OutputFile::create(path, true);
  if (!file.ok())
    return file.status();
  const std::vector<std::byte> block(std::size_t{64} * 1024, std::byte{0x5a});
  for (std::uint64_t written = 0; written <= kFileSystemBytes; written += block.size()) {
    Status status = file.value().write(block);
    if (!status.ok())
      return status;
  }
  return Status(ErrorCode::kIoError, "the file system took more than its size");
}

std::vector<std::byte> pattern(std::uint64_t seed) {
  std::vector<std::byte> data(kChunk);
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<std::byte>(seed * 31 + i);
  return data;
}

TEST(FullFileSystem, DeletesAndTheOverflowPolicyKeepWorkingWhenTheDiffImageCannotGrow) {
  SmallFileSystem fs;
  if (::geteuid() != 0)
    GTEST_SKIP() << "mounting a small tmpfs needs root";
  ASSERT_EQ(fs.mount(), "");
  auto origin = MemoryVolume::create({.name = "data", .size_bytes = 1 << 20});
  ASSERT_TRUE(origin.ok());
  auto diff = FileVolume::create((fs.dir() / "diff.img").string(), {.size_bytes = kDiffImageBytes});
  ASSERT_TRUE(diff.ok()) << diff.status().to_string();
  ProviderOptions options;
  options.chunk_bytes = static_cast<std::uint32_t>(kChunk);
  options.limit = DiffAreaLimit::unbounded();
  options.overflow_policy = OverflowPolicy::kDeleteOldest;
  auto created =
      SnapshotProvider::create(ProviderKind::kCopyOnWrite, *origin.value(), *diff.value(), options);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  SnapshotProvider& provider = *created.value();

  // The metadata and the reserved slots take their space at creation.
  auto allocated = diff.value()->allocated_bytes();
  ASSERT_TRUE(allocated.ok());
  EXPECT_GE(allocated.value(), provider.usage().metadata_bytes + 4 * kChunk);

  // Two snapshots, eight preserved chunks each.
  std::vector<Uuid> ids;
  for (std::uint64_t round = 0; round < 2; ++round) {
    auto info = provider.create_snapshot();
    ASSERT_TRUE(info.ok()) << info.status().to_string();
    ids.push_back(info.value().id);
    for (std::uint64_t chunk = round * 8; chunk < round * 8 + 8; ++chunk)
      ASSERT_TRUE(provider.write(chunk * kChunk, pattern(chunk + 100)).ok());
  }
  ASSERT_TRUE(provider.flush().ok());

  Status full = fill(fs.dir() / "filler");
  ASSERT_EQ(full.code(), ErrorCode::kNoSpace) << full.to_string();

  // On the full file system: a snapshot is taken and the oldest deleted (journal only).
  auto newest = provider.create_snapshot();
  ASSERT_TRUE(newest.ok()) << newest.status().to_string();
  const std::vector<std::byte> newest_image = testing::read_all(provider);
  Status deleted = provider.delete_snapshot(ids[0]);
  ASSERT_TRUE(deleted.ok()) << deleted.to_string();

  // Sixteen chunks to preserve: eight reuse the deleted snapshot's slots; the next finds the
  // file system full, and delete-oldest gives up the second snapshot for its slots.
  for (std::uint64_t chunk = 16; chunk < 32; ++chunk) {
    Status written = provider.write(chunk * kChunk, pattern(chunk));
    ASSERT_TRUE(written.ok()) << "chunk " << chunk << ": " << written.to_string();
  }
  ASSERT_TRUE(provider.flush().ok());
  auto left = provider.snapshots();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, newest.value().id);
  auto events = provider.events();
  EXPECT_TRUE(std::any_of(events.begin(), events.end(), [&](const ProviderEvent& event) {
    return event.kind == ProviderEventKind::kSnapshotDeletedForSpace && event.snapshot_id == ids[1];
  }));
  std::vector<std::byte> back(kChunk);
  for (std::uint64_t chunk = 16; chunk < 32; ++chunk) {
    ASSERT_TRUE(provider.read(chunk * kChunk, back).ok());
    EXPECT_TRUE(back == pattern(chunk)) << "chunk " << chunk;
  }
  auto snapshot = provider.open_snapshot(newest.value().id);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_TRUE(testing::read_all(*snapshot.value()) == newest_image);

  // Fail-writes: no slot is free and the file system has no room for another.
  ASSERT_TRUE(provider.set_overflow_policy(OverflowPolicy::kFailWrites).ok());
  Status refused = provider.write(40 * kChunk, pattern(40));
  EXPECT_EQ(refused.code(), ErrorCode::kNoSpace) << refused.to_string();
  EXPECT_NE(refused.message().find("diff area of 'data'"), std::string::npos) << refused.message();
  EXPECT_EQ(provider.snapshots().size(), 1u);

  // The provider still opens again from what is on the full file system.
  created.value().reset();
  auto reopened = SnapshotProvider::open(*origin.value(), *diff.value());
  ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
  EXPECT_EQ(reopened.value()->snapshots().size(), 1u);
}

TEST(FullFileSystem, AllocateTakesTheBlocksOfASparseImage) {
  testing::TempPath path;
  auto volume = FileVolume::create(path.str(), {.size_bytes = 4 << 20});
  ASSERT_TRUE(volume.ok()) << volume.status().to_string();
  auto before = volume.value()->allocated_bytes();
  ASSERT_TRUE(before.ok());
  EXPECT_LT(before.value(), 1u << 20);
  Status allocated = volume.value()->allocate(1 << 20, 2 << 20);
  ASSERT_TRUE(allocated.ok()) << allocated.to_string();
  auto after = volume.value()->allocated_bytes();
  ASSERT_TRUE(after.ok());
  EXPECT_GE(after.value(), before.value() + (2 << 20));
}

TEST(FullFileSystem, AllocateBeyondTheFreeSpaceIsNoSpaceNamingTheFile) {
  SmallFileSystem fs;
  if (::geteuid() != 0)
    GTEST_SKIP() << "mounting a small tmpfs needs root";
  ASSERT_EQ(fs.mount(), "");
  const std::string path = (fs.dir() / "big.img").string();
  auto volume = FileVolume::create(path, {.size_bytes = 2 * kFileSystemBytes});
  ASSERT_TRUE(volume.ok()) << volume.status().to_string();
  Status allocated = volume.value()->allocate(0, 2 * kFileSystemBytes);
  EXPECT_EQ(allocated.code(), ErrorCode::kNoSpace) << allocated.to_string();
  EXPECT_NE(allocated.message().find(path), std::string::npos) << allocated.message();
  volume.value().reset();
  std::filesystem::remove(path);

  // A diff area that cannot get its metadata is refused before anything is written.
  auto origin = MemoryVolume::create({.name = "data", .size_bytes = 1 << 20});
  ASSERT_TRUE(origin.ok());
  ASSERT_EQ(fill(fs.dir() / "filler").code(), ErrorCode::kNoSpace);
  auto diff = FileVolume::create((fs.dir() / "diff.img").string(), {.size_bytes = 4 << 20});
  ASSERT_TRUE(diff.ok()) << diff.status().to_string();
  auto created =
      SnapshotProvider::create(ProviderKind::kCopyOnWrite, *origin.value(), *diff.value(),
                               {.chunk_bytes = static_cast<std::uint32_t>(kChunk)});
  EXPECT_EQ(created.status().code(), ErrorCode::kNoSpace) << created.status().to_string();
  auto opened = SnapshotProvider::open(*origin.value(), *diff.value());
  EXPECT_EQ(opened.status().code(), ErrorCode::kCorrupt) << opened.status().to_string();
}

}  // namespace
}  // namespace freezeframe

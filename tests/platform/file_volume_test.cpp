// FileVolume: image files on the host file system: creation, persistence, sparseness,
// identity, direct I/O and the errors for bad files.
#include "freezeframe/file_volume.h"

#include <gtest/gtest.h>

#if !defined(_WIN32)
#include <sys/stat.h>
#include <sys/xattr.h>
#endif

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <utility>
#include <vector>

#include "freezeframe/random.h"
#include "seed.h"
#include "temp_path.h"
#include "volume_image.h"

namespace freezeframe {
namespace {

using testing::TempPath;

constexpr std::uint64_t kMiB = 1 << 20;

std::unique_ptr<FileVolume> create_ok(const TempPath& path, FileVolumeCreateOptions options) {
  auto volume = FileVolume::create(path.str(), options);
  EXPECT_TRUE(volume.ok()) << volume.status().to_string();
  return volume.ok() ? std::move(volume).value() : nullptr;
}

std::unique_ptr<FileVolume> open_ok(const TempPath& path, FileVolumeOpenOptions options = {}) {
  auto volume = FileVolume::open(path.str(), options);
  EXPECT_TRUE(volume.ok()) << volume.status().to_string();
  return volume.ok() ? std::move(volume).value() : nullptr;
}

// The UUID an open of `path` with `options` reports; nil, with the test failed, if the open
// fails.
Uuid opened_uuid(const TempPath& path, FileVolumeOpenOptions options = {}) {
  auto volume = open_ok(path, std::move(options));
  return volume != nullptr ? volume->uuid() : Uuid();
}

using testing::random_bytes;

void write_raw_file(const TempPath& path, std::size_t bytes) {
  std::ofstream out(path.path(), std::ios::binary);
  std::vector<char> data(bytes, 'x');
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good());
}

std::uint64_t allocated(const FileVolume& volume) {
  auto bytes = volume.allocated_bytes();
  EXPECT_TRUE(bytes.ok()) << bytes.status().to_string();
  return bytes.ok() ? *bytes : 0;
}

TEST(FileVolume, CreateMakesASparseImageOfTheRequestedSize) {
  TempPath path;
  auto volume = create_ok(path, {.size_bytes = 256 * kMiB, .sector_bytes = 4096});
  ASSERT_NE(volume, nullptr);
  EXPECT_EQ(volume->size_bytes(), 256 * kMiB);
  EXPECT_EQ(volume->sector_bytes(), 4096u);
  EXPECT_FALSE(volume->read_only());
  EXPECT_FALSE(volume->is_block_device());
  EXPECT_EQ(volume->name(), path.str());
  EXPECT_FALSE(volume->uuid().is_nil());
  EXPECT_EQ(std::filesystem::file_size(path.path()), 256 * kMiB);
  // Nothing written yet: the file occupies (almost) no space.
  EXPECT_LT(allocated(*volume), kMiB);

  std::vector<std::byte> data(64 * 1024, std::byte{0x11});
  ASSERT_TRUE(volume->write(100 * kMiB, data).ok());
  ASSERT_TRUE(volume->flush().ok());
  EXPECT_GE(allocated(*volume), data.size());
  EXPECT_LT(allocated(*volume), 2 * kMiB);

  std::vector<std::byte> back(data.size());
  ASSERT_TRUE(volume->read(0, back).ok());
  EXPECT_EQ(back, std::vector<std::byte>(data.size()));
}

// The image file shrinks under an open volume: a read past the file's new end is an I/O
// error that names the file, where it ends and the volume's own end, never zeros with success.
TEST(FileVolume, AReadPastAFileTruncatedUnderneathIsAnErrorNamingIt) {
  TempPath path;
  auto volume = create_ok(path, {.size_bytes = 1 * kMiB});
  ASSERT_NE(volume, nullptr);
  ASSERT_TRUE(volume->write(0, std::vector<std::byte>(1 * kMiB, std::byte{0x5a})).ok());
  ASSERT_TRUE(volume->flush().ok());
  std::filesystem::resize_file(path.path(), 512 * 1024);
  std::vector<std::byte> out(4096);
  EXPECT_TRUE(volume->read(512 * 1024 - 4096, out).ok());
  Status status = volume->read(512 * 1024, out);
  EXPECT_EQ(status.code(), ErrorCode::kIoError) << status.to_string();
  EXPECT_NE(status.message().find(path.str()), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("ends at byte 524288"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("volume's end at 1048576"), std::string::npos)
      << status.message();
}

TEST(FileVolume, DataWrittenAndFlushedSurvivesReopen) {
  testing::TracedRandom random(21);
  TempPath path;
  struct Extent {
    std::uint64_t offset;
    std::vector<std::byte> data;
  };
  std::vector<Extent> extents;
  Uuid uuid;
  {
    auto volume = create_ok(path, {.size_bytes = 16 * kMiB});
    ASSERT_NE(volume, nullptr);
    uuid = volume->uuid();
    for (int i = 0; i < 32; ++i) {
      // Disjoint slots of 256 KiB, each written once with a random length.
      std::uint64_t offset = static_cast<std::uint64_t>(i) * 512 * 1024;
      std::size_t sectors = static_cast<std::size_t>(random.uniform_range(1, 512));
      extents.push_back({offset, random_bytes(random, sectors * 512)});
      ASSERT_TRUE(volume->write(offset, extents.back().data).ok());
    }
    ASSERT_TRUE(volume->flush().ok());
  }
  auto volume = open_ok(path);
  ASSERT_NE(volume, nullptr);
  EXPECT_EQ(volume->size_bytes(), 16 * kMiB);
  EXPECT_EQ(volume->sector_bytes(), 512u);
  EXPECT_EQ(volume->uuid(), uuid);
  for (const auto& extent : extents) {
    std::vector<std::byte> back(extent.data.size());
    ASSERT_TRUE(volume->read(extent.offset, back).ok());
    EXPECT_EQ(back, extent.data) << "extent at " << extent.offset;
  }
}

TEST(FileVolume, UuidIsStableAcrossReopenAndNameIsChosenAtOpen) {
  TempPath path;
  Uuid uuid;
  {
    auto volume = create_ok(path, {.size_bytes = kMiB, .name = "data"});
    ASSERT_NE(volume, nullptr);
    EXPECT_EQ(volume->name(), "data");
    uuid = volume->uuid();
  }
  auto first = open_ok(path, {.read_only = true});
  auto second = open_ok(path, {.name = "again"});
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(first->uuid(), uuid);
  EXPECT_EQ(second->uuid(), uuid);
  EXPECT_EQ(first->name(), path.str());
  EXPECT_EQ(second->name(), "again");
}

TEST(FileVolume, GivenUuidIsStoredAndReadBack) {
  TempPath path;
  const Uuid wanted = Uuid::from_name("file-volume-test-given-uuid");
  {
    auto volume = FileVolume::create(path.str(), {.size_bytes = kMiB, .uuid = wanted});
    // The test directory is on the build tree's file system, which must keep extended
    // attributes; where it cannot, create fails with kUnsupported and removes its file.
    if (!volume.ok()) {
      EXPECT_EQ(volume.status().code(), ErrorCode::kUnsupported);
      EXPECT_FALSE(std::filesystem::exists(path.path())) << "a failed create left its file";
    }
    ASSERT_TRUE(volume.ok()) << volume.status().to_string();
    EXPECT_EQ(volume.value()->uuid(), wanted);
  }
  EXPECT_EQ(opened_uuid(path), wanted);
}

TEST(FileVolume, FileWithoutStoredUuidGetsOneDerivedFromItsPath) {
  TempPath path;
  write_raw_file(path, 8192);
  auto first = open_ok(path);
  auto second = open_ok(path);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(first->uuid(), Uuid::from_name(std::filesystem::canonical(path.path()).string()));
  EXPECT_EQ(first->uuid(), second->uuid());
  EXPECT_EQ(first->size_bytes(), 8192u);
}

TEST(FileVolume, RecordedUuidIdentifiesAFileThatLostItsAttribute) {
  TempPath path;
  const Uuid recorded = Uuid::from_name("file-volume-test-recorded-uuid");
  write_raw_file(path, 8192);  // a copy made without extended attributes has none
  EXPECT_EQ(opened_uuid(path, {.uuid = recorded}), recorded);
  // Without the recorded UUID the identity depends on where the file is.
  const Uuid plain = opened_uuid(path);
  EXPECT_FALSE(plain.is_nil());
  EXPECT_NE(plain, recorded);
}

TEST(FileVolume, RecordedUuidThatDiffersFromTheStoredOneIsRefused) {
  TempPath path;
  const Uuid stored = Uuid::from_name("file-volume-test-stored");
  ASSERT_TRUE(FileVolume::create(path.str(), {.size_bytes = kMiB, .uuid = stored}).ok());
  EXPECT_EQ(opened_uuid(path, {.uuid = stored}), stored);
  const Uuid other = Uuid::from_name("file-volume-test-other");
  auto volume = FileVolume::open(path.str(), {.uuid = other});
  ASSERT_FALSE(volume.ok());
  EXPECT_EQ(volume.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(volume.status().message().find(stored.to_string()), std::string::npos);
  EXPECT_NE(volume.status().message().find(other.to_string()), std::string::npos);
  EXPECT_NE(volume.status().message().find(path.str()), std::string::npos);
}

TEST(FileVolume, FileIdTellsTwoPathsToOneFileApart) {
  TempPath path;
  TempPath other;
  write_raw_file(path, 4096);
  write_raw_file(other, 4096);
  const std::filesystem::path link = path.path().string() + ".link";
  std::filesystem::create_hard_link(path.path(), link);
  auto first = FileVolume::file_id(path.str());
  auto linked = FileVolume::file_id(link.string());
  auto second = FileVolume::file_id(other.str());
  std::filesystem::remove(link);
  ASSERT_TRUE(first.ok() && linked.ok() && second.ok());
  EXPECT_EQ(first.value(), linked.value());
  EXPECT_FALSE(first.value() == second.value());
  EXPECT_EQ(FileVolume::file_id(link.string()).status().code(), ErrorCode::kNotFound);
}

TEST(FileVolume, MalformedStoredUuidIsCorrupt) {
  TempPath path;
  write_raw_file(path, 4096);
  const char junk[] = "not-a-uuid";
#if defined(_WIN32)
  // The image's alternate data stream, where Windows keeps what POSIX keeps in an attribute.
  std::ofstream(path.str() + ":freezeframe.uuid", std::ios::binary) << junk;
  ASSERT_TRUE(std::ifstream(path.str() + ":freezeframe.uuid").good())
      << "the test directory's file system must keep alternate data streams";
#else
  ASSERT_EQ(::setxattr(path.str().c_str(), "user.freezeframe.uuid", junk, sizeof(junk) - 1, 0), 0)
      << "the test directory's file system must keep extended attributes";
#endif
  auto volume = FileVolume::open(path.str(), {});
  ASSERT_FALSE(volume.ok());
  EXPECT_EQ(volume.status().code(), ErrorCode::kCorrupt);
  EXPECT_NE(volume.status().message().find(path.str()), std::string::npos);
}

TEST(FileVolume, CreateRefusesAnExistingFileUnlessToldToOverwrite) {
  TempPath path;
  std::vector<std::byte> marker(512, std::byte{0x7e});
  Uuid first_uuid;
  {
    auto volume = create_ok(path, {.size_bytes = kMiB});
    ASSERT_NE(volume, nullptr);
    first_uuid = volume->uuid();
    ASSERT_TRUE(volume->write(4096, marker).ok());
    ASSERT_TRUE(volume->flush().ok());
  }
  auto again = FileVolume::create(path.str(), {.size_bytes = 2 * kMiB});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find(path.str()), std::string::npos);
  {
    // The refused create changed nothing.
    auto volume = open_ok(path);
    ASSERT_NE(volume, nullptr);
    EXPECT_EQ(volume->size_bytes(), kMiB);
    EXPECT_EQ(volume->uuid(), first_uuid);
    std::vector<std::byte> back(512);
    ASSERT_TRUE(volume->read(4096, back).ok());
    EXPECT_EQ(back, marker);
  }
  auto replaced = create_ok(path, {.size_bytes = 2 * kMiB, .overwrite = true});
  ASSERT_NE(replaced, nullptr);
  EXPECT_EQ(replaced->size_bytes(), 2 * kMiB);
  EXPECT_NE(replaced->uuid(), first_uuid);
  std::vector<std::byte> back(512);
  ASSERT_TRUE(replaced->read(4096, back).ok());
  EXPECT_EQ(back, std::vector<std::byte>(512));
}

TEST(FileVolume, OverwriteRefusesSomethingThatIsNotARegularFile) {
  TempPath path;
  std::filesystem::create_directory(path.path());
  auto volume = FileVolume::create(path.str(), {.size_bytes = kMiB, .overwrite = true});
  EXPECT_EQ(volume.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(std::filesystem::is_directory(path.path()));
  std::filesystem::remove(path.path());
}

TEST(FileVolume, CreateRejectsBadSizesAndSectorSizesNamingThePath) {
  TempPath path;
  struct Case {
    std::uint64_t size_bytes;
    std::uint32_t sector_bytes;
  };
  for (Case c :
       {Case{0, 512}, Case{1000, 512}, Case{512 * 3, 4096}, Case{kMiB, 1024}, Case{kMiB, 0}}) {
    SCOPED_TRACE("size " + std::to_string(c.size_bytes) + " sector " +
                 std::to_string(c.sector_bytes));
    auto volume = FileVolume::create(path.str(),
                                     {.size_bytes = c.size_bytes, .sector_bytes = c.sector_bytes});
    ASSERT_FALSE(volume.ok());
    EXPECT_EQ(volume.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(volume.status().message().find(path.str()), std::string::npos)
        << volume.status().to_string();
    EXPECT_FALSE(std::filesystem::exists(path.path()));
  }
}

TEST(FileVolume, ReportsTheFileSystemBlockOrTheGivenDeviceProperties) {
  TempPath path;
  auto volume = create_ok(path, {.size_bytes = kMiB});
  ASSERT_NE(volume, nullptr);
  const DeviceProperties found = volume->properties();
  EXPECT_TRUE(validate_device_properties(found).ok());
  EXPECT_EQ(found.logical_sector_bytes, 512u);
  EXPECT_EQ(found.atomic_write_bytes, 512u);
#if defined(_WIN32)
  // The file system's cluster, where it is a valid physical sector (validated above).
  EXPECT_GE(found.physical_sector_bytes, 512u);
#else
  // The file system's block, where it is a valid physical sector.
  struct stat info {};
  ASSERT_EQ(::stat(path.str().c_str(), &info), 0);
  const auto block = static_cast<std::uint64_t>(info.st_blksize);
  const bool usable =
      block >= 512 && block <= kPhysicalSectorBytesMax && (block & (block - 1)) == 0;
  EXPECT_EQ(found.physical_sector_bytes, usable ? block : 512u);
#endif
  EXPECT_EQ(found.optimal_io_bytes,
            std::max<std::uint32_t>(64 * 1024, found.physical_sector_bytes));
  volume.reset();
  auto given = open_ok(
      path,
      {.physical_sector_bytes = 4096, .atomic_write_bytes = 4096, .optimal_io_bytes = 1 << 20});
  ASSERT_NE(given, nullptr);
  EXPECT_EQ(given->properties(), (DeviceProperties{512, 4096, 4096, 1 << 20}));
}

TEST(FileVolume, InvalidDevicePropertiesAreRefusedAndLeaveNoFile) {
  TempPath path;
  auto created = FileVolume::create(
      path.str(), {.size_bytes = kMiB, .sector_bytes = 4096, .physical_sector_bytes = 2048});
  EXPECT_EQ(created.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(created.status().message().find(path.str()), std::string::npos)
      << created.status().to_string();
  EXPECT_FALSE(std::filesystem::exists(path.path()));
  ASSERT_NE(create_ok(path, {.size_bytes = kMiB}), nullptr);
  auto opened = FileVolume::open(path.str(), {.atomic_write_bytes = 128 * 1024});
  EXPECT_EQ(opened.status().code(), ErrorCode::kInvalidArgument);
}

TEST(FileVolume, CreateInAMissingDirectoryIsNotFound) {
  TempPath dir;
  auto volume = FileVolume::create(dir.str() + "/missing/volume.img", {.size_bytes = kMiB});
  EXPECT_EQ(volume.status().code(), ErrorCode::kNotFound);
}

TEST(FileVolume, OpenRejectsAFileWhoseSizeIsNotASectorMultiple) {
  TempPath path;
  write_raw_file(path, 1000);
  auto volume = FileVolume::open(path.str(), {});
  ASSERT_FALSE(volume.ok());
  EXPECT_EQ(volume.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(volume.status().message().find(path.str()), std::string::npos);
  EXPECT_NE(volume.status().message().find("1000"), std::string::npos);

  TempPath three_sectors;
  write_raw_file(three_sectors, 3 * 512);
  EXPECT_TRUE(FileVolume::open(three_sectors.str(), {}).ok());
  EXPECT_EQ(FileVolume::open(three_sectors.str(), {.sector_bytes = 4096}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(FileVolume::open(three_sectors.str(), {.sector_bytes = 100}).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST(FileVolume, OpenRejectsAnEmptyFile) {
  TempPath path;
  write_raw_file(path, 0);
  auto volume = FileVolume::open(path.str(), {});
  EXPECT_EQ(volume.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(volume.status().message().find(path.str()), std::string::npos);
}

TEST(FileVolume, OpenOfAMissingFileIsNotFound) {
  TempPath path;
  auto volume = FileVolume::open(path.str(), {});
  EXPECT_EQ(volume.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(volume.status().message().find(path.str()), std::string::npos);
}

TEST(FileVolume, OpenRejectsADirectory) {
  TempPath path;
  std::filesystem::create_directory(path.path());
  EXPECT_EQ(FileVolume::open(path.str(), {.read_only = true}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(FileVolume::open(path.str(), {}).status().code(), ErrorCode::kInvalidArgument);
  std::filesystem::remove(path.path());
}

TEST(FileVolume, ReadOnlyOpenReadsButRefusesWritesAndDiscards) {
  TempPath path;
  std::vector<std::byte> data(4096, std::byte{0x42});
  {
    auto volume = create_ok(path, {.size_bytes = kMiB});
    ASSERT_NE(volume, nullptr);
    ASSERT_TRUE(volume->write(0, data).ok());
    ASSERT_TRUE(volume->flush().ok());
  }
  auto volume = open_ok(path, {.read_only = true});
  ASSERT_NE(volume, nullptr);
  EXPECT_TRUE(volume->read_only());
  std::vector<std::byte> back(4096);
  ASSERT_TRUE(volume->read(0, back).ok());
  EXPECT_EQ(back, data);
  std::vector<std::byte> other(4096, std::byte{0x01});
  EXPECT_EQ(volume->write(0, other).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(volume->discard(0, 4096).code(), ErrorCode::kReadOnly);
  EXPECT_TRUE(volume->flush().ok());
  ASSERT_TRUE(volume->read(0, back).ok());
  EXPECT_EQ(back, data);
}

TEST(FileVolume, ReadBeyondTheEndOfATruncatedFileIsAnIoErrorNamingPathAndOffset) {
  TempPath path;
  auto volume = create_ok(path, {.size_bytes = kMiB});
  ASSERT_NE(volume, nullptr);
  // Someone else shrinks the image underneath the open volume.
  std::filesystem::resize_file(path.path(), kMiB / 2);
  std::vector<std::byte> back(8192);
  ASSERT_TRUE(volume->read(0, back).ok());
  Status status = volume->read(kMiB / 2 + 4096, back);
  ASSERT_EQ(status.code(), ErrorCode::kIoError) << status.to_string();
  EXPECT_NE(status.message().find(path.str()), std::string::npos) << status.message();
  EXPECT_NE(status.message().find(std::to_string(kMiB / 2 + 4096)), std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("length 8192"), std::string::npos) << status.message();
  // Straddling the new end fails too, instead of returning a short buffer.
  EXPECT_EQ(volume->read(kMiB / 2 - 4096, back).code(), ErrorCode::kIoError);
}

TEST(FileVolume, DiscardReadsBackZerosAndReleasesBlocks) {
  testing::TracedRandom random(22);
  TempPath path;
  auto volume = create_ok(path, {.size_bytes = 8 * kMiB, .sector_bytes = 4096});
  ASSERT_NE(volume, nullptr);
  auto data = random_bytes(random, 4 * kMiB);
  ASSERT_TRUE(volume->write(2 * kMiB, data).ok());
  ASSERT_TRUE(volume->flush().ok());
  const std::uint64_t before = allocated(*volume);
  EXPECT_GE(before, 4 * kMiB);

  ASSERT_TRUE(volume->discard(3 * kMiB, 2 * kMiB).ok());
  ASSERT_TRUE(volume->flush().ok());
  std::vector<std::byte> back(4 * kMiB);
  ASSERT_TRUE(volume->read(2 * kMiB, back).ok());
  EXPECT_TRUE(std::equal(back.begin(), back.begin() + kMiB, data.begin()));
  EXPECT_TRUE(std::all_of(back.begin() + kMiB, back.begin() + 3 * kMiB,
                          [](std::byte b) { return b == std::byte{0}; }));
  EXPECT_TRUE(std::equal(back.begin() + 3 * kMiB, back.end(), data.begin() + 3 * kMiB));
  if (volume->discard_releases_space()) {
    EXPECT_LE(allocated(*volume), before - 2 * kMiB);
  } else {
#if defined(_WIN32)
    std::printf(
        "the file system does not punch holes (FSCTL_SET_ZERO_DATA): zeros were "
        "written, the blocks stay allocated\n");
#else
    ADD_FAILURE() << "the build tree's file system must punch holes";
#endif
  }

  // A discard of never-written space is fine and reads zeros.
  ASSERT_TRUE(volume->discard(0, kMiB).ok());
  std::vector<std::byte> head(kMiB, std::byte{1});
  ASSERT_TRUE(volume->read(0, head).ok());
  EXPECT_EQ(head, std::vector<std::byte>(kMiB));
}

// Direct I/O on the file system that holds the test directory (the build tree). Skipped only
// if that file system refuses O_DIRECT, which FileVolume must then report as kUnsupported.
class FileVolumeDirectIo : public ::testing::TestWithParam<std::uint32_t> {};

TEST_P(FileVolumeDirectIo, RoundTripsAlignedAndUnalignedBuffers) {
  const std::uint32_t sector = GetParam();
  testing::TracedRandom random(23);
  TempPath path;
  auto created = FileVolume::create(
      path.str(), {.size_bytes = 8 * kMiB, .sector_bytes = sector, .direct_io = true});
  // The build tree's file system accepts O_DIRECT; where one does not, create fails with
  // kUnsupported naming the file and removes it.
  if (!created.ok()) {
    EXPECT_EQ(created.status().code(), ErrorCode::kUnsupported);
    EXPECT_NE(created.status().message().find(path.str()), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(path.path())) << "a failed create left its file";
  }
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  auto volume = std::move(created).value();
  EXPECT_TRUE(volume->direct_io());

  // Aligned source: written directly.
  constexpr std::size_t kAlign = 4096;
  const std::size_t aligned_bytes = 64 * 1024;
  std::unique_ptr<std::byte[], void (*)(std::byte*)> aligned(
      static_cast<std::byte*>(::operator new[](aligned_bytes, std::align_val_t{kAlign})),
      [](std::byte* p) { ::operator delete[](p, std::align_val_t{kAlign}); });
  auto aligned_data = random_bytes(random, aligned_bytes);
  std::memcpy(aligned.get(), aligned_data.data(), aligned_bytes);
  ASSERT_TRUE(volume->write(0, std::span<const std::byte>(aligned.get(), aligned_bytes)).ok());

  // Unaligned source larger than the bounce buffer: goes through it in pieces.
  const std::size_t unaligned_bytes = 2 * kMiB + 3 * 4096;
  std::vector<std::byte> storage(unaligned_bytes + 1);
  std::span<std::byte> unaligned(storage.data() + 1, unaligned_bytes);
  random.fill(unaligned);
  ASSERT_TRUE(volume->write(kMiB, unaligned).ok());
  ASSERT_TRUE(volume->flush().ok());

  std::vector<std::byte> back_storage(unaligned_bytes + 1);
  std::span<std::byte> back(back_storage.data() + 1, unaligned_bytes);
  ASSERT_TRUE(volume->read(kMiB, back).ok());
  EXPECT_TRUE(std::equal(back.begin(), back.end(), unaligned.begin()));
  std::memset(aligned.get(), 0, aligned_bytes);
  ASSERT_TRUE(volume->read(0, std::span<std::byte>(aligned.get(), aligned_bytes)).ok());
  EXPECT_EQ(std::memcmp(aligned.get(), aligned_data.data(), aligned_bytes), 0);

  // Discard under direct I/O, then the same bytes through the page cache after a reopen.
  ASSERT_TRUE(volume->discard(kMiB, sector).ok());
  ASSERT_TRUE(volume->flush().ok());
  volume.reset();
  auto buffered = open_ok(path, {.sector_bytes = sector});
  ASSERT_NE(buffered, nullptr);
  std::vector<std::byte> again(unaligned_bytes);
  ASSERT_TRUE(buffered->read(kMiB, again).ok());
  EXPECT_TRUE(std::all_of(again.begin(), again.begin() + sector,
                          [](std::byte b) { return b == std::byte{0}; }));
  EXPECT_TRUE(std::equal(again.begin() + sector, again.end(), unaligned.begin() + sector));

  auto direct = open_ok(path, {.read_only = true, .sector_bytes = sector, .direct_io = true});
  ASSERT_NE(direct, nullptr);
  EXPECT_TRUE(direct->direct_io());
  std::fill(back.begin(), back.end(), std::byte{0});
  ASSERT_TRUE(direct->read(kMiB, back).ok());
  EXPECT_TRUE(std::equal(back.begin(), back.end(), again.begin()));
}

INSTANTIATE_TEST_SUITE_P(SectorSizes, FileVolumeDirectIo, ::testing::Values(512u, 4096u));

}  // namespace
}  // namespace freezeframe

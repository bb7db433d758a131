// Corrupt, truncated, foreign and newer diff areas (invariant 8): opening one fails with the
// code a caller reacts to (kCorrupt, kUnsupportedVersion, kInvalidArgument) and a message that
// names the problem, and leaves the diff volume byte-identical. A damaged journal commit (not
// a torn last one) opens the area read-only instead, refusing snapshot reads and every change
// with the damage. Formatting over an existing diff area is refused without writing. Runs over an
// image file (FileVolume) and over memory. White-box: it reads the superblock with the engine's
// format code to find the journal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <xxhash.h>

#include <array>
#include <boost/endian/conversion.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "diff_area_format.h"
#include "freezeframe/file_volume.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/snapshot_provider.h"
#include "freezeframe/volume_wrapper.h"
#include "temp_path.h"

namespace freezeframe {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using Bytes = std::vector<std::byte>;

constexpr std::uint64_t kOriginBytes = 1 << 20;
constexpr std::uint64_t kDiffBytes = 2 << 20;
constexpr std::uint32_t kChunkBytes = 4096;

enum class Backing { kFile, kMemory };

// The diff volume's bytes, kept where a test can damage them: in an image file that is
// reopened for each attempt, or in memory.
class DiffStore {
 public:
  explicit DiffStore(Backing backing) : backing_(backing), path_("diff") {}

  Result<std::unique_ptr<Volume>> create_volume() {
    if (backing_ == Backing::kFile) {
      FF_ASSIGN_OR_RETURN(auto volume, FileVolume::create(path_.str(), {.size_bytes = kDiffBytes}));
      return std::unique_ptr<Volume>(std::move(volume));
    }
    FF_ASSIGN_OR_RETURN(memory_, MemoryVolume::create({.name = "diff", .size_bytes = kDiffBytes}));
    return borrowed();
  }

  // A fresh handle on the stored bytes.
  Result<std::unique_ptr<Volume>> open_volume() {
    if (backing_ == Backing::kFile) {
      FF_ASSIGN_OR_RETURN(auto volume, FileVolume::open(path_.str(), {}));
      return std::unique_ptr<Volume>(std::move(volume));
    }
    return borrowed();
  }

  Bytes contents() {
    if (backing_ == Backing::kFile) {
      std::ifstream in(path_.path(), std::ios::binary);
      Bytes bytes(std::filesystem::file_size(path_.path()));
      in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      EXPECT_TRUE(in.good());
      return bytes;
    }
    Bytes bytes(memory_->size_bytes());
    EXPECT_TRUE(memory_->read(0, bytes).ok());
    return bytes;
  }

  std::uint64_t hash() {
    Bytes bytes = contents();
    return XXH3_64bits(bytes.data(), bytes.size());
  }

  void patch(std::uint64_t offset, std::span<const std::byte> bytes) {
    if (backing_ == Backing::kFile) {
      std::fstream out(path_.path(), std::ios::binary | std::ios::in | std::ios::out);
      out.seekp(static_cast<std::streamoff>(offset));
      out.write(reinterpret_cast<const char*>(bytes.data()),
                static_cast<std::streamsize>(bytes.size()));
      ASSERT_TRUE(out.good());
      return;
    }
    // Sector-aligned read-modify-write through the volume.
    std::uint64_t first = offset / 512 * 512;
    std::uint64_t end = (offset + bytes.size() + 511) / 512 * 512;
    Bytes buffer(end - first);
    ASSERT_TRUE(memory_->read(first, buffer).ok());
    std::memcpy(buffer.data() + (offset - first), bytes.data(), bytes.size());
    ASSERT_TRUE(memory_->write(first, buffer).ok());
  }

  void flip_bit(std::uint64_t offset, int bit) {
    std::byte value{};
    if (backing_ == Backing::kFile) {
      std::ifstream in(path_.path(), std::ios::binary);
      in.seekg(static_cast<std::streamoff>(offset));
      in.read(reinterpret_cast<char*>(&value), 1);
      ASSERT_TRUE(in.good());
    } else {
      Bytes sector(512);
      ASSERT_TRUE(memory_->read(offset / 512 * 512, sector).ok());
      value = sector[offset % 512];
    }
    value ^= static_cast<std::byte>(1u << bit);
    patch(offset, std::span(&value, 1));
  }

  // Keeps the first `size_bytes` bytes.
  void truncate(std::uint64_t size_bytes) {
    if (backing_ == Backing::kFile) {
      std::filesystem::resize_file(path_.path(), size_bytes);
      return;
    }
    Bytes bytes = contents();
    auto smaller =
        MemoryVolume::create({.name = "diff", .size_bytes = size_bytes, .uuid = memory_->uuid()});
    ASSERT_TRUE(smaller.ok()) << smaller.status().to_string();
    ASSERT_TRUE(smaller.value()->write(0, std::span(bytes).first(size_bytes)).ok());
    memory_ = std::move(smaller).value();
  }

  Backing backing() const { return backing_; }

 private:
  // A non-owning Volume over the memory volume, so both backings hand out unique_ptrs.
  class Borrowed final : public VolumeWrapper {
   public:
    using VolumeWrapper::VolumeWrapper;
  };

  Result<std::unique_ptr<Volume>> borrowed() {
    return std::unique_ptr<Volume>(std::make_unique<Borrowed>(*memory_));
  }

  Backing backing_;
  testing::TempPath path_;
  std::unique_ptr<MemoryVolume> memory_;
};

std::string backing_name(const ::testing::TestParamInfo<Backing>& info) {
  return info.param == Backing::kFile ? "File" : "Memory";
}

class ProviderCorruptionTest : public ::testing::TestWithParam<Backing> {
 protected:
  void SetUp() override {
    auto origin = MemoryVolume::create({.name = "origin",
                                        .size_bytes = kOriginBytes,
                                        .uuid = Uuid::from_name("corruption-test-origin")});
    ASSERT_TRUE(origin.ok());
    origin_ = std::move(origin).value();
    store_ = std::make_unique<DiffStore>(GetParam());
    auto diff = store_->create_volume();
    ASSERT_TRUE(diff.ok()) << diff.status().to_string();

    // A CoW diff area with preserved chunks and a journal of several commit groups after the
    // checkpoint: two snapshot creations, with writes between them.
    ProviderOptions options;
    options.chunk_bytes = kChunkBytes;
    options.limit = DiffAreaLimit::unbounded();
    options.random = &random_;
    auto provider = CowProvider::create(*origin_, *diff.value(), options);
    ASSERT_TRUE(provider.ok()) << provider.status().to_string();
    Bytes data(3 * kChunkBytes);
    random_.fill(data);
    ASSERT_TRUE(provider.value()->write(0, data).ok());
    ASSERT_TRUE(provider.value()->create_snapshot().ok());
    random_.fill(data);
    ASSERT_TRUE(provider.value()->write(kChunkBytes, data).ok());
    ASSERT_TRUE(provider.value()->create_snapshot().ok());
    ASSERT_TRUE(provider.value()->flush().ok());
    provider.value().reset();

    Bytes bytes = store_->contents();
    auto superblock = format::decode_superblock(bytes, bytes.size());
    ASSERT_TRUE(superblock.ok()) << superblock.status().to_string();
    superblock_ = superblock.value();
    ASSERT_GE(superblock_.checkpoint_blocks, 1u);
    // The journal after the checkpoint holds at least two commit groups.
    journal_blocks_ = 0;
    for (std::uint64_t block = superblock_.checkpoint_blocks;; ++block) {
      std::uint64_t at =
          superblock_.log_offset[superblock_.active_log] + block * format::kLogBlockBytes;
      auto decoded = format::decode_log_block(std::span(bytes).subspan(at));
      if (!decoded.ok() ||
          decoded.value().header.sequence != superblock_.log_start_sequence + block)
        break;
      journal_blocks_ = block + 1;
    }
    ASSERT_GE(journal_blocks_, superblock_.checkpoint_blocks + 2);
    intact_hash_ = store_->hash();
  }

  std::uint64_t block_offset(std::uint64_t block) const {
    return superblock_.log_offset[superblock_.active_log] + block * format::kLogBlockBytes;
  }

  // Opens the (damaged) diff area; it must fail with `code` and leave the bytes as they were.
  Status open_must_fail(std::initializer_list<ErrorCode> codes) {
    std::uint64_t before = store_->hash();
    auto diff = store_->open_volume();
    if (!diff.ok())
      return diff.status();
    auto opened = SnapshotProvider::open(*origin_, *diff.value());
    diff.value().reset();
    EXPECT_FALSE(opened.ok()) << "a damaged diff area opened";
    if (opened.ok())
      return Status();
    EXPECT_THAT(codes, ::testing::Contains(opened.status().code())) << opened.status().to_string();
    EXPECT_EQ(store_->hash(), before) << "open wrote to a diff area it refused";
    return opened.status();
  }

  void expect_intact_opens() {
    EXPECT_EQ(store_->hash(), intact_hash_);
    auto diff = store_->open_volume();
    ASSERT_TRUE(diff.ok());
    auto opened = SnapshotProvider::open(*origin_, *diff.value());
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    EXPECT_EQ(opened.value()->snapshots().size(), 2u);
  }

  // Rewrites the superblock through `change`, with a valid checksum.
  void reseal_superblock(const std::function<void(std::span<std::byte>)>& change) {
    Bytes bytes = store_->contents();
    std::span<std::byte> superblock = std::span(bytes).first(format::kSuperblockBytes);
    change(superblock);
    std::uint64_t checksum = XXH3_64bits(superblock.data(), format::kSuperblockChecksumOffset);
    boost::endian::store_little_u64(
        reinterpret_cast<unsigned char*>(superblock.data() + format::kSuperblockChecksumOffset),
        checksum);
    store_->patch(0, superblock);
  }

  Random random_{20261219};
  std::unique_ptr<MemoryVolume> origin_;
  std::unique_ptr<DiffStore> store_;
  format::Superblock superblock_;
  std::uint64_t journal_blocks_ = 0;
  std::uint64_t intact_hash_ = 0;
};

TEST_P(ProviderCorruptionTest, IntactDiffAreaOpens) {
  expect_intact_opens();
}

TEST_P(ProviderCorruptionTest, AnySingleBitFlipInTheSuperblockIsRefused) {
  for (std::uint64_t offset = 0; offset < format::kSuperblockBytes; ++offset) {
    SCOPED_TRACE("superblock byte " + std::to_string(offset));
    int bit = static_cast<int>(offset % 8);
    store_->flip_bit(offset, bit);
    // The checksum is judged before any field: a flip in format_version is damage too, not
    // a newer format.
    Status status = open_must_fail({ErrorCode::kCorrupt});
    EXPECT_THAT(status.message(), AnyOf(HasSubstr("checksum"), HasSubstr("magic"),
                                        HasSubstr("not a freezeframe"), HasSubstr("version")));
    store_->flip_bit(offset, bit);
    if (HasFailure())
      return;
  }
  expect_intact_opens();
}

TEST_P(ProviderCorruptionTest, BitFlipsInTheCheckpointAreRefused) {
  // Header fields, the checksum, records and unused payload bytes of each checkpoint block.
  for (std::uint64_t block = 0; block < superblock_.checkpoint_blocks; ++block) {
    for (std::uint64_t offset = 0; offset < format::kLogBlockBytes; offset += 37) {
      SCOPED_TRACE("checkpoint block " + std::to_string(block) + " byte " + std::to_string(offset));
      int bit = static_cast<int>(offset % 8);
      store_->flip_bit(block_offset(block) + offset, bit);
      Status status = open_must_fail({ErrorCode::kCorrupt, ErrorCode::kUnsupportedVersion});
      EXPECT_THAT(status.message(), HasSubstr("journal area"));
      store_->flip_bit(block_offset(block) + offset, bit);
      if (HasFailure())
        return;
    }
  }
  expect_intact_opens();
}

TEST_P(ProviderCorruptionTest, DamagedCommitFollowedByAnIntactCommitOpensReadOnly) {
  // Every commit group but the last is followed by an intact one: damage to it is not a torn
  // write at a crash but a durable block gone bad. The area opens read-only, without writing;
  // snapshot reads and every change fail with the damage, naming the block; the CoW live
  // volume (the origin) still reads.
  Bytes origin_bytes(kOriginBytes);
  ASSERT_TRUE(origin_->read(0, origin_bytes).ok());
  std::vector<Uuid> ids;
  {
    auto diff = store_->open_volume();
    ASSERT_TRUE(diff.ok());
    auto intact = SnapshotProvider::open(*origin_, *diff.value());
    ASSERT_TRUE(intact.ok()) << intact.status().to_string();
    for (const SnapshotInfo& info : intact.value()->snapshots())
      ids.push_back(info.id);
  }
  ASSERT_EQ(ids.size(), 2u);
  for (std::uint64_t block = superblock_.checkpoint_blocks; block + 1 < journal_blocks_; ++block) {
    for (std::uint64_t offset :
         {std::uint64_t{9}, std::uint64_t{50}, std::uint64_t{60}, std::uint64_t{100}}) {
      SCOPED_TRACE("journal block " + std::to_string(block) + " byte " + std::to_string(offset));
      store_->flip_bit(block_offset(block) + offset, 3);
      const std::uint64_t before = store_->hash();
      auto diff = store_->open_volume();
      ASSERT_TRUE(diff.ok());
      auto opened = SnapshotProvider::open(*origin_, *diff.value());
      ASSERT_TRUE(opened.ok()) << opened.status().to_string();
      SnapshotProvider& provider = *opened.value();
      EXPECT_TRUE(provider.read_only());
      const std::string where = "journal area " + std::to_string(superblock_.active_log) +
                                " block " + std::to_string(block);
      // A snapshot whose creation was in the damaged commit is unknown; the others are
      // refused with the damage.
      for (const Uuid& id : ids) {
        Bytes chunk(kChunkBytes);
        auto snapshot = provider.open_snapshot(id);
        Status status = snapshot.ok() ? snapshot.value()->read(0, chunk) : snapshot.status();
        ASSERT_FALSE(status.ok());
        if (!provider.snapshot_info(id).ok())
          continue;
        EXPECT_EQ(status.code(), ErrorCode::kCorrupt) << status.to_string();
        EXPECT_THAT(status.message(), HasSubstr(where));
        EXPECT_THAT(status.message(), HasSubstr("damaged"));
      }
      Bytes live(kOriginBytes);
      ASSERT_TRUE(provider.read(0, live).ok());
      EXPECT_EQ(live, origin_bytes);
      auto created = provider.create_snapshot();
      ASSERT_FALSE(created.ok());
      EXPECT_EQ(created.status().code(), ErrorCode::kCorrupt) << created.status().to_string();
      EXPECT_THAT(created.status().message(), HasSubstr(where));
      Status written = provider.write(0, std::span(live).first(kChunkBytes));
      EXPECT_THAT(written.code(), AnyOf(ErrorCode::kCorrupt, ErrorCode::kReadOnly))
          << written.to_string();
      EXPECT_FALSE(provider.delete_snapshot(ids.front()).ok());
      EXPECT_TRUE(provider.flush().ok());
      opened.value().reset();
      diff.value().reset();
      EXPECT_EQ(store_->hash(), before) << "a read-only open wrote to the diff area";
      store_->flip_bit(block_offset(block) + offset, 3);
      if (HasFailure())
        return;
    }
  }
  expect_intact_opens();
}

TEST_P(ProviderCorruptionTest, TruncatedDiffAreaIsRefused) {
  // Shorter than the data area: the layout no longer fits the volume.
  store_->truncate(superblock_.data_offset + kChunkBytes);
  Status status = open_must_fail({ErrorCode::kCorrupt});
  EXPECT_THAT(status.message(), HasSubstr("diff volume"));
  // Only the superblock is left.
  store_->truncate(format::kSuperblockBytes);
  status = open_must_fail({ErrorCode::kCorrupt});
  EXPECT_THAT(status.message(), HasSubstr("diff volume"));
}

TEST_P(ProviderCorruptionTest, FileShorterThanTheSuperblockIsRefused) {
  if (store_->backing() != Backing::kFile) {
    // A memory volume holds whole sectors: the shortest is the superblock's sector alone,
    // whose journal areas lie past the end.
    auto diff = store_->open_volume();
    ASSERT_TRUE(diff.ok());
    std::vector<std::byte> superblock(512);
    ASSERT_TRUE(diff.value()->read(0, superblock).ok());
    auto tiny = MemoryVolume::create({.name = "tiny-diff", .size_bytes = 512});
    ASSERT_TRUE(tiny.ok());
    ASSERT_TRUE(tiny.value()->write(0, superblock).ok());
    auto opened = SnapshotProvider::open(*origin_, *tiny.value());
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), ErrorCode::kCorrupt) << opened.status().to_string();
    EXPECT_THAT(opened.status().message(), HasSubstr("tiny-diff"));
    std::vector<std::byte> after(512);
    ASSERT_TRUE(tiny.value()->read(0, after).ok());
    EXPECT_EQ(after, superblock);
    return;
  }
  store_->truncate(300);
  std::uint64_t before = store_->hash();
  auto diff = store_->open_volume();
  // Not a whole sector: the file is refused as a volume already, naming the file.
  ASSERT_FALSE(diff.ok());
  EXPECT_EQ(diff.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(diff.status().message(), HasSubstr("diff"));
  EXPECT_EQ(store_->hash(), before);
}

TEST_P(ProviderCorruptionTest, NewerFormatVersionIsRefusedAsSuch) {
  // The checksum is judged first: a newer version under a valid checksum is a newer format...
  const std::uint32_t newer = format::kFormatVersion + 1;
  reseal_superblock([&](std::span<std::byte> superblock) {
    boost::endian::store_little_u32(reinterpret_cast<unsigned char*>(superblock.data() + 8), newer);
  });
  Status status = open_must_fail({ErrorCode::kUnsupportedVersion});
  EXPECT_THAT(status.message(), HasSubstr("version " + std::to_string(newer)));
  // ...while a version field that fails the checksum is damage, whatever it says.
  Bytes version(4);
  boost::endian::store_little_u32(reinterpret_cast<unsigned char*>(version.data()), newer + 1);
  store_->patch(8, version);
  status = open_must_fail({ErrorCode::kCorrupt});
  EXPECT_THAT(status.message(), HasSubstr("checksum"));
}

TEST_P(ProviderCorruptionTest, WrongMagicIsRefused) {
  reseal_superblock(
      [](std::span<std::byte> superblock) { std::memcpy(superblock.data(), "NOTADIFF", 8); });
  Status status = open_must_fail({ErrorCode::kCorrupt});
  EXPECT_THAT(status.message(), HasSubstr("not a freezeframe diff area"));
}

TEST_P(ProviderCorruptionTest, DiffAreaOfAnotherOriginIsRefused) {
  auto other = MemoryVolume::create({.name = "other-origin",
                                     .size_bytes = kOriginBytes,
                                     .uuid = Uuid::from_name("corruption-test-other")});
  ASSERT_TRUE(other.ok());
  auto diff = store_->open_volume();
  ASSERT_TRUE(diff.ok());
  auto opened = SnapshotProvider::open(*other.value(), *diff.value());
  diff.value().reset();
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(opened.status().message(), HasSubstr("belongs to origin"));
  EXPECT_THAT(opened.status().message(), HasSubstr("other-origin"));
  EXPECT_EQ(store_->hash(), intact_hash_);
  // Same UUID, other size: still another origin.
  auto resized = MemoryVolume::create(
      {.name = "origin", .size_bytes = 2 * kOriginBytes, .uuid = origin_->uuid()});
  ASSERT_TRUE(resized.ok());
  diff = store_->open_volume();
  ASSERT_TRUE(diff.ok());
  opened = SnapshotProvider::open(*resized.value(), *diff.value());
  diff.value().reset();
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->hash(), intact_hash_);
}

TEST_P(ProviderCorruptionTest, CreateOverAnExistingDiffAreaIsRefused) {
  for (ProviderKind kind : {ProviderKind::kCopyOnWrite, ProviderKind::kRedirectOnWrite}) {
    auto diff = store_->open_volume();
    ASSERT_TRUE(diff.ok());
    ProviderOptions options;
    options.chunk_bytes = kChunkBytes;
    auto created = SnapshotProvider::create(kind, *origin_, *diff.value(), options);
    diff.value().reset();
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().code(), ErrorCode::kAlreadyExists);
    EXPECT_THAT(created.status().message(), HasSubstr("already holds a freezeframe diff area"));
    EXPECT_EQ(store_->hash(), intact_hash_) << "create wrote over an existing diff area";
  }
  expect_intact_opens();
}

INSTANTIATE_TEST_SUITE_P(Backings, ProviderCorruptionTest,
                         ::testing::Values(Backing::kFile, Backing::kMemory), backing_name);

}  // namespace
}  // namespace freezeframe

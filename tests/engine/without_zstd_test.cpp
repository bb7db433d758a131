// A build without zstd (FREEZEFRAME_WITH_ZSTD=OFF: the mingw-w64 Windows build): whatever is
// compressed is refused with kUnsupported and a message that says why, and nothing is written.
// Built only in such builds (tests/CMakeLists.txt).
#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "diff_area_format.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/snapshot_provider.h"

namespace freezeframe {
namespace {

constexpr std::uint64_t kOriginBytes = 4ull << 20;
constexpr std::uint64_t kDiffBytes = 16ull << 20;

std::unique_ptr<MemoryVolume> volume(const char* name, std::uint64_t bytes) {
  return MemoryVolume::create({.name = name, .size_bytes = bytes}).value();
}

void expect_no_zstd(const Status& status) {
  EXPECT_EQ(status.code(), ErrorCode::kUnsupported) << status.to_string();
  EXPECT_NE(status.message().find("need zstd"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("FREEZEFRAME_WITH_ZSTD=OFF"), std::string::npos)
      << status.message();
}

TEST(WithoutZstd, CreatingACompressedDiffAreaIsRefusedSayingWhy) {
  auto origin = volume("origin", kOriginBytes);
  auto diff = volume("diff", kDiffBytes);
  for (ProviderKind kind : {ProviderKind::kCopyOnWrite, ProviderKind::kRedirectOnWrite}) {
    ProviderOptions options;
    options.compress = true;
    auto created = SnapshotProvider::create(kind, *origin, *diff, options);
    ASSERT_FALSE(created.ok());
    expect_no_zstd(created.status());
  }
}

TEST(WithoutZstd, OpeningACompressedDiffAreaIsRefusedAndWritesNothing) {
  auto origin = volume("origin", kOriginBytes);
  auto diff = volume("diff", kDiffBytes);
  {
    auto created = SnapshotProvider::create(ProviderKind::kCopyOnWrite, *origin, *diff, {});
    ASSERT_TRUE(created.ok()) << created.status().to_string();
    ASSERT_TRUE((*created)->flush().ok());
  }
  // The diff area as a build with zstd would have made it: the compression flag set, the
  // superblock's checksum valid.
  std::array<std::byte, format::kSuperblockBytes> superblock{};
  ASSERT_TRUE(diff->read(0, superblock).ok());
  superblock[14] |= std::byte{format::kFlagCompressed};  // [14] flags (diff_area_format.h)
  format::reseal_superblock(superblock);
  ASSERT_TRUE(diff->write(0, superblock).ok());
  auto decoded = format::decode_superblock(superblock, kDiffBytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  ASSERT_EQ(decoded->flags & format::kFlagCompressed, format::kFlagCompressed);

  std::vector<std::byte> before(kDiffBytes);
  ASSERT_TRUE(diff->read(0, before).ok());
  auto opened = SnapshotProvider::open(*origin, *diff);
  ASSERT_FALSE(opened.ok());
  expect_no_zstd(opened.status());
  std::vector<std::byte> after(kDiffBytes);
  ASSERT_TRUE(diff->read(0, after).ok());
  EXPECT_TRUE(before == after) << "a refused open wrote to the diff volume";
}

}  // namespace
}  // namespace freezeframe

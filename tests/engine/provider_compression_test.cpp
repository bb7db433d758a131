// zstd compression of diff-area chunks: compressible chunks take less of the diff area (and
// of the diff volume, whose slot tails are discarded), incompressible ones are stored raw,
// the accounting survives a reopen, and a damaged frame is reported, not returned.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "freezeframe/file_volume.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/snapshot_provider.h"
#include "temp_path.h"

namespace freezeframe {
namespace {

using Bytes = std::vector<std::byte>;

constexpr std::uint64_t kOriginBytes = 4ull << 20;
constexpr std::uint32_t kChunk = 16384;

// The diff area is an image file, so the space its slots take on disk can be measured.
struct Rig {
  std::unique_ptr<testing::TempPath> path = std::make_unique<testing::TempPath>("diff");
  std::unique_ptr<MemoryVolume> origin;
  std::unique_ptr<FileVolume> diff;
  std::unique_ptr<SnapshotProvider> provider;
};

Rig make(ProviderKind kind, bool compress) {
  Rig rig;
  rig.origin = MemoryVolume::create({.name = "origin", .size_bytes = kOriginBytes}).value();
  rig.diff = FileVolume::create(rig.path->str(), {.size_bytes = 64ull << 20}).value();
  ProviderOptions options;
  options.chunk_bytes = kChunk;
  options.limit = DiffAreaLimit::unbounded();
  options.compress = compress;
  auto created = SnapshotProvider::create(kind, *rig.origin, *rig.diff, options);
  EXPECT_TRUE(created.ok()) << created.status().to_string();
  if (created.ok())
    rig.provider = std::move(created).value();
  return rig;
}

// Text-like content: compresses well.
Bytes compressible(std::uint64_t bytes, std::uint8_t seed) {
  Bytes data(bytes);
  for (std::uint64_t i = 0; i < bytes; ++i)
    data[i] = static_cast<std::byte>('a' + (i / 64 + seed) % 26);
  return data;
}

class ProviderCompressionTest : public ::testing::TestWithParam<ProviderKind> {};

TEST_P(ProviderCompressionTest, CompressibleChunksTakeLessSpaceAndReadBackExactly) {
  Rig plain = make(GetParam(), false);
  Rig packed = make(GetParam(), true);
  ASSERT_TRUE(plain.provider && packed.provider);
  Bytes before = compressible(kOriginBytes, 1);
  Bytes after = compressible(kOriginBytes, 7);
  Uuid ids[2];
  Rig* rigs[2] = {&plain, &packed};
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(rigs[i]->provider->write(0, before).ok());
    auto info = rigs[i]->provider->create_snapshot();
    ASSERT_TRUE(info.ok());
    ids[i] = info.value().id;
    ASSERT_TRUE(rigs[i]->provider->write(0, after).ok());
    ASSERT_TRUE(rigs[i]->provider->flush().ok());
  }
  std::uint64_t plain_used = plain.provider->usage().used_bytes;
  std::uint64_t packed_used = packed.provider->usage().used_bytes;
  EXPECT_EQ(plain_used, kOriginBytes);
  EXPECT_LT(packed_used * 8, plain_used) << "compressed " << packed_used << " of " << plain_used;
  EXPECT_LT(packed.provider->stats().diff_data_bytes_written * 8,
            plain.provider->stats().diff_data_bytes_written);
  // The image file itself holds less: slot tails are discarded (punched out).
  EXPECT_LT(packed.diff->allocated_bytes().value(), plain.diff->allocated_bytes().value());
  auto snapshot_info = packed.provider->snapshot_info(ids[1]);
  ASSERT_TRUE(snapshot_info.ok());
  if (GetParam() == ProviderKind::kCopyOnWrite) {
    EXPECT_EQ(snapshot_info.value().diff_area_bytes, packed_used);
  }

  // Both read back exactly, before and after a reopen, and the accounting is rebuilt.
  for (int round = 0; round < 2; ++round) {
    Bytes live(kOriginBytes);
    Bytes snap(kOriginBytes);
    ASSERT_TRUE(packed.provider->read(0, live).ok());
    EXPECT_TRUE(live == after);
    auto volume = packed.provider->open_snapshot(ids[1]);
    ASSERT_TRUE(volume.ok());
    ASSERT_TRUE(volume.value()->read(0, snap).ok());
    EXPECT_TRUE(snap == before);
    EXPECT_EQ(packed.provider->usage().used_bytes, packed_used);
    packed.provider.reset();
    auto reopened = SnapshotProvider::open(*packed.origin, *packed.diff);
    ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
    packed.provider = std::move(reopened).value();
  }
}

TEST_P(ProviderCompressionTest, IncompressibleChunksAreStoredRaw) {
  Rig packed = make(GetParam(), true);
  ASSERT_TRUE(packed.provider);
  Bytes noise(1 << 20);
  Random(5).fill(noise);
  ASSERT_TRUE(packed.provider->write(0, noise).ok());
  ASSERT_TRUE(packed.provider->create_snapshot().ok());
  Random(6).fill(noise);
  ASSERT_TRUE(packed.provider->write(0, noise).ok());
  EXPECT_EQ(packed.provider->usage().used_bytes, std::uint64_t{1} << 20);
  Bytes back(1 << 20);
  ASSERT_TRUE(packed.provider->read(0, back).ok());
  EXPECT_TRUE(back == noise);
}

TEST_P(ProviderCompressionTest, DamagedFrameIsReportedAsCorrupt) {
  Rig packed = make(GetParam(), true);
  ASSERT_TRUE(packed.provider);
  Bytes before = compressible(kChunk, 3);
  ASSERT_TRUE(packed.provider->write(0, before).ok());
  auto info = packed.provider->create_snapshot();
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(packed.provider->write(0, compressible(kChunk, 9)).ok());
  ASSERT_TRUE(packed.provider->flush().ok());
  // The only data slot is slot 0, at the start of the data area; find it by content: it is
  // the first non-zero 512 bytes after the journal areas.
  std::uint64_t metadata = packed.provider->usage().metadata_bytes;
  Bytes frame(512);
  ASSERT_TRUE(packed.diff->read(metadata, frame).ok());
  ASSERT_NE(frame, Bytes(512));
  frame[100] ^= std::byte{0xff};
  frame[101] ^= std::byte{0xff};
  ASSERT_TRUE(packed.diff->write(metadata, frame).ok());
  // CoW keeps the old chunk for the snapshot; RoW keeps the new one for the live volume.
  Bytes out(kChunk);
  Status status;
  if (GetParam() == ProviderKind::kCopyOnWrite) {
    auto volume = packed.provider->open_snapshot(info.value().id);
    ASSERT_TRUE(volume.ok());
    status = volume.value()->read(0, out);
  } else {
    status = packed.provider->read(0, out);
  }
  // The chunk checksum (or, were it not verified, the frame's own) catches the damage; the
  // message names the chunk and its slot either way.
  EXPECT_EQ(status.code(), ErrorCode::kCorrupt) << status.to_string();
  EXPECT_NE(status.message().find("chunk 0 "), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("in data slot 0"), std::string::npos) << status.message();
}

std::string kind_name(const ::testing::TestParamInfo<ProviderKind>& param_info) {
  return std::string(provider_kind_name(param_info.param));
}

INSTANTIATE_TEST_SUITE_P(Providers, ProviderCompressionTest,
                         ::testing::Values(ProviderKind::kCopyOnWrite,
                                           ProviderKind::kRedirectOnWrite),
                         kind_name);

}  // namespace
}  // namespace freezeframe

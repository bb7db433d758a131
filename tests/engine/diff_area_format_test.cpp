// The diff area's on-disk format: round trips, rejection of damaged and truncated bytes, field
// validation and a seeded fuzz loop over the parsers. White-box: it includes the engine's
// internal header and reseals checksums to reach the checks behind them.
#include "diff_area_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <boost/endian/conversion.hpp>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "freezeframe/random.h"
#include "seed.h"

namespace freezeframe::format {
namespace {

using ::testing::HasSubstr;

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::uint64_t kVolumeBytes = 64 * kMiB;
constexpr std::uint32_t kChunkBytes = 16 * 1024;
constexpr std::uint64_t kLogAreaBytes = 1 * kMiB;

Uuid uuid_from(std::uint8_t first) {
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<std::uint8_t>(first + i * 7);
  }
  return Uuid(bytes);
}

Superblock valid_superblock() {
  Superblock s;
  s.format_version = kFormatVersion;
  s.generation = 42;
  s.provider_kind = 1;
  s.overflow_policy = 3;
  s.flags = kFlagCompressed;
  s.chunk_bytes = kChunkBytes;
  s.sector_bytes = 512;
  s.snapshots_max = 64;
  s.limit_kind = 1;
  s.limit_value = 10;
  s.origin_bytes = 1024 * kMiB;
  s.origin_uuid = uuid_from(0x11);
  s.diff_area_uuid = uuid_from(0x80);
  s.volume_bytes = kVolumeBytes;
  s.log_area_bytes = kLogAreaBytes;
  s.log_offset = {4096, 4096 + kLogAreaBytes};
  // As SnapshotProvider::create() lays it out: the checksum table between the log areas and
  // the data area, 32 KiB for the 3965 data slots.
  s.sum_offset = 4096 + 2 * kLogAreaBytes;
  s.sum_bytes = 32768;
  s.data_offset = s.sum_offset + s.sum_bytes;
  s.data_slots = (kVolumeBytes - s.data_offset) / kChunkBytes;
  s.active_log = 1;
  s.log_start_sequence = 0x0102030405060708ull;
  s.checkpoint_blocks = 3;
  return s;
}

// A valid version 1 superblock: no checksum table.
Superblock valid_superblock_v1() {
  Superblock s = valid_superblock();
  s.format_version = kFormatVersionV1;
  s.sum_offset = 0;
  s.sum_bytes = 0;
  s.data_offset = 4096 + 2 * kLogAreaBytes;
  s.data_slots = (kVolumeBytes - s.data_offset) / kChunkBytes;
  return s;
}

std::vector<std::byte> encode(const Superblock& s) {
  std::vector<std::byte> bytes(kSuperblockBytes);
  encode_superblock(s, std::span<std::byte, kSuperblockBytes>(bytes.data(), kSuperblockBytes));
  return bytes;
}

// Recomputes the superblock checksum after a test has edited the bytes.
void reseal_superblock(std::span<std::byte> bytes) {
  const std::uint64_t sum = XXH3_64bits(bytes.data(), kSuperblockChecksumOffset);
  boost::endian::store_little_u64(
      reinterpret_cast<unsigned char*>(bytes.data() + kSuperblockChecksumOffset), sum);
}

// A decoder's refusal of damaged input: corrupt, or of a format version it does not read.
bool refused_as_damaged(const Status& status) {
  return status.code() == ErrorCode::kCorrupt || status.code() == ErrorCode::kUnsupportedVersion;
}

void expect_same(const Superblock& a, const Superblock& b) {
  EXPECT_EQ(a.format_version, b.format_version);
  EXPECT_EQ(a.generation, b.generation);
  EXPECT_EQ(a.provider_kind, b.provider_kind);
  EXPECT_EQ(a.overflow_policy, b.overflow_policy);
  EXPECT_EQ(a.flags, b.flags);
  EXPECT_EQ(a.chunk_bytes, b.chunk_bytes);
  EXPECT_EQ(a.sector_bytes, b.sector_bytes);
  EXPECT_EQ(a.snapshots_max, b.snapshots_max);
  EXPECT_EQ(a.limit_kind, b.limit_kind);
  EXPECT_EQ(a.limit_value, b.limit_value);
  EXPECT_EQ(a.origin_bytes, b.origin_bytes);
  EXPECT_EQ(a.origin_uuid, b.origin_uuid);
  EXPECT_EQ(a.diff_area_uuid, b.diff_area_uuid);
  EXPECT_EQ(a.volume_bytes, b.volume_bytes);
  EXPECT_EQ(a.log_area_bytes, b.log_area_bytes);
  EXPECT_EQ(a.log_offset, b.log_offset);
  EXPECT_EQ(a.data_offset, b.data_offset);
  EXPECT_EQ(a.data_slots, b.data_slots);
  EXPECT_EQ(a.active_log, b.active_log);
  EXPECT_EQ(a.log_start_sequence, b.log_start_sequence);
  EXPECT_EQ(a.checkpoint_blocks, b.checkpoint_blocks);
  EXPECT_EQ(a.sum_table_state, b.sum_table_state);
  EXPECT_EQ(a.sum_offset, b.sum_offset);
  EXPECT_EQ(a.sum_bytes, b.sum_bytes);
}

std::vector<Record> one_record_of_each_type() {
  std::vector<Record> records;
  Record create{.type = RecordType::kSnapshotCreate};
  create.tag = 7;
  create.id = uuid_from(0x20);
  create.set_id = uuid_from(0x40);
  create.created_ns = -1234567890123;
  create.attributes = 0xdeadbeef;
  records.push_back(create);
  records.push_back(Record{.type = RecordType::kSnapshotDelete, .tag = 8});
  records.push_back(Record{.type = RecordType::kSnapshotInvalidate, .tag = 9, .reason = 2});
  Record map_add{.type = RecordType::kMapAdd, .tag = 10};
  map_add.chunk = 0x0123456789abcdefull;
  map_add.slot = kOriginSlot - 1;
  map_add.stored_bytes = 9000;
  records.push_back(map_add);
  records.push_back(Record{.type = RecordType::kRevert, .tag = 11});
  records.push_back(Record{.type = RecordType::kRevertDone, .tag = 12});
  records.push_back(Record{.type = RecordType::kMapToOrigin, .tag = 13, .chunk = 99});
  Record limit{.type = RecordType::kLimit};
  limit.limit_kind = 0;
  limit.limit_value = 0xfedcba9876543210ull;
  limit.policy = 2;
  records.push_back(limit);
  Record state{.type = RecordType::kState};
  state.next_tag = 1000;
  state.revert_tag = 11;
  records.push_back(state);
  records.push_back(Record{.type = RecordType::kMapRemove, .tag = 14, .chunk = 1ull << 40});
  Record generation{.type = RecordType::kCbtGeneration};
  generation.cbt_epoch = 0x0123456789abcdefull;
  generation.cbt_generation = 42;
  generation.cbt_retained = 4;
  records.push_back(generation);
  Record mark{.type = RecordType::kCbtMark, .chunk = 1ull << 33};
  mark.chunk_count = 17;
  records.push_back(mark);
  Record snapshot{.type = RecordType::kCbtSnapshot, .tag = 15};
  snapshot.cbt_epoch = 3;
  snapshot.cbt_generation = 43;
  records.push_back(snapshot);
  return records;
}

std::vector<std::byte> encode_records(const std::vector<Record>& records) {
  std::vector<std::byte> payload;
  for (const Record& r : records) {
    append_record(r, payload);
  }
  return payload;
}

LogBlockHeader valid_header(std::uint32_t payload_bytes) {
  LogBlockHeader h;
  h.sequence = 1001;
  h.group_first_sequence = 1000;
  h.group_block_count = 3;
  h.payload_bytes = payload_bytes;
  h.diff_area_uuid = uuid_from(0x80);
  return h;
}

std::vector<std::byte> encode_block(const LogBlockHeader& h, std::span<const std::byte> payload) {
  std::vector<std::byte> block(kLogBlockBytes);
  encode_log_block(h, payload, std::span<std::byte, kLogBlockBytes>(block.data(), kLogBlockBytes));
  return block;
}

std::vector<std::byte> encode_block_v1(const LogBlockHeader& h,
                                       std::span<const std::byte> payload) {
  std::vector<std::byte> block(kLogBlockBytes);
  encode_log_block_v1(h, payload,
                      std::span<std::byte, kLogBlockBytes>(block.data(), kLogBlockBytes));
  return block;
}

std::uint16_t load_u16(std::span<const std::byte> bytes, std::size_t offset) {
  return boost::endian::load_little_u16(
      reinterpret_cast<const unsigned char*>(bytes.data() + offset));
}
std::uint32_t load_u32(std::span<const std::byte> bytes, std::size_t offset) {
  return boost::endian::load_little_u32(
      reinterpret_cast<const unsigned char*>(bytes.data() + offset));
}
std::uint64_t load_u64(std::span<const std::byte> bytes, std::size_t offset) {
  return boost::endian::load_little_u64(
      reinterpret_cast<const unsigned char*>(bytes.data() + offset));
}
void store_u16(std::span<std::byte> bytes, std::size_t offset, std::uint16_t value) {
  boost::endian::store_little_u16(reinterpret_cast<unsigned char*>(bytes.data() + offset), value);
}
void store_u32(std::span<std::byte> bytes, std::size_t offset, std::uint32_t value) {
  boost::endian::store_little_u32(reinterpret_cast<unsigned char*>(bytes.data() + offset), value);
}
void store_u64(std::span<std::byte> bytes, std::size_t offset, std::uint64_t value) {
  boost::endian::store_little_u64(reinterpret_cast<unsigned char*>(bytes.data() + offset), value);
}

// Recomputes a version 1 log block's checksum (header [0, 48) then the payload_bytes it
// claims, capped to the block) after a test has edited the bytes.
void reseal_block_v1(std::span<std::byte> block) {
  const std::size_t payload_bytes =
      std::min<std::size_t>(load_u32(block, 28), kLogBlockPayloadBytesMaxV1);
  std::vector<std::byte> gathered(block.begin(), block.begin() + 48);
  gathered.insert(gathered.end(), block.begin() + kLogBlockHeaderBytesV1,
                  block.begin() + kLogBlockHeaderBytesV1 + payload_bytes);
  store_u64(block, 48, XXH3_64bits(gathered.data(), gathered.size()));
}

// Version 2 sector layout, written out here from the format's documentation rather than taken
// from the codec: content [0, 496), sequence [496, 504), XXH3-64 seeded with the sector index
// over [0, 504) at [504, 512).
constexpr std::size_t kSectorSequence = 496;
constexpr std::size_t kSectorChecksum = 504;
static_assert(kLogSectorBytes == 512 && kLogSectorsPerBlock == 8);
static_assert(kLogSectorContentBytes == kSectorSequence);
static_assert(kLogBlockPayloadBytesMax == 8 * 496 - 48);

std::span<std::byte> sector_of(std::span<std::byte> block, std::size_t index) {
  return block.subspan(index * kLogSectorBytes, kLogSectorBytes);
}

// Offset in the block of content byte `at` (header and payload bytes run across the sectors'
// content, skipping their trailers).
std::size_t content_offset(std::size_t at) {
  return at / kLogSectorContentBytes * kLogSectorBytes + at % kLogSectorContentBytes;
}

// Recomputes sector `index`'s checksum after a test has edited it.
void reseal_sector(std::span<std::byte> block, std::size_t index) {
  const std::span<std::byte> sector = sector_of(block, index);
  store_u64(sector, kSectorChecksum, XXH3_64bits_withSeed(sector.data(), kSectorChecksum, index));
}

// Recomputes every sector's checksum of a version 2 block after a test has edited the
// bytes; with `sync_sequences`, first sets each sector's sequence to the header's (content
// bytes [8, 16)), so that edits of the header sequence reach the checks behind it.
void reseal_block(std::span<std::byte> block, bool sync_sequences = true) {
  const std::uint64_t sequence = load_u64(block, 8);
  for (std::size_t i = 0; i < kLogSectorsPerBlock; ++i) {
    if (sync_sequences)
      store_u64(sector_of(block, i), kSectorSequence, sequence);
    reseal_sector(block, i);
  }
}

// --- Superblock ---------------------------------------------------------------------------

TEST(DiffAreaSuperblock, RoundTripsEveryField) {
  for (std::uint8_t state : {kSumTableValid, kSumTableRebuilding}) {
    SCOPED_TRACE(static_cast<int>(state));
    Superblock s = valid_superblock();
    s.sum_table_state = state;
    const auto bytes = encode(s);
    auto decoded = decode_superblock(bytes, kVolumeBytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
    expect_same(s, *decoded);
  }
}

TEST(DiffAreaSuperblock, Version1RoundTripsWithoutAChecksumTable) {
  const Superblock s = valid_superblock_v1();
  const auto bytes = encode(s);
  // Version 1 has no table fields: everything after active_log is reserved.
  for (std::size_t i = 145; i < kSuperblockChecksumOffset; ++i)
    ASSERT_EQ(bytes[i], std::byte{0}) << "reserved byte " << i;
  auto decoded = decode_superblock(bytes, kVolumeBytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->format_version, kFormatVersionV1);
  expect_same(s, *decoded);
}

TEST(DiffAreaSuperblock, Version1ReservedBytesWhereVersion2HasTheTableMustBeZero) {
  // Version 2 table fields in a version 1 superblock are reserved bytes there, not a table.
  for (std::size_t offset : {std::size_t{145}, std::size_t{152}, std::size_t{167}}) {
    SCOPED_TRACE(offset);
    auto bytes = encode(valid_superblock_v1());
    bytes[offset] = std::byte{1};
    reseal_superblock(bytes);
    auto decoded = decode_superblock(bytes, kVolumeBytes);
    ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << decoded.status().to_string();
    EXPECT_THAT(decoded.status().message(),
                HasSubstr("reserved byte " + std::to_string(offset) + " is not zero"));
  }
}

TEST(DiffAreaSuperblock, Version2ReservedBytesMustBeZero) {
  for (std::size_t offset : {std::size_t{146}, std::size_t{151}, std::size_t{168}, std::size_t{300},
                             kSuperblockChecksumOffset - 1}) {
    SCOPED_TRACE(offset);
    auto bytes = encode(valid_superblock());
    bytes[offset] = std::byte{0x80};
    reseal_superblock(bytes);
    auto decoded = decode_superblock(bytes, kVolumeBytes);
    ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << decoded.status().to_string();
    EXPECT_THAT(decoded.status().message(), HasSubstr("diff-area superblock: reserved byte " +
                                                      std::to_string(offset) + " is not zero"));
  }
}

TEST(DiffAreaSuperblock, RoundTripsSectorSize4096AndEmptyDataArea) {
  Superblock s = valid_superblock();
  s.sector_bytes = 4096;
  s.data_slots = 0;
  s.flags = 0;
  s.provider_kind = 2;
  s.limit_kind = 2;
  s.limit_value = 0;
  s.active_log = 0;
  s.checkpoint_blocks = static_cast<std::uint32_t>(kLogAreaBytes / kLogBlockBytes);
  s.sum_bytes = sum_table_bytes(0);
  auto decoded = decode_superblock(encode(s), kVolumeBytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  expect_same(s, *decoded);
}

TEST(DiffAreaSuperblock, EncodingHasMagicVersionReservedZeroAndChecksumAt504) {
  Superblock s = valid_superblock();
  s.sum_table_state = kSumTableRebuilding;
  const auto bytes = encode(s);
  EXPECT_EQ(std::memcmp(bytes.data(), kSuperblockMagic.data(), kSuperblockMagic.size()), 0);
  EXPECT_EQ(load_u32(bytes, 8), kFormatVersion);
  EXPECT_EQ(kFormatVersion, 3u);
  // The version 2 table fields at their documented offsets.
  EXPECT_EQ(bytes[145], std::byte{kSumTableRebuilding});
  EXPECT_EQ(load_u64(bytes, 152), s.sum_offset);
  EXPECT_EQ(load_u64(bytes, 160), s.sum_bytes);
  for (std::size_t i = 146; i < 152; ++i)
    ASSERT_EQ(bytes[i], std::byte{0}) << "reserved byte " << i;
  for (std::size_t i = 168; i < kSuperblockChecksumOffset; ++i) {
    ASSERT_EQ(bytes[i], std::byte{0}) << "reserved byte " << i;
  }
  const std::uint64_t sum = XXH3_64bits(bytes.data(), kSuperblockChecksumOffset);
  EXPECT_EQ(boost::endian::load_little_u64(
                reinterpret_cast<const unsigned char*>(bytes.data() + kSuperblockChecksumOffset)),
            sum);
}

TEST(DiffAreaSuperblock, ReadsOnlyTheFirst512BytesOfALargerSpan) {
  for (const Superblock& s : {valid_superblock(), valid_superblock_v1()}) {
    SCOPED_TRACE(s.format_version);
    auto bytes = encode(s);
    bytes.resize(4096, std::byte{0xa5});
    auto decoded = decode_superblock(bytes, kVolumeBytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
    expect_same(s, *decoded);
  }
}

TEST(DiffAreaSuperblock, EverySingleBitFlipIsRejected) {
  for (const Superblock& s : {valid_superblock(), valid_superblock_v1()}) {
    SCOPED_TRACE(s.format_version);
    const auto good = encode(s);
    for (std::size_t bit = 0; bit < kSuperblockBytes * 8; ++bit) {
      auto bytes = good;
      bytes[bit / 8] ^= std::byte{static_cast<unsigned char>(1u << (bit % 8))};
      auto decoded = decode_superblock(bytes, kVolumeBytes);
      ASSERT_FALSE(decoded.ok()) << "bit " << bit << " flipped was accepted";
      // Past the magic, the checksum is judged first: a flip anywhere, the version field
      // included, is damage, never a newer version.
      ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt)
          << "bit " << bit << ": " << decoded.status().to_string();
    }
  }
}

TEST(DiffAreaSuperblock, TruncatedSpansAreRejected) {
  const auto good = encode(valid_superblock());
  for (std::size_t size = 0; size < kSuperblockBytes; ++size) {
    // An exact-size copy, so a read past the end is caught by AddressSanitizer.
    std::vector<std::byte> bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(size));
    auto decoded = decode_superblock(bytes, kVolumeBytes);
    ASSERT_FALSE(decoded.ok()) << "size " << size;
    ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << "size " << size;
  }
}

TEST(DiffAreaSuperblock, WrongMagicIsNotAFreezeframeDiffArea) {
  auto bytes = encode(valid_superblock());
  bytes[0] = std::byte{'X'};
  auto decoded = decode_superblock(bytes, kVolumeBytes);
  ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(decoded.status().message(), HasSubstr("not a freezeframe diff area"));
}

TEST(DiffAreaSuperblock, NewerVersionIsUnsupportedAndNamesBothVersions) {
  Superblock s = valid_superblock();
  s.format_version = 7;
  auto bytes = encode(s);
  auto decoded = decode_superblock(bytes, kVolumeBytes);
  ASSERT_EQ(decoded.status().code(), ErrorCode::kUnsupportedVersion)
      << decoded.status().to_string();
  EXPECT_EQ(decoded.status().message(),
            "diff area format version 7 is newer than this freezeframe supports (3)");

  // The checksum sits at the same offset in every version and is judged first: a newer
  // superblock whose checksum fails is damage.
  bytes[300] ^= std::byte{1};
  decoded = decode_superblock(bytes, kVolumeBytes);
  EXPECT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << decoded.status().to_string();
  EXPECT_THAT(decoded.status().message(), HasSubstr("checksum"));
}

TEST(DiffAreaSuperblock, ADamagedVersionFieldIsCorruptNotNewer) {
  // A valid version 3 superblock whose version field alone is damaged to read "newer": the
  // checksum no longer matches, so it is kCorrupt, never kUnsupportedVersion.
  for (std::uint32_t version : {4u, 7u, 0x100002u, 0xffffffffu, 0u}) {
    SCOPED_TRACE(version);
    auto bytes = encode(valid_superblock());
    store_u32(bytes, 8, version);
    auto decoded = decode_superblock(bytes, kVolumeBytes);
    ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << decoded.status().to_string();
    EXPECT_THAT(decoded.status().message(), HasSubstr("diff-area superblock: checksum"));
    EXPECT_THAT(decoded.status().message(),
                HasSubstr("format_version reads " + std::to_string(version)));
    // The same version with a matching checksum is judged as a version.
    reseal_superblock(bytes);
    EXPECT_EQ(decode_superblock(bytes, kVolumeBytes).status().code(),
              version == 0 ? ErrorCode::kCorrupt : ErrorCode::kUnsupportedVersion);
  }
}

TEST(DiffAreaSuperblock, VersionZeroIsCorrupt) {
  Superblock s = valid_superblock();
  s.format_version = 0;
  auto decoded = decode_superblock(encode(s), kVolumeBytes);
  ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(decoded.status().message(), HasSubstr("format_version 0"));
}

TEST(DiffAreaSuperblock, ChecksumMismatchIsCorrupt) {
  auto bytes = encode(valid_superblock());
  bytes[200] ^= std::byte{0x40};
  auto decoded = decode_superblock(bytes, kVolumeBytes);
  ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(decoded.status().message(), HasSubstr("checksum"));
}

struct FieldCase {
  std::string name;
  std::function<void(Superblock&)> mutate;
  std::string expected_message_part;
};

std::vector<FieldCase> field_cases() {
  const std::uint64_t log0 = 4096;
  const std::uint64_t log1 = 4096 + kLogAreaBytes;
  return {
      {"provider kind", [](Superblock& s) { s.provider_kind = 3; }, "provider_kind 3"},
      {"provider kind zero", [](Superblock& s) { s.provider_kind = 0; }, "provider_kind 0"},
      {"policy zero", [](Superblock& s) { s.overflow_policy = 0; }, "overflow_policy 0"},
      {"policy four", [](Superblock& s) { s.overflow_policy = 4; }, "overflow_policy 4"},
      {"limit kind", [](Superblock& s) { s.limit_kind = 3; }, "limit_kind 3"},
      {"unknown flag", [](Superblock& s) { s.flags = 0x03; }, "flags 0x3 has unknown bits 0x2"},
      {"chunk not power of two", [](Superblock& s) { s.chunk_bytes = 12288; },
       "diff-area superblock: chunk_bytes 12288 is not a power of two in [4096, 1048576]"},
      {"chunk too small", [](Superblock& s) { s.chunk_bytes = 2048; }, "chunk_bytes 2048"},
      {"chunk too large", [](Superblock& s) { s.chunk_bytes = 2 << 20; }, "chunk_bytes 2097152"},
      {"chunk zero", [](Superblock& s) { s.chunk_bytes = 0; }, "chunk_bytes 0"},
      {"sector size", [](Superblock& s) { s.sector_bytes = 1024; }, "sector_bytes 1024"},
      {"sector size zero", [](Superblock& s) { s.sector_bytes = 0; }, "sector_bytes 0"},
      {"snapshots_max zero", [](Superblock& s) { s.snapshots_max = 0; }, "snapshots_max 0"},
      {"snapshots_max 513", [](Superblock& s) { s.snapshots_max = 513; }, "snapshots_max 513"},
      {"log areas overlap", [=](Superblock& s) { s.log_offset[1] = log0 + 4096; },
       "log area 0 [4096, 1052672) overlaps log area 1"},
      {"log area over superblock", [](Superblock& s) { s.log_offset[0] = 0; },
       "superblock [0, 512) overlaps log area 0"},
      {"data over log area", [=](Superblock& s) { s.data_offset = log1; },
       "log area 1 [1052672, 2101248) overlaps data area"},
      {"data beyond volume_bytes", [](Superblock& s) { s.data_slots += 1; },
       "data_slots 3966 of 16384 bytes runs past volume_bytes 67108864"},
      {"log beyond volume_bytes", [](Superblock& s) { s.log_offset[1] = kVolumeBytes - 4096; },
       "log_offset[1] 67104768 with log_area_bytes 1048576 runs past volume_bytes"},
      {"recorded volume too small", [](Superblock& s) { s.volume_bytes = 256; },
       "volume_bytes 256 cannot hold"},
      {"log offset misaligned", [](Superblock& s) { s.log_offset[0] = 4096 + 100; },
       "log_offset[0] 4196 is not a multiple of sector_bytes 512"},
      {"log offset misaligned for 4096 sectors",
       [](Superblock& s) {
         s.sector_bytes = 4096;
         s.log_offset[0] = 512;
       },
       "log_offset[0] 512 is not a multiple of sector_bytes 4096"},
      {"data offset misaligned", [](Superblock& s) { s.data_offset += 1; },
       "data_offset 2134017 is not a multiple of sector_bytes 512"},
      {"log area size not a block multiple", [](Superblock& s) { s.log_area_bytes -= 512; },
       "log_area_bytes 1048064 is not a non-zero multiple of 4096"},
      {"log area size zero", [](Superblock& s) { s.log_area_bytes = 0; }, "log_area_bytes 0"},
      {"active log", [](Superblock& s) { s.active_log = 2; }, "active_log 2"},
      {"checkpoint too long", [](Superblock& s) { s.checkpoint_blocks = 257; },
       "checkpoint_blocks 257 exceeds the 256 blocks"},
      {"huge data slots", [](Superblock& s) { s.data_slots = ~0ull; }, "data_slots"},
      {"huge log offset", [](Superblock& s) { s.log_offset[0] = ~0ull - 4095; }, "log_offset[0]"},
      {"huge log area", [](Superblock& s) { s.log_area_bytes = ~0ull - 4095; }, "log_area_bytes"},
      {"huge data offset", [](Superblock& s) { s.data_offset = ~0ull - 511; }, "data_offset"},
      // Version 2: the chunk checksum table.
      {"checksum table too small", [](Superblock& s) { s.sum_bytes = 28672; },
       "checksum table of 28672 bytes is too small for 3965 data slots"},
      {"checksum table missing", [](Superblock& s) { s.sum_bytes = 0; },
       "checksum table of 0 bytes is too small for 3965 data slots"},
      {"checksum table state", [](Superblock& s) { s.sum_table_state = 2; },
       "sum_table_state 2 is not 0 or 1"},
      {"checksum table over data area", [](Superblock& s) { s.sum_offset += 4096; },
       "checksum table [2105344, 2138112) overlaps data area [2134016"},
      {"checksum table over log area", [=](Superblock& s) { s.sum_offset = log1; },
       "log area 1 [1052672, 2101248) overlaps checksum table [1052672, 1085440)"},
      {"checksum table misaligned", [](Superblock& s) { s.sum_offset += 8; },
       "checksum table at sum_offset 2101256 of 32768 bytes is not sector-aligned"},
      {"checksum table beyond volume_bytes",
       [](Superblock& s) { s.sum_offset = kVolumeBytes - 4096; },
       "checksum table at sum_offset 67104768 of 32768 bytes is not sector-aligned or runs "
       "past volume_bytes 67108864"},
      {"huge checksum table", [](Superblock& s) { s.sum_bytes = ~0ull - 4095; },
       "checksum table at sum_offset"},
  };
}

TEST(DiffAreaSuperblock, EachFieldIsValidatedWithAMessageNamingIt) {
  for (const FieldCase& c : field_cases()) {
    SCOPED_TRACE(c.name);
    Superblock s = valid_superblock();
    c.mutate(s);
    auto decoded = decode_superblock(encode(s), kVolumeBytes);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), ErrorCode::kCorrupt);
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.expected_message_part));
    EXPECT_THAT(decoded.status().message(), HasSubstr("diff-area superblock"));
  }
}

TEST(DiffAreaSuperblock, TruncatedVolumeIsCorrupt) {
  const auto bytes = encode(valid_superblock());
  auto decoded = decode_superblock(bytes, kVolumeBytes - kChunkBytes);
  ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(decoded.status().message(), HasSubstr("runs past the diff volume's size 67092480"));
  EXPECT_FALSE(decode_superblock(bytes, 0).ok());
  // A volume that grew after formatting still opens.
  EXPECT_TRUE(decode_superblock(bytes, 2 * kVolumeBytes).ok());
}

// --- Records ------------------------------------------------------------------------------

TEST(DiffAreaRecords, EachTypeRoundTrips) {
  for (const Record& record : one_record_of_each_type()) {
    SCOPED_TRACE(static_cast<int>(record.type));
    std::vector<std::byte> payload;
    append_record(record, payload);
    EXPECT_EQ(payload.size(), encoded_record_bytes(record.type));
    EXPECT_EQ(static_cast<std::uint8_t>(payload[0]), static_cast<std::uint8_t>(record.type));
    EXPECT_EQ(static_cast<std::size_t>(payload[1]), payload.size() - 2);
    auto decoded = decode_records(payload);
    ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
    ASSERT_EQ(decoded->size(), 1u);
    EXPECT_EQ(decoded->front(), record);
  }
}

TEST(DiffAreaRecords, ASequenceRoundTrips) {
  const auto records = one_record_of_each_type();
  auto decoded = decode_records(encode_records(records));
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, records);
}

TEST(DiffAreaRecords, EmptyPayloadHasNoRecords) {
  auto decoded = decode_records({});
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->empty());
}

TEST(DiffAreaRecords, UnknownTypeHasNoEncodedSize) {
  EXPECT_EQ(encoded_record_bytes(static_cast<RecordType>(0)), 0u);
  EXPECT_EQ(encoded_record_bytes(static_cast<RecordType>(14)), 0u);
  EXPECT_EQ(encoded_record_bytes(static_cast<RecordType>(255)), 0u);
}

TEST(DiffAreaRecords, UnknownTypeIsCorrupt) {
  for (int type : {0, 14, 77, 255}) {
    auto payload = encode_records(one_record_of_each_type());
    const std::size_t second = encoded_record_bytes(RecordType::kSnapshotCreate);
    payload[second] = std::byte{static_cast<unsigned char>(type)};
    auto decoded = decode_records(payload);
    ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << type;
    EXPECT_THAT(decoded.status().message(),
                HasSubstr("at payload offset " + std::to_string(second) + ": type " +
                          std::to_string(type) + " is unknown"));
  }
}

TEST(DiffAreaRecords, LengthNotMatchingTheTypeIsCorrupt) {
  std::vector<std::byte> payload;
  append_record(Record{.type = RecordType::kSnapshotDelete, .tag = 1}, payload);
  payload[1] = std::byte{5};
  payload.push_back(std::byte{0});
  auto decoded = decode_records(payload);
  ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(decoded.status().message(), HasSubstr("body length 5"));
}

TEST(DiffAreaRecords, TruncatedRecordIsCorruptAndRecordBoundariesAreNot) {
  const auto records = one_record_of_each_type();
  const auto payload = encode_records(records);
  std::vector<std::size_t> boundaries = {0};
  for (const Record& r : records) {
    boundaries.push_back(boundaries.back() + encoded_record_bytes(r.type));
  }
  for (std::size_t size = 0; size <= payload.size(); ++size) {
    std::vector<std::byte> prefix(payload.begin(), payload.begin() + static_cast<long>(size));
    auto decoded = decode_records(prefix);
    const auto boundary = std::find(boundaries.begin(), boundaries.end(), size);
    if (boundary != boundaries.end()) {
      ASSERT_TRUE(decoded.ok()) << "size " << size << ": " << decoded.status().to_string();
      EXPECT_EQ(decoded->size(), static_cast<std::size_t>(boundary - boundaries.begin()));
    } else {
      ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << "size " << size;
    }
  }
}

TEST(DiffAreaRecords, GarbageIsCorruptOrDecodesWithoutOverrun) {
  testing::TracedRandom random(0x5eed0001);
  int rejected = 0;
  for (int i = 0; i < 1000; ++i) {
    std::vector<std::byte> garbage(random.uniform_range(1, 300));
    random.fill(garbage);
    auto decoded = decode_records(garbage);
    if (!decoded.ok()) {
      ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt);
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 900);
}

// --- Log blocks, version 2 ----------------------------------------------------------------

TEST(DiffAreaLogBlock, RoundTripsHeaderAndPayload) {
  // The records four times over: long enough to run from sector 0's content into sector 1's.
  const auto one = one_record_of_each_type();
  std::vector<Record> expected;
  for (int i = 0; i < 4; ++i)
    expected.insert(expected.end(), one.begin(), one.end());
  const auto payload = encode_records(expected);
  ASSERT_GT(kLogBlockHeaderBytes + payload.size(), kLogSectorContentBytes);
  const auto header = valid_header(static_cast<std::uint32_t>(payload.size()));
  const auto block = encode_block(header, payload);
  auto decoded = decode_log_block(block);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->header.sequence, header.sequence);
  EXPECT_EQ(decoded->header.group_first_sequence, header.group_first_sequence);
  EXPECT_EQ(decoded->header.group_block_count, header.group_block_count);
  EXPECT_EQ(decoded->header.payload_bytes, header.payload_bytes);
  EXPECT_EQ(decoded->header.diff_area_uuid, header.diff_area_uuid);
  EXPECT_EQ(decoded->payload, payload);
  auto records = decode_records(decoded->payload);
  ASSERT_TRUE(records.ok()) << records.status().to_string();
  EXPECT_EQ(*records, expected);
}

TEST(DiffAreaLogBlock, RoundTripsEmptyAndFullPayloads) {
  for (std::size_t size : {std::size_t{0}, kLogBlockPayloadBytesMax}) {
    SCOPED_TRACE(size);
    std::vector<std::byte> payload(size);
    for (std::size_t i = 0; i < size; ++i)
      payload[i] = std::byte{static_cast<unsigned char>(i * 13 + 1)};
    auto header = valid_header(static_cast<std::uint32_t>(size));
    header.sequence = header.group_first_sequence = ~0ull - 1;
    header.group_block_count = 1;
    const auto block = encode_block(header, payload);
    auto decoded = decode_log_block(block);
    ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
    EXPECT_EQ(decoded->payload, payload);
    EXPECT_EQ(decoded->header.sequence, header.sequence);
  }
}

TEST(DiffAreaLogBlock, EncodingMatchesTheDocumentedHeader) {
  // 1000 payload bytes: content [48, 1048) runs through sectors 0, 1 and into 2.
  std::vector<std::byte> payload(1000);
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = std::byte{static_cast<unsigned char>(i % 251 + 1)};
  const LogBlockHeader header = valid_header(1000);
  const auto block = encode_block(header, payload);
  EXPECT_EQ(std::memcmp(block.data(), kLogBlockMagic.data(), 4), 0);
  EXPECT_EQ(load_u16(block, 4), 2u);  // version
  EXPECT_EQ(load_u16(block, 6), 0u);  // reserved
  EXPECT_EQ(load_u64(block, 8), header.sequence);
  EXPECT_EQ(load_u64(block, 16), header.group_first_sequence);
  EXPECT_EQ(load_u32(block, 24), 3u);     // group_block_count
  EXPECT_EQ(load_u32(block, 28), 1000u);  // payload_bytes
  EXPECT_EQ(std::memcmp(block.data() + 32, header.diff_area_uuid.bytes().data(), 16), 0);
  // The payload follows the header through the sectors' content bytes, then zeros.
  for (std::size_t at = kLogBlockHeaderBytes; at < kLogSectorsPerBlock * kLogSectorContentBytes;
       ++at) {
    const std::byte expected = at < kLogBlockHeaderBytes + payload.size()
                                   ? payload[at - kLogBlockHeaderBytes]
                                   : std::byte{0};
    ASSERT_EQ(block[content_offset(at)], expected) << "content byte " << at;
  }
  // Every sector ends in the block's sequence and its own checksum, seeded with its index.
  for (std::size_t i = 0; i < kLogSectorsPerBlock; ++i) {
    const auto sector = std::span<const std::byte>(block).subspan(i * 512, 512);
    EXPECT_EQ(load_u64(sector, 496), header.sequence) << "sector " << i;
    EXPECT_EQ(load_u64(sector, 504), XXH3_64bits_withSeed(sector.data(), 504, i)) << "sector " << i;
  }
  auto resealed = block;
  reseal_block(resealed);
  EXPECT_EQ(resealed, block);
}

TEST(DiffAreaFormat, TheCodecsResealingMatchesTheDocumentedChecksums) {
  // The fuzz targets reseal with the codec's functions; these tests reseal with helpers written
  // from the documentation. Both must give the same bytes after the same damage.
  std::array<std::byte, kSuperblockBytes> superblock{};
  encode_superblock(valid_superblock(), superblock);
  const std::vector<std::byte> payload(300, std::byte{0x5a});
  const LogBlockHeader header{.sequence = 9,
                              .group_first_sequence = 9,
                              .group_block_count = 1,
                              .payload_bytes = 300,
                              .diff_area_uuid = uuid_from(3)};
  std::array<std::byte, kLogBlockBytes> block{};
  encode_log_block(header, payload, block);
  std::array<std::byte, kLogBlockBytes> block_v1{};
  encode_log_block_v1(header, payload, block_v1);
  for (std::size_t at : {4u, 9u, 20u, 100u, 300u, 499u}) {
    auto a = superblock;
    a[at] ^= std::byte{0x11};
    auto b = a;
    reseal_superblock(std::span<std::byte, kSuperblockBytes>(a));
    reseal_superblock(std::span<std::byte>(b));
    EXPECT_EQ(a, b) << "superblock byte " << at;
  }
  for (std::size_t at : {8u, 20u, 60u, 700u, 1500u, 4000u}) {
    auto a = block;
    a[at] ^= std::byte{0x11};
    auto b = a;
    format::reseal_log_block(std::span<std::byte, kLogBlockBytes>(a));
    reseal_block(b);
    EXPECT_EQ(a, b) << "log block byte " << at;
    auto c = block_v1;
    c[at] ^= std::byte{0x11};
    auto d = c;
    format::reseal_log_block_v1(std::span<std::byte, kLogBlockBytes>(c));
    reseal_block_v1(d);
    EXPECT_EQ(c, d) << "version 1 log block byte " << at;
  }
}

TEST(DiffAreaLogBlock, EverySingleBitFlipIsRejected) {
  for (std::size_t payload_size : {std::size_t{0}, std::size_t{200}, kLogBlockPayloadBytesMax}) {
    SCOPED_TRACE(payload_size);
    std::vector<std::byte> payload(payload_size);
    for (std::size_t i = 0; i < payload.size(); ++i) {
      payload[i] = std::byte{static_cast<unsigned char>(i * 31 + 7)};
    }
    const auto good = encode_block(valid_header(static_cast<std::uint32_t>(payload_size)), payload);
    ASSERT_TRUE(decode_log_block(good).ok());
    for (std::size_t bit = 0; bit < kLogBlockBytes * 8; ++bit) {
      auto block = good;
      block[bit / 8] ^= std::byte{static_cast<unsigned char>(1u << (bit % 8))};
      auto decoded = decode_log_block(block);
      ASSERT_FALSE(decoded.ok()) << "bit " << bit << " flipped was accepted";
      ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt)
          << "bit " << bit << ": " << decoded.status().to_string();
    }
  }
}

TEST(DiffAreaLogBlock, EveryByteFlipDamagesExactlyItsSector) {
  const std::vector<std::byte> payload(300, std::byte{0x3c});
  const auto good = encode_block(valid_header(300), payload);
  for (const LogSectorState& state : inspect_log_sectors(good)) {
    ASSERT_EQ(state.kind, LogSector::kIntact);
    ASSERT_EQ(state.sequence, 1001u);
  }
  for (std::size_t at = 0; at < kLogBlockBytes; ++at) {
    for (unsigned char flip : {0x01, 0x80, 0xff}) {
      auto block = good;
      block[at] ^= std::byte{flip};
      const std::size_t damaged = at / kLogSectorBytes;
      const auto sectors = inspect_log_sectors(block);
      for (std::size_t i = 0; i < kLogSectorsPerBlock; ++i) {
        ASSERT_EQ(sectors[i].kind, i == damaged ? LogSector::kDamaged : LogSector::kIntact)
            << "byte " << at << " ^ " << int{flip} << ", sector " << i;
      }
      auto decoded = decode_log_block(block);
      ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << "byte " << at;
      ASSERT_THAT(decoded.status().message(),
                  HasSubstr("sector " + std::to_string(damaged) + " fails its checksum"))
          << "byte " << at;
    }
  }
}

TEST(DiffAreaLogBlock, ATornBlockHasOnlyWholeOldOrNewSectors) {
  // A torn write leaves each sector whole: old (never written, or an older block) or new.
  const auto new_block = encode_block(valid_header(700), std::vector<std::byte>(700, std::byte{7}));
  LogBlockHeader old_header = valid_header(20);
  old_header.sequence = 40;
  old_header.group_first_sequence = 40;
  old_header.group_block_count = 1;
  const auto old_block = encode_block(old_header, std::vector<std::byte>(20, std::byte{9}));
  const std::vector<std::byte> blank(kLogBlockBytes);
  for (const auto* old : {&old_block, &blank}) {
    const bool old_blank = old == &blank;
    SCOPED_TRACE(old_blank ? "old sectors never written" : "old sectors of sequence 40");
    for (unsigned mask = 0; mask < (1u << kLogSectorsPerBlock); ++mask) {
      std::vector<std::byte> block = *old;
      for (std::size_t i = 0; i < kLogSectorsPerBlock; ++i) {
        if (mask & (1u << i))
          std::copy_n(new_block.begin() + static_cast<std::ptrdiff_t>(i * kLogSectorBytes),
                      kLogSectorBytes, block.begin() + static_cast<std::ptrdiff_t>(i * 512));
      }
      const auto sectors = inspect_log_sectors(block);
      for (std::size_t i = 0; i < kLogSectorsPerBlock; ++i) {
        const bool is_new = (mask & (1u << i)) != 0;
        if (is_new || !old_blank) {
          ASSERT_EQ(sectors[i].kind, LogSector::kIntact) << "mask " << mask << " sector " << i;
          ASSERT_EQ(sectors[i].sequence, is_new ? 1001u : 40u) << "mask " << mask;
        } else {
          ASSERT_EQ(sectors[i].kind, LogSector::kBlank) << "mask " << mask << " sector " << i;
        }
      }
      // Only a whole block decodes; a torn one is refused, as corrupt.
      auto decoded = decode_log_block(block);
      const bool whole = mask == 0xff || (mask == 0 && !old_blank);
      ASSERT_EQ(decoded.ok(), whole) << "mask " << mask;
      if (!whole) {
        ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << "mask " << mask;
      }
    }
  }
}

TEST(DiffAreaLogBlock, TruncatedSpansAreRejected) {
  const auto good = encode_block(valid_header(0), {});
  for (std::size_t size = 0; size < kLogBlockBytes; ++size) {
    std::vector<std::byte> block(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(size));
    auto decoded = decode_log_block(block);
    ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << "size " << size;
  }
}

TEST(DiffAreaLogBlock, NewerVersionIsUnsupportedAndNamesBothVersions) {
  auto block = encode_block(valid_header(0), {});
  store_u16(block, 4, 3);
  reseal_block(block);
  auto decoded = decode_log_block(block);
  ASSERT_EQ(decoded.status().code(), ErrorCode::kUnsupportedVersion)
      << decoded.status().to_string();
  EXPECT_THAT(decoded.status().message(), HasSubstr("version 3"));
  EXPECT_THAT(decoded.status().message(), HasSubstr("supports (2)"));
}

TEST(DiffAreaLogBlock, ADamagedVersionFieldIsCorruptNotNewer) {
  // The version is inside sector 0, whose checksum is judged first.
  auto block = encode_block(valid_header(0), {});
  store_u16(block, 4, 3);
  auto decoded = decode_log_block(block);
  ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << decoded.status().to_string();
  EXPECT_THAT(decoded.status().message(), HasSubstr("sector 0 fails its checksum"));
  EXPECT_EQ(inspect_log_sectors(block)[0].kind, LogSector::kDamaged);
}

// How a case's edited block is resealed (version 2; version 1 blocks are always resealed).
enum class Reseal {
  kSyncSequences,  // each sector's sequence set to the header's, then every checksum
  kChecksumsOnly,  // every checksum, the sectors' sequences as the case left them
  kNone,           // as the case left it
};

struct BlockCase {
  std::string name;
  std::function<void(std::span<std::byte>)> mutate;
  std::string expected_message_part;
  Reseal reseal = Reseal::kSyncSequences;
};

TEST(DiffAreaLogBlock, EachFieldIsValidatedWithAMessageNamingIt) {
  const std::vector<BlockCase> cases = {
      {"magic", [](std::span<std::byte> b) { b[3] = std::byte{'X'}; }, "bad magic"},
      {"version zero", [](std::span<std::byte> b) { store_u16(b, 4, 0); },
       "version 0 where 2 was expected"},
      {"version 1 in a version 2 layout", [](std::span<std::byte> b) { store_u16(b, 4, 1); },
       "version 1 where 2 was expected"},
      {"reserved", [](std::span<std::byte> b) { store_u16(b, 6, 1); }, "reserved field 0x1"},
      {"payload too large",
       [](std::span<std::byte> b) {
         store_u32(b, 28, static_cast<std::uint32_t>(kLogBlockPayloadBytesMax + 1));
       },
       "payload_bytes 3921 exceeds 3920"},
      {"payload huge", [](std::span<std::byte> b) { store_u32(b, 28, 0xffffffffu); },
       "payload_bytes 4294967295"},
      {"group count zero", [](std::span<std::byte> b) { store_u32(b, 24, 0); },
       "group_block_count 0 is not in [1, 256]"},
      {"group count too large", [](std::span<std::byte> b) { store_u32(b, 24, 257); },
       "group_block_count 257"},
      {"sequence before group", [](std::span<std::byte> b) { store_u64(b, 8, 999); },
       "sequence 999: outside its group (group_first_sequence 1000, group_block_count 3)"},
      {"sequence after group", [](std::span<std::byte> b) { store_u64(b, 8, 1003); },
       "sequence 1003: outside its group"},
      {"sequence far after a group near the top",
       [](std::span<std::byte> b) {
         store_u64(b, 16, ~0ull - 1);
         store_u64(b, 8, 5);
       },
       "outside its group"},
      {"unused byte in sector 0",
       [](std::span<std::byte> b) { b[content_offset(200)] = std::byte{1}; },
       "sequence 1001: an unused payload byte is not zero"},
      {"unused byte in the last sector",
       [](std::span<std::byte> b) { b[content_offset(8 * 496 - 1)] = std::byte{1}; },
       "an unused payload byte is not zero"},
      {"a sector of another block",
       [](std::span<std::byte> b) { store_u64(sector_of(b, 5), kSectorSequence, 1002); },
       "sequence 1001: sector 5 carries sequence 1002", Reseal::kChecksumsOnly},
      {"a blank sector",
       [](std::span<std::byte> b) { std::fill_n(b.begin() + 3 * 512, 512, std::byte{0}); },
       "sector 3 was never written", Reseal::kNone},
  };
  const std::vector<std::byte> payload(100, std::byte{9});
  for (const BlockCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto block = encode_block(valid_header(100), payload);
    c.mutate(block);
    if (c.reseal != Reseal::kNone)
      reseal_block(block, c.reseal == Reseal::kSyncSequences);
    auto decoded = decode_log_block(block);
    ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << decoded.status().to_string();
    EXPECT_THAT(decoded.status().message(), HasSubstr("diff-area log block"));
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.expected_message_part));
  }
}

TEST(DiffAreaLogBlock, AVersion1BlockIsNotAVersion2Block) {
  const std::vector<std::byte> payload(100, std::byte{9});
  const auto v1 = encode_block_v1(valid_header(100), payload);
  auto decoded = decode_log_block(v1);
  ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << decoded.status().to_string();
  EXPECT_THAT(decoded.status().message(), HasSubstr("fails its checksum"));
  auto as_v1 = decode_log_block_v1(encode_block(valid_header(100), payload));
  ASSERT_EQ(as_v1.status().code(), ErrorCode::kCorrupt) << as_v1.status().to_string();
  EXPECT_THAT(as_v1.status().message(), HasSubstr("version 2 where 1 was expected"));
}

// --- Log blocks, version 1 (read for the upgrade) -----------------------------------------

TEST(DiffAreaLogBlockV1, RoundTripsHeaderAndPayload) {
  const auto payload = encode_records(one_record_of_each_type());
  const auto header = valid_header(static_cast<std::uint32_t>(payload.size()));
  const auto block = encode_block_v1(header, payload);
  auto decoded = decode_log_block_v1(block);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->header.sequence, header.sequence);
  EXPECT_EQ(decoded->header.group_first_sequence, header.group_first_sequence);
  EXPECT_EQ(decoded->header.group_block_count, header.group_block_count);
  EXPECT_EQ(decoded->header.payload_bytes, header.payload_bytes);
  EXPECT_EQ(decoded->header.diff_area_uuid, header.diff_area_uuid);
  // The payload is a view into the block.
  EXPECT_EQ(decoded->payload.data(), block.data() + kLogBlockHeaderBytesV1);
  ASSERT_EQ(decoded->payload.size(), payload.size());
  EXPECT_EQ(std::memcmp(decoded->payload.data(), payload.data(), payload.size()), 0);
  auto records = decode_records(decoded->payload);
  ASSERT_TRUE(records.ok()) << records.status().to_string();
  EXPECT_EQ(*records, one_record_of_each_type());
}

TEST(DiffAreaLogBlockV1, RoundTripsEmptyAndFullPayloads) {
  for (std::size_t size : {std::size_t{0}, kLogBlockPayloadBytesMaxV1}) {
    SCOPED_TRACE(size);
    std::vector<std::byte> payload(size, std::byte{0x5c});
    auto header = valid_header(static_cast<std::uint32_t>(size));
    header.sequence = header.group_first_sequence = ~0ull - 1;
    header.group_block_count = 1;
    const auto block = encode_block_v1(header, payload);
    auto decoded = decode_log_block_v1(block);
    ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
    EXPECT_EQ(decoded->payload.size(), size);
    EXPECT_EQ(decoded->header.sequence, header.sequence);
  }
}

TEST(DiffAreaLogBlockV1, EncodingMatchesTheDocumentedHeader) {
  const std::vector<std::byte> payload(10, std::byte{1});
  const auto block = encode_block_v1(valid_header(10), payload);
  EXPECT_EQ(std::memcmp(block.data(), kLogBlockMagic.data(), 4), 0);
  EXPECT_EQ(load_u16(block, 4), 1u);    // version
  EXPECT_EQ(load_u32(block, 24), 3u);   // group_block_count
  EXPECT_EQ(load_u32(block, 28), 10u);  // payload_bytes
  for (std::size_t i = kLogBlockHeaderBytesV1 + 10; i < kLogBlockBytes; ++i) {
    ASSERT_EQ(block[i], std::byte{0}) << "unused payload byte " << i;
  }
  auto resealed = block;
  store_u64(resealed, 48, 0);
  reseal_block_v1(resealed);
  EXPECT_EQ(resealed, block);
}

TEST(DiffAreaLogBlockV1, EverySingleBitFlipIsRejected) {
  for (std::size_t payload_size : {std::size_t{0}, std::size_t{200}, kLogBlockPayloadBytesMaxV1}) {
    SCOPED_TRACE(payload_size);
    std::vector<std::byte> payload(payload_size);
    for (std::size_t i = 0; i < payload.size(); ++i) {
      payload[i] = std::byte{static_cast<unsigned char>(i * 31 + 7)};
    }
    const auto good =
        encode_block_v1(valid_header(static_cast<std::uint32_t>(payload_size)), payload);
    ASSERT_TRUE(decode_log_block_v1(good).ok());
    for (std::size_t bit = 0; bit < kLogBlockBytes * 8; ++bit) {
      auto block = good;
      block[bit / 8] ^= std::byte{static_cast<unsigned char>(1u << (bit % 8))};
      auto decoded = decode_log_block_v1(block);
      ASSERT_FALSE(decoded.ok()) << "bit " << bit << " flipped was accepted";
      ASSERT_TRUE(refused_as_damaged(decoded.status()))
          << "bit " << bit << ": " << decoded.status().to_string();
    }
  }
}

TEST(DiffAreaLogBlockV1, TruncatedSpansAreRejected) {
  const auto good = encode_block_v1(valid_header(0), {});
  for (std::size_t size = 0; size < kLogBlockBytes; ++size) {
    std::vector<std::byte> block(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(size));
    auto decoded = decode_log_block_v1(block);
    ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << "size " << size;
  }
}

TEST(DiffAreaLogBlockV1, NewerVersionIsUnsupportedAndNamesBothVersions) {
  auto block = encode_block_v1(valid_header(0), {});
  store_u16(block, 4, 3);
  reseal_block_v1(block);
  auto decoded = decode_log_block_v1(block);
  ASSERT_EQ(decoded.status().code(), ErrorCode::kUnsupportedVersion)
      << decoded.status().to_string();
  EXPECT_THAT(decoded.status().message(), HasSubstr("version 3"));
  EXPECT_THAT(decoded.status().message(), HasSubstr("supports (2)"));
}

TEST(DiffAreaLogBlockV1, EachFieldIsValidatedWithAMessageNamingIt) {
  const std::vector<BlockCase> cases = {
      {"magic", [](std::span<std::byte> b) { b[3] = std::byte{'X'}; }, "bad magic"},
      {"version zero", [](std::span<std::byte> b) { store_u16(b, 4, 0); }, "version 0"},
      {"version 2 in a version 1 layout", [](std::span<std::byte> b) { store_u16(b, 4, 2); },
       "version 2 where 1 was expected"},
      {"reserved", [](std::span<std::byte> b) { store_u16(b, 6, 1); }, "reserved field 0x1"},
      {"payload too large",
       [](std::span<std::byte> b) {
         store_u32(b, 28, static_cast<std::uint32_t>(kLogBlockPayloadBytesMaxV1 + 1));
       },
       "payload_bytes 4041 exceeds 4040"},
      {"payload huge", [](std::span<std::byte> b) { store_u32(b, 28, 0xffffffffu); },
       "payload_bytes 4294967295"},
      {"group count zero", [](std::span<std::byte> b) { store_u32(b, 24, 0); },
       "group_block_count 0 is not in [1, 256]"},
      {"group count too large", [](std::span<std::byte> b) { store_u32(b, 24, 257); },
       "group_block_count 257"},
      {"sequence before group", [](std::span<std::byte> b) { store_u64(b, 8, 999); },
       "sequence 999: outside its group (group_first_sequence 1000, group_block_count 3)"},
      {"sequence after group", [](std::span<std::byte> b) { store_u64(b, 8, 1003); },
       "sequence 1003: outside its group"},
      {"sequence far after a group near the top",
       [](std::span<std::byte> b) {
         store_u64(b, 16, ~0ull - 1);
         store_u64(b, 8, 5);
       },
       "outside its group"},
      {"unused byte", [](std::span<std::byte> b) { b[4000] = std::byte{1}; },
       "unused payload byte at block offset 4000"},
  };
  const std::vector<std::byte> payload(100, std::byte{9});
  for (const BlockCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto block = encode_block_v1(valid_header(100), payload);
    c.mutate(block);
    reseal_block_v1(block);
    auto decoded = decode_log_block_v1(block);
    ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << decoded.status().to_string();
    EXPECT_THAT(decoded.status().message(), HasSubstr("diff-area log block"));
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.expected_message_part));
  }
}

TEST(DiffAreaLogBlockV1, ChecksumCoversHeaderAndPayload) {
  auto block = encode_block_v1(valid_header(100), std::vector<std::byte>(100, std::byte{9}));
  block[kLogBlockHeaderBytesV1 + 99] = std::byte{8};
  auto decoded = decode_log_block_v1(block);
  ASSERT_EQ(decoded.status().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(decoded.status().message(), HasSubstr("checksum"));
}

// --- Fuzz ---------------------------------------------------------------------------------

// Random byte strings and mutations of valid encodings (superblocks of both versions, log
// blocks of both versions, record payloads). Half of the mutations are resealed with fresh
// checksums so the field checks behind them are reached too. Every input is an exact-size
// heap copy, so AddressSanitizer catches any read past the span. Whatever a parser accepts
// must re-encode to exactly the bytes it read: nothing is ignored.
TEST(DiffAreaFormatFuzz, ParsersNeverCrashOrAcceptWhatTheyCannotReencode) {
  testing::TracedRandom random(0xd1ffa7ea);
  const auto good_superblock = encode(valid_superblock());
  const auto good_superblock_v1 = encode(valid_superblock_v1());
  const auto good_payload = encode_records(one_record_of_each_type());
  const auto header = valid_header(static_cast<std::uint32_t>(good_payload.size()));
  const auto good_block = encode_block(header, good_payload);
  const auto good_block_v1 = encode_block_v1(header, good_payload);
  // The version 2 header and payload sit in sector 0's content when the payload is short.
  ASSERT_LE(kLogBlockHeaderBytes + good_payload.size(), kLogSectorContentBytes);

  // Most edits land in the first `hot_bytes` (the fields and payload), where they reach
  // checks; the rest anywhere.
  auto mutate = [&](std::vector<std::byte> bytes, std::size_t hot_bytes) {
    const std::uint64_t edits = random.uniform_range(1, 8);
    for (std::uint64_t e = 0; e < edits && !bytes.empty(); ++e) {
      const std::size_t range =
          random.chance(0.75) ? std::min(hot_bytes, bytes.size()) : bytes.size();
      const std::size_t at = random.uniform(range);
      switch (random.uniform(3)) {
        case 0:
          bytes[at] ^= std::byte{static_cast<unsigned char>(1u << random.uniform(8))};
          break;
        case 1:
          bytes[at] = std::byte{static_cast<unsigned char>(random.next_u64())};
          break;
        default:
          bytes.resize(random.uniform(bytes.size() + 1));
          break;
      }
    }
    return bytes;
  };

  int superblocks_accepted = 0;
  int superblocks_v1_accepted = 0;
  int blocks_accepted = 0;
  int blocks_v1_accepted = 0;
  int payloads_accepted = 0;
  for (int i = 0; i < 12000; ++i) {
    std::vector<std::byte> input;
    const std::uint64_t kind = random.uniform(6);
    if (kind == 0) {
      input.resize(random.uniform(kLogBlockBytes + 64));
      random.fill(input);
    } else if (kind == 1) {
      input = mutate(good_superblock, 168);
    } else if (kind == 2) {
      input = mutate(good_superblock_v1, 145);
    } else if (kind == 3) {
      input = mutate(good_block, kLogBlockHeaderBytes + good_payload.size());
    } else if (kind == 4) {
      input = mutate(good_block_v1, kLogBlockHeaderBytesV1 + good_payload.size());
    } else {
      input = mutate(good_payload, good_payload.size());
    }
    if (random.chance(0.5) && input.size() >= kSuperblockBytes && kind != 3 && kind != 4) {
      reseal_superblock(input);
    }
    if (random.chance(0.5) && input.size() >= kLogBlockBytes) {
      if (kind == 4)
        reseal_block_v1(input);
      else
        reseal_block(input, random.chance(0.8));
    }
    input.shrink_to_fit();

    const std::uint64_t volume_bytes = random.chance(0.8) ? kVolumeBytes : random.next_u64();
    auto superblock = decode_superblock(input, volume_bytes);
    if (superblock.ok()) {
      ++(superblock->format_version == kFormatVersionV1 ? superblocks_v1_accepted
                                                        : superblocks_accepted);
      const auto again_bytes = encode(*superblock);
      ASSERT_TRUE(std::equal(again_bytes.begin(), again_bytes.end(), input.begin()))
          << "iteration " << i << ": the superblock does not re-encode to what was read";
      auto again = decode_superblock(again_bytes, volume_bytes);
      ASSERT_TRUE(again.ok()) << "iteration " << i << ": " << again.status().to_string();
      expect_same(*superblock, *again);
    } else {
      ASSERT_TRUE(refused_as_damaged(superblock.status())) << superblock.status().to_string();
    }

    auto block = decode_log_block(input);
    if (block.ok()) {
      ++blocks_accepted;
      ASSERT_LE(block->payload.size(), kLogBlockPayloadBytesMax);
      const auto again = encode_block(block->header, block->payload);
      ASSERT_TRUE(std::equal(again.begin(), again.end(), input.begin()))
          << "iteration " << i << ": the block does not re-encode to what was read";
      ASSERT_TRUE(decode_log_block(again).ok()) << "iteration " << i;
      decode_records(block->payload).ignore_error();
    } else {
      ASSERT_TRUE(refused_as_damaged(block.status())) << block.status().to_string();
    }
    if (input.size() >= kLogBlockBytes) {
      // A sector that fails its checksum is never judged intact, and a block decodes only
      // if every sector is intact.
      const auto sectors = inspect_log_sectors(input);
      const bool all_intact = std::all_of(sectors.begin(), sectors.end(), [](const auto& s) {
        return s.kind == LogSector::kIntact;
      });
      ASSERT_TRUE(all_intact || !block.ok()) << "iteration " << i;
    }

    auto block_v1 = decode_log_block_v1(input);
    if (block_v1.ok()) {
      ++blocks_v1_accepted;
      ASSERT_LE(block_v1->payload.size(), kLogBlockPayloadBytesMaxV1);
      std::vector<std::byte> payload(block_v1->payload.begin(), block_v1->payload.end());
      const auto again = encode_block_v1(block_v1->header, payload);
      ASSERT_TRUE(std::equal(again.begin(), again.end(), input.begin()))
          << "iteration " << i << ": the version 1 block does not re-encode to what was read";
      decode_records(payload).ignore_error();
    } else {
      ASSERT_TRUE(refused_as_damaged(block_v1.status())) << block_v1.status().to_string();
    }

    auto records = decode_records(input);
    if (records.ok()) {
      ++payloads_accepted;
      EXPECT_EQ(encode_records(*records), input) << "iteration " << i;
    } else {
      ASSERT_EQ(records.status().code(), ErrorCode::kCorrupt);
    }
  }
  // Resealed mutations of valid encodings must sometimes pass, or the fuzz never gets past
  // the checksums to the field checks.
  EXPECT_GT(superblocks_accepted, 20);
  EXPECT_GT(superblocks_v1_accepted, 20);
  EXPECT_GT(blocks_accepted, 20);
  EXPECT_GT(blocks_v1_accepted, 20);
  EXPECT_GT(payloads_accepted, 20);
}

}  // namespace
}  // namespace freezeframe::format

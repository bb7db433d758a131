// Version 2 journal blocks: eight 512-byte sectors, each with its own sequence and checksum.
//
// Sector i of a block:
//   [0, 496)    content: the content bytes of sectors 0..7, in order, are the 48-byte header,
//               the payload, and zeros
//   [496, 504)  sequence u64 (the block's)
//   [504, 512)  XXH3-64 of [0, 504), seeded with i
// Header (content bytes [0, 48)):
//   [0, 4) magic "FFLB"   [4, 6) version u16 (2)   [6, 8) reserved, zero
//   [8, 16) sequence      [16, 24) group_first_sequence   [24, 28) group_block_count
//   [28, 32) payload_bytes   [32, 48) diff_area_uuid
#include <xxhash.h>

#include <algorithm>
#include <boost/endian/conversion.hpp>
#include <cstring>
#include <string>

#include "byte_math.h"
#include "diff_area_format.h"
#include "freezeframe/assert.h"

namespace freezeframe::format {
namespace {

namespace endian = boost::endian;

inline constexpr std::size_t kTrailerSequence = kLogSectorContentBytes;
inline constexpr std::size_t kTrailerChecksum = kLogSectorContentBytes + 8;
inline constexpr std::size_t kContentBytes = kLogSectorsPerBlock * kLogSectorContentBytes;

// Header offsets within the content bytes.
inline constexpr std::size_t kMagic = 0;
inline constexpr std::size_t kVersion = 4;
inline constexpr std::size_t kReserved = 6;
inline constexpr std::size_t kSequence = 8;
inline constexpr std::size_t kGroupFirstSequence = 16;
inline constexpr std::size_t kGroupBlockCount = 24;
inline constexpr std::size_t kPayloadBytes = 28;
inline constexpr std::size_t kDiffAreaUuid = 32;
static_assert(kDiffAreaUuid + 16 == kLogBlockHeaderBytes);

const unsigned char* u8p(const std::byte* p) {
  return reinterpret_cast<const unsigned char*>(p);
}
unsigned char* u8p(std::byte* p) {
  return reinterpret_cast<unsigned char*>(p);
}

std::uint64_t sector_checksum(const std::byte* sector, std::size_t index) {
  return XXH3_64bits_withSeed(sector, kTrailerChecksum, index);
}

}  // namespace

void encode_log_block(const LogBlockHeader& header, std::span<const std::byte> payload,
                      std::span<std::byte, kLogBlockBytes> out) {
  FF_ASSERT(payload.size() == header.payload_bytes);
  FF_ASSERT(payload.size() <= kLogBlockPayloadBytesMax);
  std::array<std::byte, kContentBytes> content{};
  std::memcpy(content.data() + kMagic, kLogBlockMagic.data(), kLogBlockMagic.size());
  endian::store_little_u16(u8p(content.data() + kVersion), kLogBlockVersion);
  endian::store_little_u16(u8p(content.data() + kReserved), 0);
  endian::store_little_u64(u8p(content.data() + kSequence), header.sequence);
  endian::store_little_u64(u8p(content.data() + kGroupFirstSequence), header.group_first_sequence);
  endian::store_little_u32(u8p(content.data() + kGroupBlockCount), header.group_block_count);
  endian::store_little_u32(u8p(content.data() + kPayloadBytes), header.payload_bytes);
  std::memcpy(content.data() + kDiffAreaUuid, header.diff_area_uuid.bytes().data(), 16);
  if (!payload.empty())
    std::memcpy(content.data() + kLogBlockHeaderBytes, payload.data(), payload.size());
  for (std::size_t i = 0; i < kLogSectorsPerBlock; ++i) {
    std::byte* sector = out.data() + i * kLogSectorBytes;
    std::memcpy(sector, content.data() + i * kLogSectorContentBytes, kLogSectorContentBytes);
    endian::store_little_u64(u8p(sector + kTrailerSequence), header.sequence);
    endian::store_little_u64(u8p(sector + kTrailerChecksum), sector_checksum(sector, i));
  }
}

void reseal_log_block(std::span<std::byte, kLogBlockBytes> block) noexcept {
  const std::uint64_t sequence = endian::load_little_u64(u8p(block.data() + kSequence));
  for (std::size_t i = 0; i < kLogSectorsPerBlock; ++i) {
    std::byte* sector = block.data() + i * kLogSectorBytes;
    endian::store_little_u64(u8p(sector + kTrailerSequence), sequence);
    endian::store_little_u64(u8p(sector + kTrailerChecksum), sector_checksum(sector, i));
  }
}

std::array<LogSectorState, kLogSectorsPerBlock> inspect_log_sectors(
    std::span<const std::byte> block) {
  FF_ASSERT(block.size() >= kLogBlockBytes);
  std::array<LogSectorState, kLogSectorsPerBlock> states;
  for (std::size_t i = 0; i < kLogSectorsPerBlock; ++i) {
    const std::byte* sector = block.data() + i * kLogSectorBytes;
    const std::uint64_t stored = endian::load_little_u64(u8p(sector + kTrailerChecksum));
    if (stored == sector_checksum(sector, i)) {
      states[i] = {LogSector::kIntact, endian::load_little_u64(u8p(sector + kTrailerSequence))};
    } else if (std::all_of(sector, sector + kLogSectorBytes,
                           [](std::byte b) { return b == std::byte{0}; })) {
      states[i] = {LogSector::kBlank, 0};
    } else {
      states[i] = {LogSector::kDamaged, 0};
    }
  }
  return states;
}

Result<DecodedLogBlock> decode_log_block(std::span<const std::byte> block) {
  const std::string name = "diff-area log block";
  if (block.size() < kLogBlockBytes) {
    return corrupt(name + ": only " + std::to_string(block.size()) + " bytes, need " +
                   std::to_string(kLogBlockBytes));
  }
  const auto sectors = inspect_log_sectors(block);
  std::array<std::byte, kContentBytes> content;
  for (std::size_t i = 0; i < kLogSectorsPerBlock; ++i) {
    if (sectors[i].kind != LogSector::kIntact) {
      return corrupt(
          name + ": sector " + std::to_string(i) +
          (sectors[i].kind == LogSector::kBlank ? " was never written" : " fails its checksum"));
    }
    std::memcpy(content.data() + i * kLogSectorContentBytes, block.data() + i * kLogSectorBytes,
                kLogSectorContentBytes);
  }
  if (std::memcmp(content.data() + kMagic, kLogBlockMagic.data(), kLogBlockMagic.size()) != 0)
    return corrupt(name + ": bad magic");
  const std::uint16_t version = endian::load_little_u16(u8p(content.data() + kVersion));
  if (version > kLogBlockVersion) {
    return unsupported_version(name + " version " + std::to_string(version) +
                               " is newer than this freezeframe supports (" +
                               std::to_string(kLogBlockVersion) + ")");
  }
  if (version != kLogBlockVersion) {
    return corrupt(name + ": version " + std::to_string(version) + " where " +
                   std::to_string(kLogBlockVersion) + " was expected");
  }
  DecodedLogBlock decoded;
  LogBlockHeader& h = decoded.header;
  h.sequence = endian::load_little_u64(u8p(content.data() + kSequence));
  h.group_first_sequence = endian::load_little_u64(u8p(content.data() + kGroupFirstSequence));
  h.group_block_count = endian::load_little_u32(u8p(content.data() + kGroupBlockCount));
  h.payload_bytes = endian::load_little_u32(u8p(content.data() + kPayloadBytes));
  std::array<std::uint8_t, 16> uuid{};
  std::memcpy(uuid.data(), content.data() + kDiffAreaUuid, uuid.size());
  h.diff_area_uuid = Uuid(uuid);
  const std::string where = name + " sequence " + std::to_string(h.sequence) + ": ";
  for (std::size_t i = 0; i < kLogSectorsPerBlock; ++i) {
    if (sectors[i].sequence != h.sequence) {
      return corrupt(where + "sector " + std::to_string(i) + " carries sequence " +
                     std::to_string(sectors[i].sequence));
    }
  }
  if (const std::uint16_t reserved = endian::load_little_u16(u8p(content.data() + kReserved));
      reserved != 0) {
    return corrupt(where + "reserved field " + detail::hex_text(reserved) + " is not zero");
  }
  if (h.payload_bytes > kLogBlockPayloadBytesMax) {
    return corrupt(where + "payload_bytes " + std::to_string(h.payload_bytes) + " exceeds " +
                   std::to_string(kLogBlockPayloadBytesMax));
  }
  if (h.group_block_count < 1 || h.group_block_count > kGroupBlocksMax) {
    return corrupt(where + "group_block_count " + std::to_string(h.group_block_count) +
                   " is not in [1, " + std::to_string(kGroupBlocksMax) + "]");
  }
  if (h.sequence < h.group_first_sequence ||
      h.sequence - h.group_first_sequence >= h.group_block_count) {
    return corrupt(where + "outside its group (group_first_sequence " +
                   std::to_string(h.group_first_sequence) + ", group_block_count " +
                   std::to_string(h.group_block_count) + ")");
  }
  const std::size_t end = kLogBlockHeaderBytes + h.payload_bytes;
  if (std::any_of(content.begin() + static_cast<std::ptrdiff_t>(end), content.end(),
                  [](std::byte b) { return b != std::byte{0}; })) {
    return corrupt(where + "an unused payload byte is not zero");
  }
  decoded.payload.assign(content.begin() + kLogBlockHeaderBytes,
                         content.begin() + static_cast<std::ptrdiff_t>(end));
  return decoded;
}

}  // namespace freezeframe::format

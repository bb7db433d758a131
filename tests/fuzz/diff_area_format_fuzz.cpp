// Fuzz target: the diff-area format's decoders (engine/src/diff_area_format.h), fed the bytes
// directly so that AddressSanitizer sees the exact end of each buffer. The first input byte
// picks the decoder, its low 7 bits modulo 5: 0 the superblock, 1 a journal payload's
// records, 2 a log block, 3 a version-1 log block, 4 a log block's per-sector inspection; the
// rest is what it decodes. Bit 7 reseals: the superblock's or the block's checksums are
// recomputed over the input before it is decoded (diff_area_format.h, "resealing"), so that
// mutations reach the validation behind the checksums instead of stopping at them. A
// resealed superblock or block that decodes must hold what its bytes say (re-encoding it
// gives the same bytes), else the target traps.
// The whole-image path through open() is diff_area_open_fuzz.cpp.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "diff_area_format.h"
#include "freezeframe/plant.h"
#include "fuzz_support.h"

namespace ff = freezeframe;
namespace format = freezeframe::format;

namespace {

constexpr std::uint8_t kSuperblock = 0;
constexpr std::uint8_t kRecords = 1;
constexpr std::uint8_t kLogBlock = 2;
constexpr std::uint8_t kLogBlockV1 = 3;
constexpr std::uint8_t kLogSectors = 4;
constexpr std::uint8_t kDecoders = 5;
constexpr std::uint8_t kReseal = 0x80;

ff::fuzz::Input tagged(std::uint8_t decoder, std::span<const std::byte> bytes) {
  ff::fuzz::Input out{decoder};
  const ff::fuzz::Input body = ff::fuzz::bytes_of(bytes);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<std::byte> sample_payload() {
  std::vector<std::byte> payload;
  format::Record create{.type = format::RecordType::kSnapshotCreate, .tag = 1};
  create.created_ns = 1'000'000;
  format::append_record(create, payload);
  format::append_record(
      {.type = format::RecordType::kMapAdd, .tag = 1, .chunk = 3, .slot = 0, .stored_bytes = 4096},
      payload);
  format::append_record({.type = format::RecordType::kState, .next_tag = 2}, payload);
  format::append_record({.type = format::RecordType::kCbtMark, .chunk = 5, .chunk_count = 2},
                        payload);
  return payload;
}

// A decoded record must be what its bytes say: encoding it again gives the same bytes.
void must_match(const char* what, std::span<const std::byte> in, std::span<const std::byte> again) {
  if (std::equal(in.begin(), in.end(), again.begin(), again.end()))
    return;
  std::fprintf(stderr, "a resealed %s decoded but does not encode back to its bytes\n", what);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // FREEZEFRAME_PLANT (plant.h) switches a planted defect on, e.g. parser-skip-bound, which
  // this target must find (scripts/fuzz.sh --ci checks that it does).
  static const bool plants_set = [] {
    const ff::Status status = ff::plants_from_environment();
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n", status.to_string().c_str());
      std::abort();
    }
    return true;
  }();
  (void)plants_set;
  ff::fuzz::Reader in(data, size);
  const std::uint8_t first = in.byte();
  const std::uint8_t decoder = (first & 0x7f) % kDecoders;
  std::span<const std::byte> bytes = in.rest();
  std::vector<std::byte> resealed;
  if ((first & kReseal) != 0 && decoder != kRecords) {
    const std::size_t need =
        decoder == kSuperblock ? format::kSuperblockBytes : format::kLogBlockBytes;
    if (bytes.size() < need)
      return 0;
    resealed.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(need));
    if (decoder == kSuperblock)
      format::reseal_superblock(std::span<std::byte, format::kSuperblockBytes>(resealed));
    else if (decoder == kLogBlockV1)
      format::reseal_log_block_v1(std::span<std::byte, format::kLogBlockBytes>(resealed));
    else
      format::reseal_log_block(std::span<std::byte, format::kLogBlockBytes>(resealed));
    bytes = resealed;
  }
  switch (decoder) {
    case kSuperblock: {
      auto superblock = format::decode_superblock(bytes, std::uint64_t{1} << 30);
      if (superblock.ok() && !resealed.empty() &&
          superblock->format_version == format::kFormatVersion) {
        std::array<std::byte, format::kSuperblockBytes> again{};
        format::encode_superblock(*superblock, again);
        must_match("superblock", bytes.first(format::kSuperblockBytes), again);
      }
      break;
    }
    case kRecords:
      (void)format::decode_records(bytes);
      break;
    case kLogBlock: {
      auto block = format::decode_log_block(bytes);
      if (block.ok() && !resealed.empty()) {
        std::array<std::byte, format::kLogBlockBytes> again{};
        format::encode_log_block(block->header, block->payload, again);
        must_match("log block", bytes.first(format::kLogBlockBytes), again);
      }
      break;
    }
    case kLogBlockV1:
      (void)format::decode_log_block_v1(bytes);
      break;
    default:
      if (bytes.size() >= format::kLogBlockBytes)
        (void)format::inspect_log_sectors(bytes.first(format::kLogBlockBytes));
      break;
  }
  return 0;
}

std::vector<ff::fuzz::Input> ff::fuzz::seeds() {
  std::vector<Input> out;
  format::Superblock superblock;
  superblock.provider_kind = 1;
  superblock.overflow_policy = 1;
  superblock.chunk_bytes = 16 * 1024;
  superblock.sector_bytes = 512;
  superblock.snapshots_max = 64;
  superblock.origin_bytes = 1 << 20;
  superblock.volume_bytes = 1 << 20;
  superblock.log_area_bytes = 64 * 1024;
  superblock.log_offset = {4096, 4096 + 64 * 1024};
  superblock.data_offset = 4096 + 128 * 1024;
  superblock.data_slots = 8;
  std::array<std::byte, format::kSuperblockBytes> block{};
  format::encode_superblock(superblock, block);
  out.push_back(tagged(kSuperblock, block));

  const std::vector<std::byte> payload = sample_payload();
  out.push_back(tagged(kRecords, payload));

  format::LogBlockHeader header{.sequence = 7,
                                .group_first_sequence = 7,
                                .group_block_count = 1,
                                .payload_bytes = static_cast<std::uint32_t>(payload.size())};
  std::array<std::byte, format::kLogBlockBytes> log{};
  format::encode_log_block(header, payload, log);
  out.push_back(tagged(kLogBlock, log));
  out.push_back(tagged(kLogSectors, log));
  out.push_back(tagged(kLogBlock | kReseal, log));
  format::encode_log_block_v1(header, payload, log);
  out.push_back(tagged(kLogBlockV1, log));
  out.push_back(tagged(kLogBlockV1 | kReseal, log));
  out.push_back(tagged(kSuperblock | kReseal, block));
  return out;
}

// Fuzz target: the diff-area format's decoders (engine/src/diff_area_format.h), fed the bytes
// directly so that AddressSanitizer sees the exact end of each buffer. The first input byte
// picks the decoder: 0 the superblock, 1 a journal payload's records, 2 a log block, 3 a
// version-1 log block, 4 a log block's per-sector inspection; the rest is what it decodes.
// The whole-image path through open() is diff_area_open_fuzz.cpp.
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
  const std::uint8_t decoder = in.byte() % kDecoders;
  const std::span<const std::byte> bytes = in.rest();
  switch (decoder) {
    case kSuperblock:
      (void)format::decode_superblock(bytes, std::uint64_t{1} << 30);
      break;
    case kRecords:
      (void)format::decode_records(bytes);
      break;
    case kLogBlock:
      (void)format::decode_log_block(bytes);
      break;
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
  format::encode_log_block_v1(header, payload, log);
  out.push_back(tagged(kLogBlockV1, log));
  return out;
}

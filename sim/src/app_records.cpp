#include "app_records.h"

#include <xxhash.h>

#include <algorithm>
#include <boost/endian/conversion.hpp>
#include <cstring>
#include <memory>
#include <string>

#include "freezeframe/assert.h"

namespace freezeframe::sim::records {
namespace {

namespace endian = boost::endian;

// Log header layout.
constexpr std::size_t kHeaderMagicAt = 0;
constexpr std::size_t kHeaderVersionAt = 4;
constexpr std::size_t kHeaderBlockBytesAt = 8;
constexpr std::size_t kHeaderBlocksMaxAt = 12;
constexpr std::size_t kHeaderDataBlocksAt = 16;
constexpr std::size_t kHeaderEpochAt = 24;
constexpr std::size_t kHeaderCheckpointAt = 32;
constexpr std::size_t kHeaderLogBytesAt = 40;
constexpr std::size_t kHeaderChecksumAt = 48;
constexpr std::size_t kHeaderAlignAt = 56;

// Record header layout.
constexpr std::size_t kRecordMagicAt = 0;
constexpr std::size_t kRecordVersionAt = 4;
constexpr std::size_t kRecordKindAt = 6;
constexpr std::size_t kRecordCountAt = 8;
constexpr std::size_t kRecordBytesAt = 12;
constexpr std::size_t kRecordEpochAt = 16;
constexpr std::size_t kRecordTxnAt = 24;
constexpr std::size_t kRecordChecksumAt = 32;

// Data block header layout.
constexpr std::size_t kBlockMagicAt = 0;
constexpr std::size_t kBlockVersionAt = 4;
constexpr std::size_t kBlockTxnAt = 8;
constexpr std::size_t kBlockIndexAt = 16;
constexpr std::size_t kBlockChecksumAt = 24;

constexpr std::uint32_t kBlockBytesMin = 512;
constexpr std::uint32_t kBlockBytesMax = 64 * 1024;
constexpr std::uint32_t kBlocksPerRecordMax = 64;

std::uint32_t load32(std::span<const std::byte> bytes, std::size_t at) {
  return endian::load_little_u32(reinterpret_cast<const unsigned char*>(bytes.data() + at));
}
std::uint16_t load16(std::span<const std::byte> bytes, std::size_t at) {
  return endian::load_little_u16(reinterpret_cast<const unsigned char*>(bytes.data() + at));
}
std::uint64_t load64(std::span<const std::byte> bytes, std::size_t at) {
  return endian::load_little_u64(reinterpret_cast<const unsigned char*>(bytes.data() + at));
}
void store16(std::span<std::byte> bytes, std::size_t at, std::uint16_t value) {
  endian::store_little_u16(reinterpret_cast<unsigned char*>(bytes.data() + at), value);
}
void store32(std::span<std::byte> bytes, std::size_t at, std::uint32_t value) {
  endian::store_little_u32(reinterpret_cast<unsigned char*>(bytes.data() + at), value);
}
void store64(std::span<std::byte> bytes, std::size_t at, std::uint64_t value) {
  endian::store_little_u64(reinterpret_cast<unsigned char*>(bytes.data() + at), value);
}

// XXH3-64 of `bytes` with the 8 bytes at `field_at` read as zero.
std::uint64_t checksum_without(std::span<const std::byte> bytes, std::size_t field_at) {
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(),
                                                                 &XXH3_freeState);
  FF_ASSERT(state != nullptr);
  XXH3_64bits_reset(state.get());
  XXH3_64bits_update(state.get(), bytes.data(), field_at);
  const std::byte zeros[8] = {};
  XXH3_64bits_update(state.get(), zeros, sizeof(zeros));
  XXH3_64bits_update(state.get(), bytes.data() + field_at + 8, bytes.size() - field_at - 8);
  return XXH3_64bits_digest(state.get());
}

bool is_power_of_two(std::uint64_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

}  // namespace

void encode_log_header(const LogHeader& header, std::span<std::byte> out) {
  std::fill(out.begin(), out.begin() + kLogHeaderBytes, std::byte{0});
  store32(out, kHeaderMagicAt, kLogHeaderMagic);
  store16(out, kHeaderVersionAt, kFormatVersion);
  store32(out, kHeaderBlockBytesAt, header.block_bytes);
  store32(out, kHeaderBlocksMaxAt, header.blocks_per_transaction_max);
  store64(out, kHeaderDataBlocksAt, header.data_blocks);
  store64(out, kHeaderEpochAt, header.epoch);
  store64(out, kHeaderCheckpointAt, header.checkpoint_txn);
  store64(out, kHeaderLogBytesAt, header.log_bytes);
  store32(out, kHeaderAlignAt, header.record_align_bytes);
  store64(out, kHeaderChecksumAt, checksum_without(out.first(kLogHeaderBytes), kHeaderChecksumAt));
}

Result<LogHeader> decode_log_header(std::span<const std::byte> bytes) {
  if (bytes.size() < kLogHeaderBytes)
    return corrupt("log header: " + std::to_string(bytes.size()) + " bytes, need " +
                   std::to_string(kLogHeaderBytes));
  if (load32(bytes, kHeaderMagicAt) != kLogHeaderMagic)
    return corrupt("log header: bad magic (not a freezeframe app log)");
  if (load16(bytes, kHeaderVersionAt) != kFormatVersion)
    return Status(ErrorCode::kUnsupportedVersion,
                  "log header: format version " + std::to_string(load16(bytes, kHeaderVersionAt)) +
                      ", this reader knows " + std::to_string(kFormatVersion));
  if (load64(bytes, kHeaderChecksumAt) !=
      checksum_without(bytes.first(kLogHeaderBytes), kHeaderChecksumAt))
    return corrupt("log header: checksum mismatch");
  LogHeader header;
  header.block_bytes = load32(bytes, kHeaderBlockBytesAt);
  header.blocks_per_transaction_max = load32(bytes, kHeaderBlocksMaxAt);
  header.data_blocks = load64(bytes, kHeaderDataBlocksAt);
  header.epoch = load64(bytes, kHeaderEpochAt);
  header.checkpoint_txn = load64(bytes, kHeaderCheckpointAt);
  header.log_bytes = load64(bytes, kHeaderLogBytesAt);
  header.record_align_bytes = load32(bytes, kHeaderAlignAt);
  if (!is_power_of_two(header.record_align_bytes) || header.record_align_bytes < kBlockBytesMin ||
      header.record_align_bytes > kBlockBytesMax || header.log_bytes <= header.record_align_bytes)
    return corrupt("log header: record alignment " + std::to_string(header.record_align_bytes) +
                   " or log size " + std::to_string(header.log_bytes) + " out of range");
  if (!is_power_of_two(header.block_bytes) || header.block_bytes < kBlockBytesMin ||
      header.block_bytes > kBlockBytesMax)
    return corrupt("log header: block size " + std::to_string(header.block_bytes) +
                   " out of range");
  if (header.blocks_per_transaction_max == 0 ||
      header.blocks_per_transaction_max > kBlocksPerRecordMax)
    return corrupt("log header: blocks per transaction " +
                   std::to_string(header.blocks_per_transaction_max) + " out of range");
  if (header.data_blocks == 0 || header.epoch == 0)
    return corrupt("log header: zero data blocks or epoch");
  return header;
}

std::uint64_t record_bytes(std::uint32_t blocks, std::uint32_t block_bytes) {
  return kRecordHeaderBytes + std::uint64_t{blocks} * (kEntryBytes + block_bytes);
}

std::vector<std::byte> encode_log_record(const LogRecord& record, std::uint32_t align_bytes) {
  const auto count = static_cast<std::uint32_t>(record.entries.size());
  const std::uint64_t bytes = kRecordHeaderBytes + count * kEntryBytes + record.images.size();
  const std::uint64_t padded = (bytes + align_bytes - 1) / align_bytes * align_bytes;
  std::vector<std::byte> out(padded);
  std::span<std::byte> span(out);
  store32(span, kRecordMagicAt, kLogRecordMagic);
  store16(span, kRecordVersionAt, kFormatVersion);
  out[kRecordKindAt] = static_cast<std::byte>(record.kind);
  store32(span, kRecordCountAt, count);
  store32(span, kRecordBytesAt, static_cast<std::uint32_t>(bytes));
  store64(span, kRecordEpochAt, record.epoch);
  store64(span, kRecordTxnAt, record.txn_id);
  for (std::uint32_t i = 0; i < count; ++i) {
    store64(span, kRecordHeaderBytes + i * kEntryBytes, record.entries[i].block_index);
    store64(span, kRecordHeaderBytes + i * kEntryBytes + 8, record.entries[i].checksum);
  }
  if (!record.images.empty()) {
    std::memcpy(out.data() + kRecordHeaderBytes + count * kEntryBytes, record.images.data(),
                record.images.size());
  }
  store64(span, kRecordChecksumAt, checksum_without(span.first(bytes), kRecordChecksumAt));
  return out;
}

Result<RecordHeader> decode_record_header(std::span<const std::byte> bytes, const LogHeader& log) {
  if (bytes.size() < kRecordHeaderBytes)
    return corrupt("log record: truncated header");
  if (load32(bytes, kRecordMagicAt) != kLogRecordMagic)
    return corrupt("log record: bad magic");
  if (load16(bytes, kRecordVersionAt) != kFormatVersion)
    return corrupt("log record: format version " + std::to_string(load16(bytes, kRecordVersionAt)));
  RecordHeader header;
  const auto kind = static_cast<std::uint8_t>(bytes[kRecordKindAt]);
  if (kind != static_cast<std::uint8_t>(RecordKind::kRedo) &&
      kind != static_cast<std::uint8_t>(RecordKind::kCommit))
    return corrupt("log record: unknown kind " + std::to_string(kind));
  header.kind = static_cast<RecordKind>(kind);
  header.block_count = load32(bytes, kRecordCountAt);
  header.record_bytes = load32(bytes, kRecordBytesAt);
  header.epoch = load64(bytes, kRecordEpochAt);
  header.txn_id = load64(bytes, kRecordTxnAt);
  const std::uint32_t count_max =
      header.kind == RecordKind::kCommit ? 0 : log.blocks_per_transaction_max;
  if (header.block_count > count_max ||
      (header.kind == RecordKind::kRedo && header.block_count == 0))
    return corrupt("log record: " + std::to_string(header.block_count) + " blocks");
  if (header.record_bytes != record_bytes(header.block_count, log.block_bytes))
    return corrupt("log record: length " + std::to_string(header.record_bytes) + " does not fit " +
                   std::to_string(header.block_count) + " blocks");
  return header;
}

Result<LogRecord> decode_log_record(std::span<const std::byte> bytes, const LogHeader& log) {
  FF_ASSIGN_OR_RETURN(RecordHeader header, decode_record_header(bytes, log));
  if (bytes.size() < header.record_bytes)
    return corrupt("log record: truncated body");
  bytes = bytes.first(header.record_bytes);
  if (load64(bytes, kRecordChecksumAt) != checksum_without(bytes, kRecordChecksumAt))
    return corrupt("log record: checksum mismatch");
  LogRecord record;
  record.kind = header.kind;
  record.epoch = header.epoch;
  record.txn_id = header.txn_id;
  for (std::uint32_t i = 0; i < header.block_count; ++i) {
    LogEntry entry{load64(bytes, kRecordHeaderBytes + i * kEntryBytes),
                   load64(bytes, kRecordHeaderBytes + i * kEntryBytes + 8)};
    if (entry.block_index >= log.data_blocks)
      return corrupt("log record: block " + std::to_string(entry.block_index) +
                     " beyond the data volume's " + std::to_string(log.data_blocks) + " blocks");
    record.entries.push_back(entry);
  }
  const std::size_t images_at = kRecordHeaderBytes + header.block_count * kEntryBytes;
  record.images.assign(bytes.begin() + static_cast<std::ptrdiff_t>(images_at), bytes.end());
  // Each image must be the sealed block the entry names.
  for (std::uint32_t i = 0; i < header.block_count; ++i) {
    auto image = std::span<const std::byte>(record.images)
                     .subspan(std::size_t{i} * log.block_bytes, log.block_bytes);
    DataBlock block = inspect_data_block(image, record.entries[i].block_index);
    if (block.state != DataBlock::State::kValid || block.txn_id != record.txn_id ||
        block.checksum != record.entries[i].checksum)
      return corrupt("log record: image of block " + std::to_string(record.entries[i].block_index) +
                     " does not match its entry");
  }
  return record;
}

std::uint64_t seal_data_block(std::span<std::byte> block, std::uint64_t txn_id,
                              std::uint64_t block_index) {
  store32(block, kBlockMagicAt, kDataBlockMagic);
  store32(block, kBlockVersionAt, kFormatVersion);
  store64(block, kBlockTxnAt, txn_id);
  store64(block, kBlockIndexAt, block_index);
  const std::uint64_t checksum = checksum_without(block, kBlockChecksumAt);
  store64(block, kBlockChecksumAt, checksum);
  return checksum;
}

DataBlock inspect_data_block(std::span<const std::byte> block, std::uint64_t block_index) {
  DataBlock result;
  if (std::all_of(block.begin(), block.end(), [](std::byte b) { return b == std::byte{0}; }))
    return result;
  result.state = DataBlock::State::kTorn;
  if (block.size() < kDataHeaderBytes || load32(block, kBlockMagicAt) != kDataBlockMagic ||
      load32(block, kBlockVersionAt) != kFormatVersion ||
      load64(block, kBlockIndexAt) != block_index)
    return result;
  const std::uint64_t checksum = load64(block, kBlockChecksumAt);
  if (checksum != checksum_without(block, kBlockChecksumAt))
    return result;
  result.state = DataBlock::State::kValid;
  result.txn_id = load64(block, kBlockTxnAt);
  result.checksum = checksum;
  return result;
}

}  // namespace freezeframe::sim::records

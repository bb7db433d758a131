// On-volume records of the simulated transactional app (see docs/simulation.md,
// "Transactional app"): the log header, redo records and commit markers, and data block
// headers. All integers little-endian; every record checksummed with XXH3-64 computed with
// its checksum field as zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "freezeframe/status.h"

namespace freezeframe::sim::records {

inline constexpr std::uint32_t kLogHeaderMagic = 0x484c4646;  // "FFLH"
inline constexpr std::uint32_t kLogRecordMagic = 0x524c4646;  // "FFLR"
inline constexpr std::uint32_t kDataBlockMagic = 0x42444646;  // "FFDB"
inline constexpr std::uint16_t kFormatVersion = 1;

inline constexpr std::size_t kLogHeaderBytes = 64;
inline constexpr std::size_t kRecordHeaderBytes = 40;
inline constexpr std::size_t kEntryBytes = 16;
inline constexpr std::size_t kDataHeaderBytes = 32;

struct LogHeader {
  std::uint32_t block_bytes = 0;
  std::uint32_t blocks_per_transaction_max = 0;
  std::uint64_t data_blocks = 0;
  std::uint64_t epoch = 0;
  std::uint64_t checkpoint_txn = 0;
  std::uint64_t log_bytes = 0;  // records live in [record_align_bytes, log_bytes)
  // Records start at this offset and are padded to multiples of it (the log's sector size).
  std::uint32_t record_align_bytes = 0;
};

void encode_log_header(const LogHeader& header, std::span<std::byte> out);
// Checks magic, version, checksum and that the fields are in range.
Result<LogHeader> decode_log_header(std::span<const std::byte> bytes);

enum class RecordKind : std::uint8_t { kRedo = 1, kCommit = 2 };

struct LogEntry {
  std::uint64_t block_index = 0;
  std::uint64_t checksum = 0;  // the data block's own checksum (its header field)
};

struct LogRecord {
  RecordKind kind = RecordKind::kRedo;
  std::uint64_t epoch = 0;
  std::uint64_t txn_id = 0;
  std::vector<LogEntry> entries;
  // kRedo: entries.size() whole block images, each block_bytes long, in entry order.
  std::vector<std::byte> images;
};

// Unpadded size of a record with `blocks` entries.
std::uint64_t record_bytes(std::uint32_t blocks, std::uint32_t block_bytes);
// The record, padded with zeros to a multiple of `align_bytes`.
std::vector<std::byte> encode_log_record(const LogRecord& record, std::uint32_t align_bytes);

struct RecordHeader {
  RecordKind kind = RecordKind::kRedo;
  std::uint32_t block_count = 0;
  std::uint32_t record_bytes = 0;
  std::uint64_t epoch = 0;
  std::uint64_t txn_id = 0;
};
// Parses the fixed header (magic, version, kind, sizes); the checksum is checked by
// decode_log_record over the whole record.
Result<RecordHeader> decode_record_header(std::span<const std::byte> bytes, const LogHeader& log);
Result<LogRecord> decode_log_record(std::span<const std::byte> bytes, const LogHeader& log);

// Fills the header of `block` (its payload already in place) and returns its checksum.
std::uint64_t seal_data_block(std::span<std::byte> block, std::uint64_t txn_id,
                              std::uint64_t block_index);

struct DataBlock {
  enum class State : std::uint8_t { kBlank, kValid, kTorn };
  State state = State::kBlank;
  std::uint64_t txn_id = 0;
  std::uint64_t checksum = 0;
};
// kBlank: all zeros (never written). kTorn: anything else that is not a whole block sealed
// for `block_index`.
DataBlock inspect_data_block(std::span<const std::byte> block, std::uint64_t block_index);

}  // namespace freezeframe::sim::records

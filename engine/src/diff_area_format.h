// The diff area's on-disk format: encoding and validating parsing of the superblock, the
// journal blocks and the journal records. Documented in docs/formats/diff-area.md.
//
// Everything is little-endian and fixed-width (Boost.Endian). Parsers take bytes, check every
// bound and checksum (XXH3-64), and return kCorrupt / kUnsupportedVersion with a message that
// names the structure, the field and the value; they never read outside the span given.
//
// Layout of a diff volume:
//   [0, 512)                superblock (one copy; a sector write is atomic, so an update is
//                           old or new, never torn)
//   [log_offset[0], +log_area_bytes)   journal area 0
//   [log_offset[1], +log_area_bytes)   journal area 1
//   [sum_offset, +sum_bytes)            chunk checksum table (version 2), one entry per slot
//   [data_offset, +data_slots * chunk_bytes)   data slots, one chunk each
// The active journal area starts with a checkpoint (the full state, checkpoint_blocks blocks)
// and continues with commit groups. When it fills, a new checkpoint is written into the other
// area and the superblock is switched to it (generation + 1).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "freezeframe/diff_area_settings.h"
#include "freezeframe/status.h"
#include "freezeframe/uuid.h"

namespace freezeframe::format {

inline constexpr std::array<char, 8> kSuperblockMagic = {'F', 'F', 'D', 'I', 'F', 'F', 'A', 'R'};
// Version 2 added the chunk checksum table and per-sector journal checksums; version 1 images
// are read and upgraded in place (diff_area_upgrade.cpp). Version 3 added the change-tracking
// records (kCbtGeneration, kCbtMark, kCbtSnapshot); a version 2 area is upgraded by a
// checkpoint that starts tracking and a superblock that says 3.
inline constexpr std::uint32_t kFormatVersion = 3;
inline constexpr std::uint32_t kFormatVersionV2 = 2;
inline constexpr std::uint32_t kFormatVersionV1 = 1;
inline constexpr std::size_t kSuperblockBytes = 512;
// Offset of the checksum in the superblock; it covers bytes [0, kSuperblockChecksumOffset).
inline constexpr std::size_t kSuperblockChecksumOffset = 504;

inline constexpr std::array<char, 4> kLogBlockMagic = {'F', 'F', 'L', 'B'};
inline constexpr std::size_t kLogBlockBytes = 4096;
// Version 2 journal blocks (log_block_format.cpp): eight 512-byte sectors, each ending in its
// own sequence and checksum, so a torn write (whole old or new sectors) is told apart from
// damage (a sector that fails its checksum). The 48-byte header opens sector 0; the payload
// follows it across the sectors' content bytes.
inline constexpr std::uint16_t kLogBlockVersion = 2;
inline constexpr std::size_t kLogSectorBytes = 512;
inline constexpr std::size_t kLogSectorsPerBlock = kLogBlockBytes / kLogSectorBytes;
inline constexpr std::size_t kLogSectorContentBytes = kLogSectorBytes - 16;
inline constexpr std::size_t kLogBlockHeaderBytes = 48;
inline constexpr std::size_t kLogBlockPayloadBytesMax =
    kLogSectorsPerBlock * kLogSectorContentBytes - kLogBlockHeaderBytes;
// Version 1 journal blocks: one checksum over the 56-byte header and the payload.
inline constexpr std::uint16_t kLogBlockVersionV1 = 1;
inline constexpr std::size_t kLogBlockHeaderBytesV1 = 56;
inline constexpr std::size_t kLogBlockPayloadBytesMaxV1 = kLogBlockBytes - kLogBlockHeaderBytesV1;
// Bytes of one chunk checksum table entry (XXH3-64 of the stored bytes, seeded with the chunk
// number).
inline constexpr std::size_t kChunkSumBytes = 8;
// A commit group is at most this many blocks (bounds the scan after a torn group).
inline constexpr std::uint32_t kGroupBlocksMax = 256;

// Slot value meaning "this version of the chunk is in the origin" (RoW after consolidation).
inline constexpr std::uint32_t kOriginSlot = 0xffffffffu;

inline constexpr std::uint32_t kChunkBytesMin = 4096;
inline constexpr std::uint32_t kChunkBytesMax = 1u << 20;

struct Superblock {
  std::uint32_t format_version = kFormatVersion;
  std::uint64_t generation = 0;
  std::uint8_t provider_kind = 0;    // 1 CoW, 2 RoW
  std::uint8_t overflow_policy = 0;  // 1 delete-oldest, 2 fail-writes, 3 invalidate-snapshot
  std::uint8_t flags = 0;            // bit 0: chunks are zstd-compressed
  std::uint32_t chunk_bytes = 0;
  std::uint32_t sector_bytes = 0;  // of the diff volume when formatted
  std::uint32_t snapshots_max = 0;
  std::uint8_t limit_kind = 0;  // DiffAreaLimit::Kind
  std::uint64_t limit_value = 0;
  std::uint64_t origin_bytes = 0;
  Uuid origin_uuid;
  Uuid diff_area_uuid;
  std::uint64_t volume_bytes = 0;  // of the diff volume when formatted
  std::uint64_t log_area_bytes = 0;
  std::array<std::uint64_t, 2> log_offset{};
  std::uint64_t data_offset = 0;
  std::uint64_t data_slots = 0;
  std::uint8_t active_log = 0;
  std::uint64_t log_start_sequence = 0;  // sequence of the first block of the active area
  std::uint32_t checkpoint_blocks = 0;   // blocks of the checkpoint that opens the active area
  // Version 2: the chunk checksum table (sum_bytes 0 in version 1), and its state:
  // kSumTableRebuilding while an upgrade or a repair fills it (its entries are not checked).
  std::uint8_t sum_table_state = 0;
  std::uint64_t sum_offset = 0;
  std::uint64_t sum_bytes = 0;
};

inline constexpr std::uint8_t kSumTableValid = 0;
inline constexpr std::uint8_t kSumTableRebuilding = 1;

// Bytes of the checksum table for `slots` data slots (whole 4096-byte blocks).
std::uint64_t sum_table_bytes(std::uint64_t slots) noexcept;
// The checksum of a chunk's stored bytes (a raw chunk or a compressed frame).
std::uint64_t chunk_checksum(std::uint64_t chunk, std::span<const std::byte> stored) noexcept;

inline constexpr std::uint8_t kFlagCompressed = 0x01;

// Writes exactly kSuperblockBytes (reserved bytes zero, checksum last).
void encode_superblock(const Superblock& superblock, std::span<std::byte, kSuperblockBytes> out);

// Validates and decodes. Checks, in order: size; magic (kCorrupt "not a freezeframe diff
// area"); checksum (kCorrupt; it sits at the same offset in every version, so a damaged
// version field is corruption, never "newer"); version (kUnsupportedVersion if newer than
// kFormatVersion, kCorrupt if 0); then every field: known provider kind, policy, limit kind and
// flags; chunk size a power of two in [kChunkBytesMin, kChunkBytesMax]; sector size 512 or 4096;
// snapshots_max in [1, 512]; log areas, data area and superblock inside `volume_bytes`, aligned to
// the sector size, not overlapping; log_area_bytes a non-zero multiple of kLogBlockBytes;
// active_log 0 or 1; checkpoint_blocks <= log_area_bytes / kLogBlockBytes; version 2: the
// checksum table holds an entry per data slot and the reserved bytes are zero. `volume_bytes` is
// the size of the volume the superblock was read from (a truncated volume fails here).
// `bytes` may be longer than kSuperblockBytes (a whole 4096-byte sector); only the first
// kSuperblockBytes are read. The layout must also fit the volume_bytes field itself.
Result<Superblock> decode_superblock(std::span<const std::byte> bytes, std::uint64_t volume_bytes);

enum class RecordType : std::uint8_t {
  kSnapshotCreate = 1,      // tag, id, set_id, created_ns, attributes
  kSnapshotDelete = 2,      // tag
  kSnapshotInvalidate = 3,  // tag, reason
  kMapAdd = 4,              // chunk, tag, slot, stored_bytes
  kRevert = 5,              // tag: revert to snapshot `tag` begun
  kRevertDone = 6,          // tag: its data copy finished
  kMapToOrigin = 7,         // chunk, tag: the version tagged `tag` now lives in the origin
  kLimit = 8,               // limit_kind, limit_value, policy
  kState = 9,               // next_tag, revert_tag (0 = none): written in checkpoints
  kMapRemove = 10,          // chunk, tag: the version is dropped (discard of a RoW chunk)
  // Version 3: change tracking (change_tracker.h).
  kCbtGeneration = 11,  // cbt_epoch, cbt_generation, cbt_retained: a generation begins
  kCbtMark = 12,        // chunk, chunk_count: chunks changed in the current generation
  kCbtSnapshot = 13,    // tag, cbt_epoch, cbt_generation: the generation a snapshot began
};

// One journal record. Only the fields of its type are meaningful; the others are zero.
struct Record {
  RecordType type = RecordType::kState;
  std::uint32_t tag = 0;
  Uuid id;
  Uuid set_id;
  std::int64_t created_ns = 0;
  std::uint32_t attributes = 0;
  std::uint8_t reason = 0;
  std::uint64_t chunk = 0;
  std::uint32_t slot = 0;
  std::uint32_t stored_bytes = 0;  // bytes of the slot used (< chunk_bytes when compressed)
  std::uint8_t limit_kind = 0;
  std::uint64_t limit_value = 0;
  std::uint8_t policy = 0;
  std::uint32_t next_tag = 0;
  std::uint32_t revert_tag = 0;
  std::uint64_t cbt_epoch = 0;
  std::uint64_t cbt_generation = 0;
  std::uint32_t cbt_retained = 0;
  std::uint64_t chunk_count = 0;

  friend bool operator==(const Record&, const Record&) = default;
};

// The kLimit record that sets the limit and the overflow policy.
Record limit_record(const DiffAreaLimit& limit, OverflowPolicy policy) noexcept;

// Encoded form: [type u8][body length u8][body]. Body sizes are fixed per type.
// encoded_record_bytes is the whole encoded size (2 + body), 0 for an unknown type.
std::size_t encoded_record_bytes(RecordType type) noexcept;
void append_record(const Record& record, std::vector<std::byte>& payload);
// Decodes a whole payload. kCorrupt on an unknown type, a length that does not match the
// type, or a record running past the end.
Result<std::vector<Record>> decode_records(std::span<const std::byte> payload);

struct LogBlockHeader {
  std::uint64_t sequence = 0;
  std::uint64_t group_first_sequence = 0;
  std::uint32_t group_block_count = 0;
  std::uint32_t payload_bytes = 0;
  Uuid diff_area_uuid;
};

// ----- version 2 journal blocks (log_block_format.cpp)
//
// Header in sector 0: magic[4] version u16 reserved u16 sequence u64 group_first_sequence u64
// group_block_count u32 payload_bytes u32 diff_area_uuid[16]. Sector i (0 to 7) holds 496
// content bytes, then the block's sequence u64 and the XXH3-64, seeded with i, of the
// sector's first 504 bytes. The content bytes of the eight sectors, in order, are the header,
// the payload and zeros.
// REQUIRES: payload.size() == header.payload_bytes <= kLogBlockPayloadBytesMax.
void encode_log_block(const LogBlockHeader& header, std::span<const std::byte> payload,
                      std::span<std::byte, kLogBlockBytes> out);

struct DecodedLogBlock {
  LogBlockHeader header;
  std::vector<std::byte> payload;
};
// Every sector must pass its checksum and carry the header's sequence. kCorrupt for a wrong
// magic, a failed sector, payload_bytes too large, inconsistent group fields, a non-zero
// reserved field or unused byte; kUnsupportedVersion for a newer block version.
// `block` may be longer than kLogBlockBytes; only the first kLogBlockBytes are read.
Result<DecodedLogBlock> decode_log_block(std::span<const std::byte> block);

// What a sector of a journal block holds, judged on its own: never written (all zeros),
// intact (its checksum matches; `sequence` is its block's), or damaged. A torn write leaves
// each sector whole, old or new, so only damage makes a sector fail.
enum class LogSector : std::uint8_t { kBlank, kIntact, kDamaged };
struct LogSectorState {
  LogSector kind = LogSector::kBlank;
  std::uint64_t sequence = 0;
};
std::array<LogSectorState, kLogSectorsPerBlock> inspect_log_sectors(
    std::span<const std::byte> block);

// ----- version 1 journal blocks (read for the upgrade; written only by tests)
//
// Header: magic[4] version u16 reserved u16 sequence u64 group_first_sequence u64
// group_block_count u32 payload_bytes u32 diff_area_uuid[16] checksum u64 (XXH3-64 of
// header bytes [0, 48) followed by the payload bytes). Unused payload bytes are zero.
// REQUIRES: payload.size() == header.payload_bytes <= kLogBlockPayloadBytesMaxV1.
void encode_log_block_v1(const LogBlockHeader& header, std::span<const std::byte> payload,
                         std::span<std::byte, kLogBlockBytes> out);

struct DecodedLogBlockV1 {
  LogBlockHeader header;
  std::span<const std::byte> payload;  // points into the input
};
// As decode_log_block() for the version 1 layout; a version 2 block is kCorrupt here.
Result<DecodedLogBlockV1> decode_log_block_v1(std::span<const std::byte> block);

// ----- resealing (tests and fuzz targets only)
//
// Recompute the checksums of bytes changed on purpose, so that the checks behind the checksum
// see the change: a field damaged with a valid checksum (a bug in a writer, or a forged image)
// must still be refused by the decoder's own validation. The fuzz targets reseal some inputs
// (tests/fuzz/diff_area_format_fuzz.cpp), as dbsqlfuzz and the qcow2 image fuzzer do.
// The superblock's checksum over [0, kSuperblockChecksumOffset).
void reseal_superblock(std::span<std::byte, kSuperblockBytes> block) noexcept;
// Every sector's trailer of a version 2 block: the header's sequence, then the checksum.
void reseal_log_block(std::span<std::byte, kLogBlockBytes> block) noexcept;
// The version 1 block's checksum, over the payload_bytes its header states (at most
// kLogBlockPayloadBytesMaxV1).
void reseal_log_block_v1(std::span<std::byte, kLogBlockBytes> block) noexcept;

}  // namespace freezeframe::format

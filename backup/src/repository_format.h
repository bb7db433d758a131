// The repository's on-disk records (docs/formats/repository.md): config, pack header, frame
// header, pack trailer, index file, manifest and set record. Encoders build the bytes;
// parsers take bytes from outside, check every bound, magic, version and checksum, and fail
// with kCorrupt (kUnsupportedVersion for a newer format) naming the file and the offset.
// Each parser can be called on its own (a fuzz target feeds it arbitrary bytes). Private to
// the backup library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "chunk_hash.h"
#include "freezeframe/status.h"
#include "freezeframe/uuid.h"

namespace freezeframe::backup_detail {

constexpr std::uint32_t kFormatVersion = 1;

// ---- config ----
constexpr std::size_t kConfigBytes = 64;

struct RepositoryConfig {
  std::uint32_t chunk_bytes = 0;
  std::int32_t compression_level = 1;
  std::uint32_t pack_bytes_target = 0;
  std::uint32_t frame_plain_bytes = 0;
  Uuid repository_id{};
};

// OK if every field is within the bounds of repository.h.
Status validate_config(const RepositoryConfig& config);
std::vector<std::byte> encode_config(const RepositoryConfig& config);
Result<RepositoryConfig> parse_config(std::span<const std::byte> bytes, const std::string& file);

// ---- packs ----
constexpr std::size_t kPackHeaderBytes = 16;
constexpr std::size_t kFrameHeaderBytes = 24;
constexpr std::size_t kPackEntryBytes = 32;
constexpr std::size_t kPackFooterBytes = 32;
// Parse bounds: no frame holds more plain bytes, no pack more chunks.
constexpr std::uint32_t kFramePlainBytesMax = 4 * 1024 * 1024;
constexpr std::uint64_t kPackChunksMax = std::uint64_t{1} << 24;

// Where a chunk lies in its pack: the frame (header included) and the chunk's range in the
// frame's plain bytes.
struct ChunkLocation {
  std::uint32_t frame_offset = 0;
  std::uint32_t frame_length = 0;
  std::uint32_t offset_in_frame = 0;
  std::uint32_t length = 0;
  friend bool operator==(const ChunkLocation&, const ChunkLocation&) = default;
};

struct PackEntry {
  ChunkHash hash{};
  ChunkLocation location{};
};

std::vector<std::byte> encode_pack_header();
Status parse_pack_header(std::span<const std::byte> bytes, const std::string& file);

// Frame header for a zstd frame `payload` holding `plain_length` plain bytes.
std::vector<std::byte> encode_frame_header(std::uint32_t plain_length,
                                           std::span<const std::byte> payload);
struct ParsedFrame {
  std::span<const std::byte> payload{};
  std::uint32_t plain_length = 0;
};
// Checks a whole frame (header and payload) read from `file` at `offset` and returns its
// payload. kCorrupt when the magic, lengths or checksum do not match; `plain_length`, when
// not 0, must match too.
Result<ParsedFrame> parse_frame(std::span<const std::byte> frame, std::uint32_t plain_length,
                                const std::string& file, std::uint64_t offset);

// The trailer: the chunk entries, then the footer.
std::vector<std::byte> encode_pack_trailer(std::span<const PackEntry> entries);
// From the footer (the last kPackFooterBytes of a pack of `file_bytes` bytes): how many
// bytes the whole trailer takes.
Result<std::uint64_t> parse_pack_footer(std::span<const std::byte> footer, std::uint64_t file_bytes,
                                        const std::string& file);
// The whole trailer (entries and footer) read from the end of a pack of `file_bytes` bytes.
Result<std::vector<PackEntry>> parse_pack_trailer(std::span<const std::byte> trailer,
                                                  std::uint64_t file_bytes,
                                                  const std::string& file);

// Shared by the pack and index parsers: the four location fields, and their bounds.
class ByteReader;
ChunkLocation read_index_location(ByteReader& in);
Status check_index_location(const ChunkLocation& location, const ByteReader& reader,
                            std::uint64_t at);

// ---- index files ----
constexpr std::size_t kIndexHeaderBytes = 32;
constexpr std::size_t kIndexEntryBytes = 36;
constexpr std::uint64_t kIndexEntriesMax = std::uint64_t{1} << 32;

struct IndexFileEntry {
  ChunkHash hash{};
  std::uint32_t pack = 0;  // ordinal into IndexFile::packs
  ChunkLocation location{};
};

struct IndexFile {
  std::vector<ChunkHash> packs{};
  // Sorted by hash, no duplicates.
  std::vector<IndexFileEntry> entries{};
};

std::vector<std::byte> encode_index(const IndexFile& index);
Result<IndexFile> parse_index(std::span<const std::byte> bytes, const std::string& file);

// ---- manifests ----
// A volume's chunk list is bounded: 16 bytes of memory per chunk while it is used.
constexpr std::uint64_t kManifestChunksMax = std::uint64_t{1} << 24;
constexpr std::size_t kChangeIdBytesMax = 4096;
constexpr std::size_t kVolumeNameBytesMax = 4096;

struct Manifest {
  std::string volume_name{};
  Uuid volume_id{};
  Uuid snapshot_id{};
  Uuid set_id{};
  std::int64_t time_ns = 0;
  std::string change_id{};
  std::uint64_t volume_bytes = 0;
  std::uint32_t chunk_bytes = 0;
  std::optional<ChunkHash> parent{};
  // With a parent: counted from a full backup (flag bit 1) rather than incremental.
  bool differential = false;
  // One entry per chunk of the volume; the zero hash marks an all-zero chunk.
  std::vector<ChunkHash> chunks{};
};

std::uint64_t chunk_count_of(std::uint64_t volume_bytes, std::uint32_t chunk_bytes);
std::vector<std::byte> encode_manifest(const Manifest& manifest);
Result<Manifest> parse_manifest(std::span<const std::byte> bytes, const std::string& file);

// ---- set records ----
constexpr std::size_t kSetVolumesMax = 4096;

struct SetRecord {
  Uuid set_id{};
  std::int64_t time_ns = 0;
  std::vector<ChunkHash> manifests{};
};

std::vector<std::byte> encode_set_record(const SetRecord& record);
Result<SetRecord> parse_set_record(std::span<const std::byte> bytes, const std::string& file);

}  // namespace freezeframe::backup_detail

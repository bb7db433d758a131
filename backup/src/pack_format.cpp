// Config, pack header, frame header and pack trailer: encoders and bound-checking parsers.
#include <cstring>
#include <string>

#include "byte_codec.h"
#include "freezeframe/repository.h"
#include "repository_format.h"

namespace freezeframe::backup_detail {

namespace {

constexpr char kConfigMagic[] = "FFREPCFG";
constexpr char kPackMagic[] = "FFREPACK";
constexpr char kFrameMagic[] = "FFRM";
constexpr char kFooterMagic[] = "FFPKTAIL";

bool is_power_of_two(std::uint64_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

void put_magic(ByteWriter& out, const char* magic, std::size_t length) {
  out.raw(std::as_bytes(std::span(magic, length)));
}

bool magic_matches(std::span<const std::byte> bytes, const char* magic, std::size_t length) {
  return bytes.size() >= length && std::memcmp(bytes.data(), magic, length) == 0;
}

// The location bounds every chunk entry meets, wherever it is read from; `data_end` is the
// end of a pack's frames (0: unknown).
Status check_location(const ChunkLocation& location, std::uint64_t data_end,
                      const ByteReader& reader, std::uint64_t at) {
  std::uint64_t frame_end = std::uint64_t{location.frame_offset} + location.frame_length;
  if (location.frame_offset < kPackHeaderBytes)
    return reader.error_at(at, "frame offset " + std::to_string(location.frame_offset) +
                                   " lies inside the pack header");
  if (location.frame_length <= kFrameHeaderBytes)
    return reader.error_at(
        at, "frame length " + std::to_string(location.frame_length) + " is too short for a frame");
  if (data_end != 0 && frame_end > data_end)
    return reader.error_at(at, "frame [" + std::to_string(location.frame_offset) + ", " +
                                   std::to_string(frame_end) + ") runs past the frames' end " +
                                   std::to_string(data_end));
  if (location.length == 0 || location.length > kRepositoryChunkBytesMax)
    return reader.error_at(at,
                           "chunk length " + std::to_string(location.length) + " is out of bounds");
  if (std::uint64_t{location.offset_in_frame} + location.length > kFramePlainBytesMax)
    return reader.error_at(at, "chunk range in frame [" + std::to_string(location.offset_in_frame) +
                                   ", +" + std::to_string(location.length) + ") is out of bounds");
  return Status();
}

ChunkLocation read_location(ByteReader& in) {
  ChunkLocation location;
  location.frame_offset = in.u32("frame offset");
  location.frame_length = in.u32("frame length");
  location.offset_in_frame = in.u32("offset in frame");
  location.length = in.u32("chunk length");
  return location;
}

}  // namespace

// ---- config ----

Status validate_config(const RepositoryConfig& config) {
  if (!is_power_of_two(config.chunk_bytes) || config.chunk_bytes < kRepositoryChunkBytesMin ||
      config.chunk_bytes > kRepositoryChunkBytesMax)
    return invalid_argument("chunk size " + std::to_string(config.chunk_bytes) +
                            " is not a power of two from 4 KiB to 4 MiB");
  if (config.compression_level < 1 || config.compression_level > 19)
    return invalid_argument("compression level " + std::to_string(config.compression_level) +
                            " is not from 1 to 19");
  if (config.pack_bytes_target < kRepositoryPackBytesMin ||
      config.pack_bytes_target > kRepositoryPackBytesMax)
    return invalid_argument("pack size target " + std::to_string(config.pack_bytes_target) +
                            " is not from 1 MiB to 1 GiB");
  if (config.frame_plain_bytes < config.chunk_bytes ||
      config.frame_plain_bytes > kFramePlainBytesMax ||
      config.frame_plain_bytes % config.chunk_bytes != 0)
    return invalid_argument("frame size " + std::to_string(config.frame_plain_bytes) +
                            " is not a multiple of the chunk size up to 4 MiB");
  return Status();
}

std::vector<std::byte> encode_config(const RepositoryConfig& config) {
  ByteWriter out;
  put_magic(out, kConfigMagic, 8);
  out.u32(kFormatVersion);
  out.u32(config.chunk_bytes);
  out.u32(static_cast<std::uint32_t>(config.compression_level));
  out.u32(config.pack_bytes_target);
  out.u32(config.frame_plain_bytes);
  out.u32(0);
  out.raw(config.repository_id.bytes());
  out.u64(0);
  out.u64(checksum64(out.bytes()));
  return std::move(out.bytes());
}

Result<RepositoryConfig> parse_config(std::span<const std::byte> bytes, const std::string& file) {
  ByteReader in(bytes, file);
  if (!magic_matches(bytes, kConfigMagic, 8))
    return in.error("not a freezeframe repository config (bad magic)");
  (void)in.take("magic", 8);
  std::uint32_t version = in.u32("format version");
  FF_TRY(in.status());
  if (version > kFormatVersion)
    return unsupported_version("'" + file + "': repository format version " +
                               std::to_string(version) + " is newer than version " +
                               std::to_string(kFormatVersion) +
                               " that this freezeframe reads; use a newer freezeframe");
  if (version == 0)
    return in.error_at(8, "format version 0 is not valid");
  if (bytes.size() != kConfigBytes)
    return in.error_at(0, "config is " + std::to_string(bytes.size()) + " bytes, not " +
                              std::to_string(kConfigBytes));
  if (checksum64(bytes.first(kConfigBytes - 8)) !=
      boost::endian::load_little_u64(reinterpret_cast<const unsigned char*>(bytes.data()) +
                                     kConfigBytes - 8))
    return in.error_at(kConfigBytes - 8, "config checksum mismatch");
  RepositoryConfig config;
  config.chunk_bytes = in.u32("chunk size");
  config.compression_level = static_cast<std::int32_t>(in.u32("compression level"));
  config.pack_bytes_target = in.u32("pack size target");
  config.frame_plain_bytes = in.u32("frame size");
  std::uint32_t reserved = in.u32("reserved");
  std::array<std::uint8_t, 16> id{};
  in.raw("repository id", id);
  std::uint64_t reserved2 = in.u64("reserved");
  FF_TRY(in.status());
  if (reserved != 0 || reserved2 != 0)
    return in.error_at(28, "reserved fields are not zero");
  config.repository_id = Uuid(id);
  Status valid = validate_config(config);
  if (!valid.ok())
    return in.error_at(12, valid.message());
  return config;
}

// ---- packs ----

std::vector<std::byte> encode_pack_header() {
  ByteWriter out;
  put_magic(out, kPackMagic, 8);
  out.u32(kFormatVersion);
  out.u32(0);
  return std::move(out.bytes());
}

Status parse_pack_header(std::span<const std::byte> bytes, const std::string& file) {
  ByteReader in(bytes, file);
  if (!magic_matches(bytes, kPackMagic, 8))
    return in.error("not a pack (bad magic)");
  (void)in.take("magic", 8);
  std::uint32_t version = in.u32("format version");
  std::uint32_t reserved = in.u32("reserved");
  FF_TRY(in.status());
  if (version > kFormatVersion)
    return unsupported_version("'" + file + "': pack format version " + std::to_string(version) +
                               " is newer than this freezeframe reads");
  if (version == 0 || reserved != 0)
    return in.error_at(8, "bad pack format version or reserved field");
  return Status();
}

namespace {
std::uint64_t frame_seed(std::uint32_t plain_length, std::uint32_t stored_length) {
  return (std::uint64_t{stored_length} << 32) | plain_length;
}
}  // namespace

std::vector<std::byte> encode_frame_header(std::uint32_t plain_length,
                                           std::span<const std::byte> payload) {
  ByteWriter out;
  put_magic(out, kFrameMagic, 4);
  auto stored = static_cast<std::uint32_t>(payload.size());
  out.u32(plain_length);
  out.u32(stored);
  out.u32(0);
  out.u64(checksum64(payload, frame_seed(plain_length, stored)));
  return std::move(out.bytes());
}

Result<ParsedFrame> parse_frame(std::span<const std::byte> frame, std::uint32_t plain_length,
                                const std::string& file, std::uint64_t offset) {
  ByteReader in(frame, file, offset);
  if (!magic_matches(frame, kFrameMagic, 4))
    return in.error("not a frame (bad magic)");
  (void)in.take("magic", 4);
  std::uint32_t plain = in.u32("plain length");
  std::uint32_t stored = in.u32("stored length");
  std::uint32_t reserved = in.u32("reserved");
  std::uint64_t checksum = in.u64("checksum");
  FF_TRY(in.status());
  if (reserved != 0 || plain == 0 || plain > kFramePlainBytesMax)
    return in.error_at(offset, "bad frame header (plain length " + std::to_string(plain) + ")");
  if (stored != frame.size() - kFrameHeaderBytes)
    return in.error_at(offset, "frame stores " + std::to_string(stored) +
                                   " bytes, the index says " +
                                   std::to_string(frame.size() - kFrameHeaderBytes));
  if (plain_length != 0 && plain != plain_length)
    return in.error_at(offset, "frame holds " + std::to_string(plain) + " plain bytes, expected " +
                                   std::to_string(plain_length));
  auto payload = frame.subspan(kFrameHeaderBytes);
  if (checksum64(payload, frame_seed(plain, stored)) != checksum)
    return in.error_at(offset, "frame checksum mismatch");
  return ParsedFrame{payload, plain};
}

std::vector<std::byte> encode_pack_trailer(std::span<const PackEntry> entries) {
  ByteWriter out;
  for (const PackEntry& entry : entries) {
    out.raw(entry.hash.bytes);
    out.u32(entry.location.frame_offset);
    out.u32(entry.location.frame_length);
    out.u32(entry.location.offset_in_frame);
    out.u32(entry.location.length);
  }
  put_magic(out, kFooterMagic, 8);
  out.u64(entries.size());
  out.u64(0);
  out.u64(checksum64(out.bytes()));
  return std::move(out.bytes());
}

Result<std::uint64_t> parse_pack_footer(std::span<const std::byte> footer, std::uint64_t file_bytes,
                                        const std::string& file) {
  std::uint64_t footer_offset = file_bytes >= kPackFooterBytes ? file_bytes - kPackFooterBytes : 0;
  ByteReader in(footer, file, footer_offset);
  if (file_bytes < kPackHeaderBytes + kPackFooterBytes || footer.size() != kPackFooterBytes)
    return in.error_at(0, "pack of " + std::to_string(file_bytes) +
                              " bytes is too short for a header and a trailer");
  if (!magic_matches(footer, kFooterMagic, 8))
    return in.error("no pack trailer (bad footer magic)");
  (void)in.take("magic", 8);
  std::uint64_t count = in.u64("chunk count");
  FF_TRY(in.status());
  if (count > kPackChunksMax ||
      count * kPackEntryBytes > file_bytes - kPackHeaderBytes - kPackFooterBytes)
    return in.error_at(footer_offset + 8,
                       "chunk count " + std::to_string(count) + " does not fit the pack");
  return count * kPackEntryBytes + kPackFooterBytes;
}

Result<std::vector<PackEntry>> parse_pack_trailer(std::span<const std::byte> trailer,
                                                  std::uint64_t file_bytes,
                                                  const std::string& file) {
  if (trailer.size() < kPackFooterBytes || trailer.size() > file_bytes)
    return corrupt("'" + file + "': pack trailer of " + std::to_string(trailer.size()) +
                   " bytes does not fit the pack");
  FF_ASSIGN_OR_RETURN(std::uint64_t trailer_bytes,
                      parse_pack_footer(trailer.last(kPackFooterBytes), file_bytes, file));
  std::uint64_t trailer_offset = file_bytes - trailer.size();
  ByteReader in(trailer, file, trailer_offset);
  if (trailer_bytes != trailer.size())
    return in.error_at(file_bytes - kPackFooterBytes, "trailer size does not match its footer");
  std::uint64_t stored = boost::endian::load_little_u64(
      reinterpret_cast<const unsigned char*>(trailer.data()) + trailer.size() - 8);
  if (checksum64(trailer.first(trailer.size() - 8)) != stored)
    return in.error_at(file_bytes - 8, "pack trailer checksum mismatch");
  std::uint64_t count = (trailer.size() - kPackFooterBytes) / kPackEntryBytes;
  std::vector<PackEntry> entries(count);
  for (PackEntry& entry : entries) {
    std::uint64_t at = in.offset();
    in.raw("chunk hash", entry.hash.bytes);
    entry.location = read_location(in);
    FF_TRY(in.status());
    if (entry.hash.is_zero())
      return in.error_at(at, "chunk entry has the zero hash");
    FF_TRY(check_location(entry.location, trailer_offset, in, at));
  }
  return entries;
}

// ---- shared with the index parser ----

Status check_index_location(const ChunkLocation& location, const ByteReader& reader,
                            std::uint64_t at) {
  return check_location(location, 0, reader, at);
}

ChunkLocation read_index_location(ByteReader& in) {
  return read_location(in);
}

}  // namespace freezeframe::backup_detail

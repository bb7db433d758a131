// Index files: encoder and bound-checking parser.
#include <cstring>
#include <string>

#include "byte_codec.h"
#include "repository_format.h"

namespace freezeframe::backup_detail {

namespace {
constexpr char kIndexMagic[] = "FFREPIDX";
}  // namespace

std::vector<std::byte> encode_index(const IndexFile& index) {
  ByteWriter out;
  out.raw(std::as_bytes(std::span(kIndexMagic, 8)));
  out.u32(kFormatVersion);
  out.u32(static_cast<std::uint32_t>(index.packs.size()));
  out.u64(index.entries.size());
  out.u64(0);
  for (const ChunkHash& pack : index.packs)
    out.raw(pack.bytes);
  for (const IndexFileEntry& entry : index.entries) {
    out.raw(entry.hash.bytes);
    out.u32(entry.pack);
    out.u32(entry.location.frame_offset);
    out.u32(entry.location.frame_length);
    out.u32(entry.location.offset_in_frame);
    out.u32(entry.location.length);
  }
  out.u64(checksum64(out.bytes()));
  return std::move(out.bytes());
}

Result<IndexFile> parse_index(std::span<const std::byte> bytes, const std::string& file) {
  ByteReader in(bytes, file);
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kIndexMagic, 8) != 0)
    return in.error_at(0, "not an index file (bad magic)");
  (void)in.take("magic", 8);
  std::uint32_t version = in.u32("format version");
  std::uint32_t pack_count = in.u32("pack count");
  std::uint64_t entry_count = in.u64("entry count");
  std::uint64_t reserved = in.u64("reserved");
  FF_TRY(in.status());
  if (bytes.size() < kIndexHeaderBytes + 8)
    return in.error_at(0, "index file of " + std::to_string(bytes.size()) + " bytes is too short");
  // The checksum first: a damaged version field is damage, not a newer format.
  std::uint64_t stored = boost::endian::load_little_u64(
      reinterpret_cast<const unsigned char*>(bytes.data()) + bytes.size() - 8);
  if (checksum64(bytes.first(bytes.size() - 8)) != stored)
    return in.error_at(bytes.size() - 8, "index checksum mismatch");
  if (version > kFormatVersion)
    return unsupported_version("'" + file + "': index format version " + std::to_string(version) +
                               " is newer than this freezeframe reads");
  if (version == 0 || reserved != 0)
    return in.error_at(8, "bad index format version or reserved field");
  if (entry_count > kIndexEntriesMax)
    return in.error_at(16, "entry count " + std::to_string(entry_count) + " is out of bounds");
  std::uint64_t expected =
      kIndexHeaderBytes + std::uint64_t{pack_count} * 16 + entry_count * kIndexEntryBytes + 8;
  if (expected != bytes.size())
    return in.error_at(12, std::to_string(pack_count) + " packs and " +
                               std::to_string(entry_count) + " entries need " +
                               std::to_string(expected) + " bytes, the file has " +
                               std::to_string(bytes.size()));
  IndexFile index;
  index.packs.resize(pack_count);
  for (ChunkHash& pack : index.packs)
    in.raw("pack id", pack.bytes);
  index.entries.resize(entry_count);
  for (std::size_t i = 0; i < index.entries.size(); ++i) {
    IndexFileEntry& entry = index.entries[i];
    std::uint64_t at = in.offset();
    in.raw("chunk hash", entry.hash.bytes);
    entry.pack = in.u32("pack ordinal");
    entry.location = read_index_location(in);
    FF_TRY(in.status());
    if (entry.hash.is_zero())
      return in.error_at(at, "entry has the zero hash");
    if (i > 0 && !(index.entries[i - 1].hash < entry.hash))
      return in.error_at(at, "entries are not sorted by hash");
    if (entry.pack >= pack_count)
      return in.error_at(at + 16, "pack ordinal " + std::to_string(entry.pack) +
                                      " is not below the pack count " + std::to_string(pack_count));
    FF_TRY(check_index_location(entry.location, in, at + 20));
  }
  return index;
}

}  // namespace freezeframe::backup_detail

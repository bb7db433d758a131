// Manifests (a volume backup's chunk list, run-length encoded) and set records: encoders and
// bound-checking parsers.
#include <cstring>
#include <string>

#include "byte_codec.h"
#include "freezeframe/repository.h"
#include "repository_format.h"

namespace freezeframe::backup_detail {

namespace {

constexpr char kManifestMagic[] = "FFREPMAN";
constexpr char kSetMagic[] = "FFREPSET";

enum RunKind : std::uint8_t { kZeroRun = 0, kLiteralRun = 1, kRepeatRun = 2 };

bool is_power_of_two(std::uint64_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

// Magic, version and trailing checksum, shared by manifests and set records.
Status check_envelope(std::span<const std::byte> bytes, const char* magic, const char* what,
                      const std::string& file) {
  ByteReader in(bytes, file);
  if (bytes.size() < 20 || std::memcmp(bytes.data(), magic, 8) != 0)
    return in.error_at(0, std::string("not a ") + what + " (bad magic or too short)");
  // The checksum first: a damaged version field is damage, not a newer format (the config
  // is what gates newer formats; a repository it admits holds no newer records).
  std::uint64_t stored = boost::endian::load_little_u64(
      reinterpret_cast<const unsigned char*>(bytes.data()) + bytes.size() - 8);
  if (checksum64(bytes.first(bytes.size() - 8)) != stored)
    return in.error_at(bytes.size() - 8, std::string(what) + " checksum mismatch");
  std::uint32_t version =
      boost::endian::load_little_u32(reinterpret_cast<const unsigned char*>(bytes.data()) + 8);
  if (version > kFormatVersion)
    return unsupported_version("'" + file + "': " + what + " format version " +
                               std::to_string(version) + " is newer than this freezeframe reads");
  if (version == 0)
    return in.error_at(8, "format version 0 is not valid");
  return Status();
}

Uuid read_uuid(ByteReader& in, const char* field) {
  std::array<std::uint8_t, 16> bytes{};
  in.raw(field, bytes);
  return Uuid(bytes);
}

}  // namespace

constexpr std::uint32_t kManifestHasParent = 1u << 0;
constexpr std::uint32_t kManifestDifferential = 1u << 1;

std::uint64_t chunk_count_of(std::uint64_t volume_bytes, std::uint32_t chunk_bytes) {
  return (volume_bytes + chunk_bytes - 1) / chunk_bytes;
}

std::vector<std::byte> encode_manifest(const Manifest& manifest) {
  ByteWriter out;
  out.raw(std::as_bytes(std::span(kManifestMagic, 8)));
  out.u32(kFormatVersion);
  out.u32((manifest.parent ? kManifestHasParent : 0u) |
          (manifest.parent && manifest.differential ? kManifestDifferential : 0u));
  out.u32(manifest.chunk_bytes);
  out.u32(0);
  out.u64(manifest.volume_bytes);
  out.u64(static_cast<std::uint64_t>(manifest.time_ns));
  out.raw(manifest.volume_id.bytes());
  out.raw(manifest.snapshot_id.bytes());
  out.raw(manifest.set_id.bytes());
  out.raw(manifest.parent ? manifest.parent->bytes : ChunkHash{}.bytes);
  out.text(manifest.volume_name);
  out.text(manifest.change_id);
  // Runs: zeros, one hash repeated, or distinct hashes listed one by one.
  const auto& chunks = manifest.chunks;
  std::size_t runs_at = out.size();
  out.u64(0);
  std::uint64_t runs = 0;
  std::size_t i = 0;
  while (i < chunks.size()) {
    std::size_t j = i + 1;
    if (chunks[i].is_zero()) {
      while (j < chunks.size() && chunks[j].is_zero())
        ++j;
      out.u8(kZeroRun);
      out.u64(j - i);
    } else if (j < chunks.size() && chunks[j] == chunks[i]) {
      while (j < chunks.size() && chunks[j] == chunks[i])
        ++j;
      out.u8(kRepeatRun);
      out.u64(j - i);
      out.raw(chunks[i].bytes);
    } else {
      while (j < chunks.size() && !chunks[j].is_zero() &&
             !(j + 1 < chunks.size() && chunks[j + 1] == chunks[j]))
        ++j;
      out.u8(kLiteralRun);
      out.u64(j - i);
      for (std::size_t k = i; k < j; ++k)
        out.raw(chunks[k].bytes);
    }
    ++runs;
    i = j;
  }
  boost::endian::store_little_u64(reinterpret_cast<unsigned char*>(out.bytes().data() + runs_at),
                                  runs);
  out.u64(checksum64(out.bytes()));
  return std::move(out.bytes());
}

Result<Manifest> parse_manifest(std::span<const std::byte> bytes, const std::string& file) {
  FF_TRY(check_envelope(bytes, kManifestMagic, "manifest", file));
  ByteReader in(bytes.first(bytes.size() - 8), file);
  (void)in.take("magic", 12);
  Manifest manifest;
  std::uint32_t flags = in.u32("flags");
  manifest.chunk_bytes = in.u32("chunk size");
  std::uint32_t reserved = in.u32("reserved");
  manifest.volume_bytes = in.u64("volume size");
  manifest.time_ns = static_cast<std::int64_t>(in.u64("time"));
  manifest.volume_id = read_uuid(in, "volume id");
  manifest.snapshot_id = read_uuid(in, "snapshot id");
  manifest.set_id = read_uuid(in, "set id");
  ChunkHash parent;
  in.raw("parent", parent.bytes);
  FF_TRY(in.status());
  if ((flags & ~(kManifestHasParent | kManifestDifferential)) != 0 || reserved != 0)
    return in.error_at(12, "unknown flags or reserved field set");
  if ((flags & kManifestDifferential) != 0 && (flags & kManifestHasParent) == 0)
    return in.error_at(12, "flags mark a differential backup without a parent");
  if ((flags & kManifestHasParent) != 0)
    manifest.parent = parent;
  manifest.differential = (flags & kManifestDifferential) != 0;
  if (!is_power_of_two(manifest.chunk_bytes) || manifest.chunk_bytes < kRepositoryChunkBytesMin ||
      manifest.chunk_bytes > kRepositoryChunkBytesMax)
    return in.error_at(16, "chunk size " + std::to_string(manifest.chunk_bytes) + " is not valid");
  std::uint64_t count = chunk_count_of(manifest.volume_bytes, manifest.chunk_bytes);
  if (manifest.volume_bytes == 0 || count > kManifestChunksMax)
    return in.error_at(24, "volume size " + std::to_string(manifest.volume_bytes) +
                               " is zero or more chunks than " +
                               std::to_string(kManifestChunksMax));
  manifest.volume_name = in.text("volume name");
  manifest.change_id = in.text("change id");
  std::uint64_t runs = in.u64("run count");
  FF_TRY(in.status());
  if (runs > count)
    return in.error_at(in.offset() - 8, "more runs than chunks");
  manifest.chunks.reserve(count);
  for (std::uint64_t r = 0; r < runs; ++r) {
    std::uint64_t at = in.offset();
    std::uint8_t kind = in.u8("run kind");
    std::uint64_t length = in.u64("run length");
    FF_TRY(in.status());
    if (length == 0 || length > count - manifest.chunks.size())
      return in.error_at(at, "run of " + std::to_string(length) + " chunks does not fit the " +
                                 std::to_string(count - manifest.chunks.size()) + " left");
    if (kind == kZeroRun) {
      manifest.chunks.insert(manifest.chunks.end(), length, ChunkHash{});
    } else if (kind == kRepeatRun || kind == kLiteralRun) {
      std::uint64_t hashes = kind == kRepeatRun ? 1 : length;
      if (hashes * 16 > in.remaining())
        return in.error_at(at, "run of " + std::to_string(length) + " runs past the end");
      for (std::uint64_t h = 0; h < hashes; ++h) {
        ChunkHash hash;
        in.raw("chunk hash", hash.bytes);
        if (hash.is_zero())
          return in.error_at(in.offset() - 16, "data run holds the zero hash");
        manifest.chunks.insert(manifest.chunks.end(), kind == kRepeatRun ? length : 1, hash);
      }
    } else {
      return in.error_at(at, "unknown run kind " + std::to_string(kind));
    }
  }
  FF_TRY(in.status());
  if (manifest.chunks.size() != count)
    return in.error("runs hold " + std::to_string(manifest.chunks.size()) + " chunks, not " +
                    std::to_string(count));
  if (in.remaining() != 0)
    return in.error(std::to_string(in.remaining()) + " stray bytes after the runs");
  return manifest;
}

std::vector<std::byte> encode_set_record(const SetRecord& record) {
  ByteWriter out;
  out.raw(std::as_bytes(std::span(kSetMagic, 8)));
  out.u32(kFormatVersion);
  out.u32(static_cast<std::uint32_t>(record.manifests.size()));
  out.raw(record.set_id.bytes());
  out.u64(static_cast<std::uint64_t>(record.time_ns));
  for (const ChunkHash& manifest : record.manifests)
    out.raw(manifest.bytes);
  out.u64(checksum64(out.bytes()));
  return std::move(out.bytes());
}

Result<SetRecord> parse_set_record(std::span<const std::byte> bytes, const std::string& file) {
  FF_TRY(check_envelope(bytes, kSetMagic, "set record", file));
  ByteReader in(bytes.first(bytes.size() - 8), file);
  (void)in.take("magic", 12);
  SetRecord record;
  std::uint32_t count = in.u32("volume count");
  record.set_id = read_uuid(in, "set id");
  record.time_ns = static_cast<std::int64_t>(in.u64("time"));
  FF_TRY(in.status());
  if (count == 0 || count > kSetVolumesMax || std::uint64_t{count} * 16 != in.remaining())
    return in.error_at(
        12, "volume count " + std::to_string(count) + " does not match the record's size");
  record.manifests.resize(count);
  for (ChunkHash& manifest : record.manifests)
    in.raw("manifest id", manifest.bytes);
  FF_TRY(in.status());
  return record;
}

}  // namespace freezeframe::backup_detail

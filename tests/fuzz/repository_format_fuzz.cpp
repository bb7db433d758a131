// Fuzz target: the backup repository's records (backup/src/repository_format.h), which are
// read back from a directory anyone may have damaged: the config, a pack's header, frames,
// footer and trailer, index files, manifests and set records. Byte 0 picks the parser, and
// for the pack footer and trailer bytes 1-4 give the pack's file size; the rest is the record.
// A record that parses must encode back to the same bytes (each format has one encoding),
// else the target traps.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "chunk_hash.h"
#include "fuzz_support.h"
#include "repository_format.h"

namespace ff = freezeframe;
namespace bd = freezeframe::backup_detail;

namespace {

constexpr std::uint8_t kConfig = 0;
constexpr std::uint8_t kPackHeader = 1;
constexpr std::uint8_t kFrame = 2;
constexpr std::uint8_t kPackFooter = 3;
constexpr std::uint8_t kPackTrailer = 4;
constexpr std::uint8_t kIndex = 5;
constexpr std::uint8_t kManifest = 6;
constexpr std::uint8_t kSetRecord = 7;
constexpr std::uint8_t kParsers = 8;

const std::string kFile = "fuzz";

void must_round_trip(const char* what, std::span<const std::byte> in,
                     const std::vector<std::byte>& encoded) {
  if (encoded.size() == in.size() && std::equal(encoded.begin(), encoded.end(), in.begin()))
    return;
  std::fprintf(stderr, "%s parsed but does not encode back to its %zu bytes\n", what, in.size());
  __builtin_trap();
}

ff::fuzz::Input tagged(std::uint8_t parser, const std::vector<std::byte>& bytes,
                       std::uint32_t file_bytes = 0) {
  ff::fuzz::Input out{parser};
  if (parser == kPackFooter || parser == kPackTrailer) {
    for (int i = 0; i < 4; ++i)
      out.push_back(static_cast<std::uint8_t>(file_bytes >> (8 * i)));
  }
  const ff::fuzz::Input body = ff::fuzz::bytes_of(bytes);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

bd::ChunkHash hash_of(std::uint8_t value) {
  bd::ChunkHash hash;
  hash.bytes.fill(value);
  return hash;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ff::fuzz::Reader in(data, size);
  const std::uint8_t parser = in.byte() % kParsers;
  const std::uint32_t file_bytes = (parser == kPackFooter || parser == kPackTrailer) ? in.u32() : 0;
  const std::span<const std::byte> bytes = in.rest();
  switch (parser) {
    case kConfig:
      if (auto config = bd::parse_config(bytes, kFile); config.ok())
        must_round_trip("config", bytes, bd::encode_config(*config));
      break;
    case kPackHeader:
      (void)bd::parse_pack_header(bytes, kFile);
      break;
    case kFrame:
      (void)bd::parse_frame(bytes, 0, kFile, 0);
      break;
    case kPackFooter:
      (void)bd::parse_pack_footer(bytes, file_bytes, kFile);
      break;
    case kPackTrailer:
      (void)bd::parse_pack_trailer(bytes, file_bytes, kFile);
      break;
    case kIndex:
      if (auto index = bd::parse_index(bytes, kFile); index.ok())
        must_round_trip("index", bytes, bd::encode_index(*index));
      break;
    case kManifest:
      if (auto manifest = bd::parse_manifest(bytes, kFile); manifest.ok())
        must_round_trip("manifest", bytes, bd::encode_manifest(*manifest));
      break;
    default:
      if (auto record = bd::parse_set_record(bytes, kFile); record.ok())
        must_round_trip("set record", bytes, bd::encode_set_record(*record));
      break;
  }
  return 0;
}

std::vector<ff::fuzz::Input> ff::fuzz::seeds() {
  std::vector<Input> out;
  out.push_back(tagged(kConfig, bd::encode_config({.chunk_bytes = 64 * 1024,
                                                   .compression_level = 3,
                                                   .pack_bytes_target = 4 << 20,
                                                   .frame_plain_bytes = 256 * 1024,
                                                   .repository_id = ff::Uuid::from_name("repo")})));
  out.push_back(tagged(kPackHeader, bd::encode_pack_header()));
  const std::vector<std::byte> payload(40, std::byte{0x28});
  std::vector<std::byte> frame = bd::encode_frame_header(4096, payload);
  frame.insert(frame.end(), payload.begin(), payload.end());
  out.push_back(tagged(kFrame, frame));
  const std::vector<bd::PackEntry> entries = {
      {hash_of(1), {.frame_offset = 16, .frame_length = 64, .offset_in_frame = 0, .length = 4096}},
      {hash_of(2),
       {.frame_offset = 16, .frame_length = 64, .offset_in_frame = 4096, .length = 4096}}};
  const std::vector<std::byte> trailer = bd::encode_pack_trailer(entries);
  const auto pack_bytes = static_cast<std::uint32_t>(16 + 64 + trailer.size());
  out.push_back(tagged(kPackTrailer, trailer, pack_bytes));
  out.push_back(tagged(kPackFooter,
                       std::vector<std::byte>(trailer.end() - bd::kPackFooterBytes, trailer.end()),
                       pack_bytes));
  bd::IndexFile index;
  index.packs = {hash_of(9)};
  index.entries = {{hash_of(1), 0, entries[0].location}, {hash_of(2), 0, entries[1].location}};
  out.push_back(tagged(kIndex, bd::encode_index(index)));
  bd::Manifest manifest;
  manifest.volume_name = "data";
  manifest.volume_id = ff::Uuid::from_name("volume");
  manifest.snapshot_id = ff::Uuid::from_name("snapshot");
  manifest.set_id = ff::Uuid::from_name("set");
  manifest.time_ns = 1'700'000'000'000'000'000;
  manifest.change_id = "ffcbt1:12345678-1234-1234-1234-123456789abc:0000000000000001:7";
  manifest.volume_bytes = 3 * 64 * 1024;
  manifest.chunk_bytes = 64 * 1024;
  manifest.chunks = {hash_of(1), bd::ChunkHash{}, hash_of(2)};
  out.push_back(tagged(kManifest, bd::encode_manifest(manifest)));
  manifest.parent = hash_of(7);
  out.push_back(tagged(kManifest, bd::encode_manifest(manifest)));
  out.push_back(tagged(kSetRecord, bd::encode_set_record({.set_id = ff::Uuid::from_name("set"),
                                                          .time_ns = 1'700'000'000'000'000'000,
                                                          .manifests = {hash_of(3), hash_of(4)}})));
  return out;
}

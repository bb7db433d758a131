// Fuzz target: a whole damaged diff area through SnapshotProvider::open(), then a read of the
// live volume and of every snapshot, as `freezeframe` does with an image from disk. Like
// QEMU's qcow2 image fuzzer, it damages a valid image rather than inventing one: two images
// (CoW and RoW, each with snapshots, preserved chunks and change tracking) are built once
// from a fixed seed, and the input says which one and what to overwrite.
//
// Input: byte 0 bit 0 picks the kind (CoW, RoW), bit 1 asks for a write and a new snapshot
// after the open, bit 2 reseals; then patches of 4 bytes each: a 24-bit little-endian offset
// into the diff volume (modulo its size) and the byte to store there. Resealing recomputes the
// checksums of the superblock and of every journal block that is not blank after the patches
// (diff_area_format.h, "resealing"), so that damage reaches the validation behind them.
//
// Any error from open() or a read is fine; a crash, a leak, a sanitizer report or a broken
// engine assertion is not. Without resealing, damage is what a disk does, and the standing
// rule holds: a read that succeeds returns the undamaged image's bytes (the live volume's, or
// the snapshot's with that id), never other bytes; the target traps otherwise. (A resealed
// image is a forged one, and may legitimately describe other contents.)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "diff_area_format.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/snapshot_provider.h"
#include "fuzz_support.h"

namespace ff = freezeframe;

namespace {

constexpr std::uint64_t kOriginBytes = 128 * 1024;
constexpr std::uint64_t kDiffBytes = 2 * 1024 * 1024;
constexpr std::uint32_t kChunkBytes = 4096;

// Built images must exist; a failure here is a broken harness, not a finding.
template <typename T>
T must(ff::Result<T> result) {
  if (!result.ok()) {
    std::fprintf(stderr, "cannot build the image: %s\n", result.status().to_string().c_str());
    std::abort();
  }
  return std::move(result).value();
}
void must(const ff::Status& status) {
  if (!status.ok()) {
    std::fprintf(stderr, "cannot build the image: %s\n", status.to_string().c_str());
    std::abort();
  }
}

std::unique_ptr<ff::MemoryVolume> memory_volume(const char* name, std::uint64_t bytes,
                                                const char* uuid_name) {
  return must(ff::MemoryVolume::create(
      {.name = name, .size_bytes = bytes, .uuid = ff::Uuid::from_name(uuid_name)}));
}

std::vector<std::byte> read_all(ff::Volume& volume) {
  std::vector<std::byte> bytes(volume.size_bytes());
  must(volume.read(0, bytes));
  return bytes;
}

struct Image {
  std::vector<std::byte> origin;
  std::vector<std::byte> diff;
  // What the undamaged image reads: the live volume, and each snapshot by id.
  std::vector<std::byte> live;
  std::vector<std::pair<ff::Uuid, std::vector<std::byte>>> snapshots;
  ff::format::Superblock superblock;
};

// A diff area with two snapshots, preserved or redirected chunks under both, one deleted
// snapshot and a change id, over an origin with a recognisable pattern.
Image build_image(ff::ProviderKind kind) {
  auto origin = memory_volume("origin", kOriginBytes, "fuzz origin");
  auto diff = memory_volume("diff", kDiffBytes, "fuzz diff");
  ff::sim::SimClock clock;
  ff::Random random(16);
  {
    auto provider = must(ff::SnapshotProvider::create(kind, *origin, *diff,
                                                      {.chunk_bytes = kChunkBytes,
                                                       .limit = ff::DiffAreaLimit::unbounded(),
                                                       .snapshots_max = 8,
                                                       .clock = &clock,
                                                       .random = &random}));
    std::vector<std::byte> block(kChunkBytes);
    for (int round = 0; round < 4; ++round) {
      for (std::size_t i = 0; i < block.size(); ++i)
        block[i] = static_cast<std::byte>(i * 7 + round);
      must(provider->write(static_cast<std::uint64_t>(round) * 3 * kChunkBytes, block));
      must(provider->write(kChunkBytes, block));
      const ff::SnapshotInfo info = must(provider->create_snapshot());
      if (round == 1)
        must(provider->delete_snapshot(info.id));
    }
    (void)must(provider->new_change_id());
    must(provider->write(5 * kChunkBytes, block));
    must(provider->flush());
  }
  Image out{read_all(*origin), read_all(*diff), {}, {}, {}};
  ff::sim::SimClock reopen_clock;
  ff::Random reopen_random(16);
  auto reopened = must(ff::SnapshotProvider::open(
      *origin, *diff, {.clock = &reopen_clock, .random = &reopen_random}));
  out.live = read_all(*reopened);
  for (const ff::SnapshotInfo& info : reopened->snapshots())
    out.snapshots.emplace_back(info.id, read_all(*must(reopened->open_snapshot(info.id))));
  out.superblock = must(ff::format::decode_superblock(
      std::span<const std::byte>(out.diff).first(ff::format::kSuperblockBytes), kDiffBytes));
  return out;
}

// Recomputes the checksums of the superblock and of every journal block not left blank.
void reseal(const ff::format::Superblock& superblock, std::vector<std::byte>& diff) {
  namespace format = ff::format;
  format::reseal_superblock(
      std::span<std::byte, format::kSuperblockBytes>(diff.data(), format::kSuperblockBytes));
  for (std::uint64_t area : superblock.log_offset) {
    for (std::uint64_t at = area; at + format::kLogBlockBytes <= area + superblock.log_area_bytes &&
                                  at + format::kLogBlockBytes <= diff.size();
         at += format::kLogBlockBytes) {
      const std::span<std::byte, format::kLogBlockBytes> block(diff.data() + at,
                                                               format::kLogBlockBytes);
      if (std::all_of(block.begin(), block.end(), [](std::byte b) { return b == std::byte{0}; }))
        continue;
      if (block[4] == std::byte{format::kLogBlockVersionV1} && block[5] == std::byte{0})
        format::reseal_log_block_v1(block);
      else
        format::reseal_log_block(block);
    }
  }
}

// A successful read of damaged (not resealed) bytes must return the undamaged bytes.
void must_be_right(const char* what, const std::vector<std::byte>& read,
                   const std::vector<std::byte>* expected) {
  if (expected != nullptr && read == *expected)
    return;
  std::fprintf(
      stderr, "%s: a read of a damaged diff area succeeded with %s bytes\n", what,
      expected == nullptr ? "a snapshot the undamaged image does not have, and its" : "wrong");
  __builtin_trap();
}

const Image& image(ff::ProviderKind kind) {
  static const Image cow = build_image(ff::ProviderKind::kCopyOnWrite);
  static const Image row = build_image(ff::ProviderKind::kRedirectOnWrite);
  return kind == ff::ProviderKind::kCopyOnWrite ? cow : row;
}

// The volume's bytes, or nothing when the read fails.
std::optional<std::vector<std::byte>> read_through(ff::Volume& volume) {
  std::vector<std::byte> bytes(volume.size_bytes() < kOriginBytes ? volume.size_bytes()
                                                                  : kOriginBytes);
  if (!volume.read(0, bytes).ok())
    return std::nullopt;
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ff::fuzz::Reader in(data, size);
  const std::uint8_t mode = in.byte();
  const ff::ProviderKind kind =
      (mode & 1) != 0 ? ff::ProviderKind::kRedirectOnWrite : ff::ProviderKind::kCopyOnWrite;
  const Image& built = image(kind);
  std::vector<std::byte> diff_bytes = built.diff;
  while (in.remaining() >= 4) {
    std::uint32_t offset = in.byte();
    offset |= std::uint32_t{in.byte()} << 8;
    offset |= std::uint32_t{in.byte()} << 16;
    diff_bytes[offset % diff_bytes.size()] = static_cast<std::byte>(in.byte());
  }
  const bool resealed = (mode & 4) != 0;
  if (resealed)
    reseal(built.superblock, diff_bytes);
  auto origin = memory_volume("origin", kOriginBytes, "fuzz origin");
  auto diff = memory_volume("diff", kDiffBytes, "fuzz diff");
  must(origin->write(0, built.origin));
  must(diff->write(0, diff_bytes));

  ff::sim::SimClock clock;
  ff::Random random(16);
  auto opened = ff::SnapshotProvider::open(*origin, *diff, {.clock = &clock, .random = &random});
  if (!opened.ok())
    return 0;
  ff::SnapshotProvider& provider = **opened;
  auto live = read_through(provider);
  if (live && !resealed)
    must_be_right("the live volume", *live, &built.live);
  for (const ff::SnapshotInfo& info : provider.snapshots()) {
    auto snapshot = provider.open_snapshot(info.id);
    if (!snapshot.ok())
      continue;
    auto bytes = read_through(**snapshot);
    if (!bytes || resealed)
      continue;
    const std::vector<std::byte>* expected = nullptr;
    for (const auto& [id, content] : built.snapshots) {
      if (id == info.id)
        expected = &content;
    }
    must_be_right("a snapshot", *bytes, expected);
  }
  if ((mode & 2) != 0) {
    std::vector<std::byte> block(kChunkBytes, std::byte{0x5a});
    (void)provider.write(2 * kChunkBytes, block);
    (void)provider.create_snapshot();
    (void)provider.flush();
  }
  return 0;
}

std::vector<ff::fuzz::Input> ff::fuzz::seeds() {
  // The undamaged images, each kind with and without the write, and a few single-byte
  // patches in the superblock and the first log blocks.
  std::vector<Input> out;
  for (std::uint8_t mode = 0; mode < 8; ++mode)
    out.push_back({mode});
  for (std::uint32_t offset : {8u, 64u, 4096u + 40u, 8192u + 100u}) {
    for (std::uint8_t mode : {0, 4})
      out.push_back({mode, static_cast<std::uint8_t>(offset),
                     static_cast<std::uint8_t>(offset >> 8),
                     static_cast<std::uint8_t>(offset >> 16), 0xff});
  }
  return out;
}

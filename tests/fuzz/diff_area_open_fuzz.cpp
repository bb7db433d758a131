// Fuzz target: a whole damaged diff area through SnapshotProvider::open(), then a read of the
// live volume and of every snapshot, as `freezeframe` does with an image from disk. Like
// QEMU's qcow2 image fuzzer, it damages a valid image rather than inventing one: two images
// (CoW and RoW, each with snapshots, preserved chunks and change tracking) are built once
// from a fixed seed, and the input says which one and what to overwrite.
//
// Input: byte 0 bit 0 picks the kind (CoW, RoW), bit 1 asks for a write and a new snapshot
// after the open; then patches of 4 bytes each: a 24-bit little-endian offset into the diff
// volume (modulo its size) and the byte to store there. Any error from open() or a read is
// fine; a crash, a leak, a sanitizer report or a broken engine assertion is not.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

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
  return {read_all(*origin), read_all(*diff)};
}

const Image& image(ff::ProviderKind kind) {
  static const Image cow = build_image(ff::ProviderKind::kCopyOnWrite);
  static const Image row = build_image(ff::ProviderKind::kRedirectOnWrite);
  return kind == ff::ProviderKind::kCopyOnWrite ? cow : row;
}

void read_through(ff::Volume& volume) {
  std::vector<std::byte> bytes(volume.size_bytes() < kOriginBytes ? volume.size_bytes()
                                                                  : kOriginBytes);
  (void)volume.read(0, bytes);
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
  read_through(provider);
  for (const ff::SnapshotInfo& info : provider.snapshots()) {
    auto snapshot = provider.open_snapshot(info.id);
    if (snapshot.ok())
      read_through(**snapshot);
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
  for (std::uint8_t mode = 0; mode < 4; ++mode)
    out.push_back({mode});
  for (std::uint32_t offset : {8u, 64u, 4096u + 40u, 8192u + 100u}) {
    out.push_back({0, static_cast<std::uint8_t>(offset), static_cast<std::uint8_t>(offset >> 8),
                   static_cast<std::uint8_t>(offset >> 16), 0xff});
  }
  return out;
}

// VolumeIo (serve/nbdkit/volume_io.h): byte-granular requests over a sector-addressed volume
// behave as on a byte array, and concurrent unaligned writes that share a sector never undo
// each other.
#include "volume_io.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "freezeframe/memory_volume.h"

namespace freezeframe::nbd {
namespace {

std::unique_ptr<MemoryVolume> make_volume(std::uint64_t size, std::uint32_t sector) {
  auto volume = MemoryVolume::create({.size_bytes = size, .sector_bytes = sector});
  EXPECT_TRUE(volume.ok()) << volume.status().to_string();
  return std::move(volume).value();
}

std::vector<std::byte> read_all(VolumeIo& io, std::uint64_t size) {
  std::vector<std::byte> out(size);
  EXPECT_TRUE(io.read(0, out).ok());
  return out;
}

class VolumeIoModelTest : public ::testing::TestWithParam<std::uint32_t> {};

TEST_P(VolumeIoModelTest, EveryRequestActsAsOnAByteArray) {
  const std::uint32_t sector = GetParam();
  const std::uint64_t size = std::uint64_t{64} * sector;
  auto volume = make_volume(size, sector);
  VolumeIo io(*volume);
  std::vector<std::byte> model(size);
  std::mt19937_64 rng(sector);
  for (int step = 0; step < 2000; ++step) {
    const std::uint64_t offset = rng() % size;
    const std::uint64_t length =
        1 + rng() % std::min<std::uint64_t>(size - offset, std::uint64_t{5} * sector);
    switch (rng() % 5) {
      case 0: {
        std::vector<std::byte> data(length);
        for (auto& b : data)
          b = static_cast<std::byte>(rng());
        ASSERT_TRUE(io.write(offset, data).ok());
        std::memcpy(model.data() + offset, data.data(), length);
        break;
      }
      case 1:
      case 2: {
        ASSERT_TRUE(io.zero(offset, length, rng() % 2 == 0).ok());
        std::memset(model.data() + offset, 0, length);
        break;
      }
      case 3: {
        // Trim: whole sectors inside the range read as zeros; partial ones are untouched.
        ASSERT_TRUE(io.trim(offset, length).ok());
        const std::uint64_t first = (offset + sector - 1) / sector * sector;
        const std::uint64_t last = (offset + length) / sector * sector;
        if (first < last)
          std::memset(model.data() + first, 0, last - first);
        break;
      }
      default: {
        std::vector<std::byte> out(length);
        ASSERT_TRUE(io.read(offset, out).ok());
        ASSERT_EQ(0, std::memcmp(out.data(), model.data() + offset, length)) << "step " << step;
      }
    }
  }
  EXPECT_EQ(read_all(io, size), model);
}

INSTANTIATE_TEST_SUITE_P(SectorSizes, VolumeIoModelTest, ::testing::Values(512u, 4096u));

TEST(VolumeIo, ConcurrentUnalignedWritesSharingSectorsAllLand) {
  const std::uint32_t sector = 512;
  const std::uint64_t size = std::uint64_t{16} * sector;
  auto volume = make_volume(size, sector);
  VolumeIo io(*volume);
  // Each thread owns the bytes i, i + threads, i + 2 * threads, ... in runs of 3 bytes, so
  // every sector is shared by every thread.
  constexpr int kThreads = 4;
  constexpr std::uint64_t kRun = 3;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::vector<std::byte> data(kRun, static_cast<std::byte>(t + 1));
      for (std::uint64_t offset = t * kRun; offset + kRun <= size; offset += kThreads * kRun)
        ASSERT_TRUE(io.write(offset, data).ok());
    });
  }
  for (auto& thread : threads)
    thread.join();
  const std::vector<std::byte> all = read_all(io, size);
  for (std::uint64_t i = 0; i + kRun <= size - size % (kThreads * kRun); ++i)
    ASSERT_EQ(all[i], static_cast<std::byte>(i / kRun % kThreads + 1)) << "byte " << i;
}

TEST(VolumeIo, WritesZerosAndTrimsOnAReadOnlyVolumeFailAsReadOnly) {
  auto volume = MemoryVolume::create({.size_bytes = 8192, .read_only = true});
  ASSERT_TRUE(volume.ok());
  VolumeIo io(**volume);
  const std::vector<std::byte> data(100, std::byte{7});
  EXPECT_EQ(io.write(10, data).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(io.write(512, std::span(data).first(64)).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(io.zero(0, 1024, true).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(io.zero(3, 1024, false).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(io.trim(0, 4096).code(), ErrorCode::kReadOnly);
}

TEST(VolumeIo, AllZeroLooksAtEveryByte) {
  std::vector<std::byte> data(1001);
  EXPECT_TRUE(all_zero(data));
  data[1000] = std::byte{1};
  EXPECT_FALSE(all_zero(data));
  data[1000] = std::byte{0};
  data[3] = std::byte{1};
  EXPECT_FALSE(all_zero(data));
  EXPECT_TRUE(all_zero({}));
}

}  // namespace
}  // namespace freezeframe::nbd

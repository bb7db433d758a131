// Bounded memory: backing up a 16 GiB sparse volume that holds 1 GiB of data keeps the
// process's peak resident memory well under 256 MiB, and the backup restores exactly. The
// source is generated on the fly, so it costs no memory itself.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "backup_rig.h"

namespace freezeframe {
namespace {

using testing::Bytes;
using testing::RepoRig;
using testing::ScratchDir;

constexpr std::uint64_t kVolumeBytes = std::uint64_t{16} << 30;
// 1 MiB of data at the start of every 16 MiB: 1 GiB in all.
constexpr std::uint64_t kStrideBytes = std::uint64_t{16} << 20;
constexpr std::uint64_t kDataBytes = std::uint64_t{1} << 20;

// A read-only volume whose content is a function of the offset: zeros, except the first MiB of
// every 16 MiB, where each 4 KiB starts with its own offset and repeats a pattern after it
// (every chunk distinct, and compressible, so the repository stays small on disk).
class GeneratedVolume final : public Volume {
 public:
  const VolumeIdentity& identity() const noexcept override { return identity_; }
  std::uint64_t size_bytes() const noexcept override { return kVolumeBytes; }
  std::uint32_t sector_bytes() const noexcept override { return 4096; }
  bool read_only() const noexcept override { return true; }

  static std::uint64_t word_at(std::uint64_t offset) {
    if (offset % kStrideBytes >= kDataBytes)
      return 0;
    return offset % 4096 == 0 ? offset | 1 : 0x0123456789abcdef;
  }

 protected:
  Status do_read(std::uint64_t offset, std::span<std::byte> out) override {
    std::size_t i = 0;
    while (i < out.size()) {
      std::uint64_t at = offset + i;
      std::uint64_t in_stride = at % kStrideBytes;
      if (in_stride < kDataBytes) {
        std::size_t end = std::min<std::size_t>(out.size(), i + (kDataBytes - in_stride));
        for (; i < end; i += 8) {
          std::uint64_t word = word_at(offset + i);
          std::memcpy(out.data() + i, &word, 8);
        }
      } else {
        std::size_t end = std::min<std::size_t>(out.size(), i + (kStrideBytes - in_stride));
        std::memset(out.data() + i, 0, end - i);
        i = end;
      }
    }
    return Status();
  }
  Status do_write(std::uint64_t, std::span<const std::byte>) override { return Status(); }
  Status do_flush() override { return Status(); }
  Status do_discard(std::uint64_t, std::uint64_t) override { return Status(); }

 private:
  VolumeIdentity identity_{"generated", Uuid::from_name("generated")};
};

// A write-only target that checks every write against the generated content and counts it.
class CheckingTarget final : public Volume {
 public:
  const VolumeIdentity& identity() const noexcept override { return identity_; }
  std::uint64_t size_bytes() const noexcept override { return kVolumeBytes; }
  std::uint32_t sector_bytes() const noexcept override { return 4096; }
  bool read_only() const noexcept override { return false; }
  std::uint64_t bytes_checked() const { return bytes_checked_; }
  std::uint64_t mismatches() const { return mismatches_; }

 protected:
  Status do_read(std::uint64_t, std::span<std::byte> out) override {
    std::fill(out.begin(), out.end(), std::byte{0});
    return Status();
  }
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override {
    for (std::size_t i = 0; i + 8 <= data.size(); i += 8) {
      std::uint64_t word = 0;
      std::memcpy(&word, data.data() + i, 8);
      mismatches_ += word != GeneratedVolume::word_at(offset + i) ? 1 : 0;
    }
    bytes_checked_ += data.size();
    return Status();
  }
  Status do_flush() override { return Status(); }
  // A discarded range must hold no data: it may not start inside a data region nor reach the
  // next one.
  Status do_discard(std::uint64_t offset, std::uint64_t length) override {
    std::uint64_t next_data = (offset / kStrideBytes + 1) * kStrideBytes;
    if (offset % kStrideBytes < kDataBytes || offset + length > next_data)
      ++mismatches_;
    return Status();
  }

 private:
  VolumeIdentity identity_{"target", Uuid::from_name("target")};
  std::uint64_t bytes_checked_ = 0;
  std::uint64_t mismatches_ = 0;
};

std::uint64_t peak_resident_bytes() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

// GCC says __SANITIZE_ADDRESS__; clang (the sanitizer and fuzzing build) only
// __has_feature(address_sanitizer).
#if defined(__SANITIZE_ADDRESS__)
#define BACKUP_MEMORY_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BACKUP_MEMORY_TEST_ASAN 1
#endif
#endif

// Under AddressSanitizer the backup and the byte-exact restore are checked as everywhere, but
// not the resident bound: ASan's quarantine holds freed memory, so resident size says nothing
// about the backup's own use there.
#if defined(BACKUP_MEMORY_TEST_ASAN)
constexpr bool kResidentBoundMeaningful = false;
#else
constexpr bool kResidentBoundMeaningful = true;
#endif

TEST(BackupMemory, SixteenGibibyteSparseVolumeBacksUpInBoundedMemory) {
  ScratchDir dir;
  RepoRig rig(dir.repo(), {.chunk_bytes = 64 * 1024});
  GeneratedVolume volume;
  std::string id = rig.backup_one(volume);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(rig.last_result().new_chunks, (std::uint64_t{1} << 30) / (std::uint64_t{64} << 10));
  EXPECT_EQ(rig.last_result().bytes_read, kVolumeBytes);
  std::uint64_t peak = peak_resident_bytes();
  if (kResidentBoundMeaningful) {
    EXPECT_LT(peak, std::uint64_t{128} << 20) << "peak resident " << (peak >> 20) << " MiB";
  }

  CheckingTarget target;
  Status restored = restore(rig.repo(), id, target);
  ASSERT_TRUE(restored.ok()) << restored.to_string();
  EXPECT_EQ(target.mismatches(), 0u);
  EXPECT_EQ(target.bytes_checked(), std::uint64_t{1} << 30);
  std::printf("peak resident memory %llu MiB, repository %llu KiB\n",
              static_cast<unsigned long long>(peak_resident_bytes() >> 20),
              static_cast<unsigned long long>(testing::bytes_on_disk(dir.repo()) >> 10));
}

}  // namespace
}  // namespace freezeframe

// Expected state of a volume across crashes, for crash tests of providers.
//
// A Volume promises (invariant 2) that after a crash every 512-byte sector holds either its
// content as of the last completed flush() or the content of one of the writes issued to it
// since — never anything else. SectorModel records, per sector, that durable content and the
// set of contents written since the last completed flush (as XXH3-64 hashes), so a test can
// judge a recovered image sector by sector. It also keeps the image the live volume must
// show while no crash has happened.
#pragma once

#include <xxhash.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace freezeframe::testing {

class SectorModel {
 public:
  static constexpr std::uint64_t kSectorBytes = 512;

  explicit SectorModel(std::uint64_t size_bytes)
      : live_(size_bytes),
        durable_(size_bytes / kSectorBytes),
        pending_(size_bytes / kSectorBytes) {
    flushed();
  }

  const std::vector<std::byte>& live() const noexcept { return live_; }
  std::uint64_t size_bytes() const noexcept { return live_.size(); }

  // Before a write (or discard, with zeros) is issued: a crash from now on may show it.
  void begin_write(std::uint64_t offset, std::span<const std::byte> data) {
    for (std::uint64_t at = 0; at < data.size(); at += kSectorBytes) {
      pending_[(offset + at) / kSectorBytes].push_back(hash(data.subspan(at, kSectorBytes)));
    }
  }
  // After the write returned OK: the live volume reads it.
  void complete_write(std::uint64_t offset, std::span<const std::byte> data) {
    std::memcpy(live_.data() + offset, data.data(), data.size());
  }
  // After a flush() returned OK: everything the live volume reads is durable.
  void flushed() {
    for (std::size_t sector = 0; sector < durable_.size(); ++sector) {
      durable_[sector] = hash(sector_of(live_, sector));
      pending_[sector].clear();
    }
  }
  // Empty if `image` (read after a crash and reopen) is allowed; otherwise names the first
  // sector that is neither durable content nor a write issued since the last flush.
  std::string check_recovered(const std::vector<std::byte>& image) const {
    for (std::size_t sector = 0; sector < durable_.size(); ++sector) {
      std::uint64_t got = hash(sector_of(image, sector));
      if (got == durable_[sector])
        continue;
      const auto& candidates = pending_[sector];
      if (std::find(candidates.begin(), candidates.end(), got) != candidates.end())
        continue;
      return "sector " + std::to_string(sector) + " (offset " +
             std::to_string(sector * kSectorBytes) +
             ") holds neither its durable content nor any write issued since the last flush (" +
             std::to_string(candidates.size()) + " candidates)";
    }
    return {};
  }
  // After a crash: the recovered image is what the volume now holds, durably.
  void adopt(const std::vector<std::byte>& image) {
    live_ = image;
    flushed();
  }

 private:
  static std::span<const std::byte> sector_of(const std::vector<std::byte>& image,
                                              std::size_t sector) {
    return std::span<const std::byte>(image).subspan(sector * kSectorBytes, kSectorBytes);
  }
  static std::uint64_t hash(std::span<const std::byte> bytes) {
    return XXH3_64bits(bytes.data(), bytes.size());
  }

  std::vector<std::byte> live_;
  std::vector<std::uint64_t> durable_;
  std::vector<std::vector<std::uint64_t>> pending_;
};

}  // namespace freezeframe::testing

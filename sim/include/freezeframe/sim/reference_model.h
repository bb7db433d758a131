// The reference model a provider is checked against: what its live volume and each of its
// snapshots must read, and what a crash may leave of the live volume.
//
// SectorModel is the expected state of one volume across crashes. A Volume promises
// (invariant 2) that after a crash every 512-byte sector holds either its content as of the
// last completed flush() or the content of one of the writes issued to it since, never
// anything else. SectorModel records, per sector, that durable content and the contents
// written since the last completed flush (as XXH3-64 hashes), so a checker can judge a
// recovered image sector by sector. It also keeps the image the live volume must show while
// no crash has happened.
//
// ReferenceModel adds the snapshots: the image each one must read, oldest first, in the
// order the provider's catalog must list them. It is a plain in-memory model with none of
// the provider's structure (no chunks, no diff area), so that a bug in the provider cannot
// be mirrored by the model.
//
// Thread-safety: none; one model belongs to one checker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "freezeframe/uuid.h"

namespace freezeframe::sim {

class SectorModel {
 public:
  static constexpr std::uint64_t kSectorBytes = 512;

  // REQUIRES: size_bytes is a multiple of kSectorBytes.
  explicit SectorModel(std::uint64_t size_bytes);

  const std::vector<std::byte>& live() const noexcept { return live_; }
  std::uint64_t size_bytes() const noexcept { return live_.size(); }

  // Before a write (or a discard, with zeros) is issued: a crash from now on may show it.
  void begin_write(std::uint64_t offset, std::span<const std::byte> data);
  // After the write returned OK: the live volume reads it.
  void complete_write(std::uint64_t offset, std::span<const std::byte> data);
  // After a flush() returned OK: everything the live volume reads is durable.
  void flushed();
  // The first sector of `image` (read after a crash and reopen) that holds neither its
  // durable content nor a write issued since the last flush; nullopt if every sector is
  // allowed. REQUIRES: image.size() == size_bytes().
  std::optional<std::uint64_t> first_unrecoverable_sector(std::span<const std::byte> image) const;
  // Empty if `image` is allowed; otherwise names the first sector that is not.
  std::string check_recovered(std::span<const std::byte> image) const;
  // After a crash: the recovered image is what the volume now holds, durably.
  void adopt(std::span<const std::byte> image);

 private:
  std::vector<std::byte> live_;
  std::vector<std::uint64_t> durable_;
  std::vector<std::vector<std::uint64_t>> pending_;
};

struct ModelSnapshot {
  Uuid id{};
  std::vector<std::byte> image{};
};

class ReferenceModel {
 public:
  explicit ReferenceModel(std::uint64_t size_bytes) : live_(size_bytes) {}

  const std::vector<std::byte>& live() const noexcept { return live_.live(); }
  std::uint64_t size_bytes() const noexcept { return live_.size_bytes(); }
  // Oldest first.
  const std::vector<ModelSnapshot>& snapshots() const noexcept { return snapshots_; }
  const SectorModel& sectors() const noexcept { return live_; }

  // A write or discard (zeros) of the live volume, before it is issued and after it
  // returned OK.
  void begin_write(std::uint64_t offset, std::span<const std::byte> data) {
    live_.begin_write(offset, data);
  }
  void complete_write(std::uint64_t offset, std::span<const std::byte> data) {
    live_.complete_write(offset, data);
  }
  // A snapshot `id` was created: it shows the live volume as it is now.
  void snapshot_created(const Uuid& id);
  // A snapshot `id` was created at an earlier instant, when the live volume showed `image`
  // (a snapshot set taken while other tasks wrote). REQUIRES: image.size() == size_bytes().
  void snapshot_created(const Uuid& id, std::vector<std::byte> image);
  // REQUIRES: index < snapshots().size().
  void snapshot_deleted(std::size_t index);
  // A revert to snapshot `index`, before it is issued and after it returned OK: the live
  // volume reads that snapshot's image, and the later snapshots are gone.
  // REQUIRES: index < snapshots().size().
  void begin_revert(std::size_t index);
  void reverted(std::size_t index);
  void flushed() { live_.flushed(); }
  std::optional<std::uint64_t> first_unrecoverable_sector(std::span<const std::byte> image) const {
    return live_.first_unrecoverable_sector(image);
  }
  void adopt(std::span<const std::byte> image) { live_.adopt(image); }
  // Flips every bit of one byte of the expected live image, without telling the provider:
  // for tests that show a checker catches a model and a provider that disagree.
  // REQUIRES: offset < size_bytes().
  void corrupt_live_byte(std::uint64_t offset);

 private:
  SectorModel live_;
  std::vector<ModelSnapshot> snapshots_;
};

}  // namespace freezeframe::sim

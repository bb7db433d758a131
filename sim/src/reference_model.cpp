#include "freezeframe/sim/reference_model.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "freezeframe/assert.h"

namespace freezeframe::sim {
namespace {

std::span<const std::byte> sector_of(std::span<const std::byte> image, std::size_t sector) {
  return image.subspan(sector * SectorModel::kSectorBytes, SectorModel::kSectorBytes);
}

std::uint64_t hash(std::span<const std::byte> bytes) {
  return XXH3_64bits(bytes.data(), bytes.size());
}

}  // namespace

SectorModel::SectorModel(std::uint64_t size_bytes)
    : live_(size_bytes), durable_(size_bytes / kSectorBytes), pending_(size_bytes / kSectorBytes) {
  FF_ASSERT_MSG(size_bytes % kSectorBytes == 0, "SectorModel size is not a multiple of 512");
  flushed();
}

void SectorModel::begin_write(std::uint64_t offset, std::span<const std::byte> data) {
  for (std::uint64_t at = 0; at < data.size(); at += kSectorBytes)
    pending_[(offset + at) / kSectorBytes].push_back(hash(data.subspan(at, kSectorBytes)));
}

void SectorModel::complete_write(std::uint64_t offset, std::span<const std::byte> data) {
  FF_ASSERT(offset + data.size() <= live_.size());
  std::memcpy(live_.data() + offset, data.data(), data.size());
}

void SectorModel::flushed() {
  for (std::size_t sector = 0; sector < durable_.size(); ++sector) {
    durable_[sector] = hash(sector_of(live_, sector));
    pending_[sector].clear();
  }
}

std::optional<std::uint64_t> SectorModel::first_unrecoverable_sector(
    std::span<const std::byte> image) const {
  FF_ASSERT(image.size() == live_.size());
  for (std::size_t sector = 0; sector < durable_.size(); ++sector) {
    std::uint64_t got = hash(sector_of(image, sector));
    if (got == durable_[sector])
      continue;
    const auto& candidates = pending_[sector];
    if (std::find(candidates.begin(), candidates.end(), got) != candidates.end())
      continue;
    return sector;
  }
  return std::nullopt;
}

std::string SectorModel::check_recovered(std::span<const std::byte> image) const {
  std::optional<std::uint64_t> sector = first_unrecoverable_sector(image);
  if (!sector.has_value())
    return {};
  return "sector " + std::to_string(*sector) + " (offset " +
         std::to_string(*sector * kSectorBytes) +
         ") holds neither its durable content nor any write issued since the last flush (" +
         std::to_string(pending_[*sector].size()) + " candidates)";
}

void SectorModel::adopt(std::span<const std::byte> image) {
  FF_ASSERT(image.size() == live_.size());
  std::copy(image.begin(), image.end(), live_.begin());
  flushed();
}

void ReferenceModel::snapshot_created(const Uuid& id) {
  snapshots_.push_back({id, live()});
}

void ReferenceModel::snapshot_created(const Uuid& id, std::vector<std::byte> image) {
  FF_ASSERT(image.size() == size_bytes());
  snapshots_.push_back({id, std::move(image)});
}

void ReferenceModel::snapshot_deleted(std::size_t index) {
  FF_ASSERT(index < snapshots_.size());
  snapshots_.erase(snapshots_.begin() + static_cast<std::ptrdiff_t>(index));
}

void ReferenceModel::begin_revert(std::size_t index) {
  FF_ASSERT(index < snapshots_.size());
  live_.begin_write(0, snapshots_[index].image);
}

void ReferenceModel::reverted(std::size_t index) {
  FF_ASSERT(index < snapshots_.size());
  live_.complete_write(0, snapshots_[index].image);
  snapshots_.resize(index + 1);
}

void ReferenceModel::corrupt_live_byte(std::uint64_t offset) {
  FF_ASSERT(offset < size_bytes());
  const std::byte flipped = ~live()[offset];
  live_.complete_write(offset, std::span<const std::byte>(&flipped, 1));
}

}  // namespace freezeframe::sim

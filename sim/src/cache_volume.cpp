#include "freezeframe/sim/cache_volume.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "freezeframe/assert.h"

namespace freezeframe::sim {
namespace {

bool is_power_of_two(std::uint64_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

}  // namespace

Result<std::unique_ptr<CacheVolume>> CacheVolume::create(Volume& base,
                                                         const CacheVolumeOptions& options) {
  const std::uint32_t unit = options.atomic_write_bytes == 0 ? 512 : options.atomic_write_bytes;
  if (!is_power_of_two(unit) || unit < 512 || unit > base.sector_bytes()) {
    return invalid_argument("write cache over '" + base.name() + "': atomic write size " +
                            std::to_string(unit) +
                            " must be a power of two from 512 to the sector size " +
                            std::to_string(base.sector_bytes()));
  }
  if (!(options.crash_survival_probability >= 0.0 && options.crash_survival_probability <= 1.0)) {
    return invalid_argument("write cache over '" + base.name() +
                            "': crash survival probability must lie in [0, 1]");
  }
  return std::unique_ptr<CacheVolume>(new CacheVolume(base, options));
}

Result<std::unique_ptr<CacheVolume>> CacheVolume::create(std::unique_ptr<Volume> base,
                                                         const CacheVolumeOptions& options) {
  return owning(std::move(base), "write cache",
                [&](Volume& borrowed) { return create(borrowed, options); });
}

CacheVolume::CacheVolume(Volume& base, const CacheVolumeOptions& options)
    : VolumeWrapper(base),
      unit_bytes_(options.atomic_write_bytes == 0 ? 512 : options.atomic_write_bytes),
      options_(options),
      random_(Random(options.seed, options.choices).fork("sim-volume/crash")) {}

CacheVolume::~CacheVolume() = default;

CacheVolumeStats CacheVolume::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void CacheVolume::reset_stats() {
  std::lock_guard lock(mutex_);
  stats_ = CacheVolumeStats{};
}

std::uint64_t CacheVolume::unflushed_bytes() const {
  std::lock_guard lock(mutex_);
  return cache_.size() * unit_bytes_;
}

Status CacheVolume::do_read(std::uint64_t offset, std::span<std::byte> out) {
  std::lock_guard lock(mutex_);
  FF_TRY(base().read(offset, out));
  const std::uint64_t first = offset / unit_bytes_;
  const std::uint64_t end = (offset + out.size()) / unit_bytes_;
  for (auto it = cache_.lower_bound(first); it != cache_.end() && it->first < end; ++it) {
    std::memcpy(out.data() + (it->first - first) * unit_bytes_, it->second.data.get(), unit_bytes_);
  }
  ++stats_.reads;
  stats_.bytes_read += out.size();
  return Status();
}

// REQUIRES: mutex_ held.
Status CacheVolume::check_room(const char* operation, std::uint64_t offset,
                               std::uint64_t bytes) const {
  if (!write_back_refused_ || cached_dirty_bytes_ + bytes <= 2 * options_.cache_bytes_max)
    return Status();
  return io_error(describe(operation, offset, bytes,
                           "the write cache holds " + std::to_string(cached_dirty_bytes_) +
                               " bytes the device could not write back; no more until a flush "
                               "succeeds"));
}

Status CacheVolume::do_write(std::uint64_t offset, std::span<const std::byte> data) {
  std::lock_guard lock(mutex_);
  FF_TRY(check_room("write", offset, data.size()));
  cache_write(offset, data);
  ++stats_.writes;
  stats_.bytes_written += data.size();
  return Status();
}

Status CacheVolume::do_discard(std::uint64_t offset, std::uint64_t length) {
  std::lock_guard lock(mutex_);
  FF_TRY(check_room("discard", offset, length));
  // A discard is cached like a write of zeros: it too is lost or kept per unit by a crash.
  static constexpr std::size_t kZeroBytes = std::size_t{64} * 1024;
  static const std::vector<std::byte> zeros(kZeroBytes);
  std::uint64_t done = 0;
  while (done < length) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kZeroBytes, length - done));
    cache_write(offset + done, std::span<const std::byte>(zeros.data(), n));
    done += n;
  }
  ++stats_.discards;
  stats_.bytes_discarded += length;
  return Status();
}

// REQUIRES: mutex_ held; offset and size aligned to the unit (the base's sector size is a
// multiple of the unit, and Volume checked the request against it).
void CacheVolume::cache_write(std::uint64_t offset, std::span<const std::byte> data) {
  FF_ASSERT(offset % unit_bytes_ == 0 && data.size() % unit_bytes_ == 0);
  const std::uint64_t first = offset / unit_bytes_;
  const std::uint64_t count = data.size() / unit_bytes_;
  for (std::uint64_t i = 0; i < count; ++i) {
    CachedUnit& unit = cache_[first + i];
    if (!unit.data) {
      unit.data = std::make_unique<std::byte[]>(unit_bytes_);
      cached_dirty_bytes_ += unit_bytes_;
    } else if (unit.written_back) {
      unit.written_back = false;
      cached_dirty_bytes_ += unit_bytes_;
    } else {
      dirty_by_sequence_.erase(unit.sequence);
    }
    std::memcpy(unit.data.get(), data.data() + i * unit_bytes_, unit_bytes_);
    unit.sequence = ++sequence_;
    dirty_by_sequence_.emplace(unit.sequence, first + i);
  }
  write_back_over_limit();
}

// REQUIRES: mutex_ held. The device writes the oldest dirty units to the base on its own when
// its cache is over the limit; it keeps each unit's pre-flush content so crash() can still
// revert it. If the base refuses, the unit stays dirty and write-back stops until the next
// request: the failure surfaces at flush().
void CacheVolume::write_back_over_limit() {
  while (cached_dirty_bytes_ > options_.cache_bytes_max && !dirty_by_sequence_.empty()) {
    auto oldest = dirty_by_sequence_.begin();
    const std::uint64_t index = oldest->second;
    CachedUnit& unit = cache_.at(index);
    if (!unit.durable) {
      auto durable = std::make_unique<std::byte[]>(unit_bytes_);
      if (!read_base_unit(index, durable.get()).ok()) {
        write_back_refused_ = true;
        return;
      }
      unit.durable = std::move(durable);
    }
    if (!write_units_to_base({{index, unit.data.get()}}, /*continue_after_error=*/false).ok()) {
      write_back_refused_ = true;
      return;
    }
    write_back_refused_ = false;
    unit.written_back = true;
    cached_dirty_bytes_ -= unit_bytes_;
    dirty_by_sequence_.erase(oldest);
    ++stats_.units_written_back;
  }
}

// REQUIRES: mutex_ held.
Status CacheVolume::read_base_unit(std::uint64_t index, std::byte* out) {
  const std::uint64_t sector = base().sector_bytes();
  const std::uint64_t offset = index * unit_bytes_;
  const std::uint64_t aligned = offset / sector * sector;
  std::vector<std::byte> buffer(sector);
  FF_TRY(base().read(aligned, buffer));
  std::memcpy(out, buffer.data() + (offset - aligned), unit_bytes_);
  return Status();
}

// REQUIRES: mutex_ held; `units` sorted by index. Coalesces contiguous units into one base
// write, with read-modify-write where a run does not cover whole base sectors. Stops at the
// first error, or tries every run and returns the first error.
Status CacheVolume::write_units_to_base(const UnitList& units, bool continue_after_error) {
  const std::uint64_t sector = base().sector_bytes();
  Status first_error;
  std::vector<std::byte> buffer;
  std::size_t i = 0;
  while (i < units.size()) {
    std::size_t j = i + 1;
    while (j < units.size() && units[j].first == units[j - 1].first + 1)
      ++j;
    const std::uint64_t run_begin = units[i].first * unit_bytes_;
    const std::uint64_t run_end = (units[j - 1].first + 1) * unit_bytes_;
    const std::uint64_t begin = run_begin / sector * sector;
    const std::uint64_t end = (run_end + sector - 1) / sector * sector;
    buffer.resize(static_cast<std::size_t>(end - begin));
    Status status;
    if (begin != run_begin || end != run_end)
      status = base().read(begin, buffer);
    if (status.ok()) {
      for (std::size_t k = i; k < j; ++k) {
        std::memcpy(buffer.data() + (units[k].first * unit_bytes_ - begin), units[k].second,
                    unit_bytes_);
      }
      status = base().write(begin, buffer);
    }
    if (!status.ok()) {
      if (!continue_after_error)
        return status;
      if (first_error.ok())
        first_error = std::move(status);
    }
    i = j;
  }
  return first_error;
}

// REQUIRES: mutex_ held.
void CacheVolume::empty_cache() {
  cache_.clear();
  dirty_by_sequence_.clear();
  cached_dirty_bytes_ = 0;
  write_back_refused_ = false;
}

Status CacheVolume::do_flush() {
  std::lock_guard lock(mutex_);
  UnitList units;
  units.reserve(cache_.size());
  for (const auto& [index, unit] : cache_) {
    if (!unit.written_back)
      units.emplace_back(index, unit.data.get());
  }
  FF_TRY(write_units_to_base(units, /*continue_after_error=*/false));
  FF_TRY(base().flush());
  empty_cache();
  ++stats_.flushes;
  return Status();
}

Result<std::uint64_t> CacheVolume::crash() {
  std::lock_guard lock(mutex_);
  UnitList units;
  std::uint64_t dropped = 0;
  std::uint64_t kept = 0;
  // Iteration over an ordered map and one draw per unit: the outcome depends only on the seed
  // and the history of writes.
  for (const auto& [index, unit] : cache_) {
    if (random_.chance(options_.crash_survival_probability)) {
      ++kept;
      if (!unit.written_back)
        units.emplace_back(index, unit.data.get());
    } else {
      ++dropped;
      // The base holds the pre-flush content unless the device wrote the unit back early.
      if (unit.durable)
        units.emplace_back(index, unit.durable.get());
    }
  }
  // Every run is tried even if one fails, so as much of the seeded outcome as the base
  // accepts is applied; a refused run leaves its units as they were on the base, each whole.
  Status status = write_units_to_base(units, /*continue_after_error=*/true);
  Status flushed = base().flush();
  if (status.ok())
    status = std::move(flushed);
  empty_cache();
  ++stats_.crashes;
  stats_.last_crash_units_dropped = dropped;
  stats_.last_crash_units_kept = kept;
  if (!status.ok())
    return status;
  return dropped;
}

}  // namespace freezeframe::sim

#include "freezeframe/sim/sim_volume.h"

#include <algorithm>
#include <cstring>

#include "freezeframe/assert.h"
#include "freezeframe/sim/sim_clock.h"

namespace freezeframe::sim {
namespace {

const char* operation_name(IoOperation operation) {
  switch (operation) {
    case IoOperation::kRead:
      return "read";
    case IoOperation::kWrite:
      return "write";
    case IoOperation::kFlush:
      return "flush";
    case IoOperation::kDiscard:
      return "discard";
  }
  return "operation";
}

bool is_power_of_two(std::uint64_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

}  // namespace

Result<std::unique_ptr<SimVolume>> SimVolume::create(Volume& base,
                                                     const SimVolumeOptions& options) {
  const std::uint32_t unit = options.atomic_write_bytes == 0 ? 512 : options.atomic_write_bytes;
  if (!is_power_of_two(unit) || unit < 512 || unit > base.sector_bytes()) {
    return invalid_argument("simulated volume over '" + base.name() + "': atomic write size " +
                            std::to_string(unit) +
                            " must be a power of two from 512 to the sector size " +
                            std::to_string(base.sector_bytes()));
  }
  if (options.crash_survival_probability < 0.0 || options.crash_survival_probability > 1.0) {
    return invalid_argument("simulated volume over '" + base.name() +
                            "': crash survival probability must lie in [0, 1]");
  }
  return std::unique_ptr<SimVolume>(new SimVolume(base, nullptr, options));
}

Result<std::unique_ptr<SimVolume>> SimVolume::create(std::unique_ptr<Volume> base,
                                                     const SimVolumeOptions& options) {
  if (!base)
    return invalid_argument("simulated volume: no base volume given");
  FF_ASSIGN_OR_RETURN(auto volume, create(*base, options));
  volume->owned_ = std::move(base);
  return volume;
}

SimVolume::SimVolume(Volume& base, std::unique_ptr<Volume> owned, const SimVolumeOptions& options)
    : owned_(std::move(owned)),
      base_(base),
      identity_{options.name.empty() ? "sim:" + base.name() : options.name,
                options.uuid.is_nil() ? base.uuid() : options.uuid},
      unit_bytes_(options.atomic_write_bytes == 0 ? 512 : options.atomic_write_bytes),
      options_(options),
      crash_random_(Random(options.seed).fork("sim-volume/crash")),
      fault_random_(Random(options.seed).fork("sim-volume/faults")) {}

SimVolume::~SimVolume() = default;

FaultId SimVolume::add_fault(const FaultRule& rule) {
  std::lock_guard lock(mutex_);
  FaultId id = next_fault_id_++;
  faults_.emplace(id, ActiveFault{rule, 0, 0});
  return id;
}

bool SimVolume::remove_fault(FaultId id) {
  std::lock_guard lock(mutex_);
  return faults_.erase(id) > 0;
}

void SimVolume::clear_faults() {
  std::lock_guard lock(mutex_);
  faults_.clear();
}

SimVolumeStats SimVolume::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void SimVolume::reset_stats() {
  std::lock_guard lock(mutex_);
  stats_ = SimVolumeStats{};
}

std::uint64_t SimVolume::unflushed_bytes() const {
  std::lock_guard lock(mutex_);
  return cache_.size() * unit_bytes_;
}

// REQUIRES: mutex_ held.
Status SimVolume::check_faults(IoOperation operation, std::uint64_t offset, std::uint64_t length) {
  for (auto& [id, fault] : faults_) {
    const FaultRule& rule = fault.rule;
    if ((rule.operations & operation_bit(operation)) == 0)
      continue;
    if (rule.failures_max != 0 && fault.fired >= rule.failures_max)
      continue;
    bool fire = false;
    switch (rule.trigger) {
      case FaultRule::Trigger::kNth:
        fire = ++fault.matched == rule.n;
        break;
      case FaultRule::Trigger::kFromNth:
        fire = ++fault.matched >= rule.n;
        break;
      case FaultRule::Trigger::kRange:
        fire = operation != IoOperation::kFlush && length > 0 &&
               offset < rule.offset + rule.length && rule.offset < offset + length;
        if (fire)
          ++fault.matched;
        break;
      case FaultRule::Trigger::kProbability:
        ++fault.matched;
        fire = fault_random_.chance(rule.probability);
        break;
    }
    if (fire) {
      ++fault.fired;
      ++stats_.injected_failures;
      return io_error(describe(operation_name(operation), offset, length,
                               "injected fault " + std::to_string(id)));
    }
  }
  return Status();
}

void SimVolume::charge_latency(std::uint64_t bytes) {
  if (options_.clock == nullptr)
    return;
  Nanoseconds cost = options_.latency_per_operation;
  if (options_.latency_per_mib.count() != 0) {
    cost += Nanoseconds(
        static_cast<std::int64_t>(static_cast<double>(options_.latency_per_mib.count()) *
                                  static_cast<double>(bytes) / static_cast<double>(1 << 20)));
  }
  if (cost.count() > 0)
    options_.clock->advance(cost);
}

Status SimVolume::do_read(std::uint64_t offset, std::span<std::byte> out) {
  // Latency is charged before taking the lock: advancing the clock may run timer callbacks
  // that use this volume.
  charge_latency(out.size());
  std::lock_guard lock(mutex_);
  FF_TRY(check_faults(IoOperation::kRead, offset, out.size()));
  FF_TRY(base_.read(offset, out));
  const std::uint64_t first = offset / unit_bytes_;
  const std::uint64_t end = (offset + out.size()) / unit_bytes_;
  for (auto it = cache_.lower_bound(first); it != cache_.end() && it->first < end; ++it) {
    std::memcpy(out.data() + (it->first - first) * unit_bytes_, it->second.data.get(), unit_bytes_);
  }
  ++stats_.reads;
  stats_.bytes_read += out.size();
  return Status();
}

Status SimVolume::do_write(std::uint64_t offset, std::span<const std::byte> data) {
  charge_latency(data.size());
  std::lock_guard lock(mutex_);
  FF_TRY(check_faults(IoOperation::kWrite, offset, data.size()));
  FF_TRY(cache_write(offset, data));
  ++stats_.writes;
  stats_.bytes_written += data.size();
  return Status();
}

Status SimVolume::do_discard(std::uint64_t offset, std::uint64_t length) {
  charge_latency(0);
  std::lock_guard lock(mutex_);
  FF_TRY(check_faults(IoOperation::kDiscard, offset, length));
  // A discard is cached like a write of zeros: it too is lost or kept per unit by a crash.
  static constexpr std::size_t kZeroBytes = 64 * 1024;
  static const std::vector<std::byte> zeros(kZeroBytes);
  std::uint64_t done = 0;
  while (done < length) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kZeroBytes, length - done));
    FF_TRY(cache_write(offset + done, std::span<const std::byte>(zeros.data(), n)));
    done += n;
  }
  ++stats_.discards;
  stats_.bytes_discarded += length;
  return Status();
}

// REQUIRES: mutex_ held; offset and size aligned to the unit.
Status SimVolume::cache_write(std::uint64_t offset, std::span<const std::byte> data) {
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
  return write_back_over_limit();
}

// REQUIRES: mutex_ held. The device writes the oldest dirty units to the base on its own when
// its cache is over the limit; it keeps each unit's pre-flush content so crash() can still
// revert it.
Status SimVolume::write_back_over_limit() {
  while (cached_dirty_bytes_ > options_.cache_bytes_max && !dirty_by_sequence_.empty()) {
    auto oldest = dirty_by_sequence_.begin();
    const std::uint64_t index = oldest->second;
    CachedUnit& unit = cache_.at(index);
    if (!unit.durable) {
      unit.durable = std::make_unique<std::byte[]>(unit_bytes_);
      FF_TRY(read_base_unit(index, unit.durable.get()));
    }
    FF_TRY(write_units_to_base({{index, unit.data.get()}}));
    unit.written_back = true;
    cached_dirty_bytes_ -= unit_bytes_;
    dirty_by_sequence_.erase(oldest);
  }
  return Status();
}

// REQUIRES: mutex_ held.
Status SimVolume::read_base_unit(std::uint64_t index, std::byte* out) {
  const std::uint64_t sector = base_.sector_bytes();
  const std::uint64_t offset = index * unit_bytes_;
  const std::uint64_t aligned = offset / sector * sector;
  std::vector<std::byte> buffer(sector);
  FF_TRY(base_.read(aligned, buffer));
  std::memcpy(out, buffer.data() + (offset - aligned), unit_bytes_);
  return Status();
}

// REQUIRES: mutex_ held; `units` sorted by index. Coalesces contiguous units into one base
// write, with read-modify-write where a run does not cover whole base sectors.
Status SimVolume::write_units_to_base(
    const std::vector<std::pair<std::uint64_t, const std::byte*>>& units) {
  const std::uint64_t sector = base_.sector_bytes();
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
    if (begin != run_begin || end != run_end) {
      FF_TRY(base_.read(begin, buffer));
    }
    for (std::size_t k = i; k < j; ++k) {
      std::memcpy(buffer.data() + (units[k].first * unit_bytes_ - begin), units[k].second,
                  unit_bytes_);
    }
    FF_TRY(base_.write(begin, buffer));
    i = j;
  }
  return Status();
}

Status SimVolume::do_flush() {
  charge_latency(0);
  std::lock_guard lock(mutex_);
  FF_TRY(check_faults(IoOperation::kFlush, 0, 0));
  std::vector<std::pair<std::uint64_t, const std::byte*>> units;
  units.reserve(cache_.size());
  for (const auto& [index, unit] : cache_) {
    if (!unit.written_back)
      units.emplace_back(index, unit.data.get());
  }
  FF_TRY(write_units_to_base(units));
  FF_TRY(base_.flush());
  cache_.clear();
  dirty_by_sequence_.clear();
  cached_dirty_bytes_ = 0;
  ++stats_.flushes;
  return Status();
}

std::uint64_t SimVolume::crash() {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::uint64_t, const std::byte*>> units;
  std::uint64_t dropped = 0;
  std::uint64_t kept = 0;
  // Iteration over an ordered map and one draw per unit: the outcome depends only on the seed
  // and the history of writes.
  for (const auto& [index, unit] : cache_) {
    if (crash_random_.chance(options_.crash_survival_probability)) {
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
  // The base is the medium: writing the surviving image to it cannot be refused by a
  // simulated power loss. A failure here means the base itself is broken.
  Status status = write_units_to_base(units);
  if (status.ok())
    status = base_.flush();
  FF_ASSERT_MSG(status.ok(), "the base of a simulated volume failed while applying a crash");
  cache_.clear();
  dirty_by_sequence_.clear();
  cached_dirty_bytes_ = 0;
  ++stats_.crashes;
  stats_.last_crash_units_dropped = dropped;
  stats_.last_crash_units_kept = kept;
  return dropped;
}

}  // namespace freezeframe::sim

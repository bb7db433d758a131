#include "diff_area.h"

#if FREEZEFRAME_WITH_ZSTD
#include <zstd.h>
#endif

#include <algorithm>
#include <bit>
#include <boost/endian/conversion.hpp>
#include <cstring>

#include "byte_math.h"
#include "freezeframe/assert.h"
#include "freezeframe/snapshot_provider.h"

namespace freezeframe {

bool compression_available() noexcept {
#if FREEZEFRAME_WITH_ZSTD
  return true;
#else
  return false;
#endif
}

}  // namespace freezeframe

namespace freezeframe::detail {

using format::kOriginSlot;

DiffAreaGeometry DiffAreaGeometry::of(const format::Superblock& superblock) {
  DiffAreaGeometry geometry;
  geometry.chunk_bytes = superblock.chunk_bytes;
  geometry.chunk_shift = static_cast<std::uint32_t>(std::countr_zero(superblock.chunk_bytes));
  geometry.origin_bytes = superblock.origin_bytes;
  geometry.data_offset = superblock.data_offset;
  geometry.data_slots = superblock.data_slots;
  geometry.sum_offset = superblock.sum_offset;
  geometry.sum_bytes = superblock.sum_bytes;
  return geometry;
}

std::uint64_t DiffAreaGeometry::chunk_length(std::uint64_t chunk) const {
  return std::min<std::uint64_t>(chunk_bytes, origin_bytes - chunk_offset(chunk));
}

std::uint64_t DiffAreaGeometry::chunks() const {
  return div_ceil(origin_bytes, chunk_bytes);
}

DiffAreaGeometry::Piece DiffAreaGeometry::piece_at(std::uint64_t at,
                                                   std::uint64_t remaining) const {
  const std::uint64_t chunk = chunk_of(at);
  const std::uint64_t within = at - chunk_offset(chunk);
  return {chunk, within, std::min<std::uint64_t>(chunk_bytes - within, remaining)};
}

void DiffArea::CompressorDeleter::operator()(ZSTD_CCtx_s* context) const noexcept {
#if FREEZEFRAME_WITH_ZSTD
  ZSTD_freeCCtx(context);
#else
  FF_ASSERT(context == nullptr);
#endif
}

namespace {
#if !FREEZEFRAME_WITH_ZSTD
Status no_zstd(const std::string& name) {
  return Status(ErrorCode::kUnsupported,
                name +
                    ": compressed diff areas need zstd, which this build of freezeframe does "
                    "not have (built with FREEZEFRAME_WITH_ZSTD=OFF); use a build with zstd "
                    "or a diff area without compression");
}
#endif
}  // namespace

DiffArea::DiffArea(Volume& diff, const DiffAreaGeometry& geometry, const DiffAreaLimit& limit,
                   std::string name)
    : diff_(diff), geometry_(geometry), limit_(limit), name_(std::move(name)) {}

Status DiffArea::enable_compression() {
#if !FREEZEFRAME_WITH_ZSTD
  return no_zstd(name_);
#else
  cctx_.reset(ZSTD_createCCtx());
  if (cctx_ == nullptr ||
      ZSTD_isError(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_compressionLevel, 1)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_checksumFlag, 1))) {
    return Status(ErrorCode::kUnsupported, "cannot set up zstd compression");
  }
  compress_ = true;
  return Status();
#endif
}

// ----- limit and space

std::uint64_t DiffArea::sector_bytes() const {
  return std::max<std::uint64_t>(512, diff_.sector_bytes());
}

std::uint64_t DiffArea::max_bytes_for(const DiffAreaLimit& limit) const {
  const std::uint64_t chunk = geometry_.chunk_bytes;
  // One slot is kept spare: a RoW rewrite takes a fresh slot before it frees the old one.
  return std::min<std::uint64_t>(limit.resolve(geometry_.origin_bytes) / chunk * chunk,
                                 (geometry_.data_slots - 1) * chunk);
}

bool DiffArea::fits(std::uint64_t slots, std::uint64_t bytes) const {
  return slots_used_ + slots <= geometry_.data_slots && used_bytes_ + bytes <= max_bytes();
}

std::string DiffArea::space_text() const {
  return "used " + bytes_text(used_bytes_) + " of max " + bytes_text(max_bytes()) + ", limit " +
         limit_.to_string();
}

std::uint64_t DiffArea::accounted_bytes(std::uint64_t chunk, std::uint64_t stored) const {
  return stored < geometry_.chunk_length(chunk) ? align_up(stored, sector_bytes())
                                                : geometry_.chunk_bytes;
}

std::uint64_t DiffArea::slot_bytes(std::uint32_t slot) const {
  const std::uint32_t length = frame_length(slot);
  return length == 0 ? geometry_.chunk_bytes : align_up(length, sector_bytes());
}

std::uint64_t DiffArea::tag_bytes(std::uint32_t tag) const {
  auto it = tag_bytes_.find(tag);
  return it == tag_bytes_.end() ? 0 : it->second;
}

// ----- accounting

void DiffArea::use_slot(std::uint32_t tag, std::uint32_t slot) {
  if (slot == kOriginSlot)
    return;
  ++slots_used_;
  const std::uint64_t bytes = slot_bytes(slot);
  used_bytes_ += bytes;
  tag_bytes_[tag] += bytes;
  slot_hwm_ = std::max<std::uint64_t>(slot_hwm_, std::uint64_t{slot} + 1);
}

void DiffArea::free_slot(std::uint32_t tag, std::uint32_t slot) {
  if (slot == kOriginSlot)
    return;
  FF_ASSERT(slots_used_ > 0);
  --slots_used_;
  const std::uint64_t bytes = slot_bytes(slot);
  used_bytes_ -= bytes;
  move_tag_bytes(tag, 0, bytes);
  set_frame_length(slot, 0);
  if (!recovering_)
    pending_free_.push_back(slot);
}

void DiffArea::move_tag_bytes(std::uint32_t from, std::uint32_t to, std::uint64_t bytes) {
  if (auto it = tag_bytes_.find(from); it != tag_bytes_.end()) {
    it->second -= std::min(it->second, bytes);
    if (it->second == 0)
      tag_bytes_.erase(it);
  }
  if (to != 0)
    tag_bytes_[to] += bytes;
}

void DiffArea::set_frame_length(std::uint32_t slot, std::uint32_t length) {
  if (slot >= frame_lengths_.size()) {
    if (length == 0)
      return;
    frame_lengths_.resize(std::uint64_t{slot} + 1, 0);
  }
  frame_lengths_[slot] = length;
}

std::uint64_t DiffArea::frame_memory_bytes() const {
  return frame_lengths_.capacity() * sizeof(std::uint32_t);
}

Status DiffArea::finish_recovery(const ChunkIndex& index) {
  recovering_ = false;
  slot_hwm_ = std::min<std::uint64_t>(slot_hwm_, geometry_.data_slots);
  pending_free_.clear();
  std::vector<bool> referenced(slot_hwm_, false);
  slots_used_ = 0;
  used_bytes_ = 0;
  tag_bytes_.clear();
  Status mapped_twice;
  index.for_each([&](std::uint64_t, std::span<const IndexEntry> versions) {
    for (const IndexEntry& entry : versions) {
      if (entry.slot == kOriginSlot)
        continue;
      if (entry.slot >= slot_hwm_) {
        if (mapped_twice.ok()) {
          mapped_twice = corrupt(name_ + ": data slot " + std::to_string(entry.slot) +
                                 " is beyond the data area");
        }
        continue;
      }
      if (referenced[entry.slot] && mapped_twice.ok()) {
        mapped_twice =
            corrupt(name_ + ": data slot " + std::to_string(entry.slot) + " is mapped twice");
      }
      referenced[entry.slot] = true;
      ++slots_used_;
      used_bytes_ += slot_bytes(entry.slot);
      tag_bytes_[entry.tag] += slot_bytes(entry.slot);
    }
  });
  FF_TRY(mapped_twice);
  free_slots_.clear();
  for (std::uint64_t slot = slot_hwm_; slot-- > 0;) {
    if (!referenced[slot])
      free_slots_.push_back(static_cast<std::uint32_t>(slot));
  }
  return Status();
}

// ----- allocation

Result<std::uint32_t> DiffArea::allocate_slot(FreedSlotCommitter& committer) {
  if (free_slots_.empty() && !pending_free_.empty())
    FF_TRY(committer.commit_freed_slots());
  std::uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else if (slot_hwm_ < geometry_.data_slots) {
    slot = static_cast<std::uint32_t>(slot_hwm_++);
  } else {
    return Status(ErrorCode::kNoSpace, name_ + ": no free data slot");
  }
  return slot;
}

void DiffArea::release_freed_slots() {
  free_slots_.insert(free_slots_.end(), pending_free_.begin(), pending_free_.end());
  pending_free_.clear();
}

// ----- chunk data

Status DiffArea::read_slot(std::uint64_t chunk, std::uint32_t slot,
                           std::span<std::byte> out) const {
  const std::uint32_t length = frame_length(slot);
  if (length == 0)
    return read_raw_run(chunk, slot, 1, out);
  std::vector<std::byte> frame(align_up(length, sector_bytes()));
  FF_TRY(diff_.read(slot_offset(slot), frame));
  if (verifies()) {
    std::vector<std::uint64_t> sums;
    FF_TRY(read_sums(slot, 1, sums));
    FF_TRY(check_sum(chunk, slot, std::span<const std::byte>(frame).first(length), sums[0]));
  }
#if !FREEZEFRAME_WITH_ZSTD
  return no_zstd(name_);
#else
  const std::size_t n = ZSTD_decompress(out.data(), out.size(), frame.data(), length);
  if (ZSTD_isError(n) || n != out.size()) {
    return corrupt(name_ + ": compressed chunk " + std::to_string(chunk) + " in data slot " +
                   std::to_string(slot) + " does not decompress to " + std::to_string(out.size()) +
                   " bytes" + (ZSTD_isError(n) ? std::string(": ") + ZSTD_getErrorName(n) : ""));
  }
  return Status();
#endif
}

Status DiffArea::read_raw_run(std::uint64_t chunk, std::uint32_t slot, std::uint64_t count,
                              std::span<std::byte> out) const {
  FF_TRY(diff_.read(slot_offset(slot), out));
  if (!verifies())
    return Status();
  std::vector<std::uint64_t> sums;
  FF_TRY(read_sums(slot, count, sums));
  std::uint64_t at = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t length = geometry_.chunk_length(chunk + i);
    FF_TRY(check_sum(chunk + i, static_cast<std::uint32_t>(slot + i), out.subspan(at, length),
                     sums[i]));
    at += length;
  }
  return Status();
}

Result<std::vector<std::byte>*> DiffArea::sum_sector(std::uint64_t index) const {
  const std::uint64_t sector = sector_bytes();
  ++sum_clock_;
  if (auto it = sum_cache_.find(index); it != sum_cache_.end()) {
    it->second.last_use = sum_clock_;
    return &it->second.bytes;
  }
  if (sum_cache_.size() >= kSumCacheSectors) {
    // Evict the least recently used clean sector (dirty ones stay until flush_sums()).
    auto victim = sum_cache_.end();
    for (auto it = sum_cache_.begin(); it != sum_cache_.end(); ++it) {
      if (!it->second.dirty &&
          (victim == sum_cache_.end() || it->second.last_use < victim->second.last_use))
        victim = it;
    }
    if (victim != sum_cache_.end())
      sum_cache_.erase(victim);
  }
  SumSector entry;
  entry.bytes.resize(sector);
  FF_TRY(diff_.read(geometry_.sum_offset + index * sector, entry.bytes));
  entry.last_use = sum_clock_;
  return &sum_cache_.emplace(index, std::move(entry)).first->second.bytes;
}

Status DiffArea::read_sums(std::uint32_t slot, std::uint64_t count,
                           std::vector<std::uint64_t>& out) const {
  const std::uint64_t sector = sector_bytes();
  std::lock_guard lock(sums_mutex_);
  out.resize(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t at = (std::uint64_t{slot} + i) * format::kChunkSumBytes;
    FF_ASSIGN_OR_RETURN(std::vector<std::byte> * bytes, sum_sector(at / sector));
    std::uint64_t value = 0;
    std::memcpy(&value, bytes->data() + at % sector, sizeof value);
    out[i] = boost::endian::little_to_native(value);
  }
  return Status();
}

Status DiffArea::check_sum(std::uint64_t chunk, std::uint32_t slot,
                           std::span<const std::byte> stored, std::uint64_t expected) const {
  const std::uint64_t computed = format::chunk_checksum(chunk, stored);
  if (computed == expected)
    return Status();
  return corrupt(name_ + ": chunk " + std::to_string(chunk) + " (origin offset " +
                 std::to_string(geometry_.chunk_offset(chunk)) + ") in data slot " +
                 std::to_string(slot) + " (diff offset " + std::to_string(slot_offset(slot)) +
                 ") fails its checksum (stored " + hex_text(expected) + ", computed " +
                 hex_text(computed) + ")");
}

Status DiffArea::verify_slot(std::uint64_t chunk, std::uint32_t slot) const {
  std::vector<std::byte> data(geometry_.chunk_length(chunk));
  return read_slot(chunk, slot, data);
}

Status DiffArea::write_sum(std::uint32_t slot, std::uint64_t chunk,
                           std::span<const std::byte> stored) {
  if (geometry_.sum_bytes == 0)
    return Status();
  const std::uint64_t sector = sector_bytes();
  const std::uint64_t at = std::uint64_t{slot} * format::kChunkSumBytes;
  std::lock_guard lock(sums_mutex_);
  FF_ASSIGN_OR_RETURN(std::vector<std::byte> * bytes, sum_sector(at / sector));
  const std::uint64_t value =
      boost::endian::native_to_little(format::chunk_checksum(chunk, stored));
  std::memcpy(bytes->data() + at % sector, &value, sizeof value);
  sum_cache_.find(at / sector)->second.dirty = true;
  return Status();
}

void DiffArea::drop_clean_sums() {
  std::lock_guard lock(sums_mutex_);
  std::erase_if(sum_cache_, [](const auto& item) { return !item.second.dirty; });
}

Status DiffArea::flush_sums() {
  std::lock_guard lock(sums_mutex_);
  const std::uint64_t sector = sector_bytes();
  std::vector<std::byte> run;
  std::uint64_t run_first = 0;
  auto write_run = [&]() -> Status {
    if (run.empty())
      return Status();
    Status status = diff_.write(geometry_.sum_offset + run_first * sector, run);
    run.clear();
    return status;
  };
  for (auto& [index, entry] : sum_cache_) {
    if (!entry.dirty)
      continue;
    if (!run.empty() && index != run_first + run.size() / sector)
      FF_TRY(write_run());
    if (run.empty())
      run_first = index;
    run.insert(run.end(), entry.bytes.begin(), entry.bytes.end());
  }
  FF_TRY(write_run());
  for (auto& [index, entry] : sum_cache_)
    entry.dirty = false;
  return Status();
}

Status DiffArea::write_chunk(std::uint32_t slot, std::uint64_t chunk,
                             std::span<const std::byte> data) {
  FF_TRY(diff_.write(slot_offset(slot), data));
  return write_sum(slot, chunk, data);
}

std::uint32_t DiffArea::pack(std::span<const std::byte> chunk, std::vector<std::byte>& frame) {
  FF_ASSERT(compress_);
#if !FREEZEFRAME_WITH_ZSTD
  frame.assign(chunk.begin(), chunk.end());
  return static_cast<std::uint32_t>(chunk.size());
#else
  const std::uint64_t sector = sector_bytes();
  const std::size_t bound = ZSTD_compressBound(chunk.size());
  frame.resize(align_up(bound, sector));
  const std::size_t n =
      ZSTD_compress2(cctx_.get(), frame.data(), frame.size(), chunk.data(), chunk.size());
  if (ZSTD_isError(n) || align_up(n, sector) >= chunk.size()) {
    frame.assign(chunk.begin(), chunk.end());
    return static_cast<std::uint32_t>(chunk.size());
  }
  const std::size_t padded = align_up(n, sector);
  std::fill(frame.begin() + static_cast<std::ptrdiff_t>(n),
            frame.begin() + static_cast<std::ptrdiff_t>(padded), std::byte{0});
  frame.resize(padded);
  return static_cast<std::uint32_t>(n);
#endif
}

Status DiffArea::write_packed(std::uint32_t slot, std::uint64_t chunk,
                              std::span<const std::byte> frame, std::uint32_t stored) {
  FF_TRY(diff_.write(slot_offset(slot), frame));
  if (frame.size() < geometry_.chunk_bytes) {
    FF_TRY(diff_.discard(slot_offset(slot) + frame.size(), geometry_.chunk_bytes - frame.size()));
  }
  return write_sum(slot, chunk, frame.first(std::min<std::size_t>(stored, frame.size())));
}

}  // namespace freezeframe::detail

#include "snapshot_view.h"

#include <cstring>
#include <mutex>
#include <vector>

namespace freezeframe::detail {

using format::kOriginSlot;

Status VersionReader::read(std::uint32_t tag, std::uint64_t offset,
                           std::span<std::byte> out) const {
  const DiffAreaGeometry& geometry = diff_area_.geometry();
  if (state_.index().empty())
    return origin_.read(offset, out);
  bool run_on_diff = false;
  std::uint64_t run_device = 0;
  std::size_t run_begin = 0;
  std::size_t run_length = 0;
  std::vector<std::byte> chunk_data;  // a decompressed chunk
  auto flush_run = [&]() -> Status {
    if (run_length == 0)
      return Status();
    Volume& device = run_on_diff ? diff_area_.volume() : origin_;
    return device.read(run_device, out.subspan(run_begin, run_length));
  };
  std::size_t position = 0;
  while (position < out.size()) {
    const std::uint64_t at = offset + position;
    const auto [chunk, within, length] = geometry.piece_at(at, out.size() - position);
    std::uint32_t slot = state_.locate(chunk, tag);
    if (slot != kOriginSlot && diff_area_.frame_length(slot) != 0) {
      FF_TRY(flush_run());
      run_length = 0;
      chunk_data.resize(geometry.chunk_length(chunk));
      FF_TRY(diff_area_.read_slot(chunk, slot, chunk_data));
      std::memcpy(out.data() + position, chunk_data.data() + within, length);
      position += length;
      continue;
    }
    bool on_diff = slot != kOriginSlot;
    std::uint64_t device = on_diff ? diff_area_.slot_offset(slot) + within : at;
    if (run_length > 0 && on_diff == run_on_diff && device == run_device + run_length) {
      run_length += length;
    } else {
      FF_TRY(flush_run());
      run_on_diff = on_diff;
      run_device = device;
      run_begin = position;
      run_length = length;
    }
    position += length;
  }
  return flush_run();
}

Status SnapshotView::do_read(std::uint64_t offset, std::span<std::byte> out) {
  std::shared_lock lock(mutex_);
  const SnapshotMeta* meta = state_.find(tag_);
  if (meta == nullptr) {
    return Status(ErrorCode::kNotFound,
                  describe("read", offset, out.size(), "the snapshot was deleted"));
  }
  if (meta->invalidated) {
    return Status(ErrorCode::kInvalidated,
                  describe("read", offset, out.size(),
                           "the snapshot was invalidated (its diff area overflowed)"));
  }
  return reader_.read(tag_, offset, out);
}

Status SnapshotView::do_write(std::uint64_t offset, std::span<const std::byte> data) {
  return Status(ErrorCode::kReadOnly, describe("write", offset, data.size(), "snapshot"));
}

Status SnapshotView::do_discard(std::uint64_t offset, std::uint64_t length) {
  return Status(ErrorCode::kReadOnly, describe("discard", offset, length, "snapshot"));
}

}  // namespace freezeframe::detail

#include "snapshot_view.h"

#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace freezeframe::detail {

using format::kOriginSlot;

Status VersionReader::read(std::uint32_t tag, std::uint64_t offset,
                           std::span<std::byte> out) const {
  const DiffAreaGeometry& geometry = diff_area_.geometry();
  if (state_.index().empty())
    return origin_.read(offset, out);
  // A run is a stretch of `out` read with one call: contiguous bytes of the origin, or whole
  // raw chunks in consecutive slots (read whole so that each chunk's checksum is verified).
  enum class Run : std::uint8_t { kNone, kOrigin, kDiff };
  Run run = Run::kNone;
  std::uint64_t run_device = 0;  // origin offset (kOrigin)
  std::uint64_t run_chunk = 0;   // first chunk, slot and count (kDiff)
  std::uint32_t run_slot = 0;
  std::uint64_t run_count = 0;
  std::uint64_t run_within = 0;  // offset of the first byte wanted in the first chunk
  std::size_t run_begin = 0;
  std::size_t run_length = 0;
  std::vector<std::byte> chunk_data;  // whole chunks of a partial diff run, or a frame's chunk
  auto flush_run = [&]() -> Status {
    const Run kind = std::exchange(run, Run::kNone);
    if (kind == Run::kOrigin)
      return origin_.read(run_device, out.subspan(run_begin, run_length));
    if (kind != Run::kDiff)
      return Status();
    std::uint64_t bytes = 0;
    for (std::uint64_t i = 0; i < run_count; ++i)
      bytes += geometry.chunk_length(run_chunk + i);
    if (run_within == 0 && run_length == bytes)
      return diff_area_.read_raw_run(run_chunk, run_slot, run_count,
                                     out.subspan(run_begin, run_length));
    chunk_data.resize(bytes);
    FF_TRY(diff_area_.read_raw_run(run_chunk, run_slot, run_count, chunk_data));
    std::memcpy(out.data() + run_begin, chunk_data.data() + run_within, run_length);
    return Status();
  };
  std::size_t position = 0;
  while (position < out.size()) {
    const std::uint64_t at = offset + position;
    const auto [chunk, within, length] = geometry.piece_at(at, out.size() - position);
    const std::uint32_t slot = state_.locate(chunk, tag);
    if (slot == kOriginSlot) {
      if (run != Run::kOrigin || at != run_device + run_length) {
        FF_TRY(flush_run());
        run = Run::kOrigin;
        run_device = at;
        run_begin = position;
        run_length = 0;
      }
      run_length += length;
    } else if (diff_area_.frame_length(slot) != 0) {
      FF_TRY(flush_run());
      chunk_data.resize(geometry.chunk_length(chunk));
      FF_TRY(diff_area_.read_slot(chunk, slot, chunk_data));
      std::memcpy(out.data() + position, chunk_data.data() + within, length);
    } else {
      if (run != Run::kDiff || chunk != run_chunk + run_count ||
          std::uint64_t{slot} != std::uint64_t{run_slot} + run_count) {
        FF_TRY(flush_run());
        run = Run::kDiff;
        run_chunk = chunk;
        run_slot = slot;
        run_count = 0;
        run_within = within;
        run_begin = position;
        run_length = 0;
      }
      ++run_count;
      run_length += length;
    }
    position += length;
  }
  return flush_run();
}

Status SnapshotView::do_read(std::uint64_t offset, std::span<std::byte> out) {
  std::shared_lock lock(mutex_);
  const SnapshotMeta* meta = state_.find(tag_);
  if (meta == nullptr) {
    std::string why = "the snapshot was deleted";
    if (const std::string* cause = guard_.deletion_cause(identity_.uuid); cause != nullptr)
      why += " by the overflow policy to make room (" + *cause + ")";
    return Status(ErrorCode::kNotFound, describe("read", offset, out.size(), why));
  }
  if (!state_.damage().ok())
    return state_.damage().with_context("snapshot " + identity_.uuid.to_string());
  if (meta->invalidated) {
    return Status(ErrorCode::kInvalidated,
                  describe("read", offset, out.size(),
                           "the snapshot was invalidated (its diff area overflowed)"));
  }
  Status status = reader_.read(tag_, offset, out);
  if (!status.ok())
    return status.with_context("snapshot " + identity_.uuid.to_string());
  return status;
}

Status SnapshotView::do_write(std::uint64_t offset, std::span<const std::byte> data) {
  return Status(ErrorCode::kReadOnly, describe("write", offset, data.size(), "snapshot"));
}

Status SnapshotView::do_discard(std::uint64_t offset, std::uint64_t length) {
  return Status(ErrorCode::kReadOnly, describe("discard", offset, length, "snapshot"));
}

}  // namespace freezeframe::detail

#include "row_provider.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <utility>

#include "plant_hook.h"

namespace freezeframe::detail {

Status RowWritePath::read(std::uint64_t offset, std::span<std::byte> out) const {
  return reader_.read(0, offset, out);
}

Status RowWritePath::write(std::uint64_t offset, std::span<const std::byte> data) {
  return write_range(offset, data.size(), data);
}

Status RowWritePath::discard(std::uint64_t offset, std::uint64_t length) {
  return write_range(offset, length, {});
}

Result<bool> RowWritePath::reclaim_space() {
  std::vector<std::uint64_t> candidates = consolidation_candidates();
  if (candidates.empty())
    return false;
  FF_ASSIGN_OR_RETURN(std::size_t folded, consolidate_batch(candidates, candidates.size()));
  return folded > 0;
}

RowWritePath::Target RowWritePath::target_of(std::uint64_t chunk, std::uint32_t& slot) const {
  Versions found = state_.index().find(chunk);
  if (found.empty()) {
    slot = kOriginSlot;
    return state_.active().empty() ? Target::kOrigin : Target::kRedirect;
  }
  const IndexEntry& last = found.back();
  bool visible_to_snapshot = !state_.active().empty() && *state_.active().rbegin() >= last.tag;
  if (visible_to_snapshot)
    return Target::kRedirect;
  slot = last.slot;
  if (last.slot == kOriginSlot)
    return Target::kOrigin;
  // A chunk already in a slot is never written in place: its new content goes to a fresh
  // slot with its checksum, and the map record that replaces the old slot commits both, so a
  // crash leaves the old chunk and checksum or the new ones, never a mix.
  return Target::kReplace;
}

Status RowWritePath::write_range(std::uint64_t offset, std::uint64_t length,
                                 std::span<const std::byte> data) {
  std::uint64_t first = geometry_.chunk_of(offset);
  std::uint64_t last = geometry_.chunk_of(offset + length - 1);
  bool to_origin = false;
  for (;;) {
    std::uint64_t redirects = 0;
    std::uint32_t slot = 0;
    to_origin = false;
    for (std::uint64_t chunk = first; chunk <= last; ++chunk) {
      Target target = target_of(chunk, slot);
      // An uncompressed replacement frees a slot as it takes one: it needs no room.
      redirects +=
          target == Target::kRedirect || (target == Target::kReplace && diff_area_.compressed());
      to_origin = to_origin || target == Target::kOrigin;
    }
    bool acted = false;
    FF_TRY(guard_.make_room(redirects, acted));
    if (!acted)
      break;
  }
  // Change tracking: the marks go before the map records of redirected chunks (the same
  // commit makes both durable); a chunk written in the origin needs them durable first.
  if (state_.mark_changed(first, last) && to_origin)
    FF_TRY(state_.commit());
  bool discard = data.empty();
  std::uint64_t position = 0;
  while (position < length) {
    const std::uint64_t at = offset + position;
    const auto [chunk, within, piece] = geometry_.piece_at(at, length - position);
    std::uint32_t slot = kOriginSlot;
    Target target = target_of(chunk, slot);
    if (target == Target::kOrigin) {
      FF_TRY(discard ? origin_.discard(at, piece)
                     : origin_.write(at, data.subspan(position, piece)));
    } else {
      std::uint64_t bytes = geometry_.chunk_length(chunk);
      std::span<std::byte> buffer = scratch(bytes);
      if (piece < bytes) {
        FF_TRY(reader_.read(0, geometry_.chunk_offset(chunk), buffer));
        ++stats_.read_modify_writes;
      }
      if (discard) {
        std::ranges::fill(buffer.subspan(within, piece), std::byte{0});
      } else {
        std::memcpy(buffer.data() + within, data.data() + position, piece);
      }
      std::uint32_t tag = state_.next_tag();
      if (target == Target::kReplace) {
        tag = state_.index().find(chunk).back().tag;
      }
      FF_ASSIGN_OR_RETURN(std::uint32_t new_slot, allocate_slot());
      Status status;
      std::uint64_t written = bytes;
      std::uint32_t packed_bytes = 0;
      if (diff_area_.compressed()) {
        packed_bytes = diff_area_.pack(buffer, packed_);
        written = packed_.size();
      }
      // PLANTED DEFECT (row-map-before-data): the map record is committed before the data it
      // maps is even written.
      const bool record_first = planted(Plant::kRowMapBeforeData);
      if (record_first) {
        state_.map_written_slot(chunk, tag, new_slot,
                                diff_area_.compressed() ? packed_bytes : bytes);
        FF_TRY(state_.commit());
      }
      if (diff_area_.compressed()) {
        status = diff_area_.write_packed(new_slot, chunk, packed_, packed_bytes);
        bytes = packed_bytes;
      } else {
        status = diff_area_.write_chunk(new_slot, chunk, buffer);
      }
      if (!status.ok()) {
        diff_area_.return_slot(new_slot);
        // A full file system runs the overflow policy; what is written so far is written
        // again, as the plan may have changed (each retry gives up a snapshot or reclaims).
        FF_TRY(guard_.on_write_failure(status));
        return write_range(offset, length, data);
      }
      if (!record_first)
        state_.map_written_slot(chunk, tag, new_slot, bytes);
      stats_.chunks_redirected += target == Target::kRedirect;
      stats_.diff_data_bytes_written += written;
    }
    position += piece;
  }
  return Status();
}

bool RowWritePath::consolidatable(Versions versions) const {
  if (versions.back().slot == kOriginSlot)
    return false;
  for (const IndexEntry& entry : versions) {
    if (entry.slot == kOriginSlot)
      return false;
  }
  // Nobody may still read the origin's own version of the chunk.
  return state_.active().empty() || *state_.active().begin() >= versions.front().tag;
}

Result<std::size_t> RowWritePath::consolidate_batch(std::vector<std::uint64_t>& candidates,
                                                    std::size_t batch) {
  std::vector<std::pair<std::uint64_t, std::uint32_t>> moved;
  while (!candidates.empty() && moved.size() < batch) {
    std::uint64_t chunk = candidates.back();
    candidates.pop_back();
    Versions found = state_.index().find(chunk);
    if (found.empty() || !consolidatable(found))
      continue;
    const IndexEntry last = found.back();
    std::span<std::byte> buffer = scratch(geometry_.chunk_length(chunk));
    FF_TRY(diff_area_.read_slot(chunk, last.slot, buffer));
    FF_TRY(origin_.write(geometry_.chunk_offset(chunk), buffer));
    moved.emplace_back(chunk, last.tag);
  }
  if (moved.empty())
    return std::size_t{0};
  // The origin copies must be durable before the records that stop pointing at the slots.
  FF_TRY(origin_.flush());
  for (const auto& [chunk, tag] : moved) {
    Record record;
    record.type = RecordType::kMapToOrigin;
    record.chunk = chunk;
    record.tag = tag;
    state_.log(record);
  }
  FF_TRY(state_.commit());
  stats_.chunks_consolidated += moved.size();
  return moved.size();
}

std::vector<std::uint64_t> RowWritePath::consolidation_candidates() const {
  std::vector<std::uint64_t> candidates;
  state_.index().for_each([&](std::uint64_t chunk, Versions versions) {
    if (consolidatable(versions))
      candidates.push_back(chunk);
  });
  std::sort(candidates.begin(), candidates.end(), std::greater<>());
  return candidates;
}

}  // namespace freezeframe::detail

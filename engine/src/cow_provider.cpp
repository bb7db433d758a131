#include "cow_provider.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "freezeframe/assert.h"
#include "plant_hook.h"

namespace freezeframe::detail {

Status CowWritePath::read(std::uint64_t offset, std::span<std::byte> out) const {
  FF_TRY(origin_.read(offset, out));
  overlay_held(offset, out);
  return Status();
}

Status CowWritePath::write(std::uint64_t offset, std::span<const std::byte> data) {
  FF_TRY(prepare(offset, data.size()));
  return apply(offset, data.size(), data);
}

Status CowWritePath::discard(std::uint64_t offset, std::uint64_t length) {
  FF_TRY(prepare(offset, length));
  return apply(offset, length, {});
}

Status CowWritePath::prepare(std::uint64_t offset, std::uint64_t length) {
  const std::uint64_t first = geometry_.chunk_of(offset);
  const std::uint64_t last = geometry_.chunk_of(offset + length - 1);
  // preserve() marks the chunks it copies, in the commit that makes their copies durable.
  FF_TRY(preserve(offset, length));
  // The others go straight to the origin (no snapshot, or already preserved): their marks
  // must be durable first.
  if (state_.mark_changed(first, last))
    return state_.commit();
  return Status();
}

Status CowWritePath::write_back_held() {
  if (held_.empty())
    return Status();
  return write_back();
}

void CowWritePath::overlay_held(std::uint64_t offset, std::span<std::byte> out) const {
  if (held_.empty() || out.empty())
    return;
  std::uint64_t end = offset + out.size();
  auto copy = [&](std::uint64_t chunk, std::uint32_t arena_slot) {
    std::uint64_t begin = std::max<std::uint64_t>(offset, geometry_.chunk_offset(chunk));
    std::uint64_t stop =
        std::min<std::uint64_t>(end, geometry_.chunk_offset(chunk) + geometry_.chunk_bytes);
    std::memcpy(out.data() + (begin - offset),
                held_data(arena_slot) + (begin - geometry_.chunk_offset(chunk)), stop - begin);
  };
  std::uint64_t first = geometry_.chunk_of(offset);
  std::uint64_t last = geometry_.chunk_of(end - 1);
  if (last - first < held_.size()) {
    for (std::uint64_t chunk = first; chunk <= last; ++chunk) {
      if (auto it = held_.find(chunk); it != held_.end())
        copy(chunk, it->second);
    }
  } else {
    for (const auto& [chunk, arena_slot] : held_) {
      if (chunk >= first && chunk <= last)
        copy(chunk, arena_slot);
    }
  }
}

Status CowWritePath::write_back() {
  // The held chunks' copies and records become durable before the chunks reach the origin.
  // PLANTED DEFECT (cow-early-overwrite): the barrier is skipped.
  if (!planted(Plant::kCowEarlyOverwrite))
    FF_TRY(state_.commit());
  if (held_.empty()) {
    held_next_ = 0;
    return Status();
  }
  std::vector<std::pair<std::uint64_t, std::uint32_t>> order(held_.begin(), held_.end());
  std::sort(order.begin(), order.end());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i + 1;
    std::uint64_t bytes = geometry_.chunk_length(order[i].first);
    while (j < order.size() && order[j].first == order[j - 1].first + 1 &&
           order[j].second == order[j - 1].second + 1) {
      bytes += geometry_.chunk_length(order[j].first);
      ++j;
    }
    Status status = origin_.write(geometry_.chunk_offset(order[i].first),
                                  std::span<const std::byte>(held_data(order[i].second), bytes));
    if (!status.ok())
      return status.with_context(diff_area_.name() + ": writing held chunks back");
    for (std::size_t k = i; k < j; ++k)
      held_.erase(order[k].first);
    i = j;
  }
  held_next_ = 0;
  ++stats_.write_backs;
  return Status();
}

Status CowWritePath::preserve(std::uint64_t offset, std::uint64_t length) {
  std::uint64_t first = geometry_.chunk_of(offset);
  std::uint64_t last = geometry_.chunk_of(offset + length - 1);
  for (;;) {
    if (state_.active().empty())
      return Status();
    std::uint32_t newest = *state_.active().rbegin();
    needed_.clear();
    for (std::uint64_t chunk = first; chunk <= last; ++chunk) {
      Versions found = state_.index().find(chunk);
      if (found.empty() || found.back().tag != newest) {
        FF_ASSERT(held_.count(chunk) == 0);
        needed_.push_back(chunk);
      }
    }
    if (needed_.empty())
      return Status();
    const bool hold = needed_.size() <= write_back_chunks_;
    if (!hold || held_next_ + needed_.size() > write_back_chunks_)
      FF_TRY(write_back());
    if (hold && held_arena_.empty())
      held_arena_.resize(write_back_chunks_ * geometry_.chunk_bytes);
    const std::uint32_t arena_base = held_next_;
    auto old_content = [&](std::size_t i) {
      return std::span<std::byte>(hold ? held_data(arena_base + static_cast<std::uint32_t>(i))
                                       : scratch(geometry_.chunk_bytes).data(),
                                  geometry_.chunk_length(needed_[i]));
    };
    // Held chunks are read now; compressed chunks are packed now too, since the space
    // they take decides the overflow policy.
    std::vector<std::vector<std::byte>> frames;
    std::vector<std::uint32_t> stored;
    std::uint64_t bytes_needed = needed_.size() * geometry_.chunk_bytes;
    if (diff_area_.compressed())
      bytes_needed = 0;
    for (std::size_t i = 0; i < needed_.size() && (hold || diff_area_.compressed()); ++i) {
      std::span<std::byte> buffer = old_content(i);
      FF_TRY(origin_.read(geometry_.chunk_offset(needed_[i]), buffer));
      if (diff_area_.compressed()) {
        frames.emplace_back();
        stored.push_back(diff_area_.pack(buffer, frames.back()));
        bytes_needed += diff_area_.accounted_bytes(needed_[i], stored.back());
      }
    }
    bool acted = false;
    FF_TRY(guard_.make_room(needed_.size(), bytes_needed, acted));
    if (acted)
      continue;
    // A copy that fails part-way: the chunks copied so far keep their (queued) map records.
    // Held ones stay held; without holding, their records are committed now, since a later
    // write to such a chunk finds it preserved and goes straight to the origin.
    auto fail_copy = [&](Status status) -> Status {
      if (!hold)
        state_.commit().ignore_error();  // a failed commit leaves the provider broken
      return status;
    };
    // Their change-tracking marks go out with the copies (before any origin write).
    state_.mark_chunks(needed_);
    bool retry = false;
    for (std::size_t i = 0; i < needed_.size(); ++i) {
      std::uint64_t chunk = needed_[i];
      auto allocated = allocate_slot();
      if (!allocated.ok())
        return fail_copy(allocated.status());
      std::uint32_t slot = allocated.value();
      std::span<std::byte> buffer = old_content(i);
      std::uint64_t bytes = buffer.size();
      Status status;
      if (diff_area_.compressed()) {
        status = diff_area_.write_packed(slot, chunk, frames[i], stored[i]);
        bytes = stored[i];
      } else {
        if (!hold)
          status = origin_.read(geometry_.chunk_offset(chunk), buffer);
        if (status.ok())
          status = diff_area_.write_chunk(slot, chunk, buffer);
      }
      if (!status.ok()) {
        diff_area_.return_slot(slot);
        // A full file system runs the overflow policy (which commits what was copied so
        // far); then the preserve is planned again, as for a full diff area.
        status = guard_.on_write_failure(status);
        if (status.ok()) {
          retry = true;
          break;
        }
        return fail_copy(
            status.with_context(diff_area_.name() + ": preserving chunk " + std::to_string(chunk)));
      }
      state_.map_written_slot(chunk, newest, slot, bytes);
      ++stats_.chunks_preserved;
      stats_.diff_data_bytes_written += diff_area_.compressed() ? frames[i].size() : bytes;
      if (hold) {
        held_.emplace(chunk, arena_base + static_cast<std::uint32_t>(i));
        held_next_ = arena_base + static_cast<std::uint32_t>(i) + 1;
        ++stats_.chunks_held;
      }
    }
    if (retry)
      continue;
    // PLANTED DEFECT (cow-early-overwrite): the origin write that follows goes out before the
    // copies and their records are durable.
    if (planted(Plant::kCowEarlyOverwrite))
      return Status();
    return hold ? Status() : state_.commit();
  }
}

Status CowWritePath::apply(std::uint64_t offset, std::uint64_t length,
                           std::span<const std::byte> data) {
  const bool discard = data.empty();
  auto to_origin = [&](std::uint64_t position, std::uint64_t bytes) -> Status {
    if (bytes == 0)
      return Status();
    return discard ? origin_.discard(offset + position, bytes)
                   : origin_.write(offset + position, data.subspan(position, bytes));
  };
  if (held_.empty())
    return to_origin(0, length);
  std::uint64_t run_begin = 0;
  std::uint64_t position = 0;
  while (position < length) {
    const std::uint64_t at = offset + position;
    const auto [chunk, within, piece] = geometry_.piece_at(at, length - position);
    if (auto it = held_.find(chunk); it != held_.end()) {
      FF_TRY(to_origin(run_begin, position - run_begin));
      std::byte* target = held_data(it->second) + within;
      if (discard) {
        std::fill_n(target, piece, std::byte{0});
      } else {
        std::memcpy(target, data.data() + position, piece);
      }
      run_begin = position + piece;
    }
    position += piece;
  }
  return to_origin(run_begin, length - run_begin);
}

Status CowWritePath::finish_revert() {
  std::uint32_t tag = state_.revert_tag();
  Status copied;
  state_.index().for_each([&](std::uint64_t chunk, Versions) {
    std::uint32_t slot = state_.locate(chunk, tag);
    if (slot == kOriginSlot || !copied.ok())
      return;
    std::span<std::byte> buffer = scratch(geometry_.chunk_length(chunk));
    copied = diff_area_.read_slot(chunk, slot, buffer);
    if (copied.ok())
      copied = origin_.write(geometry_.chunk_offset(chunk), buffer);
  });
  FF_TRY(copied);
  FF_TRY(origin_.flush());
  Record done;
  done.type = RecordType::kRevertDone;
  done.tag = tag;
  state_.log(done);
  return state_.commit();
}
}  // namespace freezeframe::detail

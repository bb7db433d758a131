#include "chunk_index.h"

#include <iterator>

namespace freezeframe::detail {

namespace {

// The first entry of `entries` whose chunk is not below `chunk`. The loop has a fixed trip
// count and selects with a conditional move, so random lookups do not pay for mispredicted
// branches.
std::size_t lower_bound_chunk(std::span<const IndexEntry> entries, std::uint32_t chunk) {
  const IndexEntry* base = entries.data();
  std::size_t length = entries.size();
  if (length == 0)
    return 0;
  while (length > 1) {
    const std::size_t half = length / 2;
    base = base[half - 1].chunk < chunk ? base + half : base;
    length -= half;
  }
  return static_cast<std::size_t>(base - entries.data()) + (base->chunk < chunk ? 1 : 0);
}

// The versions of `chunk` in `entries` (sorted by chunk): a lookup, then a scan over them.
std::span<const IndexEntry> chunk_range(std::span<const IndexEntry> entries, std::uint32_t chunk) {
  std::size_t first = lower_bound_chunk(entries, chunk);
  std::size_t last = first;
  while (last < entries.size() && entries[last].chunk == chunk)
    ++last;
  return entries.subspan(first, last - first);
}

}  // namespace

std::span<const IndexEntry> ChunkIndex::find(std::uint64_t chunk) const {
  if (chunk >= kChunksMax)
    return {};
  const auto key = static_cast<std::uint32_t>(chunk);
  if (auto buffered = chunk_range(pending_, key); !buffered.empty())
    return buffered;
  auto stored = chunk_range(main_, key);
  if (stored.empty() || stored.front().tag == kDeadTag)
    return {};
  return stored;
}

void ChunkIndex::assign(std::uint64_t chunk, std::span<const ChunkVersion> versions) {
  FF_ASSERT(chunk < kChunksMax);
  check_versions(versions);
  const auto key = static_cast<std::uint32_t>(chunk);
  const std::size_t count = versions.size();

  auto [pending_first, pending_last] =
      std::equal_range(pending_.begin(), pending_.end(), key, ChunkLess{});
  if (pending_first != pending_last) {
    const auto old_count = static_cast<std::size_t>(pending_last - pending_first);
    const auto position = static_cast<std::size_t>(pending_first - pending_.begin());
    const std::size_t common = std::min(old_count, count);
    for (std::size_t i = 0; i < common; ++i)
      pending_[position + i] = IndexEntry{key, versions[i].tag, versions[i].slot};
    if (count < old_count) {
      pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(position + count),
                     pending_.begin() + static_cast<std::ptrdiff_t>(position + old_count));
    } else if (count > old_count) {
      reserve_pending(pending_.size() + (count - old_count));
      insert_pending(position + old_count, key, versions.subspan(old_count));
    }
    versions_ = versions_ - old_count + count;
    if (count == 0)
      --chunks_;
    merge_if_due();
    return;
  }

  auto [main_first, main_last] = std::equal_range(main_.begin(), main_.end(), key, ChunkLess{});
  const auto main_count = static_cast<std::size_t>(main_last - main_first);
  const bool dead = main_count > 0 && main_first->tag == kDeadTag;
  if (main_count > 0 && main_count == count) {
    // Same shape: overwrite in place (reviving the chunk's entries if they were dead).
    for (std::size_t i = 0; i < count; ++i)
      main_first[static_cast<std::ptrdiff_t>(i)] =
          IndexEntry{key, versions[i].tag, versions[i].slot};
    if (dead) {
      dead_ -= count;
      ++chunks_;
      versions_ += count;
    }
    return;
  }
  if (main_count > 0 && !dead) {
    for (auto it = main_first; it != main_last; ++it)
      it->tag = kDeadTag;
    dead_ += main_count;
    --chunks_;
    versions_ -= main_count;
  }
  if (count > 0) {
    // pending_first is where the chunk belongs; reserve_pending() may move the storage.
    const auto position = static_cast<std::size_t>(pending_first - pending_.begin());
    reserve_pending(pending_.size() + count);
    insert_pending(position, key, versions);
    ++chunks_;
    versions_ += count;
  }
  merge_if_due();
}

void ChunkIndex::clear() noexcept {
  // Swapping with empty vectors releases the storage (assigning {} would keep it).
  std::vector<IndexEntry>().swap(main_);
  std::vector<IndexEntry>().swap(pending_);
  dead_ = 0;
  chunks_ = 0;
  versions_ = 0;
}

std::size_t ChunkIndex::memory_bytes() const noexcept {
  return (main_.capacity() + pending_.capacity()) * sizeof(IndexEntry) + sizeof(*this);
}

void ChunkIndex::check_versions(std::span<const ChunkVersion> versions) {
  for (std::size_t i = 0; i < versions.size(); ++i) {
    FF_ASSERT_MSG(versions[i].tag != kDeadTag, "chunk version with tag 0");
    FF_ASSERT_MSG(i == 0 || versions[i - 1].tag < versions[i].tag,
                  "chunk versions not sorted by distinct tags");
  }
}

void ChunkIndex::reserve_pending(std::size_t entries) {
  if (entries <= pending_.capacity())
    return;
  const std::size_t grown = std::min(std::max<std::size_t>(2 * pending_.capacity(), 16),
                                     pending_entries_max(main_.size()));
  pending_.reserve(std::max(entries, grown));
}

void ChunkIndex::insert_pending(std::size_t position, std::uint32_t chunk,
                                std::span<const ChunkVersion> versions) {
  // One memmove of the tail, then the new entries written in the gap.
  auto at = pending_.insert(pending_.begin() + static_cast<std::ptrdiff_t>(position),
                            versions.size(), IndexEntry{});
  for (const ChunkVersion& version : versions)
    *at++ = IndexEntry{chunk, version.tag, version.slot};
}

void ChunkIndex::merge_if_due() {
  if (pending_.size() + dead_ > pending_entries_max(main_.size()))
    merge();
}

void ChunkIndex::merge() {
  std::vector<IndexEntry> merged;
  merged.reserve(main_.size() - dead_ + pending_.size());
  auto main_at = main_.cbegin();
  auto pending_at = pending_.cbegin();
  for (;;) {
    while (main_at != main_.cend() && main_at->tag == kDeadTag)
      ++main_at;
    if (main_at == main_.cend())
      break;
    // Live chunks are disjoint between the two, so comparing chunks alone keeps each chunk's
    // versions together and in tag order.
    if (pending_at != pending_.cend() && pending_at->chunk < main_at->chunk) {
      merged.push_back(*pending_at++);
    } else {
      merged.push_back(*main_at++);
    }
  }
  merged.insert(merged.end(), pending_at, pending_.cend());
  FF_ASSERT(merged.size() == versions_);
  main_.swap(merged);
  pending_.clear();
  dead_ = 0;
  trim_pending();
}

void ChunkIndex::rebuild(std::vector<IndexEntry>& spilled) {
  std::vector<IndexEntry> merged;
  merged.reserve(main_.size() + spilled.size());
  std::merge(main_.cbegin(), main_.cend(), spilled.cbegin(), spilled.cend(),
             std::back_inserter(merged),
             [](const IndexEntry& a, const IndexEntry& b) { return a.chunk < b.chunk; });
  FF_ASSERT(merged.size() == versions_);
  main_.swap(merged);
  std::vector<IndexEntry>().swap(spilled);
}

void ChunkIndex::trim_pending() noexcept {
  if (pending_.capacity() > pending_entries_max(main_.size()))
    std::vector<IndexEntry>().swap(pending_);
}

}  // namespace freezeframe::detail

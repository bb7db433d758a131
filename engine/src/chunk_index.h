// The provider's version index: for every changed chunk, its versions (snapshot tag and data
// slot), sorted by tag. Private to the engine.
//
// Memory is the point of this class: a provider over a large origin tracks millions of chunks,
// and a hash-map node per chunk costs about 60 bytes. Here a version costs one 12-byte
// IndexEntry in a sorted vector of exact capacity, plus a bounded insert buffer, so that the
// whole index holds at most 16 bytes per changed chunk (one version each) once it tracks 4096
// chunks or more, whatever the order of changes.
//
// Layout: `main_` holds entries sorted by (chunk, tag); `pending_` is a small sorted buffer
// that absorbs assign() calls. All versions of one chunk live in exactly one of the two. A
// chunk in main_ that is reassigned with the same number of versions is overwritten in place;
// otherwise its entries are marked dead (tag 0, which no snapshot has: tags start at 1) and
// the new versions go to pending_. When pending_ and the dead entries together exceed
// pending_entries_max(main_.size()), one linear pass rebuilds main_ without dead entries.
//
// Bound: pending_'s capacity and the dead entries each stay within that threshold (about
// 2 sqrt(main_.size()), see pending_entries_max), at most main_.size() / 8 whenever the index
// tracks 4096 chunks or more. With one version per chunk the index so holds at most 12 * (1 + 1/8)
// / (1 - 1/8) ~= 15.4 bytes per chunk, plus sizeof(*this). Chunks with several versions cost the
// same per version.
//
// Thread safety: none inside. Const members may run concurrently with each other (they do
// not touch any mutable state); a non-const member needs exclusive access.
#pragma once

#include <algorithm>
#include <boost/container/small_vector.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "freezeframe/assert.h"

namespace freezeframe::detail {

// One version of one chunk as the index stores it.
struct IndexEntry {
  std::uint32_t chunk;
  std::uint32_t tag;   // snapshot tag, >= 1 (0 marks a dead entry inside the index)
  std::uint32_t slot;  // data slot, or format::kOriginSlot; the index does not interpret it
};
static_assert(sizeof(IndexEntry) == 12, "IndexEntry is the per-version memory cost");

// One version of a chunk, as assign() and update_all() take it.
struct ChunkVersion {
  std::uint32_t tag;
  std::uint32_t slot;
};
static_assert(sizeof(ChunkVersion) == 8);

class ChunkIndex {
 public:
  // Chunk numbers must be below this (they are stored in 32 bits).
  static constexpr std::uint64_t kChunksMax = 0xffffffffu;
  // Versions of one chunk handed to update_all()'s callback; most chunks fit inline.
  using VersionList = boost::container::small_vector<ChunkVersion, 4>;

  bool empty() const noexcept { return chunks_ == 0; }
  // Chunks with at least one version.
  std::size_t chunks() const noexcept { return chunks_; }
  // Versions of all chunks.
  std::size_t versions() const noexcept { return versions_; }

  // The versions of `chunk`, sorted by tag ascending; an empty span if it has none.
  // The span stays valid until the next non-const call.
  std::span<const IndexEntry> find(std::uint64_t chunk) const;

  // Replaces all versions of `chunk` by `versions`; an empty span erases the chunk.
  // REQUIRES: chunk < kChunksMax; `versions` sorted by tag, tags distinct and >= 1 (a
  // journal record with chunk or tag out of range must be rejected as corrupt before it gets
  // here: these are checked by assertions).
  // Amortized cost: a memmove within the insert buffer (at most 4096 entries), plus a share of
  // the linear merges, one every few thousand calls that change a chunk's version count.
  void assign(std::uint64_t chunk, std::span<const ChunkVersion> versions);

  // Calls f(std::uint64_t chunk, std::span<const IndexEntry> versions) for every chunk, in
  // ascending chunk order. Does not modify the index, so it may run under a shared lock
  // beside other const calls. `f` must not modify the index.
  template <class F>
  void for_each(F&& f) const;

  // Calls f(std::uint64_t chunk, VersionList& versions) for every chunk, in ascending chunk
  // order, exactly once each. `f` may change, remove or add versions (the result must again be
  // sorted by tag with distinct tags >= 1); an empty result erases the chunk. `f` must not
  // call into the index. Linear in the number of versions.
  template <class F>
  void update_all(F&& f);

  // Removes every chunk and releases the memory.
  void clear() noexcept;

  // Heap bytes held (capacities, not sizes) plus sizeof(*this).
  std::size_t memory_bytes() const noexcept;

  // Entries pending_ may hold, together with dead entries in main_, before a merge. An insert
  // moves about P/2 entries of pending_ and pays 2n/P entries of merge traffic (a merge reads
  // and writes main_'s n entries every P inserts), least at P = 2 sqrt(n); capped so that
  // merges stay rare on huge indexes and the memory bound holds (2 sqrt(n) <= n / 8 from
  // n = 256 on).
  static std::size_t pending_entries_max(std::size_t main_entries) noexcept {
    const auto balanced =
        static_cast<std::size_t>(2.0 * std::sqrt(static_cast<double>(main_entries)));
    return std::max<std::size_t>(
        kPendingEntriesMin,
        std::min<std::size_t>({kPendingEntriesCap, balanced, main_entries / 8}));
  }

 private:
  static constexpr std::uint32_t kDeadTag = 0;
  static constexpr std::size_t kPendingEntriesMin = 64;
  static constexpr std::size_t kPendingEntriesCap = 4096;

  // Orders entries by chunk only: all versions of a chunk compare equal.
  struct ChunkLess {
    bool operator()(const IndexEntry& entry, std::uint32_t chunk) const noexcept {
      return entry.chunk < chunk;
    }
    bool operator()(std::uint32_t chunk, const IndexEntry& entry) const noexcept {
      return chunk < entry.chunk;
    }
  };

  static void check_versions(std::span<const ChunkVersion> versions);
  // Makes room for `entries` entries in pending_, growing its capacity at most to the
  // threshold unless more is needed right now (a merge follows then).
  void reserve_pending(std::size_t entries);
  // Inserts `versions` of `chunk` into pending_ at `position`. REQUIRES: capacity for them.
  void insert_pending(std::size_t position, std::uint32_t chunk,
                      std::span<const ChunkVersion> versions);
  void merge_if_due();
  // Rebuilds main_ at exact capacity from its live entries and pending_, and empties pending_.
  void merge();
  // Rebuilds main_ at exact capacity from main_ (no dead entries) and `spilled`, two sorted
  // runs with disjoint chunks.
  void rebuild(std::vector<IndexEntry>& spilled);
  // Releases pending_'s storage when it is above the threshold for the current main_.
  void trim_pending() noexcept;

  std::vector<IndexEntry> main_;     // sorted by (chunk, tag); capacity == size after a merge
  std::vector<IndexEntry> pending_;  // sorted by (chunk, tag); chunks disjoint from live main_
  std::size_t dead_ = 0;             // entries in main_ with tag kDeadTag
  std::size_t chunks_ = 0;
  std::size_t versions_ = 0;
};

template <class F>
void ChunkIndex::for_each(F&& f) const {
  const IndexEntry* main_at = main_.data();
  const IndexEntry* const main_end = main_at + main_.size();
  const IndexEntry* pending_at = pending_.data();
  const IndexEntry* const pending_end = pending_at + pending_.size();
  for (;;) {
    while (main_at != main_end && main_at->tag == kDeadTag)
      ++main_at;
    if (main_at == main_end && pending_at == pending_end)
      return;
    // Live chunks of main_ and pending_ are disjoint, so the smaller chunk wins outright.
    bool from_main =
        pending_at == pending_end || (main_at != main_end && main_at->chunk < pending_at->chunk);
    const IndexEntry*& at = from_main ? main_at : pending_at;
    const IndexEntry* const end = from_main ? main_end : pending_end;
    const IndexEntry* first = at;
    while (at != end && at->chunk == first->chunk)
      ++at;
    f(std::uint64_t{first->chunk}, std::span<const IndexEntry>(first, at));
  }
}

template <class F>
void ChunkIndex::update_all(F&& f) {
  if (!pending_.empty() || dead_ > 0)
    merge();
  // Results are written back into main_ behind the read position. A chunk whose result does
  // not fit before the next unread chunk goes to `spilled` (ascending, like main_), and the
  // two runs are merged at the end.
  std::vector<IndexEntry> spilled;
  VersionList versions;
  std::size_t write = 0;
  std::size_t read = 0;
  std::size_t chunks = 0;
  std::size_t total = 0;
  const std::size_t size = main_.size();
  while (read < size) {
    const std::uint32_t chunk = main_[read].chunk;
    std::size_t next = read;
    versions.clear();
    for (; next < size && main_[next].chunk == chunk; ++next)
      versions.push_back(ChunkVersion{main_[next].tag, main_[next].slot});
    f(std::uint64_t{chunk}, versions);
    check_versions({versions.data(), versions.size()});
    if (!versions.empty()) {
      ++chunks;
      total += versions.size();
    }
    if (write + versions.size() <= next) {
      for (const ChunkVersion& version : versions)
        main_[write++] = IndexEntry{chunk, version.tag, version.slot};
    } else {
      for (const ChunkVersion& version : versions)
        spilled.push_back(IndexEntry{chunk, version.tag, version.slot});
    }
    read = next;
  }
  main_.resize(write);
  chunks_ = chunks;
  versions_ = total;
  if (!spilled.empty() || main_.capacity() != main_.size())
    rebuild(spilled);
  trim_pending();
}

}  // namespace freezeframe::detail

// The provider's version index: for every changed chunk, its versions (snapshot tag and data
// slot), sorted by tag. Private to the engine.
//
// Memory is the point of this class: a provider over a large origin tracks millions of chunks,
// and a hash-map node per chunk costs about 60 bytes. Here a version costs one 12-byte
// IndexEntry, so that the whole index holds at most 16 bytes per changed chunk (one version
// each) once it tracks 4096 chunks or more, whatever the order of changes.
//
// Layout: entries sorted by (chunk, tag), cut into blocks of kBlockMin to kBlockMax entries
// (a single block may be smaller), each block a vector whose capacity exceeds its size by at
// most kBlockSlack entries; a chunk's versions never straddle two blocks. `firsts_` holds a
// lower bound of each block's chunks (above every chunk of the block before), for a binary
// search. A change moves at most one block's entries (a memmove of at most 6 KiB) and
// reallocates a block every kBlockSlack inserts; a block that grows past kBlockMax splits in
// two, one that shrinks below kBlockMin joins a neighbour. No change costs more than that,
// however large the index: no merge pass, no latency spike.
//
// Bound: per block, 12 bytes per entry, at most kBlockSlack spare entries, a vector header
// and a first chunk: with at least kBlockMin = 128 entries, under 14 bytes per entry.
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
  std::uint32_t tag;   // snapshot tag, >= 1
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
  // Cost: a binary search, a memmove within one block (at most kBlockMax entries), and now and
  // then a reallocation, split or join of that block.
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

  // Block geometry (see the top of this file).
  static constexpr std::size_t kBlockMin = 128;
  static constexpr std::size_t kBlockMax = 512;
  static constexpr std::size_t kBlockSlack = 16;

 private:
  using Block = std::vector<IndexEntry>;

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
  // The block that holds, or would hold, `chunk`. REQUIRES: !blocks_.empty().
  std::size_t block_of(std::uint32_t chunk) const noexcept;
  // Splits block i in two at a chunk boundary near its middle.
  void split(std::size_t i);
  // Joins block i, smaller than kBlockMin, with a neighbour (and splits the result if too big).
  void join(std::size_t i);
  // Replaces every block by blocks cut from `entries` (sorted, chunks not straddling).
  void rebuild(const std::vector<IndexEntry>& entries);

  std::vector<Block> blocks_;
  std::vector<std::uint32_t> firsts_;  // firsts_[i] <= every chunk of block i
  std::size_t chunks_ = 0;
  std::size_t versions_ = 0;
};

template <class F>
void ChunkIndex::for_each(F&& f) const {
  for (const Block& block : blocks_) {
    const IndexEntry* at = block.data();
    const IndexEntry* const end = at + block.size();
    while (at != end) {
      const IndexEntry* first = at;
      while (at != end && at->chunk == first->chunk)
        ++at;
      f(std::uint64_t{first->chunk}, std::span<const IndexEntry>(first, at));
    }
  }
}

template <class F>
void ChunkIndex::update_all(F&& f) {
  // One pass into a new sorted run, cut into fresh blocks: the callback may grow or empty
  // any chunk. Linear in the number of versions.
  std::vector<IndexEntry> entries;
  entries.reserve(versions_);
  VersionList versions;
  for (const Block& block : blocks_) {
    std::size_t read = 0;
    while (read < block.size()) {
      const std::uint32_t chunk = block[read].chunk;
      versions.clear();
      for (; read < block.size() && block[read].chunk == chunk; ++read)
        versions.push_back(ChunkVersion{block[read].tag, block[read].slot});
      f(std::uint64_t{chunk}, versions);
      check_versions({versions.data(), versions.size()});
      for (const ChunkVersion& version : versions)
        entries.push_back(IndexEntry{chunk, version.tag, version.slot});
    }
  }
  rebuild(entries);
}

}  // namespace freezeframe::detail

// RepositoryIndex: every indexed chunk of a repository in memory, 36 bytes per unique chunk
// (hash, pack ordinal, location) in one sorted vector, and the packs they lie in. Built by
// load_index() from the index files (each verified) and extended with the chunks of packs
// that no index lists yet (adopted from an interrupted backup). Private to the backup
// library.
//
// Thread-safety: after finish(), find() and the accessors may be called from any number of
// threads; add() and finish() need exclusive use.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "chunk_hash.h"
#include "repository_format.h"

namespace freezeframe::backup_detail {

struct IndexedChunk {
  ChunkHash hash{};
  std::uint32_t pack = 0;
  ChunkLocation location{};
};
static_assert(sizeof(IndexedChunk) == 36, "the index costs 36 bytes per unique chunk");

class RepositoryIndex {
 public:
  // The ordinal of pack `id`, added if new.
  std::uint32_t add_pack(const ChunkHash& id);
  void add(const ChunkHash& hash, std::uint32_t pack, const ChunkLocation& location);
  // Sorts by hash; of several entries for one hash the first added stays.
  void finish();

  // nullptr when `hash` is not indexed. REQUIRES: finish() since the last add().
  const IndexedChunk* find(const ChunkHash& hash) const;
  const ChunkHash& pack_id(std::uint32_t ordinal) const { return packs_.at(ordinal); }
  bool has_pack(const ChunkHash& id) const { return ordinals_.count(id) != 0; }
  std::optional<std::uint32_t> ordinal_of(const ChunkHash& id) const {
    auto it = ordinals_.find(id);
    return it == ordinals_.end() ? std::nullopt : std::optional<std::uint32_t>(it->second);
  }
  const std::vector<ChunkHash>& packs() const { return packs_; }
  const std::vector<IndexedChunk>& entries() const { return entries_; }

 private:
  std::vector<ChunkHash> packs_;
  std::map<ChunkHash, std::uint32_t> ordinals_;
  std::vector<IndexedChunk> entries_;
  bool sorted_ = true;
};

// An index file as IndexFile, from chunks of `index` (its pack ordinals renumbered densely).
IndexFile index_file_of(const RepositoryIndex& index, const std::vector<IndexedChunk>& chunks);

}  // namespace freezeframe::backup_detail

#include "repository_index.h"

#include <algorithm>

#include "freezeframe/assert.h"

namespace freezeframe::backup_detail {

std::uint32_t RepositoryIndex::add_pack(const ChunkHash& id) {
  auto [it, inserted] = ordinals_.emplace(id, static_cast<std::uint32_t>(packs_.size()));
  if (inserted)
    packs_.push_back(id);
  return it->second;
}

void RepositoryIndex::add(const ChunkHash& hash, std::uint32_t pack,
                          const ChunkLocation& location) {
  FF_ASSERT(pack < packs_.size());
  if (!entries_.empty() && !(entries_.back().hash < hash))
    sorted_ = false;
  entries_.push_back(IndexedChunk{hash, pack, location});
}

void RepositoryIndex::finish() {
  if (sorted_)
    return;
  std::stable_sort(entries_.begin(), entries_.end(),
                   [](const IndexedChunk& a, const IndexedChunk& b) { return a.hash < b.hash; });
  entries_.erase(
      std::unique(entries_.begin(), entries_.end(),
                  [](const IndexedChunk& a, const IndexedChunk& b) { return a.hash == b.hash; }),
      entries_.end());
  entries_.shrink_to_fit();
  sorted_ = true;
}

const IndexedChunk* RepositoryIndex::find(const ChunkHash& hash) const {
  FF_ASSERT(sorted_);
  auto it = std::lower_bound(
      entries_.begin(), entries_.end(), hash,
      [](const IndexedChunk& entry, const ChunkHash& key) { return entry.hash < key; });
  if (it == entries_.end() || it->hash != hash)
    return nullptr;
  return &*it;
}

IndexFile index_file_of(const RepositoryIndex& index, const std::vector<IndexedChunk>& chunks) {
  IndexFile file;
  std::map<std::uint32_t, std::uint32_t> renumbered;
  for (const IndexedChunk& chunk : chunks)
    renumbered.emplace(chunk.pack, 0);
  for (auto& [pack, ordinal] : renumbered) {
    ordinal = static_cast<std::uint32_t>(file.packs.size());
    file.packs.push_back(index.pack_id(pack));
  }
  file.entries.reserve(chunks.size());
  for (const IndexedChunk& chunk : chunks)
    file.entries.push_back(IndexFileEntry{chunk.hash, renumbered[chunk.pack], chunk.location});
  std::sort(file.entries.begin(), file.entries.end(),
            [](const IndexFileEntry& a, const IndexFileEntry& b) { return a.hash < b.hash; });
  file.entries.erase(std::unique(file.entries.begin(), file.entries.end(),
                                 [](const IndexFileEntry& a, const IndexFileEntry& b) {
                                   return a.hash == b.hash;
                                 }),
                     file.entries.end());
  return file;
}

}  // namespace freezeframe::backup_detail

// ChunkReader: reads chunks by hash from a repository's packs and verifies them: the frame's
// header and checksum, its decompressed length, and the chunk's XXH3-128. Decompressed frames
// are kept in a least-recently-used cache bounded in bytes, and open pack files in a bounded
// table. Errors name the pack file and the offset: kCorrupt for damage, kNotFound for a
// missing pack. Private to the backup library.
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "chunk_hash.h"
#include "freezeframe/repository_files.h"
#include "repository_impl.h"
#include "repository_index.h"

namespace freezeframe::backup_detail {

class ChunkReader {
 public:
  // `repo` and `index` are borrowed and must outlive the reader.
  ChunkReader(const Repository::Impl& repo, const RepositoryIndex& index,
              std::uint64_t cache_bytes_max);

  // The verified bytes of chunk `hash` (valid until the next call). kCorrupt when the chunk
  // is not indexed.
  Result<std::span<const std::byte>> read(const ChunkHash& hash);
  // As read(), for an entry of the index.
  Result<std::span<const std::byte>> read(const IndexedChunk& chunk);

 private:
  using FrameKey = std::pair<std::uint32_t, std::uint32_t>;  // pack ordinal, frame offset
  struct CachedFrame {
    FrameKey key{};
    std::vector<std::byte> plain{};
  };

  Result<const RandomAccessFile*> pack_file(std::uint32_t pack);
  Result<const std::vector<std::byte>*> frame(const IndexedChunk& chunk);

  const Repository::Impl& repo_;
  const RepositoryIndex& index_;
  std::uint64_t cache_bytes_max_;
  std::uint64_t cache_bytes_ = 0;
  std::list<CachedFrame> frames_;  // most recently used first
  std::map<FrameKey, std::list<CachedFrame>::iterator> frame_map_;
  std::map<std::uint32_t, std::unique_ptr<RandomAccessFile>> files_;
  std::vector<std::byte> stored_;
  Decompressor decompressor_;
};

}  // namespace freezeframe::backup_detail

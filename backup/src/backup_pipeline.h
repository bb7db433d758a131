// The backup pipeline of one volume: a reader thread reads blocks of consecutive chunks (up to
// one frame's plain bytes, read in one request), `threads` workers hash each chunk, drop zero
// chunks and chunks the index holds, and compress the rest of a block into one zstd frame,
// and the calling thread writes the frames to packs in block order. Blocks in flight are
// bounded, so memory is too; results are applied in block order, so the output does not
// depend on thread timing. Private to the backup library.
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_set>
#include <vector>

#include "chunk_hash.h"
#include "freezeframe/volume.h"
#include "pack_writer.h"
#include "repository_index.h"

namespace freezeframe::backup_detail {

// A run of consecutive chunks to read.
struct ChunkRun {
  std::uint64_t first = 0;
  std::uint64_t count = 0;
};

struct PipelineSettings {
  std::uint32_t chunk_bytes = 0;
  std::uint32_t frame_plain_bytes = 0;
  int compression_level = 1;
  unsigned threads = 2;
  // Blocks read but not yet written, at most.
  std::uint32_t blocks_in_flight_max = 8;
};

struct PipelineCounters {
  std::uint64_t bytes_read = 0;
  std::uint64_t new_chunks = 0;
};

// Reads `runs` of `source`, storing each chunk's hash (the zero hash for an all-zero chunk)
// in `chunks` (indexed by chunk number) and every chunk neither `index` nor `written` holds
// in `packs`; adds the hashes it writes to `written`. `on_bytes` is called from the calling
// thread after each block with the bytes read so far.
Status run_backup_pipeline(Volume& source, const std::vector<ChunkRun>& runs,
                           const PipelineSettings& settings, const RepositoryIndex& index,
                           std::unordered_set<ChunkHash, ChunkHashHasher>& written,
                           PackWriter& packs, std::vector<ChunkHash>& chunks,
                           PipelineCounters& counters,
                           const std::function<void(std::uint64_t)>& on_bytes);

}  // namespace freezeframe::backup_detail

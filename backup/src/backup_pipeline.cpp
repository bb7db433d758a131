#include "backup_pipeline.h"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "freezeframe/assert.h"

namespace freezeframe::backup_detail {

namespace {

struct Block {
  std::uint64_t sequence = 0;
  std::uint64_t first_chunk = 0;
  std::uint32_t chunk_count = 0;
  std::vector<std::byte> data{};
};

struct BlockResult {
  std::uint64_t first_chunk = 0;
  std::uint64_t bytes = 0;
  std::vector<ChunkHash> hashes{};
  // The chunks of the block that the index does not hold (first occurrence in the block),
  // their plain bytes one after the other, and those compressed as one zstd frame.
  std::vector<FrameChunk> frame_chunks{};
  std::vector<std::byte> plain{};
  std::vector<std::byte> compressed{};
};

// The state the threads share; one mutex and one condition variable guard it all.
class Shared {
 public:
  explicit Shared(std::uint32_t in_flight_max) : in_flight_max_(in_flight_max) {}

  // Reader: waits for room for one more block; false when the pipeline stopped.
  bool reserve_block() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return stopped_ || in_flight_ < in_flight_max_; });
    if (stopped_)
      return false;
    ++in_flight_;
    return true;
  }
  void push_block(Block block) {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(block));
    changed_.notify_all();
  }
  void reader_done() {
    std::lock_guard lock(mutex_);
    reader_done_ = true;
    changed_.notify_all();
  }
  // Reader: block `sequence` could not be read. The blocks before it are still processed and
  // written (so their packs can be kept for the next backup); then the pipeline stops.
  void read_failed(std::uint64_t sequence, Status status) {
    std::lock_guard lock(mutex_);
    read_error_ = std::move(status);
    failed_block_ = sequence;
    reader_done_ = true;
    changed_.notify_all();
  }
  // Worker: the next block to process; false when there is none left or the pipeline
  // stopped.
  bool pop_block(Block& block) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return stopped_ || !pending_.empty() || reader_done_; });
    if (stopped_ || pending_.empty())
      return false;
    block = std::move(pending_.front());
    pending_.pop_front();
    return true;
  }
  void push_result(std::uint64_t sequence, BlockResult result) {
    std::lock_guard lock(mutex_);
    results_.emplace(sequence, std::move(result));
    changed_.notify_all();
  }
  // Writer: the result of block `sequence`, once ready; false when the pipeline stopped.
  bool take_result(std::uint64_t sequence, BlockResult& result) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] {
      return stopped_ || results_.count(sequence) != 0 || sequence >= failed_block_;
    });
    if (stopped_)
      return false;
    if (sequence >= failed_block_) {
      error_ = read_error_;
      stopped_ = true;
      changed_.notify_all();
      return false;
    }
    auto it = results_.find(sequence);
    result = std::move(it->second);
    results_.erase(it);
    return true;
  }
  void block_written() {
    std::lock_guard lock(mutex_);
    --in_flight_;
    changed_.notify_all();
  }
  // Stops every thread; the first error is kept.
  void stop(Status status) {
    std::lock_guard lock(mutex_);
    if (error_.ok() && !status.ok())
      error_ = std::move(status);
    stopped_ = true;
    changed_.notify_all();
  }
  Status error() {
    std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint32_t in_flight_max_;
  std::uint32_t in_flight_ = 0;
  std::deque<Block> pending_;
  std::map<std::uint64_t, BlockResult> results_;
  bool reader_done_ = false;
  std::uint64_t failed_block_ = UINT64_MAX;
  Status read_error_;
  bool stopped_ = false;
  Status error_;
};

// The blocks `runs` are cut into: at most `chunks_per_block` consecutive chunks each.
std::vector<ChunkRun> cut_blocks(const std::vector<ChunkRun>& runs,
                                 std::uint64_t chunks_per_block) {
  std::vector<ChunkRun> blocks;
  for (const ChunkRun& run : runs) {
    for (std::uint64_t at = run.first; at < run.first + run.count; at += chunks_per_block)
      blocks.push_back(ChunkRun{at, std::min(chunks_per_block, run.first + run.count - at)});
  }
  return blocks;
}

void read_blocks(Volume& source, const std::vector<ChunkRun>& blocks, std::uint32_t chunk_bytes,
                 Shared& shared) {
  for (std::uint64_t sequence = 0; sequence < blocks.size(); ++sequence) {
    if (!shared.reserve_block())
      return;
    const ChunkRun& run = blocks[sequence];
    std::uint64_t offset = run.first * chunk_bytes;
    std::uint64_t length =
        std::min<std::uint64_t>(run.count * chunk_bytes, source.size_bytes() - offset);
    Block block{sequence, run.first, static_cast<std::uint32_t>(run.count),
                std::vector<std::byte>(length)};
    Status read = source.read(offset, block.data);
    if (!read.ok()) {
      shared.read_failed(sequence, read.with_context("backup of volume '" + source.name() + "'"));
      return;
    }
    shared.push_block(std::move(block));
  }
  shared.reader_done();
}

void process_blocks(const PipelineSettings& settings, const RepositoryIndex& index,
                    Shared& shared) {
  Compressor compressor;
  Block block;
  while (shared.pop_block(block)) {
    BlockResult result;
    result.first_chunk = block.first_chunk;
    result.bytes = block.data.size();
    result.hashes.resize(block.chunk_count);
    for (std::uint32_t k = 0; k < block.chunk_count; ++k) {
      std::size_t begin = std::size_t{k} * settings.chunk_bytes;
      auto bytes = std::span<const std::byte>(block.data)
                       .subspan(begin, std::min<std::size_t>(settings.chunk_bytes,
                                                             block.data.size() - begin));
      if (is_all_zero(bytes))
        continue;
      ChunkHash hash = hash_bytes(bytes);
      result.hashes[k] = hash;
      if (index.find(hash) != nullptr)
        continue;
      bool repeated = std::any_of(result.frame_chunks.begin(), result.frame_chunks.end(),
                                  [&](const FrameChunk& chunk) { return chunk.hash == hash; });
      if (repeated)
        continue;
      result.frame_chunks.push_back(FrameChunk{hash,
                                               static_cast<std::uint32_t>(result.plain.size()),
                                               static_cast<std::uint32_t>(bytes.size())});
      result.plain.insert(result.plain.end(), bytes.begin(), bytes.end());
    }
    if (!result.plain.empty()) {
      Status compressed =
          compressor.compress(result.plain, settings.compression_level, result.compressed);
      if (!compressed.ok()) {
        shared.stop(std::move(compressed));
        return;
      }
    }
    shared.push_result(block.sequence, std::move(result));
  }
}

// Writes the frame of `result`, leaving out chunks written earlier in this backup (another
// block or volume held them): the frame is then compressed again without them.
Status write_result(BlockResult& result, const PipelineSettings& settings,
                    std::unordered_set<ChunkHash, ChunkHashHasher>& written, PackWriter& packs,
                    Compressor& compressor, PipelineCounters& counters) {
  if (result.frame_chunks.empty())
    return Status();
  bool all_new = std::none_of(result.frame_chunks.begin(), result.frame_chunks.end(),
                              [&](const FrameChunk& chunk) { return written.count(chunk.hash); });
  if (!all_new) {
    std::vector<FrameChunk> kept;
    std::vector<std::byte> plain;
    for (const FrameChunk& chunk : result.frame_chunks) {
      if (written.count(chunk.hash) != 0)
        continue;
      kept.push_back(
          FrameChunk{chunk.hash, static_cast<std::uint32_t>(plain.size()), chunk.length});
      auto bytes =
          std::span<const std::byte>(result.plain).subspan(chunk.offset_in_frame, chunk.length);
      plain.insert(plain.end(), bytes.begin(), bytes.end());
    }
    if (kept.empty())
      return Status();
    result.frame_chunks = std::move(kept);
    result.plain = std::move(plain);
    FF_TRY(compressor.compress(result.plain, settings.compression_level, result.compressed));
  }
  FF_TRY(packs.add_frame(result.compressed, static_cast<std::uint32_t>(result.plain.size()),
                         result.frame_chunks));
  for (const FrameChunk& chunk : result.frame_chunks)
    written.insert(chunk.hash);
  counters.new_chunks += result.frame_chunks.size();
  return Status();
}

}  // namespace

Status run_backup_pipeline(Volume& source, const std::vector<ChunkRun>& runs,
                           const PipelineSettings& settings, const RepositoryIndex& index,
                           std::unordered_set<ChunkHash, ChunkHashHasher>& written,
                           PackWriter& packs, std::vector<ChunkHash>& chunks,
                           PipelineCounters& counters,
                           const std::function<void(std::uint64_t)>& on_bytes) {
  FF_ASSERT(settings.threads >= 1 && settings.blocks_in_flight_max >= 1);
  FF_ASSERT(settings.frame_plain_bytes % settings.chunk_bytes == 0);
  std::vector<ChunkRun> blocks =
      cut_blocks(runs, settings.frame_plain_bytes / settings.chunk_bytes);
  Shared shared(settings.blocks_in_flight_max);
  std::vector<std::thread> threads;
  threads.reserve(settings.threads + 1);
  threads.emplace_back([&] { read_blocks(source, blocks, settings.chunk_bytes, shared); });
  for (unsigned i = 0; i < settings.threads; ++i)
    threads.emplace_back([&] { process_blocks(settings, index, shared); });

  Compressor compressor;
  Status status;
  BlockResult result;
  for (std::uint64_t sequence = 0; sequence < blocks.size(); ++sequence) {
    if (!shared.take_result(sequence, result))
      break;
    for (std::size_t k = 0; k < result.hashes.size(); ++k) {
      FF_ASSERT(result.first_chunk + k < chunks.size());
      chunks[result.first_chunk + k] = result.hashes[k];
    }
    status = write_result(result, settings, written, packs, compressor, counters);
    if (!status.ok()) {
      shared.stop(status);
      break;
    }
    counters.bytes_read += result.bytes;
    shared.block_written();
    if (on_bytes)
      on_bytes(counters.bytes_read);
  }
  shared.stop(Status());
  for (std::thread& thread : threads)
    thread.join();
  return shared.error();
}

}  // namespace freezeframe::backup_detail

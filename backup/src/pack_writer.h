// PackWriter: appends zstd frames to pack files and closes each pack once it reaches the
// repository's target size. A pack is written under a temporary name and its trailer
// appended; then a background thread flushes the file and renames it to the XXH3-128 of its
// content, while the caller goes on writing the next pack. finish() waits for those flushes
// and flushes the packs directory once. A pack under its final name is always whole and
// durable (its content is flushed before the rename), and every pack in packs() is under its
// final name, durably, once finish() has returned OK. Private to the backup library.
//
// Memory: at most kClosedPacksMax closed packs wait for their flush (each holds its open file
// and its entries, not its bytes); add_frame() waits when they are all taken.
//
// Errors: a failed flush or rename fails the next add_frame() that closes a pack, or
// finish(), with a message naming the file; the packs closed before and after it are still
// flushed and renamed (so a later backup can adopt them).
//
// Thread-safety: one thread at a time (the flushing thread is internal).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "chunk_hash.h"
#include "freezeframe/durable_file.h"
#include "repository_format.h"

namespace freezeframe::backup_detail {

// A chunk inside a frame's plain bytes.
struct FrameChunk {
  ChunkHash hash{};
  std::uint32_t offset_in_frame = 0;
  std::uint32_t length = 0;
};

struct WrittenPack {
  ChunkHash id{};
  std::uint64_t bytes = 0;
  std::vector<PackEntry> entries{};
};

class PackWriter {
 public:
  // Closed packs that may wait for their flush at once.
  static constexpr std::size_t kClosedPacksMax = 2;

  PackWriter(std::filesystem::path packs_dir, std::uint32_t pack_bytes_target);
  // Removes the temporary file of a pack that was not closed; waits for the flush of the
  // closed ones (which are then renamed, but their directory is not flushed).
  ~PackWriter();
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;

  // Appends one frame: zstd `payload` holding `plain_length` bytes, in which `chunks` lie.
  Status add_frame(std::span<const std::byte> payload, std::uint32_t plain_length,
                   std::span<const FrameChunk> chunks);
  // Closes the open pack, if any, and hands it to the flushing thread without waiting for
  // the flush: packs() is then complete, so the caller can write what names the packs (under
  // a temporary name) while the last flush runs.
  Status close();
  // close(), then waits until every closed pack is flushed and renamed, and flushes the
  // packs directory. The first error of any pack's flush, if there was one.
  Status finish();

  // Every pack closed so far, in order. Each is under its final name, durably, once
  // finish() has returned OK; before that its flush may still be running.
  const std::vector<WrittenPack>& packs() const { return packs_; }
  // Framed bytes added (headers included), over all packs.
  std::uint64_t stored_bytes() const { return stored_bytes_; }

 private:
  struct ClosedPack {
    OutputFile file;
    std::filesystem::path temp_path{};
    ChunkHash id{};
  };

  Status open_pack();
  Status append(std::span<const std::byte> bytes);
  // Appends the trailer and hands the pack to the flushing thread.
  Status close_pack();
  // The flushing thread: flushes and renames closed packs until stopped and none is left.
  void flush_closed_packs();
  Status flush_one(ClosedPack& closed);

  std::filesystem::path packs_dir_;
  std::uint32_t pack_bytes_target_;
  std::optional<OutputFile> file_;
  std::filesystem::path temp_path_;
  std::unique_ptr<StreamHash> hash_;
  std::uint64_t size_ = 0;
  std::vector<PackEntry> entries_;
  std::uint64_t stored_bytes_ = 0;

  // Shared with the flushing thread.
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<ClosedPack> closed_;
  bool flushing_ = false;           // the thread holds a pack taken from closed_
  bool stopping_ = false;           // no more packs will come
  bool directory_changed_ = false;  // a pack renamed since the last directory flush
  Status flush_error_;
  std::thread flusher_;
  // The caller's thread only.
  std::vector<WrittenPack> packs_;
};

}  // namespace freezeframe::backup_detail

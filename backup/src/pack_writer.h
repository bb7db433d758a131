// PackWriter: appends zstd frames to pack files and closes each pack once it reaches the
// repository's target size. A pack is written under a temporary name, then its trailer is
// appended, the file and directory are flushed, and it is renamed to the XXH3-128 of its
// content and the directory flushed again: a pack under its final name is always whole and
// durable. Private to the backup library.
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
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
  PackWriter(std::filesystem::path packs_dir, std::uint32_t pack_bytes_target);
  // Removes the temporary file of a pack that was not finished.
  ~PackWriter();
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;

  // Appends one frame: zstd `payload` holding `plain_length` bytes, in which `chunks` lie.
  Status add_frame(std::span<const std::byte> payload, std::uint32_t plain_length,
                   std::span<const FrameChunk> chunks);
  // Closes the open pack, if any (trailer, flush, rename, directory flush).
  Status finish();

  // Packs closed so far.
  const std::vector<WrittenPack>& packs() const { return packs_; }
  // Framed bytes added (headers included), over all packs.
  std::uint64_t stored_bytes() const { return stored_bytes_; }

 private:
  Status open_pack();
  Status append(std::span<const std::byte> bytes);

  std::filesystem::path packs_dir_;
  std::uint32_t pack_bytes_target_;
  std::optional<OutputFile> file_;
  std::filesystem::path temp_path_;
  std::unique_ptr<StreamHash> hash_;
  std::uint64_t size_ = 0;
  std::vector<PackEntry> entries_;
  std::vector<WrittenPack> packs_;
  std::uint64_t stored_bytes_ = 0;
};

}  // namespace freezeframe::backup_detail

#include "pack_writer.h"

#include <string>

#include "freezeframe/assert.h"
#include "freezeframe/repository_files.h"
#include "freezeframe/uuid.h"
#include "repository_impl.h"

namespace freezeframe::backup_detail {

PackWriter::PackWriter(std::filesystem::path packs_dir, std::uint32_t pack_bytes_target)
    : packs_dir_(std::move(packs_dir)), pack_bytes_target_(pack_bytes_target) {}

PackWriter::~PackWriter() {
  if (file_) {
    file_.reset();
    remove_file(temp_path_).ignore_error();  // prune would remove it too
  }
}

Status PackWriter::open_pack() {
  temp_path_ = packs_dir_ / (Uuid::generate().to_string() + std::string(kPackSuffix) +
                             std::string(kTemporarySuffix));
  FF_ASSIGN_OR_RETURN(OutputFile file, OutputFile::create(temp_path_, true));
  file_.emplace(std::move(file));
  hash_ = std::make_unique<StreamHash>();
  size_ = 0;
  entries_.clear();
  return append(encode_pack_header());
}

Status PackWriter::append(std::span<const std::byte> bytes) {
  FF_TRY(file_->write(bytes));
  hash_->update(bytes);
  size_ += bytes.size();
  return Status();
}

Status PackWriter::add_frame(std::span<const std::byte> payload, std::uint32_t plain_length,
                             std::span<const FrameChunk> chunks) {
  FF_ASSERT(!chunks.empty() && plain_length > 0 && plain_length <= kFramePlainBytesMax);
  std::uint64_t frame_bytes = kFrameHeaderBytes + payload.size();
  std::uint64_t trailer_bytes =
      (entries_.size() + chunks.size()) * kPackEntryBytes + kPackFooterBytes;
  if (file_ && !entries_.empty() && size_ + frame_bytes + trailer_bytes > pack_bytes_target_)
    FF_TRY(finish());
  if (!file_)
    FF_TRY(open_pack());
  // Offsets are 32-bit: a pack never reaches 4 GiB (the target is at most 1 GiB, and one
  // frame at most a few MiB).
  FF_ASSERT(size_ + frame_bytes < (std::uint64_t{1} << 32));
  auto frame_offset = static_cast<std::uint32_t>(size_);
  FF_TRY(append(encode_frame_header(plain_length, payload)));
  FF_TRY(append(payload));
  for (const FrameChunk& chunk : chunks) {
    FF_ASSERT(std::uint64_t{chunk.offset_in_frame} + chunk.length <= plain_length);
    entries_.push_back(
        PackEntry{chunk.hash, ChunkLocation{frame_offset, static_cast<std::uint32_t>(frame_bytes),
                                            chunk.offset_in_frame, chunk.length}});
  }
  stored_bytes_ += frame_bytes;
  return Status();
}

Status PackWriter::finish() {
  if (!file_)
    return Status();
  FF_TRY(append(encode_pack_trailer(entries_)));
  FF_TRY(file_->finish());
  file_.reset();
  WrittenPack pack;
  pack.id = hash_->digest();
  pack.bytes = size_;
  pack.entries = std::move(entries_);
  entries_.clear();
  std::filesystem::path final_path = packs_dir_ / (pack.id.hex() + std::string(kPackSuffix));
  Status renamed = rename_file(temp_path_, final_path);
  if (!renamed.ok()) {
    remove_file(temp_path_).ignore_error();
    return renamed;
  }
  FF_TRY(sync_directory(packs_dir_));
  packs_.push_back(std::move(pack));
  return Status();
}

}  // namespace freezeframe::backup_detail

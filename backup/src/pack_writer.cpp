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
  if (flusher_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    flusher_.join();
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
    FF_TRY(close_pack());
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

Status PackWriter::close_pack() {
  FF_ASSERT(file_.has_value());
  Status trailer = append(encode_pack_trailer(entries_));
  if (!trailer.ok()) {
    file_.reset();
    remove_file(temp_path_).ignore_error();
    return trailer;
  }
  ClosedPack closed{std::move(*file_), temp_path_, hash_->digest()};
  file_.reset();
  packs_.push_back(WrittenPack{closed.id, size_, std::move(entries_)});
  entries_.clear();
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return closed_.size() + (flushing_ ? 1 : 0) < kClosedPacksMax; });
  closed_.push_back(std::move(closed));
  if (!flusher_.joinable())
    flusher_ = std::thread([this] { flush_closed_packs(); });
  changed_.notify_all();
  return flush_error_;
}

Status PackWriter::flush_one(ClosedPack& closed) {
  Status flushed = closed.file.finish_file();
  std::filesystem::path final_path = packs_dir_ / (closed.id.hex() + std::string(kPackSuffix));
  if (flushed.ok())
    flushed = rename_file(closed.temp_path, final_path);
  if (!flushed.ok())
    remove_file(closed.temp_path).ignore_error();
  return flushed;
}

void PackWriter::flush_closed_packs() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || !closed_.empty(); });
    if (closed_.empty())
      return;
    ClosedPack closed = std::move(closed_.front());
    closed_.pop_front();
    flushing_ = true;
    lock.unlock();
    Status flushed = flush_one(closed);
    lock.lock();
    flushing_ = false;
    if (flushed.ok()) {
      directory_changed_ = true;
    } else if (flush_error_.ok()) {
      flush_error_ = std::move(flushed);
    }
    changed_.notify_all();
  }
}

Status PackWriter::close() {
  if (!file_)
    return Status();
  return close_pack();
}

Status PackWriter::finish() {
  Status status = close();
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return closed_.empty() && !flushing_; });
  if (status.ok())
    status = flush_error_;
  if (directory_changed_) {
    directory_changed_ = false;
    Status synced = sync_directory(packs_dir_);
    if (status.ok())
      status = std::move(synced);
  }
  return status;
}

}  // namespace freezeframe::backup_detail

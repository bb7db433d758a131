#include "chunk_reader.h"

#include <string>

namespace freezeframe::backup_detail {

namespace {
// Open pack files kept at once; past it the table is emptied (a bound, not a policy).
constexpr std::size_t kOpenPacksMax = 64;
}  // namespace

ChunkReader::ChunkReader(const Repository::Impl& repo, const RepositoryIndex& index,
                         std::uint64_t cache_bytes_max)
    : repo_(repo), index_(index), cache_bytes_max_(cache_bytes_max) {}

Result<const RandomAccessFile*> ChunkReader::pack_file(std::uint32_t pack) {
  auto it = files_.find(pack);
  if (it != files_.end())
    return it->second.get();
  if (files_.size() >= kOpenPacksMax)
    files_.clear();
  auto path = pack_path(repo_, index_.pack_id(pack));
  auto opened = RandomAccessFile::open(path);
  if (!opened.ok()) {
    if (opened.status().code() == ErrorCode::kNotFound)
      return not_found("pack '" + path.string() + "' is missing: " + opened.status().message());
    return opened.status();
  }
  return files_.emplace(pack, std::move(opened).value()).first->second.get();
}

Result<const std::vector<std::byte>*> ChunkReader::frame(const IndexedChunk& chunk) {
  FrameKey key{chunk.pack, chunk.location.frame_offset};
  auto cached = frame_map_.find(key);
  if (cached != frame_map_.end()) {
    frames_.splice(frames_.begin(), frames_, cached->second);
    return &cached->second->plain;
  }
  FF_ASSIGN_OR_RETURN(const RandomAccessFile* file, pack_file(chunk.pack));
  const std::string name = file->path().string();
  const std::uint64_t offset = chunk.location.frame_offset;
  stored_.resize(chunk.location.frame_length);
  FF_ASSIGN_OR_RETURN(std::size_t got, file->read_at(offset, stored_));
  if (got != stored_.size())
    return corrupt("'" + name + "' offset " + std::to_string(offset) + ": frame of " +
                   std::to_string(stored_.size()) + " bytes runs past the end of the file (" +
                   std::to_string(file->size_bytes()) + " bytes)");
  FF_ASSIGN_OR_RETURN(ParsedFrame parsed, parse_frame(stored_, 0, name, offset));
  CachedFrame entry;
  entry.key = key;
  entry.plain.resize(parsed.plain_length);
  if (!decompressor_.decompress(parsed.payload, entry.plain))
    return corrupt("'" + name + "' offset " + std::to_string(offset) +
                   ": frame does not decompress to its " + std::to_string(parsed.plain_length) +
                   " bytes");
  // Evict least recently used frames until the new one fits (it is kept even if alone it
  // exceeds the bound: the caller needs it now).
  while (!frames_.empty() && cache_bytes_ + entry.plain.size() > cache_bytes_max_) {
    cache_bytes_ -= frames_.back().plain.size();
    frame_map_.erase(frames_.back().key);
    frames_.pop_back();
  }
  cache_bytes_ += entry.plain.size();
  frames_.push_front(std::move(entry));
  frame_map_[key] = frames_.begin();
  return &frames_.front().plain;
}

Result<std::span<const std::byte>> ChunkReader::read(const ChunkHash& hash) {
  const IndexedChunk* chunk = index_.find(hash);
  if (chunk == nullptr)
    return corrupt("chunk " + hash.hex() + " is not in the index of repository '" +
                   repo_.dir.string() + "'");
  return read(*chunk);
}

Result<std::span<const std::byte>> ChunkReader::read(const IndexedChunk& chunk) {
  FF_ASSIGN_OR_RETURN(const std::vector<std::byte>* plain, frame(chunk));
  const ChunkLocation& at = chunk.location;
  auto describe = [&] {
    return "'" + pack_path(repo_, index_.pack_id(chunk.pack)).string() + "' offset " +
           std::to_string(at.frame_offset) + ": chunk " + chunk.hash.hex();
  };
  if (std::uint64_t{at.offset_in_frame} + at.length > plain->size())
    return corrupt(describe() + " at [" + std::to_string(at.offset_in_frame) + ", +" +
                   std::to_string(at.length) + ") lies outside the frame's " +
                   std::to_string(plain->size()) + " bytes");
  auto bytes = std::span<const std::byte>(*plain).subspan(at.offset_in_frame, at.length);
  if (hash_bytes(bytes) != chunk.hash)
    return corrupt(describe() + " does not match its hash after decompression");
  return bytes;
}

}  // namespace freezeframe::backup_detail

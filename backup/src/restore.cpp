// restore() and verify(): read a backup's chunks back through ChunkReader, which verifies
// every frame and chunk.
#include <algorithm>
#include <map>
#include <string>

#include "chunk_reader.h"
#include "freezeframe/backup.h"
#include "progress_meter.h"
#include "repository_impl.h"

namespace freezeframe {

using namespace backup_detail;

namespace {

// Writes to the target are gathered up to this size (and zero runs cut to it).
constexpr std::uint64_t kRestoreWriteBytesMax = std::uint64_t{4} << 20;

// Gathers consecutive verified chunks and writes them to the target in large requests.
class TargetWriter {
 public:
  explicit TargetWriter(Volume& target) : target_(target) {
    buffer_.reserve(kRestoreWriteBytesMax);
  }

  Status append(std::uint64_t offset, std::span<const std::byte> bytes) {
    if (!buffer_.empty() && (offset != start_ + buffer_.size() ||
                             buffer_.size() + bytes.size() > kRestoreWriteBytesMax))
      FF_TRY(flush());
    if (buffer_.empty())
      start_ = offset;
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    return Status();
  }
  Status flush() {
    if (buffer_.empty())
      return Status();
    touched_end_ = start_ + buffer_.size();
    Status written = target_.write(start_, buffer_);
    buffer_.clear();
    return written;
  }
  // The end of the last range written or discarded; 0 while the target is untouched.
  std::uint64_t touched_end() const { return touched_end_; }
  Status zeros(std::uint64_t offset, std::uint64_t length, ZeroPolicy policy) {
    FF_TRY(flush());
    if (policy == ZeroPolicy::kSkip)
      return Status();
    touched_end_ = offset + length;
    if (policy == ZeroPolicy::kDiscard)
      return target_.discard(offset, length);
    if (zero_block_.empty())
      zero_block_.resize(kRestoreWriteBytesMax);
    for (std::uint64_t done = 0; done < length;) {
      std::uint64_t piece = std::min(length - done, kRestoreWriteBytesMax);
      FF_TRY(target_.write(offset + done, std::span(zero_block_).first(piece)));
      done += piece;
    }
    return Status();
  }

 private:
  Volume& target_;
  std::uint64_t start_ = 0;
  std::uint64_t touched_end_ = 0;
  std::vector<std::byte> buffer_;
  std::vector<std::byte> zero_block_;
};

}  // namespace

Status restore(Repository& repository, std::string_view backup_id, Volume& target,
               const RestoreOptions& options) {
  Repository::Impl& repo = repository.impl();
  FF_ASSIGN_OR_RETURN(ChunkHash id, resolve_backup(repository, backup_id));
  FF_ASSIGN_OR_RETURN(Manifest manifest, load_manifest(repo, id));
  const std::string what = "restore of backup " + id.hex() + " to volume '" + target.name() + "'";
  if (target.size_bytes() < manifest.volume_bytes)
    return invalid_argument(what + ": the volume has " + std::to_string(target.size_bytes()) +
                            " bytes, the backup " + std::to_string(manifest.volume_bytes));
  if (manifest.volume_bytes % target.sector_bytes() != 0)
    return invalid_argument(what + ": the backup's size is not a multiple of the volume's " +
                            std::to_string(target.sector_bytes()) + "-byte sectors");
  if (options.verify_before_writing) {
    auto checked = verify(repository, id.hex());
    if (!checked.ok())
      return checked.status().with_context(what + ": nothing was written");
    if (!checked->ok())
      return checked->first_problem.with_context(
          what + ": checked before writing, " + std::to_string(checked->bad_chunks) +
          " bad chunks and " + std::to_string(checked->bad_packs) +
          " bad packs; nothing was written");
  }
  FF_ASSIGN_OR_RETURN(LoadedIndex loaded, load_index(repo));
  ChunkReader reader(repo, loaded.index, options.frame_cache_bytes_max);
  TargetWriter writer(target);
  // An error after the first write says how much of the target it changed.
  auto failed = [&](const Status& status) {
    if (writer.touched_end() == 0)
      return status.with_context(what + ": nothing was written");
    return status.with_context(what + ": the target was partly overwritten, up to offset " +
                               std::to_string(writer.touched_end()) +
                               ", and holds neither its old content nor the backup");
  };
  ProgressMeter meter(options.on_progress, options.progress_interval, options.clock,
                      manifest.volume_bytes);
  const std::uint64_t chunk_bytes = manifest.chunk_bytes;
  const auto& chunks = manifest.chunks;
  for (std::size_t i = 0; i < chunks.size();) {
    const std::uint64_t offset = i * chunk_bytes;
    if (chunks[i].is_zero()) {
      std::size_t end = i + 1;
      while (end < chunks.size() && chunks[end].is_zero())
        ++end;
      std::uint64_t end_offset = std::min<std::uint64_t>(end * chunk_bytes, manifest.volume_bytes);
      if (Status status = writer.zeros(offset, end_offset - offset, options.zeros); !status.ok())
        return failed(status);
      i = end;
    } else {
      const std::uint64_t length = std::min(chunk_bytes, manifest.volume_bytes - offset);
      auto bytes = reader.read(chunks[i]);
      if (!bytes.ok())
        return failed(bytes.status().with_context("volume offset " + std::to_string(offset)));
      if (bytes->size() != length)
        return failed(corrupt("chunk " + chunks[i].hex() + " at volume offset " +
                              std::to_string(offset) + " holds " + std::to_string(bytes->size()) +
                              " bytes, not " + std::to_string(length)));
      if (Status status = writer.append(offset, *bytes); !status.ok())
        return failed(status);
      ++i;
    }
    meter.update(std::min<std::uint64_t>(i * chunk_bytes, manifest.volume_bytes));
  }
  if (Status status = writer.flush(); !status.ok())
    return failed(status);
  if (Status status = target.flush(); !status.ok())
    return failed(status);
  meter.finish();
  return Status();
}

Result<VerifyReport> verify(Repository& repository, std::string_view backup_id) {
  Repository::Impl& repo = repository.impl();
  FF_ASSIGN_OR_RETURN(ChunkHash id, resolve_backup(repository, backup_id));
  FF_ASSIGN_OR_RETURN(Manifest manifest, load_manifest(repo, id));
  FF_ASSIGN_OR_RETURN(LoadedIndex loaded, load_index(repo));
  std::vector<ChunkHash> hashes;
  for (const ChunkHash& chunk : manifest.chunks) {
    if (!chunk.is_zero())
      hashes.push_back(chunk);
  }
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  VerifyReport report;
  auto bad_packs_problem = [&](Status problem) {
    if (report.first_problem.ok())
      report.first_problem = std::move(problem);
  };
  auto bad = [&](Status problem) {
    ++report.bad_chunks;
    bad_packs_problem(std::move(problem));
  };
  // Read in pack order, so each frame is read once while it is cached.
  std::vector<const IndexedChunk*> located;
  for (const ChunkHash& hash : hashes) {
    const IndexedChunk* chunk = loaded.index.find(hash);
    if (chunk == nullptr) {
      bad(corrupt("backup " + id.hex() + ": chunk " + hash.hex() + " is not in the index"));
      continue;
    }
    located.push_back(chunk);
  }
  std::sort(located.begin(), located.end(), [](const IndexedChunk* a, const IndexedChunk* b) {
    return a->pack != b->pack ? a->pack < b->pack
                              : a->location.frame_offset < b->location.frame_offset;
  });
  // Each pack the backup uses: its header and trailer verify, and the trailer lists the
  // chunks where the index says they are.
  for (std::size_t i = 0; i < located.size(); ++i) {
    std::uint32_t pack = located[i]->pack;
    if (i > 0 && located[i - 1]->pack == pack)
      continue;
    auto trailer = read_pack_trailer(repo, loaded.index.pack_id(pack));
    if (!trailer.ok()) {
      ++report.bad_packs;
      bad_packs_problem(trailer.status());
      continue;
    }
    std::map<ChunkHash, ChunkLocation> listed;
    for (const PackEntry& entry : *trailer)
      listed.emplace(entry.hash, entry.location);
    for (std::size_t j = i; j < located.size() && located[j]->pack == pack; ++j) {
      auto it = listed.find(located[j]->hash);
      if (it == listed.end() || !(it->second == located[j]->location)) {
        ++report.bad_packs;
        bad_packs_problem(corrupt("'" + pack_path(repo, loaded.index.pack_id(pack)).string() +
                                  "' offset " + std::to_string(located[j]->location.frame_offset) +
                                  ": the pack's trailer does not list chunk " +
                                  located[j]->hash.hex() + " where the index has it"));
        break;
      }
    }
  }
  ChunkReader reader(repo, loaded.index, std::uint64_t{16} << 20);
  for (const IndexedChunk* chunk : located) {
    auto bytes = reader.read(*chunk);
    if (!bytes.ok()) {
      bad(bytes.status());
      continue;
    }
    ++report.chunks_checked;
    report.bytes_checked += bytes->size();
  }
  return report;
}

}  // namespace freezeframe

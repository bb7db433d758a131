// check_repository(): the whole-repository check (backup.h), as restic's and borg's `check`:
// every index file, pack, set record and manifest, and how they refer to each other.
#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "chunk_hash.h"
#include "freezeframe/backup.h"
#include "freezeframe/repository_files.h"
#include "repository_impl.h"

namespace freezeframe {

using namespace backup_detail;

namespace {

// Reads at most this much of a pack at once while walking its frames.
constexpr std::uint64_t kFrameReadBytesMax = std::uint64_t{8} << 20;

class Checker {
 public:
  Checker(const Repository::Impl& repo, const CheckOptions& options, CheckReport& report)
      : repo_(repo), options_(options), report_(report) {}

  Status run() {
    FF_TRY(check_index_files());
    FF_TRY(check_packs());
    FF_TRY(check_index_against_packs());
    FF_TRY(check_sets_and_manifests());
    FF_TRY(count_leftovers());
    for (const IndexedChunk& chunk : index_.entries()) {
      if (!referenced_.contains(chunk.hash))
        ++report_.unreferenced_chunks;
    }
    return Status();
  }

 private:
  void problem(Status status) {
    ++report_.problems_total;
    if (report_.problems.size() < options_.problems_max)
      report_.problems.push_back(std::move(status));
  }

  // Every index file: checksum, bounds, and content against its name.
  Status check_index_files() {
    FF_ASSIGN_OR_RETURN(auto names, list_directory(repo_.index_dir()));
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      auto id = id_of_name(name, kIndexSuffix);
      if (!id)
        continue;
      ++report_.index_files_checked;
      const auto path = repo_.index_dir() / name;
      auto bytes = read_whole_file(path);
      if (!bytes.ok()) {
        problem(bytes.status());
        continue;
      }
      auto file = parse_index(*bytes, path.string());
      if (!file.ok()) {
        problem(file.status());
        continue;
      }
      if (hash_bytes(*bytes) != *id) {
        problem(corrupt("'" + path.string() + "' offset 0: content does not match its name"));
        continue;
      }
      std::vector<std::uint32_t> ordinals;
      for (const ChunkHash& pack : file->packs)
        ordinals.push_back(index_.add_pack(pack));
      for (const IndexFileEntry& entry : file->entries)
        index_.add(entry.hash, ordinals[entry.pack], entry.location);
      for (const IndexFileEntry& entry : file->entries)
        listed_.push_back(Listed{.pack = file->packs[entry.pack],
                                 .entry = PackEntry{entry.hash, entry.location},
                                 .file = path.string()});
    }
    index_.finish();
    return Status();
  }

  // Every pack: header, trailer, and (read_data) every frame and chunk, and the file's
  // content against its name.
  Status check_packs() {
    FF_ASSIGN_OR_RETURN(auto names, list_directory(repo_.packs_dir()));
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      auto id = id_of_name(name, kPackSuffix);
      if (!id)
        continue;
      ++report_.packs_checked;
      present_packs_.insert(*id);
      auto trailer = read_pack_trailer(repo_, *id);
      if (!trailer.ok()) {
        problem(trailer.status());
        bad_packs_.insert(*id);
        continue;
      }
      auto& entries = trailers_[*id];
      for (const PackEntry& entry : *trailer)
        entries.emplace(entry.hash, entry.location);
      if (options_.read_data && !check_pack_data(*id, *trailer))
        bad_packs_.insert(*id);
    }
    return Status();
  }

  // Walks the frames from the header to the trailer: each frame's checksum, its
  // decompression, and each chunk the trailer lists in it against its key. False (with the
  // problems recorded) when anything is wrong.
  bool check_pack_data(const ChunkHash& id, const std::vector<PackEntry>& trailer) {
    const auto path = pack_path(repo_, id);
    const std::string name = path.string();
    auto opened = RandomAccessFile::open(path);
    if (!opened.ok()) {
      problem(opened.status());
      return false;
    }
    const RandomAccessFile& file = **opened;
    const std::uint64_t size = file.size_bytes();
    const std::uint64_t frames_end =
        size - kPackFooterBytes - kPackEntryBytes * static_cast<std::uint64_t>(trailer.size());
    std::map<std::uint32_t, std::vector<const PackEntry*>> by_frame;
    for (const PackEntry& entry : trailer)
      by_frame[entry.location.frame_offset].push_back(&entry);
    StreamHash whole;
    std::vector<std::byte> bytes(kPackHeaderBytes);
    if (!read_exactly(file, 0, bytes))
      return false;
    whole.update(bytes);
    bool good = true;
    bool walked = true;  // false: a frame's length is unusable, the frames after it unread
    std::uint64_t offset = kPackHeaderBytes;
    while (walked && offset < frames_end) {
      std::vector<std::byte> header(kFrameHeaderBytes);
      if (offset + kFrameHeaderBytes > frames_end) {
        problem(corrupt("'" + name + "' offset " + std::to_string(offset) +
                        ": bytes between the last frame and the trailer"));
        walked = false;
        break;
      }
      if (!read_exactly(file, offset, header)) {
        walked = false;
        break;
      }
      const std::uint64_t stored = std::uint64_t{std::to_integer<std::uint8_t>(header[8])} |
                                   std::uint64_t{std::to_integer<std::uint8_t>(header[9])} << 8 |
                                   std::uint64_t{std::to_integer<std::uint8_t>(header[10])} << 16 |
                                   std::uint64_t{std::to_integer<std::uint8_t>(header[11])} << 24;
      const std::uint64_t frame_bytes = kFrameHeaderBytes + stored;
      if (stored > kFrameReadBytesMax || offset + frame_bytes > frames_end) {
        problem(corrupt("'" + name + "' offset " + std::to_string(offset) +
                        ": frame header gives a length of " + std::to_string(stored) +
                        " bytes, past the trailer at offset " + std::to_string(frames_end)));
        walked = false;
        break;
      }
      std::vector<std::byte> frame(frame_bytes);
      if (!read_exactly(file, offset, frame)) {
        walked = false;
        break;
      }
      whole.update(frame);
      ++report_.frames_checked;
      auto listed = by_frame.find(static_cast<std::uint32_t>(offset));
      auto parsed = parse_frame(frame, 0, name, offset);
      std::vector<std::byte> plain;
      if (parsed.ok()) {
        plain.resize(parsed->plain_length);
        if (!decompressor_.decompress(parsed->payload, plain)) {
          parsed = corrupt("'" + name + "' offset " + std::to_string(offset) +
                           ": frame does not decompress to its " +
                           std::to_string(parsed->plain_length) + " bytes");
        }
      }
      if (!parsed.ok()) {
        problem(parsed.status());
        good = false;
        if (listed != by_frame.end()) {
          for (const PackEntry* entry : listed->second)
            bad_chunks_.insert(entry->hash);
        }
      } else if (listed == by_frame.end()) {
        problem(corrupt("'" + name + "' offset " + std::to_string(offset) +
                        ": the trailer lists no chunk in this frame"));
        good = false;
      } else {
        for (const PackEntry* entry : listed->second) {
          const ChunkLocation& at = entry->location;
          if (at.frame_length != frame_bytes ||
              std::uint64_t{at.offset_in_frame} + at.length > plain.size() ||
              hash_bytes(std::span<const std::byte>(plain).subspan(at.offset_in_frame,
                                                                   at.length)) != entry->hash) {
            problem(corrupt("'" + name + "' offset " + std::to_string(offset) + ": chunk " +
                            entry->hash.hex() + " does not match its key"));
            bad_chunks_.insert(entry->hash);
            good = false;
            continue;
          }
          ++report_.chunks_checked;
          report_.bytes_checked += at.length;
        }
        by_frame.erase(listed);
      }
      offset += frame_bytes;
    }
    if (!walked) {
      // The chunks of the frames not reached cannot be read back either.
      for (const auto& [frame_offset, entries] : by_frame) {
        for (const PackEntry* entry : entries)
          bad_chunks_.insert(entry->hash);
      }
      return false;
    }
    for (const auto& [frame_offset, entries] : by_frame) {
      problem(corrupt("'" + name + "' offset " + std::to_string(frame_offset) +
                      ": the trailer lists chunk " + entries.front()->hash.hex() +
                      " in a frame that does not start there"));
      for (const PackEntry* entry : entries)
        bad_chunks_.insert(entry->hash);
      good = false;
    }
    std::vector<std::byte> tail(size - frames_end);
    if (!read_exactly(file, frames_end, tail))
      return false;
    whole.update(tail);
    if (good && whole.digest() != id) {
      problem(corrupt("'" + name + "' offset 0: content does not match its name"));
      good = false;
    }
    return good;
  }

  bool read_exactly(const RandomAccessFile& file, std::uint64_t offset, std::span<std::byte> out) {
    auto got = file.read_at(offset, out);
    if (!got.ok()) {
      problem(got.status());
      return false;
    }
    if (*got != out.size()) {
      problem(corrupt("'" + file.path().string() + "' offset " + std::to_string(offset) +
                      ": the file ends early"));
      return false;
    }
    return true;
  }

  // Every index entry names a pack that exists and whose trailer lists the chunk there.
  Status check_index_against_packs() {
    std::set<ChunkHash> reported;
    for (const auto& [pack, entry, file] : listed_) {
      if (!present_packs_.contains(pack)) {
        if (reported.insert(pack).second)
          problem(not_found("'" + file + "' lists pack '" + pack_path(repo_, pack).string() +
                            "', which is missing"));
        bad_chunks_.insert(entry.hash);
        continue;
      }
      if (bad_packs_.contains(pack) && !trailers_.contains(pack)) {
        bad_chunks_.insert(entry.hash);
        continue;
      }
      const auto& in_pack = trailers_[pack];
      auto it = in_pack.find(entry.hash);
      if (it == in_pack.end() || !(it->second == entry.location)) {
        problem(corrupt("'" + file + "': chunk " + entry.hash.hex() + " is listed in pack '" +
                        pack_path(repo_, pack).string() + "' at offset " +
                        std::to_string(entry.location.frame_offset) +
                        ", where the pack's trailer does not have it"));
        bad_chunks_.insert(entry.hash);
      }
    }
    for (const ChunkHash& pack : present_packs_) {
      if (!index_.has_pack(pack))
        ++report_.unindexed_packs;
    }
    return Status();
  }

  // Every set record, every manifest it lists, and every chunk those reference.
  Status check_sets_and_manifests() {
    FF_ASSIGN_OR_RETURN(auto names, list_directory(repo_.sets_dir()));
    std::sort(names.begin(), names.end());
    std::set<ChunkHash> listed_manifests;
    for (const std::string& name : names) {
      auto id = id_of_name(name, kSetSuffix);
      if (!id)
        continue;
      ++report_.set_records_checked;
      const auto path = repo_.sets_dir() / name;
      auto bytes = read_whole_file(path);
      if (!bytes.ok()) {
        ++report_.damaged_set_records;
        problem(bytes.status());
        continue;
      }
      auto record = parse_set_record(*bytes, path.string());
      if (!record.ok()) {
        ++report_.damaged_set_records;
        problem(record.status());
        continue;
      }
      if (hash_bytes(*bytes) != *id) {
        ++report_.damaged_set_records;
        problem(corrupt("'" + path.string() + "' offset 0: content does not match its name"));
        continue;
      }
      for (const ChunkHash& manifest : record->manifests) {
        if (listed_manifests.insert(manifest).second)
          check_manifest(manifest, path.string());
      }
    }
    FF_ASSIGN_OR_RETURN(auto manifest_names, list_directory(repo_.manifests_dir()));
    for (const std::string& name : manifest_names) {
      auto id = id_of_name(name, kManifestSuffix);
      if (id && !listed_manifests.contains(*id))
        ++report_.uncommitted_manifests;
    }
    return Status();
  }

  void check_manifest(const ChunkHash& id, const std::string& set_file) {
    ++report_.manifests_checked;
    auto manifest = load_manifest(repo_, id);
    if (!manifest.ok()) {
      ++report_.damaged_backups;
      problem(manifest.status().with_context("backup " + id.hex() + " of set record '" + set_file +
                                             "'"));
      return;
    }
    bool damaged = false;
    std::set<ChunkHash> seen;
    for (std::size_t i = 0; i < manifest->chunks.size(); ++i) {
      const ChunkHash& chunk = manifest->chunks[i];
      if (chunk.is_zero() || !seen.insert(chunk).second)
        continue;
      referenced_.insert(chunk);
      const std::string where = "backup " + id.hex() + " ('" + manifest_path(repo_, id).string() +
                                "'), volume offset " +
                                std::to_string(i * std::uint64_t{manifest->chunk_bytes});
      const IndexedChunk* indexed = index_.find(chunk);
      if (indexed == nullptr) {
        problem(corrupt(where + ": chunk " + chunk.hex() + " is not in the index"));
        damaged = true;
      } else if (bad_chunks_.contains(chunk)) {
        // The damage itself was reported with its file and offset.
        if (!damaged)
          problem(corrupt(where + ": chunk " + chunk.hex() + " is in damaged or missing pack '" +
                          pack_path(repo_, index_.pack_id(indexed->pack)).string() + "'"));
        damaged = true;
      }
    }
    if (damaged)
      ++report_.damaged_backups;
  }

  Status count_leftovers() {
    for (const auto& dir : {repo_.packs_dir(), repo_.index_dir(), repo_.manifests_dir(),
                            repo_.sets_dir(), repo_.dir}) {
      FF_ASSIGN_OR_RETURN(auto names, list_directory(dir));
      for (const std::string& name : names) {
        if (name.ends_with(kTemporarySuffix))
          ++report_.temporary_files;
      }
    }
    return Status();
  }

  struct Listed {
    ChunkHash pack{};
    PackEntry entry{};
    std::string file{};
  };

  const Repository::Impl& repo_;
  const CheckOptions& options_;
  CheckReport& report_;
  RepositoryIndex index_;
  std::vector<Listed> listed_;
  std::set<ChunkHash> present_packs_;
  std::set<ChunkHash> bad_packs_;
  std::set<ChunkHash> bad_chunks_;
  std::map<ChunkHash, std::map<ChunkHash, ChunkLocation>> trailers_;
  std::set<ChunkHash> referenced_;
  Decompressor decompressor_;
};

}  // namespace

Result<CheckReport> check_repository(Repository& repository, const CheckOptions& options) {
  CheckReport report;
  Checker checker(repository.impl(), options, report);
  FF_TRY(checker.run());
  return report;
}

}  // namespace freezeframe

// forget() and prune(): the only operations that remove files. Both need the exclusive lock,
// so no backup runs meanwhile. Prune writes everything new (repacked packs, the rewritten
// index) durably before it removes anything, so a crash at any point leaves a valid
// repository (at worst with packs no index lists, which the next prune removes).
#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "chunk_reader.h"
#include "freezeframe/backup.h"
#include "freezeframe/durable_file.h"
#include "freezeframe/repository_files.h"
#include "pack_writer.h"
#include "repository_impl.h"

namespace freezeframe {

using namespace backup_detail;

namespace {

Status require_exclusive(const Repository& repository, const char* operation) {
  if (repository.lock_mode() != LockMode::kExclusive)
    return bad_state(std::string(operation) + " needs repository '" + repository.path().string() +
                     "' opened exclusive");
  return repository.impl().lock.verify_directory();
}

// Rewrites set record `set` without the manifests in `removed` (removes it when none is
// left). The new record is durable before the old one is removed.
Status rewrite_set(const Repository::Impl& repo, const LoadedSet& set,
                   const std::set<ChunkHash>& removed) {
  SetRecord record = set.record;
  std::erase_if(record.manifests, [&](const ChunkHash& id) { return removed.count(id) != 0; });
  if (record.manifests.size() == set.record.manifests.size())
    return Status();
  if (!record.manifests.empty())
    FF_TRY(write_named_file(repo.sets_dir(), kSetSuffix, encode_set_record(record)).status());
  FF_TRY(remove_file(repo.sets_dir() / (set.id.hex() + std::string(kSetSuffix))));
  return sync_directory(repo.sets_dir());
}

struct PackUse {
  std::uint64_t plain_bytes = 0;
  std::uint64_t used_bytes = 0;
  std::vector<const IndexedChunk*> used{};
};

// Removes `path`, adding its size to `freed`; a file already gone is fine.
Status remove_counted(const std::filesystem::path& path, std::uint64_t& freed) {
  auto size = file_bytes(path);
  Status removed = remove_file(path);
  if (removed.code() == ErrorCode::kNotFound)
    return Status();
  FF_TRY(removed);
  freed += size.ok() ? *size : 0;
  return Status();
}

// Copies the used chunks of the packs in `repack` to new packs through `writer`.
Status repack_chunks(const Repository::Impl& repo, const RepositoryIndex& index,
                     const std::map<std::uint32_t, PackUse>& uses,
                     const std::vector<std::uint32_t>& repack, PackWriter& writer) {
  ChunkReader reader(repo, index, std::uint64_t{16} << 20);
  Compressor compressor;
  std::vector<FrameChunk> frame_chunks;
  std::vector<std::byte> plain;
  std::vector<std::byte> compressed;
  auto flush_frame = [&]() -> Status {
    if (frame_chunks.empty())
      return Status();
    FF_TRY(compressor.compress(plain, repo.config.compression_level, compressed));
    FF_TRY(writer.add_frame(compressed, static_cast<std::uint32_t>(plain.size()), frame_chunks));
    frame_chunks.clear();
    plain.clear();
    return Status();
  };
  for (std::uint32_t pack : repack) {
    std::vector<const IndexedChunk*> used = uses.at(pack).used;
    std::sort(used.begin(), used.end(), [](const IndexedChunk* a, const IndexedChunk* b) {
      return a->location.frame_offset != b->location.frame_offset
                 ? a->location.frame_offset < b->location.frame_offset
                 : a->location.offset_in_frame < b->location.offset_in_frame;
    });
    for (const IndexedChunk* chunk : used) {
      FF_ASSIGN_OR_RETURN(auto bytes, reader.read(*chunk));
      if (plain.size() + bytes.size() > repo.config.frame_plain_bytes)
        FF_TRY(flush_frame());
      frame_chunks.push_back(FrameChunk{chunk->hash, static_cast<std::uint32_t>(plain.size()),
                                        static_cast<std::uint32_t>(bytes.size())});
      plain.insert(plain.end(), bytes.begin(), bytes.end());
    }
  }
  FF_TRY(flush_frame());
  return writer.finish();
}

// Forgets all but the newest `keep` backups of each volume.
Result<std::uint64_t> forget_all_but_newest(const Repository::Impl& repo, std::uint32_t keep) {
  FF_ASSIGN_OR_RETURN(auto sets, load_sets(repo));
  struct Entry {
    std::int64_t time_ns;
    ChunkHash id;
  };
  std::map<Uuid, std::vector<Entry>> by_volume;
  for (const LoadedSet& set : sets) {
    for (const ChunkHash& id : set.record.manifests) {
      FF_ASSIGN_OR_RETURN(Manifest manifest, load_manifest(repo, id));
      by_volume[manifest.volume_id].push_back(Entry{manifest.time_ns, id});
    }
  }
  std::set<ChunkHash> removed;
  for (auto& [volume, entries] : by_volume) {
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return a.time_ns != b.time_ns ? a.time_ns > b.time_ns : a.id > b.id;
    });
    for (std::size_t i = keep; i < entries.size(); ++i)
      removed.insert(entries[i].id);
  }
  for (const LoadedSet& set : sets)
    FF_TRY(rewrite_set(repo, set, removed));
  return removed.size();
}

}  // namespace

Status forget(Repository& repository, std::string_view backup_id) {
  FF_TRY(require_exclusive(repository, "forget"));
  FF_ASSIGN_OR_RETURN(ChunkHash id, resolve_backup(repository, backup_id));
  FF_ASSIGN_OR_RETURN(auto sets, load_sets(repository.impl()));
  for (const LoadedSet& set : sets)
    FF_TRY(rewrite_set(repository.impl(), set, {id}));
  return Status();
}

Result<PruneReport> prune(Repository& repository, const PruneOptions& options) {
  FF_TRY(require_exclusive(repository, "prune"));
  const Repository::Impl& repo = repository.impl();
  PruneReport report;
  if (options.keep_last) {
    FF_ASSIGN_OR_RETURN(report.backups_forgotten, forget_all_but_newest(repo, *options.keep_last));
  }

  // What the kept backups reference; refuse before removing anything if it is not all there.
  FF_ASSIGN_OR_RETURN(auto sets, load_sets(repo));
  std::set<ChunkHash> kept_manifests;
  for (const LoadedSet& set : sets)
    kept_manifests.insert(set.record.manifests.begin(), set.record.manifests.end());
  std::vector<ChunkHash> referenced;
  for (const ChunkHash& id : kept_manifests) {
    FF_ASSIGN_OR_RETURN(Manifest manifest, load_manifest(repo, id));
    for (const ChunkHash& chunk : manifest.chunks) {
      if (!chunk.is_zero())
        referenced.push_back(chunk);
    }
    std::sort(referenced.begin(), referenced.end());
    referenced.erase(std::unique(referenced.begin(), referenced.end()), referenced.end());
  }
  FF_ASSIGN_OR_RETURN(LoadedIndex loaded, load_index(repo));
  std::map<std::uint32_t, PackUse> uses;
  for (const IndexedChunk& chunk : loaded.index.entries()) {
    PackUse& use = uses[chunk.pack];
    use.plain_bytes += chunk.location.length;
    if (std::binary_search(referenced.begin(), referenced.end(), chunk.hash)) {
      use.used_bytes += chunk.location.length;
      use.used.push_back(&chunk);
    }
  }
  for (const ChunkHash& hash : referenced) {
    if (loaded.index.find(hash) == nullptr)
      return corrupt("prune of repository '" + repo.dir.string() + "': chunk " + hash.hex() +
                     " of a kept backup is not in the index; nothing was removed");
  }

  // Classify the indexed packs; a missing pack holding used chunks is left as it is.
  std::vector<std::uint32_t> remove_packs;
  std::vector<std::uint32_t> repack;
  std::set<std::uint32_t> dropped;
  for (const auto& [pack, use] : uses) {
    bool present = file_bytes(pack_path(repo, loaded.index.pack_id(pack))).ok();
    if (use.used_bytes == 0) {
      remove_packs.push_back(pack);
      dropped.insert(pack);
    } else if (present && use.used_bytes < use.plain_bytes &&
               (use.plain_bytes - use.used_bytes) * 100 >=
                   std::uint64_t{options.repack_unused_percent_min} * use.plain_bytes) {
      repack.push_back(pack);
      dropped.insert(pack);
    }
  }
  PackWriter writer(repo.packs_dir(), repo.config.pack_bytes_target);
  FF_TRY(repack_chunks(repo, loaded.index, uses, repack, writer));
  std::uint64_t written_bytes = 0;
  for (const WrittenPack& pack : writer.packs())
    written_bytes += pack.bytes;
  report.packs_repacked = repack.size();
  report.packs_written = writer.packs().size();

  // The new index: the kept packs' entries and the new packs'; durable before any removal.
  std::optional<ChunkHash> new_index;
  if (!dropped.empty() || loaded.files.size() > 1) {
    RepositoryIndex fresh;
    for (const IndexedChunk& chunk : loaded.index.entries()) {
      if (dropped.count(chunk.pack) == 0)
        fresh.add(chunk.hash, fresh.add_pack(loaded.index.pack_id(chunk.pack)), chunk.location);
    }
    for (const WrittenPack& pack : writer.packs()) {
      std::uint32_t ordinal = fresh.add_pack(pack.id);
      for (const PackEntry& entry : pack.entries)
        fresh.add(entry.hash, ordinal, entry.location);
    }
    fresh.finish();
    IndexFile file = index_file_of(fresh, fresh.entries());
    auto bytes = encode_index(file);
    written_bytes += bytes.size();
    if (!file.entries.empty()) {
      FF_ASSIGN_OR_RETURN(new_index, write_named_file(repo.index_dir(), kIndexSuffix, bytes));
    }
    for (const ChunkHash& old : loaded.files) {
      if (old == new_index)
        continue;
      FF_TRY(remove_file(repo.index_dir() / (old.hex() + std::string(kIndexSuffix))));
      ++report.index_files_removed;
    }
    FF_TRY(sync_directory(repo.index_dir()));
  }

  // Removals: dropped packs, packs no index lists, leftovers of interrupted writes.
  std::uint64_t freed = 0;
  std::set<ChunkHash> new_packs;
  for (const WrittenPack& pack : writer.packs())
    new_packs.insert(pack.id);
  FF_ASSIGN_OR_RETURN(auto pack_names, list_directory(repo.packs_dir()));
  for (const std::string& name : pack_names) {
    auto id = id_of_name(name, kPackSuffix);
    std::optional<std::uint32_t> ordinal = id ? loaded.index.ordinal_of(*id) : std::nullopt;
    bool indexed_and_kept = ordinal && dropped.count(*ordinal) == 0;
    if (id && (indexed_and_kept || new_packs.count(*id) != 0))
      continue;
    if (!id && !name.ends_with(kTemporarySuffix))
      continue;  // not ours
    FF_TRY(remove_counted(repo.packs_dir() / name, freed));
    ++(id ? report.packs_removed : report.temporary_files_removed);
  }
  FF_TRY(sync_directory(repo.packs_dir()));
  FF_ASSIGN_OR_RETURN(auto manifest_names, list_directory(repo.manifests_dir()));
  for (const std::string& name : manifest_names) {
    auto id = id_of_name(name, kManifestSuffix);
    if (id && kept_manifests.count(*id) != 0)
      continue;
    if (!id && !name.ends_with(kTemporarySuffix))
      continue;
    FF_TRY(remove_counted(repo.manifests_dir() / name, freed));
    ++(id ? report.manifests_removed : report.temporary_files_removed);
  }
  FF_TRY(sync_directory(repo.manifests_dir()));
  for (const auto& dir : {repo.index_dir(), repo.sets_dir(), repo.dir}) {
    FF_ASSIGN_OR_RETURN(auto names, list_directory(dir));
    for (const std::string& name : names) {
      if (!name.ends_with(kTemporarySuffix))
        continue;
      FF_TRY(remove_counted(dir / name, freed));
      ++report.temporary_files_removed;
    }
    FF_TRY(sync_directory(dir));
  }
  report.bytes_freed = freed > written_bytes ? freed - written_bytes : 0;
  return report;
}

}  // namespace freezeframe

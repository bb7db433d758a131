// File-level helpers shared by the repository's operations (repository_impl.h).
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>

#include "freezeframe/durable_file.h"
#include "freezeframe/repository_files.h"
#include "freezeframe/uuid.h"
#include "repository_impl.h"

namespace freezeframe::backup_detail {

std::filesystem::path pack_path(const Repository::Impl& repo, const ChunkHash& id) {
  return repo.packs_dir() / (id.hex() + std::string(kPackSuffix));
}

std::filesystem::path manifest_path(const Repository::Impl& repo, const ChunkHash& id) {
  return repo.manifests_dir() / (id.hex() + std::string(kManifestSuffix));
}

std::optional<ChunkHash> id_of_name(std::string_view name, std::string_view suffix) {
  if (name.size() != 32 + suffix.size() || name.substr(32) != suffix)
    return std::nullopt;
  return ChunkHash::parse(name.substr(0, 32));
}

Result<std::vector<std::byte>> read_whole_file(const std::filesystem::path& path) {
  FF_ASSIGN_OR_RETURN(auto file, RandomAccessFile::open(path));
  if (file->size_bytes() > kRecordFileBytesMax)
    return corrupt("'" + path.string() + "' is " + std::to_string(file->size_bytes()) +
                   " bytes, more than any repository record");
  std::vector<std::byte> bytes(file->size_bytes());
  FF_ASSIGN_OR_RETURN(std::size_t got, file->read_at(0, bytes));
  if (got != bytes.size())
    return corrupt("'" + path.string() + "' offset " + std::to_string(got) +
                   ": file shrank while being read");
  return bytes;
}

Result<std::vector<std::byte>> read_named_file(const std::filesystem::path& path,
                                               const ChunkHash& id) {
  FF_ASSIGN_OR_RETURN(auto bytes, read_whole_file(path));
  if (hash_bytes(bytes) != id)
    return corrupt("'" + path.string() + "' offset 0: content does not match its name (XXH3-128 " +
                   hash_bytes(bytes).hex() + ")");
  return bytes;
}

Result<ChunkHash> write_named_file(const std::filesystem::path& dir, std::string_view suffix,
                                   std::span<const std::byte> bytes) {
  ChunkHash id = hash_bytes(bytes);
  FF_TRY(replace_file(dir / (id.hex() + std::string(suffix)),
                      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())));
  return id;
}

StagedFiles::~StagedFiles() {
  for (const File& file : files_) {
    if (!file.published)
      remove_file(file.temp).ignore_error();
  }
}

std::pair<std::size_t, ChunkHash> StagedFiles::add(const std::filesystem::path& dir,
                                                   std::string_view suffix,
                                                   std::span<const std::byte> bytes) {
  ChunkHash id = hash_bytes(bytes);
  std::string name = id.hex() + std::string(suffix);
  // A unique temporary name: two backups that write the same content never share one.
  files_.push_back(
      File{dir / (Uuid::generate().to_string() + std::string(suffix) + ".tmp"), dir / name, bytes});
  return {files_.size() - 1, id};
}

Status StagedFiles::write_all(unsigned threads_max) {
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < files_.size(); i = next++) {
      File& file = files_[i];
      auto output = OutputFile::create(file.temp, /*exclusive=*/true);
      if (!output.ok()) {
        file.written = output.status();
        continue;
      }
      file.written = output->write(file.bytes);
      if (file.written.ok())
        file.written = output->finish_file();
    }
  };
  std::vector<std::thread> helpers;
  const std::size_t helpers_count =
      std::min<std::size_t>(std::max(threads_max, 1u), files_.size()) - (files_.empty() ? 0 : 1);
  for (std::size_t i = 0; i < helpers_count; ++i)
    helpers.emplace_back(work);
  work();
  for (std::thread& helper : helpers)
    helper.join();
  for (const File& file : files_)
    FF_TRY(file.written);
  return Status();
}

Status StagedFiles::publish(std::size_t index) {
  File& file = files_.at(index);
  FF_TRY(file.written);
  FF_TRY(rename_file(file.temp, file.final_path));
  file.published = true;
  return Status();
}

Result<LoadedIndex> load_index(const Repository::Impl& repo) {
  LoadedIndex loaded;
  FF_ASSIGN_OR_RETURN(auto names, list_directory(repo.index_dir()));
  for (const std::string& name : names) {
    auto id = id_of_name(name, kIndexSuffix);
    if (!id)
      continue;
    auto path = repo.index_dir() / name;
    FF_ASSIGN_OR_RETURN(auto bytes, read_whole_file(path));
    FF_ASSIGN_OR_RETURN(IndexFile file, parse_index(bytes, path.string()));
    std::vector<std::uint32_t> ordinals;
    ordinals.reserve(file.packs.size());
    for (const ChunkHash& pack : file.packs)
      ordinals.push_back(loaded.index.add_pack(pack));
    for (const IndexFileEntry& entry : file.entries)
      loaded.index.add(entry.hash, ordinals[entry.pack], entry.location);
    loaded.files.push_back(*id);
  }
  loaded.index.finish();
  return loaded;
}

Result<std::vector<PackEntry>> read_pack_trailer(const Repository::Impl& repo,
                                                 const ChunkHash& id) {
  auto path = pack_path(repo, id);
  FF_ASSIGN_OR_RETURN(auto file, RandomAccessFile::open(path));
  std::uint64_t size = file->size_bytes();
  std::vector<std::byte> header(kPackHeaderBytes);
  FF_ASSIGN_OR_RETURN(std::size_t got, file->read_at(0, header));
  header.resize(got);
  FF_TRY(parse_pack_header(header, path.string()));
  if (size < kPackHeaderBytes + kPackFooterBytes)
    return corrupt("'" + path.string() + "' offset " + std::to_string(size) +
                   ": pack too short for a trailer");
  std::vector<std::byte> footer(kPackFooterBytes);
  FF_ASSIGN_OR_RETURN(got, file->read_at(size - kPackFooterBytes, footer));
  footer.resize(got);
  FF_ASSIGN_OR_RETURN(std::uint64_t trailer_bytes, parse_pack_footer(footer, size, path.string()));
  std::vector<std::byte> trailer(trailer_bytes);
  FF_ASSIGN_OR_RETURN(got, file->read_at(size - trailer_bytes, trailer));
  trailer.resize(got);
  return parse_pack_trailer(trailer, size, path.string());
}

Result<std::vector<ChunkHash>> adopt_unindexed_packs(const Repository::Impl& repo,
                                                     LoadedIndex& loaded) {
  FF_ASSIGN_OR_RETURN(auto names, list_directory(repo.packs_dir()));
  std::vector<ChunkHash> adopted;
  for (const std::string& name : names) {
    auto id = id_of_name(name, kPackSuffix);
    if (!id || loaded.index.has_pack(*id))
      continue;
    auto entries = read_pack_trailer(repo, *id);
    if (!entries.ok())
      continue;  // a damaged leftover: not used, removed by prune
    std::uint32_t ordinal = loaded.index.add_pack(*id);
    for (const PackEntry& entry : *entries)
      loaded.index.add(entry.hash, ordinal, entry.location);
    adopted.push_back(*id);
  }
  loaded.index.finish();
  return adopted;
}

Result<Manifest> load_manifest(const Repository::Impl& repo, const ChunkHash& id) {
  auto path = manifest_path(repo, id);
  FF_ASSIGN_OR_RETURN(auto bytes, read_whole_file(path));
  FF_ASSIGN_OR_RETURN(Manifest manifest, parse_manifest(bytes, path.string()));
  if (hash_bytes(bytes) != id)
    return corrupt("'" + path.string() + "' offset 0: content does not match its name");
  return manifest;
}

Result<std::vector<LoadedSet>> load_sets(const Repository::Impl& repo) {
  FF_ASSIGN_OR_RETURN(auto names, list_directory(repo.sets_dir()));
  std::vector<LoadedSet> sets;
  for (const std::string& name : names) {
    auto id = id_of_name(name, kSetSuffix);
    if (!id)
      continue;
    auto path = repo.sets_dir() / name;
    FF_ASSIGN_OR_RETURN(auto bytes, read_whole_file(path));
    FF_ASSIGN_OR_RETURN(SetRecord record, parse_set_record(bytes, path.string()));
    if (hash_bytes(bytes) != *id)
      return corrupt("'" + path.string() + "' offset 0: content does not match its name");
    sets.push_back(LoadedSet{*id, std::move(record)});
  }
  return sets;
}

BackupInfo backup_info_of(const ChunkHash& id, const ChunkHash& set_record,
                          const Manifest& manifest) {
  BackupInfo info;
  info.id = id.hex();
  info.set_record_id = set_record.hex();
  info.volume_name = manifest.volume_name;
  info.volume_id = manifest.volume_id;
  info.snapshot_id = manifest.snapshot_id;
  info.set_id = manifest.set_id;
  info.time_ns = manifest.time_ns;
  info.change_id = manifest.change_id;
  info.volume_bytes = manifest.volume_bytes;
  info.chunk_bytes = manifest.chunk_bytes;
  if (manifest.parent) {
    info.parent_id = manifest.parent->hex();
    info.kind = manifest.differential ? BackupKind::kDifferential : BackupKind::kIncremental;
  }
  for (const ChunkHash& chunk : manifest.chunks)
    ++(chunk.is_zero() ? info.zero_chunks : info.data_chunks);
  return info;
}

}  // namespace freezeframe::backup_detail

// Repository::Impl and the file-level helpers the operations share: paths of the repository's
// files, reading and writing whole immutable files (named by the XXH3-128 of their content),
// loading the index, set records and manifests, and reading a pack's trailer. Private to
// the backup library.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chunk_hash.h"
#include "freezeframe/repository.h"
#include "freezeframe/store_lock.h"
#include "repository_format.h"
#include "repository_index.h"

namespace freezeframe {

struct Repository::Impl {
  Impl(std::filesystem::path directory, backup_detail::RepositoryConfig configuration,
       StoreLock held)
      : dir(std::move(directory)), config(configuration), lock(std::move(held)) {}

  std::filesystem::path dir;
  backup_detail::RepositoryConfig config;
  StoreLock lock;

  std::filesystem::path packs_dir() const { return dir / "packs"; }
  std::filesystem::path index_dir() const { return dir / "index"; }
  std::filesystem::path manifests_dir() const { return dir / "manifests"; }
  std::filesystem::path sets_dir() const { return dir / "sets"; }
};

namespace backup_detail {

constexpr std::string_view kPackSuffix = ".pack";
constexpr std::string_view kIndexSuffix = ".index";
constexpr std::string_view kManifestSuffix = ".manifest";
constexpr std::string_view kSetSuffix = ".set";
constexpr std::string_view kTemporarySuffix = ".tmp";
// Largest index file, manifest or set record read whole.
constexpr std::uint64_t kRecordFileBytesMax = std::uint64_t{2} << 30;

std::filesystem::path pack_path(const Repository::Impl& repo, const ChunkHash& id);
std::filesystem::path manifest_path(const Repository::Impl& repo, const ChunkHash& id);

// The id a file name holds ("<32 hex><suffix>"); nullopt for other names.
std::optional<ChunkHash> id_of_name(std::string_view name, std::string_view suffix);

// Reads the whole file; kNotFound if it is missing.
Result<std::vector<std::byte>> read_whole_file(const std::filesystem::path& path);
// Reads a content-named file and checks that its XXH3-128 is its name (kCorrupt otherwise).
Result<std::vector<std::byte>> read_named_file(const std::filesystem::path& path,
                                               const ChunkHash& id);
// Writes `bytes` durably as `dir`/<XXH3-128 of bytes><suffix>; returns that id.
Result<ChunkHash> write_named_file(const std::filesystem::path& dir, std::string_view suffix,
                                   std::span<const std::byte> bytes);

// Content-named files written under temporary names and flushed, then published (renamed to
// `<id><suffix>`) in a later step, so several can be flushed at once while each becomes
// visible only when its turn in the commit order comes. The destructor removes the
// temporary files of those never published.
class StagedFiles {
 public:
  StagedFiles() = default;
  ~StagedFiles();
  StagedFiles(const StagedFiles&) = delete;
  StagedFiles& operator=(const StagedFiles&) = delete;

  // Adds a file to stage: returns its index and its id (the XXH3-128 of `bytes`, which must
  // stay alive until write_all() returns).
  std::pair<std::size_t, ChunkHash> add(const std::filesystem::path& dir, std::string_view suffix,
                                        std::span<const std::byte> bytes);
  // Writes and flushes every added file under its temporary name, up to `threads_max` at
  // once. The first error, naming its file.
  Status write_all(unsigned threads_max);
  // Renames file `index` to its final name (the directory is not flushed).
  Status publish(std::size_t index);

 private:
  struct File {
    std::filesystem::path temp{};
    std::filesystem::path final_path{};
    std::span<const std::byte> bytes{};
    Status written{};
    bool published = false;
  };
  std::vector<File> files_;
};

struct LoadedIndex {
  RepositoryIndex index{};
  std::vector<ChunkHash> files{};  // the index files read
};
// Reads and verifies every index file.
Result<LoadedIndex> load_index(const Repository::Impl& repo);

// Reads and verifies pack `id`'s header and trailer: its chunk entries.
Result<std::vector<PackEntry>> read_pack_trailer(const Repository::Impl& repo, const ChunkHash& id);

// Adds to `loaded` the chunks of every pack that no index file lists and whose trailer
// verifies (packs of an interrupted or concurrent backup); returns those packs' ids.
Result<std::vector<ChunkHash>> adopt_unindexed_packs(const Repository::Impl& repo,
                                                     LoadedIndex& loaded);

Result<Manifest> load_manifest(const Repository::Impl& repo, const ChunkHash& id);

struct LoadedSet {
  ChunkHash id{};
  SetRecord record{};
};
Result<std::vector<LoadedSet>> load_sets(const Repository::Impl& repo);

// What BackupInfo says of manifest `id`, committed by set record `set_record`.
BackupInfo backup_info_of(const ChunkHash& id, const ChunkHash& set_record,
                          const Manifest& manifest);

// The id of the backup `id_or_prefix` names (Repository::find's rules).
Result<ChunkHash> resolve_backup(const Repository& repository, std::string_view id_or_prefix);

}  // namespace backup_detail
}  // namespace freezeframe

// Repository: init, open, settings and listing.
#include "freezeframe/repository.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

#include "freezeframe/assert.h"
#include "freezeframe/durable_file.h"
#include "freezeframe/repository_files.h"
#include "repository_impl.h"

namespace freezeframe {

using backup_detail::ChunkHash;

namespace {

constexpr const char* kSubdirectories[] = {"packs", "index", "manifests", "sets"};

}  // namespace

const char* backup_kind_name(BackupKind kind) {
  switch (kind) {
    case BackupKind::kFull:
      return "full";
    case BackupKind::kIncremental:
      return "incremental";
    case BackupKind::kDifferential:
      return "differential";
  }
  return "unknown";
}

Repository::Repository(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Repository::~Repository() = default;

Result<std::unique_ptr<Repository>> Repository::init(const std::filesystem::path& dir,
                                                     const RepositoryOptions& options) {
#if !FREEZEFRAME_WITH_ZSTD
  return Status(ErrorCode::kUnsupported,
                "repository '" + dir.string() + "': " + backup_detail::no_zstd_message());
#endif
  backup_detail::RepositoryConfig config;
  config.chunk_bytes = options.chunk_bytes;
  config.compression_level = options.compression_level;
  config.pack_bytes_target = options.pack_bytes_target;
  config.frame_plain_bytes = std::max(options.chunk_bytes, kRepositoryFramePlainBytesDefault);
  config.repository_id = Uuid::generate();
  FF_TRY(backup_detail::validate_config(config).with_context("repository '" + dir.string() + "'"));
  Status made = make_directory(dir);
  if (made.code() == ErrorCode::kAlreadyExists) {
    FF_ASSIGN_OR_RETURN(auto names, list_directory(dir));
    std::error_code error;
    if (!names.empty() || !std::filesystem::is_empty(dir, error))
      return already_exists("'" + dir.string() +
                            "' is not empty; a repository needs a new or empty directory");
  } else {
    FF_TRY(made);
  }
  FF_ASSIGN_OR_RETURN(StoreLock lock, StoreLock::acquire(dir, {.mode = LockMode::kExclusive}));
  for (const char* sub : kSubdirectories)
    FF_TRY(make_directory(dir / sub));
  auto bytes = backup_detail::encode_config(config);
  FF_TRY(replace_file(dir / "config",
                      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())));
  return std::unique_ptr<Repository>(
      new Repository(std::make_unique<Impl>(dir, config, std::move(lock))));
}

Result<std::unique_ptr<Repository>> Repository::open(const std::filesystem::path& dir,
                                                     const RepositoryOpenOptions& options) {
#if !FREEZEFRAME_WITH_ZSTD
  return Status(ErrorCode::kUnsupported,
                "repository '" + dir.string() + "': " + backup_detail::no_zstd_message());
#endif
  auto bytes = backup_detail::read_whole_file(dir / "config");
  if (!bytes.ok() && bytes.status().code() == ErrorCode::kNotFound)
    return not_found("'" + dir.string() + "' is not a repository (no config file)");
  FF_TRY(bytes.status());
  FF_ASSIGN_OR_RETURN(auto config, backup_detail::parse_config(*bytes, (dir / "config").string()));
  FF_ASSIGN_OR_RETURN(StoreLock lock,
                      StoreLock::acquire(dir, {.mode = options.mode, .wait = options.lock_wait}));
  for (const char* sub : kSubdirectories) {
    auto listed = list_directory(dir / sub);
    if (!listed.ok())
      return listed.status().with_context("repository '" + dir.string() + "'");
  }
  return std::unique_ptr<Repository>(
      new Repository(std::make_unique<Impl>(dir, config, std::move(lock))));
}

const std::filesystem::path& Repository::path() const {
  return impl_->dir;
}
std::uint32_t Repository::chunk_bytes() const {
  return impl_->config.chunk_bytes;
}
int Repository::compression_level() const {
  return impl_->config.compression_level;
}
std::uint32_t Repository::pack_bytes_target() const {
  return impl_->config.pack_bytes_target;
}
const Uuid& Repository::repository_id() const {
  return impl_->config.repository_id;
}
LockMode Repository::lock_mode() const {
  return impl_->lock.mode();
}

Result<std::vector<BackupSetInfo>> Repository::list() const {
  FF_ASSIGN_OR_RETURN(auto sets, backup_detail::load_sets(*impl_));
  std::vector<BackupSetInfo> result;
  for (const auto& set : sets) {
    BackupSetInfo info;
    info.id = set.id.hex();
    info.set_id = set.record.set_id;
    info.time_ns = set.record.time_ns;
    for (const ChunkHash& manifest_id : set.record.manifests) {
      FF_ASSIGN_OR_RETURN(auto manifest, backup_detail::load_manifest(*impl_, manifest_id));
      info.volumes.push_back(backup_detail::backup_info_of(manifest_id, set.id, manifest));
    }
    result.push_back(std::move(info));
  }
  std::sort(result.begin(), result.end(), [](const BackupSetInfo& a, const BackupSetInfo& b) {
    return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.id < b.id;
  });
  return result;
}

namespace {

struct FoundBackup {
  ChunkHash manifest_id{};
  ChunkHash set_id{};  // of the newest set record listing it, as list() sorts
};

// The manifest a backup id or prefix names, from the set records alone: the manifest itself
// is not read (a backup's manifest is a full chunk list, so loading every one would cost each
// backup more as the repository grows).
Result<FoundBackup> find_backup(const Repository::Impl& repo, std::string_view id_or_prefix) {
  std::string prefix(id_or_prefix);
  std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (prefix.size() < 4 || prefix.size() > 32 ||
      prefix.find_first_not_of("0123456789abcdef") != std::string::npos)
    return invalid_argument("backup id '" + std::string(id_or_prefix) +
                            "' is not 4 to 32 hex digits");
  FF_ASSIGN_OR_RETURN(auto sets, backup_detail::load_sets(repo));
  std::optional<ChunkHash> found;
  const backup_detail::LoadedSet* newest_set = nullptr;
  for (const auto& set : sets) {
    for (const ChunkHash& manifest_id : set.record.manifests) {
      if (manifest_id.hex().compare(0, prefix.size(), prefix) != 0)
        continue;
      if (found && *found != manifest_id)
        return invalid_argument("backup id prefix '" + prefix + "' is ambiguous: " + found->hex() +
                                " and " + manifest_id.hex());
      found = manifest_id;
      if (newest_set == nullptr || set.record.time_ns > newest_set->record.time_ns ||
          (set.record.time_ns == newest_set->record.time_ns && set.id.hex() > newest_set->id.hex()))
        newest_set = &set;
    }
  }
  if (!found)
    return not_found("no backup with id '" + prefix + "' in repository '" + repo.dir.string() +
                     "'");
  return FoundBackup{*found, newest_set->id};
}

}  // namespace

Result<BackupInfo> Repository::find(std::string_view id_or_prefix) const {
  FF_ASSIGN_OR_RETURN(FoundBackup found, find_backup(*impl_, id_or_prefix));
  FF_ASSIGN_OR_RETURN(auto manifest, backup_detail::load_manifest(*impl_, found.manifest_id));
  return backup_detail::backup_info_of(found.manifest_id, found.set_id, manifest);
}

namespace backup_detail {

Result<ChunkHash> resolve_backup(const Repository& repository, std::string_view id_or_prefix) {
  FF_ASSIGN_OR_RETURN(FoundBackup found, find_backup(repository.impl(), id_or_prefix));
  return found.manifest_id;
}

}  // namespace backup_detail
}  // namespace freezeframe

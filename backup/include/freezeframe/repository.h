// Repository: a deduplicated backup repository in a local directory (the format is
// docs/formats/repository.md).
//
// A repository holds volume backups. Each volume is cut into fixed-size chunks aligned to
// volume offsets; a chunk is keyed by the XXH3-128 of its bytes and stored once, zstd-
// compressed, in a pack file, however many backups and volumes hold it. All-zero chunks are
// stored as nothing. A manifest per volume backup lists every chunk of the volume (run-length
// encoded), so any generation restores from its manifest alone. The volume backups of one
// snapshot set are committed together by a set record. backup.h has the operations.
//
// Files are immutable once written: a backup adds packs, one index file, its manifests and a
// set record, in that order, each durable before the next is written; only forget and prune
// remove files. An interrupted backup leaves a valid repository (see backup.h).
//
// Locking: the repository directory is locked with StoreLock (store_lock.h) in the mode
// open() is given, from open() until the Repository is destroyed. Open it shared to back up,
// restore, verify or list, so several of those run at once; forget and prune need it opened
// exclusive, so they never remove what a running backup has found by dedup and is about to
// reference. An exclusive open during a backup waits up to lock_wait, then fails with kBusy.
//
// Errors: kNotFound when the directory or a file the repository needs is missing;
// kCorrupt when a file fails validation (magic, bounds, checksum), with a message naming
// the file and the offset; kUnsupportedVersion for a repository of a newer format;
// kBusy when the lock is held by someone else past the wait; kBadState for an operation
// the lock mode does not allow (prune on a repository opened shared); kIoError for
// file-system failures; kNoSpace when the file system is full.
//
// Thread-safety: a Repository is used by one thread at a time; operations start worker
// threads of their own and join them before they return. Several Repository objects (in
// one process or several) may use one directory at once, as the lock allows.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "freezeframe/status.h"
#include "freezeframe/store_lock.h"
#include "freezeframe/uuid.h"

namespace freezeframe {

// Bounds on a repository's settings.
constexpr std::uint32_t kRepositoryChunkBytesMin = 4 * 1024;
constexpr std::uint32_t kRepositoryChunkBytesMax = 4 * 1024 * 1024;
constexpr std::uint32_t kRepositoryChunkBytesDefault = 16 * 1024;
constexpr std::uint32_t kRepositoryPackBytesMin = 1024 * 1024;
constexpr std::uint32_t kRepositoryPackBytesMax = 1024 * 1024 * 1024;
constexpr std::uint32_t kRepositoryPackBytesDefault = 16 * 1024 * 1024;
// The plain bytes one zstd frame holds at most (several consecutive new chunks; one chunk
// when chunks are larger).
constexpr std::uint32_t kRepositoryFramePlainBytesDefault = 1024 * 1024;

struct RepositoryOptions {
  // Power of two in [kRepositoryChunkBytesMin, kRepositoryChunkBytesMax].
  std::uint32_t chunk_bytes = kRepositoryChunkBytesDefault;
  // zstd level used by backups that do not choose their own (1 to 19; 1 is fast).
  int compression_level = 1;
  // A pack is closed once it would grow past this many bytes.
  std::uint32_t pack_bytes_target = kRepositoryPackBytesDefault;
};

struct RepositoryOpenOptions {
  // kShared for backup, restore, verify and list; kExclusive for forget and prune.
  LockMode mode = LockMode::kShared;
  // How long to wait for a conflicting holder of the lock; 0 = fail at once with kBusy.
  std::chrono::milliseconds lock_wait{0};
};

// What a volume backup counts from. A full backup has no parent. An incremental one holds the
// changes since its parent, any earlier backup of the volume (usually its newest). A
// differential one holds the changes since its parent, a full backup (usually the newest), so
// a chain of differentials all start from the same full backup. Every backup restores from its
// own manifest alone; the kind tells how it was taken (docs/formats/repository.md, flags).
enum class BackupKind { kFull, kIncremental, kDifferential };

// "full", "incremental", "differential".
const char* backup_kind_name(BackupKind kind);

// One volume backup.
struct BackupInfo {
  // 32 lower-case hex digits: the XXH3-128 of the backup's manifest file.
  std::string id{};
  // The set record that commits it (32 hex digits).
  std::string set_record_id{};
  std::string volume_name{};
  Uuid volume_id{};
  Uuid snapshot_id{};
  Uuid set_id{};
  // Calendar time of the backup, nanoseconds since the Unix epoch.
  std::int64_t time_ns = 0;
  // Opaque text from the caller (a change-tracking id).
  std::string change_id{};
  std::uint64_t volume_bytes = 0;
  std::uint32_t chunk_bytes = 0;
  std::optional<std::string> parent_id{};
  // kFull exactly when there is no parent.
  BackupKind kind = BackupKind::kFull;
  // Chunks of the volume that hold data, and that are all zero.
  std::uint64_t data_chunks = 0;
  std::uint64_t zero_chunks = 0;
};

// The volume backups of one snapshot set, committed by one set record.
struct BackupSetInfo {
  std::string id{};  // the set record's XXH3-128, 32 hex digits
  Uuid set_id{};
  std::int64_t time_ns = 0;
  std::vector<BackupInfo> volumes{};
};

class Repository {
 public:
  // Creates a repository in `dir`, which must not exist or be an empty directory (its parent
  // must exist). kInvalidArgument for settings out of bounds; kAlreadyExists when `dir` holds
  // anything. Returns it opened exclusive. The config file is written last, so a directory
  // left by an interrupted init is not a repository (open() says kNotFound).
  static Result<std::unique_ptr<Repository>> init(const std::filesystem::path& dir,
                                                  const RepositoryOptions& options);
  // Opens the repository in `dir` and takes its lock in options.mode. kNotFound when there is
  // no repository; kUnsupportedVersion for a newer format; kCorrupt for a damaged config;
  // kBusy when the lock is held past options.lock_wait.
  static Result<std::unique_ptr<Repository>> open(const std::filesystem::path& dir,
                                                  const RepositoryOpenOptions& options);

  ~Repository();
  Repository(const Repository&) = delete;
  Repository& operator=(const Repository&) = delete;

  const std::filesystem::path& path() const;
  std::uint32_t chunk_bytes() const;
  int compression_level() const;
  std::uint32_t pack_bytes_target() const;
  const Uuid& repository_id() const;
  LockMode lock_mode() const;

  // Every committed backup set, oldest first (by time, then id); each volume backup's
  // manifest is read and verified. kCorrupt names a damaged set record or manifest.
  Result<std::vector<BackupSetInfo>> list() const;
  // The volume backup whose id starts with `id_or_prefix` (at least 4 hex digits).
  // kNotFound when none does, kInvalidArgument when several do or the prefix is malformed.
  // Reads the set records and that backup's manifest only.
  Result<BackupInfo> find(std::string_view id_or_prefix) const;

  // The repository's internals, for the operations of backup.h (opaque to callers).
  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  explicit Repository(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace freezeframe

// Backup, restore, verify, forget and prune on a Repository (repository.h).
//
// Backup: backup_set() reads each source volume, cuts it into the repository's chunks,
// hashes them (XXH3-128), drops all-zero chunks, looks every other chunk up in the index and
// stores the new ones zstd-compressed in packs. A reader thread, `threads` hash-and-compress
// workers and one pack writer overlap; queues are bounded, so memory stays under
// BackupOptions::memory_bytes_max whatever the volume size (plus 16 bytes per chunk of the
// volume for its chunk list). The output is a function of the input only: the same volumes
// give the same packs and manifests whatever the thread timing.
//
// Incremental backup: with a parent, only the repository chunks that overlap `changed` are
// read; every other chunk is copied from the parent's manifest. Without `changed`, the whole
// volume is read (the parent is then metadata, and dedup still stores only new chunks). A
// parent of another volume size or chunk size is refused with kInvalidArgument.
//
// Durability and crash safety: packs are made durable (file and directory flushed), then one
// index file, then the volumes' manifests, then the set record, which commits the backup.
// A backup interrupted at any point leaves a valid repository in which it does not exist.
// Its finished packs are adopted by the next backup (their chunks are found from the packs'
// own trailers and indexed again) or removed by prune; half-written temporary files and
// manifests no set record lists are removed by prune.
//
// Reads verify: every frame's checksum, and every chunk's XXH3-128 after decompression, as
// well as the checksums of index files, manifests and set records. Damage gives kCorrupt (a
// missing file kNotFound) naming the file and the offset; restore never reports success
// after writing wrong bytes.
//
// Thread-safety: these functions use the Repository from the calling thread (and threads of
// their own, joined before they return); the caller must not use the same Repository object
// from another thread meanwhile. Callbacks run on one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "freezeframe/clock.h"
#include "freezeframe/extent.h"
#include "freezeframe/repository.h"
#include "freezeframe/status.h"
#include "freezeframe/uuid.h"
#include "freezeframe/volume.h"

namespace freezeframe {

// Progress of a backup or restore, reported at a bounded rate.
struct BackupProgress {
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  // Average since the start; 0 until measurable.
  double bytes_per_second = 0;
  // Estimated time left at that rate; nullopt until measurable.
  std::optional<std::chrono::seconds> time_left{};
};
using ProgressCallback = std::function<void(const BackupProgress&)>;

// One volume of a backup set.
struct VolumeBackupRequest {
  // The snapshot to read (borrowed; must outlive the call). Only read.
  Volume* source = nullptr;
  std::string volume_name{};
  Uuid volume_id{};
  Uuid snapshot_id{};
  // Recorded per volume; the set record takes the first request's.
  Uuid set_id{};
  // Opaque, recorded in the manifest (up to 4096 bytes).
  std::string change_id{};
  // Id (or unique prefix) of the backup this one is based on.
  std::optional<std::string> parent_backup_id{};
  // With a parent: the byte ranges that may differ from it (any granularity); every
  // repository chunk they overlap is read, the others are taken from the parent. Needs a
  // parent (kInvalidArgument otherwise).
  std::optional<std::vector<Extent>> changed{};
  // zstd level; nullopt: the repository's default.
  std::optional<int> compression_level{};
};

struct BackupOptions {
  // Hash-and-compress worker threads (1 to 64).
  unsigned threads = 2;
  // Bound on the data the pipeline buffers: read blocks and their plain and compressed
  // frames (at least 8 MiB). The volume's chunk list (16 bytes per chunk), the index (36
  // bytes per unique chunk) and the entries of the packs written come on top.
  std::uint64_t memory_bytes_max = std::uint64_t{64} << 20;
  // Called from one thread, at most once per progress_interval, and once at the end.
  ProgressCallback on_progress{};
  std::chrono::milliseconds progress_interval{1000};
  // Time source for the backup's timestamp and the progress rate (borrowed); nullptr: the
  // system clock.
  const Clock* clock = nullptr;
};

struct BackupSetResult {
  BackupSetInfo set{};
  // Chunks stored anew and their stored (compressed, framed) bytes; bytes read from sources.
  std::uint64_t new_chunks = 0;
  std::uint64_t new_stored_bytes = 0;
  std::uint64_t bytes_read = 0;
  // Packs of an interrupted backup whose chunks this backup indexed again.
  std::uint64_t adopted_packs = 0;
};

// Backs up the volumes of one snapshot set and commits them with one set record. Needs the
// repository open (either mode). kInvalidArgument for an empty or malformed request (no
// source, a parent of another size or chunk size, `changed` without a parent, a source
// larger than 2^24 chunks); kNotFound for an unknown parent; errors of the source volume
// and the file system as they come. On error nothing is committed.
Result<BackupSetResult> backup_set(Repository& repository,
                                   std::span<const VolumeBackupRequest> requests,
                                   const BackupOptions& options = {});

// How restore brings the all-zero chunks of a backup to the target.
enum class ZeroPolicy {
  // Volume::discard(), which guarantees the range reads back as zeros (volume.h).
  kDiscard,
  // Write zeros.
  kWrite,
  // Leave them: the caller knows the target reads as zeros already (a fresh volume).
  kSkip,
};

struct RestoreOptions {
  ZeroPolicy zeros = ZeroPolicy::kDiscard;
  // Bound on decompressed frames kept for reuse.
  std::uint64_t frame_cache_bytes_max = std::uint64_t{16} << 20;
  ProgressCallback on_progress{};
  std::chrono::milliseconds progress_interval{1000};
  const Clock* clock = nullptr;
};

// Writes backup `backup_id` (id or unique prefix) to [0, volume size) of `target` in large
// sequential writes and flushes it. kInvalidArgument when the target is smaller than the
// backed-up volume or its sector size does not divide it. Every chunk is verified before it
// is written; on the first bad one restore stops with kCorrupt (kNotFound for a missing
// pack) naming the file and offset, having written only verified bytes (the target is then
// partly restored). To restore a set, restore each of its volumes.
Status restore(Repository& repository, std::string_view backup_id, Volume& target,
               const RestoreOptions& options = {});

struct VerifyReport {
  std::uint64_t chunks_checked = 0;  // distinct data chunks read back intact
  std::uint64_t bytes_checked = 0;   // their plain bytes
  std::uint64_t bad_chunks = 0;      // distinct data chunks that could not be read intact
  std::uint64_t bad_packs = 0;       // packs whose header or trailer is damaged or missing
  // The first problem met (OK when none): kCorrupt or kNotFound, naming the file and offset.
  Status first_problem{};
  bool ok() const { return bad_chunks == 0 && bad_packs == 0 && first_problem.ok(); }
};

// Re-reads every distinct data chunk of backup `backup_id`: checks each frame's checksum,
// decompresses it and re-hashes each chunk; and checks the header and trailer of every pack
// the backup uses (the trailer must list each chunk where the index has it). Damage to packs
// and chunks is a verdict in the report; a damaged or missing manifest, set record or index
// file is an error (kCorrupt, kNotFound).
Result<VerifyReport> verify(Repository& repository, std::string_view backup_id);

// Removes volume backup `backup_id` from its set record (the record is rewritten without it,
// or removed with its last volume). Its data stays until prune. Needs the repository open
// exclusive (kBadState otherwise).
Status forget(Repository& repository, std::string_view backup_id);

struct PruneOptions {
  // Keep the newest keep_last backups of each volume (by volume id) and forget the others;
  // nullopt: forget nothing, only collect garbage.
  std::optional<std::uint32_t> keep_last{};
  // A pack some of whose chunks are unreferenced is repacked (its referenced chunks copied to
  // new packs) when its unreferenced chunks hold at least this percentage of its plain bytes;
  // otherwise it is kept whole. 0: repack every such pack.
  std::uint32_t repack_unused_percent_min = 10;
};

struct PruneReport {
  std::uint64_t backups_forgotten = 0;
  std::uint64_t manifests_removed = 0;  // forgotten or left by interrupted backups
  std::uint64_t packs_removed = 0;      // unreferenced, repacked or left by interrupted backups
  std::uint64_t packs_repacked = 0;
  std::uint64_t packs_written = 0;
  std::uint64_t index_files_removed = 0;
  std::uint64_t temporary_files_removed = 0;
  std::uint64_t bytes_freed = 0;  // file bytes removed less file bytes written
};

// Forgets as options.keep_last says, then removes every manifest no set record lists, every
// pack no kept backup references (repacking partly used ones as options say), temporary
// files of interrupted writes, and rewrites the index as one file. Needs the repository open
// exclusive (kBadState otherwise). Refuses (kCorrupt, removing nothing) when a kept backup
// references a chunk that is not indexed or a manifest that cannot be read. Crash-safe: new
// packs and index are durable before anything is removed.
Result<PruneReport> prune(Repository& repository, const PruneOptions& options = {});

}  // namespace freezeframe

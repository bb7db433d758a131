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
#include <cstddef>
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
  // With a parent: the backup is differential (the parent must be a full backup, one without
  // a parent; kInvalidArgument otherwise) rather than incremental. Recorded in the manifest.
  // Needs a parent (kInvalidArgument otherwise).
  bool differential = false;
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
  // Read and check every chunk the backup needs (as verify() does) before writing anything,
  // so a damaged or incomplete repository fails the restore with the target untouched. It
  // reads the backup's data twice; worth it when the target holds data of its own (a
  // volume), not for a fresh image file that the caller removes on failure.
  bool verify_before_writing = false;
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
// pack) naming the file and offset, having written only verified bytes. The error says
// whether the target was touched: "nothing was written" (the manifest or index could not be
// read, or options.verify_before_writing found the damage), or "the target was partly
// overwritten up to offset N" (it then holds neither its old content nor the backup). To
// restore a set, restore each of its volumes.
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

struct CheckOptions {
  // Read every frame of every pack, decompress it and re-hash every chunk, and hash each pack
  // against its name (as `restic check --read-data`). false: headers, trailers, index files,
  // set records and manifests only.
  bool read_data = true;
  // Problems kept in CheckReport::problems (all are counted).
  std::size_t problems_max = 1000;
};

struct CheckReport {
  std::uint64_t index_files_checked = 0;
  std::uint64_t packs_checked = 0;
  std::uint64_t frames_checked = 0;  // read_data only
  std::uint64_t chunks_checked = 0;  // chunks read back intact (read_data only)
  std::uint64_t bytes_checked = 0;   // their plain bytes
  std::uint64_t set_records_checked = 0;
  std::uint64_t manifests_checked = 0;  // those a set record lists
  // Committed backups that cannot be restored: a damaged or missing manifest, or a chunk
  // that is not indexed or lies in a damaged or missing pack.
  std::uint64_t damaged_backups = 0;
  // Set records that cannot be read: the backups they commit are lost from the listing.
  std::uint64_t damaged_set_records = 0;
  // Not damage: what interrupted backups and forget leave, which prune removes (packs no
  // index lists, manifests no set record lists, indexed chunks no committed backup uses,
  // temporary files).
  std::uint64_t unindexed_packs = 0;
  std::uint64_t uncommitted_manifests = 0;
  std::uint64_t unreferenced_chunks = 0;
  std::uint64_t temporary_files = 0;
  // Every problem found: kCorrupt (kNotFound for a missing file) naming the file and offset,
  // in the order found; at most CheckOptions::problems_max are kept.
  std::vector<Status> problems{};
  std::uint64_t problems_total = 0;
  bool ok() const { return problems_total == 0; }
};

// Checks the whole repository, as `restic check` and `borg check` do: every index file
// (checksum, bounds, content against its name); every pack (header and trailer, and with
// read_data every frame's checksum and decompression, every chunk against its key, that the
// frames fill the pack from header to trailer, and the file against its name); that every
// index entry's pack exists and its trailer lists the chunk where the index says; every set
// record and every manifest it lists; and that every chunk a committed backup references is
// indexed and intact. Damage is a verdict in the report, never an error: the error channel is
// for what stops the check (the repository's directories cannot be listed). Needs the
// repository open (either mode); reads only.
Result<CheckReport> check_repository(Repository& repository, const CheckOptions& options = {});

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

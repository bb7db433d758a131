/* freezeframe's C API, backup repositories: backup, restore, verify, forget and prune. Part
 * of freezeframe.h, which includes it and states the conventions (errors, ownership,
 * threads, options structs, units); include freezeframe.h. */
#ifndef FREEZEFRAME_BACKUP_H
#define FREEZEFRAME_BACKUP_H

#include "freezeframe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* NOLINTBEGIN(modernize-use-using) */

/* ----- backups (docs/formats/repository.md)
 *
 * A repository in a directory holds volume backups as deduplicated, compressed chunks.
 * A backup reads a volume (typically a snapshot), whole or only the extents that changed since
 * a parent backup, and commits it atomically; restore writes it back; verify reads every
 * chunk and checks its hash. */

typedef struct ff_repository ff_repository;

/* A backup's id: 32 hex digits and the NUL. */
#define FF_BACKUP_ID_BYTES 33
#define FF_VOLUME_NAME_BYTES 256

typedef struct ff_backup_info {
  char id[FF_BACKUP_ID_BYTES];
  /* The parent of an incremental backup; "" for a full one. */
  char parent_id[FF_BACKUP_ID_BYTES];
  char volume_name[FF_VOLUME_NAME_BYTES];
  char snapshot_id[FF_UUID_STRING_BYTES];
  /* The change id given at backup; "" when none. */
  char change_id[FF_CHANGE_ID_BYTES];
  int64_t time_ns;
  uint64_t volume_bytes;
  uint32_t chunk_bytes;
  /* Chunks holding data, and chunks that are all zero. */
  uint64_t data_chunks;
  uint64_t zero_chunks;
} ff_backup_info;

/* Creates a repository in `dir` (which must not exist, or be empty) with chunks of
 * `chunk_bytes` (a power of two from 4 KiB to 4 MiB; 0: 16 KiB), and opens it exclusively.
 * FF_ALREADY_EXISTS when `dir` holds anything. */
FF_API int ff_repository_init(const char* dir, uint32_t chunk_bytes, ff_repository** out);
/* Opens the repository in `dir`: shared (backup, restore, verify, list) unless `exclusive`
 * is non-zero. FF_NOT_FOUND when there is none, FF_BUSY when another process holds a
 * conflicting lock, FF_CORRUPT for a damaged configuration. */
FF_API int ff_repository_open(const char* dir, int exclusive, ff_repository** out);
/* Releases the repository and its lock (NULL is accepted). */
FF_API void ff_repository_destroy(ff_repository* repository);

/* Backs `source` up as `volume_name`. With `parent_id` (a backup of a volume of the same size)
 * and `changed` (from ff_provider_changed_extents, not a reset), only the changed extents are
 * read and the rest is taken from the parent; with `parent_id` alone everything is read and
 * deduplicated against it; both NULL: a full backup. `snapshot_id` and `change_id` may be
 * NULL; they are recorded for the caller. `out` (may be NULL) receives the new backup. On
 * error nothing is committed. */
FF_API int ff_backup_volume(ff_repository* repository, ff_volume* source, const char* volume_name,
                            const char* snapshot_id, const char* change_id, const char* parent_id,
                            const ff_changed_extents* changed, ff_backup_info* out);
/* One volume of a backup set (ff_backup_set): the fields of ff_backup_volume. */
typedef struct ff_backup_request {
  uint32_t version;
  ff_volume* source; /* borrowed for the call; only read */
  const char* volume_name;
  const char* snapshot_id;           /* may be NULL */
  const char* change_id;             /* may be NULL */
  const char* parent_id;             /* may be NULL: a full backup */
  const ff_changed_extents* changed; /* may be NULL; needs parent_id */
} ff_backup_request;

#define FF_BACKUP_REQUEST_VERSION 1
/* Sets the version and clears every other field. */
FF_API void ff_backup_request_init(ff_backup_request* request);

/* A backup set: the volume backups of one snapshot set, committed together. */
typedef struct ff_backup_set_info {
  /* The set record's id: 32 hex digits and the NUL. */
  char id[FF_BACKUP_ID_BYTES];
  /* The snapshot set's id given at backup; the nil UUID when none. */
  char set_id[FF_UUID_STRING_BYTES];
  int64_t time_ns;
  size_t volume_count;
} ff_backup_set_info;

/* Backs up the volumes of one snapshot set (typically its snapshots, from
 * ff_session_open_snapshot) and commits them with one set record: all of them or, on error,
 * none. `set_id` (may be NULL) is recorded with the set. `out` (may be NULL) receives the set,
 * and `volumes_out` (may be NULL) `count` entries: each volume's backup, in request order.
 * FF_INVALID_ARGUMENT for no request, an unknown request version, or a request as
 * ff_backup_volume would refuse it. */
FF_API int ff_backup_set(ff_repository* repository, const ff_backup_request* requests, size_t count,
                         const char* set_id, ff_backup_set_info* out, ff_backup_info* volumes_out);
/* Lists the backup sets, oldest first, as ff_provider_snapshots lists snapshots.
 * ff_repository_backups lists their volume backups in the same order: the first
 * volume_count entries belong to the first set, and so on. */
FF_API int ff_repository_backup_sets(ff_repository* repository, ff_backup_set_info* out,
                                     size_t capacity, size_t* count);
/* Lists the volume backups, oldest first, as ff_provider_snapshots lists snapshots. */
FF_API int ff_repository_backups(ff_repository* repository, ff_backup_info* out, size_t capacity,
                                 size_t* count);
/* Writes backup `backup_id` (or a unique prefix of at least 4 digits) to `target`, which must
 * be at least as large, and flushes it. Every chunk is verified before it is written;
 * FF_CORRUPT at the first damaged one (the target is then partly restored). */
FF_API int ff_restore(ff_repository* repository, const char* backup_id, ff_volume* target);

typedef struct ff_verify_report {
  /* Non-zero when every chunk and pack read back intact. */
  int ok;
  uint64_t chunks_checked;
  uint64_t bytes_checked;
  uint64_t bad_chunks;
  uint64_t bad_packs;
  /* The first problem found; "" when ok. */
  char first_problem[512];
} ff_verify_report;

/* Reads back every chunk of backup `backup_id` and checks it. Damage is a report (FF_OK with
 * `ok` 0), not an error; an error means the check could not run (no such backup). */
FF_API int ff_verify(ff_repository* repository, const char* backup_id, ff_verify_report* out);

/* Removes volume backup `backup_id` (or a unique prefix) from its set (a set left empty goes
 * with it). Its chunks stay until ff_prune. Needs the repository opened exclusive
 * (FF_BAD_STATE otherwise); FF_NOT_FOUND for an unknown backup. */
FF_API int ff_forget(ff_repository* repository, const char* backup_id);

typedef struct ff_prune_options {
  uint32_t version;
  /* Keep the newest keep_last backups of each volume and forget the others, 0 to 2^32 - 1;
   * -1: forget nothing, only collect garbage. A backup's volume is its source's UUID, or for
   * a snapshot (ff_provider_open_snapshot, ff_session_open_snapshot) the UUID of the volume
   * it shows, so the backups of one volume's snapshots count together. */
  int64_t keep_last;
  /* A pack whose unreferenced chunks hold at least this percentage (0 to 100) of its bytes
   * is repacked; otherwise it is kept whole. 0: repack every partly used pack. */
  uint32_t repack_unused_percent_min;
} ff_prune_options;

#define FF_PRUNE_OPTIONS_VERSION 1
/* Sets the version and the defaults: keep_last -1, repack at 10 %. */
FF_API void ff_prune_options_init(ff_prune_options* options);

typedef struct ff_prune_report {
  uint64_t backups_forgotten;
  uint64_t manifests_removed; /* forgotten, or left by interrupted backups */
  uint64_t packs_removed;     /* unreferenced, repacked, or left by interrupted backups */
  uint64_t packs_repacked;
  uint64_t packs_written;
  uint64_t index_files_removed;
  uint64_t temporary_files_removed;
  /* File bytes removed less file bytes written. */
  uint64_t bytes_freed;
} ff_prune_report;

/* Forgets as options->keep_last says (options may be NULL: forget nothing), then removes
 * every file no kept backup needs, repacking partly used packs, and rewrites the index.
 * Crash-safe: what is written is durable before anything is removed. Needs the repository
 * opened exclusive (FF_BAD_STATE otherwise); FF_CORRUPT, removing nothing, when a kept backup
 * refers to a chunk or manifest that cannot be read. `report` may be NULL. */
FF_API int ff_prune(ff_repository* repository, const ff_prune_options* options,
                    ff_prune_report* report);

/* NOLINTEND(modernize-use-using) */

#ifdef __cplusplus
}
#endif

#endif /* FREEZEFRAME_BACKUP_H */

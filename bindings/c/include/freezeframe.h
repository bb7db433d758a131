/* freezeframe's C API: a stable C interface to the snapshot engine, in libfreezeframe.so.
 *
 * Self-contained: this header includes only <stddef.h>, <stdint.h> and its own two parts,
 * freezeframe_protocol.h (clocks, the snapshot-set protocol, backup sessions) and
 * freezeframe_backup.h (backup repositories), which it includes at its end; include this one.
 * It compiles as C (C99 or later) and as C++. docs/bindings.md walks through it;
 * examples/c_snapshot.c is a complete program.
 *
 * Conventions (the same for every function):
 *
 * Names. Every exported symbol starts with `ff_`, every macro with `FF_`.
 *
 * Errors. A function that can fail returns an int: FF_OK (0) or one of the ff_error codes,
 * whose values equal freezeframe::ErrorCode's. The message of the most recent call that
 * failed on the calling thread is ff_error_message(); each fallible call clears it when it
 * starts, so after a success ff_error_message() is "" and ff_error_last() is FF_OK. The
 * message names the object and the value at fault and says what to do next. A null handle
 * or a null out-parameter is FF_INVALID_ARGUMENT; a handle that was closed is FF_BAD_STATE.
 * No C++ exception crosses this interface: an internal exception becomes FF_IO_ERROR with
 * its message, and memory exhaustion becomes FF_NO_SPACE.
 *
 * Ownership. Every handle a function returns through an out-parameter is owned by the
 * caller and released with the matching _destroy function (which accepts NULL). A function
 * that fails sets such an out-parameter to NULL (so do not pass the address of a handle you
 * still hold). Handles keep
 * what they depend on alive: a provider keeps its origin and diff volumes, a snapshot volume
 * or a live-volume handle keeps its provider. Handles may therefore be destroyed in any
 * order; the objects behind them go when the last handle that needs them does. Strings and
 * arrays passed in are borrowed for the duration of the call only. A `const char *` a
 * function returns is owned by the library and stays valid for as long as the text says.
 *
 * Threads. The library has no global state apart from the per-thread error message. A
 * provider and its volumes may be used from several threads at once (the engine locks
 * inside). A volume handle of a file or memory volume needs the caller's serialisation of
 * writes to overlapping ranges, as a disk does. A handle must not be closed or destroyed
 * while another thread is inside a call with it. Callbacks run on the thread that made the
 * call that triggered them (a writer's events: see ff_coordinator_create).
 *
 * Options structs. Each begins with a `version` field: initialise the struct with its
 * _init function (which sets the version and every default), then change the fields you
 * need. A library reading a version it does not know returns FF_INVALID_ARGUMENT. New fields
 * are only ever appended with a new version number, so a program built against an older
 * header keeps working (docs/bindings.md, "ABI policy").
 *
 * Units. Offsets and lengths are in bytes and must be multiples of the volume's sector size
 * (FF_INVALID_ARGUMENT otherwise, naming the value). Times are nanoseconds since the Unix
 * epoch. Identifiers (snapshot ids, set ids, volume UUIDs) are canonical lower-case UUID
 * strings, FF_UUID_STRING_BYTES bytes with the terminating NUL. */
#ifndef FREEZEFRAME_H
#define FREEZEFRAME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A C header: typedef, not C++'s `using` (the C++ linter's modernize checks do not apply). */
/* NOLINTBEGIN(modernize-use-using) */

/* FF_BUILDING_LIBRARY is defined only while libfreezeframe itself is compiled. */
#if defined(_WIN32) && defined(FF_BUILDING_LIBRARY)
#define FF_API __declspec(dllexport)
#elif defined(_WIN32)
#define FF_API __declspec(dllimport)
#elif defined(__GNUC__)
#define FF_API __attribute__((visibility("default")))
#else
#define FF_API
#endif

/* ----- version */

/* The library's release. */
#define FF_VERSION_MAJOR 0
#define FF_VERSION_MINOR 1
#define FF_VERSION_PATCH 0
/* The ABI's version: the shared library's SOVERSION. It changes only when a function or a
 * struct changes incompatibly (docs/bindings.md, "ABI policy"). */
#define FF_ABI_VERSION 1

/* The release of the library loaded at run time, e.g. "0.1.0"; the string is static. Any
 * out-parameter may be NULL. */
FF_API const char* ff_version(int* major, int* minor, int* patch);
/* FF_ABI_VERSION of the library loaded at run time. */
FF_API int ff_abi_version(void);

/* ----- errors */

typedef enum ff_error {
  FF_OK = 0,
  FF_INVALID_ARGUMENT = 1,    /* a bad value, size, name, or a misaligned or out-of-range extent */
  FF_READ_ONLY = 2,           /* a write to a read-only volume or snapshot */
  FF_IO_ERROR = 3,            /* the device failed */
  FF_NOT_FOUND = 4,           /* no such snapshot, file or object */
  FF_ALREADY_EXISTS = 5,      /* the name or file exists already */
  FF_CORRUPT = 6,             /* metadata failed validation; nothing was repaired */
  FF_UNSUPPORTED_VERSION = 7, /* an on-disk format newer than this library */
  FF_NO_SPACE = 8,            /* the diff area or the disk is full */
  FF_LIMIT_EXCEEDED = 9,      /* a count limit (snapshots per volume) was reached */
  FF_INVALIDATED = 10,        /* the snapshot was invalidated by the overflow policy */
  FF_BUSY = 11,               /* another operation holds the resource; retry later */
  FF_TIMEOUT = 12,            /* a protocol deadline passed */
  FF_ABORTED = 13,            /* the snapshot set was aborted */
  FF_BAD_STATE = 14,          /* not valid in the object's state (a closed handle, ...) */
  FF_UNSUPPORTED = 15         /* not supported by this platform or provider kind */
} ff_error;

/* The message of the most recent failed call on this thread, or "" after a success. Valid
 * until the next ff_ call on this thread. */
FF_API const char* ff_error_message(void);
/* The code of the most recent failed call on this thread, or FF_OK after a success. */
FF_API int ff_error_last(void);
/* A stable lower-case name for a code, e.g. "invalid-argument"; "unknown" for a value that is
 * not a code. The string is static. */
FF_API const char* ff_error_name(int code);

/* ----- volumes
 *
 * A volume is a linear array of sectors: a memory volume, an image file or block device, a
 * simulated disk over another volume, a provider's live volume, or an open snapshot. */

typedef struct ff_volume ff_volume;

#define FF_UUID_STRING_BYTES 37

/* A volume in memory, all zeros, with pages allocated as they are written. `name` may be
 * NULL ("memory"). sector_bytes: 512 or 4096; size_bytes a non-zero multiple of it. */
FF_API int ff_memory_volume_create(const char* name, uint64_t size_bytes, uint32_t sector_bytes,
                                   ff_volume** out);
/* Creates a sparse image file of size_bytes at `path`. FF_ALREADY_EXISTS if the path exists,
 * unless `overwrite` is non-zero and it is a regular file. */
FF_API int ff_file_volume_create(const char* path, uint64_t size_bytes, uint32_t sector_bytes,
                                 int overwrite, ff_volume** out);
/* Opens an existing image file or block device; `read_only` non-zero opens it read-only.
 * FF_NOT_FOUND if the path does not exist. */
FF_API int ff_file_volume_open(const char* path, int read_only, ff_volume** out);

/* Releases the handle (NULL is accepted). A file volume is closed when no provider still
 * uses it. Unflushed writes of a file volume are left to the operating system, as close()
 * does: call ff_volume_flush() first to make them durable. */
FF_API void ff_volume_destroy(ff_volume* volume);
/* Releases what the handle refers to but keeps the handle: every later call with it fails
 * with FF_BAD_STATE, until ff_volume_destroy(). Closing twice is FF_BAD_STATE. */
FF_API int ff_volume_close(ff_volume* volume);

/* Reads `length` bytes at `offset` into `buffer`. */
FF_API int ff_volume_read(ff_volume* volume, uint64_t offset, void* buffer, uint64_t length);
/* Writes `length` bytes from `data` at `offset`. FF_READ_ONLY on a read-only volume. */
FF_API int ff_volume_write(ff_volume* volume, uint64_t offset, const void* data, uint64_t length);
/* Makes every completed write durable. */
FF_API int ff_volume_flush(ff_volume* volume);
/* Tells the volume that [offset, offset + length) is no longer needed: it reads as zeros
 * afterwards. */
FF_API int ff_volume_discard(ff_volume* volume, uint64_t offset, uint64_t length);

typedef struct ff_volume_info {
  uint64_t size_bytes;
  uint32_t sector_bytes;
  int read_only;
  char uuid[FF_UUID_STRING_BYTES];
  /* Device properties (volume.h): the physical sector, the largest write the device never
   * tears, the preferred I/O size. */
  uint32_t physical_sector_bytes;
  uint32_t atomic_write_bytes;
  uint32_t optimal_io_bytes;
} ff_volume_info;

/* The volume's size, sector size, UUID and device properties. */
FF_API int ff_volume_info_get(ff_volume* volume, ff_volume_info* out);
/* The volume's name; owned by the handle, valid until it is closed or destroyed. NULL for a
 * null or closed handle. */
FF_API const char* ff_volume_name(ff_volume* volume);

/* ----- simulated volumes (deterministic, for tests)
 *
 * A simulated disk over a base volume: a volatile write cache that a crash tears (a
 * seeded choice of unflushed sectors survives), fault rules that fail requests, and
 * latency measured on a simulated clock. Torn writes are the crash's: a write not yet
 * flushed survives a crash in whole atomic_write_bytes units or not at all. */

/* A clock (freezeframe_protocol.h: ff_system_clock_create, ff_sim_clock_create). */
typedef struct ff_clock ff_clock;

typedef struct ff_sim_options {
  uint32_t version;
  /* Seeds crash outcomes and probabilistic faults: the same seed and the same requests give
   * the same outcome. */
  uint64_t seed;
  /* Probability that an unflushed sector survives a crash, in [0, 1]. */
  double crash_survival_probability;
  /* Tearing granularity: a power of two from 512 to the base's sector size; 0 means 512. */
  uint32_t atomic_write_bytes;
  /* Version 2. Simulated latency: each request first advances `clock` (a simulated clock,
   * ff_sim_clock_create, kept alive by the volume) by latency_per_operation_ns plus
   * latency_per_mib_ns for each MiB it reads or writes, a request that then fails included.
   * NULL: no latency (the latencies must then be 0). Both latencies >= 0. */
  ff_clock* clock;
  int64_t latency_per_operation_ns;
  int64_t latency_per_mib_ns;
} ff_sim_options;

/* Version 1 ended at atomic_write_bytes; the library still reads it. */
#define FF_SIM_OPTIONS_VERSION 2
/* Sets the version and the defaults: seed 0, survival 0.5, atomic writes 512 bytes, no
 * clock, no latency. */
FF_API void ff_sim_options_init(ff_sim_options* options);

/* A simulated volume over `base` (kept alive by the new handle). `options` may be NULL for
 * the defaults. */
FF_API int ff_sim_volume_create(ff_volume* base, const ff_sim_options* options, ff_volume** out);

/* Operations a fault rule matches (bits). */
#define FF_IO_READ 1u
#define FF_IO_WRITE 2u
#define FF_IO_FLUSH 4u
#define FF_IO_DISCARD 8u

/* Fails the `nth` (1-based, counted from now) request among `operations` with
 * `error_code` (FF_IO_ERROR or FF_NO_SPACE), once. FF_INVALID_ARGUMENT on a volume that is
 * not simulated. Returns the rule's id through `rule_id` (may be NULL). */
FF_API int ff_sim_volume_fail_nth(ff_volume* volume, uint32_t operations, uint64_t nth,
                                  int error_code, uint64_t* rule_id);
/* Removes every fault rule. */
FF_API int ff_sim_volume_clear_faults(ff_volume* volume);
/* Power loss: drops a seeded subset of the unflushed sectors. `dropped` (may be NULL)
 * receives how many units were dropped. Reads and writes go on afterwards, as after a
 * restart of the machine. */
FF_API int ff_sim_volume_crash(ff_volume* volume, uint64_t* dropped);
/* Bytes written or discarded since the last completed flush (what a crash may lose). */
FF_API int ff_sim_volume_unflushed_bytes(ff_volume* volume, uint64_t* out);

/* Which requests a fault rule fails. */
typedef enum ff_sim_fault_trigger {
  FF_FAULT_NTH = 0,        /* the n-th matching request counted from now (1-based) */
  FF_FAULT_FROM_NTH = 1,   /* every matching request from the n-th on */
  FF_FAULT_RANGE = 2,      /* matching requests that overlap [offset, offset + length); not
                              flushes */
  FF_FAULT_PROBABILITY = 3 /* each matching request with `probability`, drawn from the seed */
} ff_sim_fault_trigger;

typedef struct ff_sim_fault_rule {
  uint32_t version;
  int trigger;         /* ff_sim_fault_trigger */
  uint32_t operations; /* FF_IO_* bits, not 0 */
  uint64_t n;          /* FF_FAULT_NTH, FF_FAULT_FROM_NTH: from 1 */
  uint64_t offset;     /* FF_FAULT_RANGE: bytes; length > 0 */
  uint64_t length;
  double probability; /* FF_FAULT_PROBABILITY: in [0, 1] */
  /* The rule stops firing after this many failures; 0: never stops. */
  uint64_t failures_max;
  int error_code; /* what a fired rule fails the request with: FF_IO_ERROR or FF_NO_SPACE */
} ff_sim_fault_rule;

#define FF_SIM_FAULT_RULE_VERSION 1
/* Sets the version and the defaults: FF_FAULT_NTH with n 1, every operation, no range,
 * probability 0, no failure limit, FF_IO_ERROR. */
FF_API void ff_sim_fault_rule_init(ff_sim_fault_rule* rule);

/* Adds a fault rule (copied). Rules are checked in the order they were added; the first that
 * fires fails the request, which then never reaches the disk (a failed write changes
 * nothing, a failed flush makes nothing more durable). Returns the rule's id through
 * `rule_id` (may be NULL). FF_INVALID_ARGUMENT for a rule out of range, or on a volume that
 * is not simulated. */
FF_API int ff_sim_volume_add_fault(ff_volume* volume, const ff_sim_fault_rule* rule,
                                   uint64_t* rule_id);
/* Removes one rule. FF_NOT_FOUND when the volume has no rule with that id. */
FF_API int ff_sim_volume_remove_fault(ff_volume* volume, uint64_t rule_id);

typedef struct ff_sim_stats {
  /* Requests that reached the simulated disk and succeeded, and their bytes. */
  uint64_t reads;
  uint64_t writes;
  uint64_t flushes;
  uint64_t discards;
  uint64_t bytes_read;
  uint64_t bytes_written;
  uint64_t bytes_discarded;
  /* Requests failed by a fault rule. */
  uint64_t injected_failures;
  uint64_t crashes;
  /* Units (atomic_write_bytes) dropped and kept by the last crash. */
  uint64_t last_crash_units_dropped;
  uint64_t last_crash_units_kept;
  /* Simulated time charged by latency, ns. */
  int64_t latency_charged_ns;
} ff_sim_stats;

/* The simulated volume's counters since it was created. */
FF_API int ff_sim_volume_stats(ff_volume* volume, ff_sim_stats* out);

/* ----- snapshot providers
 *
 * A provider presents an origin volume as a live volume that can be snapshotted, keeping
 * its metadata and the chunks it needs in a diff area on a second volume. Copy-on-write
 * copies a chunk's old contents to the diff area at its first overwrite; redirect-on-write
 * writes the new contents there instead. */

typedef struct ff_provider ff_provider;

typedef enum ff_provider_kind {
  FF_PROVIDER_COW = 1, /* copy-on-write */
  FF_PROVIDER_ROW = 2  /* redirect-on-write */
} ff_provider_kind;

/* What a write does when the diff area has no room for the chunk it must keep. */
typedef enum ff_overflow_policy {
  FF_OVERFLOW_DELETE_OLDEST = 1,       /* delete the oldest snapshots until it fits */
  FF_OVERFLOW_FAIL_WRITES = 2,         /* fail the write with FF_NO_SPACE */
  FF_OVERFLOW_INVALIDATE_SNAPSHOTS = 3 /* write, and invalidate every snapshot */
} ff_overflow_policy;

/* The diff area's maximum: bytes, a percentage of the origin, or the diff volume's size. */
typedef enum ff_limit_kind {
  FF_LIMIT_BYTES = 0,
  FF_LIMIT_PERCENT_OF_ORIGIN = 1,
  FF_LIMIT_UNBOUNDED = 2
} ff_limit_kind;

typedef struct ff_diff_area_limit {
  int kind;       /* ff_limit_kind */
  uint64_t value; /* bytes, or percent (1 to 100); ignored when unbounded */
} ff_diff_area_limit;

/* What the provider reports as it happens (docs/providers.md, "Events"). */
typedef enum ff_event_kind {
  FF_EVENT_SNAPSHOT_DELETED_FOR_SPACE = 1,
  FF_EVENT_SNAPSHOT_INVALIDATED = 2,
  FF_EVENT_WRITE_FAILED_NO_SPACE = 3,
  FF_EVENT_USAGE_ABOVE_WARNING = 4,
  FF_EVENT_CHANGE_TRACKING_RESET = 5
} ff_event_kind;

typedef struct ff_event {
  int kind; /* ff_event_kind */
  /* The snapshot concerned; "" when none. */
  char snapshot_id[FF_UUID_STRING_BYTES];
  /* What happened and why, naming the volume. Valid during the callback only. */
  const char* message;
  uint64_t used_bytes;
  uint64_t max_bytes;
} ff_event;

/* Called with each event as it happens, on the thread doing the operation, with the
 * provider's lock held: it must not call the provider or its volumes, and should return
 * quickly. */
typedef void (*ff_event_callback)(const ff_event* event, void* user_data);

typedef struct ff_provider_options {
  uint32_t version;
  /* A power of two from 4 KiB to 1 MiB, at least the sector size of both volumes. */
  uint32_t chunk_bytes;
  ff_diff_area_limit limit;
  /* Snapshots kept at once, at most 512. */
  uint32_t snapshots_max;
  int overflow_policy; /* ff_overflow_policy */
  /* Non-zero: store chunks as zstd frames. */
  int compress;
  /* CoW group commit buffer, bytes (0: none). */
  uint64_t write_back_bytes;
  /* Change ids kept, 1 to 64. */
  uint32_t change_ids_max;
  /* FF_EVENT_USAGE_ABOVE_WARNING above this fraction of the maximum; 0 turns it off. */
  double usage_warning_fraction;
  /* May be NULL. */
  ff_event_callback on_event;
  void* event_user_data;
} ff_provider_options;

#define FF_PROVIDER_OPTIONS_VERSION 1
/* Sets the version and the defaults: 16 KiB chunks, 10 % of the origin, 64 snapshots,
 * delete-oldest, no compression, 8 MiB write-back, 4 change ids, warning at 0.8, no
 * callback. */
FF_API void ff_provider_options_init(ff_provider_options* options);

typedef struct ff_provider_open_options {
  uint32_t version;
  uint64_t write_back_bytes;
  double usage_warning_fraction;
  ff_event_callback on_event;
  void* event_user_data;
} ff_provider_open_options;

#define FF_PROVIDER_OPEN_OPTIONS_VERSION 1
FF_API void ff_provider_open_options_init(ff_provider_open_options* options);

/* Formats `diff` as a new diff area for `origin` and returns the provider. `kind` is an
 * ff_provider_kind; `options` may be NULL for the defaults. The provider keeps both volumes
 * alive; write to the origin only through the provider from now on. */
FF_API int ff_provider_create(int kind, ff_volume* origin, ff_volume* diff,
                              const ff_provider_options* options, ff_provider** out);
/* Opens the diff area on `diff` (recovering it after a crash) for `origin`. FF_CORRUPT or
 * FF_UNSUPPORTED_VERSION when it cannot be read; nothing is written then. */
FF_API int ff_provider_open(ff_volume* origin, ff_volume* diff,
                            const ff_provider_open_options* options, ff_provider** out);
/* Releases the handle (NULL is accepted). The provider is flushed and closed when no volume
 * handle of it remains. */
FF_API void ff_provider_destroy(ff_provider* provider);

/* The provider's kind (ff_provider_kind), or 0 for NULL. */
FF_API int ff_provider_kind_get(ff_provider* provider);
/* A new handle on the live volume: reads, writes, flushes and discards through the
 * provider. Destroy it with ff_volume_destroy(). */
FF_API int ff_provider_live_volume(ff_provider* provider, ff_volume** out);

typedef enum ff_snapshot_state {
  FF_SNAPSHOT_ACTIVE = 1,
  FF_SNAPSHOT_INVALIDATED = 2
} ff_snapshot_state;

#define FF_CHANGE_ID_BYTES 96

typedef struct ff_snapshot_info {
  char id[FF_UUID_STRING_BYTES];
  /* The snapshot set it belongs to; the nil UUID when none. */
  char set_id[FF_UUID_STRING_BYTES];
  int64_t created_ns;
  int provider_kind; /* ff_provider_kind */
  int state;         /* ff_snapshot_state */
  /* Diff-area bytes held for it. */
  uint64_t diff_area_bytes;
  /* Creation order within the provider, from 1. */
  uint32_t sequence;
  uint32_t attributes;
  /* The change id of the point the snapshot shows; "" when it has none. */
  char change_id[FF_CHANGE_ID_BYTES];
} ff_snapshot_info;

/* Takes a snapshot of the live volume now. `out` (may be NULL) receives its description.
 * FF_LIMIT_EXCEEDED at snapshots_max. */
FF_API int ff_provider_create_snapshot(ff_provider* provider, ff_snapshot_info* out);
/* Lists the snapshots, oldest first: fills up to `capacity` entries of `out` (which may be
 * NULL when capacity is 0) and sets *count to how many there are. When *count > capacity,
 * call again with a larger array. */
FF_API int ff_provider_snapshots(ff_provider* provider, ff_snapshot_info* out, size_t capacity,
                                 size_t* count);
/* One snapshot's description. FF_NOT_FOUND if there is no such snapshot. */
FF_API int ff_provider_snapshot_info(ff_provider* provider, const char* snapshot_id,
                                     ff_snapshot_info* out);
/* Opens a snapshot as a read-only volume (it keeps the provider alive). FF_INVALIDATED for an
 * invalidated snapshot. */
FF_API int ff_provider_open_snapshot(ff_provider* provider, const char* snapshot_id,
                                     ff_volume** out);
/* Deletes a snapshot and frees its diff-area space. */
FF_API int ff_provider_delete_snapshot(ff_provider* provider, const char* snapshot_id);
/* Makes the live volume what the snapshot shows; the snapshot and older ones stay, newer
 * ones are deleted. */
FF_API int ff_provider_revert(ff_provider* provider, const char* snapshot_id);
/* Redirect-on-write only: folds redirected chunks no snapshot needs back into the origin.
 * FF_UNSUPPORTED for copy-on-write. */
FF_API int ff_provider_consolidate(ff_provider* provider);

/* Changes the diff area's maximum; FF_NO_SPACE when what is held already exceeds it. */
FF_API int ff_provider_set_limit(ff_provider* provider, const ff_diff_area_limit* limit);
FF_API int ff_provider_set_overflow_policy(ff_provider* provider, int policy);

typedef struct ff_diff_area_usage {
  uint64_t used_bytes;      /* data bytes holding preserved or redirected chunks */
  uint64_t allocated_bytes; /* the data area's high-water mark */
  uint64_t max_bytes;       /* the current maximum */
  ff_diff_area_limit limit;
  int overflow_policy;     /* ff_overflow_policy */
  uint64_t metadata_bytes; /* superblock and journal */
  uint32_t chunk_bytes;
} ff_diff_area_usage;

FF_API int ff_provider_usage(ff_provider* provider, ff_diff_area_usage* out);

typedef struct ff_provider_stats {
  uint64_t chunks_preserved;
  uint64_t chunks_redirected;
  uint64_t read_modify_writes;
  uint64_t diff_data_bytes_written;
  uint64_t metadata_commits;
  uint64_t metadata_blocks_written;
  uint64_t checkpoints;
  uint64_t chunks_consolidated;
  uint64_t chunks_held;
  uint64_t write_backs;
} ff_provider_stats;

/* Counters since the provider was created or opened (docs/providers.md). */
FF_API int ff_provider_stats_get(ff_provider* provider, ff_provider_stats* out);

/* ----- change tracking */

/* Begins a new generation and writes its change id (with its NUL) into `out`, which holds
 * `out_bytes` bytes (FF_CHANGE_ID_BYTES is always enough). */
FF_API int ff_provider_new_change_id(ff_provider* provider, char* out, size_t out_bytes);

typedef struct ff_extent {
  uint64_t offset;
  uint64_t length;
} ff_extent;

typedef struct ff_changed_extents {
  /* Non-zero: the provider cannot tell what changed (read everything); reset_reason says
   * why and `count` is 0. */
  int reset;
  const char* reset_reason;
  /* Byte ranges in whole chunks, sorted and merged. */
  size_t count;
  const ff_extent* extents;
  uint32_t chunk_bytes;
} ff_changed_extents;

/* What changed in the live volume since change id `since` (until `until`, or now when NULL):
 * a list the library allocates; release it with ff_changed_extents_free(). */
FF_API int ff_provider_changed_extents(ff_provider* provider, const char* since, const char* until,
                                       ff_changed_extents** out);
/* Releases a list (NULL is accepted). */
FF_API void ff_changed_extents_free(ff_changed_extents* extents);

/* NOLINTEND(modernize-use-using) */

#ifdef __cplusplus
}
#endif

/* The rest of the API, in two parts. */
#include "freezeframe_backup.h"   /* IWYU pragma: export */
#include "freezeframe_protocol.h" /* IWYU pragma: export */

#endif /* FREEZEFRAME_H */

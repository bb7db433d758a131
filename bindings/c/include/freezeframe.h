/* freezeframe's C API: a stable C interface to the snapshot engine, in libfreezeframe.so.
 *
 * Self-contained: this header includes only <stddef.h> and <stdint.h>, and compiles as C
 * (C99 or later) and as C++. docs/bindings.md walks through it; examples/c_snapshot.c is a
 * complete program.
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
 * seeded choice of unflushed sectors survives), and fault rules that fail requests. */

typedef struct ff_sim_options {
  uint32_t version;
  /* Seeds crash outcomes and probabilistic faults: the same seed and the same requests give
   * the same outcome. */
  uint64_t seed;
  /* Probability that an unflushed sector survives a crash, in [0, 1]. */
  double crash_survival_probability;
  /* Tearing granularity: a power of two from 512 to the base's sector size; 0 means 512. */
  uint32_t atomic_write_bytes;
} ff_sim_options;

#define FF_SIM_OPTIONS_VERSION 1
/* Sets the version and the defaults: seed 0, survival 0.5, atomic writes 512 bytes. */
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

/* ----- clocks
 *
 * The protocol's deadlines are measured on a clock: the system's, or a simulated one that
 * moves only when told (ff_sim_clock_advance), for deterministic tests of deadlines. */

typedef struct ff_clock ff_clock;

FF_API int ff_system_clock_create(ff_clock** out);
/* A simulated clock reading 0 ns (monotonic) and `wall_epoch_ns` (wall time). */
FF_API int ff_sim_clock_create(int64_t wall_epoch_ns, ff_clock** out);
/* Moves a simulated clock forward by `ns` (>= 0), firing the timers it passes.
 * FF_INVALID_ARGUMENT on the system clock. Safe to call from a writer's callback. */
FF_API int ff_sim_clock_advance(ff_clock* clock, int64_t ns);
/* The clock's monotonic reading in ns (since an arbitrary origin); 0 for NULL. */
FF_API int64_t ff_clock_now_ns(ff_clock* clock);
/* Releases the handle (NULL is accepted); a coordinator keeps its clock alive. */
FF_API void ff_clock_destroy(ff_clock* clock);

/* ----- the snapshot-set protocol (docs/protocol.md)
 *
 * A coordinator (the model of the VSS service) knows the writers (applications that flush
 * and hold their writes while a set is taken), the volumes and their providers. A snapshot
 * set takes a snapshot of several volumes at one instant: writers prepare and freeze, the
 * volumes' I/O is held, every provider commits, then everything is released and thawed. A
 * writer that fails or overruns its deadline fails the set cleanly: every writer is
 * aborted (thawed) and no snapshot is left behind. */

typedef struct ff_coordinator ff_coordinator;
typedef struct ff_backup_session ff_backup_session;

/* Why a writer failed an event (VSS_E_WRITERERROR_*); FF_WRITER_OK is success. */
typedef enum ff_writer_failure {
  FF_WRITER_OK = 0,
  FF_WRITER_RETRYABLE = 1,
  FF_WRITER_NON_RETRYABLE = 2,
  FF_WRITER_TIMEOUT = 3,
  FF_WRITER_INCONSISTENT_SNAPSHOT = 4,
  FF_WRITER_OUT_OF_RESOURCES = 5,
  FF_WRITER_RECOVERY_FAILED = 6,
  FF_WRITER_NOT_RESPONDING = 7
} ff_writer_failure;

/* A writer event: returns FF_WRITER_OK, or an ff_writer_failure and may write why into
 * `message` (`message_bytes` bytes, NUL-terminated; it starts empty). `set_id` is the
 * snapshot set's id. Called on the coordinator's thread; with a simulated clock, on the
 * thread that takes the set. */
typedef int (*ff_writer_event)(void* user_data, const char* set_id, char* message,
                               size_t message_bytes);

/* A writer given as a table of functions. Any event may be NULL (it then succeeds). */
typedef struct ff_writer_ops {
  uint32_t version;
  /* The writer's name (copied). */
  const char* name;
  /* The volumes the writer's data lives on (copied); a set that includes any of them
   * includes the writer. */
  const char* const* volumes;
  size_t volume_count;
  /* The freeze-to-thaw window; 0: 60 s. */
  int64_t freeze_timeout_ns;
  ff_writer_event prepare_snapshot;
  ff_writer_event freeze;
  ff_writer_event thaw;
  ff_writer_event post_snapshot;
  ff_writer_event backup_complete;
  /* Undo prepare or freeze: resume normal work. May be called more than once. */
  void (*abort)(void* user_data, const char* set_id);
  void* user_data;
} ff_writer_ops;

#define FF_WRITER_OPS_VERSION 1
/* Sets the version and clears every other field. */
FF_API void ff_writer_ops_init(ff_writer_ops* ops);

/* The protocol's event log: each event as one JSON line (docs/protocol.md, "Event log"),
 * without the newline, valid during the call. */
typedef void (*ff_protocol_log_callback)(const char* json_line, void* user_data);

typedef struct ff_coordinator_options {
  uint32_t version;
  /* I/O hold to release (VSS: 10 s). */
  int64_t commit_window_max_ns;
  /* Any writer event but freeze and thaw, and any provider call outside the commit window. */
  int64_t event_duration_max_ns;
  /* May be NULL. */
  ff_protocol_log_callback on_log;
  void* log_user_data;
} ff_coordinator_options;

#define FF_COORDINATOR_OPTIONS_VERSION 1
/* Sets the version and the defaults: 10 s commit window, 180 s per event, no log. */
FF_API void ff_coordinator_options_init(ff_coordinator_options* options);

/* A coordinator measuring deadlines on `clock` (kept alive). With a simulated clock, writer
 * events and provider calls run on the calling thread, in order, so a run is deterministic;
 * with the system clock they run on a thread pool. `options` may be NULL. */
FF_API int ff_coordinator_create(ff_clock* clock, const ff_coordinator_options* options,
                                 ff_coordinator** out);
/* Releases the handle (NULL is accepted). The coordinator goes when no session of it
 * remains. */
FF_API void ff_coordinator_destroy(ff_coordinator* coordinator);
/* Makes the provider's live volume a volume of snapshot sets under `name`, and returns the
 * handle applications write through: its writes wait while a set holds the volume's I/O.
 * FF_ALREADY_EXISTS for a name in use. */
FF_API int ff_coordinator_add_volume(ff_coordinator* coordinator, ff_provider* provider,
                                     const char* name, ff_volume** out);
/* Registers a writer (the table is copied; user_data must stay valid until the coordinator
 * goes). FF_ALREADY_EXISTS for a name in use. */
FF_API int ff_coordinator_register_writer(ff_coordinator* coordinator, const ff_writer_ops* ops);

/* Takes a snapshot set of `volumes` (names given to ff_coordinator_add_volume): gathers the
 * writers, prepares, freezes, holds I/O, commits, releases and thaws. On success *out is a
 * session holding the snapshots; finish it with ff_session_backup_complete() and destroy it.
 * On failure nothing is left behind and the message says which participant failed, where
 * and why: FF_ABORTED when a writer failed an event, FF_TIMEOUT when one overran its
 * deadline. */
FF_API int ff_coordinator_take_snapshot_set(ff_coordinator* coordinator, const char* const* volumes,
                                            size_t volume_count, ff_backup_session** out);
/* The set's id (FF_UUID_STRING_BYTES bytes). */
FF_API int ff_session_set_id(ff_backup_session* session, char* out, size_t out_bytes);
/* The snapshot the set took of `volume`. */
FF_API int ff_session_snapshot_info(ff_backup_session* session, const char* volume,
                                    ff_snapshot_info* out);
/* Opens the set's snapshot of `volume` as a read-only volume. */
FF_API int ff_session_open_snapshot(ff_backup_session* session, const char* volume,
                                    ff_volume** out);
/* Tells the writers the backup ended (`succeeded` non-zero: it did). */
FF_API int ff_session_backup_complete(ff_backup_session* session, int succeeded);
/* Ends the session and releases the handle (NULL is accepted): the writers receive backup
 * shutdown, and the snapshots of a set whose backup never completed are released. */
FF_API void ff_backup_session_destroy(ff_backup_session* session);

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

/* NOLINTEND(modernize-use-using) */

#ifdef __cplusplus
}
#endif

#endif /* FREEZEFRAME_H */

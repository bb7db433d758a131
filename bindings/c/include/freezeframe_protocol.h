/* freezeframe's C API: clocks, the snapshot-set protocol and backup sessions. Part of
 * freezeframe.h, which includes it and states the conventions (errors, ownership, threads, options
 * structs, units); include freezeframe.h. */
#ifndef FREEZEFRAME_PROTOCOL_H
#define FREEZEFRAME_PROTOCOL_H

#include "freezeframe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* NOLINTBEGIN(modernize-use-using) */

/* ----- clocks
 *
 * The protocol's deadlines are measured on a clock: the system's, or a simulated one that
 * moves only when told (ff_sim_clock_advance), for deterministic tests of deadlines. */

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

/* VSS_SNAPSHOT_CONTEXT: which attributes a set's snapshots carry (ff_snapshot_info's
 * `attributes`). Auto-released contexts (backup, file-share backup) have their snapshots
 * deleted at ff_session_backup_complete() or when the session is destroyed without it;
 * persistent ones keep them. Values equal freezeframe::SnapshotContext's. */
typedef enum ff_snapshot_context {
  FF_CONTEXT_BACKUP = 0x0,                    /* auto-released, with writers (the default) */
  FF_CONTEXT_APP_ROLLBACK = 0x9,              /* persistent, with writers */
  FF_CONTEXT_CLIENT_ACCESSIBLE_WRITERS = 0xd, /* persistent, client-accessible, writers */
  FF_CONTEXT_FILE_SHARE_BACKUP = 0x10,        /* auto-released, no writers */
  FF_CONTEXT_NAS_ROLLBACK = 0x19,             /* persistent, no writers */
  FF_CONTEXT_CLIENT_ACCESSIBLE = 0x1d         /* persistent, client-accessible, no writers */
} ff_snapshot_context;

/* Snapshot attribute bits (VSS_VOLSNAP_ATTR_*) in ff_snapshot_info's `attributes`. */
#define FF_ATTR_PERSISTENT 0x1u
#define FF_ATTR_NO_AUTO_RECOVERY 0x2u
#define FF_ATTR_CLIENT_ACCESSIBLE 0x4u
#define FF_ATTR_NO_AUTO_RELEASE 0x8u
#define FF_ATTR_NO_WRITERS 0x10u
#define FF_ATTR_DIFFERENTIAL 0x20000u

/* VSS_BACKUP_TYPE: what kind of backup the requestor makes, told to the writers. */
typedef enum ff_backup_type {
  FF_BACKUP_FULL = 1,
  FF_BACKUP_INCREMENTAL = 2,
  FF_BACKUP_DIFFERENTIAL = 3,
  FF_BACKUP_LOG = 4,
  FF_BACKUP_COPY = 5,
  FF_BACKUP_OTHER = 6
} ff_backup_type;

/* What a writer learns at prepare-backup; valid during the call. */
typedef struct ff_writer_session_info {
  const char* set_id;
  int context;     /* ff_snapshot_context */
  int backup_type; /* ff_backup_type */
  /* The set's volumes (names given to ff_coordinator_add_volume). */
  const char* const* volumes;
  size_t volume_count;
} ff_writer_session_info;

/* The prepare-backup event: as ff_writer_event, with the session's choices. */
typedef int (*ff_writer_prepare_backup_event)(void* user_data,
                                              const ff_writer_session_info* session, char* message,
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
  /* Version 2. The requestor chose the context and the backup type
   * (ff_session_prepare_for_backup; ff_coordinator_take_snapshot_set calls it too). */
  ff_writer_prepare_backup_event prepare_backup;
} ff_writer_ops;

/* Version 1 ended at user_data; the library still reads it. */
#define FF_WRITER_OPS_VERSION 2
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

/* ----- a backup session, step by step (the model of IVssBackupComponents)
 *
 * ff_coordinator_take_snapshot_set() is the one-call form. The same session, driven one
 * step at a time in the VSS order, lets the requestor choose the context and the backup
 * type, read the writers' metadata, add volumes one by one, and follow the writers' states:
 *
 *   ff_coordinator_create_session(coordinator, &session);
 *   ff_session_set_context(session, FF_CONTEXT_BACKUP);          optional, first
 *   ff_session_set_backup_type(session, FF_BACKUP_INCREMENTAL);  optional, before start
 *   ff_session_gather_writer_metadata(session, &metadata);       identify, once
 *   ff_session_start_snapshot_set(session, set_id, sizeof set_id);
 *   ff_session_add_to_snapshot_set(session, "data");             once per volume
 *   ff_session_prepare_for_backup(session);                      writers' prepare-backup
 *   ff_session_do_snapshot_set(session);                         prepare, freeze, commit...
 *   ff_session_open_snapshot(session, "data", &snapshot);        read what was taken
 *   ff_session_backup_complete(session, 1);                      auto-release deletes them
 *   ff_backup_session_destroy(session);
 *
 * A call out of this order fails with FF_BAD_STATE, naming the call and what it expects. A
 * step that fails (a writer's event, a provider, a deadline, ff_session_abort()) ends the
 * set cleanly, as in the one-call form, and ff_session_failure() then says who failed, at
 * which phase and why. One set may be in creation per coordinator at a time: a second
 * session's start fails with FF_BUSY until the first's do_snapshot_set has ended.
 *
 * Threads: a session is driven from one thread; ff_session_abort() and
 * ff_session_gather_writer_status() may be called from any other thread meanwhile (an abort
 * during prepare_for_backup or do_snapshot_set makes that call fail promptly). */

/* A new session of the coordinator (which it keeps alive); nothing is taken yet. Destroy it
 * with ff_backup_session_destroy(). */
FF_API int ff_coordinator_create_session(ff_coordinator* coordinator, ff_backup_session** out);
/* The snapshots' context (ff_snapshot_context), before gather_writer_metadata (FF_BAD_STATE
 * after). */
FF_API int ff_session_set_context(ff_backup_session* session, int context);
/* The backup type the writers are told (ff_backup_type), before start_snapshot_set. */
FF_API int ff_session_set_backup_type(ff_backup_session* session, int backup_type);

/* VSS_USAGE_TYPE, VSS_SOURCE_TYPE, VSS_COMPONENT_TYPE, VSS_RESTOREMETHOD_ENUM, with VSS's
 * values, and the freeze level (front-end writers freeze first). */
typedef enum ff_writer_usage {
  FF_USAGE_UNDEFINED = 0,
  FF_USAGE_BOOTABLE_SYSTEM_STATE = 1,
  FF_USAGE_SYSTEM_SERVICE = 2,
  FF_USAGE_USER_DATA = 3,
  FF_USAGE_OTHER = 4
} ff_writer_usage;
typedef enum ff_writer_source {
  FF_SOURCE_UNDEFINED = 0,
  FF_SOURCE_TRANSACTED_DATABASE = 1,
  FF_SOURCE_NON_TRANSACTED_DATABASE = 2,
  FF_SOURCE_OTHER = 3
} ff_writer_source;
typedef enum ff_component_type {
  FF_COMPONENT_UNDEFINED = 0,
  FF_COMPONENT_DATABASE = 1,
  FF_COMPONENT_FILE_GROUP = 2
} ff_component_type;
typedef enum ff_restore_method {
  FF_RESTORE_UNDEFINED = 0,
  FF_RESTORE_IF_NOT_THERE = 1,
  FF_RESTORE_IF_CAN_REPLACE = 2,
  FF_RESTORE_STOP_RESTORE_START = 3,
  FF_RESTORE_TO_ALTERNATE_LOCATION = 4,
  FF_RESTORE_AT_REBOOT = 5,
  FF_RESTORE_AT_REBOOT_IF_CANNOT_REPLACE = 6,
  FF_RESTORE_CUSTOM = 7,
  FF_RESTORE_STOP_START = 8
} ff_restore_method;
typedef enum ff_application_level {
  FF_LEVEL_SYSTEM = 1,
  FF_LEVEL_BACK_END = 2,
  FF_LEVEL_FRONT_END = 3
} ff_application_level;

/* Files of a component, as VSS file descriptors. */
typedef struct ff_file_spec {
  const char* path;     /* directory */
  const char* filespec; /* file name or wildcard */
  int recursive;
  const char* alternate_location; /* "" when none */
  uint32_t backup_type_mask;
} ff_file_spec;

typedef struct ff_writer_component {
  int type;                 /* ff_component_type */
  const char* logical_path; /* place in the writer's component tree; "" at the root */
  const char* name;
  const char* caption;
  int selectable;
  int notify_on_backup_complete;
  /* The volumes the component's data lives on: a set must hold them all. */
  const char* const* volumes;
  size_t volume_count;
  const ff_file_spec* files; /* file-group files, or a database's data files */
  size_t file_count;
  const ff_file_spec* database_logs;
  size_t database_log_count;
} ff_writer_component;

typedef struct ff_writer_metadata {
  const char* name;
  char class_id[FF_UUID_STRING_BYTES];
  char instance_id[FF_UUID_STRING_BYTES];
  const char* instance_name;
  int usage;          /* ff_writer_usage */
  int source;         /* ff_writer_source */
  int level;          /* ff_application_level */
  int restore_method; /* ff_restore_method */
  const char* restore_service;
  int reboot_required;
  const ff_writer_component* components;
  size_t component_count;
  const ff_file_spec* excluded_files;
  size_t excluded_file_count;
} ff_writer_metadata;

/* Every writer's metadata, in the order the writers were registered. One allocation: every
 * string and array it points to lives until ff_writer_metadata_free(). */
typedef struct ff_writer_metadata_list {
  size_t count;
  const ff_writer_metadata* writers;
} ff_writer_metadata_list;

/* Identify on every registered writer; once per session, before start_snapshot_set. A
 * writer that fails it fails the session (FF_ABORTED naming it; ff_session_failure()). *out
 * is the caller's, released with ff_writer_metadata_free(). */
FF_API int ff_session_gather_writer_metadata(ff_backup_session* session,
                                             ff_writer_metadata_list** out);
/* Releases a list (NULL is accepted). */
FF_API void ff_writer_metadata_free(ff_writer_metadata_list* list);

/* Starts the snapshot set and writes its id into `set_id` (FF_UUID_STRING_BYTES bytes; may be
 * NULL with set_id_bytes 0). A context with writers needs gather_writer_metadata first.
 * FF_BUSY while another session's set is in creation. */
FF_API int ff_session_start_snapshot_set(ff_backup_session* session, char* set_id,
                                         size_t set_id_bytes);
/* Adds a volume (a name given to ff_coordinator_add_volume) to the set, with its provider.
 * FF_NOT_FOUND for an unknown volume, FF_ALREADY_EXISTS for one added twice,
 * FF_LIMIT_EXCEEDED past 64 volumes. */
FF_API int ff_session_add_to_snapshot_set(ff_backup_session* session, const char* volume);
/* The writers' prepare-backup (ff_writer_ops.prepare_backup), after the volumes are added. */
FF_API int ff_session_prepare_for_backup(ff_backup_session* session);
/* Takes the set: prepare-snapshot, freeze, I/O hold, commit, release, thaw, post-snapshot,
 * with their deadlines. On failure nothing is left behind (FF_ABORTED, FF_TIMEOUT, or the
 * failing provider's code) and ff_session_failure() says why. */
FF_API int ff_session_do_snapshot_set(ff_backup_session* session);
/* Abandons the session in any phase: a set in creation fails with FF_ABORTED, prepared
 * writers are told to abort, the set's snapshots are deleted. */
FF_API int ff_session_abort(ff_backup_session* session);

/* VSS_WRITER_STATE, same values. */
typedef enum ff_writer_state {
  FF_WRITER_STATE_UNKNOWN = 0,
  FF_WRITER_STATE_STABLE = 1,
  FF_WRITER_STATE_WAITING_FOR_FREEZE = 2,
  FF_WRITER_STATE_WAITING_FOR_THAW = 3,
  FF_WRITER_STATE_WAITING_FOR_POST_SNAPSHOT = 4,
  FF_WRITER_STATE_WAITING_FOR_BACKUP_COMPLETE = 5,
  FF_WRITER_STATE_FAILED_AT_IDENTIFY = 6,
  FF_WRITER_STATE_FAILED_AT_PREPARE_BACKUP = 7,
  FF_WRITER_STATE_FAILED_AT_PREPARE_SNAPSHOT = 8,
  FF_WRITER_STATE_FAILED_AT_FREEZE = 9,
  FF_WRITER_STATE_FAILED_AT_THAW = 10,
  FF_WRITER_STATE_FAILED_AT_POST_SNAPSHOT = 11,
  FF_WRITER_STATE_FAILED_AT_BACKUP_COMPLETE = 12,
  FF_WRITER_STATE_FAILED_AT_PRE_RESTORE = 13,
  FF_WRITER_STATE_FAILED_AT_POST_RESTORE = 14,
  FF_WRITER_STATE_FAILED_AT_BACKUP_SHUTDOWN = 15
} ff_writer_state;

#define FF_WRITER_NAME_BYTES 256
#define FF_MESSAGE_BYTES 512

typedef struct ff_writer_status {
  char name[FF_WRITER_NAME_BYTES];
  char class_id[FF_UUID_STRING_BYTES];
  char instance_id[FF_UUID_STRING_BYTES];
  int state;   /* ff_writer_state */
  int failure; /* ff_writer_failure; FF_WRITER_OK when none */
  /* Why it failed, cut to fit; "" when it did not. */
  char message[FF_MESSAGE_BYTES];
} ff_writer_status;

/* The state of every writer of the session (after gather_writer_metadata), as
 * ff_provider_snapshots lists: up to `capacity` entries of `out` (NULL when capacity is 0),
 * and their number in *count. */
FF_API int ff_session_gather_writer_status(ff_backup_session* session, ff_writer_status* out,
                                           size_t capacity, size_t* count);

/* Who ended a set. */
typedef enum ff_participant {
  FF_PARTICIPANT_WRITER = 1,
  FF_PARTICIPANT_PROVIDER = 2,
  FF_PARTICIPANT_VOLUME = 3,     /* an I/O hold that did not drain in the commit window */
  FF_PARTICIPANT_REQUESTOR = 4,  /* ff_session_abort() */
  FF_PARTICIPANT_COORDINATOR = 5 /* a deadline that belongs to no single participant */
} ff_participant;

/* Where in the protocol (docs/protocol.md); values equal freezeframe::ProtocolPhase's. */
typedef enum ff_protocol_phase {
  FF_PHASE_IDENTIFY = 0,
  FF_PHASE_PREPARE_BACKUP = 1,
  FF_PHASE_PREPARE_SNAPSHOT = 2,
  FF_PHASE_FREEZE = 3,
  FF_PHASE_THAW = 4,
  FF_PHASE_POST_SNAPSHOT = 5,
  FF_PHASE_BACKUP_COMPLETE = 6,
  FF_PHASE_PRE_RESTORE = 7,
  FF_PHASE_POST_RESTORE = 8,
  FF_PHASE_BACKUP_SHUTDOWN = 9,
  FF_PHASE_ABORT = 10,
  FF_PHASE_BEGIN_PREPARE = 11,
  FF_PHASE_END_PREPARE = 12,
  FF_PHASE_PRE_COMMIT = 13,
  FF_PHASE_COMMIT = 14,
  FF_PHASE_POST_COMMIT = 15,
  FF_PHASE_DELETE_SNAPSHOT = 16,
  FF_PHASE_AUTO_RELEASE = 17,
  FF_PHASE_QUERY = 18,
  FF_PHASE_HOLD_IO = 19,
  FF_PHASE_RELEASE_IO = 20,
  FF_PHASE_INITIAL = 21,
  FF_PHASE_START_SNAPSHOT_SET = 22,
  FF_PHASE_PREPARE_FOR_BACKUP = 23,
  FF_PHASE_DO_SNAPSHOT_SET = 24,
  FF_PHASE_SNAPSHOT_SET = 25,
  FF_PHASE_BACKUP = 26
} ff_protocol_phase;

typedef struct ff_set_failure {
  /* 0: the session has not failed (the other fields are then zero). */
  int failed;
  int participant; /* ff_participant */
  /* The writer's, provider's or volume's name; "" for the requestor and the coordinator. */
  char name[FF_WRITER_NAME_BYTES];
  int phase;          /* ff_protocol_phase */
  int writer_failure; /* ff_writer_failure */
  int code;           /* the ff_error the failing step returned */
  /* What that step said, cut to fit. */
  char message[FF_MESSAGE_BYTES];
} ff_set_failure;

/* How the session's set failed, if it did. */
FF_API int ff_session_failure(ff_backup_session* session, ff_set_failure* out);

/* Change tracking, for an incremental or differential backup: the chunks of `volume`
 * written between change id `since` (the change_id of the snapshot a previous backup read)
 * and this set's snapshot of it; released with ff_changed_extents_free(). A reset when the
 * provider can no longer tell. Needs the set taken (FF_BAD_STATE before); FF_NOT_FOUND for a
 * volume not in it. */
FF_API int ff_session_changed_extents(ff_backup_session* session, const char* volume,
                                      const char* since, ff_changed_extents** out);

/* NOLINTEND(modernize-use-using) */

#ifdef __cplusplus
}
#endif

#endif /* FREEZEFRAME_PROTOCOL_H */

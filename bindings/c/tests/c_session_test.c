/* The C API's step-by-step backup session, in C11 against libfreezeframe.so: a set of a
 * copy-on-write and a redirect-on-write volume taken one call at a time on a simulated
 * clock (context, backup type, the writer's metadata with its component, its states, the
 * prepare-backup event with the session's choices, changed extents through the session);
 * a writer that fails its freeze or its prepare-backup, one that overruns its window, an
 * abort by the requestor, a second set refused while one is in creation, a context without
 * writers that auto-releases, a version-1 writer table, and every call out of order or with
 * a NULL or bad argument. Exits 0 when every check passed, 1 otherwise, naming each failed
 * check. */
#include "c_test.h"

struct writer_state {
  int prepare_backups, prepares, freezes, thaws, post_snapshots, completes, aborts;
  int fail_freeze;         /* non-zero: freeze fails with FF_WRITER_RETRYABLE */
  int fail_prepare_backup; /* non-zero: prepare-backup fails with FF_WRITER_NON_RETRYABLE */
  int64_t freeze_ns;       /* simulated time a freeze takes */
  ff_clock* clock;
  /* What prepare-backup was told. */
  char set_id[FF_UUID_STRING_BYTES];
  int context, backup_type;
  size_t volume_count;
  int saw_data, saw_log;
};

static int on_prepare_backup(void* user, const ff_writer_session_info* session, char* message,
                             size_t bytes) {
  struct writer_state* w = (struct writer_state*)user;
  size_t i;
  ++w->prepare_backups;
  snprintf(w->set_id, sizeof w->set_id, "%s", session->set_id);
  w->context = session->context;
  w->backup_type = session->backup_type;
  w->volume_count = session->volume_count;
  for (i = 0; i < session->volume_count; ++i) {
    w->saw_data |= strcmp(session->volumes[i], "data") == 0;
    w->saw_log |= strcmp(session->volumes[i], "log") == 0;
  }
  if (w->fail_prepare_backup) {
    snprintf(message, bytes, "no room for a backup");
    return FF_WRITER_NON_RETRYABLE;
  }
  return FF_WRITER_OK;
}

static int on_prepare(void* user, const char* set_id, char* message, size_t bytes) {
  (void)set_id;
  (void)message;
  (void)bytes;
  ++((struct writer_state*)user)->prepares;
  return FF_WRITER_OK;
}

static int on_freeze(void* user, const char* set_id, char* message, size_t bytes) {
  struct writer_state* w = (struct writer_state*)user;
  (void)set_id;
  ++w->freezes;
  if (w->freeze_ns > 0)
    CHECK_OK(ff_sim_clock_advance(w->clock, w->freeze_ns));
  if (w->fail_freeze) {
    snprintf(message, bytes, "disk busy");
    return FF_WRITER_RETRYABLE;
  }
  return FF_WRITER_OK;
}

static int on_thaw(void* user, const char* set_id, char* message, size_t bytes) {
  (void)set_id;
  (void)message;
  (void)bytes;
  ++((struct writer_state*)user)->thaws;
  return FF_WRITER_OK;
}

static int on_post_snapshot(void* user, const char* set_id, char* message, size_t bytes) {
  (void)set_id;
  (void)message;
  (void)bytes;
  ++((struct writer_state*)user)->post_snapshots;
  return FF_WRITER_OK;
}

static int on_complete(void* user, const char* set_id, char* message, size_t bytes) {
  (void)set_id;
  (void)message;
  (void)bytes;
  ++((struct writer_state*)user)->completes;
  return FF_WRITER_OK;
}

static void on_abort(void* user, const char* set_id) {
  (void)set_id;
  ++((struct writer_state*)user)->aborts;
}

struct world {
  ff_clock* clock;
  ff_volume *origins[2], *diffs[2], *volumes[2];
  ff_provider* providers[2];
  ff_coordinator* coordinator;
  struct writer_state writer;
};

static const char* const kVolumes[] = {"data", "log"};

/* "data" (copy-on-write) and "log" (redirect-on-write) under one coordinator on a simulated
 * clock, and the writer "db" on both (ff_writer_ops version `ops_version`). */
static void world_open(struct world* w, uint32_t ops_version, int64_t freeze_timeout_ns) {
  ff_provider_options options = unbounded_options();
  ff_writer_ops ops;
  int i;
  memset(w, 0, sizeof *w);
  CHECK_OK(ff_sim_clock_create(1700000000000000000LL, &w->clock));
  CHECK_OK(ff_coordinator_create(w->clock, NULL, &w->coordinator));
  for (i = 0; i < 2; ++i) {
    w->origins[i] = memory_volume(kVolumes[i], kMiB);
    w->diffs[i] = memory_volume("diff", 16 * kMiB);
    CHECK_OK(ff_provider_create(i == 0 ? FF_PROVIDER_COW : FF_PROVIDER_ROW, w->origins[i],
                                w->diffs[i], &options, &w->providers[i]));
    CHECK_OK(
        ff_coordinator_add_volume(w->coordinator, w->providers[i], kVolumes[i], &w->volumes[i]));
  }
  w->writer.clock = w->clock;
  ff_writer_ops_init(&ops);
  CHECK(ops.version == FF_WRITER_OPS_VERSION && ops.prepare_backup == NULL);
  ops.version = ops_version;
  ops.name = "db";
  ops.volumes = kVolumes;
  ops.volume_count = 2;
  ops.freeze_timeout_ns = freeze_timeout_ns;
  ops.prepare_backup = on_prepare_backup;
  ops.prepare_snapshot = on_prepare;
  ops.freeze = on_freeze;
  ops.thaw = on_thaw;
  ops.post_snapshot = on_post_snapshot;
  ops.backup_complete = on_complete;
  ops.abort = on_abort;
  ops.user_data = &w->writer;
  CHECK_OK(ff_coordinator_register_writer(w->coordinator, &ops));
}

static void world_close(struct world* w) {
  int i;
  for (i = 0; i < 2; ++i) {
    ff_volume_destroy(w->volumes[i]);
    ff_provider_destroy(w->providers[i]);
    ff_volume_destroy(w->diffs[i]);
    ff_volume_destroy(w->origins[i]);
  }
  ff_coordinator_destroy(w->coordinator);
  ff_clock_destroy(w->clock);
}

static size_t snapshot_count(ff_provider* provider) {
  size_t count = 99;
  CHECK_OK(ff_provider_snapshots(provider, NULL, 0, &count));
  return count;
}

static int writer_state(ff_backup_session* session) {
  ff_writer_status status[2];
  size_t count = 0;
  CHECK_OK(ff_session_gather_writer_status(session, status, 2, &count));
  CHECK(count == 1);
  return count == 1 ? status[0].state : -1;
}

/* Gathers metadata, starts a set of both volumes and prepares it. */
static void start_and_prepare(ff_backup_session* session) {
  ff_writer_metadata_list* metadata = NULL;
  CHECK_OK(ff_session_gather_writer_metadata(session, &metadata));
  ff_writer_metadata_free(metadata);
  CHECK_OK(ff_session_start_snapshot_set(session, NULL, 0));
  CHECK_OK(ff_session_add_to_snapshot_set(session, "data"));
  CHECK_OK(ff_session_add_to_snapshot_set(session, "log"));
  CHECK_OK(ff_session_prepare_for_backup(session));
}

static void check_metadata(const ff_writer_metadata_list* metadata) {
  const ff_writer_metadata* db;
  const ff_writer_component* component;
  CHECK(metadata != NULL && metadata->count == 1);
  if (metadata == NULL || metadata->count != 1)
    return;
  db = &metadata->writers[0];
  CHECK(strcmp(db->name, "db") == 0);
  CHECK(strlen(db->class_id) == 36 && strlen(db->instance_id) == 36);
  CHECK(strcmp(db->class_id, db->instance_id) != 0);
  CHECK(db->level == FF_LEVEL_FRONT_END);
  CHECK(db->usage == FF_USAGE_USER_DATA);
  CHECK(db->restore_method == FF_RESTORE_IF_CAN_REPLACE);
  CHECK(db->instance_name != NULL && db->restore_service != NULL);
  CHECK(db->excluded_file_count == 0);
  CHECK(db->component_count == 1);
  if (db->component_count != 1)
    return;
  component = &db->components[0];
  CHECK(strcmp(component->name, "db-data") == 0);
  CHECK(component->type == FF_COMPONENT_FILE_GROUP);
  CHECK(component->selectable == 1 && component->notify_on_backup_complete == 1);
  CHECK(component->volume_count == 2);
  if (component->volume_count == 2) {
    CHECK(strcmp(component->volumes[0], "data") == 0);
    CHECK(strcmp(component->volumes[1], "log") == 0);
  }
  CHECK(component->file_count == 0 && component->database_log_count == 0);
}

/* The whole session, one call at a time, in a persistent context; every call out of order
 * fails with FF_BAD_STATE on the way. */
static void test_session_steps(void) {
  struct world w;
  ff_backup_session* session = NULL;
  ff_writer_metadata_list* metadata = NULL;
  ff_changed_extents* changed = NULL;
  ff_volume* snapshot = NULL;
  ff_snapshot_info info;
  ff_set_failure failure;
  ff_writer_status status;
  size_t count = 99;
  char set_id[FF_UUID_STRING_BYTES], since[FF_CHANGE_ID_BYTES], tiny[8];

  world_open(&w, FF_WRITER_OPS_VERSION, 0);
  CHECK_OK(ff_volume_write(w.volumes[0], 0, pattern_a, kChunk));
  CHECK_OK(ff_provider_new_change_id(w.providers[0], since, sizeof since));
  CHECK_OK(ff_volume_write(w.volumes[0], 5 * kChunk, pattern_a, kChunk));

  CHECK_OK(ff_coordinator_create_session(w.coordinator, &session));
  /* Nothing is taken yet: no writer event, no snapshot, no writer status. */
  CHECK(w.writer.prepares == 0 && snapshot_count(w.providers[0]) == 0);
  CHECK_OK(ff_session_gather_writer_status(session, NULL, 0, &count));
  CHECK(count == 0);
  CHECK_FAILS(ff_session_do_snapshot_set(session), FF_BAD_STATE);
  CHECK_FAILS(ff_session_prepare_for_backup(session), FF_BAD_STATE);
  CHECK_FAILS(ff_session_add_to_snapshot_set(session, "data"), FF_BAD_STATE);
  CHECK_FAILS(ff_session_backup_complete(session, 1), FF_BAD_STATE);
  CHECK_FAILS(ff_session_changed_extents(session, "data", since, &changed), FF_BAD_STATE);
  CHECK(changed == NULL);
  /* A context with writers starts only after the writers were asked for their metadata. */
  CHECK_FAILS(ff_session_start_snapshot_set(session, NULL, 0), FF_BAD_STATE);

  CHECK_OK(ff_session_set_context(session, FF_CONTEXT_APP_ROLLBACK));
  CHECK_OK(ff_session_set_backup_type(session, FF_BACKUP_INCREMENTAL));
  CHECK_OK(ff_session_gather_writer_metadata(session, &metadata));
  check_metadata(metadata);
  ff_writer_metadata_free(metadata);
  metadata = NULL;
  CHECK_FAILS(ff_session_gather_writer_metadata(session, &metadata), FF_BAD_STATE);
  CHECK(metadata == NULL);
  CHECK_FAILS(ff_session_set_context(session, FF_CONTEXT_BACKUP), FF_BAD_STATE);
  CHECK(writer_state(session) == FF_WRITER_STATE_STABLE);

  CHECK_FAILS(ff_session_start_snapshot_set(session, tiny, sizeof tiny), FF_INVALID_ARGUMENT);
  CHECK_OK(ff_session_start_snapshot_set(session, set_id, sizeof set_id));
  CHECK(strlen(set_id) == 36);
  CHECK_FAILS(ff_session_start_snapshot_set(session, NULL, 0), FF_BAD_STATE);
  CHECK_FAILS(ff_session_set_backup_type(session, FF_BACKUP_FULL), FF_BAD_STATE);
  CHECK_OK(ff_session_add_to_snapshot_set(session, "data"));
  CHECK_OK(ff_session_add_to_snapshot_set(session, "log"));
  CHECK_FAILS(ff_session_add_to_snapshot_set(session, "data"), FF_ALREADY_EXISTS);
  CHECK_FAILS(ff_session_add_to_snapshot_set(session, "nowhere"), FF_NOT_FOUND);
  CHECK_FAILS(ff_session_add_to_snapshot_set(session, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_add_to_snapshot_set(session, ""), FF_INVALID_ARGUMENT);
  /* Writers must be prepared first. */
  CHECK_FAILS(ff_session_do_snapshot_set(session), FF_BAD_STATE);
  CHECK(w.writer.prepares == 0 && w.writer.freezes == 0);
  CHECK_FAILS(ff_session_open_snapshot(session, "data", &snapshot), FF_BAD_STATE);

  /* The writer's prepare-backup hears the session's choices. */
  CHECK_OK(ff_session_prepare_for_backup(session));
  CHECK(w.writer.prepare_backups == 1);
  CHECK(strcmp(w.writer.set_id, set_id) == 0);
  CHECK(w.writer.context == FF_CONTEXT_APP_ROLLBACK);
  CHECK(w.writer.backup_type == FF_BACKUP_INCREMENTAL);
  CHECK(w.writer.volume_count == 2 && w.writer.saw_data && w.writer.saw_log);
  CHECK_FAILS(ff_session_prepare_for_backup(session), FF_BAD_STATE);

  CHECK_OK(ff_session_do_snapshot_set(session));
  CHECK(w.writer.prepares == 1 && w.writer.freezes == 1 && w.writer.thaws == 1);
  CHECK(w.writer.post_snapshots == 1 && w.writer.aborts == 0);
  CHECK(writer_state(session) == FF_WRITER_STATE_WAITING_FOR_BACKUP_COMPLETE);
  CHECK_FAILS(ff_session_do_snapshot_set(session), FF_BAD_STATE);
  CHECK_OK(ff_session_failure(session, &failure));
  CHECK(failure.failed == 0 && failure.name[0] == '\0' && failure.code == FF_OK);
  CHECK(snapshot_count(w.providers[0]) == 1 && snapshot_count(w.providers[1]) == 1);

  /* Both snapshots carry the set's id and the persistent context's attributes. */
  CHECK_OK(ff_session_snapshot_info(session, "data", &info));
  CHECK(strcmp(info.set_id, set_id) == 0);
  CHECK((info.attributes & FF_ATTR_PERSISTENT) != 0);
  CHECK((info.attributes & FF_ATTR_NO_AUTO_RELEASE) != 0);
  CHECK((info.attributes & FF_ATTR_DIFFERENTIAL) != 0); /* copy-on-write */
  CHECK_OK(ff_session_snapshot_info(session, "log", &info));
  CHECK(strcmp(info.set_id, set_id) == 0 && info.provider_kind == FF_PROVIDER_ROW);

  /* What changed on "data" between the change id and the set: the chunk written since. */
  CHECK_OK(ff_volume_write(w.volumes[0], 9 * kChunk, pattern_b, kChunk));
  CHECK_OK(ff_session_changed_extents(session, "data", since, &changed));
  CHECK(changed != NULL && changed->reset == 0 && changed->count == 1);
  if (changed != NULL && changed->count == 1)
    CHECK(changed->extents[0].offset == 5 * kChunk && changed->extents[0].length == kChunk);
  ff_changed_extents_free(changed);
  changed = NULL;
  CHECK_FAILS(ff_session_changed_extents(session, "nowhere", since, &changed), FF_NOT_FOUND);
  CHECK_FAILS(ff_session_changed_extents(session, "data", NULL, &changed), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_changed_extents(session, NULL, since, &changed), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_changed_extents(session, "data", since, NULL), FF_INVALID_ARGUMENT);

  /* The snapshot reads what the volume held at the set. */
  CHECK_OK(ff_volume_write(w.volumes[0], 0, pattern_b, kChunk));
  CHECK_OK(ff_session_open_snapshot(session, "data", &snapshot));
  CHECK_OK(ff_volume_read(snapshot, 0, buffer, kChunk));
  CHECK(memcmp(buffer, pattern_a, kChunk) == 0);
  ff_volume_destroy(snapshot);

  CHECK_OK(ff_session_backup_complete(session, 1));
  CHECK(w.writer.completes == 1);
  CHECK(writer_state(session) == FF_WRITER_STATE_STABLE);
  CHECK_OK(ff_session_gather_writer_status(session, &status, 1, &count));
  CHECK(count == 1 && strcmp(status.name, "db") == 0 && status.failure == FF_WRITER_OK);
  CHECK(status.message[0] == '\0' && strlen(status.class_id) == 36);
  ff_backup_session_destroy(session);
  /* A persistent context keeps its snapshots after the session. */
  CHECK(snapshot_count(w.providers[0]) == 1 && snapshot_count(w.providers[1]) == 1);
  world_close(&w);
}

/* A writer whose freeze fails fails do_snapshot_set; the session says who, where and why. */
static void test_session_writer_fails(void) {
  struct world w;
  ff_backup_session* session = NULL;
  ff_set_failure failure;
  ff_writer_status status;
  size_t count = 0;

  world_open(&w, FF_WRITER_OPS_VERSION, 0);
  w.writer.fail_freeze = 1;
  CHECK_OK(ff_coordinator_create_session(w.coordinator, &session));
  start_and_prepare(session);
  CHECK_FAILS(ff_session_do_snapshot_set(session), FF_ABORTED);
  CHECK(strstr(ff_error_message(), "disk busy") != NULL);
  CHECK(w.writer.aborts >= 1 && w.writer.thaws == 0);
  CHECK(snapshot_count(w.providers[0]) == 0 && snapshot_count(w.providers[1]) == 0);
  CHECK_OK(ff_session_failure(session, &failure));
  CHECK(failure.failed == 1);
  CHECK(failure.participant == FF_PARTICIPANT_WRITER);
  CHECK(strcmp(failure.name, "db") == 0);
  CHECK(failure.phase == FF_PHASE_FREEZE);
  CHECK(failure.writer_failure == FF_WRITER_RETRYABLE);
  CHECK(failure.code == FF_ABORTED);
  CHECK(strstr(failure.message, "disk busy") != NULL);
  CHECK_OK(ff_session_gather_writer_status(session, &status, 1, &count));
  CHECK(count == 1 && status.state == FF_WRITER_STATE_FAILED_AT_FREEZE);
  CHECK(status.failure == FF_WRITER_RETRYABLE && strstr(status.message, "disk busy") != NULL);
  /* A failed set completes no backup; the volumes are not left held. */
  CHECK_FAILS(ff_session_backup_complete(session, 1), FF_BAD_STATE);
  CHECK_OK(ff_volume_write(w.volumes[0], 0, pattern_b, kChunk));
  ff_backup_session_destroy(session);
  world_close(&w);
}

/* A writer whose prepare-backup fails fails ff_session_prepare_for_backup. */
static void test_session_prepare_backup_fails(void) {
  struct world w;
  ff_backup_session* session = NULL;
  ff_writer_metadata_list* metadata = NULL;
  ff_set_failure failure;

  world_open(&w, FF_WRITER_OPS_VERSION, 0);
  w.writer.fail_prepare_backup = 1;
  CHECK_OK(ff_coordinator_create_session(w.coordinator, &session));
  CHECK_OK(ff_session_gather_writer_metadata(session, &metadata));
  ff_writer_metadata_free(metadata);
  CHECK_OK(ff_session_start_snapshot_set(session, NULL, 0));
  CHECK_OK(ff_session_add_to_snapshot_set(session, "data"));
  CHECK(ff_session_prepare_for_backup(session) != FF_OK);
  CHECK(strstr(ff_error_message(), "no room for a backup") != NULL);
  CHECK(writer_state(session) == FF_WRITER_STATE_FAILED_AT_PREPARE_BACKUP);
  CHECK_OK(ff_session_failure(session, &failure));
  CHECK(failure.failed == 1 && failure.phase == FF_PHASE_PREPARE_BACKUP);
  CHECK(failure.writer_failure == FF_WRITER_NON_RETRYABLE);
  CHECK(w.writer.prepares == 0 && w.writer.freezes == 0);
  CHECK(ff_session_do_snapshot_set(session) != FF_OK);
  CHECK(snapshot_count(w.providers[0]) == 0);
  ff_backup_session_destroy(session);
  world_close(&w);
}

/* A freeze that outlasts its window (simulated time) fails the set with FF_TIMEOUT. */
static void test_session_writer_times_out(void) {
  struct world w;
  ff_backup_session* session = NULL;
  ff_set_failure failure;
  const int64_t second = 1000000000LL;

  world_open(&w, FF_WRITER_OPS_VERSION, 20 * second);
  w.writer.freeze_ns = 21 * second;
  CHECK_OK(ff_coordinator_create_session(w.coordinator, &session));
  start_and_prepare(session);
  CHECK_FAILS(ff_session_do_snapshot_set(session), FF_TIMEOUT);
  CHECK_OK(ff_session_failure(session, &failure));
  CHECK(failure.failed == 1 && failure.code == FF_TIMEOUT);
  CHECK(strcmp(failure.name, "db") == 0);
  CHECK(w.writer.aborts >= 1);
  CHECK(snapshot_count(w.providers[0]) == 0 && snapshot_count(w.providers[1]) == 0);
  ff_backup_session_destroy(session);
  world_close(&w);
}

/* The requestor abandons a prepared set: the writer is told to abort, nothing is taken, and
 * the failure names the requestor. A second session cannot start while a set is in
 * creation, and can once it was abandoned. */
static void test_session_abort_and_busy(void) {
  struct world w;
  ff_backup_session *session = NULL, *second = NULL;
  ff_writer_metadata_list* metadata = NULL;
  ff_set_failure failure;

  world_open(&w, FF_WRITER_OPS_VERSION, 0);
  CHECK_OK(ff_coordinator_create_session(w.coordinator, &session));
  start_and_prepare(session);
  CHECK_OK(ff_coordinator_create_session(w.coordinator, &second));
  CHECK_OK(ff_session_gather_writer_metadata(second, &metadata));
  ff_writer_metadata_free(metadata);
  CHECK_FAILS(ff_session_start_snapshot_set(second, NULL, 0), FF_BUSY);

  CHECK_OK(ff_session_abort(session));
  CHECK(w.writer.aborts >= 1 && w.writer.freezes == 0);
  CHECK_OK(ff_session_failure(session, &failure));
  CHECK(failure.failed == 1 && failure.participant == FF_PARTICIPANT_REQUESTOR);
  CHECK(failure.code == FF_ABORTED);
  CHECK(ff_session_do_snapshot_set(session) != FF_OK);
  CHECK(snapshot_count(w.providers[0]) == 0 && snapshot_count(w.providers[1]) == 0);

  /* The other session's set may start now, and is taken. */
  CHECK_OK(ff_session_start_snapshot_set(second, NULL, 0));
  CHECK_OK(ff_session_add_to_snapshot_set(second, "log"));
  CHECK_OK(ff_session_prepare_for_backup(second));
  CHECK_OK(ff_session_do_snapshot_set(second));
  CHECK(snapshot_count(w.providers[1]) == 1 && snapshot_count(w.providers[0]) == 0);
  ff_backup_session_destroy(second);
  /* The default context is auto-released: destroying the session deleted the snapshot. */
  CHECK(snapshot_count(w.providers[1]) == 0);
  ff_backup_session_destroy(session);
  world_close(&w);
}

/* A context without writers needs no metadata, calls no writer, marks its snapshots, and
 * releases them at backup complete. A version-1 writer table is read without the fields
 * version 2 added. */
static void test_session_without_writers(void) {
  struct world w;
  ff_backup_session* session = NULL;
  ff_snapshot_info info;

  world_open(&w, 1, 0);
  CHECK_OK(ff_coordinator_create_session(w.coordinator, &session));
  CHECK_OK(ff_session_set_context(session, FF_CONTEXT_FILE_SHARE_BACKUP));
  CHECK_OK(ff_session_start_snapshot_set(session, NULL, 0));
  CHECK_OK(ff_session_add_to_snapshot_set(session, "data"));
  CHECK_OK(ff_session_do_snapshot_set(session));
  CHECK(w.writer.prepares == 0 && w.writer.freezes == 0);
  CHECK_OK(ff_session_snapshot_info(session, "data", &info));
  CHECK((info.attributes & FF_ATTR_NO_WRITERS) != 0);
  CHECK((info.attributes & FF_ATTR_PERSISTENT) == 0);
  CHECK(snapshot_count(w.providers[0]) == 1);
  CHECK_OK(ff_session_backup_complete(session, 1));
  CHECK(snapshot_count(w.providers[0]) == 0);
  ff_backup_session_destroy(session);

  /* With writers, the version-1 table's events run; its prepare_backup field is not read. */
  CHECK_OK(ff_coordinator_create_session(w.coordinator, &session));
  start_and_prepare(session);
  CHECK_OK(ff_session_do_snapshot_set(session));
  CHECK(w.writer.prepare_backups == 0);
  CHECK(w.writer.prepares == 1 && w.writer.freezes == 1 && w.writer.thaws == 1);
  ff_backup_session_destroy(session);
  world_close(&w);
}

static void test_session_errors(void) {
  struct world w;
  ff_backup_session* session = NULL;
  ff_writer_metadata_list* metadata = NULL;
  ff_changed_extents* changed = NULL;
  ff_writer_status status;
  ff_set_failure failure;
  size_t count = 0;

  CHECK_FAILS(ff_coordinator_create_session(NULL, &session), FF_INVALID_ARGUMENT);
  CHECK(session == NULL);
  CHECK_FAILS(ff_session_set_context(NULL, FF_CONTEXT_BACKUP), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_set_backup_type(NULL, FF_BACKUP_FULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_gather_writer_metadata(NULL, &metadata), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_start_snapshot_set(NULL, NULL, 0), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_add_to_snapshot_set(NULL, "data"), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_prepare_for_backup(NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_do_snapshot_set(NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_abort(NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_gather_writer_status(NULL, &status, 1, &count), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_failure(NULL, &failure), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_changed_extents(NULL, "data", "x", &changed), FF_INVALID_ARGUMENT);
  ff_writer_metadata_free(NULL);

  world_open(&w, FF_WRITER_OPS_VERSION, 0);
  CHECK_FAILS(ff_coordinator_create_session(w.coordinator, NULL), FF_INVALID_ARGUMENT);
  CHECK_OK(ff_coordinator_create_session(w.coordinator, &session));
  CHECK_FAILS(ff_session_set_context(session, 7), FF_INVALID_ARGUMENT);
  CHECK(strstr(ff_error_message(), "7") != NULL);
  CHECK_FAILS(ff_session_set_backup_type(session, 0), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_set_backup_type(session, 7), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_gather_writer_metadata(session, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_start_snapshot_set(session, NULL, 5), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_gather_writer_status(session, NULL, 1, &count), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_gather_writer_status(session, &status, 1, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_failure(session, NULL), FF_INVALID_ARGUMENT);
  /* Abandoning a session that never started a set is no error. */
  CHECK_OK(ff_session_abort(session));
  ff_backup_session_destroy(session);
  world_close(&w);
}

static void all_tests(void) {
  test_session_steps();
  test_session_writer_fails();
  test_session_prepare_backup_fails();
  test_session_writer_times_out();
  test_session_abort_and_busy();
  test_session_without_writers();
  test_session_errors();
}

int main(void) {
  return run_tests("c session", all_tests);
}

/* The C API's protocol tests, in C11 against libfreezeframe.so: snapshot sets of a
 * copy-on-write and a redirect-on-write volume with a writer given as C functions, on a
 * simulated clock: a set that succeeds, a writer whose freeze fails, a writer whose freeze
 * overruns its window, and the error paths of clocks, coordinators and sessions.
 * Exits 0 when every check passed, 1 otherwise, naming each failed check. */
#include "c_test.h"

struct writer_state {
  int prepares, freezes, thaws, post_snapshots, completes, aborts;
  int fail_freeze;   /* 1: freeze fails with FF_WRITER_RETRYABLE; 2: it returns 42 */
  int64_t freeze_ns; /* simulated time a freeze takes */
  ff_clock* clock;
};

static int on_prepare(void* user, const char* set_id, char* message, size_t bytes) {
  struct writer_state* w = (struct writer_state*)user;
  (void)message;
  (void)bytes;
  CHECK(strlen(set_id) == 36);
  ++w->prepares;
  return FF_WRITER_OK;
}

static int on_freeze(void* user, const char* set_id, char* message, size_t bytes) {
  struct writer_state* w = (struct writer_state*)user;
  (void)set_id;
  ++w->freezes;
  if (w->freeze_ns > 0)
    CHECK_OK(ff_sim_clock_advance(w->clock, w->freeze_ns));
  if (w->fail_freeze == 2)
    return 42; /* not an ff_writer_failure */
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

static void count_log_line(const char* line, void* user) {
  int* lines = (int*)user;
  CHECK(line[0] == '{');
  ++*lines;
}

struct protocol_world {
  ff_clock* clock;
  ff_volume *origins[2], *diffs[2], *volumes[2];
  ff_provider* providers[2];
  ff_coordinator* coordinator;
  struct writer_state writer;
  int log_lines;
};

static const char* const kSetVolumes[] = {"data", "log"};

/* Two volumes ("data" copy-on-write, "log" redirect-on-write) and the writer "db" on both,
 * on a simulated clock. */
static void protocol_world_open(struct protocol_world* w, int64_t freeze_timeout_ns) {
  ff_provider_options options = unbounded_options();
  ff_coordinator_options coordinator_options;
  ff_writer_ops ops;
  int i;
  memset(w, 0, sizeof *w);
  CHECK_OK(ff_sim_clock_create(1700000000000000000LL, &w->clock));
  ff_coordinator_options_init(&coordinator_options);
  coordinator_options.on_log = count_log_line;
  coordinator_options.log_user_data = &w->log_lines;
  CHECK_OK(ff_coordinator_create(w->clock, &coordinator_options, &w->coordinator));
  for (i = 0; i < 2; ++i) {
    w->origins[i] = memory_volume(kSetVolumes[i], kMiB);
    w->diffs[i] = memory_volume("diff", 16 * kMiB);
    CHECK_OK(ff_provider_create(i == 0 ? FF_PROVIDER_COW : FF_PROVIDER_ROW, w->origins[i],
                                w->diffs[i], &options, &w->providers[i]));
    CHECK_OK(
        ff_coordinator_add_volume(w->coordinator, w->providers[i], kSetVolumes[i], &w->volumes[i]));
  }
  w->writer.clock = w->clock;
  ff_writer_ops_init(&ops);
  ops.name = "db";
  ops.volumes = kSetVolumes;
  ops.volume_count = 2;
  ops.freeze_timeout_ns = freeze_timeout_ns;
  ops.prepare_snapshot = on_prepare;
  ops.freeze = on_freeze;
  ops.thaw = on_thaw;
  ops.post_snapshot = on_post_snapshot;
  ops.backup_complete = on_complete;
  ops.abort = on_abort;
  ops.user_data = &w->writer;
  CHECK_OK(ff_coordinator_register_writer(w->coordinator, &ops));
}

static void protocol_world_close(struct protocol_world* w) {
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

static void test_protocol_set(void) {
  struct protocol_world w;
  ff_backup_session* session = NULL;
  ff_volume* snapshot = NULL;
  ff_volume* other = NULL;
  ff_snapshot_info info;
  char set_id[FF_UUID_STRING_BYTES];
  char tiny[8];

  protocol_world_open(&w, 0);
  CHECK_OK(ff_volume_write(w.volumes[0], 0, pattern_a, kChunk));
  CHECK_OK(ff_volume_write(w.volumes[1], 0, pattern_a, kChunk));
  CHECK_OK(ff_coordinator_take_snapshot_set(w.coordinator, kSetVolumes, 2, &session));
  CHECK(w.writer.prepares == 1 && w.writer.freezes == 1 && w.writer.thaws == 1);
  CHECK(w.writer.post_snapshots == 1 && w.writer.aborts == 0);
  CHECK(w.log_lines > 0);
  CHECK_OK(ff_session_set_id(session, set_id, sizeof set_id));
  CHECK(strlen(set_id) == 36);
  CHECK_FAILS(ff_session_set_id(session, tiny, sizeof tiny), FF_INVALID_ARGUMENT);
  CHECK_OK(ff_session_snapshot_info(session, "log", &info));
  CHECK(strcmp(info.set_id, set_id) == 0);
  CHECK(info.provider_kind == FF_PROVIDER_ROW);
  CHECK_FAILS(ff_session_snapshot_info(session, "nope", &info), FF_NOT_FOUND);
  CHECK_FAILS(ff_session_snapshot_info(session, NULL, &info), FF_INVALID_ARGUMENT);
  CHECK(snapshot_count(w.providers[0]) == 1 && snapshot_count(w.providers[1]) == 1);

  /* The set's snapshot keeps what the volume held at the set. */
  CHECK_OK(ff_volume_write(w.volumes[0], 0, pattern_b, kChunk));
  CHECK_OK(ff_session_open_snapshot(session, "data", &snapshot));
  CHECK_OK(ff_volume_read(snapshot, 0, buffer, kChunk));
  CHECK(memcmp(buffer, pattern_a, kChunk) == 0);
  CHECK_FAILS(ff_session_open_snapshot(session, NULL, &other), FF_INVALID_ARGUMENT);
  CHECK(other == NULL);
  CHECK_OK(ff_session_backup_complete(session, 1));
  CHECK(w.writer.completes == 1);
  ff_volume_destroy(snapshot);
  ff_backup_session_destroy(session);
  protocol_world_close(&w);
}

/* A writer that fails its freeze fails the set: every writer is aborted, no snapshot stays,
 * and the message names the writer and its reason. The next set succeeds. */
static void test_protocol_writer_fails(void) {
  struct protocol_world w;
  ff_backup_session* session = NULL;
  int rc;

  protocol_world_open(&w, 0);
  w.writer.fail_freeze = 1;
  rc = ff_coordinator_take_snapshot_set(w.coordinator, kSetVolumes, 2, &session);
  CHECK(rc != FF_OK);
  CHECK(session == NULL);
  CHECK(strstr(ff_error_message(), "db") != NULL);
  CHECK(strstr(ff_error_message(), "disk busy") != NULL);
  CHECK(w.writer.aborts >= 1);
  CHECK(w.writer.thaws == 0);
  CHECK(snapshot_count(w.providers[0]) == 0 && snapshot_count(w.providers[1]) == 0);
  /* The volumes are not left held: a write goes through. */
  CHECK_OK(ff_volume_write(w.volumes[0], 0, pattern_b, kChunk));

  /* A value that is no ff_writer_failure fails the set too, and the message says so. */
  w.writer.fail_freeze = 2;
  CHECK(ff_coordinator_take_snapshot_set(w.coordinator, kSetVolumes, 2, &session) != FF_OK);
  CHECK(session == NULL);
  CHECK(strstr(ff_error_message(), "returned 42, which is not an ff_writer_failure") != NULL);
  CHECK(snapshot_count(w.providers[0]) == 0);

  w.writer.fail_freeze = 0;
  CHECK_OK(ff_coordinator_take_snapshot_set(w.coordinator, kSetVolumes, 2, &session));
  CHECK(snapshot_count(w.providers[0]) == 1);
  ff_backup_session_destroy(session);
  protocol_world_close(&w);
}

/* A writer whose freeze outlasts its freeze window (simulated time) fails the set with
 * FF_TIMEOUT; within the window the same writer succeeds. */
static void test_protocol_writer_times_out(void) {
  struct protocol_world w;
  ff_backup_session* session = NULL;
  const int64_t second = 1000000000LL;
  int64_t before;

  protocol_world_open(&w, 20 * second);
  w.writer.freeze_ns = 21 * second;
  before = ff_clock_now_ns(w.clock);
  CHECK_FAILS(ff_coordinator_take_snapshot_set(w.coordinator, kSetVolumes, 2, &session),
              FF_TIMEOUT);
  CHECK(session == NULL);
  CHECK(ff_clock_now_ns(w.clock) - before >= 21 * second);
  CHECK(strstr(ff_error_message(), "db") != NULL);
  CHECK(w.writer.aborts >= 1);
  CHECK(snapshot_count(w.providers[0]) == 0 && snapshot_count(w.providers[1]) == 0);
  CHECK_OK(ff_volume_write(w.volumes[1], 0, pattern_b, kChunk));

  w.writer.freeze_ns = 19 * second;
  CHECK_OK(ff_coordinator_take_snapshot_set(w.coordinator, kSetVolumes, 2, &session));
  ff_backup_session_destroy(session);
  protocol_world_close(&w);
}

static void test_protocol_errors(void) {
  struct protocol_world w;
  ff_clock* system = NULL;
  ff_coordinator* coordinator = NULL;
  ff_coordinator_options options;
  ff_backup_session* session = NULL;
  ff_volume* volume = NULL;
  ff_writer_ops ops;
  const char* const unknown[] = {"nowhere"};
  const char* const with_null[] = {NULL};

  CHECK_OK(ff_system_clock_create(&system));
  CHECK(ff_clock_now_ns(system) > 0);
  CHECK(ff_clock_now_ns(NULL) == 0);
  CHECK_FAILS(ff_sim_clock_advance(system, 5), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_sim_clock_advance(NULL, 5), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_system_clock_create(NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_sim_clock_create(0, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_coordinator_create(NULL, NULL, &coordinator), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_coordinator_create(system, NULL, NULL), FF_INVALID_ARGUMENT);
  ff_coordinator_options_init(&options);
  options.version = 42;
  CHECK_FAILS(ff_coordinator_create(system, &options, &coordinator), FF_INVALID_ARGUMENT);
  ff_coordinator_options_init(&options);
  options.commit_window_max_ns = 0;
  CHECK_FAILS(ff_coordinator_create(system, &options, &coordinator), FF_INVALID_ARGUMENT);
  /* A coordinator on the system clock: its calls run on a thread pool. */
  CHECK_OK(ff_coordinator_create(system, NULL, &coordinator));
  ff_coordinator_destroy(coordinator);
  ff_clock_destroy(system);

  protocol_world_open(&w, 0);
  CHECK_FAILS(ff_sim_clock_advance(w.clock, -1), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_coordinator_add_volume(w.coordinator, w.providers[0], "data", &volume),
              FF_ALREADY_EXISTS);
  CHECK(volume == NULL);
  CHECK_FAILS(ff_coordinator_add_volume(w.coordinator, w.providers[0], "", &volume),
              FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_coordinator_add_volume(w.coordinator, NULL, "x", &volume), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_coordinator_add_volume(NULL, w.providers[0], "x", &volume), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_coordinator_add_volume(w.coordinator, w.providers[0], "x", NULL),
              FF_INVALID_ARGUMENT);
  ff_writer_ops_init(&ops);
  CHECK_FAILS(ff_coordinator_register_writer(w.coordinator, &ops), FF_INVALID_ARGUMENT);
  ops.name = "db";
  CHECK_FAILS(ff_coordinator_register_writer(w.coordinator, &ops), FF_ALREADY_EXISTS);
  ops.name = "other";
  ops.volume_count = 1;
  CHECK_FAILS(ff_coordinator_register_writer(w.coordinator, &ops), FF_INVALID_ARGUMENT);
  ops.volumes = with_null;
  CHECK_FAILS(ff_coordinator_register_writer(w.coordinator, &ops), FF_INVALID_ARGUMENT);
  ops.volume_count = 0;
  ops.version = 3;
  CHECK_FAILS(ff_coordinator_register_writer(w.coordinator, &ops), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_coordinator_register_writer(w.coordinator, NULL), FF_INVALID_ARGUMENT);
  ff_writer_ops_init(NULL);
  ff_coordinator_options_init(NULL);

  CHECK(ff_coordinator_take_snapshot_set(w.coordinator, unknown, 1, &session) != FF_OK);
  CHECK(session == NULL);
  CHECK(strstr(ff_error_message(), "nowhere") != NULL);
  CHECK_FAILS(ff_coordinator_take_snapshot_set(w.coordinator, NULL, 0, &session),
              FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_coordinator_take_snapshot_set(w.coordinator, with_null, 1, &session),
              FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_coordinator_take_snapshot_set(w.coordinator, kSetVolumes, 2, NULL),
              FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_backup_complete(NULL, 1), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_set_id(NULL, NULL, 0), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_session_open_snapshot(NULL, "data", &volume), FF_INVALID_ARGUMENT);
  ff_backup_session_destroy(NULL);
  ff_coordinator_destroy(NULL);
  ff_clock_destroy(NULL);
  protocol_world_close(&w);
}

static void all_tests(void) {
  test_protocol_set();
  test_protocol_writer_fails();
  test_protocol_writer_times_out();
  test_protocol_errors();
}

int main(void) {
  return run_tests("c protocol", all_tests);
}

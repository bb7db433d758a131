/* The C API's tests, in C11 against libfreezeframe.so: every function, with its error paths
 * (NULL and closed handles, bad sizes, misaligned and out-of-range extents, a full diff
 * area, unknown options versions), and the promise that handles may be destroyed in any
 * order. scripts/check_c_api.sh checks that every exported function is called by a C test here
 * or in another C test of this folder.
 * Exits 0 when every check passed, 1 otherwise, naming each failed check. */
#include "c_test.h"

static void test_version_and_errors(void) {
  int major = -1, minor = -1, patch = -1;
  char expected[32];
  const char* text = ff_version(&major, &minor, &patch);
  CHECK(major == FF_VERSION_MAJOR && minor == FF_VERSION_MINOR && patch == FF_VERSION_PATCH);
  snprintf(expected, sizeof expected, "%d.%d.%d", major, minor, patch);
  CHECK(strcmp(text, expected) == 0);
  CHECK(ff_version(NULL, NULL, NULL) == text);
  CHECK(ff_abi_version() == FF_ABI_VERSION);
  CHECK(strcmp(ff_error_name(FF_OK), "ok") == 0);
  CHECK(strcmp(ff_error_name(FF_CORRUPT), "corrupt") == 0);
  CHECK(strcmp(ff_error_name(FF_NO_SPACE), "no-space") == 0);
  CHECK(strcmp(ff_error_name(99), "unknown") == 0);
  CHECK(strcmp(ff_error_name(-1), "unknown") == 0);
  /* A failure sets the code and message; the next successful call clears them. */
  CHECK_FAILS(ff_memory_volume_create("x", 1000, 512, NULL), FF_INVALID_ARGUMENT);
  {
    ff_volume* volume = memory_volume("ok", 64 * kKiB);
    CHECK(ff_error_last() == FF_OK);
    CHECK(strcmp(ff_error_message(), "") == 0);
    ff_volume_destroy(volume);
  }
}

static void test_memory_volume(void) {
  ff_volume* volume = NULL;
  ff_volume_info info;
  /* Bad sizes and sector sizes are refused and leave *out NULL. */
  volume = (ff_volume*)&volume;
  CHECK_FAILS(ff_memory_volume_create("bad", 1000, 512, &volume), FF_INVALID_ARGUMENT);
  CHECK(volume == NULL);
  CHECK_FAILS(ff_memory_volume_create("bad", 0, 512, &volume), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_memory_volume_create("bad", 64 * kKiB, 1000, &volume), FF_INVALID_ARGUMENT);

  CHECK_OK(ff_memory_volume_create("data", kMiB, 512, &volume));
  CHECK(strcmp(ff_volume_name(volume), "data") == 0);
  CHECK_OK(ff_volume_info_get(volume, &info));
  CHECK(info.size_bytes == kMiB);
  CHECK(info.sector_bytes == 512);
  CHECK(info.read_only == 0);
  CHECK(strlen(info.uuid) == 36);
  CHECK(info.physical_sector_bytes >= 512);
  CHECK(info.optimal_io_bytes > 0);
  CHECK_FAILS(ff_volume_info_get(volume, NULL), FF_INVALID_ARGUMENT);

  CHECK_OK(ff_volume_write(volume, 4 * kChunk, pattern_a, kChunk));
  memset(buffer, 0, sizeof buffer);
  CHECK_OK(ff_volume_read(volume, 4 * kChunk, buffer, kChunk));
  CHECK(memcmp(buffer, pattern_a, kChunk) == 0);
  CHECK_OK(ff_volume_flush(volume));
  CHECK_OK(ff_volume_discard(volume, 4 * kChunk, kChunk));
  CHECK_OK(ff_volume_read(volume, 4 * kChunk, buffer, kChunk));
  CHECK(is_zero(buffer, kChunk));
  CHECK_OK(ff_volume_read(volume, 0, NULL, 0));

  /* Misaligned, out of range, NULL buffers. */
  CHECK_FAILS(ff_volume_read(volume, 100, buffer, 512), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_volume_write(volume, 0, pattern_a, 100), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_volume_read(volume, kMiB - 512, buffer, 1024), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_volume_write(volume, kMiB, pattern_a, 512), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_volume_discard(volume, 512, 100), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_volume_read(volume, 0, NULL, 512), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_volume_write(volume, 0, NULL, 512), FF_INVALID_ARGUMENT);

  /* A closed handle refuses every call, and closing twice is an error too. */
  CHECK_OK(ff_volume_close(volume));
  CHECK(ff_volume_name(volume) == NULL);
  CHECK_FAILS(ff_volume_read(volume, 0, buffer, 512), FF_BAD_STATE);
  CHECK_FAILS(ff_volume_write(volume, 0, pattern_a, 512), FF_BAD_STATE);
  CHECK_FAILS(ff_volume_flush(volume), FF_BAD_STATE);
  CHECK_FAILS(ff_volume_discard(volume, 0, 512), FF_BAD_STATE);
  CHECK_FAILS(ff_volume_info_get(volume, &info), FF_BAD_STATE);
  CHECK_FAILS(ff_volume_close(volume), FF_BAD_STATE);
  ff_volume_destroy(volume);

  /* NULL handles. */
  CHECK_FAILS(ff_volume_read(NULL, 0, buffer, 512), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_volume_close(NULL), FF_INVALID_ARGUMENT);
  CHECK(ff_volume_name(NULL) == NULL);
  ff_volume_destroy(NULL);
}

static void test_file_volume(void) {
  char path[600];
  ff_volume* volume = NULL;
  ff_volume_info info;
  snprintf(path, sizeof path, "%s/image.raw", scratch_dir);
  CHECK_FAILS(ff_file_volume_create(NULL, kMiB, 512, 0, &volume), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_file_volume_create(path, 1000, 512, 0, &volume), FF_INVALID_ARGUMENT);
  CHECK_OK(ff_file_volume_create(path, kMiB, 512, 0, &volume));
  CHECK_OK(ff_volume_write(volume, kChunk, pattern_a, kChunk));
  CHECK_OK(ff_volume_flush(volume));
  ff_volume_destroy(volume);

  CHECK_FAILS(ff_file_volume_create(path, kMiB, 512, 0, &volume), FF_ALREADY_EXISTS);
  CHECK_FAILS(ff_file_volume_open(NULL, 0, &volume), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_file_volume_open(path, 0, NULL), FF_INVALID_ARGUMENT);

  CHECK_OK(ff_file_volume_open(path, 1, &volume));
  CHECK_OK(ff_volume_info_get(volume, &info));
  CHECK(info.size_bytes == kMiB);
  CHECK(info.read_only == 1);
  CHECK_OK(ff_volume_read(volume, kChunk, buffer, kChunk));
  CHECK(memcmp(buffer, pattern_a, kChunk) == 0);
  CHECK_FAILS(ff_volume_write(volume, 0, pattern_a, 512), FF_READ_ONLY);
  ff_volume_destroy(volume);

  /* Overwriting replaces the file with a fresh, zeroed one. */
  CHECK_OK(ff_file_volume_create(path, kMiB, 512, 1, &volume));
  CHECK_OK(ff_volume_read(volume, kChunk, buffer, kChunk));
  CHECK(is_zero(buffer, kChunk));
  ff_volume_destroy(volume);
  remove(path);
  CHECK_FAILS(ff_file_volume_open(path, 0, &volume), FF_NOT_FOUND);
}

static void test_snapshots(int kind) {
  ff_volume* origin = memory_volume("origin", kMiB);
  ff_volume* diff = memory_volume("diff", 16 * kMiB);
  ff_volume* live = NULL;
  ff_volume* snapshot = NULL;
  ff_provider* provider = NULL;
  ff_provider_options options = unbounded_options();
  ff_snapshot_info first, listed[4], info;
  ff_provider_stats stats;
  size_t count = 99;

  CHECK_OK(ff_provider_create(kind, origin, diff, &options, &provider));
  CHECK(ff_provider_kind_get(provider) == kind);
  CHECK_OK(ff_provider_live_volume(provider, &live));
  CHECK_OK(ff_volume_write(live, 0, pattern_a, kChunk));
  CHECK_OK(ff_provider_create_snapshot(provider, &first));
  CHECK(strlen(first.id) == 36);
  CHECK(first.sequence == 1);
  CHECK(first.state == FF_SNAPSHOT_ACTIVE);
  CHECK(first.provider_kind == kind);
  CHECK(first.created_ns > 0);
  CHECK(first.change_id[0] != '\0');
  CHECK_OK(ff_volume_write(live, 0, pattern_b, kChunk));

  /* The snapshot reads what the volume held when it was taken; the live volume reads on. */
  CHECK_OK(ff_provider_open_snapshot(provider, first.id, &snapshot));
  CHECK_OK(ff_volume_read(snapshot, 0, buffer, kChunk));
  CHECK(memcmp(buffer, pattern_a, kChunk) == 0);
  CHECK_OK(ff_volume_read(live, 0, buffer, kChunk));
  CHECK(memcmp(buffer, pattern_b, kChunk) == 0);
  CHECK_FAILS(ff_volume_write(snapshot, 0, pattern_a, kChunk), FF_READ_ONLY);
  ff_volume_destroy(snapshot);
  snapshot = NULL;

  /* Listing: the count first, then the entries. */
  CHECK_OK(ff_provider_snapshots(provider, NULL, 0, &count));
  CHECK(count == 1);
  CHECK_OK(ff_provider_create_snapshot(provider, NULL));
  CHECK_OK(ff_provider_snapshots(provider, listed, 1, &count));
  CHECK(count == 2);
  CHECK(strcmp(listed[0].id, first.id) == 0);
  CHECK_OK(ff_provider_snapshots(provider, listed, 4, &count));
  CHECK(count == 2 && listed[1].sequence == 2);
  CHECK_FAILS(ff_provider_snapshots(provider, NULL, 2, &count), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_provider_snapshots(provider, listed, 4, NULL), FF_INVALID_ARGUMENT);
  CHECK_OK(ff_provider_snapshot_info(provider, first.id, &info));
  CHECK(strcmp(info.id, first.id) == 0 && info.sequence == 1);
  CHECK_FAILS(ff_provider_snapshot_info(provider, "not-a-uuid", &info), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_provider_snapshot_info(provider, "00000000-0000-4000-8000-000000000001", &info),
              FF_NOT_FOUND);
  CHECK_FAILS(ff_provider_snapshot_info(provider, NULL, &info), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_provider_snapshot_info(provider, first.id, NULL), FF_INVALID_ARGUMENT);

  /* Revert brings the first snapshot's contents back; the newer snapshot goes. */
  CHECK_OK(ff_provider_revert(provider, first.id));
  CHECK_OK(ff_volume_read(live, 0, buffer, kChunk));
  CHECK(memcmp(buffer, pattern_a, kChunk) == 0);
  CHECK_FAILS(ff_provider_revert(provider, "00000000-0000-4000-8000-000000000001"), FF_NOT_FOUND);

  CHECK_OK(ff_provider_stats_get(provider, &stats));
  if (kind == FF_PROVIDER_COW) {
    CHECK(stats.chunks_preserved >= 1);
    CHECK_FAILS(ff_provider_consolidate(provider), FF_UNSUPPORTED);
  } else {
    CHECK(stats.chunks_redirected >= 1);
    CHECK_OK(ff_provider_consolidate(provider));
  }
  CHECK(stats.metadata_commits >= 1);
  CHECK_FAILS(ff_provider_stats_get(provider, NULL), FF_INVALID_ARGUMENT);

  CHECK_OK(ff_provider_delete_snapshot(provider, first.id));
  CHECK_OK(ff_provider_snapshots(provider, listed, 4, &count));
  CHECK(count == 0);
  CHECK_FAILS(ff_provider_delete_snapshot(provider, first.id), FF_NOT_FOUND);
  CHECK_FAILS(ff_provider_open_snapshot(provider, first.id, &snapshot), FF_NOT_FOUND);
  CHECK(snapshot == NULL);

  ff_volume_destroy(live);
  ff_provider_destroy(provider);
  ff_volume_destroy(diff);
  ff_volume_destroy(origin);
}

static void test_provider_errors(void) {
  ff_volume* origin = memory_volume("origin", kMiB);
  ff_volume* diff = memory_volume("diff", 16 * kMiB);
  ff_volume* blank = memory_volume("blank", 16 * kMiB);
  ff_volume* closed = memory_volume("closed", kMiB);
  ff_volume* closed_out = NULL;
  ff_provider* provider = NULL;
  ff_provider_options options = unbounded_options();
  ff_provider_open_options open_options;
  ff_snapshot_info info;

  CHECK_OK(ff_volume_close(closed));
  CHECK_FAILS(ff_provider_create(7, origin, diff, NULL, &provider), FF_INVALID_ARGUMENT);
  CHECK(provider == NULL);
  CHECK_FAILS(ff_provider_create(FF_PROVIDER_COW, NULL, diff, NULL, &provider),
              FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_provider_create(FF_PROVIDER_COW, closed, diff, NULL, &provider), FF_BAD_STATE);
  CHECK_FAILS(ff_provider_create(FF_PROVIDER_COW, origin, diff, NULL, NULL), FF_INVALID_ARGUMENT);
  options.version = 99;
  CHECK_FAILS(ff_provider_create(FF_PROVIDER_COW, origin, diff, &options, &provider),
              FF_INVALID_ARGUMENT);
  options = unbounded_options();
  options.chunk_bytes = 3000;
  CHECK_FAILS(ff_provider_create(FF_PROVIDER_COW, origin, diff, &options, &provider),
              FF_INVALID_ARGUMENT);
  options = unbounded_options();
  options.limit.kind = 9;
  CHECK_FAILS(ff_provider_create(FF_PROVIDER_COW, origin, diff, &options, &provider),
              FF_INVALID_ARGUMENT);
  options = unbounded_options();
  options.overflow_policy = 0;
  CHECK_FAILS(ff_provider_create(FF_PROVIDER_ROW, origin, diff, &options, &provider),
              FF_INVALID_ARGUMENT);

  /* A volume that holds no diff area is refused, and nothing is written to it. */
  CHECK(ff_provider_open(origin, blank, NULL, &provider) != FF_OK);
  CHECK(provider == NULL);
  CHECK_OK(ff_volume_read(blank, 0, buffer, kChunk));
  CHECK(is_zero(buffer, kChunk));
  ff_provider_open_options_init(&open_options);
  open_options.version = 0;
  CHECK_FAILS(ff_provider_open(origin, diff, &open_options, &provider), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_provider_open(NULL, diff, NULL, &provider), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_provider_open(origin, diff, NULL, NULL), FF_INVALID_ARGUMENT);

  /* NULL providers. */
  CHECK(ff_provider_kind_get(NULL) == 0);
  CHECK_FAILS(ff_provider_create_snapshot(NULL, &info), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_provider_live_volume(NULL, &closed_out), FF_INVALID_ARGUMENT);
  CHECK(closed_out == NULL);
  ff_provider_destroy(NULL);
  ff_provider_options_init(NULL);
  ff_provider_open_options_init(NULL);

  ff_volume_destroy(closed);
  ff_volume_destroy(blank);
  ff_volume_destroy(diff);
  ff_volume_destroy(origin);
}

/* Handles keep what they need alive: destroying the provider and its volumes first leaves a
 * snapshot volume and a live-volume handle working. */
static void test_destroy_in_any_order(void) {
  ff_volume* origin = memory_volume("origin", kMiB);
  ff_volume* diff = memory_volume("diff", 16 * kMiB);
  ff_volume* live = NULL;
  ff_volume* snapshot = NULL;
  ff_provider* provider = NULL;
  ff_provider_options options = unbounded_options();
  ff_snapshot_info info;

  CHECK_OK(ff_provider_create(FF_PROVIDER_ROW, origin, diff, &options, &provider));
  CHECK_OK(ff_provider_live_volume(provider, &live));
  CHECK_OK(ff_volume_write(live, kChunk, pattern_a, kChunk));
  CHECK_OK(ff_provider_create_snapshot(provider, &info));
  CHECK_OK(ff_volume_write(live, kChunk, pattern_b, kChunk));
  CHECK_OK(ff_provider_open_snapshot(provider, info.id, &snapshot));
  ff_provider_destroy(provider);
  ff_volume_destroy(origin);
  ff_volume_destroy(diff);
  CHECK_OK(ff_volume_read(snapshot, kChunk, buffer, kChunk));
  CHECK(memcmp(buffer, pattern_a, kChunk) == 0);
  CHECK_OK(ff_volume_read(live, kChunk, buffer, kChunk));
  CHECK(memcmp(buffer, pattern_b, kChunk) == 0);
  ff_volume_destroy(live);
  CHECK_OK(ff_volume_read(snapshot, kChunk, buffer, kChunk));
  CHECK(memcmp(buffer, pattern_a, kChunk) == 0);
  ff_volume_destroy(snapshot);
}

struct event_counts {
  int write_failed;
  int deleted_for_space;
  int other;
  char last_message[256];
};

static void count_event(const ff_event* event, void* user_data) {
  struct event_counts* counts = (struct event_counts*)user_data;
  if (event->kind == FF_EVENT_WRITE_FAILED_NO_SPACE)
    ++counts->write_failed;
  else if (event->kind == FF_EVENT_SNAPSHOT_DELETED_FOR_SPACE)
    ++counts->deleted_for_space;
  else
    ++counts->other;
  snprintf(counts->last_message, sizeof counts->last_message, "%s", event->message);
}

/* A full diff area: fail-writes refuses the write (FF_NO_SPACE, an event), delete-oldest
 * makes room by deleting the snapshot (an event naming it). */
static void test_full_diff_area(void) {
  ff_volume* origin = memory_volume("origin", kMiB);
  ff_volume* diff = memory_volume("diff", 16 * kMiB);
  ff_volume* live = NULL;
  ff_provider* provider = NULL;
  ff_provider_options options = unbounded_options();
  ff_diff_area_usage usage;
  ff_diff_area_limit limit;
  ff_snapshot_info info;
  struct event_counts counts;
  size_t count = 0;
  uint64_t chunk;
  int rc = FF_OK;

  memset(&counts, 0, sizeof counts);
  options.limit.kind = FF_LIMIT_BYTES;
  options.limit.value = 2 * kChunk;
  options.overflow_policy = FF_OVERFLOW_FAIL_WRITES;
  options.on_event = count_event;
  options.event_user_data = &counts;
  CHECK_OK(ff_provider_create(FF_PROVIDER_COW, origin, diff, &options, &provider));
  CHECK_OK(ff_provider_live_volume(provider, &live));
  CHECK_OK(ff_provider_create_snapshot(provider, &info));
  for (chunk = 0; chunk < 4 && rc == FF_OK; ++chunk)
    rc = ff_volume_write(live, chunk * kChunk, pattern_a, kChunk);
  CHECK(rc == FF_NO_SPACE);
  CHECK(chunk == 3);
  CHECK(strstr(ff_error_message(), "") != NULL && ff_error_message()[0] != '\0');
  CHECK(counts.write_failed == 1);
  CHECK(counts.last_message[0] != '\0');
  CHECK_OK(ff_provider_usage(provider, &usage));
  CHECK(usage.used_bytes == 2 * kChunk);
  CHECK(usage.max_bytes == 2 * kChunk);
  CHECK(usage.limit.kind == FF_LIMIT_BYTES && usage.limit.value == 2 * kChunk);
  CHECK(usage.overflow_policy == FF_OVERFLOW_FAIL_WRITES);
  CHECK(usage.chunk_bytes == kChunk);
  CHECK(usage.metadata_bytes > 0);
  CHECK(usage.allocated_bytes >= usage.used_bytes);

  CHECK_FAILS(ff_provider_set_overflow_policy(provider, 9), FF_INVALID_ARGUMENT);
  CHECK_OK(ff_provider_set_overflow_policy(provider, FF_OVERFLOW_DELETE_OLDEST));
  CHECK_OK(ff_volume_write(live, 2 * kChunk, pattern_a, kChunk));
  CHECK(counts.deleted_for_space == 1);
  CHECK_OK(ff_provider_snapshots(provider, NULL, 0, &count));
  CHECK(count == 0);
  CHECK_OK(ff_provider_usage(provider, &usage));
  CHECK(usage.overflow_policy == FF_OVERFLOW_DELETE_OLDEST);
  CHECK(usage.used_bytes == 0);

  limit.kind = FF_LIMIT_PERCENT_OF_ORIGIN;
  limit.value = 50;
  CHECK_OK(ff_provider_set_limit(provider, &limit));
  CHECK_OK(ff_provider_usage(provider, &usage));
  CHECK(usage.max_bytes == kMiB / 2);
  limit.kind = 12;
  CHECK_FAILS(ff_provider_set_limit(provider, &limit), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_provider_set_limit(provider, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_provider_usage(provider, NULL), FF_INVALID_ARGUMENT);

  ff_volume_destroy(live);
  ff_provider_destroy(provider);
  ff_volume_destroy(diff);
  ff_volume_destroy(origin);
}

static void test_change_tracking(void) {
  ff_volume* origin = memory_volume("origin", kMiB);
  ff_volume* diff = memory_volume("diff", 16 * kMiB);
  ff_volume* live = NULL;
  ff_provider* provider = NULL;
  ff_provider_options options = unbounded_options();
  ff_changed_extents* changed = NULL;
  char since[FF_CHANGE_ID_BYTES];
  char until[FF_CHANGE_ID_BYTES];
  char tiny[4];

  CHECK_OK(ff_provider_create(FF_PROVIDER_COW, origin, diff, &options, &provider));
  CHECK_OK(ff_provider_live_volume(provider, &live));
  CHECK_OK(ff_provider_new_change_id(provider, since, sizeof since));
  CHECK(strlen(since) > 0);
  CHECK_FAILS(ff_provider_new_change_id(provider, tiny, sizeof tiny), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_provider_new_change_id(provider, NULL, 64), FF_INVALID_ARGUMENT);
  CHECK_OK(ff_volume_write(live, 3 * kChunk, pattern_a, 512));
  CHECK_OK(ff_volume_write(live, 9 * kChunk, pattern_a, kChunk));
  CHECK_OK(ff_provider_new_change_id(provider, until, sizeof until));
  CHECK_OK(ff_volume_write(live, 20 * kChunk, pattern_a, kChunk));

  CHECK_OK(ff_provider_changed_extents(provider, since, until, &changed));
  CHECK(changed != NULL);
  if (changed != NULL) {
    CHECK(changed->reset == 0);
    CHECK(changed->chunk_bytes == kChunk);
    CHECK(changed->count == 2);
    if (changed->count == 2) {
      CHECK(changed->extents[0].offset == 3 * kChunk && changed->extents[0].length == kChunk);
      CHECK(changed->extents[1].offset == 9 * kChunk && changed->extents[1].length == kChunk);
    }
    CHECK(strcmp(changed->reset_reason, "") == 0);
  }
  ff_changed_extents_free(changed);
  changed = NULL;
  /* Until now: the third write too. */
  CHECK_OK(ff_provider_changed_extents(provider, since, NULL, &changed));
  CHECK(changed != NULL && changed->count == 3);
  ff_changed_extents_free(changed);
  changed = NULL;
  CHECK_FAILS(ff_provider_changed_extents(provider, until, since, &changed), FF_INVALID_ARGUMENT);
  CHECK(changed == NULL);
  CHECK(ff_provider_changed_extents(provider, "garbage", NULL, &changed) != FF_OK);
  CHECK(ff_error_message()[0] != '\0');
  CHECK_FAILS(ff_provider_changed_extents(provider, NULL, NULL, &changed), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_provider_changed_extents(provider, since, NULL, NULL), FF_INVALID_ARGUMENT);
  ff_changed_extents_free(NULL);

  ff_volume_destroy(live);
  ff_provider_destroy(provider);
  ff_volume_destroy(diff);
  ff_volume_destroy(origin);
}

/* A provider reopened from its diff area keeps its snapshots. */
static void test_reopen(void) {
  ff_volume* origin = memory_volume("origin", kMiB);
  ff_volume* diff = memory_volume("diff", 16 * kMiB);
  ff_volume* live = NULL;
  ff_volume* snapshot = NULL;
  ff_provider* provider = NULL;
  ff_provider_options options = unbounded_options();
  ff_provider_open_options open_options;
  ff_snapshot_info info;
  size_t count = 0;

  CHECK_OK(ff_provider_create(FF_PROVIDER_COW, origin, diff, &options, &provider));
  CHECK_OK(ff_provider_live_volume(provider, &live));
  CHECK_OK(ff_volume_write(live, 0, pattern_a, kChunk));
  CHECK_OK(ff_provider_create_snapshot(provider, &info));
  CHECK_OK(ff_volume_write(live, 0, pattern_b, kChunk));
  CHECK_OK(ff_volume_flush(live));
  ff_volume_destroy(live);
  ff_provider_destroy(provider);

  ff_provider_open_options_init(&open_options);
  CHECK_OK(ff_provider_open(origin, diff, &open_options, &provider));
  CHECK(ff_provider_kind_get(provider) == FF_PROVIDER_COW);
  CHECK_OK(ff_provider_snapshots(provider, NULL, 0, &count));
  CHECK(count == 1);
  CHECK_OK(ff_provider_open_snapshot(provider, info.id, &snapshot));
  CHECK_OK(ff_volume_read(snapshot, 0, buffer, kChunk));
  CHECK(memcmp(buffer, pattern_a, kChunk) == 0);
  ff_volume_destroy(snapshot);
  ff_provider_destroy(provider);
  ff_volume_destroy(diff);
  ff_volume_destroy(origin);
}

static void test_sim_volume(void) {
  ff_volume* base = memory_volume("base", kMiB);
  ff_volume* sim = NULL;
  ff_volume* other = NULL;
  ff_sim_options options;
  uint64_t unflushed = 0, dropped = 0, rule = 0;

  ff_sim_options_init(&options);
  CHECK(options.version == FF_SIM_OPTIONS_VERSION);
  CHECK(options.crash_survival_probability == 0.5);
  options.seed = 7;
  options.crash_survival_probability = 0.0;
  CHECK_OK(ff_sim_volume_create(base, &options, &sim));
  CHECK_OK(ff_volume_write(sim, 0, pattern_a, kChunk));
  CHECK_OK(ff_sim_volume_unflushed_bytes(sim, &unflushed));
  CHECK(unflushed == kChunk);
  CHECK_OK(ff_volume_flush(sim));
  CHECK_OK(ff_sim_volume_unflushed_bytes(sim, &unflushed));
  CHECK(unflushed == 0);

  /* A crash drops what was not flushed (survival 0): the flushed chunk stays. */
  CHECK_OK(ff_volume_write(sim, kChunk, pattern_b, kChunk));
  CHECK_OK(ff_sim_volume_crash(sim, &dropped));
  CHECK(dropped > 0);
  CHECK_OK(ff_volume_read(sim, 0, buffer, kChunk));
  CHECK(memcmp(buffer, pattern_a, kChunk) == 0);
  CHECK_OK(ff_volume_read(sim, kChunk, buffer, kChunk));
  CHECK(is_zero(buffer, kChunk));
  CHECK_OK(ff_sim_volume_crash(sim, NULL));

  /* The second write from now fails, once. */
  CHECK_OK(ff_sim_volume_fail_nth(sim, FF_IO_WRITE, 2, FF_IO_ERROR, &rule));
  CHECK(rule > 0);
  CHECK_OK(ff_volume_write(sim, 0, pattern_b, 512));
  CHECK_FAILS(ff_volume_write(sim, 0, pattern_b, 512), FF_IO_ERROR);
  CHECK_OK(ff_volume_write(sim, 0, pattern_b, 512));
  CHECK_OK(ff_sim_volume_fail_nth(sim, FF_IO_FLUSH | FF_IO_READ, 1, FF_NO_SPACE, NULL));
  CHECK_OK(ff_sim_volume_clear_faults(sim));
  CHECK_OK(ff_volume_flush(sim));
  CHECK_FAILS(ff_sim_volume_fail_nth(sim, 0, 1, FF_IO_ERROR, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_sim_volume_fail_nth(sim, 64, 1, FF_IO_ERROR, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_sim_volume_fail_nth(sim, FF_IO_WRITE, 0, FF_IO_ERROR, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_sim_volume_fail_nth(sim, FF_IO_WRITE, 1, FF_CORRUPT, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_sim_volume_unflushed_bytes(sim, NULL), FF_INVALID_ARGUMENT);

  /* Calls for simulated volumes on other volumes, and bad options. */
  CHECK_FAILS(ff_sim_volume_crash(base, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_sim_volume_fail_nth(base, FF_IO_WRITE, 1, FF_IO_ERROR, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_sim_volume_clear_faults(base), FF_INVALID_ARGUMENT);
  options.version = 5;
  CHECK_FAILS(ff_sim_volume_create(base, &options, &other), FF_INVALID_ARGUMENT);
  CHECK(other == NULL);
  CHECK_FAILS(ff_sim_volume_create(NULL, NULL, &other), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_sim_volume_create(base, NULL, NULL), FF_INVALID_ARGUMENT);
  ff_sim_options_init(NULL);

  /* The simulated volume keeps its base alive. */
  ff_volume_destroy(base);
  CHECK_OK(ff_volume_read(sim, 0, buffer, 512));
  CHECK(memcmp(buffer, pattern_b, 512) == 0);
  ff_volume_destroy(sim);
}

/* A provider over simulated disks: a power loss after the snapshot was flushed keeps it. */
static void test_crash_keeps_a_flushed_snapshot(void) {
  ff_volume* origin_base = memory_volume("origin", kMiB);
  ff_volume* diff_base = memory_volume("diff", 16 * kMiB);
  ff_volume *origin = NULL, *diff = NULL, *live = NULL, *snapshot = NULL;
  ff_provider* provider = NULL;
  ff_provider_options options = unbounded_options();
  ff_sim_options sim_options;
  ff_snapshot_info info;

  ff_sim_options_init(&sim_options);
  sim_options.seed = 3;
  CHECK_OK(ff_sim_volume_create(origin_base, &sim_options, &origin));
  sim_options.seed = 4;
  CHECK_OK(ff_sim_volume_create(diff_base, &sim_options, &diff));
  CHECK_OK(ff_provider_create(FF_PROVIDER_COW, origin, diff, &options, &provider));
  CHECK_OK(ff_provider_live_volume(provider, &live));
  CHECK_OK(ff_volume_write(live, 0, pattern_a, kChunk));
  CHECK_OK(ff_provider_create_snapshot(provider, &info));
  CHECK_OK(ff_volume_flush(live));
  CHECK_OK(ff_volume_write(live, 0, pattern_b, kChunk));
  ff_volume_destroy(live);
  /* The disks lose their caches under the running provider, and again after it is
   * dropped; the snapshot was flushed before, so it must read as it was. */
  CHECK_OK(ff_sim_volume_crash(origin, NULL));
  CHECK_OK(ff_sim_volume_crash(diff, NULL));
  ff_provider_destroy(provider);
  CHECK_OK(ff_sim_volume_crash(origin, NULL));
  CHECK_OK(ff_sim_volume_crash(diff, NULL));
  CHECK_OK(ff_provider_open(origin, diff, NULL, &provider));
  CHECK_OK(ff_provider_open_snapshot(provider, info.id, &snapshot));
  CHECK_OK(ff_volume_read(snapshot, 0, buffer, kChunk));
  CHECK(memcmp(buffer, pattern_a, kChunk) == 0);
  ff_volume_destroy(snapshot);
  ff_provider_destroy(provider);
  ff_volume_destroy(origin);
  ff_volume_destroy(diff);
  ff_volume_destroy(origin_base);
  ff_volume_destroy(diff_base);
}

static void all_tests(void) {
  test_version_and_errors();
  test_memory_volume();
  test_file_volume();
  test_snapshots(FF_PROVIDER_COW);
  test_snapshots(FF_PROVIDER_ROW);
  test_provider_errors();
  test_destroy_in_any_order();
  test_full_diff_area();
  test_change_tracking();
  test_reopen();
  test_sim_volume();
  test_crash_keeps_a_flushed_snapshot();
}

int main(void) {
  return run_tests("c api", all_tests);
}

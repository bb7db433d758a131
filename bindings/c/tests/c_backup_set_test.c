/* The C API's backup sets, forget and prune, in C11 against libfreezeframe.so: a snapshot set
 * of two volumes taken step by step is backed up as one backup set, then incrementally from
 * the changed extents the session reports, each volume restored byte for byte; the oldest
 * backups forgotten and pruned while the kept ones still restore and verify; and the error
 * paths (shared repository, unknown backup, bad requests and options). Exits 0 when every
 * check passed, 1 otherwise, naming each failed check. */
#include "c_test.h"

#define kVolume (2 * kMiB)

static unsigned char expected[2][kVolume];
static unsigned char restored[kVolume];

struct world {
  ff_clock* clock;
  ff_volume *origins[2], *diffs[2], *volumes[2];
  ff_provider* providers[2];
  ff_coordinator* coordinator;
};

static const char* const kNames[] = {"data", "log"};

static void world_open(struct world* w) {
  ff_provider_options options = unbounded_options();
  int i;
  memset(w, 0, sizeof *w);
  CHECK_OK(ff_sim_clock_create(1700000000000000000LL, &w->clock));
  CHECK_OK(ff_coordinator_create(w->clock, NULL, &w->coordinator));
  for (i = 0; i < 2; ++i) {
    w->origins[i] = memory_volume(kNames[i], kVolume);
    w->diffs[i] = memory_volume("diff", 32 * kMiB);
    CHECK_OK(ff_provider_create(i == 0 ? FF_PROVIDER_COW : FF_PROVIDER_ROW, w->origins[i],
                                w->diffs[i], &options, &w->providers[i]));
    CHECK_OK(ff_coordinator_add_volume(w->coordinator, w->providers[i], kNames[i], &w->volumes[i]));
  }
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

/* Takes a set of both volumes (no writers are registered) step by step, and backs it up as
 * one set: in full when `parents` is NULL, else from each volume's parent backup and the
 * changed extents since `since[i]`. Fills `out`, `backups` and `change_ids`, and keeps what
 * each snapshot reads in `expected`. */
static void back_up_set(struct world* w, ff_repository* repository, ff_backup_info* parents,
                        char since[2][FF_CHANGE_ID_BYTES], ff_backup_set_info* out,
                        ff_backup_info* backups, char change_ids[2][FF_CHANGE_ID_BYTES]) {
  ff_backup_session* session = NULL;
  ff_volume* snapshots[2] = {NULL, NULL};
  ff_changed_extents* changed[2] = {NULL, NULL};
  ff_backup_request requests[2];
  ff_snapshot_info info[2];
  char set_id[FF_UUID_STRING_BYTES];
  int i;

  CHECK_OK(ff_coordinator_create_session(w->coordinator, &session));
  CHECK_OK(ff_session_set_context(session, FF_CONTEXT_FILE_SHARE_BACKUP));
  CHECK_OK(ff_session_start_snapshot_set(session, set_id, sizeof set_id));
  CHECK_OK(ff_session_add_to_snapshot_set(session, "data"));
  CHECK_OK(ff_session_add_to_snapshot_set(session, "log"));
  CHECK_OK(ff_session_do_snapshot_set(session));
  for (i = 0; i < 2; ++i) {
    CHECK_OK(ff_session_snapshot_info(session, kNames[i], &info[i]));
    CHECK_OK(ff_session_open_snapshot(session, kNames[i], &snapshots[i]));
    CHECK_OK(ff_volume_read(snapshots[i], 0, expected[i], kVolume));
    snprintf(change_ids[i], FF_CHANGE_ID_BYTES, "%s", info[i].change_id);
    ff_backup_request_init(&requests[i]);
    requests[i].source = snapshots[i];
    requests[i].volume_name = kNames[i];
    requests[i].snapshot_id = info[i].id;
    requests[i].change_id = info[i].change_id;
    if (parents != NULL) {
      CHECK_OK(ff_session_changed_extents(session, kNames[i], since[i], &changed[i]));
      CHECK(changed[i] != NULL && changed[i]->reset == 0);
      requests[i].parent_id = parents[i].id;
      requests[i].changed = changed[i];
    }
  }
  CHECK_OK(ff_backup_set(repository, requests, 2, set_id, out, backups));
  CHECK(strcmp(out->set_id, set_id) == 0);
  CHECK(strlen(out->id) == 32 && out->volume_count == 2);
  for (i = 0; i < 2; ++i) {
    CHECK(strcmp(backups[i].volume_name, kNames[i]) == 0);
    CHECK(strcmp(backups[i].snapshot_id, info[i].id) == 0);
    CHECK(strcmp(backups[i].parent_id, parents != NULL ? parents[i].id : "") == 0);
    ff_changed_extents_free(changed[i]);
    ff_volume_destroy(snapshots[i]);
  }
  CHECK_OK(ff_session_backup_complete(session, 1));
  ff_backup_session_destroy(session);
}

static void restore_and_compare(ff_repository* repository, const char* backup_id,
                                const unsigned char* bytes) {
  ff_volume* target = memory_volume("restored", kVolume);
  ff_verify_report report;
  CHECK_OK(ff_restore(repository, backup_id, target));
  CHECK_OK(ff_volume_read(target, 0, restored, kVolume));
  CHECK(memcmp(restored, bytes, kVolume) == 0);
  CHECK_OK(ff_verify(repository, backup_id, &report));
  CHECK(report.ok == 1);
  ff_volume_destroy(target);
}

static void test_backup_set_forget_prune(void) {
  struct world w;
  char dir[600];
  ff_repository *repository = NULL, *shared = NULL;
  ff_backup_set_info sets[4], first, second, third;
  ff_backup_info full[2], incremental[2], latest[2], listed[8];
  char ids_full[2][FF_CHANGE_ID_BYTES], ids_incremental[2][FF_CHANGE_ID_BYTES];
  char ids_latest[2][FF_CHANGE_ID_BYTES];
  ff_prune_options options;
  ff_prune_report report;
  size_t count = 0;
  unsigned char first_data[kChunk];

  world_open(&w);
  snprintf(dir, sizeof dir, "%s/sets", scratch_dir);
  CHECK_OK(ff_repository_init(dir, 16 * kKiB, &repository));

  /* A full backup set of both volumes. */
  CHECK_OK(ff_volume_write(w.volumes[0], 0, pattern_a, kChunk));
  CHECK_OK(ff_volume_write(w.volumes[1], 7 * kChunk, pattern_b, kChunk));
  back_up_set(&w, repository, NULL, NULL, &first, full, ids_full);
  CHECK(full[0].data_chunks == 1 && full[1].data_chunks == 1);
  memcpy(first_data, expected[0], kChunk);

  /* An incremental set: one chunk changed on each volume. */
  CHECK_OK(ff_volume_write(w.volumes[0], 0, pattern_b, kChunk));
  CHECK_OK(ff_volume_write(w.volumes[1], 20 * kChunk, pattern_a, kChunk));
  back_up_set(&w, repository, full, ids_full, &second, incremental, ids_incremental);
  CHECK(incremental[0].data_chunks == 1 && incremental[1].data_chunks == 2);
  restore_and_compare(repository, incremental[0].id, expected[0]);
  restore_and_compare(repository, incremental[1].id, expected[1]);
  CHECK(memcmp(expected[0], pattern_b, kChunk) == 0);

  /* A third set. The sets are listed oldest first, their volume backups in the same order. */
  CHECK_OK(ff_volume_write(w.volumes[0], 3 * kChunk, pattern_a, kChunk));
  back_up_set(&w, repository, incremental, ids_incremental, &third, latest, ids_latest);
  CHECK_OK(ff_repository_backup_sets(repository, NULL, 0, &count));
  CHECK(count == 3);
  CHECK_OK(ff_repository_backup_sets(repository, sets, 4, &count));
  CHECK(strcmp(sets[0].id, first.id) == 0 && strcmp(sets[2].id, third.id) == 0);
  CHECK(sets[1].volume_count == 2 && strcmp(sets[1].set_id, second.set_id) == 0);
  CHECK_OK(ff_repository_backups(repository, listed, 8, &count));
  CHECK(count == 6);
  CHECK(strcmp(listed[0].id, full[0].id) == 0 && strcmp(listed[1].id, full[1].id) == 0);
  CHECK(strcmp(listed[4].id, latest[0].id) == 0 && strcmp(listed[5].id, latest[1].id) == 0);

  /* Forget and prune need the repository opened exclusive. */
  ff_repository_destroy(repository);
  CHECK_OK(ff_repository_open(dir, 0, &shared));
  CHECK_FAILS(ff_forget(shared, full[1].id), FF_BAD_STATE);
  CHECK_FAILS(ff_prune(shared, NULL, NULL), FF_BAD_STATE);
  ff_repository_destroy(shared);
  CHECK_OK(ff_repository_open(dir, 1, &repository));

  /* Forgetting one volume of the first set keeps the other. */
  CHECK_OK(ff_forget(repository, full[1].id));
  CHECK_FAILS(ff_forget(repository, full[1].id), FF_NOT_FOUND);
  CHECK_OK(ff_repository_backup_sets(repository, sets, 4, &count));
  CHECK(count == 3 && sets[0].volume_count == 1);
  CHECK_OK(ff_repository_backups(repository, NULL, 0, &count));
  CHECK(count == 5);

  /* Prune keeping the newest backup of each volume: the others go, their files with them. */
  ff_prune_options_init(&options);
  CHECK(options.version == FF_PRUNE_OPTIONS_VERSION && options.keep_last == -1);
  CHECK(options.repack_unused_percent_min == 10);
  options.keep_last = 1;
  options.repack_unused_percent_min = 0;
  CHECK_OK(ff_prune(repository, &options, &report));
  CHECK(report.backups_forgotten == 3);
  CHECK(report.manifests_removed >= 4);
  CHECK_OK(ff_repository_backup_sets(repository, sets, 4, &count));
  CHECK(count == 1 && strcmp(sets[0].id, third.id) == 0);
  CHECK_OK(ff_repository_backups(repository, listed, 8, &count));
  CHECK(count == 2 && strcmp(listed[0].id, latest[0].id) == 0);
  CHECK_FAILS(ff_restore(repository, full[0].id, w.volumes[0]), FF_NOT_FOUND);
  /* The kept backups still restore byte for byte, though their parents are gone. */
  restore_and_compare(repository, latest[0].id, expected[0]);
  restore_and_compare(repository, latest[1].id, expected[1]);
  CHECK(memcmp(first_data, pattern_a, kChunk) == 0);

  /* A prune that forgets nothing only collects garbage: there is none left. */
  CHECK_OK(ff_prune(repository, NULL, &report));
  CHECK(report.backups_forgotten == 0 && report.packs_removed == 0);
  CHECK_OK(ff_prune(repository, NULL, NULL));

  ff_repository_destroy(repository);
  world_close(&w);
}

static void test_backup_set_errors(void) {
  char dir[600];
  ff_repository* repository = NULL;
  ff_volume* source = memory_volume("source", kVolume);
  ff_backup_request requests[2];
  ff_backup_set_info set;
  ff_backup_info backups[2];
  ff_prune_options options;
  size_t count = 0;

  snprintf(dir, sizeof dir, "%s/set-errors", scratch_dir);
  CHECK_OK(ff_repository_init(dir, 0, &repository));
  ff_backup_request_init(&requests[0]);
  CHECK(requests[0].version == FF_BACKUP_REQUEST_VERSION && requests[0].source == NULL);
  requests[0].source = source;
  requests[0].volume_name = "a";
  requests[1] = requests[0];
  requests[1].volume_name = "b";

  CHECK_FAILS(ff_backup_set(NULL, requests, 2, NULL, &set, backups), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_backup_set(repository, NULL, 2, NULL, &set, backups), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_backup_set(repository, requests, 0, NULL, &set, backups), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_backup_set(repository, requests, 2, "not-a-uuid", &set, backups),
              FF_INVALID_ARGUMENT);
  requests[1].version = 7;
  CHECK_FAILS(ff_backup_set(repository, requests, 2, NULL, &set, backups), FF_INVALID_ARGUMENT);
  requests[1].version = FF_BACKUP_REQUEST_VERSION;
  requests[1].volume_name = "a";
  CHECK_FAILS(ff_backup_set(repository, requests, 2, NULL, &set, backups), FF_INVALID_ARGUMENT);
  CHECK(strstr(ff_error_message(), "twice") != NULL);
  requests[1].volume_name = NULL;
  CHECK_FAILS(ff_backup_set(repository, requests, 2, NULL, &set, backups), FF_INVALID_ARGUMENT);
  requests[1].volume_name = "b";
  requests[1].source = NULL;
  CHECK_FAILS(ff_backup_set(repository, requests, 2, NULL, &set, backups), FF_INVALID_ARGUMENT);
  requests[1].source = source;
  requests[1].parent_id = "ffffffffffff";
  CHECK_FAILS(ff_backup_set(repository, requests, 2, NULL, &set, backups), FF_NOT_FOUND);
  /* Nothing of a refused set was committed. */
  CHECK_OK(ff_repository_backup_sets(repository, NULL, 0, &count));
  CHECK(count == 0);
  requests[1].parent_id = NULL;
  CHECK_OK(ff_backup_set(repository, requests, 2, NULL, NULL, NULL));
  CHECK_OK(ff_repository_backup_sets(repository, &set, 1, &count));
  CHECK(count == 1 && set.volume_count == 2);
  CHECK(strcmp(set.set_id, "00000000-0000-0000-0000-000000000000") == 0);
  CHECK_FAILS(ff_repository_backup_sets(repository, NULL, 1, &count), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_repository_backup_sets(repository, &set, 1, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_repository_backup_sets(NULL, &set, 1, &count), FF_INVALID_ARGUMENT);

  CHECK_FAILS(ff_forget(NULL, "abcd"), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_forget(repository, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_forget(repository, "ffffffffffff"), FF_NOT_FOUND);
  CHECK_FAILS(ff_prune(NULL, NULL, NULL), FF_INVALID_ARGUMENT);
  ff_prune_options_init(&options);
  options.version = 2;
  CHECK_FAILS(ff_prune(repository, &options, NULL), FF_INVALID_ARGUMENT);
  ff_prune_options_init(&options);
  options.keep_last = -2;
  CHECK_FAILS(ff_prune(repository, &options, NULL), FF_INVALID_ARGUMENT);
  options.keep_last = (int64_t)1 << 40;
  CHECK_FAILS(ff_prune(repository, &options, NULL), FF_INVALID_ARGUMENT);
  ff_prune_options_init(&options);
  options.repack_unused_percent_min = 101;
  CHECK_FAILS(ff_prune(repository, &options, NULL), FF_INVALID_ARGUMENT);
  /* Nothing was removed by the refused calls. */
  CHECK_OK(ff_repository_backups(repository, NULL, 0, &count));
  CHECK(count == 2);
  ff_prune_options_init(NULL);
  ff_backup_request_init(NULL);

  ff_repository_destroy(repository);
  ff_volume_destroy(source);
}

static void all_tests(void) {
  test_backup_set_forget_prune();
  test_backup_set_errors();
}

int main(void) {
  return run_tests("c backup set", all_tests);
}

/* The C API's backup tests, in C11 against libfreezeframe.so: a snapshot backed up in full,
 * then incrementally from the provider's changed extents, restored byte for byte into fresh
 * volumes and verified; a damaged pack found by verify and refused by restore; and the error
 * paths of repositories, backups and restores. Exits 0 when every check passed, 1 otherwise,
 * naming each failed check. */
#include <dirent.h>

#include "c_test.h"

#define kVolume (2 * kMiB)

static unsigned char whole[kVolume];
static unsigned char restored[kVolume];

/* Reads the whole of `volume` into `out`. */
static void read_all(ff_volume* volume, unsigned char* out) {
  CHECK_OK(ff_volume_read(volume, 0, out, kVolume));
}

/* Flips one byte in the middle of the first pack file under `dir`/packs (its subfolders
 * included); returns 1 when one was found. */
static int damage_a_pack(const char* dir) {
  char path[1024];
  DIR* packs;
  struct dirent* entry;
  snprintf(path, sizeof path, "%s/packs", dir);
  packs = opendir(path);
  if (packs == NULL)
    return 0;
  while ((entry = readdir(packs)) != NULL) {
    char child[1400];
    FILE* file;
    long size;
    int byte;
    if (entry->d_name[0] == '.')
      continue;
    snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
    file = fopen(child, "r+b");
    if (file == NULL) {
      /* A subfolder: look inside it. */
      DIR* sub = opendir(child);
      struct dirent* inner;
      if (sub == NULL)
        continue;
      while ((inner = readdir(sub)) != NULL && inner->d_name[0] == '.') {
      }
      if (inner != NULL) {
        char leaf[1700];
        snprintf(leaf, sizeof leaf, "%s/%s", child, inner->d_name);
        file = fopen(leaf, "r+b");
      }
      closedir(sub);
      if (file == NULL)
        continue;
    }
    fseek(file, 0, SEEK_END);
    size = ftell(file);
    fseek(file, size / 2, SEEK_SET);
    byte = fgetc(file);
    fseek(file, size / 2, SEEK_SET);
    fputc(byte ^ 0xff, file);
    fclose(file);
    closedir(packs);
    return 1;
  }
  closedir(packs);
  return 0;
}

static void test_backup_restore_verify(void) {
  char dir[600];
  ff_repository* repository = NULL;
  ff_volume *origin = memory_volume("data", kVolume), *diff = memory_volume("diff", 32 * kMiB);
  ff_volume *live = NULL, *snapshot = NULL, *target = NULL;
  ff_provider* provider = NULL;
  ff_provider_options options = unbounded_options();
  ff_snapshot_info first, second;
  ff_backup_info full, incremental, listed[4];
  ff_changed_extents* changed = NULL;
  ff_verify_report report;
  size_t count = 0;

  snprintf(dir, sizeof dir, "%s/repository", scratch_dir);
  CHECK_OK(ff_repository_init(dir, 16 * kKiB, &repository));
  CHECK_OK(ff_provider_create(FF_PROVIDER_COW, origin, diff, &options, &provider));
  CHECK_OK(ff_provider_live_volume(provider, &live));
  CHECK_OK(ff_volume_write(live, 0, pattern_a, kChunk));
  CHECK_OK(ff_volume_write(live, 40 * kChunk, pattern_b, kChunk));

  /* A full backup of the first snapshot. */
  CHECK_OK(ff_provider_create_snapshot(provider, &first));
  CHECK_OK(ff_provider_open_snapshot(provider, first.id, &snapshot));
  CHECK_OK(
      ff_backup_volume(repository, snapshot, "data", first.id, first.change_id, NULL, NULL, &full));
  CHECK(strlen(full.id) == 32);
  CHECK(full.parent_id[0] == '\0');
  CHECK(strcmp(full.volume_name, "data") == 0);
  CHECK(strcmp(full.snapshot_id, first.id) == 0);
  CHECK(strcmp(full.change_id, first.change_id) == 0);
  CHECK(full.volume_bytes == kVolume && full.chunk_bytes == 16 * kKiB);
  CHECK(full.data_chunks == 2);
  CHECK(full.zero_chunks == kVolume / (16 * kKiB) - 2);
  read_all(snapshot, whole);
  ff_volume_destroy(snapshot);
  snapshot = NULL;

  /* Change two chunks, snapshot again, and back up only what changed since the first. */
  CHECK_OK(ff_volume_write(live, 0, pattern_b, kChunk));
  CHECK_OK(ff_volume_write(live, 100 * kChunk, pattern_a, kChunk));
  CHECK_OK(ff_provider_create_snapshot(provider, &second));
  CHECK_OK(ff_provider_changed_extents(provider, first.change_id, second.change_id, &changed));
  CHECK(changed != NULL && changed->reset == 0 && changed->count == 2);
  CHECK_OK(ff_provider_open_snapshot(provider, second.id, &snapshot));
  CHECK_OK(ff_backup_volume(repository, snapshot, "data", second.id, second.change_id, full.id,
                            changed, &incremental));
  CHECK(strcmp(incremental.parent_id, full.id) == 0);
  CHECK(incremental.data_chunks == 3);

  /* Both restore byte for byte, each into a fresh volume. */
  target = memory_volume("restored", kVolume);
  CHECK_OK(ff_restore(repository, full.id, target));
  read_all(target, restored);
  CHECK(memcmp(whole, restored, kVolume) == 0);
  read_all(snapshot, whole);
  CHECK_OK(ff_restore(repository, incremental.id, target));
  read_all(target, restored);
  CHECK(memcmp(whole, restored, kVolume) == 0);

  CHECK_OK(ff_repository_backups(repository, NULL, 0, &count));
  CHECK(count == 2);
  CHECK_OK(ff_repository_backups(repository, listed, 4, &count));
  CHECK(strcmp(listed[0].id, full.id) == 0 && strcmp(listed[1].id, incremental.id) == 0);
  CHECK_FAILS(ff_repository_backups(repository, NULL, 1, &count), FF_INVALID_ARGUMENT);

  CHECK_OK(ff_verify(repository, incremental.id, &report));
  CHECK(report.ok == 1 && report.bad_chunks == 0 && report.bad_packs == 0);
  /* Three data chunks, two distinct contents (chunk 0 now holds what chunk 40 does). */
  CHECK(report.chunks_checked == 2);
  CHECK(report.first_problem[0] == '\0');

  /* A damaged pack: verify reports it, restore refuses to write unverified bytes. */
  CHECK(damage_a_pack(dir));
  CHECK_OK(ff_verify(repository, incremental.id, &report));
  CHECK(report.ok == 0);
  CHECK(report.bad_chunks + report.bad_packs > 0);
  CHECK(report.first_problem[0] != '\0');
  CHECK(ff_restore(repository, incremental.id, target) != FF_OK);
  CHECK(ff_error_message()[0] != '\0');

  ff_changed_extents_free(changed);
  ff_volume_destroy(target);
  ff_volume_destroy(snapshot);
  ff_volume_destroy(live);
  ff_provider_destroy(provider);
  ff_volume_destroy(diff);
  ff_volume_destroy(origin);
  ff_repository_destroy(repository);
}

static void test_backup_errors(void) {
  char dir[600], missing[600];
  ff_repository *repository = NULL, *other = NULL;
  ff_volume* source = memory_volume("source", kVolume);
  ff_volume* small = memory_volume("small", kMiB);
  ff_backup_info info;
  ff_verify_report report;
  ff_changed_extents changed;
  size_t count = 0;

  snprintf(dir, sizeof dir, "%s/errors", scratch_dir);
  snprintf(missing, sizeof missing, "%s/missing", scratch_dir);
  CHECK_FAILS(ff_repository_open(missing, 0, &repository), FF_NOT_FOUND);
  CHECK(repository == NULL);
  CHECK_FAILS(ff_repository_init(dir, 3000, &repository), FF_INVALID_ARGUMENT);
  CHECK_OK(ff_repository_init(dir, 0, &repository));
  CHECK_FAILS(ff_repository_init(dir, 0, &other), FF_ALREADY_EXISTS);
  /* The repository is held exclusively: a second opener is told it is busy. */
  CHECK_FAILS(ff_repository_open(dir, 0, &other), FF_BUSY);
  CHECK_FAILS(ff_repository_init(NULL, 0, &other), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_repository_open(dir, 0, NULL), FF_INVALID_ARGUMENT);

  CHECK_OK(ff_volume_write(source, 0, pattern_a, kChunk));
  CHECK_OK(ff_backup_volume(repository, source, "source", NULL, NULL, NULL, NULL, &info));
  CHECK_OK(ff_backup_volume(repository, source, "again", NULL, NULL, info.id, NULL, NULL));
  CHECK_FAILS(ff_backup_volume(repository, source, "", NULL, NULL, NULL, NULL, NULL),
              FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_backup_volume(repository, NULL, "x", NULL, NULL, NULL, NULL, NULL),
              FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_backup_volume(NULL, source, "x", NULL, NULL, NULL, NULL, NULL),
              FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_backup_volume(repository, source, "x", "not-a-uuid", NULL, NULL, NULL, NULL),
              FF_INVALID_ARGUMENT);
  memset(&changed, 0, sizeof changed);
  CHECK_FAILS(ff_backup_volume(repository, source, "x", NULL, NULL, NULL, &changed, NULL),
              FF_INVALID_ARGUMENT);
  changed.reset = 1;
  changed.reset_reason = "tracking restarted";
  CHECK_FAILS(ff_backup_volume(repository, source, "x", NULL, NULL, info.id, &changed, NULL),
              FF_INVALID_ARGUMENT);
  CHECK(strstr(ff_error_message(), "tracking restarted") != NULL);
  CHECK_FAILS(ff_backup_volume(repository, source, "x", NULL, NULL, "ffffffffffff", NULL, NULL),
              FF_NOT_FOUND);
  /* A parent of another size. */
  CHECK(ff_backup_volume(repository, small, "small", NULL, NULL, info.id, NULL, NULL) != FF_OK);

  /* Restore: an unknown backup, a target too small. */
  CHECK_FAILS(ff_restore(repository, "ffffffffffff", source), FF_NOT_FOUND);
  CHECK_FAILS(ff_restore(repository, info.id, small), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_restore(repository, NULL, source), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_verify(repository, "ffffffffffff", &report), FF_NOT_FOUND);
  CHECK_FAILS(ff_verify(repository, info.id, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_repository_backups(repository, NULL, 0, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_repository_backups(NULL, NULL, 0, &count), FF_INVALID_ARGUMENT);

  /* Released, the repository opens again, shared, with its backups. */
  ff_repository_destroy(repository);
  CHECK_OK(ff_repository_open(dir, 0, &repository));
  CHECK_OK(ff_repository_open(dir, 0, &other));
  CHECK_OK(ff_repository_backups(other, NULL, 0, &count));
  CHECK(count == 2);
  ff_repository_destroy(other);
  ff_repository_destroy(repository);
  ff_repository_destroy(NULL);
  ff_volume_destroy(small);
  ff_volume_destroy(source);
}

static void all_tests(void) {
  test_backup_restore_verify();
  test_backup_errors();
}

int main(void) {
  return run_tests("c backup", all_tests);
}

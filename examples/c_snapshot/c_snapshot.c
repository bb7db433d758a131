/* Takes a copy-on-write snapshot of an image file and reads it back, through the C API
 * (bindings/c/include/freezeframe.h, libfreezeframe.so).
 *
 *   c_snapshot IMAGE DIFF_IMAGE
 *
 * IMAGE is an existing image file (its size a multiple of 512 bytes). DIFF_IMAGE is created
 * (or replaced) for the diff area, as large as IMAGE plus 16 MiB. The program snapshots
 * IMAGE, overwrites its first 4 KiB through the provider, and checks that the snapshot still
 * reads the old bytes while the image reads the new ones. Exits 0 on success, 1 with the
 * library's message otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "freezeframe.h"

#define BLOCK 4096

static int fail(const char* what) {
  fprintf(stderr, "c_snapshot: %s: %s (%s)\n", what, ff_error_message(),
          ff_error_name(ff_error_last()));
  return 1;
}

int main(int argc, char** argv) {
  ff_volume *origin = NULL, *diff = NULL, *live = NULL, *snapshot = NULL;
  ff_provider* provider = NULL;
  ff_provider_options options;
  ff_volume_info info;
  ff_snapshot_info taken;
  static unsigned char before[BLOCK], after[BLOCK], read_back[BLOCK];
  int status = 1;

  if (argc != 3) {
    fprintf(stderr, "usage: c_snapshot IMAGE DIFF_IMAGE\n");
    return 2;
  }
  printf("freezeframe %s\n", ff_version(NULL, NULL, NULL));
  if (ff_file_volume_open(argv[1], 0, &origin) != FF_OK) {
    status = fail("open the image");
    goto done;
  }
  if (ff_volume_info_get(origin, &info) != FF_OK) {
    status = fail("describe the image");
    goto done;
  }
  if (ff_file_volume_create(argv[2], info.size_bytes + 16 * 1024 * 1024, 512, 1, &diff) != FF_OK) {
    status = fail("create the diff area's image");
    goto done;
  }
  ff_provider_options_init(&options);
  options.chunk_bytes = BLOCK;
  options.limit.kind = FF_LIMIT_UNBOUNDED;
  if (ff_provider_create(FF_PROVIDER_COW, origin, diff, &options, &provider) != FF_OK ||
      ff_provider_live_volume(provider, &live) != FF_OK) {
    status = fail("create the copy-on-write provider");
    goto done;
  }
  if (ff_volume_read(live, 0, before, BLOCK) != FF_OK ||
      ff_provider_create_snapshot(provider, &taken) != FF_OK) {
    status = fail("take the snapshot");
    goto done;
  }
  printf("snapshot %s of %s (%llu bytes)\n", taken.id, argv[1],
         (unsigned long long)info.size_bytes);

  /* Overwrite the first block: the provider copies the old contents first. */
  memset(after, 0xa5, BLOCK);
  if (ff_volume_write(live, 0, after, BLOCK) != FF_OK || ff_volume_flush(live) != FF_OK) {
    status = fail("overwrite the image");
    goto done;
  }
  if (ff_provider_open_snapshot(provider, taken.id, &snapshot) != FF_OK ||
      ff_volume_read(snapshot, 0, read_back, BLOCK) != FF_OK) {
    status = fail("read the snapshot");
    goto done;
  }
  if (memcmp(read_back, before, BLOCK) != 0) {
    fprintf(stderr, "c_snapshot: the snapshot does not read what the image held\n");
    goto done;
  }
  if (ff_volume_read(live, 0, read_back, BLOCK) != FF_OK || memcmp(read_back, after, BLOCK) != 0) {
    fprintf(stderr, "c_snapshot: the image does not read what was written\n");
    goto done;
  }
  printf("the snapshot reads the old first block, the image the new one\n");
  status = 0;

done:
  /* Any order: each handle keeps what it needs alive. */
  ff_volume_destroy(snapshot);
  ff_volume_destroy(live);
  ff_provider_destroy(provider);
  ff_volume_destroy(diff);
  ff_volume_destroy(origin);
  return status;
}

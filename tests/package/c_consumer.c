/* An outside C program against the installed C API (libfreezeframe.so): a copy-on-write
 * snapshot of a memory volume keeps the old bytes after the volume is overwritten. */
#include <stdio.h>
#include <string.h>

#include <freezeframe.h>

int main(void) {
  ff_volume *origin = NULL, *diff = NULL, *live = NULL, *snapshot = NULL;
  ff_provider *provider = NULL;
  ff_snapshot_info info;
  unsigned char block[4096], read_back[4096];
  int ok = 0;
  memset(block, 7, sizeof block);
  if (ff_memory_volume_create("origin", 1 << 20, 512, &origin) == FF_OK &&
      ff_memory_volume_create("diff", 16 << 20, 512, &diff) == FF_OK &&
      ff_provider_create(FF_PROVIDER_COW, origin, diff, NULL, &provider) == FF_OK &&
      ff_provider_live_volume(provider, &live) == FF_OK &&
      ff_volume_write(live, 0, block, sizeof block) == FF_OK &&
      ff_provider_create_snapshot(provider, &info) == FF_OK &&
      ff_volume_write(live, 0, memset(read_back, 9, sizeof read_back), sizeof block) == FF_OK &&
      ff_provider_open_snapshot(provider, info.id, &snapshot) == FF_OK &&
      ff_volume_read(snapshot, 0, read_back, sizeof read_back) == FF_OK) {
    ok = memcmp(block, read_back, sizeof block) == 0;
  }
  if (!ok)
    fprintf(stderr, "c consumer: %s: %s\n", ff_error_name(ff_error_last()), ff_error_message());
  ff_volume_destroy(snapshot);
  ff_volume_destroy(live);
  ff_provider_destroy(provider);
  ff_volume_destroy(diff);
  ff_volume_destroy(origin);
  printf("c consumer (libfreezeframe %s, ABI %d): %s\n", ff_version(NULL, NULL, NULL),
         ff_abi_version(), ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

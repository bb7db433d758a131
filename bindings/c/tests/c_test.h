/* What the C API's C tests share: the CHECK macros, test patterns, and helpers that make
 * volumes and provider options. Each test program includes it once. */
#ifndef FF_C_TEST_H
#define FF_C_TEST_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <direct.h>
#include <io.h>
/* A new directory named by `pattern`, whose last six characters are XXXXXX; NULL if it cannot
 * be made. */
static inline char* make_scratch_directory(char* pattern) {
  if (_mktemp_s(pattern, strlen(pattern) + 1) != 0 || _mkdir(pattern) != 0)
    return NULL;
  return pattern;
}
#define remove_scratch_directory _rmdir
#define FF_TEST_TMP_DEFAULT (getenv("TEMP") != NULL ? getenv("TEMP") : ".")
#else
#include <unistd.h>
#define make_scratch_directory mkdtemp
#define remove_scratch_directory rmdir
#define FF_TEST_TMP_DEFAULT "/tmp"
#endif

#include "freezeframe.h"

static int failures = 0;
static int checks = 0;

#define CHECK(condition)                                                                   \
  do {                                                                                     \
    ++checks;                                                                              \
    if (!(condition)) {                                                                    \
      ++failures;                                                                          \
      fprintf(stderr, "%s:%d: CHECK(%s) failed (last error %s: %s)\n", __FILE__, __LINE__, \
              #condition, ff_error_name(ff_error_last()), ff_error_message());             \
    }                                                                                      \
  } while (0)

#define CHECK_OK(call) CHECK((call) == FF_OK)

/* The call fails with `code` and leaves a message naming what went wrong. */
#define CHECK_FAILS(call, code)           \
  do {                                    \
    int rc_ = (call);                     \
    CHECK(rc_ == (code));                 \
    CHECK(ff_error_last() == (code));     \
    CHECK(ff_error_message()[0] != '\0'); \
  } while (0)

/* Sizes in bytes, as size_t, so that a product of them is computed in 64 bits. */
#define kKiB ((size_t)1024)
#define kMiB ((size_t)1024 * 1024)
#define kChunk ((size_t)16 * 1024)

static unsigned char pattern_a[kChunk];
static unsigned char pattern_b[kChunk];
static unsigned char buffer[kChunk];
static char scratch_dir[512];

static inline void fill_patterns(void) {
  size_t i;
  for (i = 0; i < kChunk; ++i) {
    pattern_a[i] = (unsigned char)(i * 7 + 1);
    pattern_b[i] = (unsigned char)(i * 13 + 5);
  }
}

static inline int is_zero(const unsigned char* bytes, size_t length) {
  size_t i;
  for (i = 0; i < length; ++i) {
    if (bytes[i] != 0)
      return 0;
  }
  return 1;
}

static inline ff_volume* memory_volume(const char* name, uint64_t size) {
  ff_volume* volume = NULL;
  CHECK_OK(ff_memory_volume_create(name, size, 512, &volume));
  return volume;
}

static inline ff_provider_options unbounded_options(void) {
  ff_provider_options options;
  ff_provider_options_init(&options);
  options.chunk_bytes = kChunk;
  options.limit.kind = FF_LIMIT_UNBOUNDED;
  options.write_back_bytes = 0;
  return options;
}

/* Runs the tests of one program in a scratch directory; returns main's exit status. */
static inline int run_tests(const char* name, void (*tests)(void)) {
  const char* given = getenv("FREEZEFRAME_TEST_TMPDIR");
  const char* base = given != NULL ? given : FF_TEST_TMP_DEFAULT;
  snprintf(scratch_dir, sizeof scratch_dir, "%s/ff-c-test-XXXXXX", base);
  if (make_scratch_directory(scratch_dir) == NULL) {
    fprintf(stderr, "cannot make a scratch directory under %s\n", base);
    return 1;
  }
  fill_patterns();
  (void)buffer; /* not every program uses every shared buffer */
  tests();
  remove_scratch_directory(scratch_dir);
  printf("%s: %d checks, %d failed\n", name, checks, failures);
  return failures == 0 ? 0 : 1;
}

#endif /* FF_C_TEST_H */

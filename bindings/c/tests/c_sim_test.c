/* The C API's simulated-disk fault rules, in C11 against libfreezeframe.so: the n-th request,
 * every request from the n-th on up to a limit, requests touching a range, seeded
 * probabilistic failures (the same seed fails the same requests), removing a rule, the
 * counters, latency charged to a simulated clock, version-1 options, and every bad rule and
 * handle. Exits 0 when every check passed, 1 otherwise, naming each failed check. */
#include "c_test.h"

#define kBlock (4 * kKiB)

/* A simulated disk over a fresh 1 MiB memory volume, seeded with `seed`. */
static ff_volume* sim_disk(uint64_t seed, ff_volume** base) {
  ff_sim_options options;
  ff_volume* sim = NULL;
  ff_sim_options_init(&options);
  options.seed = seed;
  *base = memory_volume("base", kMiB);
  CHECK_OK(ff_sim_volume_create(*base, &options, &sim));
  return sim;
}

static void test_sim_nth_and_from_nth(void) {
  ff_volume* base = NULL;
  ff_volume* sim = sim_disk(1, &base);
  ff_sim_fault_rule rule;
  ff_sim_stats stats;
  uint64_t id = 0, other = 0;

  ff_sim_fault_rule_init(&rule);
  CHECK(rule.version == FF_SIM_FAULT_RULE_VERSION && rule.trigger == FF_FAULT_NTH);
  CHECK(rule.n == 1 && rule.error_code == FF_IO_ERROR && rule.failures_max == 0);
  CHECK(rule.operations == (FF_IO_READ | FF_IO_WRITE | FF_IO_FLUSH | FF_IO_DISCARD));

  /* The second write from now fails, once. */
  rule.operations = FF_IO_WRITE;
  rule.n = 2;
  CHECK_OK(ff_sim_volume_add_fault(sim, &rule, &id));
  CHECK(id > 0);
  CHECK_OK(ff_volume_write(sim, 0, pattern_a, kBlock));
  CHECK_FAILS(ff_volume_write(sim, 0, pattern_b, kBlock), FF_IO_ERROR);
  CHECK_OK(ff_volume_read(sim, 0, buffer, kBlock));
  CHECK(memcmp(buffer, pattern_a, kBlock) == 0); /* the failed write changed nothing */
  CHECK_OK(ff_volume_write(sim, kBlock, pattern_b, kBlock));
  CHECK_OK(ff_sim_volume_remove_fault(sim, id));

  /* Every flush from the first on fails with "no space", twice, then flushes go through. */
  ff_sim_fault_rule_init(&rule);
  rule.trigger = FF_FAULT_FROM_NTH;
  rule.operations = FF_IO_FLUSH;
  rule.failures_max = 2;
  rule.error_code = FF_NO_SPACE;
  CHECK_OK(ff_sim_volume_add_fault(sim, &rule, &other));
  CHECK(other != id);
  CHECK_FAILS(ff_volume_flush(sim), FF_NO_SPACE);
  CHECK_FAILS(ff_volume_flush(sim), FF_NO_SPACE);
  CHECK_OK(ff_volume_write(sim, 0, pattern_b, kBlock)); /* writes are not matched */
  CHECK_OK(ff_volume_flush(sim));

  CHECK_OK(ff_sim_volume_stats(sim, &stats));
  CHECK(stats.injected_failures == 3);
  CHECK(stats.writes == 3 && stats.bytes_written == 3 * kBlock);
  CHECK(stats.flushes == 1 && stats.reads == 1 && stats.bytes_read == kBlock);
  CHECK(stats.crashes == 0 && stats.latency_charged_ns == 0);
  ff_volume_destroy(sim);
  ff_volume_destroy(base);
}

static void test_sim_range(void) {
  ff_volume* base = NULL;
  ff_volume* sim = sim_disk(2, &base);
  ff_sim_fault_rule rule;
  uint64_t id = 0;

  /* Reads and writes that touch [8 KiB, 12 KiB) fail; others and flushes do not. */
  ff_sim_fault_rule_init(&rule);
  rule.trigger = FF_FAULT_RANGE;
  rule.operations = FF_IO_READ | FF_IO_WRITE | FF_IO_FLUSH;
  rule.offset = 2 * kBlock;
  rule.length = kBlock;
  CHECK_OK(ff_sim_volume_add_fault(sim, &rule, &id));
  CHECK_OK(ff_volume_write(sim, 0, pattern_a, 2 * kBlock));
  CHECK_FAILS(ff_volume_write(sim, kBlock, pattern_a, 2 * kBlock), FF_IO_ERROR);
  CHECK_FAILS(ff_volume_read(sim, 2 * kBlock + 512, buffer, 512), FF_IO_ERROR);
  CHECK_OK(ff_volume_write(sim, 3 * kBlock, pattern_b, kBlock));
  CHECK_OK(ff_volume_flush(sim));
  CHECK_OK(ff_volume_discard(sim, 2 * kBlock, kBlock)); /* discards are not matched */
  CHECK_OK(ff_sim_volume_remove_fault(sim, id));
  CHECK_FAILS(ff_sim_volume_remove_fault(sim, id), FF_NOT_FOUND);
  CHECK_OK(ff_volume_read(sim, 2 * kBlock, buffer, kBlock));
  CHECK(is_zero(buffer, kBlock));
  ff_volume_destroy(sim);
  ff_volume_destroy(base);
}

/* Which of 64 reads a rule with probability 0.5 fails, as a bit mask. */
static uint64_t failed_reads(uint64_t seed, uint64_t* failures) {
  ff_volume* base = NULL;
  ff_volume* sim = sim_disk(seed, &base);
  ff_sim_fault_rule rule;
  uint64_t mask = 0;
  int i;
  ff_sim_fault_rule_init(&rule);
  rule.trigger = FF_FAULT_PROBABILITY;
  rule.operations = FF_IO_READ;
  rule.probability = 0.5;
  CHECK_OK(ff_sim_volume_add_fault(sim, &rule, NULL));
  *failures = 0;
  for (i = 0; i < 64; ++i) {
    const int rc = ff_volume_read(sim, 0, buffer, 512);
    CHECK(rc == FF_OK || rc == FF_IO_ERROR);
    if (rc != FF_OK) {
      mask |= (uint64_t)1 << i;
      ++*failures;
    }
  }
  ff_volume_destroy(sim);
  ff_volume_destroy(base);
  return mask;
}

static void test_sim_probability(void) {
  ff_volume* base = NULL;
  ff_volume* sim = sim_disk(3, &base);
  ff_sim_fault_rule rule;
  uint64_t first = 0, again = 0, other = 0;
  int i;

  /* Probability 1 fails every matching request, 0 none. */
  ff_sim_fault_rule_init(&rule);
  rule.trigger = FF_FAULT_PROBABILITY;
  rule.operations = FF_IO_DISCARD;
  rule.probability = 1.0;
  CHECK_OK(ff_sim_volume_add_fault(sim, &rule, NULL));
  for (i = 0; i < 4; ++i)
    CHECK_FAILS(ff_volume_discard(sim, 0, kBlock), FF_IO_ERROR);
  CHECK_OK(ff_sim_volume_clear_faults(sim));
  rule.probability = 0.0;
  CHECK_OK(ff_sim_volume_add_fault(sim, &rule, NULL));
  for (i = 0; i < 4; ++i)
    CHECK_OK(ff_volume_discard(sim, 0, kBlock));
  ff_volume_destroy(sim);
  ff_volume_destroy(base);

  /* The same seed fails the same reads; some fail and some do not. */
  CHECK(failed_reads(42, &first) == failed_reads(42, &again));
  CHECK(first == again);
  CHECK(first > 0 && first < 64);
  (void)failed_reads(43, &other);
  CHECK(other > 0 && other < 64);
}

static void test_sim_latency(void) {
  ff_clock* clock = NULL;
  ff_clock* system = NULL;
  ff_volume* base = memory_volume("base", 4 * kMiB);
  ff_volume *sim = NULL, *other = NULL;
  ff_sim_options options;
  ff_sim_stats stats;
  static unsigned char mib[kMiB];
  const int64_t ms = 1000000;
  int64_t start;

  CHECK_OK(ff_sim_clock_create(0, &clock));
  ff_sim_options_init(&options);
  CHECK(options.version == FF_SIM_OPTIONS_VERSION && options.clock == NULL);
  CHECK(options.latency_per_operation_ns == 0 && options.latency_per_mib_ns == 0);
  options.clock = clock;
  options.latency_per_operation_ns = 1 * ms;
  options.latency_per_mib_ns = 10 * ms;
  CHECK_OK(ff_sim_volume_create(base, &options, &sim));
  /* The volume keeps its clock alive. */
  start = ff_clock_now_ns(clock);
  memset(mib, 0x5a, sizeof mib);
  CHECK_OK(ff_volume_write(sim, 0, mib, kMiB));
  CHECK(ff_clock_now_ns(clock) - start == 11 * ms);
  CHECK_OK(ff_volume_flush(sim));
  CHECK(ff_clock_now_ns(clock) - start == 12 * ms);
  /* A request that a rule then fails still costs its time. */
  CHECK_OK(ff_sim_volume_fail_nth(sim, FF_IO_READ, 1, FF_IO_ERROR, NULL));
  CHECK_FAILS(ff_volume_read(sim, 0, mib, kMiB), FF_IO_ERROR);
  CHECK(ff_clock_now_ns(clock) - start == 23 * ms);
  CHECK_OK(ff_sim_volume_stats(sim, &stats));
  CHECK(stats.latency_charged_ns == 23 * ms);
  CHECK(stats.injected_failures == 1);

  /* Latency needs a simulated clock, and no latency is negative. */
  options.clock = NULL;
  CHECK_FAILS(ff_sim_volume_create(base, &options, &other), FF_INVALID_ARGUMENT);
  CHECK_OK(ff_system_clock_create(&system));
  options.clock = system;
  CHECK_FAILS(ff_sim_volume_create(base, &options, &other), FF_INVALID_ARGUMENT);
  options.clock = clock;
  options.latency_per_mib_ns = -1;
  CHECK_FAILS(ff_sim_volume_create(base, &options, &other), FF_INVALID_ARGUMENT);
  CHECK(other == NULL);

  /* A version-1 struct ends before the clock: what follows is not read. */
  options.version = 1;
  options.clock = system;
  options.latency_per_operation_ns = -5;
  CHECK_OK(ff_sim_volume_create(base, &options, &other));
  CHECK_OK(ff_sim_volume_stats(other, &stats));
  CHECK(stats.latency_charged_ns == 0);
  options.version = 3;
  ff_volume_destroy(other);
  other = NULL;
  CHECK_FAILS(ff_sim_volume_create(base, &options, &other), FF_INVALID_ARGUMENT);

  ff_clock_destroy(system);
  ff_clock_destroy(clock);
  ff_volume_destroy(sim);
  ff_volume_destroy(base);
}

static void test_sim_errors(void) {
  ff_volume* base = NULL;
  ff_volume* sim = sim_disk(4, &base);
  ff_sim_fault_rule rule;
  ff_sim_stats stats;

  ff_sim_fault_rule_init(&rule);
  CHECK_FAILS(ff_sim_volume_add_fault(NULL, &rule, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_sim_volume_add_fault(base, &rule, NULL), FF_INVALID_ARGUMENT);
  CHECK(strstr(ff_error_message(), "not a simulated volume") != NULL);
  CHECK_FAILS(ff_sim_volume_add_fault(sim, NULL, NULL), FF_INVALID_ARGUMENT);
  rule.version = 9;
  CHECK_FAILS(ff_sim_volume_add_fault(sim, &rule, NULL), FF_INVALID_ARGUMENT);
  ff_sim_fault_rule_init(&rule);
  rule.operations = 0;
  CHECK_FAILS(ff_sim_volume_add_fault(sim, &rule, NULL), FF_INVALID_ARGUMENT);
  rule.operations = 0x10;
  CHECK_FAILS(ff_sim_volume_add_fault(sim, &rule, NULL), FF_INVALID_ARGUMENT);
  ff_sim_fault_rule_init(&rule);
  rule.error_code = FF_CORRUPT;
  CHECK_FAILS(ff_sim_volume_add_fault(sim, &rule, NULL), FF_INVALID_ARGUMENT);
  ff_sim_fault_rule_init(&rule);
  rule.n = 0;
  CHECK_FAILS(ff_sim_volume_add_fault(sim, &rule, NULL), FF_INVALID_ARGUMENT);
  rule.trigger = FF_FAULT_FROM_NTH;
  CHECK_FAILS(ff_sim_volume_add_fault(sim, &rule, NULL), FF_INVALID_ARGUMENT);
  ff_sim_fault_rule_init(&rule);
  rule.trigger = FF_FAULT_RANGE;
  CHECK_FAILS(ff_sim_volume_add_fault(sim, &rule, NULL), FF_INVALID_ARGUMENT);
  rule.offset = UINT64_MAX - 10;
  rule.length = 512;
  CHECK_FAILS(ff_sim_volume_add_fault(sim, &rule, NULL), FF_INVALID_ARGUMENT);
  ff_sim_fault_rule_init(&rule);
  rule.trigger = FF_FAULT_PROBABILITY;
  rule.probability = 1.5;
  CHECK_FAILS(ff_sim_volume_add_fault(sim, &rule, NULL), FF_INVALID_ARGUMENT);
  rule.probability = -0.1;
  CHECK_FAILS(ff_sim_volume_add_fault(sim, &rule, NULL), FF_INVALID_ARGUMENT);
  ff_sim_fault_rule_init(&rule);
  rule.trigger = 9;
  CHECK_FAILS(ff_sim_volume_add_fault(sim, &rule, NULL), FF_INVALID_ARGUMENT);
  ff_sim_fault_rule_init(NULL);

  CHECK_FAILS(ff_sim_volume_remove_fault(NULL, 1), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_sim_volume_remove_fault(base, 1), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_sim_volume_remove_fault(sim, 77), FF_NOT_FOUND);
  CHECK_FAILS(ff_sim_volume_stats(sim, NULL), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_sim_volume_stats(base, &stats), FF_INVALID_ARGUMENT);
  CHECK_FAILS(ff_sim_volume_stats(NULL, &stats), FF_INVALID_ARGUMENT);

  /* A closed handle. */
  CHECK_OK(ff_volume_close(sim));
  ff_sim_fault_rule_init(&rule);
  CHECK_FAILS(ff_sim_volume_add_fault(sim, &rule, NULL), FF_BAD_STATE);
  CHECK_FAILS(ff_sim_volume_remove_fault(sim, 1), FF_BAD_STATE);
  CHECK_FAILS(ff_sim_volume_stats(sim, &stats), FF_BAD_STATE);
  ff_volume_destroy(sim);
  ff_volume_destroy(base);
}

static void all_tests(void) {
  test_sim_nth_and_from_nth();
  test_sim_range();
  test_sim_probability();
  test_sim_latency();
  test_sim_errors();
}

int main(void) {
  return run_tests("c sim", all_tests);
}

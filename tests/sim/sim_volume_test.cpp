// The simulated disk: its volatile cache, its crash model and its injected faults.
#include "freezeframe/sim/sim_volume.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstring>
#include <memory>
#include <vector>

#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/sim_clock.h"
#include "seed.h"
#include "volume_image.h"

namespace freezeframe::sim {
namespace {

constexpr std::uint64_t kVolumeBytes = 1 << 20;
constexpr std::uint64_t kUnit = 512;

struct Fixture {
  std::unique_ptr<MemoryVolume> base;
  std::unique_ptr<SimVolume> sim;
};

Fixture make(std::uint64_t seed, std::uint32_t sector_bytes = 512, SimVolumeOptions options = {}) {
  Fixture f;
  auto base = MemoryVolume::create(
      {.name = "disk", .size_bytes = kVolumeBytes, .sector_bytes = sector_bytes});
  EXPECT_TRUE(base.ok()) << base.status().to_string();
  f.base = std::move(base).value();
  options.seed = seed;
  auto sim = SimVolume::create(*f.base, options);
  EXPECT_TRUE(sim.ok()) << sim.status().to_string();
  f.sim = std::move(sim).value();
  return f;
}

using testing::random_bytes;
using testing::read_all;

std::uint64_t image_hash(Volume& volume) {
  auto image = read_all(volume);
  return XXH3_64bits(image.data(), image.size());
}

// Writes a random image and flushes it, then overwrites random extents without flushing.
// Returns {flushed image, image as last written}.
struct History {
  std::vector<std::byte> flushed;
  std::vector<std::byte> latest;
  std::vector<bool> touched;  // per unit: written since the flush
  std::vector<std::pair<std::uint64_t, std::uint64_t>> extents;
};

History write_history(SimVolume& volume, Random& random, int writes) {
  History h;
  h.flushed = random_bytes(random, kVolumeBytes);
  EXPECT_TRUE(volume.write(0, h.flushed).ok());
  EXPECT_TRUE(volume.flush().ok());
  h.latest = h.flushed;
  h.touched.assign(kVolumeBytes / kUnit, false);
  for (int i = 0; i < writes; ++i) {
    std::uint64_t units = random.uniform_range(1, 64);
    std::uint64_t first = random.uniform(kVolumeBytes / kUnit - units + 1);
    auto data = random_bytes(random, units * kUnit);
    EXPECT_TRUE(volume.write(first * kUnit, data).ok());
    std::memcpy(h.latest.data() + first * kUnit, data.data(), data.size());
    for (std::uint64_t u = first; u < first + units; ++u)
      h.touched[u] = true;
    h.extents.emplace_back(first, units);
  }
  return h;
}

// Every unit holds its flushed or its latest content, whole; untouched units are exact.
void expect_old_or_new(const std::vector<std::byte>& image, const History& h,
                       std::uint64_t* kept_new = nullptr, std::uint64_t* kept_old = nullptr) {
  std::uint64_t new_units = 0;
  std::uint64_t old_units = 0;
  for (std::uint64_t u = 0; u < kVolumeBytes / kUnit; ++u) {
    const std::byte* got = image.data() + u * kUnit;
    bool is_old = std::memcmp(got, h.flushed.data() + u * kUnit, kUnit) == 0;
    bool is_new = std::memcmp(got, h.latest.data() + u * kUnit, kUnit) == 0;
    if (!h.touched[u]) {
      ASSERT_TRUE(is_old) << "flushed unit " << u << " changed by the crash";
      continue;
    }
    ASSERT_TRUE(is_old || is_new) << "unit " << u << " is neither old nor new: torn within";
    new_units += is_new;
    old_units += is_old && !is_new;
  }
  if (kept_new)
    *kept_new = new_units;
  if (kept_old)
    *kept_old = old_units;
}

TEST(SimVolume, ReadsSeeUnflushedWrites) {
  auto f = make(1);
  std::vector<std::byte> data(4096, std::byte{0x5a});
  ASSERT_TRUE(f.sim->write(8192, data).ok());
  std::vector<std::byte> back(4096);
  ASSERT_TRUE(f.sim->read(8192, back).ok());
  EXPECT_EQ(back, data);
  // Not yet on the medium.
  ASSERT_TRUE(f.base->read(8192, back).ok());
  EXPECT_EQ(back, std::vector<std::byte>(4096));
  EXPECT_EQ(f.sim->unflushed_bytes(), 4096u);
  ASSERT_TRUE(f.sim->flush().ok());
  ASSERT_TRUE(f.base->read(8192, back).ok());
  EXPECT_EQ(back, data);
  EXPECT_EQ(f.sim->unflushed_bytes(), 0u);
}

TEST(SimVolume, CrashKeepsFlushedDataAndNeverTearsAUnit) {
  testing::TracedRandom random(11);
  auto f = make(random.seed());
  History h = write_history(*f.sim, random, 200);
  EXPECT_EQ(read_all(*f.sim), h.latest);
  std::uint64_t dropped = f.sim->crash();
  std::uint64_t kept_new = 0;
  std::uint64_t kept_old = 0;
  expect_old_or_new(read_all(*f.sim), h, &kept_new, &kept_old);
  // With survival probability 1/2 over thousands of units, both outcomes occur.
  EXPECT_GT(kept_new, 0u);
  EXPECT_GT(kept_old, 0u);
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(f.sim->unflushed_bytes(), 0u);
  // The surviving image is what is on the medium now.
  EXPECT_EQ(read_all(*f.base), read_all(*f.sim));
}

TEST(SimVolume, CrashTearsMultiSectorWritesAtUnitGranularity) {
  testing::TracedRandom random(12);
  auto f = make(random.seed());
  History h = write_history(*f.sim, random, 50);
  f.sim->crash();
  auto image = read_all(*f.sim);
  // A write whose units are not all old or all new was torn. Writes overlap, so look only
  // at units no later write touched: count extents where both outcomes appear.
  std::vector<int> writers(kVolumeBytes / kUnit, 0);
  for (auto [first, units] : h.extents) {
    for (std::uint64_t u = first; u < first + units; ++u)
      ++writers[u];
  }
  int torn = 0;
  for (auto [first, units] : h.extents) {
    bool any_new = false;
    bool any_old = false;
    for (std::uint64_t u = first; u < first + units; ++u) {
      if (writers[u] != 1)
        continue;
      bool is_new = std::memcmp(image.data() + u * kUnit, h.latest.data() + u * kUnit, kUnit) == 0;
      any_new |= is_new;
      any_old |= !is_new;
    }
    torn += any_new && any_old;
  }
  EXPECT_GT(torn, 0) << "no write was torn; the crash model is not sector-granular";
}

TEST(SimVolume, SameSeedSameSurvivorsDifferentSeedDifferent) {
  auto run = [](std::uint64_t crash_seed) {
    auto f = make(crash_seed);
    Random workload(99);  // same history every time
    write_history(*f.sim, workload, 100);
    f.sim->crash();
    return image_hash(*f.sim);
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(SimVolume, FlushMakesEverythingBeforeItDurable) {
  auto f = make(3);
  Random random(3);
  History h = write_history(*f.sim, random, 40);
  ASSERT_TRUE(f.sim->flush().ok());
  EXPECT_EQ(f.sim->crash(), 0u);
  EXPECT_EQ(read_all(*f.sim), h.latest);
}

TEST(SimVolume, EarlyWriteBackStillRevertsOnCrash) {
  // A tiny cache forces the device to write units back before the flush; a crash must still
  // be able to revert them to their flushed content.
  testing::TracedRandom random(21);
  SimVolumeOptions options;
  options.cache_bytes_max = 8 * kUnit;
  auto f = make(random.seed(), 512, options);
  History h = write_history(*f.sim, random, 100);
  EXPECT_EQ(read_all(*f.sim), h.latest);
  f.sim->crash();
  std::uint64_t kept_old = 0;
  expect_old_or_new(read_all(*f.sim), h, nullptr, &kept_old);
  EXPECT_GT(kept_old, 0u);
}

TEST(SimVolume, TearsInside4096ByteSectorsAt512Bytes) {
  const std::uint64_t seed = testing::test_seed(31);
  SCOPED_TRACE(testing::replay_command(seed));
  auto f = make(seed, 4096);
  std::vector<std::byte> old_data(4096, std::byte{1});
  std::vector<std::byte> new_data(4096, std::byte{2});
  int mixed = 0;
  for (std::uint64_t s = 0; s < 64; ++s) {
    ASSERT_TRUE(f.sim->write(s * 4096, old_data).ok());
  }
  ASSERT_TRUE(f.sim->flush().ok());
  for (std::uint64_t s = 0; s < 64; ++s) {
    ASSERT_TRUE(f.sim->write(s * 4096, new_data).ok());
  }
  f.sim->crash();
  for (std::uint64_t s = 0; s < 64; ++s) {
    std::vector<std::byte> got(4096);
    ASSERT_TRUE(f.sim->read(s * 4096, got).ok());
    int news = 0;
    for (std::uint64_t u = 0; u < 8; ++u) {
      std::byte b = got[u * 512];
      ASSERT_TRUE(b == std::byte{1} || b == std::byte{2});
      for (std::uint64_t k = 0; k < 512; ++k)
        ASSERT_EQ(got[u * 512 + k], b);
      news += b == std::byte{2};
    }
    mixed += news != 0 && news != 8;
  }
  EXPECT_GT(mixed, 0);
}

TEST(SimVolume, CrashMayRevertAnUnflushedDiscard) {
  SimVolumeOptions options;
  options.crash_survival_probability = 0.0;  // every unflushed unit reverts
  auto f = make(5, 512, options);
  std::vector<std::byte> data(8192, std::byte{0x77});
  ASSERT_TRUE(f.sim->write(0, data).ok());
  ASSERT_TRUE(f.sim->flush().ok());
  ASSERT_TRUE(f.sim->discard(0, 8192).ok());
  std::vector<std::byte> back(8192);
  ASSERT_TRUE(f.sim->read(0, back).ok());
  EXPECT_EQ(back, std::vector<std::byte>(8192));
  EXPECT_EQ(f.sim->crash(), 16u);
  ASSERT_TRUE(f.sim->read(0, back).ok());
  EXPECT_EQ(back, data);
}

TEST(SimVolume, NthFaultFailsExactlyThatOperationAndChangesNothing) {
  auto f = make(1);
  f.sim->add_fault({.trigger = FaultRule::Trigger::kNth,
                    .operations = operation_bit(IoOperation::kWrite),
                    .n = 3});
  std::vector<std::byte> data(512, std::byte{9});
  EXPECT_TRUE(f.sim->write(0, data).ok());
  EXPECT_TRUE(f.sim->write(512, data).ok());
  Status third = f.sim->write(1024, data);
  EXPECT_EQ(third.code(), ErrorCode::kIoError);
  EXPECT_NE(third.message().find("offset 1024"), std::string::npos) << third.message();
  EXPECT_TRUE(f.sim->write(1536, data).ok());
  std::vector<std::byte> back(512);
  ASSERT_TRUE(f.sim->read(1024, back).ok());
  EXPECT_EQ(back, std::vector<std::byte>(512)) << "a failed write changed the volume";
  EXPECT_EQ(f.sim->stats().injected_failures, 1u);
}

TEST(SimVolume, FromNthFaultFailsEveryLaterOperationUpToItsLimit) {
  auto f = make(1);
  f.sim->add_fault({.trigger = FaultRule::Trigger::kFromNth,
                    .operations = operation_bit(IoOperation::kRead),
                    .n = 2,
                    .failures_max = 3});
  std::vector<std::byte> out(512);
  EXPECT_TRUE(f.sim->read(0, out).ok());
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(f.sim->read(0, out).code(), ErrorCode::kIoError);
  EXPECT_TRUE(f.sim->read(0, out).ok());
}

TEST(SimVolume, RangeFaultHitsOnlyOverlappingRequests) {
  auto f = make(1);
  FaultId id =
      f.sim->add_fault({.trigger = FaultRule::Trigger::kRange, .offset = 4096, .length = 4096});
  std::vector<std::byte> buffer(4096);
  EXPECT_TRUE(f.sim->read(0, buffer).ok());
  EXPECT_EQ(f.sim->read(2048, buffer).code(), ErrorCode::kIoError);
  EXPECT_EQ(f.sim->write(4096, buffer).code(), ErrorCode::kIoError);
  EXPECT_EQ(f.sim->discard(7680, 512).code(), ErrorCode::kIoError);
  EXPECT_TRUE(f.sim->write(8192, buffer).ok());
  EXPECT_TRUE(f.sim->flush().ok());
  EXPECT_TRUE(f.sim->remove_fault(id));
  EXPECT_TRUE(f.sim->read(4096, buffer).ok());
}

TEST(SimVolume, ProbabilisticFaultsFollowTheSeed) {
  auto pattern = [](std::uint64_t seed) {
    auto f = make(seed);
    f.sim->add_fault({.trigger = FaultRule::Trigger::kProbability, .probability = 0.3});
    std::vector<std::byte> out(512);
    std::string outcome;
    for (int i = 0; i < 200; ++i)
      outcome.push_back(f.sim->read(0, out).ok() ? '.' : 'x');
    return outcome;
  };
  std::string a = pattern(42);
  EXPECT_EQ(a, pattern(42));
  EXPECT_NE(a, pattern(43));
  auto failures = std::count(a.begin(), a.end(), 'x');
  EXPECT_GT(failures, 30);
  EXPECT_LT(failures, 90);
}

TEST(SimVolume, FailedFlushMakesNothingDurable) {
  SimVolumeOptions options;
  options.crash_survival_probability = 0.0;
  auto f = make(1, 512, options);
  f.sim->add_fault({.trigger = FaultRule::Trigger::kNth,
                    .operations = operation_bit(IoOperation::kFlush),
                    .n = 1});
  std::vector<std::byte> data(4096, std::byte{3});
  ASSERT_TRUE(f.sim->write(0, data).ok());
  EXPECT_EQ(f.sim->flush().code(), ErrorCode::kIoError);
  EXPECT_EQ(f.sim->unflushed_bytes(), 4096u);
  f.sim->crash();
  std::vector<std::byte> back(4096);
  ASSERT_TRUE(f.sim->read(0, back).ok());
  EXPECT_EQ(back, std::vector<std::byte>(4096));
}

TEST(SimVolume, LatencyAdvancesSimulatedTime) {
  SimClock clock;
  SimVolumeOptions options;
  options.clock = &clock;
  options.latency_per_operation = std::chrono::microseconds(100);
  options.latency_per_mib = std::chrono::milliseconds(1);
  auto f = make(1, 512, options);
  std::vector<std::byte> data(1 << 20);
  ASSERT_TRUE(f.sim->write(0, data).ok());
  EXPECT_EQ(clock.now(), std::chrono::microseconds(1100));
  ASSERT_TRUE(f.sim->flush().ok());
  EXPECT_EQ(clock.now(), std::chrono::microseconds(1200));
  // A timer due during an I/O fires inside it, at its own deadline.
  Nanoseconds fired_at{-1};
  clock.schedule_at(std::chrono::microseconds(1250), [&] { fired_at = clock.now(); });
  ASSERT_TRUE(f.sim->read(0, std::span<std::byte>(data.data(), 512)).ok());
  EXPECT_EQ(fired_at, std::chrono::microseconds(1250));
}

TEST(SimVolume, InjectedErrorsNameTheSimulatedVolume) {
  auto f = make(1);
  f.sim->add_fault({.trigger = FaultRule::Trigger::kNth, .n = 1});
  std::vector<std::byte> out(512);
  Status read = f.sim->read(0, out);
  EXPECT_EQ(read.code(), ErrorCode::kIoError);
  EXPECT_NE(read.message().find("'sim:disk'"), std::string::npos) << read.message();
}

TEST(SimVolume, IsAStackOfTheThreeFilters) {
  SimClock clock;
  SimVolumeOptions options;
  options.clock = &clock;
  options.latency_per_operation = std::chrono::microseconds(10);
  auto f = make(1, 4096, options);
  ASSERT_NE(f.sim->latency(), nullptr);
  EXPECT_EQ(&f.sim->base(), f.sim->latency());
  EXPECT_EQ(&f.sim->latency()->base(), &f.sim->faults());
  EXPECT_EQ(&f.sim->faults().base(), &f.sim->cache());
  EXPECT_EQ(&f.sim->cache().base(), f.base.get());
  // The cache's 512-byte unit over the 4096-byte sectors of the base.
  EXPECT_EQ(f.sim->properties(), (DeviceProperties{4096, 4096, 512, 64 * 1024}));
  std::vector<std::byte> data(4096, std::byte{1});
  ASSERT_TRUE(f.sim->write(0, data).ok());
  EXPECT_EQ(f.sim->cache().unflushed_bytes(), 4096u);
  EXPECT_EQ(f.sim->latency()->charged(), std::chrono::microseconds(10));
  // Without a clock there is no latency filter.
  auto plain = make(1);
  EXPECT_EQ(plain.sim->latency(), nullptr);
  EXPECT_EQ(&plain.sim->base(), &plain.sim->faults());
}

TEST(SimVolume, RejectsBadOptions) {
  auto base = MemoryVolume::create({.size_bytes = 1 << 20}).value();
  SimVolumeOptions options;
  options.atomic_write_bytes = 4096;  // larger than the 512-byte sector
  EXPECT_EQ(SimVolume::create(*base, options).status().code(), ErrorCode::kInvalidArgument);
  options.atomic_write_bytes = 768;
  EXPECT_EQ(SimVolume::create(*base, options).status().code(), ErrorCode::kInvalidArgument);
  options.atomic_write_bytes = 0;
  options.crash_survival_probability = 1.5;
  EXPECT_EQ(SimVolume::create(*base, options).status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace freezeframe::sim

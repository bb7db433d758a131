// The simulation filters (CacheVolume, FaultVolume, LatencyVolume) stacked in different
// orders: where a filter sits decides what it sees, and the tests pin those differences.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/cache_volume.h"
#include "freezeframe/sim/fault_volume.h"
#include "freezeframe/sim/latency_volume.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/sim/sim_volume.h"
#include "seed.h"

namespace freezeframe::sim {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr std::uint64_t kVolumeBytes = 1 << 20;
constexpr std::uint64_t kUnit = 512;

std::unique_ptr<MemoryVolume> make_disk(MemoryVolumeOptions options = {}) {
  options.name = "disk";
  if (options.size_bytes == 0)
    options.size_bytes = kVolumeBytes;
  auto disk = MemoryVolume::create(options);
  EXPECT_TRUE(disk.ok()) << disk.status().to_string();
  return std::move(disk).value();
}

template <typename T>
std::unique_ptr<T> made(Result<std::unique_ptr<T>> result) {
  EXPECT_TRUE(result.ok()) << result.status().to_string();
  return result.ok() ? std::move(result).value() : nullptr;
}

std::vector<std::byte> read_range(Volume& volume, std::uint64_t offset, std::size_t length) {
  std::vector<std::byte> out(length);
  Status status = volume.read(offset, out);
  EXPECT_TRUE(status.ok()) << status.to_string();
  return out;
}

std::vector<std::byte> filled(std::size_t length, std::uint8_t value) {
  return std::vector<std::byte>(length, std::byte{value});
}

const FaultRule kFirstWrite{
    .trigger = FaultRule::Trigger::kNth, .operations = operation_bit(IoOperation::kWrite), .n = 1};
const FaultRule kFirstFlush{
    .trigger = FaultRule::Trigger::kNth, .operations = operation_bit(IoOperation::kFlush), .n = 1};

TEST(SimStack, FaultOverCacheFailsTheWriteBeforeTheCacheSeesIt) {
  auto disk = make_disk();
  auto cache = made(CacheVolume::create(*disk));
  auto faults = made(FaultVolume::create(*cache));
  faults->add_fault(kFirstWrite);
  Status write = faults->write(0, filled(4096, 0x11));
  EXPECT_EQ(write.code(), ErrorCode::kIoError) << write.to_string();
  EXPECT_EQ(cache->unflushed_bytes(), 0u);
  EXPECT_EQ(cache->stats().writes, 0u);
  ASSERT_TRUE(faults->flush().ok());
  EXPECT_EQ(read_range(*disk, 0, 4096), filled(4096, 0));
  EXPECT_EQ(faults->stats().injected_failures, 1u);
}

TEST(SimStack, CacheOverFaultAcceptsTheWriteAndFailsTheFlush) {
  auto disk = make_disk();
  auto faults = made(FaultVolume::create(*disk));
  auto cache = made(CacheVolume::create(*faults));
  faults->add_fault(kFirstWrite);
  // The write only reaches the cache; the fault waits for the write-back at flush().
  ASSERT_TRUE(cache->write(0, filled(4096, 0x22)).ok());
  EXPECT_EQ(read_range(*cache, 0, 4096), filled(4096, 0x22));
  EXPECT_EQ(cache->unflushed_bytes(), 4096u);
  Status flush = cache->flush();
  EXPECT_EQ(flush.code(), ErrorCode::kIoError) << flush.to_string();
  EXPECT_EQ(cache->unflushed_bytes(), 4096u) << "a failed flush emptied the cache";
  EXPECT_EQ(read_range(*disk, 0, 4096), filled(4096, 0));
  // The fault fired once; the retry goes through and makes the write durable.
  ASSERT_TRUE(cache->flush().ok());
  EXPECT_EQ(cache->unflushed_bytes(), 0u);
  EXPECT_EQ(read_range(*disk, 0, 4096), filled(4096, 0x22));
  EXPECT_EQ(faults->stats().injected_failures, 1u);
}

// A disk whose write-backs keep failing stops taking writes once its cache holds twice its
// limit, instead of growing without bound; a successful flush makes it take them again.
TEST(SimStack, ACacheThatCannotWriteBackStopsTakingWritesAtTwiceItsLimit) {
  auto disk = make_disk();
  auto faults = made(FaultVolume::create(*disk));
  auto cache = made(CacheVolume::create(*faults, {.cache_bytes_max = 4 * 4096}));
  const FaultId broken = faults->add_fault(
      {.trigger = FaultRule::Trigger::kFromNth, .operations = operation_bit(IoOperation::kWrite)});
  // Up to twice the limit the writes are taken (the failed write-backs wait for a flush).
  for (std::uint64_t i = 0; i < 8; ++i)
    ASSERT_TRUE(cache->write(i * 4096, filled(4096, 0x44)).ok()) << "write " << i;
  EXPECT_EQ(cache->unflushed_bytes(), 8 * 4096u);
  Status refused = cache->write(8 * 4096, filled(4096, 0x45));
  EXPECT_EQ(refused.code(), ErrorCode::kIoError) << refused.to_string();
  EXPECT_NE(refused.message().find("could not write back"), std::string::npos) << refused.message();
  EXPECT_EQ(cache->discard(9 * 4096, 4096).code(), ErrorCode::kIoError);
  EXPECT_EQ(cache->unflushed_bytes(), 8 * 4096u) << "a refused write was cached";
  // The medium comes back: the flush writes everything, and writes are taken again.
  ASSERT_TRUE(faults->remove_fault(broken));
  ASSERT_TRUE(cache->flush().ok());
  EXPECT_EQ(read_range(*disk, 0, 8 * 4096), filled(8 * 4096, 0x44));
  EXPECT_TRUE(cache->write(8 * 4096, filled(4096, 0x45)).ok());
}

TEST(SimStack, FailedFlushBeforeACrashDependsOnWhereTheFaultSits) {
  // Every unflushed unit reverts in a crash; the flush barrier fails once.
  const CacheVolumeOptions revert_all{.seed = 1, .crash_survival_probability = 0.0};
  const auto data = filled(8 * kUnit, 0x33);
  {
    // Fault over cache: the failed flush never reaches the cache, so nothing is on the disk.
    auto disk = make_disk();
    auto cache = made(CacheVolume::create(*disk, revert_all));
    auto faults = made(FaultVolume::create(*cache));
    faults->add_fault(kFirstFlush);
    ASSERT_TRUE(faults->write(0, data).ok());
    EXPECT_EQ(faults->flush().code(), ErrorCode::kIoError);
    auto dropped = cache->crash();
    ASSERT_TRUE(dropped.ok()) << dropped.status().to_string();
    EXPECT_EQ(dropped.value(), 8u);
    EXPECT_EQ(read_range(*faults, 0, data.size()), filled(data.size(), 0));
  }
  {
    // Cache over fault: the cache wrote its units, then the disk's barrier failed. The units
    // are on the disk; the crash cannot take them back (a failed flush promises nothing).
    auto disk = make_disk();
    auto faults = made(FaultVolume::create(*disk));
    auto cache = made(CacheVolume::create(*faults, revert_all));
    faults->add_fault(kFirstFlush);
    ASSERT_TRUE(cache->write(0, data).ok());
    EXPECT_EQ(cache->flush().code(), ErrorCode::kIoError);
    EXPECT_EQ(cache->unflushed_bytes(), data.size());
    auto dropped = cache->crash();
    ASSERT_TRUE(dropped.ok()) << dropped.status().to_string();
    EXPECT_EQ(read_range(*cache, 0, data.size()), data);
  }
}

TEST(SimStack, CrashThroughAFaultBelowReportsItAndKeepsEachUnitWhole) {
  // All units survive; the disk refuses the first write of the surviving image.
  auto disk = make_disk();
  auto faults = made(FaultVolume::create(*disk));
  auto cache = made(CacheVolume::create(
      *faults, {.seed = 2, .atomic_write_bytes = 512, .crash_survival_probability = 1.0}));
  ASSERT_TRUE(cache->write(0, filled(4 * kUnit, 0x44)).ok());
  ASSERT_TRUE(cache->write(64 * kUnit, filled(4 * kUnit, 0x55)).ok());
  faults->add_fault(kFirstWrite);
  auto crashed = cache->crash();
  EXPECT_EQ(crashed.status().code(), ErrorCode::kIoError) << crashed.status().to_string();
  EXPECT_EQ(cache->unflushed_bytes(), 0u);
  EXPECT_EQ(cache->stats().crashes, 1u);
  // The first run was refused and holds its old content; the second one made it.
  EXPECT_EQ(read_range(*cache, 0, 4 * kUnit), filled(4 * kUnit, 0));
  EXPECT_EQ(read_range(*cache, 64 * kUnit, 4 * kUnit), filled(4 * kUnit, 0x55));
}

TEST(SimStack, LatencyOverCacheChargesEveryRequest) {
  SimClock clock;
  auto disk = make_disk();
  auto cache = made(CacheVolume::create(*disk));
  auto latency = made(LatencyVolume::create(
      *cache, clock, {.per_operation = microseconds(100), .per_mib = milliseconds(1)}));
  ASSERT_TRUE(latency->write(0, filled(1 << 20, 0x66)).ok());
  EXPECT_EQ(clock.now(), microseconds(1100));
  std::vector<std::byte> sector(512);
  ASSERT_TRUE(latency->read(0, sector).ok());
  EXPECT_EQ(clock.now(), microseconds(1200) + std::chrono::nanoseconds(488));  // 512 B of 1 ms/MiB
  ASSERT_TRUE(latency->flush().ok());
  EXPECT_EQ(clock.now(), microseconds(1300) + std::chrono::nanoseconds(488));
  EXPECT_EQ(latency->charged(), clock.now());
}

TEST(SimStack, LatencyUnderCacheChargesOnlyWhatReachesTheDisk) {
  SimClock clock;
  auto disk = make_disk();
  auto latency = made(LatencyVolume::create(
      *disk, clock, {.per_operation = microseconds(100), .per_mib = milliseconds(1)}));
  auto cache = made(CacheVolume::create(*latency));
  ASSERT_TRUE(cache->write(0, filled(1 << 20, 0x66)).ok());
  EXPECT_EQ(clock.now(), microseconds(0)) << "a cached write took disk time";
  // The flush writes the cache as one contiguous run, then issues the disk's barrier.
  ASSERT_TRUE(cache->flush().ok());
  EXPECT_EQ(clock.now(), microseconds(1100 + 100));
  EXPECT_EQ(read_range(*disk, 0, 1 << 20), filled(1 << 20, 0x66));
}

TEST(SimStack, FailedRequestsTakeTimeOnlyWhenLatencySitsAboveTheFault) {
  const FaultRule first_read{
      .trigger = FaultRule::Trigger::kNth, .operations = operation_bit(IoOperation::kRead), .n = 1};
  std::vector<std::byte> buffer(512);
  {
    SimClock clock;
    auto disk = make_disk();
    auto faults = made(FaultVolume::create(*disk));
    auto latency = made(LatencyVolume::create(*faults, clock, {.per_operation = microseconds(7)}));
    faults->add_fault(first_read);
    EXPECT_EQ(latency->read(0, buffer).code(), ErrorCode::kIoError);
    EXPECT_EQ(clock.now(), microseconds(7));
  }
  {
    SimClock clock;
    auto disk = make_disk();
    auto latency = made(LatencyVolume::create(*disk, clock, {.per_operation = microseconds(7)}));
    auto faults = made(FaultVolume::create(*latency));
    faults->add_fault(first_read);
    EXPECT_EQ(faults->read(0, buffer).code(), ErrorCode::kIoError);
    EXPECT_EQ(clock.now(), microseconds(0));
    ASSERT_TRUE(faults->read(0, buffer).ok());
    EXPECT_EQ(clock.now(), microseconds(7));
  }
}

// Writes a flushed image and then unflushed random extents through `top`.
void write_history(Volume& top, std::uint64_t workload_seed) {
  Random random(workload_seed);
  std::vector<std::byte> image(kVolumeBytes);
  random.fill(image);
  ASSERT_TRUE(top.write(0, image).ok());
  ASSERT_TRUE(top.flush().ok());
  for (int i = 0; i < 100; ++i) {
    std::uint64_t units = random.uniform_range(1, 64);
    std::uint64_t first = random.uniform(kVolumeBytes / kUnit - units + 1);
    std::vector<std::byte> data(units * kUnit);
    random.fill(data);
    ASSERT_TRUE(top.write(first * kUnit, data).ok());
  }
}

std::uint64_t image_hash(Volume& volume) {
  auto image = read_range(volume, 0, kVolumeBytes);
  return XXH3_64bits(image.data(), image.size());
}

TEST(SimStack, TheCrashOutcomeDependsOnTheSeedNotOnTheFiltersAbove) {
  const std::uint64_t seed = testing::test_seed(41);
  SCOPED_TRACE(testing::replay_command(seed));
  // SimVolume: latency over faults over the cache.
  SimClock sim_clock;
  auto sim_disk = make_disk();
  auto sim = made(SimVolume::create(
      *sim_disk, {.seed = seed, .clock = &sim_clock, .latency_per_operation = microseconds(3)}));
  write_history(*sim, 77);
  sim->crash();
  // The same filters stacked by hand in another order, with a fault rule that never fires.
  SimClock clock;
  auto disk = make_disk();
  auto cache = made(CacheVolume::create(*disk, {.seed = seed}));
  auto latency = made(LatencyVolume::create(*cache, clock, {.per_operation = microseconds(3)}));
  auto faults = made(FaultVolume::create(*latency, {.seed = seed}));
  faults->add_fault({.trigger = FaultRule::Trigger::kNth,
                     .operations = operation_bit(IoOperation::kDiscard),
                     .n = 1});
  write_history(*faults, 77);
  ASSERT_TRUE(cache->crash().ok());
  // A cache alone.
  auto bare_disk = make_disk();
  auto bare = made(CacheVolume::create(*bare_disk, {.seed = seed}));
  write_history(*bare, 77);
  ASSERT_TRUE(bare->crash().ok());

  // 102 requests of 3 us each, in either order.
  EXPECT_EQ(clock.now(), microseconds(306));
  EXPECT_EQ(sim_clock.now(), microseconds(306));
  EXPECT_GT(sim->stats().last_crash_units_dropped, 0u);
  EXPECT_EQ(cache->stats().last_crash_units_dropped, sim->stats().last_crash_units_dropped);
  const std::uint64_t sim_image = image_hash(*sim);
  EXPECT_EQ(sim_image, image_hash(*faults));
  EXPECT_EQ(sim_image, image_hash(*bare));
  // Another seed keeps other units.
  auto other_disk = make_disk();
  auto other = made(CacheVolume::create(*other_disk, {.seed = seed + 1}));
  write_history(*other, 77);
  ASSERT_TRUE(other->crash().ok());
  EXPECT_NE(image_hash(*other), sim_image);
}

TEST(SimStack, ProbabilisticFaultsFollowTheSeedAboveOrBelowTheCache) {
  // Over the cache, every read meets the rule; under it too (reads go to the disk and the
  // cache overlays them), so both stacks fail the same reads for one seed.
  auto pattern = [](std::uint64_t seed, bool faults_on_top) {
    auto disk = make_disk();
    std::unique_ptr<Volume> owned_top;
    FaultVolume* faults = nullptr;
    if (faults_on_top) {
      auto cache = made(CacheVolume::create(*disk, {.seed = seed}));
      auto fault_volume = made(FaultVolume::create(std::move(cache), {.seed = seed}));
      faults = fault_volume.get();
      owned_top = std::move(fault_volume);
    } else {
      auto fault_volume = made(FaultVolume::create(*disk, {.seed = seed}));
      faults = fault_volume.get();
      owned_top = made(CacheVolume::create(std::move(fault_volume), {.seed = seed}));
    }
    faults->add_fault({.trigger = FaultRule::Trigger::kProbability,
                       .operations = operation_bit(IoOperation::kRead),
                       .probability = 0.3});
    std::vector<std::byte> out(512);
    std::string outcome;
    for (int i = 0; i < 200; ++i)
      outcome.push_back(owned_top->read(0, out).ok() ? '.' : 'x');
    return outcome;
  };
  const std::string a = pattern(42, true);
  EXPECT_EQ(a, pattern(42, false));
  EXPECT_NE(a, pattern(43, true));
  const auto failures = std::count(a.begin(), a.end(), 'x');
  EXPECT_GT(failures, 30);
  EXPECT_LT(failures, 90);
}

TEST(SimStack, TheCacheReportsItsAtomicUnitAndEveryFilterForwardsTheRest) {
  SimClock clock;
  auto disk = make_disk({.sector_bytes = 4096,
                         .physical_sector_bytes = 8192,
                         .atomic_write_bytes = 8192,
                         .optimal_io_bytes = 1 << 20});
  const DeviceProperties cached{4096, 8192, 1024, 1 << 20};
  auto cache = made(CacheVolume::create(*disk, {.atomic_write_bytes = 1024}));
  auto faults = made(FaultVolume::create(*cache));
  auto latency = made(LatencyVolume::create(*faults, clock, {}));
  EXPECT_EQ(cache->properties(), cached);
  EXPECT_EQ(faults->properties(), cached);
  EXPECT_EQ(latency->properties(), cached);
  // Under the cache, the filters report the disk's own unit.
  auto faults_below = made(FaultVolume::create(*disk));
  EXPECT_EQ(faults_below->atomic_write_bytes(), 8192u);
  auto sim = made(SimVolume::create(*disk, {.atomic_write_bytes = 2048}));
  EXPECT_EQ(sim->properties(), (DeviceProperties{4096, 8192, 2048, 1 << 20}));
}

TEST(SimStack, CacheTearsAtItsUnitWhateverIsStackedOverIt) {
  const std::uint64_t seed = testing::test_seed(42);
  SCOPED_TRACE(testing::replay_command(seed));
  SimClock clock;
  auto disk = make_disk({.sector_bytes = 4096});
  auto cache = made(CacheVolume::create(*disk, {.seed = seed, .atomic_write_bytes = 1024}));
  auto faults = made(FaultVolume::create(*cache));
  auto latency = made(LatencyVolume::create(*faults, clock, {.per_operation = microseconds(1)}));
  const auto old_data = filled(64 * 4096, 1);
  ASSERT_TRUE(latency->write(0, old_data).ok());
  ASSERT_TRUE(latency->flush().ok());
  ASSERT_TRUE(latency->write(0, filled(64 * 4096, 2)).ok());
  ASSERT_TRUE(cache->crash().ok());
  const auto image = read_range(*latency, 0, 64 * 4096);
  int mixed_sectors = 0;
  for (std::uint64_t sector = 0; sector < 64; ++sector) {
    int new_units = 0;
    for (std::uint64_t u = 0; u < 4; ++u) {
      const std::byte* unit = image.data() + sector * 4096 + u * 1024;
      ASSERT_TRUE(unit[0] == std::byte{1} || unit[0] == std::byte{2});
      for (std::uint64_t k = 0; k < 1024; ++k)
        ASSERT_EQ(unit[k], unit[0]) << "torn inside a 1024-byte unit";
      new_units += unit[0] == std::byte{2};
    }
    mixed_sectors += new_units != 0 && new_units != 4;
  }
  EXPECT_GT(mixed_sectors, 0) << "no sector was torn at the cache's unit";
}

TEST(SimStack, FiltersRejectBadOptionsAndMissingBases) {
  SimClock clock;
  auto disk = make_disk();
  EXPECT_EQ(
      LatencyVolume::create(*disk, clock, {.per_operation = microseconds(-1)}).status().code(),
      ErrorCode::kInvalidArgument);
  EXPECT_EQ(LatencyVolume::create(std::unique_ptr<Volume>(), clock, {}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(FaultVolume::create(std::unique_ptr<Volume>()).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(CacheVolume::create(std::unique_ptr<Volume>()).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(CacheVolume::create(*disk, {.atomic_write_bytes = 1024}).status().code(),
            ErrorCode::kInvalidArgument)
      << "a unit larger than the 512-byte sector was accepted";
  EXPECT_EQ(CacheVolume::create(*disk, {.crash_survival_probability = -0.5}).status().code(),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace freezeframe::sim

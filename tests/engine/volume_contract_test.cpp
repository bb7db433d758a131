// The Volume contract (volume.h), checked the same way for every implementation: request
// validation, read-only volumes, round trips of random data, discard, flush, identity,
// device properties and concurrent writers. A new Volume joins by adding a VolumeKind to the
// instantiation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "freezeframe/file_volume.h"
#include "freezeframe/holdable_volume.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/cache_volume.h"
#include "freezeframe/sim/fault_volume.h"
#include "freezeframe/sim/latency_volume.h"
#include "freezeframe/sim/scheduler.h"
#include "freezeframe/sim/scheduling_volume.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/sim/sim_volume.h"
#include "freezeframe/snapshot_provider.h"
#include "freezeframe/volume.h"
#include "freezeframe/volume_wrapper.h"
#include "seed.h"
#include "temp_path.h"
#include "volume_image.h"

namespace freezeframe {
namespace {

using testing::expect_holds;
using testing::random_bytes;
using testing::read_all;

constexpr std::uint64_t kVolumeBytes = 4 << 20;

// Scratch files a volume needs; they are removed when the test ends.
using TempPaths = std::vector<std::unique_ptr<testing::TempPath>>;

// One kind of volume under test: how to make a fresh one.
struct VolumeKind {
  std::string name;
  std::uint32_t sector_bytes;
  Result<std::unique_ptr<Volume>> (*make)(std::uint64_t size_bytes, bool read_only,
                                          TempPaths& paths);
  // The device properties the kind reports; unset where they depend on the host (files).
  std::optional<DeviceProperties> properties{};
};

// The device properties of the kinds below (logical, physical, atomic write, optimal I/O).
constexpr DeviceProperties kPlain512{512, 512, 512, 64 * 1024};
// A 512e disk with a 256 KiB stripe: 512-byte addressing over 4096-byte physical sectors.
constexpr DeviceProperties k512e{512, 4096, 4096, 256 * 1024};
// A write cache (512-byte units) over a 512e disk.
constexpr DeviceProperties kCached512e{512, 4096, 512, 256 * 1024};
// A write cache (512-byte units) over a 4Kn disk: it tears inside a logical sector.
constexpr DeviceProperties kCached4Kn{4096, 4096, 512, 64 * 1024};
// A provider with 4 KiB chunks over a 512e origin and a plain diff volume.
constexpr DeviceProperties kProvider{512, 4096, 512, 4096};

// Test names and failure messages show the kind by name.
void PrintTo(const VolumeKind& kind, std::ostream* out) {
  *out << kind.name;
}

Result<std::unique_ptr<Volume>> make_memory(std::uint64_t size_bytes, bool read_only, TempPaths&) {
  auto volume = MemoryVolume::create(
      {.name = "contract-memory", .size_bytes = size_bytes, .read_only = read_only});
  if (!volume.ok())
    return volume.status();
  return std::unique_ptr<Volume>(std::move(volume).value());
}

Result<std::unique_ptr<Volume>> make_memory_512e(std::uint64_t size_bytes, bool read_only,
                                                 TempPaths&) {
  FF_ASSIGN_OR_RETURN(auto volume,
                      MemoryVolume::create({.name = "contract-512e",
                                            .size_bytes = size_bytes,
                                            .read_only = read_only,
                                            .physical_sector_bytes = k512e.physical_sector_bytes,
                                            .atomic_write_bytes = k512e.atomic_write_bytes,
                                            .optimal_io_bytes = k512e.optimal_io_bytes}));
  return std::unique_ptr<Volume>(std::move(volume));
}

template <std::uint32_t SectorBytes>
Result<std::unique_ptr<Volume>> make_file(std::uint64_t size_bytes, bool read_only,
                                          TempPaths& paths) {
  paths.push_back(std::make_unique<testing::TempPath>("contract"));
  const std::string path = paths.back()->str();
  auto created = FileVolume::create(path, {.size_bytes = size_bytes, .sector_bytes = SectorBytes});
  if (!created.ok())
    return created.status();
  if (!read_only)
    return std::unique_ptr<Volume>(std::move(created).value());
  created.value().reset();
  auto opened = FileVolume::open(path, {.read_only = true, .sector_bytes = SectorBytes});
  if (!opened.ok())
    return opened.status();
  return std::unique_ptr<Volume>(std::move(opened).value());
}

Result<std::unique_ptr<Volume>> make_sim_over_memory(std::uint64_t size_bytes, bool read_only,
                                                     TempPaths&) {
  auto base = MemoryVolume::create(
      {.name = "contract-sim-base", .size_bytes = size_bytes, .read_only = read_only});
  if (!base.ok())
    return base.status();
  auto volume = sim::SimVolume::create(std::unique_ptr<Volume>(std::move(base).value()),
                                       {.seed = testing::test_seed(31)});
  if (!volume.ok())
    return volume.status();
  return std::unique_ptr<Volume>(std::move(volume).value());
}

// Owns a stack of volumes, bottom first, and presents the top one; destroys them top first
// (a provider before the volumes under it). A simulated clock the stack uses outlives it.
class OwnedStack final : public VolumeWrapper {
 public:
  explicit OwnedStack(std::vector<std::unique_ptr<Volume>> parts,
                      std::unique_ptr<sim::SimClock> clock = nullptr)
      : VolumeWrapper(*parts.back()), clock_(std::move(clock)), parts_(std::move(parts)) {}
  ~OwnedStack() override {
    while (!parts_.empty())
      parts_.pop_back();
  }

 private:
  std::unique_ptr<sim::SimClock> clock_;
  std::vector<std::unique_ptr<Volume>> parts_;
};

// The wrapper forwards the base's device properties (a 512e base, so defaults would not do).
Result<std::unique_ptr<Volume>> make_plain_wrapper(std::uint64_t size_bytes, bool read_only,
                                                   TempPaths& paths) {
  FF_ASSIGN_OR_RETURN(auto base, make_memory_512e(size_bytes, read_only, paths));
  std::vector<std::unique_ptr<Volume>> parts;
  parts.push_back(std::move(base));
  parts.push_back(std::make_unique<VolumeWrapper>(*parts.back()));
  return std::unique_ptr<Volume>(std::make_unique<OwnedStack>(std::move(parts)));
}

Result<std::unique_ptr<Volume>> make_holdable(std::uint64_t size_bytes, bool read_only,
                                              TempPaths& paths) {
  FF_ASSIGN_OR_RETURN(auto base, make_memory(size_bytes, read_only, paths));
  std::vector<std::unique_ptr<Volume>> parts;
  parts.push_back(std::move(base));
  parts.push_back(std::make_unique<HoldableVolume>(*parts.back(), "contract-holdable"));
  return std::unique_ptr<Volume>(std::make_unique<OwnedStack>(std::move(parts)));
}

// A scheduling volume over a 512e disk, with its scheduler. The contract runs on the test's
// thread, outside any task, where the filter only forwards; inside tasks each request is one
// scheduled step (tests/sim/scheduler_test.cpp).
class ScheduledStack final : public VolumeWrapper {
 public:
  ScheduledStack(std::unique_ptr<sim::Scheduler> scheduler, std::unique_ptr<Volume> volume)
      : VolumeWrapper(*volume), scheduler_(std::move(scheduler)), volume_(std::move(volume)) {}

 private:
  std::unique_ptr<sim::Scheduler> scheduler_;
  std::unique_ptr<Volume> volume_;  // destroyed before the scheduler it uses
};

Result<std::unique_ptr<Volume>> make_scheduling(std::uint64_t size_bytes, bool read_only,
                                                TempPaths& paths) {
  FF_ASSIGN_OR_RETURN(auto scheduler, sim::Scheduler::create({.seed = 38}));
  FF_ASSIGN_OR_RETURN(auto base, make_memory_512e(size_bytes, read_only, paths));
  FF_ASSIGN_OR_RETURN(auto volume, sim::SchedulingVolume::create(std::move(base), *scheduler));
  return std::unique_ptr<Volume>(
      std::make_unique<ScheduledStack>(std::move(scheduler), std::move(volume)));
}

// The simulation filters stacked by hand, in two orders other than SimVolume's
// (latency, faults, cache), over a 512e disk: the cache under faults under latency...
Result<std::unique_ptr<Volume>> make_cache_faults_latency(std::uint64_t size_bytes, bool read_only,
                                                          TempPaths& paths) {
  auto clock = std::make_unique<sim::SimClock>();
  std::vector<std::unique_ptr<Volume>> parts;
  FF_ASSIGN_OR_RETURN(auto base, make_memory_512e(size_bytes, read_only, paths));
  parts.push_back(std::move(base));
  FF_ASSIGN_OR_RETURN(auto latency,
                      sim::LatencyVolume::create(*parts.back(), *clock,
                                                 {.per_operation = std::chrono::microseconds(5)}));
  parts.push_back(std::move(latency));
  FF_ASSIGN_OR_RETURN(auto faults, sim::FaultVolume::create(*parts.back(), {.seed = 35}));
  parts.push_back(std::move(faults));
  FF_ASSIGN_OR_RETURN(auto cache, sim::CacheVolume::create(*parts.back(), {.seed = 36}));
  parts.push_back(std::move(cache));
  return std::unique_ptr<Volume>(std::make_unique<OwnedStack>(std::move(parts), std::move(clock)));
}

// ... and faults over latency over a small cache (it writes back on its own) over a 4Kn disk,
// owning each other.
Result<std::unique_ptr<Volume>> make_faults_latency_cache(std::uint64_t size_bytes, bool read_only,
                                                          TempPaths&) {
  auto clock = std::make_unique<sim::SimClock>();
  FF_ASSIGN_OR_RETURN(auto base, MemoryVolume::create({.name = "contract-4kn",
                                                       .size_bytes = size_bytes,
                                                       .sector_bytes = 4096,
                                                       .read_only = read_only}));
  FF_ASSIGN_OR_RETURN(auto cache,
                      sim::CacheVolume::create(std::unique_ptr<Volume>(std::move(base)),
                                               {.seed = 37, .cache_bytes_max = 256 * 1024}));
  FF_ASSIGN_OR_RETURN(auto latency,
                      sim::LatencyVolume::create(std::unique_ptr<Volume>(std::move(cache)), *clock,
                                                 {.per_mib = std::chrono::milliseconds(1)}));
  FF_ASSIGN_OR_RETURN(auto faults,
                      sim::FaultVolume::create(std::unique_ptr<Volume>(std::move(latency))));
  std::vector<std::unique_ptr<Volume>> parts;
  parts.push_back(std::move(faults));
  return std::unique_ptr<Volume>(std::make_unique<OwnedStack>(std::move(parts), std::move(clock)));
}

// The live volume of a provider over memory volumes (a 512e origin); read-only: a snapshot of it (a
// snapshot view is the read-only Volume the contract's read-only cases apply to).
template <ProviderKind Kind>
Result<std::unique_ptr<Volume>> make_provider(std::uint64_t size_bytes, bool read_only,
                                              TempPaths&) {
  std::vector<std::unique_ptr<Volume>> parts;
  FF_ASSIGN_OR_RETURN(auto origin,
                      MemoryVolume::create({.name = "contract-origin",
                                            .size_bytes = size_bytes,
                                            .physical_sector_bytes = k512e.physical_sector_bytes,
                                            .atomic_write_bytes = k512e.atomic_write_bytes,
                                            .optimal_io_bytes = k512e.optimal_io_bytes}));
  FF_ASSIGN_OR_RETURN(auto diff, MemoryVolume::create({.name = "contract-diff",
                                                       .size_bytes = 2 * size_bytes + (8 << 20)}));
  parts.push_back(std::move(origin));
  parts.push_back(std::move(diff));
  ProviderOptions options;
  options.chunk_bytes = 4096;
  FF_ASSIGN_OR_RETURN(auto provider, SnapshotProvider::create(Kind, *parts[0], *parts[1], options));
  parts.push_back(std::move(provider));
  if (read_only) {
    auto& live = static_cast<SnapshotProvider&>(*parts.back());
    FF_ASSIGN_OR_RETURN(SnapshotInfo info, live.create_snapshot());
    FF_ASSIGN_OR_RETURN(auto view, live.open_snapshot(info.id));
    parts.push_back(std::move(view));
  }
  return std::unique_ptr<Volume>(std::make_unique<OwnedStack>(std::move(parts)));
}

class VolumeContract : public ::testing::TestWithParam<VolumeKind> {
 protected:
  std::uint32_t sector_bytes() const { return GetParam().sector_bytes; }

  std::unique_ptr<Volume> make(bool read_only = false) {
    auto volume = GetParam().make(kVolumeBytes, read_only, paths_);
    EXPECT_TRUE(volume.ok()) << volume.status().to_string();
    return volume.ok() ? std::move(volume).value() : nullptr;
  }

  // A random extent of whole sectors, 1 to `sectors_max` of them (at most the volume's): its
  // offset and length in bytes.
  std::pair<std::uint64_t, std::uint64_t> random_extent(Random& random,
                                                        std::uint64_t sectors_max) const {
    const std::uint64_t sectors = kVolumeBytes / sector_bytes();
    const std::uint64_t count = random.uniform_range(1, std::min(sectors_max, sectors));
    const std::uint64_t first = random.uniform(sectors - count + 1);
    return {first * sector_bytes(), count * sector_bytes()};
  }

 private:
  TempPaths paths_;
};

INSTANTIATE_TEST_SUITE_P(
    Volumes, VolumeContract,
    ::testing::Values(
        VolumeKind{"Memory", 512, make_memory, kPlain512},
        VolumeKind{"Memory512e", 512, make_memory_512e, k512e},
        VolumeKind{"File512", 512, make_file<512>}, VolumeKind{"File4096", 4096, make_file<4096>},
        VolumeKind{"SimOverMemory", 512, make_sim_over_memory, kPlain512},
        VolumeKind{"CacheUnderFaultsUnderLatency", 512, make_cache_faults_latency, kCached512e},
        VolumeKind{"FaultsOverLatencyOverCache4Kn", 4096, make_faults_latency_cache, kCached4Kn},
        VolumeKind{"WrapperOverMemory", 512, make_plain_wrapper, k512e},
        VolumeKind{"HoldableOverMemory", 512, make_holdable, kPlain512},
        VolumeKind{"SchedulingOverMemory", 512, make_scheduling, k512e},
        VolumeKind{"CowLive", 512, make_provider<ProviderKind::kCopyOnWrite>, kProvider},
        VolumeKind{"RowLive", 512, make_provider<ProviderKind::kRedirectOnWrite>, kProvider}),
    [](const ::testing::TestParamInfo<VolumeKind>& param_info) { return param_info.param.name; });

// `volume` reads as `model`, and still does after a flush.
void expect_reads_before_and_after_flush(Volume& volume, const std::vector<std::byte>& model) {
  EXPECT_EQ(read_all(volume), model);
  ASSERT_TRUE(volume.flush().ok());
  EXPECT_EQ(read_all(volume), model);
}

bool all_zero(std::span<const std::byte> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

TEST_P(VolumeContract, ReportsItsGeometryAndStartsZeroed) {
  auto volume = make();
  ASSERT_NE(volume, nullptr);
  EXPECT_EQ(volume->size_bytes(), kVolumeBytes);
  EXPECT_EQ(volume->sector_bytes(), sector_bytes());
  EXPECT_FALSE(volume->read_only());
  EXPECT_TRUE(all_zero(read_all(*volume)));
}

TEST_P(VolumeContract, DevicePropertiesHoldTheirInvariants) {
  for (bool read_only : {false, true}) {
    SCOPED_TRACE(read_only ? "read-only" : "writable");
    auto volume = make(read_only);
    ASSERT_NE(volume, nullptr);
    const DeviceProperties properties = volume->properties();
    EXPECT_EQ(properties.logical_sector_bytes, volume->sector_bytes());
    EXPECT_EQ(properties.physical_sector_bytes, volume->physical_sector_bytes());
    EXPECT_EQ(properties.atomic_write_bytes, volume->atomic_write_bytes());
    EXPECT_EQ(properties.optimal_io_bytes, volume->optimal_io_bytes());
    Status valid = validate_device_properties(properties);
    EXPECT_TRUE(valid.ok()) << valid.to_string();
    // The invariants spelled out, so a broken validator cannot hide a broken volume.
    const auto power_of_two = [](std::uint32_t v) { return v != 0 && (v & (v - 1)) == 0; };
    EXPECT_TRUE(power_of_two(properties.physical_sector_bytes));
    EXPECT_TRUE(power_of_two(properties.atomic_write_bytes));
    EXPECT_TRUE(power_of_two(properties.optimal_io_bytes));
    EXPECT_LE(properties.logical_sector_bytes, properties.physical_sector_bytes);
    EXPECT_GE(properties.atomic_write_bytes, 512u);
    EXPECT_LE(properties.atomic_write_bytes, properties.physical_sector_bytes);
    EXPECT_EQ(properties.optimal_io_bytes % properties.physical_sector_bytes, 0u);
    EXPECT_EQ(properties.physical_sector_bytes % properties.logical_sector_bytes, 0u);
    if (GetParam().properties) {
      const DeviceProperties& expected = *GetParam().properties;
      EXPECT_EQ(properties.logical_sector_bytes, expected.logical_sector_bytes);
      EXPECT_EQ(properties.physical_sector_bytes, expected.physical_sector_bytes);
      EXPECT_EQ(properties.atomic_write_bytes, expected.atomic_write_bytes);
      EXPECT_EQ(properties.optimal_io_bytes, expected.optimal_io_bytes);
    }
  }
}

TEST_P(VolumeContract, DevicePropertiesDoNotChangeWithUse) {
  auto volume = make();
  ASSERT_NE(volume, nullptr);
  const DeviceProperties before = volume->properties();
  std::vector<std::byte> data(before.optimal_io_bytes, std::byte{0x5c});
  // An optimal request, at an offset aligned to it, is a valid request like any other.
  const std::uint64_t offset = kVolumeBytes / 2 / before.optimal_io_bytes * before.optimal_io_bytes;
  ASSERT_TRUE(volume->write(offset, data).ok());
  expect_holds(*volume, offset, data);
  ASSERT_TRUE(volume->discard(offset, sector_bytes()).ok());
  ASSERT_TRUE(volume->flush().ok());
  EXPECT_EQ(volume->properties(), before);
}

TEST_P(VolumeContract, IdentityHasANameAndANonNilUuid) {
  auto volume = make();
  auto other = make();
  ASSERT_NE(volume, nullptr);
  ASSERT_NE(other, nullptr);
  EXPECT_FALSE(volume->name().empty());
  EXPECT_FALSE(volume->uuid().is_nil());
  EXPECT_EQ(&volume->identity(), &volume->identity());
  EXPECT_NE(volume->uuid(), other->uuid()) << "two fresh volumes share a UUID";
}

struct Request {
  std::uint64_t offset;
  std::size_t length;
};

// Every read, write and discard of each request is refused with the one code for requests the
// caller must fix, in a message naming the volume, the operation, offset and length, and
// `fault` (which fault it is).
void expect_refused(Volume& volume, std::span<std::byte> buffer,
                    std::initializer_list<Request> requests, const std::string& fault) {
  for (Request r : requests) {
    const std::string where =
        "offset " + std::to_string(r.offset) + " length " + std::to_string(r.length);
    SCOPED_TRACE(where);
    auto expect = [&](const Status& status, const char* operation) {
      EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument) << status.to_string();
      EXPECT_THAT(status.message(),
                  ::testing::AllOf(::testing::HasSubstr("volume '" + volume.name() + "'"),
                                   ::testing::HasSubstr(std::string(operation) + " " + where),
                                   ::testing::HasSubstr(fault)));
    };
    expect(volume.read(r.offset, buffer.first(r.length)), "read");
    expect(volume.write(r.offset, buffer.first(r.length)), "write");
    expect(volume.discard(r.offset, r.length), "discard");
  }
}

TEST_P(VolumeContract, RequestsOutsideTheVolumeAreOutOfRange) {
  auto volume = make();
  ASSERT_NE(volume, nullptr);
  const std::size_t sector = sector_bytes();
  std::vector<std::byte> buffer(2 * sector);
  const std::uint64_t far = std::numeric_limits<std::uint64_t>::max() / sector * sector;
  expect_refused(*volume, buffer,
                 {{kVolumeBytes, sector},
                  {kVolumeBytes - sector, 2 * sector},
                  {kVolumeBytes + sector, 0},
                  {far, sector}},
                 "out of range");
  // The failed writes changed nothing.
  EXPECT_TRUE(all_zero(read_all(*volume)));
}

TEST_P(VolumeContract, MisalignedRequestsAreRejected) {
  auto volume = make();
  ASSERT_NE(volume, nullptr);
  const std::size_t sector = sector_bytes();
  std::vector<std::byte> buffer(2 * sector, std::byte{0x33});
  expect_refused(*volume, buffer,
                 {{sector / 2, sector}, {1, 0}, {sector, sector + 1}, {0, sector / 2}},
                 "misaligned");
  EXPECT_TRUE(all_zero(read_all(*volume)));
}

TEST_P(VolumeContract, ReadOnlyVolumeRefusesWritesAndDiscards) {
  auto volume = make(/*read_only=*/true);
  ASSERT_NE(volume, nullptr);
  EXPECT_TRUE(volume->read_only());
  std::vector<std::byte> data(sector_bytes(), std::byte{0x44});
  Status write = volume->write(0, data);
  EXPECT_EQ(write.code(), ErrorCode::kReadOnly) << write.to_string();
  EXPECT_NE(write.message().find(volume->name()), std::string::npos);
  EXPECT_EQ(volume->discard(0, sector_bytes()).code(), ErrorCode::kReadOnly);
  EXPECT_TRUE(volume->flush().ok());
  std::vector<std::byte> back(sector_bytes(), std::byte{0xff});
  ASSERT_TRUE(volume->read(0, back).ok());
  EXPECT_TRUE(all_zero(back));
}

TEST_P(VolumeContract, EmptyRequestsSucceedAndChangeNothing) {
  auto volume = make();
  ASSERT_NE(volume, nullptr);
  std::vector<std::byte> data(sector_bytes(), std::byte{0x55});
  ASSERT_TRUE(volume->write(0, data).ok());
  for (std::uint64_t offset : {std::uint64_t{0}, kVolumeBytes / 2, kVolumeBytes}) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    EXPECT_TRUE(volume->read(offset, std::span<std::byte>()).ok());
    EXPECT_TRUE(volume->write(offset, std::span<const std::byte>()).ok());
    EXPECT_TRUE(volume->discard(offset, 0).ok());
  }
  expect_holds(*volume, 0, data);
}

TEST_P(VolumeContract, WrittenDataReadsBack) {
  testing::TracedRandom random(32);
  auto volume = make();
  ASSERT_NE(volume, nullptr);
  std::vector<std::byte> model(kVolumeBytes);
  for (int i = 0; i < 200; ++i) {
    const auto [offset, length] = random_extent(random, 64);
    const std::vector<std::byte> data = random_bytes(random, length);
    ASSERT_TRUE(volume->write(offset, data).ok());
    std::memcpy(model.data() + offset, data.data(), data.size());
    // Read back a random extent at once, before any flush.
    const auto [probe_offset, probe_length] = random_extent(random, 64);
    std::vector<std::byte> back(probe_length);
    ASSERT_TRUE(volume->read(probe_offset, back).ok());
    ASSERT_EQ(0, std::memcmp(back.data(), model.data() + probe_offset, back.size()))
        << "extent at sector " << probe_offset / sector_bytes() << " after write " << i;
  }
  expect_reads_before_and_after_flush(*volume, model);
  // The last sector is writable too.
  const std::uint64_t sector = sector_bytes();
  const std::vector<std::byte> tail = random_bytes(random, sector);
  ASSERT_TRUE(volume->write(kVolumeBytes - sector, tail).ok());
  expect_holds(*volume, kVolumeBytes - sector, tail);
}

TEST_P(VolumeContract, DiscardedRangesReadBackAsZeros) {
  testing::TracedRandom random(33);
  auto volume = make();
  ASSERT_NE(volume, nullptr);
  std::vector<std::byte> model = random_bytes(random, kVolumeBytes);
  ASSERT_TRUE(volume->write(0, model).ok());
  ASSERT_TRUE(volume->flush().ok());
  for (int i = 0; i < 40; ++i) {
    const auto [offset, length] = random_extent(random, 300);
    ASSERT_TRUE(volume->discard(offset, length).ok());
    std::memset(model.data() + offset, 0, length);
  }
  expect_reads_before_and_after_flush(*volume, model);
  // Discarding the whole volume zeroes it.
  ASSERT_TRUE(volume->discard(0, kVolumeBytes).ok());
  EXPECT_TRUE(all_zero(read_all(*volume)));
}

TEST_P(VolumeContract, AllocateKeepsContentAndChecksLikeWrite) {
  testing::TracedRandom random(34);
  auto volume = make();
  ASSERT_NE(volume, nullptr);
  const std::vector<std::byte> model = random_bytes(random, kVolumeBytes / 2);
  ASSERT_TRUE(volume->write(0, model).ok());
  Status allocated = volume->allocate(0, kVolumeBytes);
  ASSERT_TRUE(allocated.ok()) << allocated.to_string();
  expect_holds(*volume, 0, model);
  std::vector<std::byte> rest(kVolumeBytes - model.size(), std::byte{0xff});
  ASSERT_TRUE(volume->read(model.size(), rest).ok());
  EXPECT_TRUE(all_zero(rest));
  EXPECT_TRUE(volume->allocate(kVolumeBytes, 0).ok());
  EXPECT_EQ(
      volume->allocate(kVolumeBytes - sector_bytes(), std::uint64_t{2} * sector_bytes()).code(),
      ErrorCode::kInvalidArgument);
  EXPECT_EQ(volume->allocate(1, sector_bytes()).code(), ErrorCode::kInvalidArgument);
  auto read_only = make(/*read_only=*/true);
  ASSERT_NE(read_only, nullptr);
  EXPECT_EQ(read_only->allocate(0, sector_bytes()).code(), ErrorCode::kReadOnly);
}

TEST_P(VolumeContract, FlushSucceedsAndKeepsData) {
  auto volume = make();
  ASSERT_NE(volume, nullptr);
  EXPECT_TRUE(volume->flush().ok());  // nothing to flush
  std::vector<std::byte> data(4 * sector_bytes(), std::byte{0x66});
  ASSERT_TRUE(volume->write(sector_bytes(), data).ok());
  Status flush = volume->flush();
  EXPECT_TRUE(flush.ok()) << flush.to_string();
  EXPECT_TRUE(volume->flush().ok());
  expect_holds(*volume, sector_bytes(), data);
}

TEST_P(VolumeContract, ConcurrentWritersToDisjointRangesAllReadBack) {
  const std::uint64_t seed = testing::test_seed(34);
  SCOPED_TRACE(testing::replay_command(seed));
  auto volume = make();
  ASSERT_NE(volume, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPasses = 8;
  // Interleaved stripes, so neighbouring requests from different threads touch adjacent
  // sectors (and shared pages in the implementations that have them).
  const std::uint64_t stripe = 4 * sector_bytes();
  const std::uint64_t stripes = kVolumeBytes / stripe;
  std::vector<std::byte> expected(kVolumeBytes);
  {
    // Each thread's final content is decided up front from its own stream.
    Random random(seed);
    std::vector<Random> streams;
    for (int t = 0; t < kThreads; ++t)
      streams.push_back(random.fork("writer-" + std::to_string(t)));
    std::vector<std::thread> threads;
    std::vector<Status> failures(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Random& mine = streams[static_cast<std::size_t>(t)];
        std::vector<std::byte> data(stripe);
        std::vector<std::byte> back(stripe);
        for (int pass = 0; pass < kPasses; ++pass) {
          for (std::uint64_t s = static_cast<std::uint64_t>(t); s < stripes; s += kThreads) {
            mine.fill(data);
            Status status = volume->write(s * stripe, data);
            if (status.ok())
              status = volume->read(s * stripe, back);
            if (status.ok() && back != data)
              status = io_error("stripe " + std::to_string(s) + " read back different data");
            if (!status.ok()) {
              failures[static_cast<std::size_t>(t)] = status;
              return;
            }
            if (pass == kPasses - 1)
              std::memcpy(expected.data() + s * stripe, data.data(), stripe);
          }
          if (pass % 3 == 0) {
            Status flush = volume->flush();
            if (!flush.ok()) {
              failures[static_cast<std::size_t>(t)] = flush;
              return;
            }
          }
        }
      });
    }
    for (auto& thread : threads)
      thread.join();
    for (int t = 0; t < kThreads; ++t)
      EXPECT_TRUE(failures[static_cast<std::size_t>(t)].ok())
          << "writer " << t << ": " << failures[static_cast<std::size_t>(t)].to_string();
  }
  EXPECT_EQ(read_all(*volume), expected);
  ASSERT_TRUE(volume->flush().ok());
  EXPECT_EQ(read_all(*volume), expected);
}

}  // namespace
}  // namespace freezeframe

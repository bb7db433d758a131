// Concurrency: writer tasks write through the provider while reader tasks read an open
// snapshot and a snapshot task takes (and, with churn, deletes and consolidates) snapshots.
// Every snapshot must show a state the writers actually passed through, and no read may fail.
//
// The tasks run on a seeded sim::Scheduler, interleaved at whole Volume requests: a seed
// replays the same interleaving (the same trace hash), different seeds explore different
// ones, and a failure prints the seed and the command that replays it. Because only one
// task runs at a time, the snapshot task also knows the exact live image at each creation
// instant, and every snapshot must read back as exactly that image.
//
// One small real-threads test remains at the end: the scheduler never lets two requests be
// inside the provider at once, so the provider's own locks (a read of a snapshot racing its
// neighbour's deletion, a write racing a commit) are exercised only by real threads, where
// ASan and TSan can catch a use-after-free or a data race that no seed can show. It checks
// the same properties, which hold for any interleaving; it is bounded by counts, not time.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "freezeframe/plant.h"
#include "freezeframe/sim/scheduler.h"
#include "freezeframe/sim/scheduling_volume.h"
#include "provider_rig.h"

namespace freezeframe {
namespace {

using namespace testing;  // the provider rig

constexpr int kWriters = 4;
constexpr int kReaders = 2;
constexpr std::uint64_t kSector = 512;
// A write unit spans 12 sectors, so units straddle 4 KiB chunks and neighbouring writers'
// regions share a chunk.
constexpr std::uint64_t kUnitBytes = 12 * kSector;
constexpr std::uint64_t kUnitsPerWriter = 7;
constexpr std::uint64_t kRegionBytes = kUnitsPerWriter * kUnitBytes;
constexpr std::uint64_t kOriginBytes = 256 << 10;
static_assert(kWriters * kRegionBytes <= kOriginBytes);
constexpr int kSnapshots = 12;
// Seeded runs: each writer writes this many generations of its units; each reader reads the
// open snapshot this many times.
constexpr std::uint64_t kGenerations = 5;
constexpr int kReadsPerReader = 6;
// The snapshot task lets at least this many writes happen before each snapshot.
constexpr std::uint64_t kWritesBetweenSnapshots = 5;
// Seeds each seeded test runs (per provider), from its default seed on.
constexpr std::uint64_t kSeedsPerRun = 8;

std::uint64_t unit_offset(int writer, std::uint64_t unit) {
  return static_cast<std::uint64_t>(writer) * kRegionBytes + unit * kUnitBytes;
}

// Each sector of a unit carries (writer, unit, generation, sector) and a filler derived from
// them, so a torn or mixed unit is detected.
Bytes unit_content(int writer, std::uint64_t unit, std::uint64_t generation) {
  Bytes data(kUnitBytes);
  for (std::uint64_t sector = 0; sector < kUnitBytes / kSector; ++sector) {
    std::byte* at = data.data() + sector * kSector;
    const std::uint64_t header[4] = {static_cast<std::uint64_t>(writer), unit, generation, sector};
    std::memcpy(at, header, sizeof(header));
    for (std::uint64_t i = sizeof(header); i < kSector; ++i) {
      at[i] = static_cast<std::byte>(generation * 131 + static_cast<std::uint64_t>(writer) * 17 +
                                     unit * 7 + sector * 3 + i);
    }
  }
  return data;
}

// The generation a unit of `image` holds, or nothing if the unit is not one whole write.
std::optional<std::uint64_t> unit_generation(const Bytes& image, int writer, std::uint64_t unit) {
  const std::byte* at = image.data() + unit_offset(writer, unit);
  std::uint64_t header[4];
  std::memcpy(header, at, sizeof(header));
  Bytes expected = unit_content(writer, unit, header[2]);
  if (std::memcmp(at, expected.data(), kUnitBytes) != 0)
    return std::nullopt;
  return header[2];
}

// Checks a sequence of images, oldest first: each shows, per writer, a point of its sequence
// of writes (units [0, k) at generation g and [k, n) at g - 1), and no unit is older than in
// an older image.
class HistoryChecker {
 public:
  void check(const Bytes& image, const std::string& what) {
    for (int writer = 0; writer < kWriters; ++writer) {
      std::vector<std::uint64_t> generations;
      for (std::uint64_t unit = 0; unit < kUnitsPerWriter; ++unit) {
        auto generation = unit_generation(image, writer, unit);
        ASSERT_TRUE(generation.has_value())
            << what << ": writer " << writer << " unit " << unit << " is not one whole write";
        generations.push_back(*generation);
      }
      for (std::uint64_t unit = 1; unit < kUnitsPerWriter; ++unit) {
        EXPECT_TRUE(generations[unit] == generations[0] || generations[unit] + 1 == generations[0])
            << what << ": writer " << writer << " unit " << unit << " at generation "
            << generations[unit] << " while unit 0 is at " << generations[0];
        EXPECT_LE(generations[unit], generations[unit - 1]) << what << ": writer " << writer;
      }
      auto& before = previous_[static_cast<std::size_t>(writer)];
      for (std::uint64_t unit = 0; unit < kUnitsPerWriter; ++unit) {
        EXPECT_GE(generations[unit], before[unit])
            << what << ": writer " << writer << " unit " << unit << " went back in time";
      }
      before = generations;
    }
  }

 private:
  std::vector<std::vector<std::uint64_t>> previous_ = std::vector<std::vector<std::uint64_t>>(
      kWriters, std::vector<std::uint64_t>(kUnitsPerWriter, 0));
};

struct ConcurrencyParam {
  ProviderKind kind;
  // The snapshot task also deletes older snapshots as it goes and (RoW) consolidates.
  bool churn;
};

// A rig whose writers' regions hold generation 0, with a first snapshot open on it.
struct ConcurrencyWorld {
  std::unique_ptr<ProviderRig> rig;
  Uuid first_id;
  std::unique_ptr<Volume> first_volume;
  Bytes first_image;
};

std::optional<ConcurrencyWorld> make_world(ProviderKind kind) {
  ProviderOptions options;
  options.chunk_bytes = 4096;
  options.limit = DiffAreaLimit::unbounded();
  ConcurrencyWorld world;
  world.rig = make_rig(kind, options, {.origin_bytes = kOriginBytes, .diff_bytes = 32 << 20});
  if (world.rig == nullptr)
    return std::nullopt;
  SnapshotProvider& provider = *world.rig->provider;
  for (int writer = 0; writer < kWriters; ++writer) {
    for (std::uint64_t unit = 0; unit < kUnitsPerWriter; ++unit) {
      Status status = provider.write(unit_offset(writer, unit), unit_content(writer, unit, 0));
      EXPECT_TRUE(status.ok()) << status.to_string();
    }
  }
  auto first = provider.create_snapshot();
  EXPECT_TRUE(first.ok()) << first.status().to_string();
  if (!first.ok())
    return std::nullopt;
  world.first_id = first.value().id;
  auto opened = provider.open_snapshot(world.first_id);
  EXPECT_TRUE(opened.ok()) << opened.status().to_string();
  if (!opened.ok())
    return std::nullopt;
  world.first_volume = std::move(opened).value();
  world.first_image = read_all(*world.first_volume);
  return world;
}

// One seeded run: what it did and how it was interleaved. Failures are reported to the
// current test, with the seed and the replay command.
struct SeededRun {
  std::uint64_t trace_hash = 0;
  std::uint64_t steps = 0;
  std::vector<sim::TraceStep> trace;
};

SeededRun run_seeded(const ConcurrencyParam& param, std::uint64_t seed) {
  SCOPED_TRACE(replay_command(seed));
  std::optional<ConcurrencyWorld> world = make_world(param.kind);
  if (!world.has_value())
    return {};
  SnapshotProvider& provider = *world->rig->provider;
  auto scheduler = sim::Scheduler::create({.seed = seed, .steps_max = 10000});
  EXPECT_TRUE(scheduler.ok());
  if (!scheduler.ok())
    return {};
  sim::Scheduler& tasks = *scheduler.value();
  // Tasks reach the provider and the open snapshot only through these, so each request is
  // one scheduled step.
  auto live = sim::SchedulingVolume::create(provider, tasks);
  auto snapshot = sim::SchedulingVolume::create(*world->first_volume, tasks);
  EXPECT_TRUE(live.ok() && snapshot.ok());
  if (!live.ok() || !snapshot.ok())
    return {};

  std::uint64_t writes_done = 0;
  int writers_done = 0;
  int read_mismatches = 0;
  std::vector<std::uint64_t> last_generation(kWriters, 0);
  for (int writer = 0; writer < kWriters; ++writer) {
    auto spawned = tasks.spawn("writer-" + std::to_string(writer), [&, writer]() -> Status {
      for (std::uint64_t generation = 1; generation <= kGenerations; ++generation) {
        for (std::uint64_t unit = 0; unit < kUnitsPerWriter; ++unit) {
          FF_TRY(live.value()->write(unit_offset(writer, unit),
                                     unit_content(writer, unit, generation)));
          ++writes_done;
        }
        if (writer == 0)
          FF_TRY(live.value()->flush());
        last_generation[static_cast<std::size_t>(writer)] = generation;
      }
      ++writers_done;
      return Status();
    });
    EXPECT_TRUE(spawned.ok());
  }
  for (int reader = 0; reader < kReaders; ++reader) {
    auto spawned = tasks.spawn("reader-" + std::to_string(reader), [&]() -> Status {
      Bytes got(kWriters * kRegionBytes);
      for (int i = 0; i < kReadsPerReader; ++i) {
        FF_TRY(snapshot.value()->read(0, got));
        if (std::memcmp(got.data(), world->first_image.data(), got.size()) != 0)
          ++read_mismatches;
      }
      return Status();
    });
    EXPECT_TRUE(spawned.ok());
  }
  // Snapshots after the first, oldest first, each with the live image at its creation.
  std::vector<Taken> taken;
  std::vector<Uuid> kept = {world->first_id};
  auto snapshotter = tasks.spawn("snapshots", [&]() -> Status {
    for (int i = 1; i < kSnapshots; ++i) {
      const std::uint64_t target = writes_done + kWritesBetweenSnapshots;
      FF_TRY(tasks.wait_until([&] { return writes_done >= target || writers_done == kWriters; },
                              static_cast<std::uint64_t>(i)));
      // From here to the next scheduling point this task runs alone: the live image read now
      // is the one the snapshot must keep.
      Bytes image = read_all(provider);
      FF_ASSIGN_OR_RETURN(SnapshotInfo info, provider.create_snapshot());
      taken.push_back({info.id, std::move(image)});
      kept.push_back(info.id);
      if (param.churn && kept.size() > 3) {
        FF_TRY(tasks.yield(static_cast<std::uint64_t>(i)));
        // Keep the first snapshot (the readers use it); delete the next oldest.
        FF_TRY(provider.delete_snapshot(kept[1]));
        kept.erase(kept.begin() + 1);
        if (param.kind == ProviderKind::kRedirectOnWrite) {
          FF_TRY(tasks.yield(static_cast<std::uint64_t>(i)));
          FF_TRY(provider.as_row()->consolidate());
        }
      }
    }
    return Status();
  });
  EXPECT_TRUE(snapshotter.ok());

  Status status = tasks.run();
  EXPECT_TRUE(status.ok()) << status.to_string();
  EXPECT_EQ(read_mismatches, 0) << "the open snapshot changed while being read";

  HistoryChecker history;
  for (const Uuid& id : kept) {
    const auto at = std::find_if(taken.begin(), taken.end(),
                                 [&](const Taken& candidate) { return candidate.id == id; });
    const std::string what =
        at == taken.end() ? "first snapshot" : "snapshot " + std::to_string(at - taken.begin() + 1);
    auto volume = provider.open_snapshot(id);
    EXPECT_TRUE(volume.ok()) << what << ": " << volume.status().to_string();
    if (!volume.ok())
      break;
    const Bytes image = read_all(*volume.value());
    if (at != taken.end()) {
      EXPECT_TRUE(image == at->image) << what << " differs from the live image at its creation";
    }
    history.check(image, what);
    if (::testing::Test::HasFatalFailure())
      break;
  }
  if (!::testing::Test::HasFatalFailure()) {
    const Bytes final_image = read_all(provider);
    history.check(final_image, "live volume");
    for (int writer = 0; writer < kWriters; ++writer) {
      EXPECT_EQ(unit_generation(final_image, writer, kUnitsPerWriter - 1),
                last_generation[static_cast<std::size_t>(writer)])
          << "the live volume lost writer " << writer << "'s last generation";
      EXPECT_EQ(last_generation[static_cast<std::size_t>(writer)], kGenerations);
    }
  }
  // The first snapshot, still open, reads as it did before all of this.
  EXPECT_TRUE(read_all(*world->first_volume) == world->first_image);
  if (::testing::Test::HasFailure())
    ADD_FAILURE() << "the last steps of seed " << seed << ":\n" << tasks.trace_text();
  return {tasks.trace_hash(), tasks.steps(), tasks.trace()};
}

// The seeds a seeded test runs: FREEZEFRAME_SEED alone if set (a replay), otherwise
// kSeedsPerRun seeds from `first`.
std::vector<std::uint64_t> seeds_from(std::uint64_t first) {
  if (const char* chosen = std::getenv("FREEZEFRAME_SEED"); chosen != nullptr && *chosen != '\0')
    return {test_seed(first)};
  std::vector<std::uint64_t> seeds;
  for (std::uint64_t i = 0; i < kSeedsPerRun; ++i)
    seeds.push_back(first + i);
  return seeds;
}

class ProviderConcurrencyTest : public ::testing::TestWithParam<ConcurrencyParam> {};

TEST_P(ProviderConcurrencyTest, SnapshotsTakenDuringWritesShowStatesTheWritersPassedThrough) {
  std::uint64_t steps = 0;
  for (std::uint64_t seed : seeds_from(1000)) {
    steps += run_seeded(GetParam(), seed).steps;
    if (HasFailure())
      return;
  }
  RecordProperty("steps", std::to_string(steps));
}

TEST_P(ProviderConcurrencyTest, SameSeedGivesTheSameTraceHash) {
  const TracedSeed seed(2024);
  const SeededRun first = run_seeded(GetParam(), seed.value());
  const SeededRun second = run_seeded(GetParam(), seed.value());
  EXPECT_EQ(first.trace_hash, second.trace_hash);
  EXPECT_EQ(first.trace, second.trace);
  // Writers, readers and the snapshot task all took steps.
  EXPECT_GT(first.steps, static_cast<std::uint64_t>(kWriters) * kGenerations * kUnitsPerWriter);
}

TEST_P(ProviderConcurrencyTest, DifferentSeedsGiveDifferentInterleavings) {
  std::vector<std::uint64_t> hashes;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const SeededRun run = run_seeded(GetParam(), seed);
    EXPECT_EQ(std::find(hashes.begin(), hashes.end(), run.trace_hash), hashes.end())
        << "seed " << seed << " repeats an earlier seed's trace hash";
    hashes.push_back(run.trace_hash);
  }
}

INSTANTIATE_TEST_SUITE_P(Providers, ProviderConcurrencyTest,
                         ::testing::Values(ConcurrencyParam{ProviderKind::kCopyOnWrite, false},
                                           ConcurrencyParam{ProviderKind::kCopyOnWrite, true},
                                           ConcurrencyParam{ProviderKind::kRedirectOnWrite, false},
                                           ConcurrencyParam{ProviderKind::kRedirectOnWrite, true}),
                         [](const ::testing::TestParamInfo<ConcurrencyParam>& param_info) {
                           return std::string(provider_kind_name(param_info.param.kind)) +
                                  (param_info.param.churn ? "_WithDeletes" : "");
                         });

// Real threads (see the file comment): two writers, one reader of the open snapshot, and the
// test's thread taking, deleting and (RoW) consolidating snapshots as fast as it can.
class ProviderConcurrencyThreadsTest : public ::testing::TestWithParam<ProviderKind> {};

TEST_P(ProviderConcurrencyThreadsTest, RequestsInsideTheProviderAtOnceKeepSnapshotsIntact) {
  constexpr int kThreadWriters = 2;
  constexpr std::uint64_t kThreadGenerations = 4;
  constexpr int kThreadReads = 4;
  constexpr int kThreadSnapshots = 6;
  // FREEZEFRAME_PLANT=race-unlocked-write makes the writers race: scripts/tsan.sh runs this test
  // so once, expecting ThreadSanitizer to report it.
  const Status plants = plants_from_environment();
  ASSERT_TRUE(plants.ok()) << plants.to_string();
  std::optional<ConcurrencyWorld> world = make_world(GetParam());
  ASSERT_TRUE(world.has_value());
  SnapshotProvider& provider = *world->rig->provider;
  std::atomic<int> write_failures{0};
  std::atomic<int> read_failures{0};
  std::atomic<int> read_mismatches{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreadWriters + 1);
  for (int writer = 0; writer < kThreadWriters; ++writer) {
    threads.emplace_back([&, writer] {
      for (std::uint64_t generation = 1; generation <= kThreadGenerations; ++generation) {
        for (std::uint64_t unit = 0; unit < kUnitsPerWriter; ++unit) {
          if (!provider.write(unit_offset(writer, unit), unit_content(writer, unit, generation))
                   .ok())
            ++write_failures;
        }
      }
    });
  }
  threads.emplace_back([&] {
    Bytes got(kWriters * kRegionBytes);
    for (int i = 0; i < kThreadReads; ++i) {
      if (!world->first_volume->read(0, got).ok())
        ++read_failures;
      else if (std::memcmp(got.data(), world->first_image.data(), got.size()) != 0)
        ++read_mismatches;
    }
  });
  std::vector<Uuid> kept = {world->first_id};
  for (int i = 1; i < kThreadSnapshots; ++i) {
    auto info = provider.create_snapshot();
    EXPECT_TRUE(info.ok()) << info.status().to_string();
    if (info.ok())
      kept.push_back(info.value().id);
    if (kept.size() > 3) {
      EXPECT_TRUE(provider.delete_snapshot(kept[1]).ok());
      kept.erase(kept.begin() + 1);
      if (GetParam() == ProviderKind::kRedirectOnWrite) {
        EXPECT_TRUE(provider.as_row()->consolidate().ok());
      }
    }
  }
  for (std::thread& thread : threads)
    thread.join();
  EXPECT_EQ(write_failures.load(), 0);
  EXPECT_EQ(read_failures.load(), 0);
  EXPECT_EQ(read_mismatches.load(), 0) << "the open snapshot changed while being read";
  HistoryChecker history;
  for (std::size_t i = 0; i < kept.size(); ++i) {
    auto volume = provider.open_snapshot(kept[i]);
    ASSERT_TRUE(volume.ok()) << volume.status().to_string();
    history.check(read_all(*volume.value()), "snapshot " + std::to_string(i));
    if (HasFatalFailure())
      return;
  }
  const Bytes live = read_all(provider);
  history.check(live, "live volume");
  for (int writer = 0; writer < kThreadWriters; ++writer)
    EXPECT_EQ(unit_generation(live, writer, kUnitsPerWriter - 1), kThreadGenerations);
  EXPECT_TRUE(read_all(*world->first_volume) == world->first_image);
}

INSTANTIATE_TEST_SUITE_P(Providers, ProviderConcurrencyThreadsTest,
                         ::testing::Values(ProviderKind::kCopyOnWrite,
                                           ProviderKind::kRedirectOnWrite),
                         [](const ::testing::TestParamInfo<ProviderKind>& param_info) {
                           return std::string(provider_kind_name(param_info.param));
                         });

}  // namespace
}  // namespace freezeframe

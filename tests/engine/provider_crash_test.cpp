// Crash at every single write (and every flush): a fixed scenario of writes, flushes, snapshot
// creations, deletions, a revert and a consolidation runs over simulated origin and diff
// volumes. A fault-free run counts the writes (flushes) the scenario issues to both volumes;
// then, for each k, a fresh run fails the k-th one with an I/O error, both volumes lose
// power, and the provider is reopened. After every such crash the provider must open, keep
// every write acknowledged by a completed flush (invariant 2), keep every committed snapshot
// bit-exact (invariant 3), and accept new writes and snapshots. Change tracking never misses
// a change: since every snapshot's change id (deleted snapshots' too), each chunk that differs
// from the snapshot is listed, never a reset, and only chunks written since are.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "crash_rig.h"
#include "freezeframe/assert.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/reference_model.h"
#include "freezeframe/sim/sim_volume.h"
#include "freezeframe/snapshot_provider.h"
#include "seed.h"
#include "volume_image.h"

namespace freezeframe {
namespace {

using Bytes = std::vector<std::byte>;
using sim::IoOperation;
using testing::read_all;

constexpr std::uint64_t kOriginBytes = 64 * 1024;
constexpr std::uint64_t kDiffBytes = 2 * 1024 * 1024;
constexpr std::uint32_t kChunkBytes = 4096;
constexpr std::uint64_t kSector = 512;

// Origin and diff: SimVolumes over MemoryVolumes, each behind a TracingVolume.
struct Rig : testing::CrashRig {
  Rig(std::uint64_t seed, double survival)
      : CrashRig(memory("origin", kOriginBytes, Uuid::from_name("provider-crash-test-origin")),
                 memory("diff", kDiffBytes, Uuid()), seed, survival) {}

  static std::unique_ptr<Volume> memory(const char* name, std::uint64_t size, const Uuid& uuid) {
    auto volume = MemoryVolume::create({.name = name, .size_bytes = size, .uuid = uuid});
    FF_ASSERT(volume.ok());
    return std::move(volume).value();
  }
};

// A snapshot the scenario asked for, and what the provider promised about it.
struct Tracked {
  enum class State { kMaybeCreated, kCommitted, kMaybeDeleted, kDeleted };
  State state = State::kMaybeCreated;
  Uuid id;                      // nil while the create is in flight or failed
  Bytes image;                  // the live volume at the create call
  std::string change_id;        // SnapshotInfo::change_id once known
  std::vector<bool> touched{};  // chunks a write, discard or revert reached since the create
};

// Runs the fixed scenario, updating the expected state before and after each call, and stops
// at the first call during which an injected fault fired (that call is "in flight" at the
// crash).
class Scenario {
 public:
  Scenario(ProviderKind kind, Rig& rig, std::uint64_t seed)
      : kind_(kind),
        rig_(rig),
        data_(seed),
        uuids_(derive_seed(seed, "uuids")),
        model_(kOriginBytes) {}

  void run() {
    ProviderOptions options;
    options.chunk_bytes = kChunkBytes;
    options.limit = DiffAreaLimit::unbounded();
    options.snapshots_max = 8;
    options.change_ids_max = 8;
    options.random = &uuids_;
    auto created = SnapshotProvider::create(kind_, *rig_.origin, *rig_.diff, options);
    if (stopped(created.status(), "create the provider"))
      return;
    provider_ = std::move(created).value();
    created_ = true;

    const std::uint64_t c = kChunkBytes;
    if (!write(0, 2 * c) || !write(3 * c, c) || !write(5 * c + kSector, kSector) ||
        !write(7 * c, c) || !flush())
      return;
    int a = create();
    if (a < 0)
      return;
    // Whole chunks, partial chunks, a write across a chunk boundary and a discard.
    if (!write(0, c) || !write(c + 2 * kSector, kSector) || !write(2 * c + 3584, 1024) ||
        !write(5 * c, 3 * kSector) || !discard(7 * c, c) || !flush())
      return;
    int b = create();
    if (b < 0)
      return;
    if (!write(kSector, 2 * kSector) || !write(9 * c, c) || !remove(a) ||
        !write(10 * c + kSector, kSector) || !revert(b) || !write(c, kSector) ||
        !write(11 * c, 2 * c) || !flush())
      return;
    int d = create();
    if (d < 0)
      return;
    if (!write(3 * c + kSector, kSector) || !write(12 * c, c) || !remove(b) || !consolidate() ||
        !write(13 * c + 3 * kSector, 2 * kSector) || !flush())
      return;
    int e = create();
    if (e < 0)
      return;
    if (!write(0, 4 * c) || !discard(12 * c, c) || !remove(d) || !write(14 * c, kSector) ||
        !consolidate() || !flush())
      return;
    (void)e;
  }

  bool stopped_early() const { return stopped_; }
  bool provider_created() const { return created_; }
  void close() { provider_.reset(); }
  Random& uuids() { return uuids_; }
  sim::SectorModel& model() { return model_; }
  std::vector<Tracked>& snapshots() { return snapshots_; }

 private:
  // True if the scenario must stop: a fault fired during the call. A call that failed
  // without an injected fault is a test failure.
  bool stopped(const Status& status, const std::string& what) {
    if (rig_.injected_failures() > 0) {
      stopped_ = true;
      return true;
    }
    EXPECT_TRUE(status.ok()) << what << ": " << status.to_string();
    if (!status.ok()) {
      stopped_ = true;
      return true;
    }
    return false;
  }

  // Every snapshot taken so far sees chunks [offset, offset + length) touched.
  void touch(std::uint64_t offset, std::uint64_t length) {
    for (Tracked& snapshot : snapshots_) {
      for (std::uint64_t chunk = offset / kChunkBytes; chunk <= (offset + length - 1) / kChunkBytes;
           ++chunk)
        snapshot.touched[chunk] = true;
    }
  }

  bool write(std::uint64_t offset, std::uint64_t length) {
    touch(offset, length);
    Bytes data(length);
    data_.fill(data);
    model_.begin_write(offset, data);
    Status status = provider_->write(offset, data);
    if (status.ok())
      model_.complete_write(offset, data);
    return !stopped(status, "write at " + std::to_string(offset));
  }

  bool discard(std::uint64_t offset, std::uint64_t length) {
    touch(offset, length);
    Bytes zeros(length);
    model_.begin_write(offset, zeros);
    Status status = provider_->discard(offset, length);
    if (status.ok())
      model_.complete_write(offset, zeros);
    return !stopped(status, "discard at " + std::to_string(offset));
  }

  bool flush() {
    Status status = provider_->flush();
    if (status.ok())
      model_.flushed();
    return !stopped(status, "flush");
  }

  // Returns the index of the new snapshot, -1 if the scenario stops.
  int create() {
    snapshots_.push_back({Tracked::State::kMaybeCreated, Uuid(), model_.live(), "",
                          std::vector<bool>(kOriginBytes / kChunkBytes, false)});
    auto info = provider_->create_snapshot();
    if (info.ok()) {
      snapshots_.back().state = Tracked::State::kCommitted;
      snapshots_.back().id = info.value().id;
      snapshots_.back().change_id = info.value().change_id;
    }
    if (stopped(info.status(), "create snapshot"))
      return -1;
    return static_cast<int>(snapshots_.size()) - 1;
  }

  bool remove(int index) {
    Tracked& snapshot = snapshots_[static_cast<std::size_t>(index)];
    snapshot.state = Tracked::State::kMaybeDeleted;
    Status status = provider_->delete_snapshot(snapshot.id);
    if (status.ok())
      snapshot.state = Tracked::State::kDeleted;
    return !stopped(status, "delete snapshot");
  }

  // The live volume becomes the snapshot's image; newer snapshots are deleted.
  bool revert(int index) {
    const Bytes image = snapshots_[static_cast<std::size_t>(index)].image;
    touch(0, kOriginBytes);
    model_.begin_write(0, image);
    for (std::size_t i = static_cast<std::size_t>(index) + 1; i < snapshots_.size(); ++i) {
      if (snapshots_[i].state != Tracked::State::kDeleted)
        snapshots_[i].state = Tracked::State::kMaybeDeleted;
    }
    Status status = provider_->revert_to_snapshot(snapshots_[static_cast<std::size_t>(index)].id);
    if (status.ok()) {
      model_.complete_write(0, image);
      for (std::size_t i = static_cast<std::size_t>(index) + 1; i < snapshots_.size(); ++i)
        snapshots_[i].state = Tracked::State::kDeleted;
    }
    return !stopped(status, "revert");
  }

  bool consolidate() {
    RowProvider* row = provider_->as_row();
    if (kind_ == ProviderKind::kCopyOnWrite) {
      EXPECT_EQ(row, nullptr);  // consolidation is RoW's alone
      return !stopped(Status(), "consolidate");
    }
    EXPECT_NE(row, nullptr) << "a RoW provider is not a RowProvider";
    if (row == nullptr)
      return false;
    return !stopped(row->consolidate(), "consolidate");
  }

  ProviderKind kind_;
  Rig& rig_;
  Random data_;
  Random uuids_;
  sim::SectorModel model_;
  std::vector<Tracked> snapshots_;
  std::unique_ptr<SnapshotProvider> provider_;
  bool created_ = false;
  bool stopped_ = false;
};

// Since each snapshot's change id: every chunk where the live volume differs from the
// snapshot is listed (no reset: tracking is exact across a crash), and nothing is listed that
// no write reached since.
void check_change_tracking(SnapshotProvider& provider, const std::vector<Tracked>& tracked) {
  const Bytes live = read_all(provider);
  for (std::size_t i = 0; i < tracked.size(); ++i) {
    const Tracked& t = tracked[i];
    if (t.change_id.empty())
      continue;
    const std::string what = "changes since snapshot " + std::to_string(i);
    auto changed = provider.changed_extents(t.change_id);
    ASSERT_TRUE(changed.ok()) << what << ": " << changed.status().to_string();
    ASSERT_FALSE(changed->reset) << what << ": " << changed->reset_reason;
    std::vector<bool> listed(kOriginBytes / kChunkBytes, false);
    for (const Extent& extent : changed->extents) {
      for (std::uint64_t at = extent.offset; at < extent.end(); at += kChunkBytes)
        listed[at / kChunkBytes] = true;
    }
    for (std::uint64_t chunk = 0; chunk < listed.size(); ++chunk) {
      const bool differs = std::memcmp(live.data() + chunk * kChunkBytes,
                                       t.image.data() + chunk * kChunkBytes, kChunkBytes) != 0;
      ASSERT_TRUE(!differs || listed[chunk]) << what << ": chunk " << chunk << " was missed";
      ASSERT_TRUE(!listed[chunk] || t.touched[chunk])
          << what << ": chunk " << chunk << " is listed but no write reached it";
    }
  }
}

// After the crash: the live volume and the snapshots hold what the provider promised.
void check_recovered(SnapshotProvider& provider, Scenario& scenario) {
  std::string problem = scenario.model().check_recovered(read_all(provider));
  ASSERT_TRUE(problem.empty()) << "live volume: " << problem;

  std::vector<Tracked>& tracked = scenario.snapshots();
  std::vector<SnapshotInfo> listed = provider.snapshots();
  auto listed_has = [&](const Uuid& id) {
    for (const SnapshotInfo& info : listed) {
      if (info.id == id)
        return true;
    }
    return false;
  };
  auto check_image = [&](const Uuid& id, const Bytes& image, const std::string& what) {
    auto volume = provider.open_snapshot(id);
    ASSERT_TRUE(volume.ok()) << what << ": " << volume.status().to_string();
    ASSERT_TRUE(read_all(*volume.value()) == image) << what << " does not read as at creation";
  };
  for (std::size_t i = 0; i < tracked.size(); ++i) {
    const std::string what = "snapshot " + std::to_string(i);
    switch (tracked[i].state) {
      case Tracked::State::kCommitted:
        ASSERT_TRUE(listed_has(tracked[i].id)) << what << " was committed but is gone";
        check_image(tracked[i].id, tracked[i].image, what);
        break;
      case Tracked::State::kMaybeDeleted:
        if (listed_has(tracked[i].id))
          check_image(tracked[i].id, tracked[i].image, what + " (delete in flight)");
        break;
      case Tracked::State::kDeleted:
        ASSERT_FALSE(listed_has(tracked[i].id)) << what << " was deleted but is back";
        break;
      case Tracked::State::kMaybeCreated:
        break;
    }
    if (::testing::Test::HasFatalFailure())
      return;
  }
  // A snapshot the scenario does not know by id can only be one whose create was in flight.
  for (const SnapshotInfo& info : listed) {
    bool known = false;
    for (const Tracked& t : tracked)
      known = known || (!t.id.is_nil() && t.id == info.id);
    if (known)
      continue;
    ASSERT_FALSE(tracked.empty()) << "unknown snapshot " << info.id.to_string();
    Tracked& in_flight = tracked.back();
    ASSERT_EQ(in_flight.state, Tracked::State::kMaybeCreated)
        << "unknown snapshot " << info.id.to_string() << " after the crash";
    check_image(info.id, in_flight.image, "snapshot whose create was in flight");
    // It exists: from now on it is an ordinary committed snapshot.
    in_flight.id = info.id;
    in_flight.state = Tracked::State::kCommitted;
    in_flight.change_id = info.change_id;
  }
  check_change_tracking(provider, tracked);
}

// After recovery the provider takes new writes and snapshots, and survives a clean reopen.
void check_usable(std::unique_ptr<SnapshotProvider>& provider, Rig& rig, Scenario& scenario) {
  Random data(7);
  Bytes live = read_all(*provider);
  Bytes first(2 * kChunkBytes);
  data.fill(first);
  ASSERT_TRUE(provider->write(kChunkBytes, first).ok());
  std::memcpy(live.data() + kChunkBytes, first.data(), first.size());
  auto info = provider->create_snapshot();
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  Bytes at_snapshot = live;
  Bytes second(kSector);
  data.fill(second);
  ASSERT_TRUE(provider->write(kChunkBytes + kSector, second).ok());
  std::memcpy(live.data() + kChunkBytes + kSector, second.data(), second.size());
  ASSERT_TRUE(provider->flush().ok());

  provider.reset();
  auto reopened = SnapshotProvider::open(*rig.origin, *rig.diff, {.random = &scenario.uuids()});
  ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
  provider = std::move(reopened).value();
  ASSERT_TRUE(read_all(*provider) == live) << "live volume after new writes and a reopen";
  auto volume = provider->open_snapshot(info.value().id);
  ASSERT_TRUE(volume.ok()) << volume.status().to_string();
  ASSERT_TRUE(read_all(*volume.value()) == at_snapshot) << "snapshot taken after recovery";
  for (const Tracked& t : scenario.snapshots()) {
    if (t.state != Tracked::State::kCommitted)
      continue;
    auto old = provider->open_snapshot(t.id);
    ASSERT_TRUE(old.ok()) << old.status().to_string();
    ASSERT_TRUE(read_all(*old.value()) == t.image) << "snapshot older than the crash";
  }
}

struct CrashParam {
  ProviderKind kind;
  IoOperation crash_on;
  double survival;
};

std::string param_name(const ::testing::TestParamInfo<CrashParam>& info) {
  std::string name = std::string(provider_kind_name(info.param.kind)) +
                     (info.param.crash_on == IoOperation::kWrite ? "_write" : "_flush");
  return name + "_survive" + std::to_string(static_cast<int>(info.param.survival * 100));
}

class ProviderCrashTest : public ::testing::TestWithParam<CrashParam> {};

TEST_P(ProviderCrashTest, RecoversFromACrashAtEveryOperation) {
  const CrashParam param = GetParam();
  const std::uint64_t seed = testing::test_seed(20261203);
  SCOPED_TRACE(testing::replay_command(seed));

  // The fault-free run: how many operations of the kind, and on which volume each one is.
  std::vector<char> volume_of;
  {
    Rig rig(seed, param.survival);
    Scenario scenario(param.kind, rig, seed);
    scenario.run();
    ASSERT_FALSE(scenario.stopped_early());
    volume_of = rig.volumes_of(sim::operation_bit(param.crash_on));
    auto origin_stats = rig.origin_sim->stats();
    auto diff_stats = rig.diff_sim->stats();
    std::uint64_t counted = param.crash_on == IoOperation::kWrite
                                ? origin_stats.writes + diff_stats.writes
                                : origin_stats.flushes + diff_stats.flushes;
    ASSERT_EQ(counted, volume_of.size());
  }
  ASSERT_GT(volume_of.size(), 10u);
  RecordProperty("crash_points", static_cast<int>(volume_of.size()));

  for (std::size_t k = 1; k <= volume_of.size(); ++k) {
    SCOPED_TRACE("crash at operation " + std::to_string(k) + " of " +
                 std::to_string(volume_of.size()) + " (on the " +
                 (volume_of[k - 1] == 'o' ? "origin" : "diff volume") + ")");
    const std::uint64_t crash_seed = derive_seed(seed, "crash " + std::to_string(k));
    Rig rig(crash_seed, param.survival);
    rig.crash_at(volume_of, k, sim::operation_bit(param.crash_on));

    Scenario scenario(param.kind, rig, seed);
    scenario.run();
    ASSERT_FALSE(HasFailure());
    ASSERT_TRUE(scenario.stopped_early()) << "the injected fault never fired";
    ASSERT_EQ(rig.injected_failures(), 1u);

    // Power loss: the provider object goes away without a flush; both volumes drop or keep
    // their unflushed sectors.
    scenario.close();
    rig.power_loss();

    auto reopened = SnapshotProvider::open(*rig.origin, *rig.diff, {.random = &scenario.uuids()});
    if (!scenario.provider_created()) {
      // The crash hit the formatting of the diff area: no diff area, or a complete one.
      if (!reopened.ok()) {
        ASSERT_EQ(reopened.status().code(), ErrorCode::kCorrupt) << reopened.status().to_string();
        ProviderOptions options;
        options.chunk_bytes = kChunkBytes;
        auto created = SnapshotProvider::create(param.kind, *rig.origin, *rig.diff, options);
        ASSERT_TRUE(created.ok()) << created.status().to_string();
        reopened = std::move(created);
      }
    }
    ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
    std::unique_ptr<SnapshotProvider> provider = std::move(reopened).value();
    check_recovered(*provider, scenario);
    ASSERT_FALSE(HasFatalFailure());
    check_usable(provider, rig, scenario);
    ASSERT_FALSE(HasFatalFailure());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Providers, ProviderCrashTest,
    ::testing::Values(CrashParam{ProviderKind::kCopyOnWrite, IoOperation::kWrite, 0.5},
                      CrashParam{ProviderKind::kCopyOnWrite, IoOperation::kWrite, 0.0},
                      CrashParam{ProviderKind::kCopyOnWrite, IoOperation::kWrite, 1.0},
                      CrashParam{ProviderKind::kCopyOnWrite, IoOperation::kFlush, 0.5},
                      CrashParam{ProviderKind::kCopyOnWrite, IoOperation::kFlush, 0.0},
                      CrashParam{ProviderKind::kCopyOnWrite, IoOperation::kFlush, 1.0},
                      CrashParam{ProviderKind::kRedirectOnWrite, IoOperation::kWrite, 0.5},
                      CrashParam{ProviderKind::kRedirectOnWrite, IoOperation::kWrite, 0.0},
                      CrashParam{ProviderKind::kRedirectOnWrite, IoOperation::kWrite, 1.0},
                      CrashParam{ProviderKind::kRedirectOnWrite, IoOperation::kFlush, 0.5},
                      CrashParam{ProviderKind::kRedirectOnWrite, IoOperation::kFlush, 0.0},
                      CrashParam{ProviderKind::kRedirectOnWrite, IoOperation::kFlush, 1.0}),
    param_name);

}  // namespace
}  // namespace freezeframe

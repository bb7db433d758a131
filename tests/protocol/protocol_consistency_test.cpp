// Application consistency through the protocol: the simulated transactional database (data
// volume + log volume) is a registered writer; snapshot sets taken through the coordinator
// must pass the consistency checker across both volumes, while the same state snapshotted
// without writers is only crash-consistent (recoverable by replaying the log).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "freezeframe/coordinator.h"
#include "freezeframe/holdable_volume.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/protocol_provider.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/sim/transactional_app.h"
#include "freezeframe/snapshot_provider.h"
#include "seed.h"

namespace freezeframe {
namespace {

constexpr std::uint64_t kVolumeBytes = 8ull << 20;

// Members are destroyed in reverse order: the coordinator first, then the app, then volumes.
struct AppRig {
  sim::SimClock clock;
  std::unique_ptr<Random> random;
  std::unique_ptr<MemoryVolume> data_origin;
  std::unique_ptr<MemoryVolume> log_origin;
  std::unique_ptr<MemoryVolume> data_diff;
  std::unique_ptr<MemoryVolume> log_diff;
  std::unique_ptr<SnapshotProvider> data_provider;
  std::unique_ptr<SnapshotProvider> log_provider;
  std::unique_ptr<HoldableVolume> data;
  std::unique_ptr<HoldableVolume> log;
  std::unique_ptr<BlockSnapshotAdapter> block;
  std::unique_ptr<sim::TransactionalApp> app;
  std::unique_ptr<Coordinator> coordinator;

  // Opens the data and log snapshots of a set and judges the pair.
  sim::ConsistencyReport check(const SnapshotSet& set) {
    EXPECT_EQ(set.snapshots.size(), 2u);
    auto data_snapshot = data_provider->open_snapshot(set.snapshots.at(0).id);
    auto log_snapshot = log_provider->open_snapshot(set.snapshots.at(1).id);
    EXPECT_TRUE(data_snapshot.ok() && log_snapshot.ok());
    if (!data_snapshot.ok() || !log_snapshot.ok())
      return {};
    auto report = sim::ConsistencyChecker::check(*data_snapshot.value(), *log_snapshot.value());
    EXPECT_TRUE(report.ok()) << report.status().to_string();
    return report.ok() ? report.value() : sim::ConsistencyReport{};
  }
};

std::unique_ptr<AppRig> make_rig(ProviderKind kind, std::uint64_t seed) {
  auto rig = std::make_unique<AppRig>();
  rig->random = std::make_unique<Random>(seed);
  rig->data_origin = MemoryVolume::create({.name = "data", .size_bytes = kVolumeBytes}).value();
  rig->log_origin = MemoryVolume::create({.name = "log", .size_bytes = kVolumeBytes}).value();
  rig->data_diff = MemoryVolume::create({.name = "data-diff", .size_bytes = 64ull << 20}).value();
  rig->log_diff = MemoryVolume::create({.name = "log-diff", .size_bytes = 64ull << 20}).value();
  ProviderOptions options;
  options.limit = DiffAreaLimit::unbounded();
  options.random = rig->random.get();
  options.clock = &rig->clock;
  auto data_provider = SnapshotProvider::create(kind, *rig->data_origin, *rig->data_diff, options);
  auto log_provider = SnapshotProvider::create(kind, *rig->log_origin, *rig->log_diff, options);
  EXPECT_TRUE(data_provider.ok() && log_provider.ok());
  if (!data_provider.ok() || !log_provider.ok())
    return nullptr;
  rig->data_provider = std::move(data_provider).value();
  rig->log_provider = std::move(log_provider).value();
  rig->data = std::make_unique<HoldableVolume>(*rig->data_provider, "data");
  rig->log = std::make_unique<HoldableVolume>(*rig->log_provider, "log");
  rig->block = BlockSnapshotAdapter::create(
      std::string("block-") + std::string(provider_kind_name(kind)), kind);
  EXPECT_TRUE(rig->block->add_volume(*rig->data_provider, "data").ok());
  EXPECT_TRUE(rig->block->add_volume(*rig->log_provider, "log").ok());
  sim::TransactionalAppOptions app_options;
  app_options.seed = seed;
  app_options.blocks_per_transaction_max = 6;
  auto app = sim::TransactionalApp::create(*rig->data, *rig->log, app_options);
  EXPECT_TRUE(app.ok()) << app.status().to_string();
  if (!app.ok())
    return nullptr;
  rig->app = std::move(app).value();
  rig->coordinator = std::make_unique<Coordinator>(rig->clock);
  EXPECT_TRUE(rig->coordinator->register_provider(*rig->block).ok());
  EXPECT_TRUE(rig->coordinator->add_volume(*rig->data).ok());
  EXPECT_TRUE(rig->coordinator->add_volume(*rig->log).ok());
  EXPECT_TRUE(rig->coordinator->set_default_provider("data", rig->block->id()).ok());
  EXPECT_TRUE(rig->coordinator->set_default_provider("log", rig->block->id()).ok());
  EXPECT_TRUE(rig->coordinator->register_writer(*rig->app).ok());
  return rig;
}

std::string kind_name(const ::testing::TestParamInfo<ProviderKind>& info) {
  return std::string(provider_kind_name(info.param));
}

class ProtocolConsistencyTest : public ::testing::TestWithParam<ProviderKind> {};

// The app runs transactions on a background thread; every set taken through the protocol,
// with the app frozen by its writer, checks consistent on both volumes at once.
TEST_P(ProtocolConsistencyTest, SetsTakenUnderLoadAreApplicationConsistent) {
  const std::uint64_t seed = testing::test_seed(31);
  SCOPED_TRACE(testing::replay_command(seed));
  auto rig = make_rig(GetParam(), seed);
  ASSERT_TRUE(rig);
  Status run_status;
  std::thread load([&] { run_status = rig->app->run(1'000'000); });
  std::uint64_t transactions_seen = 0;
  for (int set = 0; set < 6; ++set) {
    rig->app->wait_until_completed(transactions_seen + 25);
    auto session = rig->coordinator->take_snapshot_set({"data", "log"});
    ASSERT_TRUE(session.ok()) << session.status().to_string();
    auto info = session.value()->snapshot_set();
    ASSERT_TRUE(info.ok());
    sim::ConsistencyReport report = rig->check(info.value());
    EXPECT_EQ(report.verdict, sim::Consistency::kConsistent)
        << "set " << set << ": " << report.message;
    EXPECT_GT(report.committed_transactions + report.checkpoint_txn, 0u);
    ASSERT_TRUE(session.value()->backup_complete().ok());
    // Backup context: the set is released at backup-complete.
    EXPECT_TRUE(rig->data_provider->snapshots().empty());
    EXPECT_TRUE(rig->log_provider->snapshots().empty());
    transactions_seen = rig->app->stats().transactions_completed;
  }
  rig->app->stop();
  load.join();
  EXPECT_TRUE(run_status.ok()) << run_status.to_string();
  EXPECT_GE(rig->app->stats().transactions_completed, 150u);
}

// The same instant, mid-transaction, snapshotted twice: without writers the pair is only
// recoverable (the log holds a committed transaction the data does not fully have); through
// the writer, which completes the transaction at freeze, it is consistent.
TEST_P(ProtocolConsistencyTest, WithoutWritersASetIsOnlyCrashConsistent) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto rig = make_rig(GetParam(), seed);
    ASSERT_TRUE(rig);
    // Run a few transactions, then stop inside one: its record is committed in the log and
    // some but not all of its data blocks are written.
    bool inside = false;
    for (int steps = 0; steps < 10'000 && !inside; ++steps) {
      auto step = rig->app->step();
      ASSERT_TRUE(step.ok()) << step.status().to_string();
      sim::AppStats stats = rig->app->stats();
      inside = step.value() == sim::AppStep::kDataWrite && stats.in_flight &&
               stats.transactions_completed >= 10;
    }
    ASSERT_TRUE(inside) << "no step left a transaction half-applied";

    SnapshotSetOptions no_writers;
    no_writers.context = SnapshotContext::kFileShareBackup;
    auto crash_consistent = rig->coordinator->take_snapshot_set({"data", "log"}, no_writers);
    ASSERT_TRUE(crash_consistent.ok()) << crash_consistent.status().to_string();
    sim::ConsistencyReport without = rig->check(crash_consistent.value()->snapshot_set().value());
    EXPECT_EQ(without.verdict, sim::Consistency::kRecoverable) << without.message;
    EXPECT_TRUE(rig->app->stats().in_flight) << "a set without writers touched the app";
    ASSERT_TRUE(crash_consistent.value()->backup_complete().ok());

    auto with_writer = rig->coordinator->take_snapshot_set({"data", "log"});
    ASSERT_TRUE(with_writer.ok()) << with_writer.status().to_string();
    sim::ConsistencyReport with = rig->check(with_writer.value()->snapshot_set().value());
    EXPECT_EQ(with.verdict, sim::Consistency::kConsistent) << with.message;
    ASSERT_TRUE(with_writer.value()->backup_complete().ok());
  }
}

INSTANTIATE_TEST_SUITE_P(Providers, ProtocolConsistencyTest,
                         ::testing::Values(ProviderKind::kCopyOnWrite,
                                           ProviderKind::kRedirectOnWrite),
                         kind_name);

}  // namespace
}  // namespace freezeframe

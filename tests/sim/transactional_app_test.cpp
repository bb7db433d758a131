// The simulated transactional app and its consistency checker: quiesced images are
// application-consistent, crashes leave recoverable images (the write-ahead rule), the
// checker tells half-applied transactions from corruption, and snapshot pairs taken through
// freeze/thaw differ from crash-consistent pairs taken under load.
#include "freezeframe/sim/transactional_app.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/sim_volume.h"
#include "freezeframe/snapshot_provider.h"
#include "seed.h"
#include "volume_image.h"

namespace freezeframe::sim {
namespace {

using Bytes = std::vector<std::byte>;

constexpr std::uint64_t kDataBytes = 1 << 20;  // 256 blocks of 4 KiB
constexpr std::uint64_t kLogBytes = 1 << 20;

std::unique_ptr<MemoryVolume> memory(const std::string& name, std::uint64_t bytes) {
  auto volume = MemoryVolume::create({.name = name, .size_bytes = bytes});
  EXPECT_TRUE(volume.ok()) << volume.status().to_string();
  return volume.ok() ? std::move(volume).value() : nullptr;
}

using testing::read_all;

// A private copy of a volume's current content, so a test can damage it.
std::unique_ptr<MemoryVolume> copy_of(Volume& volume) {
  auto copy = memory(volume.name() + "-copy", volume.size_bytes());
  Status status = copy->write(0, read_all(volume));
  EXPECT_TRUE(status.ok()) << status.to_string();
  return copy;
}

// Runs `transactions` transactions of `app`, then copies `volume` while the app is frozen (at
// a transaction boundary), and thaws it.
std::unique_ptr<MemoryVolume> run_then_copy_frozen(TransactionalApp& app,
                                                   std::uint64_t transactions, Volume& volume) {
  EXPECT_TRUE(app.run(transactions).ok());
  EXPECT_TRUE(app.freeze({}).ok());
  auto copy = copy_of(volume);
  EXPECT_TRUE(app.thaw({}).ok());
  return copy;
}

ConsistencyReport check(Volume& data, Volume& log) {
  auto report = ConsistencyChecker::check(data, log);
  EXPECT_TRUE(report.ok()) << report.status().to_string();
  return report.ok() ? std::move(report).value() : ConsistencyReport{};
}

std::string describe(const ConsistencyReport& report) {
  return std::string(consistency_name(report.verdict)) + ": " + report.message;
}

std::unique_ptr<TransactionalApp> make_app(Volume& data, Volume& log,
                                           TransactionalAppOptions options) {
  auto app = TransactionalApp::create(data, log, options);
  EXPECT_TRUE(app.ok()) << app.status().to_string();
  return app.ok() ? std::move(app).value() : nullptr;
}

// Runs transactions of an app on a thread of its own, from construction until finish() or
// stop(); destruction stops the app first if neither was called.
class BackgroundRun {
 public:
  BackgroundRun(TransactionalApp& app, std::uint64_t transactions)
      : app_(app), thread_([this, transactions] { status_ = app_.run(transactions); }) {}
  ~BackgroundRun() {
    if (thread_.joinable())
      stop().ignore_error();
  }
  BackgroundRun(const BackgroundRun&) = delete;
  BackgroundRun& operator=(const BackgroundRun&) = delete;

  // Waits for the run to end by itself; the run's status.
  Status finish() {
    thread_.join();
    return status_;
  }
  // Stops the app at its next transaction boundary and waits; the run's status.
  Status stop() {
    app_.stop();
    return finish();
  }

 private:
  TransactionalApp& app_;
  Status status_;
  std::thread thread_;  // last: it runs as soon as it is made
};

// Steps until `wanted` is the step just taken; fails the test after `steps_max` steps.
void step_until(TransactionalApp& app, AppStep wanted, int steps_max = 1000) {
  for (int i = 0; i < steps_max; ++i) {
    auto step = app.step();
    ASSERT_TRUE(step.ok()) << step.status().to_string();
    if (*step == wanted)
      return;
  }
  FAIL() << "step never reached";
}

struct MemoryPair {
  std::unique_ptr<MemoryVolume> data = memory("data", kDataBytes);
  std::unique_ptr<MemoryVolume> log = memory("log", kLogBytes);
};

TEST(TransactionalApp, QuiescedImagesAreConsistent) {
  MemoryPair volumes;
  // A small log, so the run passes several checkpoints.
  auto small_log = memory("log", 128 * 1024);
  auto app = make_app(*volumes.data, *small_log, {.seed = 3, .flush_every = 4});
  ASSERT_NE(app, nullptr);
  ASSERT_TRUE(app->run(60).ok());
  // Leave a transaction half done: freeze must finish it.
  step_until(*app, AppStep::kLogFlush);
  ASSERT_TRUE(app->stats().in_flight);

  ASSERT_TRUE(app->freeze({}).ok());
  EXPECT_FALSE(app->stats().in_flight);
  auto data = copy_of(*volumes.data);
  auto log = copy_of(*small_log);
  ASSERT_TRUE(app->thaw({}).ok());

  const AppStats stats = app->stats();
  EXPECT_EQ(stats.transactions_completed, 61u);
  EXPECT_GT(stats.checkpoints, 0u);
  const ConsistencyReport report = check(*data, *log);
  EXPECT_EQ(report.verdict, Consistency::kConsistent) << describe(report);
  EXPECT_EQ(report.blocks_checked, 256u);
  EXPECT_EQ(report.blocks_matching, 256u);
  EXPECT_EQ(report.last_committed_txn, 61u);
  EXPECT_GT(report.committed_transactions, 0u);
  EXPECT_EQ(report.uncommitted_transactions, 0u);
  EXPECT_TRUE(report.message.empty());
}

TEST(TransactionalApp, SameSeedWritesTheSameImages) {
  MemoryPair first, second, other;
  auto a = make_app(*first.data, *first.log, {.seed = 11});
  auto b = make_app(*second.data, *second.log, {.seed = 11});
  auto c = make_app(*other.data, *other.log, {.seed = 12});
  ASSERT_TRUE(a && b && c);
  ASSERT_TRUE(a->run(20).ok());
  ASSERT_TRUE(b->run(20).ok());
  ASSERT_TRUE(c->run(20).ok());
  EXPECT_EQ(read_all(*first.data), read_all(*second.data));
  EXPECT_EQ(read_all(*first.log), read_all(*second.log));
  EXPECT_NE(read_all(*first.data), read_all(*other.data));
}

TEST(TransactionalApp, IdentifyDescribesOneDatabaseComponentOnBothVolumes) {
  MemoryPair volumes;
  auto app = make_app(*volumes.data, *volumes.log, {.name = "ledger"});
  ASSERT_NE(app, nullptr);
  auto metadata = app->identify();
  ASSERT_TRUE(metadata.ok());
  EXPECT_EQ(metadata->name, "ledger");
  EXPECT_EQ(metadata->class_id, TransactionalApp::class_id());
  EXPECT_EQ(metadata->class_id, Uuid::from_name("freezeframe.sim.transactional-app"));
  EXPECT_FALSE(metadata->instance_id.is_nil());
  EXPECT_EQ(metadata->usage, WriterUsage::kUserData);
  EXPECT_EQ(metadata->source, WriterSource::kTransactedDatabase);
  EXPECT_NE(metadata->restore_method, RestoreMethod::kUndefined);
  ASSERT_EQ(metadata->components.size(), 1u);
  const WriterComponent& component = metadata->components[0];
  EXPECT_EQ(component.type, ComponentType::kDatabase);
  EXPECT_EQ(component.name, "ledger");
  EXPECT_EQ(component.volumes, (std::vector<std::string>{"data", "log"}));
  ASSERT_EQ(component.files.size(), 1u);
  EXPECT_EQ(component.files[0].filespec, "ledger.db");
  ASSERT_EQ(component.database_logs.size(), 1u);
  EXPECT_EQ(component.database_logs[0].filespec, "ledger.wal");
}

TEST(TransactionalApp, FrozenAppHoldsNewTransactionsUntilThawOrAbort) {
  MemoryPair volumes;
  auto app = make_app(*volumes.data, *volumes.log, {.seed = 5});
  ASSERT_NE(app, nullptr);
  ASSERT_TRUE(app->prepare_snapshot({}).ok());
  ASSERT_TRUE(app->freeze({}).ok());
  EXPECT_TRUE(app->stats().frozen);
  auto held = app->step();
  ASSERT_FALSE(held.ok());
  EXPECT_EQ(held.status().code(), ErrorCode::kBusy);
  ASSERT_TRUE(app->thaw({}).ok());
  ASSERT_TRUE(app->step().ok());

  ASSERT_TRUE(app->freeze({}).ok());
  EXPECT_EQ(app->step().status().code(), ErrorCode::kBusy);
  app->abort({});
  EXPECT_FALSE(app->stats().frozen);
  ASSERT_TRUE(app->run(3).ok());
  EXPECT_EQ(app->stats().freezes, 2u);
}

TEST(TransactionalApp, RefusesOptionsThatCannotWork) {
  MemoryPair volumes;
  auto tiny_log = memory("log", 8192);
  EXPECT_EQ(TransactionalApp::create(*volumes.data, *tiny_log, {}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      TransactionalApp::create(*volumes.data, *volumes.log, {.block_bytes = 3000}).status().code(),
      ErrorCode::kInvalidArgument);
  EXPECT_EQ(TransactionalApp::create(*volumes.data, *volumes.log, {.blocks_per_transaction_max = 0})
                .status()
                .code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      TransactionalApp::create(*volumes.data, *volumes.log, {.data_blocks = 257}).status().code(),
      ErrorCode::kInvalidArgument);
}

TEST(TransactionalApp, FreezeWhileAnotherThreadRunsTransactions) {
  MemoryPair volumes;
  auto app = make_app(*volumes.data, *volumes.log, {.seed = 8});
  ASSERT_NE(app, nullptr);
  BackgroundRun runner(*app, 1'000'000);
  for (std::uint64_t round = 1; round <= 5; ++round) {
    app->wait_until_completed(round * 10);
    ASSERT_TRUE(app->freeze({}).ok());
    const AppStats frozen = app->stats();
    auto data = copy_of(*volumes.data);
    auto log = copy_of(*volumes.log);
    // Nothing moved while frozen: the runner waits at a transaction boundary.
    EXPECT_EQ(app->stats().transactions_completed, frozen.transactions_completed);
    EXPECT_FALSE(frozen.in_flight);
    ASSERT_TRUE(app->thaw({}).ok());
    const ConsistencyReport report = check(*data, *log);
    EXPECT_EQ(report.verdict, Consistency::kConsistent)
        << "round " << round << ": " << describe(report);
    EXPECT_EQ(report.last_committed_txn, frozen.last_txn_id);
  }
  const Status background = runner.stop();
  EXPECT_TRUE(background.ok()) << background.to_string();
}

// Steps into the middle of a transaction that writes more than one block, and stops after
// its first data block. Returns its txn id.
std::uint64_t stop_inside_a_multi_block_transaction(TransactionalApp& app) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    step_until(app, AppStep::kLogFlush);
    step_until(app, AppStep::kDataWrite);
    const AppStats stats = app.stats();
    if (stats.in_flight && stats.transactions_completed < stats.last_txn_id)
      return stats.last_txn_id;
    if (stats.in_flight) {
      EXPECT_TRUE(app.step().ok());  // its data flush
    }
  }
  ADD_FAILURE() << "no multi-block transaction in 100";
  return 0;
}

TEST(ConsistencyChecker, HalfAppliedTransactionIsRecoverableAndRecoveryMakesItConsistent) {
  MemoryPair volumes;
  auto app = make_app(*volumes.data, *volumes.log, {.seed = 21, .blocks_per_transaction_max = 6});
  ASSERT_NE(app, nullptr);
  ASSERT_TRUE(app->run(10).ok());
  const std::uint64_t txn = stop_inside_a_multi_block_transaction(*app);
  ASSERT_NE(txn, 0u);

  const ConsistencyReport report = check(*volumes.data, *volumes.log);
  EXPECT_EQ(report.verdict, Consistency::kRecoverable) << describe(report);
  EXPECT_EQ(report.problem_txn, txn);
  EXPECT_EQ(report.last_committed_txn, txn);
  EXPECT_NE(report.message.find("txn " + std::to_string(txn)), std::string::npos) << report.message;
  EXPECT_NE(report.message.find("data block " + std::to_string(report.problem_block)),
            std::string::npos)
      << report.message;
  EXPECT_GT(report.blocks_behind, 0u);

  ASSERT_TRUE(ConsistencyChecker::recover(*volumes.data, *volumes.log).ok());
  const ConsistencyReport recovered = check(*volumes.data, *volumes.log);
  EXPECT_EQ(recovered.verdict, Consistency::kConsistent) << describe(recovered);
  EXPECT_EQ(recovered.checkpoint_txn, txn);
}

TEST(ConsistencyChecker, UncommittedTailIsRecoverable) {
  MemoryPair volumes;
  auto app = make_app(*volumes.data, *volumes.log, {.seed = 22});
  ASSERT_NE(app, nullptr);
  ASSERT_TRUE(app->run(5).ok());
  step_until(*app, AppStep::kLogRecord);
  const ConsistencyReport report = check(*volumes.data, *volumes.log);
  EXPECT_EQ(report.verdict, Consistency::kRecoverable) << describe(report);
  EXPECT_EQ(report.uncommitted_transactions, 1u);
  EXPECT_EQ(report.problem_txn, 6u);
  EXPECT_EQ(report.last_committed_txn, 5u);
  EXPECT_EQ(report.blocks_matching, report.blocks_checked);
}

TEST(ConsistencyChecker, TornDataBlockIsRecoverableWhenTheLogCanRedoIt) {
  MemoryPair volumes;
  auto app = make_app(*volumes.data, *volumes.log, {.seed = 23});
  ASSERT_NE(app, nullptr);
  auto data = run_then_copy_frozen(*app, 30, *volumes.data);
  // Find a written block and tear its second sector.
  const Bytes image = read_all(*data);
  std::uint64_t block = 0;
  while (image[block * 4096] == std::byte{0})
    ++block;
  Bytes garbage(512, std::byte{0x5a});
  ASSERT_TRUE(data->write(block * 4096 + 512, garbage).ok());

  const ConsistencyReport report = check(*data, *volumes.log);
  EXPECT_EQ(report.verdict, Consistency::kRecoverable) << describe(report);
  EXPECT_EQ(report.blocks_torn, 1u);
  EXPECT_EQ(report.problem_block, block);
  EXPECT_NE(report.message.find("data block " + std::to_string(block) + " is torn"),
            std::string::npos)
      << report.message;
}

TEST(ConsistencyChecker, DamagedLogRecordIsCorrupt) {
  MemoryPair volumes;
  auto app = make_app(*volumes.data, *volumes.log, {.seed = 24});
  ASSERT_NE(app, nullptr);
  auto log = run_then_copy_frozen(*app, 12, *volumes.log);
  ASSERT_EQ(check(*volumes.data, *log).verdict, Consistency::kConsistent);

  // Flip one payload byte of the first record (txn 1): the log ends there, and the data
  // holds transactions it can no longer account for.
  Bytes sector(512);
  ASSERT_TRUE(log->read(512, sector).ok());
  sector[300] ^= std::byte{0x01};
  ASSERT_TRUE(log->write(512, sector).ok());
  const ConsistencyReport report = check(*volumes.data, *log);
  EXPECT_EQ(report.verdict, Consistency::kCorrupt) << describe(report);
  EXPECT_EQ(report.committed_transactions, 0u);
  EXPECT_GT(report.problem_txn, 0u);
  EXPECT_NE(report.message.find("which the log does not hold"), std::string::npos)
      << report.message;
  EXPECT_EQ(ConsistencyChecker::recover(*volumes.data, *log).code(), ErrorCode::kCorrupt);

  // A damaged header is corrupt too, and named.
  auto bad_header = copy_of(*volumes.log);
  ASSERT_TRUE(bad_header->read(0, sector).ok());
  sector[30] ^= std::byte{0x80};
  ASSERT_TRUE(bad_header->write(0, sector).ok());
  const ConsistencyReport header_report = check(*volumes.data, *bad_header);
  EXPECT_EQ(header_report.verdict, Consistency::kCorrupt);
  EXPECT_NE(header_report.message.find("log header"), std::string::npos) << header_report.message;
}

TEST(ConsistencyChecker, DataAppliedBeforeItsCommitMarkerIsCorrupt) {
  // The write-ahead rule broken on purpose: the data of txn 2 is in place, but the log ends
  // inside txn 2 (its commit marker is gone), so recovery could not undo it.
  MemoryPair volumes;
  auto app = make_app(*volumes.data, *volumes.log, {.seed = 25, .flush_every = 1});
  ASSERT_NE(app, nullptr);
  ASSERT_TRUE(app->run(2).ok());
  auto log = copy_of(*volumes.log);
  // Records start on fresh sectors: the last commit marker (magic "FFLR", kind 2) is txn 2's.
  const Bytes now = read_all(*log);
  std::uint64_t commit = 0;
  for (std::uint64_t at = 512; at < now.size(); at += 512) {
    if (now[at] == std::byte{0x46} && now[at + 1] == std::byte{0x46} &&
        now[at + 2] == std::byte{0x4c} && now[at + 3] == std::byte{0x52} &&
        now[at + 6] == std::byte{2})
      commit = at;
  }
  ASSERT_NE(commit, 0u);
  Bytes zeros(512);
  ASSERT_TRUE(log->write(commit, zeros).ok());
  const ConsistencyReport report = check(*volumes.data, *log);
  EXPECT_EQ(report.verdict, Consistency::kCorrupt) << describe(report);
  EXPECT_EQ(report.problem_txn, 2u);
  EXPECT_NE(report.message.find("no commit marker"), std::string::npos) << report.message;
}

// Crash at a random step: every surviving image is at least recoverable, and recovery makes
// it consistent.
TEST(TransactionalAppCrash, SurvivingImageIsAtLeastRecoverable) {
  testing::TracedRandom random(0xC0FFEE);
  int recoverable = 0;
  for (int run = 0; run < 40; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    auto data_base = memory("data", 512 * 1024);
    auto log_base = memory("log", 128 * 1024);
    auto data = SimVolume::create(*data_base, {.seed = random.next_u64()});
    auto log = SimVolume::create(*log_base, {.seed = random.next_u64()});
    ASSERT_TRUE(data.ok() && log.ok());
    auto app = make_app(**data, **log,
                        {.seed = random.next_u64(), .flush_every = random.uniform_range(0, 6)});
    ASSERT_NE(app, nullptr);
    const std::uint64_t steps = random.uniform_range(1, 400);
    for (std::uint64_t i = 0; i < steps; ++i)
      ASSERT_TRUE(app->step().ok());
    const AppStats before = app->stats();
    app.reset();
    (*data)->crash();
    (*log)->crash();

    const ConsistencyReport report = check(**data, **log);
    ASSERT_NE(report.verdict, Consistency::kCorrupt)
        << describe(report) << " after " << steps << " steps";
    // Every transaction whose log was flushed survives.
    EXPECT_GE(report.last_committed_txn, before.transactions_completed);
    if (report.verdict == Consistency::kRecoverable)
      ++recoverable;
    ASSERT_TRUE(ConsistencyChecker::recover(**data, **log).ok());
    const ConsistencyReport recovered = check(**data, **log);
    EXPECT_EQ(recovered.verdict, Consistency::kConsistent) << describe(recovered);
  }
  // The crashes did cut transactions: otherwise the test proves nothing.
  EXPECT_GT(recoverable, 5);
}

// Snapshots through SnapshotProvider directly, with no coordinator.
struct ProviderPair {
  std::unique_ptr<MemoryVolume> data_origin = memory("data", kDataBytes);
  std::unique_ptr<MemoryVolume> log_origin = memory("log", 4 << 20);
  std::unique_ptr<MemoryVolume> data_diff = memory("data-diff", 16 << 20);
  std::unique_ptr<MemoryVolume> log_diff = memory("log-diff", 16 << 20);
  Random uuids{77};
  std::unique_ptr<SnapshotProvider> data;
  std::unique_ptr<SnapshotProvider> log;

  explicit ProviderPair(ProviderKind kind) {
    ProviderOptions options;
    options.chunk_bytes = 4096;
    options.limit = DiffAreaLimit::unbounded();
    options.random = &uuids;
    auto d = SnapshotProvider::create(kind, *data_origin, *data_diff, options);
    auto l = SnapshotProvider::create(kind, *log_origin, *log_diff, options);
    EXPECT_TRUE(d.ok() && l.ok());
    if (d.ok() && l.ok()) {
      data = std::move(d).value();
      log = std::move(l).value();
    }
  }
};

struct SnapshotPair {
  std::unique_ptr<Volume> data;
  std::unique_ptr<Volume> log;
};

SnapshotPair open_pair(ProviderPair& pair, const SnapshotInfo& data, const SnapshotInfo& log) {
  auto d = pair.data->open_snapshot(data.id);
  auto l = pair.log->open_snapshot(log.id);
  EXPECT_TRUE(d.ok() && l.ok());
  if (!d.ok() || !l.ok())
    return {};
  return {std::move(d).value(), std::move(l).value()};
}

class AppConsistency : public ::testing::TestWithParam<ProviderKind> {};

TEST_P(AppConsistency, FrozenSnapshotPairIsConsistent) {
  ProviderPair pair(GetParam());
  ASSERT_TRUE(pair.data && pair.log);
  auto app = make_app(*pair.data, *pair.log, {.seed = 31});
  ASSERT_NE(app, nullptr);
  BackgroundRun runner(*app, 1'000'000);
  std::vector<std::pair<SnapshotInfo, SnapshotInfo>> sets;
  for (std::uint64_t round = 1; round <= 4; ++round) {
    app->wait_until_completed(round * 8);
    ASSERT_TRUE(app->freeze({}).ok());
    const Uuid set_id = Uuid::generate(pair.uuids);
    auto data = pair.data->create_snapshot(set_id);
    auto log = pair.log->create_snapshot(set_id);
    ASSERT_TRUE(app->thaw({}).ok());
    ASSERT_TRUE(data.ok() && log.ok());
    sets.emplace_back(*data, *log);
  }
  const Status background = runner.stop();
  ASSERT_TRUE(background.ok()) << background.to_string();
  // The snapshots still read as at their creation after the app wrote on.
  for (std::size_t i = 0; i < sets.size(); ++i) {
    SnapshotPair snapshots = open_pair(pair, sets[i].first, sets[i].second);
    ASSERT_TRUE(snapshots.data && snapshots.log);
    const ConsistencyReport report = check(*snapshots.data, *snapshots.log);
    EXPECT_EQ(report.verdict, Consistency::kConsistent) << "set " << i << ": " << describe(report);
    EXPECT_GT(report.committed_transactions, 0u);
  }
}

TEST_P(AppConsistency, SnapshotsUnderLoadWithoutFreezeAreRecoverable) {
  ProviderPair pair(GetParam());
  ASSERT_TRUE(pair.data && pair.log);
  auto app = make_app(*pair.data, *pair.log, {.seed = 32});
  ASSERT_NE(app, nullptr);
  // Bounded so the 4 MiB log never checkpoints: a checkpoint between the two snapshots would
  // drop records the earlier data snapshot still needs.
  BackgroundRun runner(*app, 150);
  std::vector<std::pair<SnapshotInfo, SnapshotInfo>> sets;
  for (std::uint64_t round = 1; round <= 4; ++round) {
    app->wait_until_completed(round * 20);
    // Data first, then the log, moments apart while transactions go on: the log snapshot
    // holds every record the data snapshot depends on.
    auto data = pair.data->create_snapshot();
    auto log = pair.log->create_snapshot();
    ASSERT_TRUE(data.ok() && log.ok());
    sets.emplace_back(*data, *log);
  }
  const Status background = runner.finish();
  ASSERT_TRUE(background.ok()) << background.to_string();
  ASSERT_EQ(app->stats().checkpoints, 0u);
  for (std::size_t i = 0; i < sets.size(); ++i) {
    SnapshotPair snapshots = open_pair(pair, sets[i].first, sets[i].second);
    ASSERT_TRUE(snapshots.data && snapshots.log);
    const ConsistencyReport report = check(*snapshots.data, *snapshots.log);
    EXPECT_NE(report.verdict, Consistency::kCorrupt) << "set " << i << ": " << describe(report);
  }
}

// Snapshots of both volumes at one instant between two of the app's I/Os, chosen by `seed`,
// without freezing. Returns the checker's report on the pair.
ConsistencyReport snapshot_pair_at_random_step(ProviderKind kind, std::uint64_t seed) {
  ProviderPair pair(kind);
  auto app = make_app(*pair.data, *pair.log, {.seed = seed});
  if (app == nullptr || !pair.data)
    return {};
  Random random(seed);
  const std::uint64_t steps = random.uniform_range(20, 200);
  for (std::uint64_t i = 0; i < steps; ++i)
    EXPECT_TRUE(app->step().ok());
  const Uuid set_id = Uuid::generate(pair.uuids);
  auto data = pair.data->create_snapshot(set_id);
  auto log = pair.log->create_snapshot(set_id);
  EXPECT_TRUE(data.ok() && log.ok());
  if (!data.ok() || !log.ok())
    return {};
  // The app writes on: the snapshots must not move.
  EXPECT_TRUE(app->run(10).ok());
  SnapshotPair snapshots = open_pair(pair, *data, *log);
  if (!snapshots.data)
    return {};
  const ConsistencyReport report = check(*snapshots.data, *snapshots.log);
  EXPECT_NE(report.verdict, Consistency::kCorrupt)
      << "seed " << seed << " after " << steps << " steps: " << describe(report);
  return report;
}

// Found by running snapshot_pair_at_random_step over seeds 100..107: seed 105 takes the pair
// after txn 19 is committed in the log but before all its data blocks are written; seed 104
// happens to fall between two transactions.
constexpr std::uint64_t kSeedCrashConsistentOnly = 105;
constexpr std::uint64_t kSeedBetweenTransactions = 104;

TEST_P(AppConsistency, CrashConsistentPairIsRecoverableButNotAlwaysConsistent) {
  const ConsistencyReport torn = snapshot_pair_at_random_step(GetParam(), kSeedCrashConsistentOnly);
  EXPECT_EQ(torn.verdict, Consistency::kRecoverable) << describe(torn);
  EXPECT_EQ(torn.problem_txn, 19u);
  EXPECT_GT(torn.blocks_behind, 0u);
  EXPECT_NE(torn.message.find("committed in the log but not applied"), std::string::npos)
      << torn.message;
  EXPECT_EQ(snapshot_pair_at_random_step(GetParam(), kSeedBetweenTransactions).verdict,
            Consistency::kConsistent);

  const std::uint64_t seed = testing::test_seed(100);
  SCOPED_TRACE(testing::replay_command(seed));
  for (std::uint64_t s = seed; s < seed + 8; ++s) {
    EXPECT_NE(snapshot_pair_at_random_step(GetParam(), s).verdict, Consistency::kCorrupt)
        << "seed " << s;
  }
}

INSTANTIATE_TEST_SUITE_P(Providers, AppConsistency,
                         ::testing::Values(ProviderKind::kCopyOnWrite,
                                           ProviderKind::kRedirectOnWrite),
                         [](const auto& param) {
                           return std::string(provider_kind_name(param.param));
                         });

}  // namespace
}  // namespace freezeframe::sim

// The vendor harness (sim/harness.h): a run is a function of its seed, a correct application,
// writer and provider pass, ones with an ordering or cleanup bug are found, a finding carries
// what replays it, and bad options are refused with a message naming the option.
#include "freezeframe/sim/harness.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "freezeframe/protocol_provider.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/snapshot_provider.h"
#include "freezeframe/volume_wrapper.h"
#include "seed.h"

namespace freezeframe::sim {
namespace {

// A counter log: sector 0 holds a header (magic, count), sector 1 + i holds record i, which
// names its own index. Appending writes the record, then the header that counts it; the
// correct order flushes in between, so the header never counts a record a crash can lose.
constexpr std::uint64_t kMagic = 0x676f6c7265746e75;  // "untrelog" backwards

struct Sector {
  std::array<std::byte, 512> bytes{};
  void put(std::size_t at, std::uint64_t value) { std::memcpy(bytes.data() + at, &value, 8); }
  std::uint64_t get(std::size_t at) const {
    std::uint64_t value = 0;
    std::memcpy(&value, bytes.data() + at, 8);
    return value;
  }
};

Status write_sector(Volume& volume, std::uint64_t index, const Sector& sector) {
  return volume.write(index * 512, sector.bytes);
}

Result<Sector> read_sector(Volume& volume, std::uint64_t index) {
  Sector sector;
  FF_TRY(volume.read(index * 512, sector.bytes));
  return sector;
}

Sector record_sector(std::uint64_t index) {
  Sector sector;
  sector.put(0, kMagic);
  sector.put(8, index);
  return sector;
}

// Reads the header: the number of records it commits (0 for a fresh volume).
Result<std::uint64_t> read_count(Volume& volume) {
  FF_ASSIGN_OR_RETURN(Sector header, read_sector(volume, 0));
  if (header.get(0) == 0)
    return std::uint64_t{0};
  if (header.get(0) != kMagic)
    return Status(ErrorCode::kCorrupt, "counter log: bad header magic");
  return header.get(8);
}

Status check_records(Volume& volume, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) {
    FF_ASSIGN_OR_RETURN(Sector record, read_sector(volume, 1 + i));
    if (record.get(0) != kMagic || record.get(8) != i)
      return Status(ErrorCode::kCorrupt, "counter log: the header counts " + std::to_string(count) +
                                             " records but record " + std::to_string(i) +
                                             " is missing");
  }
  return Status();
}

class CounterApp final : public HarnessApplication {
 public:
  explicit CounterApp(bool buggy) : buggy_(buggy) {}

  Status recover(Volume& volume) override {
    FF_ASSIGN_OR_RETURN(count_, read_count(volume));
    return Status();
  }
  Status step(Volume& volume, Random& random) override {
    const std::uint64_t capacity = volume.size_bytes() / 512 - 1;
    const std::uint64_t appends = 1 + random.uniform(2);
    for (std::uint64_t n = 0; n < appends && count_ < capacity; ++n) {
      FF_TRY(write_sector(volume, 1 + count_, record_sector(count_)));
      if (!buggy_)
        FF_TRY(volume.flush());  // the record is durable before the header counts it
      Sector header;
      header.put(0, kMagic);
      header.put(8, count_ + 1);
      FF_TRY(write_sector(volume, 0, header));
      FF_TRY(volume.flush());
      ++count_;
    }
    return Status();
  }
  Status check(Volume& volume) override {
    FF_ASSIGN_OR_RETURN(std::uint64_t count, read_count(volume));
    return check_records(volume, count);
  }

 private:
  bool buggy_;
  std::uint64_t count_ = 0;
};

ApplicationHarnessOptions application_options(std::uint64_t seed, bool buggy) {
  ApplicationHarnessOptions options;
  options.seed = seed;
  options.steps = 150;
  options.volume_bytes = std::uint64_t{256} * 1024;
  options.replay_command = "harness_test --seed {seed}";
  options.make_application = [buggy] { return std::make_unique<CounterApp>(buggy); };
  return options;
}

// A writer that acknowledges appends from a memory buffer and writes them out in batches,
// over the counter log's layout. Freeze must write and flush the buffer: a snapshot must hold
// every record acknowledged before it. The buggy one acknowledges the freeze first.
class BufferedWriter final : public HarnessWriter {
 public:
  BufferedWriter(std::size_t index, Volume& volume, bool buggy)
      : index_(index), volume_(volume), buggy_(buggy) {}

  Status step(Random& random) override {
    if (frozen_)
      return Status(ErrorCode::kBusy, "frozen");
    ++acknowledged_;  // the record is in the buffer: acknowledged to the client
    if (random.chance(0.3))
      return write_out();
    return Status();
  }
  Status check(Volume& snapshot) override {
    FF_ASSIGN_OR_RETURN(std::uint64_t count, read_count(snapshot));
    FF_TRY(check_records(snapshot, count));
    if (count < acknowledged_at_freeze_)
      return Status(ErrorCode::kCorrupt, "the snapshot holds " + std::to_string(count) +
                                             " records but " +
                                             std::to_string(acknowledged_at_freeze_) +
                                             " were acknowledged before the freeze");
    return Status();
  }

  Result<WriterMetadata> identify() override {
    WriterMetadata metadata;
    metadata.name = "buffered-" + std::to_string(index_);
    metadata.class_id = Uuid::from_name("harness-test/buffered-writer");
    metadata.instance_id = Uuid::from_name(metadata.name);
    WriterComponent component;
    component.name = "log";
    component.volumes = {volume_.name()};
    metadata.components.push_back(component);
    return metadata;
  }
  WriterResult prepare_snapshot(const WriterSessionInfo& /*session*/) override { return {}; }
  WriterResult freeze(const WriterSessionInfo& /*session*/) override {
    if (!buggy_) {
      if (Status status = write_out(); !status.ok())
        return WriterResult::fail(WriterFailure::kRetryable, status.to_string());
    }
    frozen_ = true;
    acknowledged_at_freeze_ = acknowledged_;
    return {};
  }
  WriterResult thaw(const WriterSessionInfo& /*session*/) override {
    frozen_ = false;
    return {};
  }
  void abort(const WriterSessionInfo& /*session*/) override { frozen_ = false; }

 private:
  // Writes the buffered records, flushes, then the header, flushes.
  Status write_out() {
    for (; written_ < acknowledged_; ++written_)
      FF_TRY(write_sector(volume_, 1 + written_, record_sector(written_)));
    FF_TRY(volume_.flush());
    Sector header;
    header.put(0, kMagic);
    header.put(8, written_);
    FF_TRY(write_sector(volume_, 0, header));
    return volume_.flush();
  }

  std::size_t index_;
  Volume& volume_;
  bool buggy_;
  bool frozen_ = false;
  std::uint64_t acknowledged_ = 0;
  std::uint64_t written_ = 0;
  std::uint64_t acknowledged_at_freeze_ = 0;
};

WriterHarnessOptions writer_options(std::uint64_t seed, bool buggy) {
  WriterHarnessOptions options;
  options.seed = seed;
  options.steps = 120;
  options.volume_bytes = std::uint64_t{256} * 1024;
  options.replay_command = "harness_test --seed {seed}";
  options.make_writer = [buggy](std::size_t index,
                                Volume& volume) -> Result<std::unique_ptr<HarnessWriter>> {
    return std::unique_ptr<HarnessWriter>(std::make_unique<BufferedWriter>(index, volume, buggy));
  };
  return options;
}

HarnessReport run_application(std::uint64_t seed, bool buggy) {
  auto report = run_application_harness(application_options(seed, buggy));
  EXPECT_TRUE(report.ok()) << report.status().to_string();
  return report.ok() ? *report : HarnessReport{};
}

HarnessReport run_writer(std::uint64_t seed, bool buggy) {
  auto report = run_writer_harness(writer_options(seed, buggy));
  EXPECT_TRUE(report.ok()) << report.status().to_string();
  return report.ok() ? *report : HarnessReport{};
}

TEST(ApplicationHarness, SameSeedGivesTheSameReport) {
  const testing::TracedSeed seed(11);
  const HarnessReport first = run_application(seed.value(), false);
  const HarnessReport second = run_application(seed.value(), false);
  EXPECT_EQ(first.to_string(), second.to_string());
  EXPECT_NE(run_application(seed.value() + 1, false).to_string(), first.to_string());
}

TEST(ApplicationHarness, CorrectApplicationPassesEverySeedOfARange) {
  HarnessCounts total;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    const HarnessReport report = run_application(seed, false);
    ASSERT_TRUE(report.ok()) << report.to_string();
    total.crashes += report.counts.crashes;
    total.snapshots += report.counts.snapshots;
    total.restarts += report.counts.restarts;
    total.faults_injected += report.counts.faults_injected;
    total.checks_run += report.counts.checks_run;
  }
  // The world did what it claims: crashes, snapshots, restarts and faults all happened.
  EXPECT_GT(total.crashes, 12u);
  EXPECT_GT(total.snapshots, 12u);
  EXPECT_GT(total.restarts, 0u);
  EXPECT_GT(total.faults_injected, 0u);
  EXPECT_GT(total.checks_run, total.crashes + total.snapshots);
}

TEST(ApplicationHarness, BothProvidersAreDrawnFromTheSeed) {
  bool cow = false;
  bool row = false;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    auto options = application_options(seed, false);
    options.steps = 1;
    auto report = run_application_harness(options);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    cow = cow || report->kind == ProviderKind::kCopyOnWrite;
    row = row || report->kind == ProviderKind::kRedirectOnWrite;
  }
  EXPECT_TRUE(cow && row);
}

TEST(ApplicationHarness, FindsAHeaderWrittenBeforeItsRecordIsDurable) {
  std::optional<HarnessFinding> finding;
  std::uint64_t seed = 1;
  for (; seed <= 20 && !finding.has_value(); ++seed)
    finding = run_application(seed, true).finding;
  ASSERT_TRUE(finding.has_value()) << "no seed of 1..20 found the ordering bug";
  EXPECT_EQ(finding->seed, seed - 1);
  EXPECT_EQ(finding->operation, "check after crash");
  EXPECT_NE(finding->what.find("is missing"), std::string::npos) << finding->what;
  EXPECT_EQ(finding->replay_command, "harness_test --seed " + std::to_string(seed - 1));
  // Replaying the seed finds the same thing at the same step.
  const HarnessReport replay = run_application(finding->seed, true);
  ASSERT_TRUE(replay.finding.has_value());
  EXPECT_EQ(replay.finding->to_string(), finding->to_string());
}

TEST(WriterHarness, SameSeedGivesTheSameReport) {
  const testing::TracedSeed seed(5);
  const HarnessReport first = run_writer(seed.value(), false);
  EXPECT_EQ(run_writer(seed.value(), false).to_string(), first.to_string());
  EXPECT_NE(run_writer(seed.value() + 1, false).to_string(), first.to_string());
}

TEST(WriterHarness, CorrectWriterPassesEverySeedOfARange) {
  HarnessCounts total;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const HarnessReport report = run_writer(seed, false);
    ASSERT_TRUE(report.ok()) << report.to_string();
    total.snapshots += report.counts.snapshots;
    total.sets_failed += report.counts.sets_failed;
    total.faults_injected += report.counts.faults_injected;
  }
  // Sets completed and sets failed on injected deadlines and I/O errors, all cleanly.
  EXPECT_GT(total.snapshots, 10u);
  EXPECT_GT(total.sets_failed, 0u);
  EXPECT_GE(total.faults_injected, total.sets_failed);
}

TEST(WriterHarness, FindsAFreezeAcknowledgedBeforeTheBufferIsWritten) {
  const HarnessReport report = run_writer(3, true);
  ASSERT_TRUE(report.finding.has_value()) << report.to_string();
  EXPECT_EQ(report.finding->seed, 3u);
  EXPECT_EQ(report.finding->operation, "check snapshot");
  EXPECT_NE(report.finding->what.find("acknowledged before the freeze"), std::string::npos)
      << report.finding->what;
  EXPECT_EQ(report.finding->replay_command, "harness_test --seed 3");
  EXPECT_EQ(run_writer(3, true).to_string(), report.to_string());
}

// A writer whose abort() does not resume its work: a set that fails leaves it frozen.
class StuckAfterAbortWriter final : public HarnessWriter {
 public:
  explicit StuckAfterAbortWriter(Volume& volume) : volume_(volume) {}
  Status step(Random& /*random*/) override {
    return frozen_ ? Status(ErrorCode::kBusy, "frozen") : Status();
  }
  Status check(Volume& /*snapshot*/) override { return Status(); }
  Result<WriterMetadata> identify() override {
    WriterMetadata metadata;
    metadata.name = "stuck";
    metadata.class_id = Uuid::from_name("harness-test/stuck");
    WriterComponent component;
    component.volumes = {volume_.name()};
    metadata.components.push_back(component);
    return metadata;
  }
  WriterResult prepare_snapshot(const WriterSessionInfo& /*session*/) override { return {}; }
  WriterResult freeze(const WriterSessionInfo& /*session*/) override {
    frozen_ = true;
    return {};
  }
  WriterResult thaw(const WriterSessionInfo& /*session*/) override {
    frozen_ = false;
    return {};
  }
  void abort(const WriterSessionInfo& /*session*/) override {}  // the bug: stays frozen

 private:
  Volume& volume_;
  bool frozen_ = false;
};

TEST(WriterHarness, FindsAWriterThatStaysFrozenAfterAFailedSet) {
  WriterHarnessOptions options = writer_options(2, false);
  options.writers = 1;
  options.overrun_probability = 1.0;
  options.make_writer = [](std::size_t, Volume& volume) -> Result<std::unique_ptr<HarnessWriter>> {
    return std::unique_ptr<HarnessWriter>(std::make_unique<StuckAfterAbortWriter>(volume));
  };
  auto report = run_writer_harness(options);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  ASSERT_TRUE(report->finding.has_value()) << report->to_string();
  EXPECT_EQ(report->finding->operation, "writer held after set") << report->to_string();
}

// The engine's own CoW or RoW providers behind one BlockSnapshotAdapter, as a vendor would
// wrap theirs. `reads_live`: the bug of a provider that serves a snapshot from the origin
// without preserving it, so the snapshot changes as the origin is written.
class EngineProvider final : public HarnessProvider, public ProtocolProvider {
 public:
  static Result<std::unique_ptr<HarnessProvider>> create(
      const std::vector<HarnessProviderVolume>& volumes, bool reopen, ProviderKind kind,
      bool reads_live, std::uint64_t uuid_seed) {
    auto provider =
        std::unique_ptr<EngineProvider>(new EngineProvider(kind, reads_live, uuid_seed));
    for (const HarnessProviderVolume& volume : volumes) {
      ProviderOptions options;
      options.chunk_bytes = 4096;
      options.limit = DiffAreaLimit::unbounded();
      options.clock = &provider->clock_;
      options.random = &provider->random_;
      auto engine =
          reopen
              ? SnapshotProvider::open(*volume.origin, *volume.storage,
                                       {.clock = &provider->clock_, .random = &provider->random_})
              : SnapshotProvider::create(kind, *volume.origin, *volume.storage, options);
      if (!engine.ok())
        return engine.status();
      FF_TRY(provider->adapter_->add_volume(**engine, volume.name));
      provider->engines_.push_back(std::move(engine).value());
    }
    return std::unique_ptr<HarnessProvider>(std::move(provider));
  }

  ProtocolProvider& protocol() override { return *this; }
  Volume& live(std::size_t index) override { return *engines_.at(index); }

  const Uuid& id() const noexcept override { return adapter_->id(); }
  const std::string& name() const noexcept override { return adapter_->name(); }
  ProviderKind kind() const noexcept override { return adapter_->kind(); }
  bool is_volume_supported(std::string_view volume) const override {
    return adapter_->is_volume_supported(volume);
  }
  Status begin_prepare(const Uuid& set_id, std::string_view volume,
                       std::uint32_t attributes) override {
    return adapter_->begin_prepare(set_id, volume, attributes);
  }
  Status end_prepare(const Uuid& set_id) override { return adapter_->end_prepare(set_id); }
  Status pre_commit(const Uuid& set_id) override { return adapter_->pre_commit(set_id); }
  Status commit(const Uuid& set_id) override { return adapter_->commit(set_id); }
  Status post_commit(const Uuid& set_id) override { return adapter_->post_commit(set_id); }
  Status abort(const Uuid& set_id) override { return adapter_->abort(set_id); }
  Status delete_snapshot(const Uuid& snapshot_id) override {
    return adapter_->delete_snapshot(snapshot_id);
  }
  std::vector<SnapshotInfo> query() const override { return adapter_->query(); }
  Result<std::unique_ptr<Volume>> open_snapshot(const Uuid& snapshot_id) override {
    if (!reads_live_)
      return adapter_->open_snapshot(snapshot_id);
    for (const SnapshotInfo& info : adapter_->query()) {
      for (const auto& engine : engines_) {
        if (info.id == snapshot_id && engine->name() == info.origin_name)
          return std::unique_ptr<Volume>(std::make_unique<LiveView>(*engine));
      }
    }
    return Status(ErrorCode::kNotFound, "no snapshot " + snapshot_id.to_string());
  }

 private:
  class LiveView final : public VolumeWrapper {
   public:
    explicit LiveView(Volume& base) : VolumeWrapper(base) {}
  };

  EngineProvider(ProviderKind kind, bool reads_live, std::uint64_t uuid_seed)
      : reads_live_(reads_live),
        random_(uuid_seed),
        adapter_(BlockSnapshotAdapter::create("vendor-provider", kind)) {}

  bool reads_live_;
  SimClock clock_;
  // Each instance needs a stream of its own: one reopened with the same seed would hand out
  // the UUIDs of snapshots that exist (the harness found that).
  Random random_;
  std::unique_ptr<BlockSnapshotAdapter> adapter_;
  std::vector<std::unique_ptr<SnapshotProvider>> engines_;
};

ProviderHarnessOptions provider_options(std::uint64_t seed, bool reads_live) {
  ProviderHarnessOptions options;
  options.seed = seed;
  options.steps = 200;
  options.replay_command = "harness_test --seed {seed}";
  const ProviderKind kind =
      seed % 2 == 0 ? ProviderKind::kCopyOnWrite : ProviderKind::kRedirectOnWrite;
  // Each open gets its own UUID stream, numbered in order: still a function of the seed.
  auto opens = std::make_shared<std::uint64_t>(0);
  options.make_provider = [kind, reads_live, opens, seed](
                              const std::vector<HarnessProviderVolume>& volumes, bool reopen) {
    return EngineProvider::create(volumes, reopen, kind, reads_live, seed * 1000 + ++*opens);
  };
  return options;
}

HarnessReport run_provider(const ProviderHarnessOptions& options) {
  auto report = run_provider_harness(options);
  EXPECT_TRUE(report.ok()) << report.status().to_string();
  return report.ok() ? *report : HarnessReport{};
}

TEST(ProviderHarness, SameSeedGivesTheSameReport) {
  const testing::TracedSeed seed(4);
  const HarnessReport first = run_provider(provider_options(seed.value(), false));
  EXPECT_EQ(run_provider(provider_options(seed.value(), false)).to_string(), first.to_string());
  EXPECT_NE(run_provider(provider_options(seed.value() + 2, false)).to_string(), first.to_string());
}

TEST(ProviderHarness, CorrectProviderPassesEverySeedOfARange) {
  HarnessCounts total;
  bool cow = false;
  bool row = false;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    const HarnessReport report = run_provider(provider_options(seed, false));
    ASSERT_TRUE(report.ok()) << report.to_string();
    cow = cow || report.kind == ProviderKind::kCopyOnWrite;
    row = row || report.kind == ProviderKind::kRedirectOnWrite;
    total.snapshots += report.counts.snapshots;
    total.sets_failed += report.counts.sets_failed;
    total.faults_injected += report.counts.faults_injected;
    total.checks_run += report.counts.checks_run;
  }
  EXPECT_TRUE(cow && row);
  EXPECT_GT(total.snapshots, 8u);
  EXPECT_GT(total.sets_failed, 0u);
  EXPECT_GT(total.checks_run, total.snapshots);
}

TEST(ProviderHarness, FindsASnapshotThatReadsThroughToTheLiveVolume) {
  const HarnessReport report = run_provider(provider_options(6, true));
  ASSERT_TRUE(report.finding.has_value()) << report.to_string();
  EXPECT_EQ(report.finding->operation, "snapshot content") << report.to_string();
  EXPECT_NE(report.finding->what.find("differs from the origin at the set's instant"),
            std::string::npos)
      << report.finding->what;
  EXPECT_EQ(report.finding->replay_command, "harness_test --seed 6");
  EXPECT_EQ(run_provider(provider_options(6, true)).to_string(), report.to_string());
}

TEST(HarnessReplay, FillsEverySeedPlaceholder) {
  EXPECT_EQ(harness_replay_command("./t --seed {seed} # {seed}", 42), "./t --seed 42 # 42");
  EXPECT_EQ(harness_replay_command("no placeholder", 42), "no placeholder");
}

TEST(HarnessOptions, InvalidOptionsAreRefusedNamingTheOption) {
  auto expect_refused = [](const Result<HarnessReport>& report, const std::string& words) {
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(report.status().message().find(words), std::string::npos)
        << report.status().message();
  };
  ApplicationHarnessOptions application = application_options(1, false);
  application.make_application = nullptr;
  expect_refused(run_application_harness(application), "make_application is not set");
  application = application_options(1, false);
  application.steps = 0;
  expect_refused(run_application_harness(application), "steps must be from 1");
  application = application_options(1, false);
  application.volume_bytes = 1000;
  expect_refused(run_application_harness(application), "volume_bytes must be a multiple");
  application = application_options(1, false);
  application.crash_probability = 0.7;
  application.snapshot_probability = 0.7;
  expect_refused(run_application_harness(application), "sum to at most 1");
  application = application_options(1, false);
  application.replay_command = "./my_test";
  expect_refused(run_application_harness(application), "replay_command must contain {seed}");
  WriterHarnessOptions writer = writer_options(1, false);
  writer.writers = 0;
  expect_refused(run_writer_harness(writer), "writers must be from 1 to 8");
  writer = writer_options(1, false);
  writer.make_writer = nullptr;
  expect_refused(run_writer_harness(writer), "make_writer is not set");
  writer = writer_options(1, false);
  writer.fault_probability = 0.9;
  expect_refused(run_writer_harness(writer), "fault_probability must be in [0, 0.5]");
  ProviderHarnessOptions provider = provider_options(1, false);
  provider.volumes = 9;
  expect_refused(run_provider_harness(provider), "volumes must be from 1 to 8");
  provider = provider_options(1, false);
  provider.make_provider = nullptr;
  expect_refused(run_provider_harness(provider), "make_provider is not set");
}

}  // namespace
}  // namespace freezeframe::sim

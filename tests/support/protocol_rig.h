// Test doubles for the snapshot protocol: a shared trace, scripted writers (the simulator's
// sim::ScriptedWriter) that fail, stall, block or act at a chosen event, a provider
// decorator that fails or overruns at a chosen call, and a rig of N volumes (memory origin
// and diff, a CoW or RoW SnapshotProvider, a HoldableVolume on top) behind one
// BlockSnapshotAdapter and a Coordinator on a SimClock.
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "freezeframe/coordinator.h"
#include "freezeframe/executor.h"
#include "freezeframe/holdable_volume.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/protocol_provider.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/event_trace.h"
#include "freezeframe/sim/scripted_writer.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/snapshot_provider.h"
#include "freezeframe/volume_wrapper.h"
#include "freezeframe/writer.h"

namespace freezeframe::testing {

// Events from every participant, in the order they happened.
using Trace = sim::EventTrace;

// A writer of the rig: a sim::ScriptedWriter with this name, level, freeze window and
// volumes, and these actions by event. It records its events into the rig's trace, stalls
// on the rig's clock, and (unlike the ScriptedWriter default) abort() does not release
// its other blocked events: a test releases them.
struct WriterSetup {
  std::string name = "writer";
  ApplicationLevel level = ApplicationLevel::kFrontEnd;
  Nanoseconds freeze_timeout = std::chrono::seconds(60);
  std::vector<std::string> volumes{};
  std::map<WriterEvent, sim::ScriptedAction> actions{};
};

struct ProviderScript {
  // Step names: "begin-prepare", "end-prepare", "pre-commit", "commit", "post-commit",
  // "abort" (a failed abort leaves the set's snapshots in place).
  std::string fail_at;
  Status failure = Status(ErrorCode::kAborted, "provider veto");
  // Advance `clock` by `stall` after the inner call of this step.
  std::string stall_at;
  sim::SimClock* clock = nullptr;
  Nanoseconds stall{0};
};

// A Provider decorator that records its calls and fails or overruns as scripted.
class ScriptedProvider final : public ProtocolProvider {
 public:
  ScriptedProvider(Trace& trace, ProtocolProvider& inner, ProviderScript script = {})
      : trace_(trace), inner_(inner), script_(std::move(script)) {}
  void set_script(ProviderScript script) { script_ = std::move(script); }

  const Uuid& id() const noexcept override { return inner_.id(); }
  const std::string& name() const noexcept override { return inner_.name(); }
  ProviderKind kind() const noexcept override { return inner_.kind(); }
  bool is_volume_supported(std::string_view volume) const override {
    return inner_.is_volume_supported(volume);
  }
  Status begin_prepare(const Uuid& set_id, std::string_view volume,
                       std::uint32_t attributes) override {
    return step("begin-prepare", [&] { return inner_.begin_prepare(set_id, volume, attributes); });
  }
  Status end_prepare(const Uuid& set_id) override {
    return step("end-prepare", [&] { return inner_.end_prepare(set_id); });
  }
  Status pre_commit(const Uuid& set_id) override {
    return step("pre-commit", [&] { return inner_.pre_commit(set_id); });
  }
  Status commit(const Uuid& set_id) override {
    return step("commit", [&] { return inner_.commit(set_id); });
  }
  Status post_commit(const Uuid& set_id) override {
    return step("post-commit", [&] { return inner_.post_commit(set_id); });
  }
  Status abort(const Uuid& set_id) override {
    return step("abort", [&] { return inner_.abort(set_id); });
  }
  Status delete_snapshot(const Uuid& snapshot_id) override {
    return inner_.delete_snapshot(snapshot_id);
  }
  std::vector<SnapshotInfo> query() const override { return inner_.query(); }
  Result<std::unique_ptr<Volume>> open_snapshot(const Uuid& snapshot_id) override {
    return inner_.open_snapshot(snapshot_id);
  }
  Result<ChangedExtents> changed_extents(const Uuid& snapshot_id,
                                         std::string_view since) const override {
    return inner_.changed_extents(snapshot_id, since);
  }

 private:
  template <typename Call>
  Status step(const std::string& name, Call&& call) {
    trace_.add("provider:" + name);
    if (script_.fail_at == name)
      return script_.failure;
    Status status = call();
    if (script_.stall_at == name && script_.clock != nullptr)
      script_.clock->advance(script_.stall);
    return status;
  }

  Trace& trace_;
  ProtocolProvider& inner_;
  ProviderScript script_;
};

// Records the I/O hold and release into the trace, and keeps the JSON lines. `on_record`,
// if set, runs after each event is recorded, on the thread that drives the session: a test
// uses it to act at an exact point of the protocol (abort, advance the clock).
class TraceSink final : public EventSink {
 public:
  explicit TraceSink(Trace& trace) : trace_(trace), json_(make_json_lines_event_sink(lines_)) {}
  void record(const ProtocolEvent& event) override {
    if (event.phase == ProtocolPhase::kHoldIo || event.phase == ProtocolPhase::kReleaseIo)
      trace_.add("io:" + std::string(protocol_phase_name(event.phase)) + ":" + event.name);
    json_->record(event);
    if (on_record)
      on_record(event);
  }
  std::string json_lines() const { return lines_.str(); }

  std::function<void(const ProtocolEvent&)> on_record;

 private:
  Trace& trace_;
  std::ostringstream lines_;
  std::unique_ptr<EventSink> json_;
};

// A pass-through Volume whose writes can be made to stop inside it until opened, to have
// a write in flight below a HoldableVolume.
class LatchVolume final : public VolumeWrapper {
 public:
  explicit LatchVolume(Volume& base) : VolumeWrapper(base) {}

  // Writes from now on stop inside until open().
  void close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  void wait_until_stopped() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return stopped_ > 0; });
  }

 protected:
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override {
    {
      std::unique_lock lock(mutex_);
      ++stopped_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return open_; });
      --stopped_;
    }
    return VolumeWrapper::do_write(offset, data);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = true;
  int stopped_ = 0;
};

struct ProtocolVolume {
  std::unique_ptr<MemoryVolume> origin;
  std::unique_ptr<MemoryVolume> diff;
  std::unique_ptr<SnapshotProvider> provider;
  std::unique_ptr<LatchVolume> latch;  // between provider and holdable; open by default
  std::unique_ptr<HoldableVolume> holdable;
};

struct ProtocolRigOptions {
  ProviderKind kind = ProviderKind::kCopyOnWrite;
  std::size_t volume_count = 1;
  // Volume i belongs to provider i % provider_count.
  std::size_t provider_count = 1;
  std::uint64_t seed = 7;
  // Where the coordinator runs its calls: `executor` if set (borrowed; it must outlive the
  // rig), else a ThreadPoolExecutor of the rig's own with `threads` (rig.pool).
  Executor* executor = nullptr;
  ThreadPoolExecutorOptions threads{};
};

// Declaration order is destruction order reversed: the coordinator goes first, then the
// executor (joining calls still running on stalled writers), writers, providers and volumes.
struct ProtocolRig {
  sim::SimClock clock;
  Trace trace;
  std::unique_ptr<Random> random;
  std::vector<ProtocolVolume> volumes;
  std::unique_ptr<BlockSnapshotAdapter> block_provider;
  std::unique_ptr<ScriptedProvider> provider;
  // provider_count > 1: the further providers; `providers` lists all, `provider` first.
  std::vector<std::unique_ptr<BlockSnapshotAdapter>> more_block_providers;
  std::vector<std::unique_ptr<ScriptedProvider>> more_providers;
  std::vector<ScriptedProvider*> providers;
  std::unique_ptr<TraceSink> sink;
  std::vector<std::unique_ptr<sim::ScriptedWriter>> writers;
  // After the writers: destroyed before them, joining calls still running in them.
  std::unique_ptr<ThreadPoolExecutor> pool;
  std::unique_ptr<Coordinator> coordinator;

  std::vector<std::string> volume_names() const {
    std::vector<std::string> names;
    for (const auto& volume : volumes)
      names.push_back(volume.holdable->name());
    return names;
  }

  sim::ScriptedWriter& add_writer(WriterSetup setup) {
    writers.push_back(std::make_unique<sim::ScriptedWriter>(sim::ScriptedWriterOptions{
        .metadata = sim::scripted_writer_metadata(setup.name, setup.level, setup.volumes),
        .clock = &clock,
        .freeze_timeout = setup.freeze_timeout,
        .abort_releases = false,
        .trace = &trace}));
    for (auto& [event, action] : setup.actions)
      writers.back()->set_action(event, std::move(action));
    EXPECT_TRUE(coordinator->register_writer(*writers.back()).ok());
    return *writers.back();
  }

  // A writer whose `event` blocks until the test releases it (a writer that never returns).
  sim::ScriptedWriter& add_stuck_writer(const std::string& name, WriterEvent event) {
    return add_writer(
        {.name = name, .actions = {{event, sim::ScriptedAction::block_until_released()}}});
  }

  std::size_t snapshot_count() const {
    std::size_t count = 0;
    for (const auto& volume : volumes)
      count += volume.provider->snapshots().size();
    return count;
  }

  // The end state every failure must leave: writers thawed or aborted, I/O released (a write
  // through each volume completes), no snapshot in any provider.
  void expect_clean_failure() {
    for (const auto& writer : writers)
      EXPECT_FALSE(writer->frozen()) << "a writer is still frozen";
    std::vector<std::byte> block(4096, std::byte{0x5a});
    for (auto& volume : volumes) {
      EXPECT_FALSE(volume.holdable->held()) << volume.holdable->name();
      EXPECT_TRUE(volume.holdable->write(0, block).ok());
    }
    EXPECT_EQ(snapshot_count(), 0u);
  }
};

inline std::unique_ptr<ProtocolRig> make_protocol_rig(const ProtocolRigOptions& options = {}) {
  auto rig = std::make_unique<ProtocolRig>();
  rig->random = std::make_unique<Random>(options.seed);
  const std::string kind_name(provider_kind_name(options.kind));
  rig->block_provider = BlockSnapshotAdapter::create("block-" + kind_name, options.kind);
  std::vector<BlockSnapshotAdapter*> block_providers = {rig->block_provider.get()};
  for (std::size_t p = 1; p < options.provider_count; ++p) {
    rig->more_block_providers.push_back(BlockSnapshotAdapter::create(
        "block-" + kind_name + "-" + std::to_string(p + 1), options.kind));
    block_providers.push_back(rig->more_block_providers.back().get());
  }
  for (std::size_t i = 0; i < options.volume_count; ++i) {
    ProtocolVolume volume;
    const std::string name = "vol" + std::to_string(i);
    auto origin = MemoryVolume::create({.name = name, .size_bytes = 1 << 20});
    auto diff = MemoryVolume::create({.name = name + "-diff", .size_bytes = 4 << 20});
    EXPECT_TRUE(origin.ok() && diff.ok());
    volume.origin = std::move(origin).value();
    volume.diff = std::move(diff).value();
    ProviderOptions provider_options;
    provider_options.chunk_bytes = 4096;
    provider_options.limit = DiffAreaLimit::unbounded();
    provider_options.clock = &rig->clock;
    provider_options.random = rig->random.get();
    auto provider =
        SnapshotProvider::create(options.kind, *volume.origin, *volume.diff, provider_options);
    EXPECT_TRUE(provider.ok()) << provider.status().to_string();
    volume.provider = std::move(provider).value();
    volume.latch = std::make_unique<LatchVolume>(*volume.provider);
    volume.holdable = std::make_unique<HoldableVolume>(*volume.latch, name);
    EXPECT_TRUE(block_providers[i % block_providers.size()]->add_volume(*volume.provider).ok());
    rig->volumes.push_back(std::move(volume));
  }
  rig->provider = std::make_unique<ScriptedProvider>(rig->trace, *rig->block_provider);
  rig->providers.push_back(rig->provider.get());
  for (auto& block_provider : rig->more_block_providers) {
    rig->more_providers.push_back(std::make_unique<ScriptedProvider>(rig->trace, *block_provider));
    rig->providers.push_back(rig->more_providers.back().get());
  }
  rig->sink = std::make_unique<TraceSink>(rig->trace);
  CoordinatorOptions coordinator_options;
  coordinator_options.events = rig->sink.get();
  coordinator_options.random = rig->random.get();
  if (options.executor == nullptr)
    rig->pool = ThreadPoolExecutor::create(options.threads);
  coordinator_options.executor = options.executor != nullptr ? options.executor : rig->pool.get();
  rig->coordinator = std::make_unique<Coordinator>(rig->clock, coordinator_options);
  for (ScriptedProvider* provider : rig->providers)
    EXPECT_TRUE(rig->coordinator->register_provider(*provider).ok());
  for (auto& volume : rig->volumes)
    EXPECT_TRUE(rig->coordinator->add_volume(*volume.holdable).ok());
  return rig;
}

// Runs the whole requestor sequence, stopping at the first error.
inline Status run_sequence(ProtocolRig& rig, BackupSession& session) {
  auto metadata = session.gather_writer_metadata();
  if (!metadata.ok())
    return metadata.status();
  auto started = session.start_snapshot_set();
  if (!started.ok())
    return started.status();
  for (const std::string& volume : rig.volume_names())
    FF_TRY(session.add_to_snapshot_set(volume));
  FF_TRY(session.prepare_for_backup());
  return session.do_snapshot_set();
}

// Runs the requestor sequence on a thread of its own while `meanwhile` runs on this one (to
// act while a scripted event blocks); returns what the sequence returned.
inline Status run_sequence_while(ProtocolRig& rig, BackupSession& session,
                                 const std::function<void()>& meanwhile) {
  Status status;
  std::thread requestor([&] { status = run_sequence(rig, session); });
  meanwhile();
  requestor.join();
  return status;
}

// Runs the requestor sequence until `entry` (a blocked event, "stuck:freeze") is in the
// trace, then lets `advance` of simulated time pass. The wait is bounded in real time; a
// failed wait goes on to the join: a requestor that never got there has returned.
inline Status run_sequence_past(ProtocolRig& rig, BackupSession& session, const std::string& entry,
                                Nanoseconds advance) {
  return run_sequence_while(rig, session, [&] {
    EXPECT_TRUE(rig.trace.wait_for(entry)) << entry << " never started";
    rig.clock.advance(advance);
  });
}

inline WriterState state_of(const BackupSession& session, const std::string& name) {
  for (const WriterStatus& status : session.gather_writer_status()) {
    if (status.name == name)
      return status.state;
  }
  return WriterState::kUnknown;
}

}  // namespace freezeframe::testing

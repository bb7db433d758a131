// Test doubles for the snapshot protocol: a shared trace, scripted writers that fail, stall
// or block at a chosen event, a provider decorator that fails or overruns at a chosen call,
// and a rig of N volumes (memory origin and diff, a CoW or RoW SnapshotProvider, a
// HoldableVolume on top) behind one BlockSnapshotProvider and a Coordinator on a SimClock.
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "freezeframe/coordinator.h"
#include "freezeframe/holdable_volume.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/protocol_provider.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/snapshot_provider.h"
#include "freezeframe/volume_wrapper.h"
#include "freezeframe/writer.h"

namespace freezeframe::testing {

// Events from every participant, in the order they happened.
class Trace {
 public:
  void add(std::string entry) {
    std::lock_guard lock(mutex_);
    entries_.push_back(std::move(entry));
  }
  std::vector<std::string> entries() const {
    std::lock_guard lock(mutex_);
    return entries_;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> entries_;
};

struct WriterScript {
  std::string name = "writer";
  ApplicationLevel level = ApplicationLevel::kFrontEnd;
  Nanoseconds freeze_timeout = std::chrono::seconds(60);
  std::vector<std::string> volumes;
  // Fail with `failure` at this event.
  std::optional<WriterEvent> fail_at;
  WriterFailure failure = WriterFailure::kRetryable;
  // Advance `clock` by `stall` inside this event (then succeed).
  std::optional<WriterEvent> stall_at;
  sim::SimClock* clock = nullptr;
  Nanoseconds stall{0};
  // Block inside this event until release() (then succeed).
  std::optional<WriterEvent> block_at;
  // Call session->abort() inside this event (then succeed).
  std::optional<WriterEvent> abort_session_at;
  BackupSession* session = nullptr;
};

class ScriptedWriter final : public Writer {
 public:
  ScriptedWriter(Trace& trace, WriterScript script) : trace_(trace), script_(std::move(script)) {}

  Result<WriterMetadata> identify() override {
    WriterResult result = step(WriterEvent::kIdentify);
    if (!result.ok())
      return Status(ErrorCode::kIoError, result.message);
    WriterMetadata metadata;
    metadata.name = script_.name;
    metadata.class_id = Uuid::from_name("class/" + script_.name);
    metadata.instance_id = Uuid::from_name("instance/" + script_.name);
    metadata.level = script_.level;
    WriterComponent component;
    component.name = script_.name + "-data";
    component.volumes = script_.volumes;
    metadata.components.push_back(component);
    return metadata;
  }
  WriterResult prepare_backup(const WriterSessionInfo&) override {
    return step(WriterEvent::kPrepareBackup);
  }
  WriterResult prepare_snapshot(const WriterSessionInfo&) override {
    return step(WriterEvent::kPrepareSnapshot);
  }
  WriterResult freeze(const WriterSessionInfo&) override {
    WriterResult result = step(WriterEvent::kFreeze);
    std::lock_guard lock(mutex_);
    frozen_ = true;  // even a failed freeze may have stopped writes: thaw or abort must follow
    return result;
  }
  WriterResult thaw(const WriterSessionInfo&) override {
    {
      std::lock_guard lock(mutex_);
      frozen_ = false;
    }
    return step(WriterEvent::kThaw);
  }
  WriterResult post_snapshot(const WriterSessionInfo&) override {
    return step(WriterEvent::kPostSnapshot);
  }
  void abort(const WriterSessionInfo&) override {
    trace_.add(script_.name + ":abort");
    if (script_.stall_at == WriterEvent::kAbort && script_.clock != nullptr)
      script_.clock->advance(script_.stall);
    std::lock_guard lock(mutex_);
    frozen_ = false;
    ++aborts_;
  }
  WriterResult backup_complete(const WriterSessionInfo&) override {
    return step(WriterEvent::kBackupComplete);
  }
  void backup_shutdown(const Uuid&) override { trace_.add(script_.name + ":backup-shutdown"); }
  Nanoseconds freeze_timeout() const override { return script_.freeze_timeout; }

  // Lets a blocked event return.
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    released_cv_.notify_all();
  }
  bool frozen() const {
    std::lock_guard lock(mutex_);
    return frozen_;
  }
  int aborts() const {
    std::lock_guard lock(mutex_);
    return aborts_;
  }

 private:
  WriterResult step(WriterEvent event) {
    trace_.add(script_.name + ":" + std::string(writer_event_name(event)));
    if (script_.stall_at == event && script_.clock != nullptr)
      script_.clock->advance(script_.stall);
    if (script_.block_at == event) {
      std::unique_lock lock(mutex_);
      released_cv_.wait(lock, [&] { return released_; });
    }
    if (script_.abort_session_at == event && script_.session != nullptr)
      script_.session->abort().ignore_error();
    if (script_.fail_at == event)
      return WriterResult::fail(script_.failure, "scripted failure");
    return WriterResult::success();
  }

  Trace& trace_;
  WriterScript script_;
  mutable std::mutex mutex_;
  std::condition_variable released_cv_;
  bool released_ = false;
  bool frozen_ = false;
  int aborts_ = 0;
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
class ScriptedProvider final : public Provider {
 public:
  ScriptedProvider(Trace& trace, Provider& inner, ProviderScript script = {})
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
  Provider& inner_;
  ProviderScript script_;
};

// Records the I/O hold and release into the trace, and keeps the JSON lines. `on_record`,
// if set, runs after each event is recorded, on the thread that drives the session: a test
// uses it to act at an exact point of the protocol (abort, advance the clock).
class TraceSink final : public EventSink {
 public:
  explicit TraceSink(Trace& trace) : trace_(trace), json_(lines_) {}
  void record(const ProtocolEvent& event) override {
    if (event.phase == "hold-io" || event.phase == "release-io")
      trace_.add("io:" + event.phase + ":" + event.name);
    json_.record(event);
    if (on_record)
      on_record(event);
  }
  std::string json_lines() const { return lines_.str(); }

  std::function<void(const ProtocolEvent&)> on_record;

 private:
  Trace& trace_;
  std::ostringstream lines_;
  JsonLinesEventSink json_;
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
};

// Declaration order is destruction order reversed: the coordinator goes first (joining any
// stalled event threads), then writers, providers and volumes.
struct ProtocolRig {
  sim::SimClock clock;
  Trace trace;
  std::unique_ptr<Random> random;
  std::vector<ProtocolVolume> volumes;
  std::unique_ptr<BlockSnapshotProvider> block_provider;
  std::unique_ptr<ScriptedProvider> provider;
  // provider_count > 1: the further providers; `providers` lists all, `provider` first.
  std::vector<std::unique_ptr<BlockSnapshotProvider>> more_block_providers;
  std::vector<std::unique_ptr<ScriptedProvider>> more_providers;
  std::vector<ScriptedProvider*> providers;
  std::unique_ptr<TraceSink> sink;
  std::vector<std::unique_ptr<ScriptedWriter>> writers;
  std::unique_ptr<Coordinator> coordinator;

  std::vector<std::string> volume_names() const {
    std::vector<std::string> names;
    for (const auto& volume : volumes)
      names.push_back(volume.holdable->name());
    return names;
  }

  ScriptedWriter& add_writer(WriterScript script) {
    if (script.clock == nullptr)
      script.clock = &clock;
    writers.push_back(std::make_unique<ScriptedWriter>(trace, std::move(script)));
    EXPECT_TRUE(coordinator->register_writer(*writers.back()).ok());
    return *writers.back();
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
  rig->block_provider = std::make_unique<BlockSnapshotProvider>("block-" + kind_name, options.kind);
  std::vector<BlockSnapshotProvider*> block_providers = {rig->block_provider.get()};
  for (std::size_t p = 1; p < options.provider_count; ++p) {
    rig->more_block_providers.push_back(std::make_unique<BlockSnapshotProvider>(
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
  rig->coordinator = std::make_unique<Coordinator>(rig->clock, coordinator_options);
  for (ScriptedProvider* provider : rig->providers)
    EXPECT_TRUE(rig->coordinator->register_provider(*provider).ok());
  for (auto& volume : rig->volumes)
    EXPECT_TRUE(rig->coordinator->add_volume(*volume.holdable).ok());
  return rig;
}

}  // namespace freezeframe::testing

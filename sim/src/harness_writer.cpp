// The writer harness (harness.h): vendor writers in snapshot sets on a deterministic
// coordinator, with deadlines overrun at seeded points and the protocol's outcome checked.
#include <array>
#include <utility>

#include "freezeframe/coordinator.h"
#include "freezeframe/executor.h"
#include "freezeframe/holdable_volume.h"
#include "freezeframe/protocol_provider.h"
#include "freezeframe/sim/fault_volume.h"
#include "freezeframe/sim/harness.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/sim/sim_volume.h"
#include "harness_common.h"

namespace freezeframe::sim {
namespace {

using harness_detail::FindingSink;

// The writer events whose duration the harness stretches, each bounded by a deadline.
constexpr std::array<WriterEvent, 4> kStretchedEvents = {WriterEvent::kPrepareSnapshot,
                                                         WriterEvent::kFreeze, WriterEvent::kThaw,
                                                         WriterEvent::kPostSnapshot};

// The vendor's writer as the coordinator sees it: every event is passed on; the one the
// harness chose for this set then takes `stall` of simulated time more (a slow writer or a
// slow disk under it). It also records what the protocol did to the writer: frozen from a
// successful freeze until thaw or abort is called.
class WriterProxy final : public Writer {
 public:
  WriterProxy(HarnessWriter& inner, SimClock& clock) : inner_(inner), clock_(clock) {}

  void plan(std::optional<WriterEvent> event, Nanoseconds stall) {
    stall_event_ = event;
    stall_ = stall;
  }
  bool frozen() const noexcept { return frozen_; }
  HarnessWriter& inner() const noexcept { return inner_; }

  Result<WriterMetadata> identify() override { return inner_.identify(); }
  WriterResult prepare_backup(const WriterSessionInfo& session) override {
    return inner_.prepare_backup(session);
  }
  WriterResult prepare_snapshot(const WriterSessionInfo& session) override {
    return stalled(WriterEvent::kPrepareSnapshot, inner_.prepare_snapshot(session));
  }
  WriterResult freeze(const WriterSessionInfo& session) override {
    WriterResult result = inner_.freeze(session);
    if (result.ok())
      frozen_ = true;
    return stalled(WriterEvent::kFreeze, std::move(result));
  }
  WriterResult thaw(const WriterSessionInfo& session) override {
    frozen_ = false;
    return stalled(WriterEvent::kThaw, inner_.thaw(session));
  }
  WriterResult post_snapshot(const WriterSessionInfo& session) override {
    return stalled(WriterEvent::kPostSnapshot, inner_.post_snapshot(session));
  }
  void abort(const WriterSessionInfo& session) override {
    frozen_ = false;
    inner_.abort(session);
  }
  WriterResult backup_complete(const WriterSessionInfo& session) override {
    return inner_.backup_complete(session);
  }
  void backup_shutdown(const Uuid& set_id) override { inner_.backup_shutdown(set_id); }
  WriterResult pre_restore(const WriterSessionInfo& session) override {
    return inner_.pre_restore(session);
  }
  WriterResult post_restore(const WriterSessionInfo& session) override {
    return inner_.post_restore(session);
  }
  Nanoseconds freeze_timeout() const override { return inner_.freeze_timeout(); }

 private:
  WriterResult stalled(WriterEvent event, WriterResult result) {
    if (stall_event_ == event) {
      stall_event_.reset();
      clock_.advance(stall_);
    }
    return result;
  }

  HarnessWriter& inner_;
  SimClock& clock_;
  std::optional<WriterEvent> stall_event_{};
  Nanoseconds stall_{0};
  bool frozen_ = false;
};

// The adapter as the coordinator sees it: at each call outside the commit window a writer
// may do some of its work (seeded), and at commit it records which writers were not frozen.
class ProviderProxy final : public ProtocolProvider {
 public:
  ProviderProxy(ProtocolProvider& inner, std::function<void()> interleave,
                std::function<void()> at_commit)
      : inner_(inner), interleave_(std::move(interleave)), at_commit_(std::move(at_commit)) {}

  const Uuid& id() const noexcept override { return inner_.id(); }
  const std::string& name() const noexcept override { return inner_.name(); }
  ProviderKind kind() const noexcept override { return inner_.kind(); }
  bool is_volume_supported(std::string_view volume) const override {
    return inner_.is_volume_supported(volume);
  }
  Status begin_prepare(const Uuid& set_id, std::string_view volume,
                       std::uint32_t attributes) override {
    interleave_();
    return inner_.begin_prepare(set_id, volume, attributes);
  }
  Status end_prepare(const Uuid& set_id) override {
    interleave_();
    return inner_.end_prepare(set_id);
  }
  Status pre_commit(const Uuid& set_id) override {
    interleave_();
    return inner_.pre_commit(set_id);
  }
  // I/O is held: no writer work may run here (it would wait for the release forever).
  Status commit(const Uuid& set_id) override {
    at_commit_();
    return inner_.commit(set_id);
  }
  Status post_commit(const Uuid& set_id) override {
    interleave_();
    return inner_.post_commit(set_id);
  }
  Status abort(const Uuid& set_id) override { return inner_.abort(set_id); }
  Status delete_snapshot(const Uuid& snapshot_id) override {
    return inner_.delete_snapshot(snapshot_id);
  }
  std::vector<SnapshotInfo> query() const override { return inner_.query(); }
  Result<std::unique_ptr<Volume>> open_snapshot(const Uuid& snapshot_id) override {
    return inner_.open_snapshot(snapshot_id);
  }

 private:
  ProtocolProvider& inner_;
  std::function<void()> interleave_;
  std::function<void()> at_commit_;
};

// One writer's volume stack, bottom first.
struct WriterVolume {
  std::unique_ptr<MemoryVolume> origin_base;
  std::unique_ptr<MemoryVolume> diff_base;
  std::unique_ptr<SimVolume> origin;
  std::unique_ptr<SimVolume> diff;
  std::unique_ptr<SnapshotProvider> provider;
  std::unique_ptr<FaultVolume> faults;
  std::unique_ptr<HoldableVolume> holdable;
  std::unique_ptr<HarnessWriter> writer;
  std::unique_ptr<WriterProxy> proxy;
};

class WriterRun {
 public:
  WriterRun(const WriterHarnessOptions& options, ProviderKind kind)
      : options_(options),
        kind_(kind),
        findings_(options.seed, options.replay_command),
        tape_(options.choices),
        steps_random_(Random(options.seed, &tape_).fork("harness/steps")),
        writer_random_(Random(options.seed, &tape_).fork("harness/writers")),
        order_random_(Random(options.seed, &tape_).fork("harness/order")),
        uuids_(Random(options.seed).fork("harness/uuids")),
        executor_(&order_random_) {}
  ~WriterRun() {
    // The coordinator first: it calls into writers and providers while it goes.
    coordinator_.reset();
  }
  WriterRun(const WriterRun&) = delete;
  WriterRun& operator=(const WriterRun&) = delete;

  Status build();
  HarnessReport run();

 private:
  void fail(std::string operation, std::string what) {
    findings_.fail(step_, std::move(operation), std::move(what));
  }
  std::uint64_t injected() const {
    std::uint64_t total = 0;
    for (const auto& volume : volumes_)
      total += volume.faults->stats().injected_failures;
    return total;
  }
  // One step of writer `index`'s work. `in_set`: a frozen writer may answer kBusy.
  void writer_step(std::size_t index, bool in_set);
  void interleave();
  void record_commit();
  void snapshot_set();
  Status run_set(BackupSession& session);
  void check_completed_set(BackupSession& session);
  void check_failed_set(const Status& status, bool cause_injected);
  std::vector<std::string> volume_names() const;

  const WriterHarnessOptions& options_;
  ProviderKind kind_;
  FindingSink findings_;
  HarnessCounts counts_{};
  std::uint64_t step_ = 0;
  SimClock clock_;
  ChoiceTape tape_;
  Random steps_random_;
  Random writer_random_;
  Random order_random_;
  Random uuids_;
  DeterministicExecutor executor_;
  std::vector<WriterVolume> volumes_;
  std::unique_ptr<BlockSnapshotAdapter> adapter_;
  std::unique_ptr<ProviderProxy> provider_;
  std::unique_ptr<Coordinator> coordinator_;
  // Writers found not frozen when the provider committed the current set.
  std::vector<std::string> unfrozen_at_commit_;
};

Status WriterRun::build() {
  adapter_ =
      BlockSnapshotAdapter::create("harness-" + std::string(provider_kind_name(kind_)), kind_);
  volumes_.resize(options_.writers);
  for (std::size_t i = 0; i < options_.writers; ++i) {
    WriterVolume& volume = volumes_[i];
    const std::string name = "data" + std::to_string(i);
    FF_ASSIGN_OR_RETURN(
        volume.origin_base,
        harness_detail::memory_volume(name, options_.volume_bytes, options_.sector_bytes));
    FF_ASSIGN_OR_RETURN(
        volume.diff_base,
        harness_detail::memory_volume(name + "-diff",
                                      harness_detail::diff_bytes_for(options_.volume_bytes, 1),
                                      options_.sector_bytes));
    SimVolumeOptions sim{.seed = derive_seed(options_.seed, "harness/" + name),
                         .choices = &tape_,
                         .clock = &clock_,
                         .latency_per_operation = harness_detail::kRequestLatency,
                         .name = name};
    FF_ASSIGN_OR_RETURN(volume.origin, SimVolume::create(*volume.origin_base, sim));
    sim.seed = derive_seed(options_.seed, "harness/" + name + "-diff");
    sim.name = name + "-diff";
    FF_ASSIGN_OR_RETURN(volume.diff, SimVolume::create(*volume.diff_base, sim));
    ProviderOptions provider_options;
    provider_options.chunk_bytes = harness_detail::kChunkBytes;
    provider_options.limit = DiffAreaLimit::unbounded();
    provider_options.clock = &clock_;
    provider_options.random = &uuids_;
    FF_ASSIGN_OR_RETURN(volume.provider, SnapshotProvider::create(kind_, *volume.origin,
                                                                  *volume.diff, provider_options));
    FF_ASSIGN_OR_RETURN(
        volume.faults,
        FaultVolume::create(
            *volume.provider,
            {.seed = derive_seed(options_.seed, "harness/faults/" + name), .choices = &tape_}));
    volume.holdable = std::make_unique<HoldableVolume>(*volume.faults, name);
    FF_TRY(adapter_->add_volume(*volume.provider, name));
    FF_ASSIGN_OR_RETURN(volume.writer, options_.make_writer(i, *volume.holdable));
    FF_TRY(harness_detail::require(volume.writer != nullptr, "writer harness",
                                   "make_writer returned null"));
    volume.proxy = std::make_unique<WriterProxy>(*volume.writer, clock_);
    if (options_.fault_probability > 0.0) {
      volume.faults->add_fault(
          {.trigger = FaultRule::Trigger::kProbability,
           .operations = static_cast<IoOperationMask>(operation_bit(IoOperation::kWrite) |
                                                      operation_bit(IoOperation::kFlush) |
                                                      operation_bit(IoOperation::kDiscard)),
           .probability = options_.fault_probability});
    }
  }
  provider_ = std::make_unique<ProviderProxy>(
      *adapter_, [this] { interleave(); }, [this] { record_commit(); });
  CoordinatorOptions coordinator_options;
  coordinator_options.commit_window_max = options_.commit_window_max;
  coordinator_options.event_duration_max = options_.event_duration_max;
  coordinator_options.random = &uuids_;
  coordinator_options.executor = &executor_;
  coordinator_ = std::make_unique<Coordinator>(clock_, coordinator_options);
  FF_TRY(coordinator_->register_provider(*provider_));
  for (WriterVolume& volume : volumes_) {
    FF_TRY(coordinator_->add_volume(*volume.holdable));
    FF_TRY(coordinator_->register_writer(*volume.proxy));
  }
  return Status();
}

std::vector<std::string> WriterRun::volume_names() const {
  std::vector<std::string> names;
  for (const auto& volume : volumes_)
    names.push_back(volume.holdable->name());
  return names;
}

void WriterRun::writer_step(std::size_t index, bool in_set) {
  WriterVolume& volume = volumes_[index];
  const std::uint64_t before = injected();
  ++counts_.vendor_steps;
  const Status status = volume.writer->step(writer_random_);
  const std::uint64_t injected_now = injected() - before;
  counts_.faults_injected += injected_now;
  if (status.ok())
    return;
  if (status.code() == ErrorCode::kBusy) {
    if (!in_set) {
      fail("writer held after set",
           "writer " + std::to_string(index) + " on " + volume.holdable->name() +
               " still holds its writes outside a snapshot set: " + status.to_string());
    }
    return;
  }
  if (status.code() == ErrorCode::kIoError && injected_now > 0)
    return;
  fail("step", "writer " + std::to_string(index) + ": " + status.to_string());
}

void WriterRun::interleave() {
  if (findings_.failed() || !steps_random_.chance(options_.interleave_probability))
    return;
  writer_step(steps_random_.uniform(volumes_.size()), true);
}

void WriterRun::record_commit() {
  for (std::size_t i = 0; i < volumes_.size(); ++i) {
    if (!volumes_[i].proxy->frozen())
      unfrozen_at_commit_.push_back("writer " + std::to_string(i));
  }
}

Status WriterRun::run_set(BackupSession& session) {
  auto metadata = session.gather_writer_metadata();
  if (!metadata.ok())
    return metadata.status();
  auto started = session.start_snapshot_set();
  if (!started.ok())
    return started.status();
  for (const std::string& volume : volume_names())
    FF_TRY(session.add_to_snapshot_set(volume));
  FF_TRY(session.prepare_for_backup());
  return session.do_snapshot_set();
}

// A completed set: every writer was frozen when the provider committed, so each snapshot
// must satisfy its writer's checker as it stands.
void WriterRun::check_completed_set(BackupSession& session) {
  ++counts_.snapshots;
  ++counts_.checks_run;
  if (!unfrozen_at_commit_.empty()) {
    fail("frozen at commit",
         unfrozen_at_commit_.front() + " was not frozen when the provider committed the set");
    return;
  }
  for (std::size_t i = 0; i < volumes_.size() && !findings_.failed(); ++i) {
    const std::string& name = volumes_[i].holdable->name();
    auto snapshot = session.open_snapshot(name);
    if (!snapshot.ok()) {
      fail("open snapshot", name + ": " + snapshot.status().to_string());
      return;
    }
    auto image = harness_detail::read_image(**snapshot);
    if (!image.ok()) {
      fail("read snapshot", name + ": " + image.status().to_string());
      return;
    }
    auto copy = harness_detail::copy_of(**snapshot, *image);
    if (!copy.ok()) {
      fail("copy snapshot", name + ": " + copy.status().to_string());
      return;
    }
    ++counts_.checks_run;
    if (Status status = volumes_[i].writer->check(**copy); !status.ok())
      fail("check snapshot",
           "writer " + std::to_string(i) + " on " + name + ": " + status.to_string());
  }
}

// A failed set must have a cause the harness injected, and leave nothing behind: no writer
// frozen, no I/O held, no snapshot; and every writer must work again.
void WriterRun::check_failed_set(const Status& status, bool cause_injected) {
  ++counts_.sets_failed;
  ++counts_.checks_run;
  if (!cause_injected) {
    fail("set",
         "the snapshot set failed with no fault or deadline injected: " + status.to_string());
    return;
  }
  for (std::size_t i = 0; i < volumes_.size(); ++i) {
    if (volumes_[i].proxy->frozen()) {
      fail("thaw after failed set",
           "writer " + std::to_string(i) +
               " was frozen and neither thawed nor aborted after: " + status.to_string());
      return;
    }
    if (volumes_[i].holdable->held()) {
      fail("release after failed set",
           volumes_[i].holdable->name() + " is still held after: " + status.to_string());
      return;
    }
  }
  if (auto left = provider_->query(); !left.empty()) {
    fail("cleanup after failed set",
         std::to_string(left.size()) + " snapshot(s) left behind after: " + status.to_string());
    return;
  }
  for (std::size_t i = 0; i < volumes_.size() && !findings_.failed(); ++i)
    writer_step(i, false);
}

// One set: at most one writer event stretched past its deadline (an overrun, counted as an
// injected fault) or within it (a slow one that must not fail the set).
void WriterRun::snapshot_set() {
  for (auto& volume : volumes_)
    volume.proxy->plan(std::nullopt, Nanoseconds(0));
  const bool overrun = steps_random_.chance(options_.overrun_probability);
  const bool slow = !overrun && steps_random_.chance(options_.slow_probability);
  // An overrun of an event whose deadline bounds the set (not post-snapshot, which runs once
  // the snapshots exist) must fail it.
  std::optional<std::string> must_fail;
  if (overrun || slow) {
    const std::size_t index = steps_random_.uniform(volumes_.size());
    WriterProxy& proxy = *volumes_[index].proxy;
    const WriterEvent event = kStretchedEvents[steps_random_.uniform(kStretchedEvents.size())];
    if (overrun && event != WriterEvent::kPostSnapshot)
      must_fail = "writer " + std::to_string(index) + "'s " +
                  std::string(writer_event_name(event)) + " took one and a half times its deadline";
    const bool windowed = event == WriterEvent::kFreeze || event == WriterEvent::kThaw;
    const Nanoseconds deadline = windowed ? proxy.freeze_timeout() : options_.event_duration_max;
    proxy.plan(event, overrun ? deadline + deadline / 2 : deadline / 4);
    if (overrun)
      ++counts_.faults_injected;
  }
  unfrozen_at_commit_.clear();
  const std::uint64_t injected_before = injected();
  std::unique_ptr<BackupSession> session = coordinator_->create_session();
  const Status status = run_set(*session);
  const std::uint64_t injected_now = injected() - injected_before;
  counts_.faults_injected += injected_now;
  if (findings_.failed())
    return;
  if (status.ok() && must_fail.has_value()) {
    fail("deadline", *must_fail + ", yet the set completed");
    return;
  }
  if (status.ok()) {
    check_completed_set(*session);
    if (Status complete = session->backup_complete(); !complete.ok() && !findings_.failed())
      fail("backup complete", complete.to_string());
    return;
  }
  session.reset();
  check_failed_set(status, overrun || injected_now > 0);
}

HarnessReport WriterRun::run() {
  for (step_ = 0; step_ < options_.steps && !findings_.failed(); ++step_) {
    ++counts_.steps;
    if (steps_random_.chance(options_.set_probability))
      snapshot_set();
    else
      writer_step(steps_random_.uniform(volumes_.size()), false);
  }
  return HarnessReport{.seed = options_.seed,
                       .kind = kind_,
                       .counts = counts_,
                       .finding = std::move(findings_.finding())};
}

Status check_writer_options(const WriterHarnessOptions& options) {
  constexpr std::string_view kEntry = "writer harness";
  FF_TRY(harness_detail::check_common(kEntry, options.steps, options.volume_bytes,
                                      options.sector_bytes, options.fault_probability,
                                      options.replay_command));
  FF_TRY(harness_detail::require(static_cast<bool>(options.make_writer), kEntry,
                                 "make_writer is not set"));
  FF_TRY(harness_detail::require(
      options.writers >= 1 && options.writers <= 8, kEntry,
      "writers must be from 1 to 8, not " + std::to_string(options.writers)));
  FF_TRY(harness_detail::require(options.set_probability > 0.0 && options.set_probability <= 1.0,
                                 kEntry, "set_probability must be in (0, 1]"));
  FF_TRY(
      harness_detail::require(harness_detail::in_unit_interval(options.overrun_probability) &&
                                  harness_detail::in_unit_interval(options.slow_probability) &&
                                  harness_detail::in_unit_interval(options.interleave_probability),
                              kEntry,
                              "overrun_probability, slow_probability and "
                              "interleave_probability must each be in [0, 1]"));
  return harness_detail::require(
      options.commit_window_max > Nanoseconds(0) && options.event_duration_max > Nanoseconds(0),
      kEntry, "commit_window_max and event_duration_max must be positive");
}

}  // namespace

Result<HarnessReport> run_writer_harness(const WriterHarnessOptions& options) {
  FF_TRY(check_writer_options(options));
  auto run =
      std::make_unique<WriterRun>(options, harness_detail::choose_kind(options.kind, options.seed));
  FF_TRY(run->build());
  return run->run();
}

}  // namespace freezeframe::sim

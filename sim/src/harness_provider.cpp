// The provider harness (harness.h): a vendor's ProtocolProvider under the harness's requestor,
// with I/O errors beneath it and its calls pushed past their deadlines; every snapshot it
// reports is compared with a model of the origin at the set's instant.
#include <algorithm>
#include <array>
#include <utility>

#include "freezeframe/coordinator.h"
#include "freezeframe/executor.h"
#include "freezeframe/holdable_volume.h"
#include "freezeframe/sim/harness.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/sim/sim_volume.h"
#include "harness_common.h"

namespace freezeframe::sim {
namespace {

using harness_detail::FindingSink;

enum class ProviderCall : std::uint8_t {
  kBeginPrepare,
  kEndPrepare,
  kPreCommit,
  kCommit,
  kPostCommit
};
constexpr std::array<ProviderCall, 5> kProviderCalls = {
    ProviderCall::kBeginPrepare, ProviderCall::kEndPrepare, ProviderCall::kPreCommit,
    ProviderCall::kCommit, ProviderCall::kPostCommit};

// The vendor's provider as the coordinator sees it: every call is passed on; the one the
// harness chose for this set then takes `stall` of simulated time more.
class StallingProvider final : public ProtocolProvider {
 public:
  StallingProvider(ProtocolProvider& inner, SimClock& clock) : inner_(inner), clock_(clock) {}

  void plan(std::optional<ProviderCall> call, Nanoseconds stall) {
    call_ = call;
    stall_ = stall;
  }

  const Uuid& id() const noexcept override { return inner_.id(); }
  const std::string& name() const noexcept override { return inner_.name(); }
  ProviderKind kind() const noexcept override { return inner_.kind(); }
  bool is_volume_supported(std::string_view volume) const override {
    return inner_.is_volume_supported(volume);
  }
  Status begin_prepare(const Uuid& set_id, std::string_view volume,
                       std::uint32_t attributes) override {
    return stalled(ProviderCall::kBeginPrepare, inner_.begin_prepare(set_id, volume, attributes));
  }
  Status end_prepare(const Uuid& set_id) override {
    return stalled(ProviderCall::kEndPrepare, inner_.end_prepare(set_id));
  }
  Status pre_commit(const Uuid& set_id) override {
    return stalled(ProviderCall::kPreCommit, inner_.pre_commit(set_id));
  }
  Status commit(const Uuid& set_id) override {
    return stalled(ProviderCall::kCommit, inner_.commit(set_id));
  }
  Status post_commit(const Uuid& set_id) override {
    return stalled(ProviderCall::kPostCommit, inner_.post_commit(set_id));
  }
  Status abort(const Uuid& set_id) override { return inner_.abort(set_id); }
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
  Status stalled(ProviderCall call, Status status) {
    if (call_ == call) {
      call_.reset();
      clock_.advance(stall_);
    }
    return status;
  }

  ProtocolProvider& inner_;
  SimClock& clock_;
  std::optional<ProviderCall> call_{};
  Nanoseconds stall_{0};
};

using Bytes = std::vector<std::byte>;

// One volume: the simulated disks under the vendor's provider, and the harness's model of
// its live content.
struct ProviderVolume {
  std::string name;
  std::unique_ptr<MemoryVolume> origin_base;
  std::unique_ptr<MemoryVolume> storage_base;
  std::unique_ptr<SimVolume> origin;
  std::unique_ptr<SimVolume> storage;
  std::unique_ptr<HoldableVolume> holdable;  // over the provider's live volume
  Bytes model;
};

// A set the harness keeps: the snapshot of each volume and the model it must read as.
struct KeptSet {
  std::uint64_t number = 0;
  Uuid set_id{};
  std::vector<Uuid> snapshots{};
  std::vector<Bytes> images{};
};

class ProviderRun {
 public:
  ProviderRun(const ProviderHarnessOptions& options)
      : options_(options),
        findings_(options.seed, options.replay_command),
        tape_(options.choices),
        steps_random_(Random(options.seed, &tape_).fork("harness/steps")),
        data_random_(Random(options.seed, &tape_).fork("harness/data")),
        order_random_(Random(options.seed, &tape_).fork("harness/order")),
        uuids_(Random(options.seed).fork("harness/uuids")),
        executor_(&order_random_) {}
  ~ProviderRun() { close_provider(); }
  ProviderRun(const ProviderRun&) = delete;
  ProviderRun& operator=(const ProviderRun&) = delete;

  Status build();
  HarnessReport run();

 private:
  void fail(std::string operation, std::string what) {
    findings_.fail(step_, std::move(operation), std::move(what));
  }
  std::uint64_t injected() const {
    std::uint64_t total = 0;
    for (const auto& volume : volumes_)
      total += volume.origin->stats().injected_failures + volume.storage->stats().injected_failures;
    return total;
  }
  Status open_provider(bool reopen);
  void close_provider();
  void set_faults(bool enabled);
  void reopen();
  void io_step();
  void snapshot_set();
  void check_failed_set(const Status& status, bool cause_injected, const std::vector<Uuid>& before);
  void verify_kept_sets();
  std::vector<std::string> volume_names() const;

  const ProviderHarnessOptions& options_;
  FindingSink findings_;
  HarnessCounts counts_{};
  std::uint64_t step_ = 0;
  std::uint64_t set_number_ = 0;
  SimClock clock_;
  ChoiceTape tape_;
  Random steps_random_;
  Random data_random_;
  Random order_random_;
  Random uuids_;
  DeterministicExecutor executor_;
  std::vector<ProviderVolume> volumes_;
  std::vector<HarnessProviderVolume> handed_;
  std::unique_ptr<HarnessProvider> provider_;
  std::unique_ptr<StallingProvider> stalling_;
  std::unique_ptr<Coordinator> coordinator_;
  std::vector<KeptSet> kept_;
};

Status ProviderRun::build() {
  const std::uint64_t storage_bytes = options_.storage_bytes != 0
                                          ? options_.storage_bytes
                                          : (16ull << 20) + 8 * options_.volume_bytes;
  volumes_.resize(options_.volumes);
  for (std::size_t i = 0; i < options_.volumes; ++i) {
    ProviderVolume& volume = volumes_[i];
    volume.name = "vol" + std::to_string(i);
    FF_ASSIGN_OR_RETURN(
        volume.origin_base,
        harness_detail::memory_volume(volume.name, options_.volume_bytes, options_.sector_bytes));
    FF_ASSIGN_OR_RETURN(volume.storage_base,
                        harness_detail::memory_volume(volume.name + "-storage", storage_bytes,
                                                      options_.sector_bytes));
    SimVolumeOptions sim{.seed = derive_seed(options_.seed, "harness/" + volume.name),
                         .choices = &tape_,
                         .clock = &clock_,
                         .latency_per_operation = harness_detail::kRequestLatency,
                         .name = volume.name};
    FF_ASSIGN_OR_RETURN(volume.origin, SimVolume::create(*volume.origin_base, sim));
    sim.seed = derive_seed(options_.seed, "harness/" + volume.name + "-storage");
    sim.name = volume.name + "-storage";
    FF_ASSIGN_OR_RETURN(volume.storage, SimVolume::create(*volume.storage_base, sim));
    volume.model.assign(options_.volume_bytes, std::byte{0});
    handed_.push_back(
        {.name = volume.name, .origin = volume.origin.get(), .storage = volume.storage.get()});
  }
  FF_TRY(open_provider(false));
  set_faults(true);
  return Status();
}

// The coordinator goes first: it calls into the provider and holds the volumes.
void ProviderRun::close_provider() {
  coordinator_.reset();
  for (auto& volume : volumes_)
    volume.holdable.reset();
  stalling_.reset();
  provider_.reset();
}

Status ProviderRun::open_provider(bool reopen) {
  close_provider();
  FF_ASSIGN_OR_RETURN(provider_, options_.make_provider(handed_, reopen));
  FF_TRY(harness_detail::require(provider_ != nullptr, "provider harness",
                                 "make_provider returned null"));
  stalling_ = std::make_unique<StallingProvider>(provider_->protocol(), clock_);
  CoordinatorOptions coordinator_options;
  coordinator_options.commit_window_max = options_.commit_window_max;
  coordinator_options.event_duration_max = options_.event_duration_max;
  coordinator_options.random = &uuids_;
  coordinator_options.executor = &executor_;
  coordinator_ = std::make_unique<Coordinator>(clock_, coordinator_options);
  FF_TRY(coordinator_->register_provider(*stalling_));
  for (std::size_t i = 0; i < volumes_.size(); ++i) {
    Volume& live = provider_->live(i);
    FF_TRY(harness_detail::require(
        live.size_bytes() == options_.volume_bytes, "provider harness",
        "the provider's live volume " + std::to_string(i) + " is not of the origin's size"));
    volumes_[i].holdable = std::make_unique<HoldableVolume>(live, volumes_[i].name);
    FF_TRY(coordinator_->add_volume(*volumes_[i].holdable));
  }
  return Status();
}

// Faults only while the harness drives the provider: making and reopening it must not fail at
// random.
void ProviderRun::set_faults(bool enabled) {
  for (auto& volume : volumes_) {
    volume.origin->clear_faults();
    volume.storage->clear_faults();
  }
  if (!enabled || options_.fault_probability <= 0.0)
    return;
  const FaultRule rule{.trigger = FaultRule::Trigger::kProbability,
                       .operations = static_cast<IoOperationMask>(
                           operation_bit(IoOperation::kWrite) | operation_bit(IoOperation::kFlush) |
                           operation_bit(IoOperation::kDiscard)),
                       .probability = options_.fault_probability};
  for (auto& volume : volumes_) {
    volume.origin->add_fault(rule);
    volume.storage->add_fault(rule);
  }
}

// After an I/O error beneath it the provider is restarted (no power loss: the disks keep
// their caches), as a service would be. Its kept snapshots must survive; snapshots it could
// not remove after a failed set (and said so) are deleted now. A write that failed may have
// landed in part, and one the provider held unflushed may be gone, so the models take what
// the live volumes read now.
void ProviderRun::reopen() {
  ++counts_.restarts;
  set_faults(false);
  if (Status status = open_provider(true); !status.ok()) {
    fail("reopen provider", status.to_string());
    return;
  }
  for (const SnapshotInfo& info : stalling_->query()) {
    const bool kept = std::any_of(kept_.begin(), kept_.end(), [&](const KeptSet& set) {
      return std::find(set.snapshots.begin(), set.snapshots.end(), info.id) != set.snapshots.end();
    });
    if (kept)
      continue;
    if (Status status = stalling_->delete_snapshot(info.id); !status.ok()) {
      fail("delete leftover snapshot", status.to_string());
      return;
    }
  }
  for (auto& volume : volumes_) {
    auto image = harness_detail::read_image(*volume.holdable);
    if (!image.ok()) {
      fail("read after reopen", volume.name + ": " + image.status().to_string());
      return;
    }
    volume.model = std::move(image).value();
  }
  verify_kept_sets();
  set_faults(true);
}

std::vector<std::string> ProviderRun::volume_names() const {
  std::vector<std::string> names;
  for (const auto& volume : volumes_)
    names.push_back(volume.name);
  return names;
}

// A write, discard, flush or read of one volume, compared with the model.
void ProviderRun::io_step() {
  ProviderVolume& volume = volumes_[steps_random_.uniform(volumes_.size())];
  const std::uint64_t sectors = options_.volume_bytes / options_.sector_bytes;
  const std::uint64_t first = steps_random_.uniform(sectors);
  const std::uint64_t count = 1 + steps_random_.uniform(std::min<std::uint64_t>(
                                      sectors - first, 64 * 1024 / options_.sector_bytes));
  const std::uint64_t offset = first * options_.sector_bytes;
  const std::uint64_t length = count * options_.sector_bytes;
  const std::uint64_t kind = steps_random_.uniform(10);
  const std::uint64_t injected_before = injected();
  ++counts_.vendor_steps;
  Status status;
  if (kind < 6) {
    Bytes data(length);
    data_random_.fill(data);
    status = volume.holdable->write(offset, data);
    if (status.ok())
      std::copy(data.begin(), data.end(),
                volume.model.begin() + static_cast<std::ptrdiff_t>(offset));
  } else if (kind < 7) {
    status = volume.holdable->discard(offset, length);
    if (status.ok())
      std::fill_n(volume.model.begin() + static_cast<std::ptrdiff_t>(offset), length, std::byte{0});
  } else if (kind < 8) {
    status = volume.holdable->flush();
  } else {
    Bytes read(length);
    ++counts_.checks_run;
    status = volume.holdable->read(offset, read);
    if (status.ok() && !std::equal(read.begin(), read.end(),
                                   volume.model.begin() + static_cast<std::ptrdiff_t>(offset))) {
      fail("live read", volume.name + " at offset " + std::to_string(offset) + " length " +
                            std::to_string(length) + " differs from what was written");
      return;
    }
  }
  const std::uint64_t injected_now = injected() - injected_before;
  counts_.faults_injected += injected_now;
  if (status.ok() && injected_now == 0)
    return;
  if (!status.ok() && injected_now == 0) {
    fail("live I/O", volume.name + ": " + status.to_string());
    return;
  }
  // An error beneath the provider, which failed the request or was absorbed: the provider
  // may have stopped since.
  reopen();
}

// Every kept snapshot must still read as the origin did when its set was taken.
void ProviderRun::verify_kept_sets() {
  for (const KeptSet& set : kept_) {
    for (std::size_t i = 0; i < set.snapshots.size(); ++i) {
      ++counts_.checks_run;
      auto snapshot = stalling_->open_snapshot(set.snapshots[i]);
      if (!snapshot.ok()) {
        fail("open snapshot", "set " + std::to_string(set.number) + ", " + volumes_[i].name + ": " +
                                  snapshot.status().to_string());
        return;
      }
      auto image = harness_detail::read_image(**snapshot);
      if (!image.ok()) {
        fail("read snapshot", "set " + std::to_string(set.number) + ", " + volumes_[i].name + ": " +
                                  image.status().to_string());
        return;
      }
      if (*image != set.images[i]) {
        const auto where = std::mismatch(image->begin(), image->end(), set.images[i].begin());
        fail("snapshot content",
             "set " + std::to_string(set.number) + ", " + volumes_[i].name +
                 ": the snapshot differs from the origin at the set's instant, first at offset " +
                 std::to_string(where.first - image->begin()));
        return;
      }
    }
  }
}

void ProviderRun::check_failed_set(const Status& status, bool cause_injected,
                                   const std::vector<Uuid>& before) {
  ++counts_.sets_failed;
  ++counts_.checks_run;
  if (!cause_injected) {
    fail("set",
         "the snapshot set failed with no fault or deadline injected: " + status.to_string());
    return;
  }
  for (const auto& volume : volumes_) {
    if (volume.holdable->held()) {
      fail("release after failed set", volume.name + " is still held after: " + status.to_string());
      return;
    }
  }
  for (const SnapshotInfo& info : stalling_->query()) {
    // A snapshot the failure names ("left snapshot <id>") was reported, not left silently.
    const bool reported = status.message().find(info.id.to_string()) != std::string::npos;
    if (std::find(before.begin(), before.end(), info.id) == before.end() && !reported) {
      fail("cleanup after failed set", "snapshot " + info.id.to_string() + " of " +
                                           info.origin_name +
                                           " was left behind after: " + status.to_string());
      return;
    }
  }
}

void ProviderRun::snapshot_set() {
  const bool overrun = steps_random_.chance(options_.overrun_probability);
  stalling_->plan(std::nullopt, Nanoseconds(0));
  if (overrun) {
    const ProviderCall call = kProviderCalls[steps_random_.uniform(kProviderCalls.size())];
    const Nanoseconds deadline =
        call == ProviderCall::kCommit ? options_.commit_window_max : options_.event_duration_max;
    stalling_->plan(call, deadline + deadline / 2);
    ++counts_.faults_injected;
  }
  std::vector<Uuid> before;
  for (const SnapshotInfo& info : stalling_->query())
    before.push_back(info.id);
  // The set's instant: no write runs during the set, so the models are the origin then.
  KeptSet set{.number = ++set_number_};
  for (const auto& volume : volumes_)
    set.images.push_back(volume.model);
  const std::uint64_t injected_before = injected();
  auto session =
      coordinator_->take_snapshot_set(volume_names(), {.context = SnapshotContext::kNasRollback});
  std::uint64_t injected_now = injected() - injected_before;
  counts_.faults_injected += injected_now;
  if (!session.ok()) {
    check_failed_set(session.status(), overrun || injected_now > 0, before);
    if (injected_now > 0 && !findings_.failed())
      reopen();
    return;
  }
  ++counts_.snapshots;
  ++counts_.checks_run;
  auto taken = (*session)->snapshot_set();
  if (!taken.ok()) {
    fail("snapshot set", taken.status().to_string());
    return;
  }
  set.set_id = taken->id;
  const std::vector<SnapshotInfo> held = stalling_->query();
  for (const auto& volume : volumes_) {
    const auto info =
        std::find_if(taken->snapshots.begin(), taken->snapshots.end(),
                     [&](const SnapshotInfo& s) { return s.origin_name == volume.name; });
    const bool listed = info != taken->snapshots.end() &&
                        std::any_of(held.begin(), held.end(),
                                    [&](const SnapshotInfo& s) { return s.id == info->id; });
    if (!listed) {
      fail("snapshot set", "the completed set has no snapshot of " + volume.name +
                               " that the provider's query() lists");
      return;
    }
    set.snapshots.push_back(info->id);
  }
  session->reset();
  kept_.push_back(std::move(set));
  if (kept_.size() > options_.sets_kept) {
    // Dropped from the kept sets first: a delete that an injected error stops is finished by
    // the reopen, which deletes every snapshot the harness does not keep.
    const std::vector<Uuid> oldest = std::move(kept_.front().snapshots);
    kept_.erase(kept_.begin());
    for (const Uuid& id : oldest) {
      const std::uint64_t before_delete = injected();
      Status status = stalling_->delete_snapshot(id);
      const std::uint64_t injected_in_delete = injected() - before_delete;
      counts_.faults_injected += injected_in_delete;
      injected_now += injected_in_delete;
      if (!status.ok() && injected_in_delete == 0) {
        fail("delete snapshot", status.to_string());
        return;
      }
      if (!status.ok())
        break;
    }
  }
  verify_kept_sets();
  if (injected_now > 0 && !findings_.failed())
    reopen();
}

HarnessReport ProviderRun::run() {
  for (step_ = 0; step_ < options_.steps && !findings_.failed(); ++step_) {
    ++counts_.steps;
    if (steps_random_.chance(options_.set_probability))
      snapshot_set();
    else
      io_step();
  }
  if (!findings_.failed())
    verify_kept_sets();
  return HarnessReport{.seed = options_.seed,
                       .kind = provider_->protocol().kind(),
                       .counts = counts_,
                       .finding = std::move(findings_.finding())};
}

Status check_provider_options(const ProviderHarnessOptions& options) {
  constexpr std::string_view kEntry = "provider harness";
  FF_TRY(harness_detail::check_common(kEntry, options.steps, options.volume_bytes,
                                      options.sector_bytes, options.fault_probability,
                                      options.replay_command));
  FF_TRY(harness_detail::require(static_cast<bool>(options.make_provider), kEntry,
                                 "make_provider is not set"));
  FF_TRY(harness_detail::require(
      options.volumes >= 1 && options.volumes <= 8, kEntry,
      "volumes must be from 1 to 8, not " + std::to_string(options.volumes)));
  FF_TRY(harness_detail::require(
      options.sets_kept >= 1 && options.sets_kept <= 16, kEntry,
      "sets_kept must be from 1 to 16, not " + std::to_string(options.sets_kept)));
  FF_TRY(harness_detail::require(
      options.storage_bytes == 0 || options.storage_bytes % options.sector_bytes == 0, kEntry,
      "storage_bytes must be a multiple of sector_bytes"));
  FF_TRY(harness_detail::require(options.set_probability > 0.0 && options.set_probability <= 1.0,
                                 kEntry, "set_probability must be in (0, 1]"));
  FF_TRY(harness_detail::require(harness_detail::in_unit_interval(options.overrun_probability),
                                 kEntry, "overrun_probability must be in [0, 1]"));
  return harness_detail::require(
      options.commit_window_max > Nanoseconds(0) && options.event_duration_max > Nanoseconds(0),
      kEntry, "commit_window_max and event_duration_max must be positive");
}

}  // namespace

Result<HarnessReport> run_provider_harness(const ProviderHarnessOptions& options) {
  FF_TRY(check_provider_options(options));
  auto run = std::make_unique<ProviderRun>(options);
  FF_TRY(run->build());
  return run->run();
}

}  // namespace freezeframe::sim

// The vendor harness: reports, the shared helpers (harness_common.h) and the application
// harness. The writer harness is in harness_writer.cpp.
#include "freezeframe/sim/harness.h"

#include <xxhash.h>

#include <utility>

#include "freezeframe/sim/fault_volume.h"
#include "freezeframe/sim/request_filter.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/sim/sim_volume.h"
#include "harness_common.h"

namespace freezeframe::sim {

using harness_detail::FindingSink;

std::string HarnessCounts::to_string() const {
  return "steps " + std::to_string(steps) + ", vendor steps " + std::to_string(vendor_steps) +
         ", snapshots " + std::to_string(snapshots) + ", sets failed " +
         std::to_string(sets_failed) + ", crashes " + std::to_string(crashes) + ", restarts " +
         std::to_string(restarts) + ", faults injected " + std::to_string(faults_injected) +
         ", checks run " + std::to_string(checks_run);
}

std::string HarnessFinding::to_string() const {
  return "finding: seed " + std::to_string(seed) + ", step " + std::to_string(step) + "\n  " +
         operation + ": " + what + "\n  replay: " + replay_command;
}

std::string HarnessReport::to_string() const {
  std::string text = "seed " + std::to_string(seed) + " (" + std::string(provider_kind_name(kind)) +
                     "): " + (ok() ? "passed" : "FAILED") + "; " + counts.to_string();
  if (finding.has_value())
    text += "\n" + finding->to_string();
  return text;
}

std::string harness_replay_command(std::string_view command_template, std::uint64_t seed) {
  static constexpr std::string_view kPlaceholder = "{seed}";
  const std::string seed_text = std::to_string(seed);
  std::string command;
  std::size_t from = 0;
  for (std::size_t at = command_template.find(kPlaceholder); at != std::string_view::npos;
       at = command_template.find(kPlaceholder, from)) {
    command.append(command_template.substr(from, at - from));
    command.append(seed_text);
    from = at + kPlaceholder.size();
  }
  command.append(command_template.substr(from));
  return command;
}

namespace harness_detail {

Status require(bool condition, std::string_view entry, std::string_view what) {
  if (condition)
    return Status();
  return Status(ErrorCode::kInvalidArgument, std::string(entry) + ": " + std::string(what));
}

bool in_unit_interval(double value) noexcept {
  return value >= 0.0 && value <= 1.0;
}

Status check_common(std::string_view entry, std::uint64_t steps, std::uint64_t volume_bytes,
                    std::uint32_t sector_bytes, double fault_probability,
                    const std::string& replay_command) {
  FF_TRY(require(steps >= 1 && steps <= kHarnessStepsMax, entry,
                 "steps must be from 1 to " + std::to_string(kHarnessStepsMax) + ", not " +
                     std::to_string(steps)));
  FF_TRY(require(sector_bytes == 512 || sector_bytes == 4096, entry,
                 "sector_bytes must be 512 or 4096, not " + std::to_string(sector_bytes)));
  FF_TRY(require(volume_bytes >= kVolumeBytesMin && volume_bytes <= kVolumeBytesMax &&
                     volume_bytes % kChunkBytes == 0 && volume_bytes % sector_bytes == 0,
                 entry,
                 "volume_bytes must be a multiple of 4096 and of sector_bytes from 64 KiB to "
                 "64 MiB, not " +
                     std::to_string(volume_bytes)));
  FF_TRY(
      require(fault_probability >= 0.0 && fault_probability <= 0.5, entry,
              "fault_probability must be in [0, 0.5], not " + std::to_string(fault_probability)));
  return require(replay_command.find("{seed}") != std::string::npos, entry,
                 "replay_command must contain {seed} (it is '" + replay_command + "')");
}

void FindingSink::fail(std::uint64_t step, std::string operation, std::string what) {
  if (finding_.has_value())
    return;
  finding_ = HarnessFinding{.seed = seed_,
                            .step = step,
                            .operation = std::move(operation),
                            .what = std::move(what),
                            .replay_command = harness_replay_command(replay_command_, seed_)};
}

Result<std::vector<std::byte>> read_image(Volume& volume) {
  std::vector<std::byte> image(volume.size_bytes());
  FF_TRY(volume.read(0, image));
  return image;
}

Result<std::unique_ptr<MemoryVolume>> copy_of(const Volume& source,
                                              const std::vector<std::byte>& image) {
  FF_ASSIGN_OR_RETURN(auto copy, memory_volume(source.name(), image.size(), source.sector_bytes()));
  FF_TRY(copy->write(0, image));
  return copy;
}

Result<std::unique_ptr<MemoryVolume>> memory_volume(const std::string& name, std::uint64_t bytes,
                                                    std::uint32_t sector_bytes) {
  return MemoryVolume::create({.name = name,
                               .size_bytes = bytes,
                               .sector_bytes = sector_bytes,
                               .uuid = Uuid::from_name("freezeframe-harness/" + name)});
}

ProviderKind choose_kind(const std::optional<ProviderKind>& kind, std::uint64_t seed) {
  if (kind.has_value())
    return *kind;
  return Random(seed).fork("harness/kind").uniform(2) == 0 ? ProviderKind::kCopyOnWrite
                                                           : ProviderKind::kRedirectOnWrite;
}

}  // namespace harness_detail

namespace {

using harness_detail::kChunkBytes;
using harness_detail::kRequestLatency;

// Where a step's point lands: before its `at`-th request (0-based), or after the step when
// it makes fewer.
enum class Point : std::uint8_t { kNone, kSnapshot, kKill, kCrash };

// The filter the application writes through: it counts the application's requests and
// places one point per step between two of them. A snapshot is taken before the request
// goes on; a kill or power loss fails that request and every later one, as a dead process
// issues none.
class PointVolume final : public RequestFilter {
 public:
  PointVolume(Volume& base, std::function<void()> take_snapshot)
      : RequestFilter(base), take_snapshot_(std::move(take_snapshot)) {}

  void arm(Point point, std::uint64_t at) {
    point_ = point;
    at_ = at;
    requests_ = 0;
    fired_ = false;
  }
  // Fires an armed point the step did not reach.
  void fire_if_armed() {
    if (!fired_ && point_ != Point::kNone)
      fire();
  }
  Point point() const noexcept { return point_; }
  bool fired() const noexcept { return fired_; }

 protected:
  Status admit(IoOperation /*operation*/, std::uint64_t /*offset*/,
               std::uint64_t /*length*/) override {
    if (!fired_ && point_ != Point::kNone && requests_ == at_)
      fire();
    ++requests_;
    if (fired_ && point_ == Point::kCrash)
      return Status(ErrorCode::kIoError, "harness: power lost");
    if (fired_ && point_ == Point::kKill)
      return Status(ErrorCode::kIoError, "harness: process killed");
    return Status();
  }

 private:
  void fire() {
    fired_ = true;
    if (point_ == Point::kSnapshot)
      take_snapshot_();
  }

  std::function<void()> take_snapshot_;
  Point point_ = Point::kNone;
  std::uint64_t at_ = 0;
  std::uint64_t requests_ = 0;
  bool fired_ = false;
};

class ApplicationRun {
 public:
  ApplicationRun(const ApplicationHarnessOptions& options, ProviderKind kind)
      : options_(options),
        kind_(kind),
        findings_(options.seed, options.replay_command),
        tape_(options.choices),
        points_random_(Random(options.seed, &tape_).fork("harness/points")),
        app_random_(Random(options.seed, &tape_).fork("harness/app")),
        uuids_(Random(options.seed).fork("harness/uuids")) {}

  Status build();
  HarnessReport run();

 private:
  struct KeptSnapshot {
    Uuid id{};
    XXH64_hash_t hash = 0;
    std::uint64_t number = 0;  // 1 for the run's first snapshot
  };

  Status open_stack();
  void close_stack();
  void start_application(const std::string& when);
  void take_snapshot();
  void crash();
  void restart(const std::string& when);
  void verify_snapshots();
  void fail(std::string operation, std::string what) {
    findings_.fail(step_, std::move(operation), std::move(what));
  }
  void enable_faults();
  void disable_faults();
  std::uint64_t injected() const { return faults_ ? faults_->stats().injected_failures : 0; }

  const ApplicationHarnessOptions& options_;
  ProviderKind kind_;
  FindingSink findings_;
  HarnessCounts counts_{};
  std::uint64_t step_ = 0;
  SimClock clock_;
  ChoiceTape tape_;
  Random points_random_;
  Random app_random_;
  Random uuids_;
  std::uint64_t stack_generation_ = 0;
  std::uint64_t snapshot_number_ = 0;
  std::vector<KeptSnapshot> snapshots_;

  // Bottom first; the stack above the SimVolumes is rebuilt at every reopen.
  std::unique_ptr<MemoryVolume> origin_base_;
  std::unique_ptr<MemoryVolume> diff_base_;
  std::unique_ptr<SimVolume> origin_;
  std::unique_ptr<SimVolume> diff_;
  std::unique_ptr<SnapshotProvider> provider_;
  std::unique_ptr<FaultVolume> faults_;
  std::optional<FaultId> fault_rule_{};
  std::unique_ptr<PointVolume> points_;
  std::unique_ptr<HarnessApplication> application_;
};

Status ApplicationRun::build() {
  FF_ASSIGN_OR_RETURN(origin_base_, harness_detail::memory_volume("app", options_.volume_bytes,
                                                                  options_.sector_bytes));
  FF_ASSIGN_OR_RETURN(
      diff_base_,
      harness_detail::memory_volume(
          "app-diff", harness_detail::diff_bytes_for(options_.volume_bytes, options_.snapshots_max),
          options_.sector_bytes));
  const SimVolumeOptions sim{.seed = derive_seed(options_.seed, "harness/origin"),
                             .choices = &tape_,
                             .crash_survival_probability = options_.crash_survival_probability,
                             .clock = &clock_,
                             .latency_per_operation = kRequestLatency,
                             .name = "app"};
  FF_ASSIGN_OR_RETURN(origin_, SimVolume::create(*origin_base_, sim));
  SimVolumeOptions diff_sim = sim;
  diff_sim.seed = derive_seed(options_.seed, "harness/diff");
  diff_sim.name = "app-diff";
  FF_ASSIGN_OR_RETURN(diff_, SimVolume::create(*diff_base_, diff_sim));
  ProviderOptions provider_options;
  provider_options.chunk_bytes = kChunkBytes;
  provider_options.limit = DiffAreaLimit::unbounded();
  provider_options.snapshots_max = options_.snapshots_max;
  provider_options.clock = &clock_;
  provider_options.random = &uuids_;
  FF_ASSIGN_OR_RETURN(provider_,
                      SnapshotProvider::create(kind_, *origin_, *diff_, provider_options));
  // The provider's format must survive the first crash: the application's world starts
  // from a durable, empty volume.
  FF_TRY(provider_->flush());
  return open_stack();
}

Status ApplicationRun::open_stack() {
  ++stack_generation_;
  FF_ASSIGN_OR_RETURN(
      faults_,
      FaultVolume::create(
          *provider_, {.seed = derive_seed(options_.seed,
                                           "harness/faults/" + std::to_string(stack_generation_)),
                       .choices = &tape_}));
  fault_rule_.reset();
  points_ = std::make_unique<PointVolume>(*faults_, [this] { take_snapshot(); });
  return Status();
}

void ApplicationRun::close_stack() {
  application_.reset();
  points_.reset();
  faults_.reset();
}

void ApplicationRun::enable_faults() {
  if (options_.fault_probability <= 0.0 || fault_rule_.has_value())
    return;
  fault_rule_ = faults_->add_fault(
      {.trigger = FaultRule::Trigger::kProbability,
       .operations = static_cast<IoOperationMask>(operation_bit(IoOperation::kWrite) |
                                                  operation_bit(IoOperation::kFlush) |
                                                  operation_bit(IoOperation::kDiscard)),
       .probability = options_.fault_probability});
}

void ApplicationRun::disable_faults() {
  if (fault_rule_.has_value())
    faults_->remove_fault(*fault_rule_);
  fault_rule_.reset();
}

// A new process: the application recovers the live volume, then its checker judges it.
// Recovery runs without injected faults, so a finding here is the application's own.
void ApplicationRun::start_application(const std::string& when) {
  disable_faults();
  points_->arm(Point::kNone, 0);
  application_ = options_.make_application();
  if (application_ == nullptr) {
    fail("start " + when, "make_application returned null");
    return;
  }
  if (Status status = application_->recover(*points_); !status.ok()) {
    fail("recover " + when, status.to_string());
    return;
  }
  ++counts_.checks_run;
  if (Status status = application_->check(*points_); !status.ok()) {
    fail("check " + when, status.to_string());
    return;
  }
  enable_faults();
}

// Runs inside one of the application's requests: the snapshot shows the live volume between
// two of them. It was taken without freezing anything, so it must be crash-consistent: a new
// instance of the application recovers a copy of it, and the checker must accept that.
void ApplicationRun::take_snapshot() {
  if (findings_.failed())
    return;
  if (snapshots_.size() >= options_.snapshots_max) {
    if (Status status = provider_->delete_snapshot(snapshots_.front().id); !status.ok()) {
      fail("delete snapshot", status.to_string());
      return;
    }
    snapshots_.erase(snapshots_.begin());
  }
  auto created = provider_->create_snapshot();
  if (!created.ok()) {
    fail("create snapshot", created.status().to_string());
    return;
  }
  ++counts_.snapshots;
  const KeptSnapshot kept{.id = created->id, .number = ++snapshot_number_};
  auto volume = provider_->open_snapshot(kept.id);
  if (!volume.ok()) {
    fail("open snapshot", volume.status().to_string());
    return;
  }
  auto image = harness_detail::read_image(**volume);
  if (!image.ok()) {
    fail("read snapshot", image.status().to_string());
    return;
  }
  snapshots_.push_back(kept);
  snapshots_.back().hash = XXH3_64bits(image->data(), image->size());
  auto copy = harness_detail::copy_of(**volume, *image);
  if (!copy.ok()) {
    fail("copy snapshot", copy.status().to_string());
    return;
  }
  auto fresh = options_.make_application();
  if (fresh == nullptr) {
    fail("start for snapshot", "make_application returned null");
    return;
  }
  const std::string which = "snapshot " + std::to_string(kept.number);
  if (Status status = fresh->recover(**copy); !status.ok()) {
    fail("recover " + which, status.to_string());
    return;
  }
  ++counts_.checks_run;
  if (Status status = fresh->check(**copy); !status.ok())
    fail("check " + which, status.to_string());
}

// Power loss: the process dies with the machine; each unflushed sector of both volumes
// survives or not; the provider and then the application recover.
void ApplicationRun::crash() {
  ++counts_.crashes;
  close_stack();
  provider_.reset();
  origin_->crash();
  diff_->crash();
  auto reopened = SnapshotProvider::open(*origin_, *diff_, {.clock = &clock_, .random = &uuids_});
  if (!reopened.ok()) {
    fail("reopen provider after crash", reopened.status().to_string());
    return;
  }
  provider_ = std::move(reopened).value();
  if (Status status = open_stack(); !status.ok()) {
    fail("reopen after crash", status.to_string());
    return;
  }
  verify_snapshots();
  if (!findings_.failed())
    start_application("after crash");
}

// The process died (or stopped at an I/O error) but the machine did not: everything it
// wrote is still in the volume's cache.
void ApplicationRun::restart(const std::string& when) {
  ++counts_.restarts;
  application_.reset();
  start_application(when);
}

// Snapshots are immutable (invariant 3): each reads back as when it was taken.
void ApplicationRun::verify_snapshots() {
  for (const KeptSnapshot& kept : snapshots_) {
    ++counts_.checks_run;
    auto volume = provider_->open_snapshot(kept.id);
    if (!volume.ok()) {
      fail("snapshot changed",
           "snapshot " + std::to_string(kept.number) + ": " + volume.status().to_string());
      return;
    }
    auto image = harness_detail::read_image(**volume);
    if (!image.ok() || XXH3_64bits(image->data(), image->size()) != kept.hash) {
      fail("snapshot changed", "snapshot " + std::to_string(kept.number) +
                                   " no longer reads as when it was taken" +
                                   (image.ok() ? "" : ": " + image.status().to_string()));
      return;
    }
  }
}

HarnessReport ApplicationRun::run() {
  start_application("at start");
  const double snapshot_below = options_.snapshot_probability;
  const double crash_below = snapshot_below + options_.crash_probability;
  const double kill_below = crash_below + options_.kill_probability;
  for (step_ = 0; step_ < options_.steps && !findings_.failed(); ++step_) {
    ++counts_.steps;
    const double draw = points_random_.uniform_real();
    Point point = Point::kNone;
    if (draw < snapshot_below)
      point = Point::kSnapshot;
    else if (draw < crash_below)
      point = Point::kCrash;
    else if (draw < kill_below)
      point = Point::kKill;
    // Small request numbers: a vendor step typically makes a handful of requests.
    points_->arm(point, points_random_.uniform(6));
    const std::uint64_t injected_before = injected();
    ++counts_.vendor_steps;
    const Status status = application_->step(*points_, app_random_);
    points_->fire_if_armed();
    const std::uint64_t injected_now = injected() - injected_before;
    counts_.faults_injected += injected_now;
    if (findings_.failed())
      break;
    if (point == Point::kCrash) {
      crash();
    } else if (point == Point::kKill) {
      restart("after restart");
    } else if (!status.ok()) {
      if (injected_now > 0 && status.code() == ErrorCode::kIoError)
        restart("after an I/O error");
      else
        fail("step", status.to_string());
    }
  }
  if (!findings_.failed()) {
    // A clean shutdown and start: everything flushed, the provider reopened.
    close_stack();
    if (Status status = provider_->flush(); !status.ok()) {
      fail("final check", "flush: " + status.to_string());
    } else {
      provider_.reset();
      auto reopened =
          SnapshotProvider::open(*origin_, *diff_, {.clock = &clock_, .random = &uuids_});
      if (!reopened.ok()) {
        fail("final check", "reopen provider: " + reopened.status().to_string());
      } else {
        provider_ = std::move(reopened).value();
        if (Status opened = open_stack(); !opened.ok())
          fail("final check", opened.to_string());
        else
          verify_snapshots();
        if (!findings_.failed())
          start_application("at the final check");
      }
    }
  }
  close_stack();
  return HarnessReport{.seed = options_.seed,
                       .kind = kind_,
                       .counts = counts_,
                       .finding = std::move(findings_.finding())};
}

Status check_application_options(const ApplicationHarnessOptions& options) {
  constexpr std::string_view kEntry = "application harness";
  FF_TRY(harness_detail::check_common(kEntry, options.steps, options.volume_bytes,
                                      options.sector_bytes, options.fault_probability,
                                      options.replay_command));
  FF_TRY(harness_detail::require(static_cast<bool>(options.make_application), kEntry,
                                 "make_application is not set"));
  FF_TRY(harness_detail::require(
      options.snapshots_max >= 1 && options.snapshots_max <= 64, kEntry,
      "snapshots_max must be from 1 to 64, not " + std::to_string(options.snapshots_max)));
  const bool each_in_range = harness_detail::in_unit_interval(options.snapshot_probability) &&
                             harness_detail::in_unit_interval(options.crash_probability) &&
                             harness_detail::in_unit_interval(options.kill_probability);
  FF_TRY(harness_detail::require(
      each_in_range &&
          options.snapshot_probability + options.crash_probability + options.kill_probability <=
              1.0,
      kEntry,
      "snapshot_probability, crash_probability and kill_probability must each be in [0, 1] "
      "and sum to at most 1"));
  return harness_detail::require(
      harness_detail::in_unit_interval(options.crash_survival_probability), kEntry,
      "crash_survival_probability must be in [0, 1]");
}

}  // namespace

Result<HarnessReport> run_application_harness(const ApplicationHarnessOptions& options) {
  FF_TRY(check_application_options(options));
  ApplicationRun run(options, harness_detail::choose_kind(options.kind, options.seed));
  FF_TRY(run.build());
  return run.run();
}

}  // namespace freezeframe::sim

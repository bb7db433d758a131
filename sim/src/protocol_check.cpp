#include "freezeframe/sim/protocol_check.h"

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "freezeframe/coordinator.h"
#include "freezeframe/executor.h"
#include "freezeframe/holdable_volume.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/protocol_provider.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/scripted_writer.h"
#include "freezeframe/sim/sim_clock.h"

namespace freezeframe::sim {

namespace {

constexpr std::uint32_t kSetsMax = 10000;
constexpr std::uint32_t kVolumesMax = 8;
constexpr std::uint32_t kWritersMax = 8;
constexpr Nanoseconds kFreezeTimeout = std::chrono::seconds(60);
constexpr Nanoseconds kCommitWindow = std::chrono::seconds(10);
constexpr Nanoseconds kEventDuration = std::chrono::seconds(180);
// How far past a deadline an overrunning call runs.
constexpr Nanoseconds kOverrun = std::chrono::seconds(1);

enum class FaultKind : std::uint8_t {
  kNone,
  kProviderError,
  kProviderOverrun,
  kWriterError,
  kWriterOverrun,
};

// The provider steps a fault may hit, as the failure messages name them.
constexpr std::array<std::string_view, 5> kProviderSteps = {"begin-prepare", "end-prepare",
                                                            "pre-commit", "commit", "post-commit"};
constexpr std::array<WriterEvent, 4> kWriterEvents = {WriterEvent::kPrepareSnapshot,
                                                      WriterEvent::kFreeze, WriterEvent::kThaw,
                                                      WriterEvent::kPostSnapshot};

struct Fault {
  FaultKind kind = FaultKind::kNone;
  std::string_view provider_step{};
  WriterEvent event = WriterEvent::kFreeze;
  std::uint32_t writer = 0;
  std::string text = "none";
};

// A ProtocolProvider decorator that fails, or overruns its deadline at, one armed step.
class FaultyProvider final : public ProtocolProvider {
 public:
  FaultyProvider(ProtocolProvider& inner, SimClock& clock) : inner_(inner), clock_(clock) {}

  // Arms `step` ("commit", ...): the call fails with an I/O error, or (overrun) succeeds
  // after running past its deadline. Empty step: disarmed.
  void arm(std::string_view step, bool overrun) {
    step_ = step;
    overrun_ = overrun;
  }

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
  template <typename Call>
  Status step(std::string_view name, Call&& call) {
    if (step_ != name)
      return call();
    if (!overrun_)
      return Status(ErrorCode::kIoError, "injected: provider " + std::string(name) + " fails");
    Status status = call();
    // Commit runs inside the commit window; every other call has the event deadline.
    clock_.advance((name == "commit" ? kCommitWindow : kEventDuration) + kOverrun);
    return status;
  }

  ProtocolProvider& inner_;
  SimClock& clock_;
  std::string_view step_{};
  bool overrun_ = false;
};

struct CheckedVolume {
  std::unique_ptr<MemoryVolume> origin;
  std::unique_ptr<MemoryVolume> diff;
  std::unique_ptr<SnapshotProvider> provider;
  std::unique_ptr<HoldableVolume> holdable;
};

// Declaration order is destruction order reversed: the coordinator goes first.
struct World {
  SimClock clock;
  Random ids{0};
  Random order{0};
  std::unique_ptr<DeterministicExecutor> executor;
  std::vector<CheckedVolume> volumes;
  std::unique_ptr<BlockSnapshotAdapter> adapter;
  std::unique_ptr<FaultyProvider> provider;
  std::vector<std::unique_ptr<ScriptedWriter>> writers;
  std::unique_ptr<Coordinator> coordinator;
  std::vector<std::string> volume_names;
};

Status check_options(const ProtocolCheckOptions& options) {
  if (options.sets < 1 || options.sets > kSetsMax || options.volumes < 1 ||
      options.volumes > kVolumesMax || options.writers < 1 || options.writers > kWritersMax ||
      options.fault_percent > 100) {
    return Status(ErrorCode::kInvalidArgument,
                  "protocol check: sets " + std::to_string(options.sets) + ", volumes " +
                      std::to_string(options.volumes) + ", writers " +
                      std::to_string(options.writers) + ", fault_percent " +
                      std::to_string(options.fault_percent) + " out of range (sets 1.." +
                      std::to_string(kSetsMax) + ", volumes and writers 1.." +
                      std::to_string(kVolumesMax) + ", fault_percent 0..100)");
  }
  return Status();
}

Result<std::unique_ptr<World>> build_world(const ProtocolCheckOptions& options) {
  auto world = std::make_unique<World>();
  const Random root(options.seed);
  world->ids = root.fork("protocol-check/ids");
  world->order = root.fork("protocol-check/executor");
  world->executor = std::make_unique<DeterministicExecutor>(&world->order);
  const std::string kind_name(provider_kind_name(options.kind));
  world->adapter = BlockSnapshotAdapter::create("block-" + kind_name, options.kind);
  for (std::uint32_t i = 0; i < options.volumes; ++i) {
    CheckedVolume volume;
    const std::string name = "vol" + std::to_string(i);
    FF_ASSIGN_OR_RETURN(volume.origin, MemoryVolume::create({.name = name, .size_bytes = 1 << 20}));
    FF_ASSIGN_OR_RETURN(volume.diff,
                        MemoryVolume::create({.name = name + "-diff", .size_bytes = 4 << 20}));
    ProviderOptions provider_options;
    provider_options.chunk_bytes = 4096;
    provider_options.limit = DiffAreaLimit::unbounded();
    provider_options.clock = &world->clock;
    provider_options.random = &world->ids;
    FF_ASSIGN_OR_RETURN(volume.provider, SnapshotProvider::create(options.kind, *volume.origin,
                                                                  *volume.diff, provider_options));
    volume.holdable = std::make_unique<HoldableVolume>(*volume.provider, name);
    FF_TRY(world->adapter->add_volume(*volume.provider));
    world->volume_names.push_back(volume.holdable->name());
    world->volumes.push_back(std::move(volume));
  }
  world->provider = std::make_unique<FaultyProvider>(*world->adapter, world->clock);
  CoordinatorOptions coordinator_options;
  coordinator_options.commit_window_max = kCommitWindow;
  coordinator_options.event_duration_max = kEventDuration;
  coordinator_options.random = &world->ids;
  coordinator_options.executor = world->executor.get();
  world->coordinator = std::make_unique<Coordinator>(world->clock, coordinator_options);
  FF_TRY(world->coordinator->register_provider(*world->provider));
  for (const CheckedVolume& volume : world->volumes)
    FF_TRY(world->coordinator->add_volume(*volume.holdable));
  static constexpr std::array<ApplicationLevel, 3> kLevels = {
      ApplicationLevel::kFrontEnd, ApplicationLevel::kBackEnd, ApplicationLevel::kSystem};
  for (std::uint32_t i = 0; i < options.writers; ++i) {
    const std::string name = "w" + std::to_string(i);
    world->writers.push_back(std::make_unique<ScriptedWriter>(ScriptedWriterOptions{
        .metadata =
            scripted_writer_metadata(name, kLevels[i % kLevels.size()], world->volume_names),
        .clock = &world->clock,
        .freeze_timeout = kFreezeTimeout}));
    FF_TRY(world->coordinator->register_writer(*world->writers.back()));
  }
  return world;
}

Fault draw_fault(Random& random, const ProtocolCheckOptions& options) {
  Fault fault;
  if (!random.chance(static_cast<double>(options.fault_percent) / 100.0))
    return fault;
  fault.kind = static_cast<FaultKind>(1 + random.uniform(4));
  if (fault.kind == FaultKind::kProviderError || fault.kind == FaultKind::kProviderOverrun) {
    fault.provider_step = kProviderSteps[random.uniform(kProviderSteps.size())];
    fault.text = "provider " + std::string(fault.provider_step) +
                 (fault.kind == FaultKind::kProviderError ? " fails" : " runs past its deadline");
    return fault;
  }
  fault.writer = static_cast<std::uint32_t>(random.uniform(options.writers));
  const std::string writer = "writer 'w" + std::to_string(fault.writer) + "' ";
  if (fault.kind == FaultKind::kWriterError) {
    fault.event = kWriterEvents[random.uniform(kWriterEvents.size())];
    fault.text = writer + std::string(protocol_phase_name(fault.event)) + " fails";
  } else {
    fault.event = random.chance(0.5) ? WriterEvent::kFreeze : WriterEvent::kThaw;
    fault.text = writer + std::string(protocol_phase_name(fault.event)) + " runs past its window";
  }
  return fault;
}

void arm(World& world, const Fault& fault) {
  world.provider->arm({}, false);
  for (auto& writer : world.writers) {
    for (WriterEvent event : kWriterEvents)
      writer->set_action(event, ScriptedAction::succeed());
  }
  switch (fault.kind) {
    case FaultKind::kNone:
      break;
    case FaultKind::kProviderError:
    case FaultKind::kProviderOverrun:
      world.provider->arm(fault.provider_step, fault.kind == FaultKind::kProviderOverrun);
      break;
    case FaultKind::kWriterError:
      world.writers[fault.writer]->set_action(
          fault.event, ScriptedAction::fail(WriterFailure::kRetryable, "injected failure"));
      break;
    case FaultKind::kWriterOverrun:
      world.writers[fault.writer]->set_action(fault.event,
                                              ScriptedAction::stall_for(kFreezeTimeout + kOverrun));
      break;
  }
}

// One snapshot set, step by step; the session has ended when this returns.
Status take_set(World& world) {
  std::unique_ptr<BackupSession> session = world.coordinator->create_session();
  Status status = [&]() -> Status {
    FF_TRY(session->gather_writer_metadata().status());
    FF_TRY(session->start_snapshot_set().status());
    for (const std::string& volume : world.volume_names)
      FF_TRY(session->add_to_snapshot_set(volume));
    FF_TRY(session->prepare_for_backup());
    return session->do_snapshot_set();
  }();
  if (status.ok())
    status = session->backup_complete();
  return status;
}

// The cleanup invariant; empty if it holds.
std::string check_invariant(World& world, const Fault& fault, const Status& outcome) {
  for (std::size_t i = 0; i < world.writers.size(); ++i) {
    if (world.writers[i]->frozen())
      return "writer 'w" + std::to_string(i) + "' is still frozen";
  }
  const std::vector<std::byte> block(4096, std::byte{0x5a});
  for (const CheckedVolume& volume : world.volumes) {
    if (volume.holdable->held())
      return "volume '" + volume.holdable->name() + "' is still held";
    if (Status written = volume.holdable->write(0, block); !written.ok())
      return "a write through volume '" + volume.holdable->name() +
             "' fails: " + written.to_string();
    if (std::size_t left = volume.provider->snapshots().size(); left != 0)
      return "the provider of volume '" + volume.holdable->name() + "' keeps " +
             std::to_string(left) + " snapshot(s)";
  }
  if (fault.kind == FaultKind::kNone && !outcome.ok())
    return "a set with no injected failure failed";
  if (fault.kind != FaultKind::kNone && outcome.ok())
    return "a set with an injected failure succeeded";
  return {};
}

}  // namespace

std::string ProtocolViolation::to_string() const {
  return "protocol check failed: seed " + std::to_string(seed) + ", set " + std::to_string(set) +
         ", injected: " + fault + ", outcome: " + outcome + ": " + problem;
}

Result<ProtocolCheckReport> run_protocol_check(const ProtocolCheckOptions& options) {
  FF_TRY(check_options(options));
  FF_ASSIGN_OR_RETURN(std::unique_ptr<World> world, build_world(options));
  Random faults = Random(options.seed).fork("protocol-check/faults");
  ProtocolCheckReport report;
  for (std::uint32_t set = 0; set < options.sets; ++set) {
    const Fault fault = draw_fault(faults, options);
    arm(*world, fault);
    const Status outcome = take_set(*world);
    ++report.counts.sets;
    report.counts.faults += fault.kind != FaultKind::kNone;
    ++(outcome.ok() ? report.counts.sets_succeeded : report.counts.sets_failed);
    ++report.counts.checks;
    std::string problem = check_invariant(*world, fault, outcome);
    if (!problem.empty()) {
      report.violation = ProtocolViolation{.seed = options.seed,
                                           .set = set,
                                           .fault = fault.text,
                                           .outcome = outcome.ok() ? "ok" : outcome.to_string(),
                                           .problem = std::move(problem)};
      break;
    }
  }
  for (const auto& writer : world->writers)
    report.counts.freezes += writer->entered(WriterEvent::kFreeze);
  return report;
}

}  // namespace freezeframe::sim

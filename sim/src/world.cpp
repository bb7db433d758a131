#include "freezeframe/sim/world.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "freezeframe/backup.h"
#include "freezeframe/coordinator.h"
#include "freezeframe/executor.h"
#include "freezeframe/holdable_volume.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/protocol_provider.h"
#include "freezeframe/random.h"
#include "freezeframe/repository.h"
#include "freezeframe/sim/scheduler.h"
#include "freezeframe/sim/scheduling_executor.h"
#include "freezeframe/sim/scheduling_volume.h"
#include "freezeframe/sim/scripted_writer.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/snapshot_provider.h"
#include "freezeframe/uuid.h"
#include "freezeframe/writer.h"
#include "model_checker.h"
#include "world_database.h"

namespace freezeframe::sim {
namespace {

using detail::Bytes;
using detail::ModelChecker;

constexpr std::uint32_t kVolumesMax = 4;
constexpr std::uint32_t kChunkBytes = 4096;
// Snapshots the world's steps take must survive a Coordinator's auto-release.
constexpr std::uint32_t kWorldSnapshotAttributes = kAttrPersistent | kAttrNoAutoRelease;
constexpr std::uint64_t kBackupsKept = 2;

// World steps, drawn by weight against the volume steps.
enum class WorldStep : std::uint8_t {
  kVolume,
  kSnapshotSet,
  kCrashAll,
  kBackup,
  kPrune,
  kConcurrent,
  kDatabase
};
constexpr std::uint32_t kWeights[] = {77, 4, 3, 5, 2, 4, 5};
// A database step: up to this many of its I/Os.
constexpr std::uint64_t kDatabaseStepsMax = 40;
// A concurrent step: writer tasks and their writes each.
constexpr std::uint64_t kConcurrentWriters = 2;
constexpr std::uint64_t kConcurrentWritesMax = 8;

// A backup the world made, and the bytes it must restore to.
struct WorldBackup {
  std::string id{};
  std::size_t volume = 0;
  std::string change_id{};
  Bytes image{};
};

// What a snapshot set of the world takes part in: the block adapters serving every volume, the
// volumes applications write through, and their names, in set order (the model volumes, then
// the database's data and log).
struct SetParticipants {
  std::unique_ptr<BlockSnapshotAdapter> cow{};
  std::unique_ptr<BlockSnapshotAdapter> row{};
  std::vector<std::unique_ptr<HoldableVolume>> holdables{};  // the model volumes'
  std::vector<HoldableVolume*> volumes{};                    // every volume of the set
  std::vector<Uuid> providers{};                             // each volume's adapter
  std::vector<std::string> names{};
};

class World {
 public:
  explicit World(const WorldOptions& options)
      : options_(options),
        tape_(options.choices),
        random_(derive_seed(options.seed, "world"), &tape_) {}

  Status build();
  WorldReport run();

 private:
  bool volume_step(std::size_t index);
  bool snapshot_set();
  bool crash_all();
  bool backup();
  bool prune();
  bool concurrent();
  // As a rotating backup does: most of the time, a volume at its snapshot limit loses its
  // oldest snapshot before a set (the rest of the time the set fails at the limit).
  bool make_room(const std::string& operation);
  // The participants of a set of every model volume and, with `database`, the database's.
  bool set_participants(const std::string& operation, bool database, SetParticipants& out);
  // Registers `participants` and `writers` with `coordinator`.
  bool register_participants(const std::string& operation, Coordinator& coordinator,
                             SetParticipants& participants, std::initializer_list<Writer*> writers);
  bool restore_and_compare(const WorldBackup& backup);
  // A finding: records the first one and returns false.
  bool found(std::string operation, std::string detail);
  bool expect_ok(const Status& status, const std::string& operation, const std::string& what);
  // Takes the first divergence of a volume's checker as the finding.
  bool volume_diverged(std::size_t index);
  std::string volume_name(std::size_t index) const;
  void count_volume(const ModelCheckCounts& before, const ModelCheckCounts& after);

  WorldOptions options_;
  // Empty unless the options carry choices; an empty tape leaves the seed in charge.
  ChoiceTape tape_;
  Random random_;
  SimClock clock_;
  std::vector<std::unique_ptr<ModelChecker>> volumes_;
  std::unique_ptr<detail::WorldDatabase> database_;
  std::filesystem::path repository_dir_;
  std::vector<WorldBackup> backups_;
  std::uint64_t step_ = 0;
  // Folds the trace hash of every concurrent step's schedule.
  std::uint64_t trace_hash_ = 0;
  WorldCounts counts_{};
  std::optional<WorldFinding> finding_{};
};

Status World::build() {
  const WorldOptions& o = options_;
  const std::uint32_t volumes =
      o.volumes != 0 ? o.volumes : 2 + static_cast<std::uint32_t>(random_.uniform(2));
  if (volumes > kVolumesMax)
    return invalid_argument("sim: " + std::to_string(volumes) + " volumes; at most " +
                            std::to_string(kVolumesMax));
  if (o.volume_bytes < std::uint64_t{16} * kChunkBytes || o.volume_bytes % kChunkBytes != 0)
    return invalid_argument("sim: volume size " + std::to_string(o.volume_bytes) +
                            " is not a multiple of 4 KiB of at least 64 KiB");
  if (o.steps == 0)
    return invalid_argument("sim: a run needs at least one step");
  for (std::uint32_t i = 0; i < volumes; ++i) {
    ModelCheckOptions volume;
    volume.kind =
        (i + o.seed) % 2 == 0 ? ProviderKind::kCopyOnWrite : ProviderKind::kRedirectOnWrite;
    volume.seed = derive_seed(o.seed, "volume-" + std::to_string(i));
    volume.choices = &tape_;
    volume.steps = o.steps;
    volume.chunk_bytes = kChunkBytes;
    volume.origin_bytes = o.volume_bytes;
    volume.diff_bytes = o.diff_bytes;
    // The draw is made either way, so a seed replays the same world in a build without zstd,
    // less the compression.
    const bool compress = random_.chance(0.5);
    volume.compress = compress && compression_available();
    volume.snapshots_max = 8;
    volume.snapshot_attributes = kWorldSnapshotAttributes;
    volume.crash = true;
    volume.mix = ModelCheckMix::with_crashes();
    volume.mix[ModelOperation::kIoFault] = 3;
    auto checker = std::make_unique<ModelChecker>(volume);
    FF_TRY(checker->build().with_context("sim: " + volume_name(volumes_.size())));
    volumes_.push_back(std::move(checker));
  }
  auto database = detail::WorldDatabase::create(
      derive_seed(o.seed, "database"),
      (volumes + o.seed) % 2 == 0 ? ProviderKind::kCopyOnWrite : ProviderKind::kRedirectOnWrite);
  FF_TRY(database.status().with_context("sim: the database"));
  database_ = std::move(database).value();
  // Backups need the repository's zstd: none in a build without it.
  if (!o.scratch_dir.empty() && compression_available()) {
    repository_dir_ = o.scratch_dir / ("sim-repository-" + std::to_string(o.seed) + "-" +
                                       Uuid::generate().to_string().substr(0, 8));
    auto created = Repository::init(repository_dir_, {.chunk_bytes = 16 * 1024});
    if (!created.ok())
      return created.status().with_context("sim: the world's repository");
  }
  return Status();
}

WorldReport World::run() {
  counts_.seeds = 1;
  std::uint32_t weight_total = 0;
  for (std::uint32_t weight : kWeights)
    weight_total += weight;
  for (step_ = 0; step_ < options_.steps && !finding_; ++step_) {
    std::uint64_t dice = random_.uniform(weight_total);
    std::size_t drawn = 0;
    while (dice >= kWeights[drawn]) {
      dice -= kWeights[drawn];
      ++drawn;
    }
    const auto step = static_cast<WorldStep>(drawn);
    // World steps read the models' snapshots: first follow what the providers reported.
    for (const auto& volume : volumes_)
      volume->apply_events();
    bool ok = true;
    switch (step) {
      case WorldStep::kVolume:
        ok = volume_step(random_.uniform(volumes_.size()));
        break;
      case WorldStep::kSnapshotSet:
        ok =
            options_.snapshot_sets ? snapshot_set() : volume_step(random_.uniform(volumes_.size()));
        break;
      case WorldStep::kCrashAll:
        ok = crash_all();
        break;
      case WorldStep::kBackup:
        ok = repository_dir_.empty() ? volume_step(random_.uniform(volumes_.size())) : backup();
        break;
      case WorldStep::kPrune:
        ok = repository_dir_.empty() ? volume_step(random_.uniform(volumes_.size())) : prune();
        break;
      case WorldStep::kDatabase:
        ok = expect_ok(database_->run(random_.uniform_range(1, kDatabaseStepsMax)), "database",
                       "transactions");
        break;
      case WorldStep::kConcurrent:
        ok = options_.snapshot_sets ? concurrent() : volume_step(random_.uniform(volumes_.size()));
        break;
    }
    if (!ok)
      break;
    ++counts_.steps;
  }
  if (!finding_) {
    for (std::size_t i = 0; i < volumes_.size(); ++i) {
      const ModelCheckCounts before = volumes_[i]->counts();
      if (!volumes_[i]->final_checks())
        volume_diverged(i);
      count_volume(before, volumes_[i]->counts());
      ++counts_.checks;  // the catalog
      if (finding_)
        break;
    }
  }
  if (!repository_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(repository_dir_, ignored);
  }
  return WorldReport{counts_, finding_, trace_hash_, tape_.consumed()};
}

void World::count_volume(const ModelCheckCounts& before, const ModelCheckCounts& after) {
  auto delta = [&](ModelOperation operation) {
    return after.by_operation[operation] - before.by_operation[operation];
  };
  counts_.crashes += delta(ModelOperation::kCrash);
  counts_.faults += delta(ModelOperation::kIoFault);
  counts_.checks += delta(ModelOperation::kReadLive) + delta(ModelOperation::kReadSnapshot) +
                    delta(ModelOperation::kCheckAll) + delta(ModelOperation::kIntegrity) +
                    delta(ModelOperation::kChangedExtents);
  counts_.change_resets += after.change_resets - before.change_resets;
}

bool World::volume_step(std::size_t index) {
  ModelChecker& volume = *volumes_[index];
  const ModelCheckCounts before = volume.counts();
  volume.set_position(step_, "");
  const bool ok = volume.step();
  count_volume(before, volume.counts());
  return ok || volume_diverged(index);
}

bool World::crash_all() {
  for (std::size_t i = 0; i < volumes_.size(); ++i) {
    ModelChecker& volume = *volumes_[i];
    const ModelCheckCounts before = volume.counts();
    volume.set_position(step_, "crash-all");
    const bool ok = volume.run_operation(ModelOperation::kCrash);
    count_volume(before, volume.counts());
    if (!ok)
      return volume_diverged(i);
  }
  ++counts_.crashes;
  ++counts_.checks;
  auto database = database_->crash();
  if (!expect_ok(database.status(), "crash-all", "the database after the power loss"))
    return false;
  return database->empty() || found("crash-all", *database);
}

bool World::make_room(const std::string& operation) {
  for (std::size_t i = 0; i < volumes_.size(); ++i) {
    ModelChecker& volume = *volumes_[i];
    const auto& snapshots = volume.model().snapshots();
    if (snapshots.size() < volume.options().snapshots_max || random_.chance(0.2))
      continue;
    if (!expect_ok(volume.provider().delete_snapshot(snapshots.front().id), operation,
                   volume_name(i) + " delete the oldest snapshot"))
      return false;
    volume.mutable_model().snapshot_deleted(0);
  }
  return true;
}

bool World::set_participants(const std::string& operation, bool database, SetParticipants& out) {
  out.cow = BlockSnapshotAdapter::create("sim-cow", ProviderKind::kCopyOnWrite);
  out.row = BlockSnapshotAdapter::create("sim-row", ProviderKind::kRedirectOnWrite);
  auto add = [&](SnapshotProvider& provider, HoldableVolume& volume, const std::string& name) {
    auto& adapter = provider.kind() == ProviderKind::kCopyOnWrite ? out.cow : out.row;
    out.names.push_back(name);
    out.volumes.push_back(&volume);
    out.providers.push_back(adapter->id());
    return expect_ok(adapter->add_volume(provider, name), operation, "add volume " + name);
  };
  for (std::size_t i = 0; i < volumes_.size(); ++i) {
    const std::string name = "volume-" + std::to_string(i);
    SnapshotProvider& provider = volumes_[i]->provider();
    out.holdables.push_back(std::make_unique<HoldableVolume>(provider, name));
    if (!add(provider, *out.holdables.back(), name))
      return false;
  }
  return !database ||
         (add(database_->data_provider(), database_->data_volume(),
              detail::WorldDatabase::kDataName) &&
          add(database_->log_provider(), database_->log_volume(), detail::WorldDatabase::kLogName));
}

bool World::register_participants(const std::string& operation, Coordinator& coordinator,
                                  SetParticipants& participants,
                                  std::initializer_list<Writer*> writers) {
  const std::string setup = "coordinator set-up";
  if (!expect_ok(coordinator.register_provider(*participants.cow), operation, setup) ||
      !expect_ok(coordinator.register_provider(*participants.row), operation, setup))
    return false;
  for (Writer* writer : writers) {
    if (!expect_ok(coordinator.register_writer(*writer), operation, setup))
      return false;
  }
  for (std::size_t i = 0; i < participants.names.size(); ++i) {
    if (!expect_ok(coordinator.add_volume(*participants.volumes[i]), operation, setup) ||
        !expect_ok(
            coordinator.set_default_provider(participants.names[i], participants.providers[i]),
            operation, setup))
      return false;
  }
  return true;
}

bool World::snapshot_set() {
  ++counts_.snapshot_sets;
  const std::string operation = "snapshot-set";
  if (!make_room(operation))
    return false;
  // The database's two volumes come last; the database itself is a writer of the set.
  SetParticipants participants;
  if (!set_participants(operation, /*database=*/true, participants))
    return false;
  const std::vector<std::string>& names = participants.names;

  // The writer's script: most sets succeed; the others meet one fault.
  ScriptedWriterOptions writer_options;
  writer_options.metadata =
      scripted_writer_metadata("sim-writer", ApplicationLevel::kFrontEnd, names);
  writer_options.clock = &clock_;
  writer_options.freeze_timeout = std::chrono::seconds(60);
  ScriptedWriter writer(writer_options);
  const std::uint64_t fault = random_.uniform(10);
  std::string fault_name = "none";
  if (fault >= 6) {
    ++counts_.faults;
    switch (fault) {
      case 6:
        fault_name = "prepare-snapshot fails";
        writer.set_action(WriterEvent::kPrepareSnapshot,
                          ScriptedAction::fail(WriterFailure::kRetryable, "sim: busy"));
        break;
      case 7:
        fault_name = "freeze fails";
        writer.set_action(WriterEvent::kFreeze,
                          ScriptedAction::fail(WriterFailure::kNonRetryable, "sim: cannot freeze"));
        break;
      case 8:
        fault_name = "freeze overruns its 60 s deadline";
        writer.set_action(WriterEvent::kFreeze,
                          ScriptedAction::stall_for(std::chrono::seconds(61)));
        break;
      default:
        fault_name = "thaw overruns the 10 s commit window";
        writer.set_action(WriterEvent::kThaw, ScriptedAction::stall_for(std::chrono::seconds(11)));
        break;
    }
  }

  Random set_random = random_.fork("set-" + std::to_string(step_));
  DeterministicExecutor executor(&set_random);
  CoordinatorOptions coordinator_options;
  coordinator_options.random = &set_random;
  coordinator_options.executor = &executor;
  bool made = false;
  SnapshotSet set;
  {
    Coordinator coordinator(clock_, coordinator_options);
    if (!register_participants(operation, coordinator, participants, {&writer, &database_->app()}))
      return false;
    auto session = coordinator.take_snapshot_set(names, {.context = SnapshotContext::kAppRollback});
    if (session.ok()) {
      auto taken = session.value()->snapshot_set();
      if (!expect_ok(taken.status(), operation, "the set's snapshots"))
        return false;
      set = std::move(taken).value();
      made = true;
      session.value()->backup_complete().ignore_error();
    }
  }
  if (!made)
    ++counts_.snapshot_sets_failed;

  // Invariant 6: whatever happened, no writer is left frozen and no volume held.
  counts_.checks += 2;
  if (writer.frozen())
    return found(operation, "fault '" + fault_name +
                                "': the writer is still frozen after the set " +
                                (made ? "completed" : "failed"));
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (participants.volumes[i]->held())
      return found(operation,
                   "fault '" + fault_name + "': " + names[i] + " is still held after the set");
  }
  if (made) {
    if (set.snapshots.size() != names.size())
      return found(operation, "the set holds " + std::to_string(set.snapshots.size()) +
                                  " snapshots for " + std::to_string(names.size()) + " volumes");
    for (std::size_t i = 0; i < volumes_.size(); ++i)
      volumes_[i]->snapshot_taken(set.snapshots[i].id);
    ++counts_.checks;
    auto database = database_->check_set(set.snapshots[volumes_.size()].id,
                                         set.snapshots[volumes_.size() + 1].id);
    if (!expect_ok(database.status(), operation, "the database's snapshots"))
      return false;
    if (!database->empty())
      return found(operation, *database);
  }
  ++counts_.checks;
  if (std::string problem = database_->check_clean(); !problem.empty())
    return found(operation, "fault '" + fault_name + "': " + problem);
  // Each provider lists exactly what its model holds: the set's snapshots, or (on failure)
  // nothing new; no partial set is left behind.
  for (std::size_t i = 0; i < volumes_.size(); ++i) {
    ++counts_.checks;
    volumes_[i]->set_position(
        step_, "snapshot-set (fault '" + fault_name + "', " + (made ? "made" : "failed") + ")");
    if (!volumes_[i]->check_catalog())
      return volume_diverged(i);
  }
  return true;
}

// Writer tasks write to random volumes while a requestor task takes a snapshot set of every
// volume, interleaved by a Scheduler seeded from the world: each write and each protocol call
// is one scheduled step, writes wait while their volume is held for the commit, and the model
// follows each write as it completes. The set must show one instant of every volume at once:
// one state, among those the writes passed through, that every snapshot of the set matches.
bool World::concurrent() {
  const std::string operation = "concurrent";
  ++counts_.interleavings;
  if (!make_room(operation))
    return false;
  Random local = random_.fork("concurrent-" + std::to_string(step_));
  auto made_scheduler =
      Scheduler::create({.seed = local.next_u64(), .choices = &tape_, .idle = [this] {
                           return clock_.advance_to_next_timer();
                         }});
  if (!expect_ok(made_scheduler.status(), operation, "scheduler"))
    return false;
  Scheduler& scheduler = *made_scheduler.value();

  SetParticipants participants;
  if (!set_participants(operation, /*database=*/false, participants))
    return false;
  const std::vector<std::string>& names = participants.names;
  std::vector<std::unique_ptr<SchedulingVolume>> live;
  for (HoldableVolume* holdable : participants.volumes) {
    auto scheduled = SchedulingVolume::create(*holdable, scheduler,
                                              {.ready = [holdable] { return !holdable->held(); }});
    if (!expect_ok(scheduled.status(), operation, "scheduling volume"))
      return false;
    live.push_back(std::move(scheduled).value());
  }

  // Every state the volumes pass through, all volumes at once: the set must match one.
  std::vector<std::vector<Bytes>> states;
  auto record_state = [&] {
    std::vector<Bytes> state;
    for (const auto& volume : volumes_)
      state.push_back(volume->model().live());
    states.push_back(std::move(state));
  };
  record_state();

  struct PlannedWrite {
    std::size_t volume = 0;
    std::uint64_t offset = 0;
    Bytes data{};
  };
  for (std::uint64_t task = 0; task < kConcurrentWriters; ++task) {
    std::vector<PlannedWrite> plan(local.uniform_range(1, kConcurrentWritesMax));
    for (PlannedWrite& write : plan) {
      write.volume = local.uniform(volumes_.size());
      const std::uint64_t sectors = options_.volume_bytes / 512;
      const std::uint64_t length = local.uniform_range(1, 24);
      write.offset = 512 * local.uniform(sectors - length + 1);
      write.data.resize(512 * length);
      fill_mixed(local, write.data);
    }
    auto spawned = scheduler.spawn(
        "writer-" + std::to_string(task), [this, plan = std::move(plan), &live, &record_state] {
          for (const PlannedWrite& write : plan) {
            ReferenceModel& model = volumes_[write.volume]->mutable_model();
            model.begin_write(write.offset, write.data);
            FF_TRY(live[write.volume]->write(write.offset, write.data));
            model.complete_write(write.offset, write.data);
            record_state();
          }
          return Status();
        });
    if (!expect_ok(spawned.status(), operation, "spawn"))
      return false;
  }

  ScriptedWriterOptions writer_options;
  writer_options.metadata =
      scripted_writer_metadata("sim-writer", ApplicationLevel::kFrontEnd, names);
  writer_options.clock = &clock_;
  ScriptedWriter writer(writer_options);
  Random set_random = local.fork("set");
  SchedulingExecutor executor(scheduler);
  CoordinatorOptions coordinator_options;
  coordinator_options.random = &set_random;
  coordinator_options.executor = &executor;
  std::optional<SnapshotSet> set;
  Status run_status;
  {
    Coordinator coordinator(clock_, coordinator_options);
    if (!register_participants(operation, coordinator, participants, {&writer}))
      return false;
    auto spawned = scheduler.spawn("requestor", [&]() -> Status {
      auto session =
          coordinator.take_snapshot_set(names, {.context = SnapshotContext::kAppRollback});
      if (session.ok()) {
        auto taken = session.value()->snapshot_set();
        FF_TRY(taken.status());
        set = std::move(taken).value();
        session.value()->backup_complete().ignore_error();
      }
      return Status();
    });
    if (!expect_ok(spawned.status(), operation, "spawn"))
      return false;
    run_status = scheduler.run();
  }
  trace_hash_ = (trace_hash_ ^ scheduler.trace_hash()) * 0x100000001b3ull;
  counts_.checks += 2 + volumes_.size();
  if (!run_status.ok())
    return found(operation,
                 run_status.to_string() + "\nlast scheduled steps:\n" + scheduler.trace_text());
  if (writer.frozen())
    return found(operation, "the writer is still frozen after the set");
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (participants.volumes[i]->held())
      return found(operation, names[i] + " is still held after the set");
  }
  if (set) {
    ++counts_.snapshot_sets;
    // The instant the set shows: the first state every snapshot of it matches.
    std::vector<Bytes> images;
    for (std::size_t i = 0; i < volumes_.size(); ++i) {
      auto volume = volumes_[i]->provider().open_snapshot(set->snapshots.at(i).id);
      if (!expect_ok(volume.status(), operation, names[i] + " open snapshot"))
        return false;
      Bytes image(options_.volume_bytes);
      if (!expect_ok(volume.value()->read(0, image), operation, names[i] + " read snapshot"))
        return false;
      images.push_back(std::move(image));
    }
    std::optional<std::size_t> instant;
    for (std::size_t k = 0; k < states.size() && !instant; ++k) {
      bool all = true;
      for (std::size_t i = 0; i < volumes_.size() && all; ++i)
        all = std::memcmp(states[k][i].data(), images[i].data(), images[i].size()) == 0;
      if (all)
        instant = k;
    }
    if (!instant)
      return found(operation, "the snapshot set matches none of the " +
                                  std::to_string(states.size()) +
                                  " states the volumes passed through together (not one "
                                  "instant of every volume)\nlast scheduled steps:\n" +
                                  scheduler.trace_text());
    for (std::size_t i = 0; i < volumes_.size(); ++i)
      volumes_[i]->mutable_model().snapshot_created(set->snapshots[i].id, states[*instant][i]);
  } else {
    ++counts_.snapshot_sets;
    ++counts_.snapshot_sets_failed;
  }
  for (std::size_t i = 0; i < volumes_.size(); ++i) {
    volumes_[i]->set_position(step_, "concurrent");
    if (!volumes_[i]->check_catalog())
      return volume_diverged(i);
  }
  return true;
}

bool World::backup() {
  const std::string operation = "backup";
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < volumes_.size(); ++i) {
    if (!volumes_[i]->model().snapshots().empty())
      candidates.push_back(i);
  }
  if (candidates.empty())
    return volume_step(random_.uniform(volumes_.size()));
  const std::size_t index = candidates[random_.uniform(candidates.size())];
  ModelChecker& volume = *volumes_[index];
  const ModelSnapshot& snapshot = volume.model().snapshots().back();
  auto info = volume.provider().snapshot_info(snapshot.id);
  if (!expect_ok(info.status(), operation, volume_name(index) + " snapshot info"))
    return false;
  auto source = volume.provider().open_snapshot(snapshot.id);
  if (!expect_ok(source.status(), operation, volume_name(index) + " open snapshot"))
    return false;

  VolumeBackupRequest request;
  request.source = source.value().get();
  request.volume_name = volume_name(index);
  request.snapshot_id = snapshot.id;
  request.change_id = info->change_id;
  // Incremental from the volume's newest backup still in the repository, when change
  // tracking knows what changed since it.
  for (auto it = backups_.rbegin(); it != backups_.rend(); ++it) {
    if (it->volume != index)
      continue;
    auto changed = volume.provider().changed_extents(it->change_id, info->change_id);
    if (changed.ok() && !changed->reset) {
      request.parent_backup_id = it->id;
      request.changed = std::move(changed->extents);
    } else if (changed.ok()) {
      ++counts_.change_resets;
    }
    break;
  }
  auto repository = Repository::open(repository_dir_, {.mode = LockMode::kShared});
  if (!expect_ok(repository.status(), operation, "open the repository"))
    return false;
  BackupOptions backup_options;
  backup_options.threads = 1;
  backup_options.clock = &clock_;
  auto result = backup_set(*repository.value(), std::span(&request, 1), backup_options);
  if (!expect_ok(result.status(), operation, volume_name(index) + " backup"))
    return false;
  ++counts_.backups;
  if (request.parent_backup_id)
    ++counts_.incremental_backups;
  // Backing the same snapshot up again at the same simulated time writes the same manifest:
  // the same backup.
  WorldBackup made{result->set.volumes.at(0).id, index, info->change_id, snapshot.image};
  std::erase_if(backups_, [&](const WorldBackup& backup) { return backup.id == made.id; });
  backups_.push_back(std::move(made));
  return restore_and_compare(backups_.back());
}

bool World::restore_and_compare(const WorldBackup& backup) {
  const std::string operation = "restore";
  auto target = MemoryVolume::create(
      {.name = "restored", .size_bytes = backup.image.size(), .sector_bytes = 512});
  if (!expect_ok(target.status(), operation, "a volume to restore into"))
    return false;
  auto repository = Repository::open(repository_dir_, {.mode = LockMode::kShared});
  if (!expect_ok(repository.status(), operation, "open the repository"))
    return false;
  ++counts_.restores;
  ++counts_.checks;
  if (!expect_ok(freezeframe::restore(*repository.value(), backup.id, *target.value()), operation,
                 "backup " + backup.id + " of " + volume_name(backup.volume)))
    return false;
  Bytes got(backup.image.size());
  if (!expect_ok(target.value()->read(0, got), operation, "read back"))
    return false;
  if (std::memcmp(got.data(), backup.image.data(), got.size()) != 0) {
    auto [at, unused] = std::mismatch(got.begin(), got.end(), backup.image.begin());
    const auto offset = static_cast<std::size_t>(at - got.begin());
    return found(operation, "backup " + backup.id + " of " + volume_name(backup.volume) +
                                " restores offset " + std::to_string(offset) + " as " +
                                detail::hex_at(got, offset) + ", the snapshot holds " +
                                detail::hex_at(backup.image, offset));
  }
  return true;
}

bool World::prune() {
  const std::string operation = "prune";
  if (backups_.empty())
    return backup();
  {
    auto repository = Repository::open(repository_dir_, {.mode = LockMode::kExclusive});
    if (!expect_ok(repository.status(), operation, "open the repository"))
      return false;
    auto pruned = freezeframe::prune(*repository.value(), {.keep_last = kBackupsKept});
    if (!expect_ok(pruned.status(), operation, "prune --keep-last 2"))
      return false;
    auto listed = repository.value()->list();
    if (!expect_ok(listed.status(), operation, "list"))
      return false;
    std::erase_if(backups_, [&](const WorldBackup& backup) {
      return std::none_of(listed->begin(), listed->end(), [&](const BackupSetInfo& set) {
        return std::any_of(set.volumes.begin(), set.volumes.end(),
                           [&](const BackupInfo& info) { return info.id == backup.id; });
      });
    });
    ++counts_.checks;
    if (backups_.size() != std::min<std::size_t>(kBackupsKept, listed->size()) ||
        listed->size() > kBackupsKept)
      return found(operation, "after prune --keep-last 2 the repository lists " +
                                  std::to_string(listed->size()) + " sets and " +
                                  std::to_string(backups_.size()) + " of the world's backups");
  }
  ++counts_.prunes;
  return restore_and_compare(backups_[random_.uniform(backups_.size())]);
}

bool World::found(std::string operation, std::string detail) {
  if (!finding_) {
    finding_ = WorldFinding{.seed = options_.seed,
                            .arguments = world_arguments(options_),
                            .step = step_,
                            .operation = std::move(operation),
                            .detail = std::move(detail)};
  }
  return false;
}

bool World::expect_ok(const Status& status, const std::string& operation, const std::string& what) {
  if (status.ok())
    return true;
  return found(operation, what + ": expected OK, actual " + status.to_string());
}

bool World::volume_diverged(std::size_t index) {
  const auto& divergence = volumes_[index]->divergence();
  if (!divergence)
    return found(volume_name(index), "step failed without a divergence");
  std::string detail = divergence->subject;
  if (divergence->length > 0)
    detail += " at offset " + std::to_string(divergence->offset) + " (extent of " +
              std::to_string(divergence->length) + " bytes)";
  detail += ": expected " + divergence->expected + ", actual " + divergence->actual;
  return found(volume_name(index) + ": " + divergence->operation, detail);
}

std::string World::volume_name(std::size_t index) const {
  const bool cow = (index + options_.seed) % 2 == 0;
  return "volume " + std::to_string(index) + (cow ? " (CoW)" : " (RoW)");
}

}  // namespace

Result<WorldReport> run_world(const WorldOptions& options) {
  World world(options);
  FF_TRY(world.build());
  return world.run();
}

}  // namespace freezeframe::sim

// The simulator: one seeded world that runs the whole engine (several volumes with CoW and
// RoW providers, snapshot sets through the protocol with a simulated writer, crashes, backups
// into a repository, restores and prunes) and checks DESIGN.md's invariants after every step
// against reference models. `freezeframe sim --seed N` runs it; docs/testing.md describes it.
//
// The world. From the seed: 2 or 3 volumes (WorldOptions::volumes), volume i copy-on-write
// when i + seed is even and redirect-on-write otherwise, so every world holds both kinds.
// Each volume is a provider over a simulated origin and diff volume (SimVolume: a crash
// loses an arbitrary subset of the unflushed sectors, tearing writes at sector granularity)
// with its own ReferenceModel, driven by the model check's operations (model_check.h:
// writes, discards, reads, snapshots, deletes, reverts, consolidation, flushes, reopens,
// crashes, I/O errors and full file systems under the provider, integrity checks, change
// tracking). On top, world steps:
//
//   snapshot-set  the requestor takes a snapshot set of every volume through a Coordinator
//                 (SimClock, DeterministicExecutor), with a ScriptedWriter whose events may
//                 fail or overrun their deadlines (faults drawn from the seed);
//   crash-all     power loss on every volume at once, then reopen;
//   backup        backs a volume's newest snapshot up into the world's repository,
//                 incremental from change tracking when the volume has an earlier backup
//                 and the tracker still knows its change id, full otherwise; then restores
//                 it into a fresh volume;
//   prune         keeps the newest two backups of the repository and restores one of them;
//   database      a transactional database (TransactionalApp, a write-ahead-logging app that
//                 is also a writer) on two more volumes runs some of its I/Os; every snapshot
//                 set includes its volumes and the app, and crash-all cuts its power too;
//   concurrent    writer tasks write to random volumes while a requestor task takes a
//                 snapshot set, interleaved by a Scheduler seeded from the world (each write
//                 and each protocol call one step; writes wait while their volume is held);
//                 the set must match one state the volumes passed through together.
//
// Invariants checked (the numbers are DESIGN.md's): after each volume step, the model
// check's comparison (1-3: snapshots bit-exact, acknowledged writes kept, a crash survivor
// holds only durable or in-flight data; 5: bounded diff area; 9: integrity; 10: change
// tracking lists every changed chunk); after each snapshot set, no writer is left frozen, no
// volume is left held, and every provider lists exactly the snapshots the set made or none
// (6), and the database's snapshots check application-consistent; after a power loss the
// database's volumes are crash-consistent (its log replays); after each backup, restore and
// prune, the restored bytes equal the snapshot's (10, 8).
//
// Determinism: a run is a function of its options. The same seed (and the same choice tape,
// WorldOptions::choices) gives the same steps, the same faults and crash outcomes, the same
// counts and the same finding.
//
// Thread-safety: run_world() may run concurrently with itself when each run has its own
// scratch directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "freezeframe/status.h"

namespace freezeframe::sim {

struct WorldOptions {
  std::uint64_t seed = 0;
  std::uint64_t steps = 400;
  // 0: 2 or 3, drawn from the seed. At most 4.
  std::uint32_t volumes = 0;
  // Each volume's size (a multiple of 4 KiB, at least 64 KiB) and its diff volume's.
  std::uint64_t volume_bytes = 256 << 10;
  std::uint64_t diff_bytes = 16 << 20;
  // The world's repository is created in a fresh directory under this one and removed at
  // the end. Empty: no backup, restore or prune steps.
  std::filesystem::path scratch_dir{};
  // false: snapshot-set steps run a volume step instead (to shrink a failing run).
  bool snapshot_sets = true;
  // A choice tape (random.h, ChoiceTape): while it lasts, the world's choices come from
  // these bytes instead of the seed: the steps, the volumes they act on, each volume's
  // operations and extents, crash outcomes, faults, the writer's faults in snapshot sets,
  // the executor's order and the concurrent steps' interleavings. Snapshot UUIDs, payload
  // bytes and the database's transactions still follow the seed. Empty: the seed decides
  // everything. The structured fuzzer (tests/fuzz/sim_world_fuzz.cpp) passes its input here.
  std::vector<std::uint8_t> choices{};
};

// The options of `freezeframe sim` that replay a run with `options` (--seed, --steps and
// whatever differs from the defaults, the choice tape as --choices HEX), without the
// program name.
std::string world_arguments(const WorldOptions& options);

struct WorldCounts {
  std::uint64_t seeds = 0;
  std::uint64_t steps = 0;
  // Crash-and-reopen points: each volume that lost power and was reopened and checked.
  std::uint64_t crashes = 0;
  // Faults injected: I/O errors and full file systems under a provider (io-fault steps),
  // writer failures and deadline overruns in snapshot sets.
  std::uint64_t faults = 0;
  // Invariant checks run (each comparison with a model, catalog, writer-state and restore
  // check counts one).
  std::uint64_t checks = 0;
  std::uint64_t snapshot_sets = 0;
  std::uint64_t snapshot_sets_failed = 0;
  std::uint64_t backups = 0;
  std::uint64_t incremental_backups = 0;
  std::uint64_t restores = 0;
  std::uint64_t prunes = 0;
  // Concurrent steps: writer tasks and a snapshot set interleaved by a seeded Scheduler.
  std::uint64_t interleavings = 0;
  // Change-tracking answers that were a reset (allowed; counted).
  std::uint64_t change_resets = 0;

  WorldCounts& operator+=(const WorldCounts& other);
  // "seeds 1, steps 400, crashes 31, faults 4, checks 170, ..." on one line: each count
  // as "<name> <number>", comma-separated.
  std::string to_string() const;
};

// The first invariant that did not hold.
struct WorldFinding {
  std::uint64_t seed = 0;
  // world_arguments() of the run.
  std::string arguments{};
  // The step (0-based) that found it; == steps for the checks after the last step.
  std::uint64_t step = 0;
  // "volume 1 (RoW): write", "snapshot-set", "backup", ...
  std::string operation{};
  // What failed, with the expected and the actual value.
  std::string detail{};

  // "freezeframe sim " + arguments.
  std::string replay_command() const;
  std::string to_string() const;
};

struct WorldReport {
  WorldCounts counts{};
  std::optional<WorldFinding> finding{};
  // The schedules of the run's concurrent steps, folded: the same seed gives the same hash.
  std::uint64_t trace_hash = 0;
  // Bytes of WorldOptions::choices the run read (the rest did not change it).
  std::uint64_t choices_read = 0;

  bool ok() const noexcept { return !finding.has_value(); }
};

// Runs one world. A Status error means the world could not be built (bad options, a scratch
// directory that cannot be written).
Result<WorldReport> run_world(const WorldOptions& options);

}  // namespace freezeframe::sim

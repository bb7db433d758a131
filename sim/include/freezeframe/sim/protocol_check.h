// Protocol check: one seeded world (simulated volumes, each with a CoW or RoW provider behind a
// HoldableVolume; scripted writers; a Coordinator on a SimClock whose calls run on a seeded
// DeterministicExecutor) and a driver that takes a sequence of snapshot sets, injecting into
// most of them one failure drawn from the seed, and checks after every set that the set was
// cleaned up.
//
// Injected failures (ProtocolFault). A provider call (begin-prepare, end-prepare, pre-commit,
// commit, post-commit) that returns an error, or that runs past its deadline (the call
// advances the clock beyond event_duration_max, or beyond commit_window_max for commit); a
// writer event (prepare-snapshot, freeze, thaw, post-snapshot) that fails, or a freeze or
// thaw that runs past the writer's freeze window.
//
// The invariant (DESIGN.md: protocol failures are cleaned up), checked after every set,
// failed or not, once its session has ended:
//   - no writer is frozen (every writer that froze was thawed or aborted);
//   - no volume is held, and a write through each volume completes;
//   - no provider keeps a snapshot of the set (a failed set leaves none; a successful set is
//     released by backup_complete(), as its context is auto-release);
//   - a set that had a failure injected did fail, and one that had none succeeded.
// Nothing here is aimed at one defect: a violation says which of these broke, after which
// set and with which injected failure.
//
// Determinism. A run is a function of its options: the seed decides every fault, the
// executor's order, and the set ids (through the coordinator's Random), so the same options
// give the same report.
//
// Failures. The driver never asserts on what the engine does: the first violation ends the
// run and is returned in the report, with the seed and the set. A Status error means the
// world could not be built.
//
// Thread-safety: run_protocol_check() may run concurrently with itself; each run owns its
// world, and every call of the coordinator runs on the calling thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "freezeframe/snapshot_provider.h"
#include "freezeframe/status.h"

namespace freezeframe::sim {

struct ProtocolCheckOptions {
  ProviderKind kind = ProviderKind::kCopyOnWrite;
  std::uint64_t seed = 0;
  // Snapshot sets per run. REQUIRES: 1 <= sets <= 10000.
  std::uint32_t sets = 20;
  // REQUIRES: 1 <= volumes <= 8, 1 <= writers <= 8.
  std::uint32_t volumes = 2;
  std::uint32_t writers = 3;
  // Percentage of the sets that get an injected failure. REQUIRES: <= 100.
  std::uint32_t fault_percent = 70;
};

struct ProtocolCheckCounts {
  std::uint64_t sets = 0;
  std::uint64_t sets_succeeded = 0;
  std::uint64_t sets_failed = 0;
  // Failures injected (one at most per set).
  std::uint64_t faults = 0;
  // Freeze events the writers received.
  std::uint64_t freezes = 0;
  // Invariant checks run (one per set).
  std::uint64_t checks = 0;
};

// The first set after which the invariant did not hold.
struct ProtocolViolation {
  std::uint64_t seed = 0;
  // The set (0-based).
  std::uint64_t set = 0;
  // The failure injected into it: "none", "provider commit fails", "writer 'w1' freeze runs
  // past its window", ...
  std::string fault{};
  // How the set ended: "ok", or the status it failed with.
  std::string outcome{};
  // Which part of the invariant broke: "writer 'w1' is still frozen", "volume 'vol0' is
  // still held", ...
  std::string problem{};

  std::string to_string() const;
};

struct ProtocolCheckReport {
  ProtocolCheckCounts counts{};
  std::optional<ProtocolViolation> violation{};

  bool ok() const noexcept { return !violation.has_value(); }
};

Result<ProtocolCheckReport> run_protocol_check(const ProtocolCheckOptions& options);

}  // namespace freezeframe::sim

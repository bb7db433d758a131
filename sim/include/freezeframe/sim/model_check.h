// Model check of a snapshot provider: one seeded world (an origin and a diff volume, a CoW
// or RoW provider over them, a ReferenceModel) and a driver that runs a random sequence of
// operations against the provider and the model, comparing every read byte for byte, and
// checking the diff area on disk with check_diff_area().
//
// Operations. Each step draws one operation by weight (ModelCheckMix): write, discard, read
// part of the live volume, read part of a snapshot, create, delete or revert to a snapshot,
// consolidate, flush, close and reopen (a clean shutdown: flush first), crash, and compare
// the whole live volume and every snapshot with the model. An operation that needs a
// snapshot falls through to the next one in that order when there is none. After the last
// step the driver compares everything once more, checks that the provider's catalog lists
// exactly the model's snapshots, oldest first, and (CoW, no snapshot left) that the diff
// area holds nothing.
//
// Crash mode. With `crash` set, each volume is a SimVolume over a memory volume (with its
// own seed derived from the run's seed), and a crash step drops the provider without a
// flush, makes both volumes lose an arbitrary subset of their unflushed sectors, and
// reopens. Every sector of the live volume must then hold its content as of the last
// completed flush or a write issued since (the model adopts the survivor), and every
// snapshot must read back exactly.
//
// Determinism. A run is a function of its options: the same options, seed included, give
// the same operations, the same crash outcomes and the same report.
//
// Failures. The driver never asserts on what the provider does: the first divergence
// between provider and model (a read that differs, an operation whose status is not the one
// the model expects, a survivor a crash cannot leave) ends the run and is returned in the
// report, with the seed, the step and the operation. A Status error means the world could
// not be built (bad options, a volume or provider that cannot be created).
//
// Thread-safety: run_model_check() may run concurrently with itself; each run owns its
// world. The after_step hook runs on the calling thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/reference_model.h"
#include "freezeframe/sim/sim_volume.h"
#include "freezeframe/snapshot_provider.h"
#include "freezeframe/status.h"

namespace freezeframe::sim {

// The operations a step draws from, in the order in which one that cannot run (it needs a
// snapshot and there is none) falls through to the next.
enum class ModelOperation : std::uint8_t {
  kWrite,
  kDiscard,
  kReadLive,
  kReadSnapshot,
  kCreateSnapshot,
  kDeleteSnapshot,
  kRevert,
  kConsolidate,
  kFlush,
  kReopen,
  kCrash,
  kCheckAll,
  // Flush, then check_diff_area() (freezeframe/integrity.h) over the volumes: a diff area the
  // provider wrote must check clean.
  kIntegrity,
  // Change tracking: since a snapshot's change id, every chunk where the live volume differs
  // from the snapshot must be listed (or the id is no longer kept: a reset, counted).
  kChangedExtents,
  // Crash mode: an I/O error or a full file system (kNoSpace) under the provider, on the
  // origin or the diff volume, at one of the next few requests of a write or a flush. The
  // operation may fail but never serve damage: when it fails, the power is cut (the provider
  // may have stopped itself) and everything is checked as after a crash.
  kIoFault,
};
inline constexpr std::size_t kModelOperationCount = 15;
// As Divergence::operation names it: "write", "discard", "read" (both reads),
// "create-snapshot", "delete-snapshot", "revert", "consolidate", "flush", "reopen", "crash",
// "check-all", "integrity", "changed-extents", "io-fault".
std::string_view model_operation_name(ModelOperation operation) noexcept;

// One value for each operation.
template <typename T>
struct PerModelOperation {
  std::array<T, kModelOperationCount> values{};

  T& operator[](ModelOperation operation) noexcept {
    return values[static_cast<std::size_t>(operation)];
  }
  const T& operator[](ModelOperation operation) const noexcept {
    return values[static_cast<std::size_t>(operation)];
  }
};

// Relative weights of the operations; a step draws uniformly below their sum. A crash weight
// needs ModelCheckOptions::crash.
struct ModelCheckMix : PerModelOperation<std::uint32_t> {
  // The default mix: no crashes.
  ModelCheckMix() : PerModelOperation{{40, 5, 10, 10, 8, 6, 3, 4, 7, 4, 0, 3, 2, 3, 0}} {}

  // The default mix with part of the flush and reopen weight given to crashes.
  static ModelCheckMix with_crashes() {
    ModelCheckMix mix;
    mix[ModelOperation::kFlush] = 5;
    mix[ModelOperation::kReopen] = 2;
    mix[ModelOperation::kCrash] = 4;
    return mix;
  }
};

// What a hook may reach between steps, to plant a divergence (corrupt a volume behind the
// provider's back, or the model) and show that the checker reports it.
struct ModelCheckWorld {
  // The memory volumes under everything; in crash mode the SimVolumes sit between them and
  // the provider (origin, diff), otherwise those are null.
  MemoryVolume* origin_base = nullptr;
  MemoryVolume* diff_base = nullptr;
  SimVolume* origin = nullptr;
  SimVolume* diff = nullptr;
  SnapshotProvider* provider = nullptr;
  ReferenceModel* model = nullptr;
};

struct ModelCheckOptions {
  ProviderKind kind = ProviderKind::kCopyOnWrite;
  std::uint64_t seed = 0;
  // Non-null: the operations, their extents and the crash outcomes are drawn from this tape
  // first (random.h, ChoiceTape); snapshot UUIDs and payload bytes still follow the seed.
  ChoiceTape* choices = nullptr;
  std::uint64_t steps = 600;
  std::uint32_t chunk_bytes = 4096;
  // REQUIRES: a multiple of sector_bytes, at least 3 * chunk_bytes.
  std::uint64_t origin_bytes = 1 << 20;
  std::uint64_t diff_bytes = 256ull << 20;
  // Of both volumes. Reads, writes and discards are aligned to it.
  std::uint32_t sector_bytes = 512;
  bool compress = false;
  std::uint32_t snapshots_max = 16;
  // The attributes of the snapshots create-snapshot steps take (writer.h kAttr*).
  std::uint32_t snapshot_attributes = 0;
  // SimVolumes under the provider, and crash steps (mix.crash) allowed.
  bool crash = false;
  ModelCheckMix mix{};
  // Runs after each step that found no divergence, with the number of that step.
  std::function<void(std::uint64_t step, ModelCheckWorld& world)> after_step{};
};

// What was run.
struct ModelCheckCounts {
  std::uint64_t steps = 0;
  // Operations run, by kind. Crash: the crash points, each followed by a reopen and a check
  // of the survivor. Check-all: every comparison of the whole live volume and every snapshot
  // with the model, the one after each crash included. Create-snapshot: snapshots created.
  PerModelOperation<std::uint64_t> by_operation{};
  // Create-snapshot steps refused at snapshots_max, as the model expects.
  std::uint64_t snapshots_refused = 0;
  // Changed-extents steps whose snapshot's change id was no longer kept (a reset).
  std::uint64_t change_resets = 0;
  // Io-fault steps whose fault fired and failed the operation (each followed by a crash).
  std::uint64_t io_faults_failed = 0;
  // Snapshots the overflow policy deleted to make room (a full diff volume), as its events
  // reported; the model drops them.
  std::uint64_t snapshots_deleted_for_space = 0;
};

// The first place where provider and model disagree.
struct Divergence {
  std::uint64_t seed = 0;
  // The step (0-based) whose operation diverged; == steps for the checks after the last step.
  std::uint64_t step = 0;
  // "write", "discard", "read", "create-snapshot", "delete-snapshot", "revert",
  // "consolidate", "flush", "reopen", "crash", "check-all", or after the last step
  // "final-check", "catalog", "usage".
  std::string operation{};
  // What was compared: "live", "snapshot 2 (<uuid>)", the operation's status, ...
  std::string subject{};
  // The first byte that differs, and the extent read; 0 when not a read.
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  // The model's and the provider's view, printable (bytes in hex from `offset`, a status).
  std::string expected{};
  std::string actual{};

  std::string to_string() const;
};

struct ModelCheckReport {
  ModelCheckCounts counts{};
  std::optional<Divergence> divergence{};

  bool ok() const noexcept { return !divergence.has_value(); }
};

Result<ModelCheckReport> run_model_check(const ModelCheckOptions& options);

// Test payloads that compress: runs of repeated bytes with random stretches between them,
// so a compressing diff area stores some chunks compressed and falls back to raw for others.
void fill_mixed(Random& random, std::span<std::byte> out);

}  // namespace freezeframe::sim

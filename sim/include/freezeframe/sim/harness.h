// The vendor harness: runs a vendor's own code inside the seeded simulated world, with
// crashes, I/O errors, deadlines and interleavings chosen by one 64-bit seed, a checker the
// vendor writes, and replay by seed. It uses only the engine and sim libraries (no OS call),
// so it runs wherever the engine builds. docs/testing.md ("The vendor harness") walks
// through an example; examples/vendor_harness/ is that example.
//
// Three entry points, one per kind of vendor code:
//
//   run_application_harness()  an application that writes through a freezeframe Volume
//                              (HarnessApplication): snapshots and power losses land between
//                              any two of its I/O requests; its checker judges the live volume
//                              after every recovery and a recovered copy of every snapshot.
//   run_writer_harness()       a Writer (HarnessWriter) taking part in snapshot sets through
//                              the Coordinator on a DeterministicExecutor and a SimClock,
//                              with its events pushed past their deadlines at seeded points;
//                              the harness checks the protocol's outcome and the vendor's
//                              checker judges every snapshot.
//   run_provider_harness()     a ProtocolProvider (HarnessProvider) driven by the harness's
//                              requestor through snapshot sets, with I/O errors under it and
//                              its calls pushed past their deadlines; the harness checks the
//                              protocol's outcome and that every snapshot it reports reads
//                              back as the origin was when the set was taken.
//
// Determinism. A run is a function of its options: the same seed, the same options and a
// vendor's code that draws only from the Random it is handed (and keeps no state between
// runs) give the same steps, the same faults, the same crash outcomes and the same report.
// Nothing reads the wall clock; the simulated clock moves only through the harness.
//
// Fuzzing. Each entry point's options take a choice tape (`choices`, random.h ChoiceTape):
// while it lasts, its bytes decide what the seed would (the steps and where snapshots,
// power losses, kills and I/O errors land, which unflushed sectors survive, the executor's
// order, the vendor's own draws from the Random it is handed), and the seed decides the
// rest. A vendor's libFuzzer target passes its input as the tape and traps on a finding, so
// coverage guidance steers the faults and the schedule into the vendor's code
// (examples/vendor_harness/fuzz.cpp; docs/testing.md, "The vendor harness"). The finding's
// replay is then that input, run again through the same target.
//
// Findings. The harness never asserts on the vendor's code: the first failure (a checker
// that refuses an image, a recovery that fails, a step that fails with no fault injected, a
// protocol outcome the protocol forbids) ends the run and is returned in the report, with the
// seed, the step, what failed, and the command that replays it. A Status error from an entry
// point means the run could not start (bad options, a world that cannot be built) and names
// the option at fault.
//
// Thread-safety: each run owns its world and may run concurrently with other runs; the
// vendor's code is called on the calling thread only, one call at a time.
// Lifetime: the factories in the options are called during the run; what they return is
// destroyed before the run returns.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "freezeframe/clock.h"
#include "freezeframe/protocol_provider.h"
#include "freezeframe/random.h"
#include "freezeframe/snapshot_provider.h"
#include "freezeframe/status.h"
#include "freezeframe/volume.h"
#include "freezeframe/writer.h"

namespace freezeframe::sim {

// The replay command used when the options name none. "{seed}" is replaced by the seed.
inline constexpr std::string_view kHarnessReplayDefault =
    "FREEZEFRAME_SEED={seed} <rerun the same test>";

// What a run did. Every count is of events that happened, not of what was planned.
struct HarnessCounts {
  // Driver steps (each runs one vendor step, or one snapshot set in the writer harness).
  std::uint64_t steps = 0;
  // Calls of the vendor's step().
  std::uint64_t vendor_steps = 0;
  // Snapshots taken (application) or snapshot sets completed (writer).
  std::uint64_t snapshots = 0;
  // Writer harness: snapshot sets that failed, each checked for a clean failure.
  std::uint64_t sets_failed = 0;
  // Power losses: unflushed sectors dropped or torn, provider reopened, application
  // recovered.
  std::uint64_t crashes = 0;
  // Application restarts without power loss (the process died, or an I/O error stopped it).
  std::uint64_t restarts = 0;
  // I/O errors injected, plus (writer harness) writer events pushed past their deadline.
  std::uint64_t faults_injected = 0;
  // Checks run: the vendor's checker on each image, and the harness's own protocol and
  // snapshot checks.
  std::uint64_t checks_run = 0;

  // "steps 400, vendor steps 380, snapshots 12, ..." on one line.
  std::string to_string() const;
};

// The first thing that failed.
struct HarnessFinding {
  std::uint64_t seed = 0;
  // The driver step (0-based) during which it failed; == steps for the final check.
  std::uint64_t step = 0;
  // Where: "step", "recover after crash", "check after crash", "recover after restart",
  // "check after restart", "check snapshot", "snapshot changed", "final check", "set",
  // "frozen at commit", "thaw after failed set", "writer held after set", ...
  std::string operation{};
  // What failed, in the vendor's words where the vendor's code said it.
  std::string what{};
  // The options' replay command with the seed filled in.
  std::string replay_command{};

  // Several lines: seed, step, operation, what, and "replay: <command>".
  std::string to_string() const;
};

struct HarnessReport {
  std::uint64_t seed = 0;
  // The provider the run used (provider harness: the kind the vendor's provider reports).
  ProviderKind kind = ProviderKind::kCopyOnWrite;
  HarnessCounts counts{};
  std::optional<HarnessFinding> finding{};

  bool ok() const noexcept { return !finding.has_value(); }
  // "seed N (cow): passed; <counts>" or "... FAILED; <counts>" followed by the finding.
  std::string to_string() const;
};

// ----- application harness

// Vendor code that keeps its data on one Volume. One instance is one run of the
// application's process: the harness makes a new one for each start, restart and crash
// recovery, and for each snapshot it checks, so an instance may keep whatever state it likes
// in memory (as a process does) and loses it exactly when a process would.
class HarnessApplication {
 public:
  virtual ~HarnessApplication() = default;

  // Opens the application's data on `volume` as after a process start: replays, repairs,
  // rebuilds its in-memory state. Called once per instance, first. The first instance of a
  // run sees an all-zero volume (a fresh disk) and formats it if it needs to. An error is a
  // finding (an application that cannot recover from a crash is the bug the harness looks
  // for).
  virtual Status recover(Volume& volume) = 0;
  // Some of the application's normal work: a few reads, writes and flushes, drawing every
  // choice from `random`. A snapshot or a power loss may land between any two of its
  // requests; after a power loss every further request fails with kIoError and the harness
  // discards the instance. Also fails with kIoError when the harness injects an I/O error;
  // the harness then restarts the application. Any other error is a finding.
  virtual Status step(Volume& volume, Random& random) = 0;
  // The vendor's consistency checker: OK when the image, as recover() left it, is one the
  // application may be found in; an error whose message says what is wrong otherwise (a
  // finding). It judges only what is on `volume`, plus what this instance learnt in
  // recover(); it runs on the live volume after each recovery, and on a copy of each
  // snapshot after a fresh instance recovered that copy.
  virtual Status check(Volume& volume) = 0;
};

// Makes a new instance (one process start). A null instance is a finding.
using HarnessApplicationFactory = std::function<std::unique_ptr<HarnessApplication>()>;

struct ApplicationHarnessOptions {
  std::uint64_t seed = 0;
  // A choice tape (see "Fuzzing" above); empty: the seed decides everything.
  std::vector<std::uint8_t> choices{};
  // Driver steps; 1 to kHarnessStepsMax.
  std::uint64_t steps = 400;
  // The provider the application writes through; unset: CoW or RoW, drawn from the seed.
  std::optional<ProviderKind> kind{};
  // Size of the application's volume: a multiple of sector_bytes and of 4 KiB, from 64 KiB
  // to 64 MiB.
  std::uint64_t volume_bytes = 1 << 20;
  // 512 or 4096.
  std::uint32_t sector_bytes = 512;
  // Snapshots kept at once (the oldest is deleted to make room); 1 to 64.
  std::uint32_t snapshots_max = 4;
  // Per step, the probability of a snapshot, a power loss, a process kill (restart without
  // power loss) landing inside it. Each in [0, 1], their sum at most 1.
  double snapshot_probability = 0.08;
  double crash_probability = 0.05;
  double kill_probability = 0.02;
  // Probability that one write, discard or flush of the application fails with kIoError.
  // In [0, 0.5].
  double fault_probability = 0.005;
  // Probability that an unflushed sector survives a power loss, in [0, 1].
  double crash_survival_probability = 0.5;
  // The finding's replay command; must contain "{seed}".
  std::string replay_command{kHarnessReplayDefault};
  HarnessApplicationFactory make_application{};
};

// The world: the application writes through a filter that places snapshots, kills and power
// losses between its requests, over a FaultVolume (injected kIoError), over a CoW or RoW
// SnapshotProvider, over SimVolumes (volatile write cache torn at 512 bytes, a crash drops an
// arbitrary subset of unflushed sectors; 100 us of simulated time per request) over memory.
Result<HarnessReport> run_application_harness(const ApplicationHarnessOptions& options);

// ----- writer harness

// A vendor's Writer that is also the application it speaks for: it writes through the
// volume the harness gives it, and freezes and thaws that work when the protocol says.
class HarnessWriter : public Writer {
 public:
  // Some of the application's normal work through its volume, drawing every choice from
  // `random`. kBusy when the writer holds writes (between freeze and thaw or abort): that is
  // a finding outside a snapshot set. kIoError when the harness injected one (counted, the
  // writer goes on); any other error is a finding.
  virtual Status step(Random& random) = 0;
  // The vendor's checker of a snapshot of this writer's volume taken with the writer frozen
  // (a copy, readable and writable): OK when it is application-consistent as it stands,
  // without recovery, and holds everything the writer had acknowledged before it froze (this
  // instance may compare with what it remembers). An error saying what is wrong otherwise.
  virtual Status check(Volume& snapshot) = 0;
};

// Makes writer number `index` (0-based) over `volume`, which the writer writes through and
// names in its metadata (volume.name()). Volume and writer live until the run ends.
using HarnessWriterFactory =
    std::function<Result<std::unique_ptr<HarnessWriter>>(std::size_t index, Volume& volume)>;

struct WriterHarnessOptions {
  std::uint64_t seed = 0;
  // A choice tape (see "Fuzzing" above); empty: the seed decides everything.
  std::vector<std::uint8_t> choices{};
  // Driver steps; 1 to kHarnessStepsMax.
  std::uint64_t steps = 200;
  // Writers, each with its own volume ("data0", "data1", ...); every set takes all volumes.
  // 1 to 8.
  std::size_t writers = 2;
  std::optional<ProviderKind> kind{};
  // As ApplicationHarnessOptions.
  std::uint64_t volume_bytes = 1 << 20;
  std::uint32_t sector_bytes = 512;
  // Per step, the probability of a snapshot set instead of a writer step, in (0, 1].
  double set_probability = 0.15;
  // Per set, the probability that one writer event (prepare-snapshot, freeze, thaw or
  // post-snapshot) takes longer than its deadline, and, separately, that one takes a while
  // but stays within it. In [0, 1].
  double overrun_probability = 0.25;
  double slow_probability = 0.25;
  // Per provider call of a set, the probability that a writer does one step of its work
  // right then (the work interleaved with the protocol), in [0, 1].
  double interleave_probability = 0.3;
  // As ApplicationHarnessOptions.
  double fault_probability = 0.002;
  // The coordinator's deadlines (the writers' freeze windows are their freeze_timeout()).
  Nanoseconds commit_window_max = std::chrono::seconds(10);
  Nanoseconds event_duration_max = std::chrono::seconds(180);
  std::string replay_command{kHarnessReplayDefault};
  HarnessWriterFactory make_writer{};
};

// The world: per writer, a HoldableVolume over a FaultVolume over a CoW or RoW
// SnapshotProvider over SimVolumes over memory; a BlockSnapshotAdapter serving every volume;
// a Coordinator on a SimClock and a DeterministicExecutor whose order is drawn from the
// seed. After each set the harness checks: a completed set had every writer frozen when the
// provider committed, no prepare-snapshot, freeze or thaw past its deadline, and each
// writer's checker accepts its snapshot; a failed set had a cause the harness injected (an
// I/O error, a deadline), left no snapshot and no held I/O, and every writer it froze was
// thawed or aborted and works again.
Result<HarnessReport> run_writer_harness(const WriterHarnessOptions& options);

// ----- provider harness

// One volume the vendor's provider serves: its name in snapshot sets, the origin it takes
// snapshots of, and a volume of its own for whatever it stores (a diff area), both simulated
// disks with a volatile write cache and injected I/O errors.
struct HarnessProviderVolume {
  std::string name{};
  Volume* origin = nullptr;
  Volume* storage = nullptr;
};

// The vendor's provider as the harness needs it: the protocol side, and the volume each
// origin's writes go through (a provider that preserves data before it is overwritten must
// see the writes).
class HarnessProvider {
 public:
  virtual ~HarnessProvider() = default;
  // Serves every volume it was made for, under its name.
  virtual ProtocolProvider& protocol() = 0;
  // The live volume of volume `index` (0-based), of the origin's size and sector size. The
  // harness writes, discards, flushes and reads through it, and holds it during commits.
  virtual Volume& live(std::size_t index) = 0;
};

// Makes the provider over `volumes`, which live until the provider is destroyed. `reopen`
// false: once, at the start, over empty volumes (format them). `reopen` true: after an I/O
// error was injected beneath the previous provider, which the harness has destroyed: open
// what it stored, as a restarted service does (no power loss; the volumes' caches are kept).
using HarnessProviderFactory = std::function<Result<std::unique_ptr<HarnessProvider>>(
    const std::vector<HarnessProviderVolume>& volumes, bool reopen)>;

struct ProviderHarnessOptions {
  std::uint64_t seed = 0;
  // A choice tape (see "Fuzzing" above); empty: the seed decides everything.
  std::vector<std::uint8_t> choices{};
  // Driver steps; 1 to kHarnessStepsMax.
  std::uint64_t steps = 300;
  // Volumes ("vol0", "vol1", ...); every set takes all of them. 1 to 8.
  std::size_t volumes = 2;
  // As ApplicationHarnessOptions.
  std::uint64_t volume_bytes = std::uint64_t{256} * 1024;
  std::uint32_t sector_bytes = 512;
  // Size of each storage volume; 0: 16 MiB plus 8 times volume_bytes.
  std::uint64_t storage_bytes = 0;
  // Snapshot sets kept (the oldest is deleted to make room); 1 to 16.
  std::uint32_t sets_kept = 4;
  // Per step, the probability of a snapshot set instead of a write, discard or read, in
  // (0, 1].
  double set_probability = 0.1;
  // Per set, the probability that one provider call (begin-prepare to post-commit) takes
  // one and a half times its deadline (the commit window for commit, event_duration_max
  // for the others), in [0, 1].
  double overrun_probability = 0.2;
  // Probability that a write, discard or flush of an origin or storage volume fails with
  // kIoError. In [0, 0.5]. After any step or set in which one was injected, the provider is
  // reopened (HarnessProviderFactory).
  double fault_probability = 0.002;
  Nanoseconds commit_window_max = std::chrono::seconds(10);
  Nanoseconds event_duration_max = std::chrono::seconds(180);
  std::string replay_command{kHarnessReplayDefault};
  HarnessProviderFactory make_provider{};
};

// The world: per volume, an origin and a storage SimVolume over memory (write cache, 100 us
// per request, I/O errors); the vendor's provider over them; a HoldableVolume over each live
// volume; a Coordinator on a SimClock and a DeterministicExecutor drawn from the seed, with no
// writers. A model of each live volume follows every write and discard; after a reopen it
// takes what the live volume reads (an unflushed or failed write may be lost then). Checks:
// a read of a live volume matches the model; a completed set has one snapshot per volume in
// the provider's query(), each reading back exactly as the model was when the set was taken,
// then, after every later set and after every reopen; a failed set had an injected cause,
// left no held volume and no snapshot of the set that its failure does not name (a provider
// that cannot remove one must say so; the harness deletes it after the reopen). Sets are
// taken in a persistent context (kNasRollback), so they stay until the harness deletes them
// through the provider. No power loss.
Result<HarnessReport> run_provider_harness(const ProviderHarnessOptions& options);

inline constexpr std::uint64_t kHarnessStepsMax = 10'000'000;

// `command_template` with every "{seed}" replaced by the seed in decimal.
std::string harness_replay_command(std::string_view command_template, std::uint64_t seed);

}  // namespace freezeframe::sim

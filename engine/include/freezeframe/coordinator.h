// Coordinator: the model of the VSS service. It knows the writers, the providers (through
// a ProviderRegistry) and the HoldableVolumes applications write through, and creates the
// BackupSessions that drive snapshot sets (backup_session.h).
//
//   Coordinator coordinator(clock);
//   coordinator.register_writer(writer);
//   coordinator.register_provider(provider);
//   coordinator.add_volume(holdable);
//   auto session = coordinator.take_snapshot_set({"data", "log"});   // or step by step
//
// Inside do_snapshot_set, in VSS's order: begin_prepare to providers, prepare_snapshot to
// writers, end_prepare, freeze by level (front-end, back-end, system), pre_commit, hold I/O
// on every volume, commit every provider, release I/O, post_commit, thaw, post_snapshot.
//
// Deadlines, all measured on the coordinator's Clock: each writer's freeze window
// (Writer::freeze_timeout(), freeze sent to thaw returned), the commit window
// (commit_window_max, I/O held to released), and every other writer event or provider call
// (event_duration_max). Every call runs on the Executor, and the coordinator waits for it or
// for a deadline, whichever comes first, so a writer stalled forever cannot hang it. A call
// given up on keeps its executor thread until it returns (one thread per such call, never
// more); stalled_calls() reports the ones still running.
//
// Thread-safety: every method may be called from any thread.
// Lifetime: writers, providers, volumes, the event sink and an executor in the options are
// borrowed and must outlive the coordinator; sessions must not outlive it. The destructor
// waits for calls still running on the coordinator's own executor, so stalled writers and
// providers must return eventually.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "freezeframe/backup_session.h"
#include "freezeframe/clock.h"
#include "freezeframe/executor.h"
#include "freezeframe/holdable_volume.h"
#include "freezeframe/protocol_log.h"
#include "freezeframe/protocol_provider.h"
#include "freezeframe/random.h"
#include "freezeframe/snapshot_set.h"
#include "freezeframe/status.h"
#include "freezeframe/writer.h"

namespace freezeframe {

struct CoordinatorOptions {
  // Where the event log goes; nullptr: nowhere.
  EventSink* events = nullptr;
  // I/O hold to release (VSS: 10 s, fixed).
  Nanoseconds commit_window_max = std::chrono::seconds(10);
  // Any writer event but freeze/thaw, and any provider call outside the commit window.
  Nanoseconds event_duration_max = std::chrono::seconds(180);
  std::size_t volumes_per_set_max = 64;
  // Source of snapshot-set ids; nullptr: the operating system's random source. Used under
  // the coordinator's lock.
  Random* random = nullptr;
  // Where writer events and provider calls run; nullptr: a ThreadPoolExecutor of the
  // coordinator's own, with `threads`.
  Executor* executor = nullptr;
  ThreadPoolExecutorOptions threads{};
};

// A writer event or provider call that was given up on and has not returned yet.
struct StalledCall {
  Participant participant = Participant::kCoordinator;
  std::string name{};
  ProtocolPhase phase = ProtocolPhase::kInitial;
  Uuid set_id{};
  Nanoseconds since{0};  // Clock::now() when the call began
};

class CoordinatorCore;  // engine-private

class Coordinator {
 public:
  explicit Coordinator(Clock& clock, CoordinatorOptions options = {});
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // kAlreadyExists for a writer registered twice.
  Status register_writer(Writer& writer);
  Status unregister_writer(Writer& writer);

  // Registers the provider and auto-releases what a dead process left: every snapshot the
  // provider holds without kAttrNoAutoRelease is deleted.
  Status register_provider(ProtocolProvider& provider);
  Status set_default_provider(std::string volume, const Uuid& provider_id);
  const ProviderRegistry& providers() const;

  // The volume applications write through, held during the commit window; registered under
  // its name. Every volume added to a set must have one (kNotFound otherwise), but for a
  // volume taken by a provider that holds I/O itself (ProtocolProvider::holds_io_itself).
  Status add_volume(HoldableVolume& volume);

  std::unique_ptr<BackupSession> create_session();
  // The common case in one call: gather metadata, start a set, add `volumes`, prepare for
  // backup, do the set. The returned session holds the snapshots; call backup_complete().
  Result<std::unique_ptr<BackupSession>> take_snapshot_set(const std::vector<std::string>& volumes,
                                                           const SnapshotSetOptions& options = {});

  // True while some session's set is between start_snapshot_set() and the end of
  // do_snapshot_set().
  bool set_in_creation() const;
  // Calls given up on that are still running, oldest first.
  std::vector<StalledCall> stalled_calls() const;

 private:
  std::unique_ptr<CoordinatorCore> core_;
};

}  // namespace freezeframe

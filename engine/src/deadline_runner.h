// The deadline runner: runs one protocol call on the Executor and waits for it or for the
// end of its Race, whichever comes first. Private to the engine.
//
// How waiting works: the driving thread waits on a Race. Either the call finishes, or a
// deadline (a Clock timer), the requestor's abort(), or an executor with no thread left
// marks the race expired. An expired race wins even over a call that finished meanwhile, so
// a writer that overran its window is failed although it returned. A call given up on
// keeps running on its executor thread; the runner remembers it (stalled()) until it
// returns, and everything it touches is either shared-owned or borrowed for the
// coordinator's lifetime. The list is bounded by the executor's threads: each entry holds one.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "freezeframe/clock.h"
#include "freezeframe/coordinator.h"
#include "freezeframe/executor.h"

namespace freezeframe::protocol_internals {

// "20 s", "250 ms", "17 ns": the largest unit that divides `duration`.
std::string duration_text(Nanoseconds duration);

enum class ExpiryKind : std::uint8_t {
  kCall,            // the call's own deadline
  kFreezeWindow,    // a writer's freeze window
  kCommitWindow,    // I/O held too long
  kRequestorAbort,  // BackupSession::abort()
  kNoThread,        // the executor refused the call
};

struct Expiry {
  ExpiryKind kind = ExpiryKind::kCall;
  std::size_t writer = 0;  // kFreezeWindow: index into the session's writers
};

struct Race {
  std::mutex mutex;
  std::condition_variable changed;
  std::optional<Expiry> expired;
  std::string refusal;  // kNoThread: what the executor said
  std::uint64_t call_sequence = 0;
  bool call_open = false;
  bool commit_window_open = false;
  std::vector<bool> freeze_window_open;

  // REQUIRES: mutex held.
  void expire(Expiry expiry) {
    if (!expired.has_value()) {
      expired = expiry;
      changed.notify_all();
    }
  }
  // The expiry, if any, read under the race's lock.
  std::optional<Expiry> expiry() {
    std::lock_guard lock(mutex);
    return expired;
  }
};

class DeadlineRunner {
 public:
  DeadlineRunner(Clock& clock, Executor& executor) : clock_(clock), executor_(executor) {}

  // Runs `call` on the executor; waits for it or for `race` to expire. `limit` > 0 arms a
  // deadline for this call alone. Returns the call's Status, or nullopt if the race expired
  // (before or during the call, or because the executor refused it). `label` names the
  // call in stalled().
  std::optional<Status> run(const std::shared_ptr<Race>& race, Nanoseconds limit,
                            const StalledCall& label, std::function<Status()> call);

  // Calls given up on that have not returned, oldest first.
  std::vector<StalledCall> stalled() const;

 private:
  struct Slot {
    bool done = false;  // guarded by the race's mutex
    Status result;
  };
  struct Straggler {
    std::shared_ptr<Slot> slot;
    std::shared_ptr<Race> race;
    StalledCall call;
  };
  // Forgets stragglers that have returned. REQUIRES: mutex_ held.
  void reap() const;

  Clock& clock_;
  Executor& executor_;
  mutable std::mutex mutex_;
  mutable std::vector<Straggler> stragglers_;
};

}  // namespace freezeframe::protocol_internals

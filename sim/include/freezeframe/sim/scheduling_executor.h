// SchedulingExecutor: an Executor on which protocol calls (writer events, provider calls)
// become scheduling points of a Scheduler, so that a requestor task's snapshot set
// interleaves with the other tasks (applications writing, readers, other requestors) as the
// seed decides.
//
// submit() queues the call for the task that submitted it; run_queued() then runs that task's
// queue on the calling thread, in submission order, taking a scheduling point
// (StepKind::kEvent, offset: the call's ticket) before each call. A Coordinator given this
// executor (CoordinatorOptions::executor) therefore runs every writer event and provider call
// of a session on the requestor task's own thread, one scheduled step each, and never waits
// for a thread. Deadlines still hold on the coordinator's SimClock: a call whose deadline
// passes while its task is parked (another task advanced the clock) is given up on when the
// task resumes, as on a slow machine.
//
// If the scheduler has aborted the run, the call still runs (the coordinator waits for it),
// and its requests through SchedulingVolumes fail with the abort's status.
//
// Outside a task of the scheduler, calls are queued together and run_queued() runs them in
// submission order without scheduling points, as DeterministicExecutor does without a Random.
// abandon() does nothing: a call that never returns blocks its task (and so the run), which
// is why simulated writers stall on the SimClock instead of blocking.
//
// Thread-safety: any thread may submit; each task runs only its own calls. Lifetime: the
// scheduler must outlive the executor; the executor must outlive the coordinator using it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <utility>

#include "freezeframe/executor.h"
#include "freezeframe/sim/scheduler.h"

namespace freezeframe::sim {

class SchedulingExecutor final : public Executor {
 public:
  explicit SchedulingExecutor(Scheduler& scheduler) : scheduler_(scheduler) {}

  [[nodiscard]] Result<std::uint64_t> submit(std::function<void()> task) override;
  // Runs the calling task's queued calls, and those they submit, until its queue is empty.
  void run_queued() override;
  // Calls run so far, by every task.
  std::size_t calls_run() const;

 private:
  // The queue of a task; kOutsideTasks for callers that are not tasks of the scheduler.
  static constexpr std::uint64_t kOutsideTasks = ~std::uint64_t{0};
  std::uint64_t queue_key() const;

  Scheduler& scheduler_;
  mutable std::mutex mutex_;  // never held while a call runs or at a scheduling point
  std::map<std::uint64_t, std::deque<std::pair<std::uint64_t, std::function<void()>>>> queues_;
  std::uint64_t last_ticket_ = 0;
  std::size_t calls_run_ = 0;
};

}  // namespace freezeframe::sim

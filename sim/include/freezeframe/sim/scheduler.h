// Scheduler: seeded interleavings of logical threads, one running at a time.
//
// A test or a simulated world spawns tasks: functions written in straight-line style (a
// writer's loop, a reader, a requestor taking snapshot sets). run() gives each task a thread
// of its own but lets exactly one of them run at any time. A running task hands control back
// at a scheduling point (schedule_point(), or a request through a SchedulingVolume, or a
// protocol call through a SchedulingExecutor); the scheduler then picks the next task to run
// among the runnable ones with a Random seeded by SchedulerOptions::seed. Between two
// scheduling points a task runs alone, so a Volume request made after a scheduling point
// runs to completion before any other task moves: concurrency is modelled at the granularity
// of whole requests and protocol events. Races inside one call are ThreadSanitizer's
// business, not the scheduler's.
//
//   auto scheduler = Scheduler::create({.seed = seed}).value();
//   auto live = SchedulingVolume::create(provider, *scheduler).value();
//   scheduler->spawn("writer", [&] { return live->write(0, block); });
//   scheduler->spawn("snapshots", [&]() -> Status {
//     FF_TRY(scheduler->yield());              // a scheduling point of its own
//     return provider.create_snapshot().status();
//   });
//   Status status = scheduler->run();         // on failure: the seed and trace_text()
//
// Determinism: the order in which tasks run is a function of the seed, the tasks spawned (in
// spawn order) and what the tasks do, provided the tasks themselves are deterministic (no
// wall clock, no unordered iteration, no threads of their own that touch shared state). Each
// pick is recorded as a step: the task, the kind of step it is about to take (its start, a
// read, a write, ...), and an offset and a length. The trace hash folds every step with XXH3,
// so two runs interleaved the same way have the same hash, and a different interleaving
// almost surely a different one.
//
// Waiting: a task that must wait for another (a snapshot taker that wants some writes to
// happen first, a writer whose volume is held for a commit window) passes a `ready`
// predicate to its scheduling point; the scheduler does not pick it while the predicate is
// false. Predicates are evaluated by the scheduler while every task is parked at a scheduling
// point, under the scheduler's lock: they must be cheap, must not block and must not call
// the scheduler. When no task is runnable, the `idle` option (if given) may move simulated
// time to the next timer so that tasks waiting for a deadline wake. A task must never block on
// something only another task can release (a mutex held across a scheduling point, a condition
// variable, a HoldableVolume's hold) except through a ready predicate: the one running task would
// wait forever. Scheduling points therefore go between whole requests, never inside a provider's or
// an application's locks.
//
// Bounds and errors: at most tasks_max tasks and steps_max steps. When no task is runnable
// but some have not finished (every one waits on a false predicate, and the `idle` option,
// if any, changes nothing: a deadlock), when the step budget is spent, or when a task's
// thread cannot be started, the run is aborted: from then on every scheduling point fails at
// once with the abort's status (kBadState naming the waiting tasks of a deadlock;
// kLimitExceeded for the budget or a thread that could not be started), and
// the remaining tasks are resumed one at a time, in spawn order, to return. A task must
// return once its scheduling points fail (it should pass the error up, as any Volume error).
// run() then returns the abort's status; otherwise the first error a task returned, in the
// order the tasks finished, prefixed with the task's name. Exceptions thrown by a task are
// caught and reported as kBadState.
//
// Outside a task of this scheduler (before or after run(), on the thread calling run(), on
// any other thread) a scheduling point does nothing and returns OK: a world can be set up
// and checked through the same SchedulingVolumes its tasks use.
//
// Thread-safety: spawn() and run() from one thread (the driver); schedule_point() and
// wait_until() from tasks (or from anywhere, where they do nothing); the accessors after
// run() returned, or from a task while it runs. Lifetime: the scheduler must outlive every
// SchedulingVolume and SchedulingExecutor built on it; run() joins every task's thread
// before it returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "freezeframe/random.h"
#include "freezeframe/status.h"

namespace freezeframe::sim {

// What a task is about to do when the scheduler picks it. The values of kRead to kDiscard
// are those of IoOperation.
enum class StepKind : std::uint8_t {
  kStart = 0,  // the task's first step
  kRead = 1,   // a Volume request through a SchedulingVolume
  kWrite = 2,
  kFlush = 4,
  kDiscard = 8,
  kAllocate = 16,
  kEvent = 32,  // a protocol call through a SchedulingExecutor (offset: its ticket)
  kYield = 64,  // an explicit schedule_point() or wait_until() (offset: the task's tag)
};

// "start", "read", "write", "flush", "discard", "allocate", "event", "yield".
const char* step_kind_name(StepKind kind) noexcept;

using TaskId = std::uint32_t;

// One scheduled step: the task picked and what it was about to do.
struct TraceStep {
  TaskId task = 0;
  StepKind kind = StepKind::kStart;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  friend bool operator==(const TraceStep&, const TraceStep&) = default;
};

struct SchedulerOptions {
  // Drives every pick.
  std::uint64_t seed = 0;
  // Non-null: the picks are drawn from this tape first (random.h, ChoiceTape), so a
  // structured fuzzer chooses the interleaving.
  ChoiceTape* choices = nullptr;
  // At most Scheduler::kTasksMax.
  std::size_t tasks_max = 64;
  // Steps (picks) before the run is aborted with kLimitExceeded; at least 1.
  std::uint64_t steps_max = std::uint64_t{1} << 20;
  // Steps kept in trace(): the first ones; the hash covers every step.
  std::size_t trace_steps_max = std::size_t{1} << 16;
  // Called when no task is runnable but some wait: it may change what the predicates see
  // (typically `[&] { return clock.advance_to_next_timer(); }`, so tasks waiting for
  // simulated time wake up, as in a discrete-event simulation) and returns whether it did.
  // False, or empty: the run is a deadlock. Runs on the thread calling run(), with every
  // task parked and the scheduler's lock released; at most steps_max calls per run.
  std::function<bool()> idle{};
};

class Scheduler {
 public:
  static constexpr std::size_t kTasksMax = 1024;

  // kInvalidArgument for tasks_max of 0 or above kTasksMax, or steps_max of 0.
  static Result<std::unique_ptr<Scheduler>> create(const SchedulerOptions& options);
  // REQUIRES: run() is not running.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Adds a task named `name` (for traces and errors); it starts when run() first picks it.
  // kLimitExceeded past tasks_max; kBadState once run() has started; kInvalidArgument for an
  // empty body.
  Result<TaskId> spawn(std::string name, std::function<Status()> body);

  // Runs every task to its end, one at a time (see the file comment). Once per scheduler
  // (kBadState the second time). From a task of this scheduler: kBadState.
  Status run();

  // A scheduling point: from a task of this scheduler, records that the task is about to
  // take a step of `kind` at `offset` and `length`, and hands control to the scheduler,
  // which resumes the task (not before `ready`, if given, returns true) when it picks it.
  // Returns the abort's status if the run is aborted (at once, or on resuming); OK
  // otherwise. Elsewhere: OK, doing nothing.
  Status schedule_point(StepKind kind, std::uint64_t offset, std::uint64_t length,
                        const std::function<bool()>& ready = nullptr);
  // schedule_point(kYield, tag, 0).
  Status yield(std::uint64_t tag = 0) { return schedule_point(StepKind::kYield, tag, 0); }
  // schedule_point(kYield, tag, 0, ready): returns once `ready` holds and the task was picked.
  Status wait_until(const std::function<bool()>& ready, std::uint64_t tag = 0) {
    return schedule_point(StepKind::kYield, tag, 0, ready);
  }

  // The task running on the calling thread, if it is a task of this scheduler.
  std::optional<TaskId> current_task() const noexcept;

  std::uint64_t seed() const noexcept;
  std::size_t tasks() const noexcept;
  const std::string& task_name(TaskId task) const;  // REQUIRES: task < tasks()
  // What the task returned; OK before it finished.
  Status task_status(TaskId task) const;  // REQUIRES: task < tasks()
  // Steps taken so far.
  std::uint64_t steps() const;
  // XXH3 fold of every step so far (a fixed value for no step).
  std::uint64_t trace_hash() const;
  // The first trace_steps_max steps.
  std::vector<TraceStep> trace() const;
  // The last `steps_max` kept steps, one a line ("step 12: writer-2 write offset 4096
  // length 8192"), for a failure message.
  std::string trace_text(std::size_t steps_max = 32) const;

 private:
  struct State;
  explicit Scheduler(const SchedulerOptions& options);
  std::unique_ptr<State> state_;
};

}  // namespace freezeframe::sim

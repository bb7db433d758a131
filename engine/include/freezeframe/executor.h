// Executor: where the coordinator runs writer events and provider calls.
//
// The coordinator never waits for a call on its own thread: it hands the call to an
// Executor and waits for the call or for a deadline on its Clock, whichever comes first. A
// call given up on keeps running where the executor put it; the coordinator goes on.
//
// ThreadPoolExecutor is the default: a fixed number of worker threads taking tasks in
// submission order. When the caller gives up on a running task (abandon(): it overran its
// deadline), the pool starts one more thread to stand in for it, up to a hard cap; a thread
// whose abandoned task returns becomes an ordinary worker again. A writer that never returns
// therefore costs one thread, not one per later call, and once every thread holds an
// abandoned task at the cap, submit() refuses (kLimitExceeded) instead of growing.
//
// DeterministicExecutor has no thread: submit() queues, and run_queued() runs the queue on
// the caller's thread, in submission order or in an order drawn from a seeded Random. A
// session on it, with a SimClock, replays the same events at the same simulated times on
// every run. A call that blocks (instead of stalling on the SimClock) blocks the session.
//
// Thread-safety: ThreadPoolExecutor may be used from any thread. DeterministicExecutor is
// used by one thread at a time (the one that drives the session).
// Lifetime: an executor handed to a Coordinator is borrowed and must outlive it; destroying
// a ThreadPoolExecutor waits for the tasks still running.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>

#include "freezeframe/random.h"
#include "freezeframe/status.h"

namespace freezeframe {

class Executor {
 public:
  virtual ~Executor() = default;

  // Runs `task` once, now or later, on some thread (for DeterministicExecutor: in
  // run_queued()). Returns a ticket naming the task for abandon(), or kLimitExceeded if the
  // executor cannot take it; `task` is then dropped.
  [[nodiscard]] virtual Result<std::uint64_t> submit(std::function<void()> task) = 0;
  // Called by a waiter before it waits for a task it submitted: an executor that runs tasks
  // on the caller's thread runs them here. Threaded executors return at once.
  virtual void run_queued() {}
  // The submitter no longer waits for task `ticket`, which may never return. A threaded
  // executor may start a thread to stand in for it. Unknown or finished tickets are ignored.
  virtual void abandon(std::uint64_t /*ticket*/) {}
};

struct ThreadPoolExecutorOptions {
  // Threads started up front and kept for the executor's lifetime.
  std::size_t threads = 2;
  // Hard cap on threads, counting those started to stand in for abandoned tasks.
  std::size_t threads_max = 32;
};

class ThreadPoolExecutor : public Executor {
 public:
  // REQUIRES: 1 <= options.threads <= options.threads_max.
  static std::unique_ptr<ThreadPoolExecutor> create(ThreadPoolExecutorOptions options = {});

  // Threads started so far (never more than threads_max).
  virtual std::size_t threads() const = 0;
  // Tasks running right now, and those of them that were abandoned.
  virtual std::size_t busy() const = 0;
  virtual std::size_t abandoned() const = 0;

 protected:
  ThreadPoolExecutor() = default;
};

class DeterministicExecutor final : public Executor {
 public:
  // `random` null: tasks run in submission order; otherwise each run_queued() step picks
  // the next task from the queue with `random`, which must outlive the executor.
  explicit DeterministicExecutor(Random* random = nullptr) : random_(random) {}

  [[nodiscard]] Result<std::uint64_t> submit(std::function<void()> task) override;
  // Runs queued tasks, and those they submit, until the queue is empty.
  void run_queued() override;
  // Tasks run so far.
  std::size_t tasks_run() const noexcept { return tasks_run_; }

 private:
  Random* random_;
  std::deque<std::function<void()>> queue_;
  std::size_t tasks_run_ = 0;
  std::uint64_t last_ticket_ = 0;
};

}  // namespace freezeframe

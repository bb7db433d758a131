#include "freezeframe/sim/scheduler.h"

#include <xxhash.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include "freezeframe/assert.h"
#include "freezeframe/random.h"

namespace freezeframe::sim {

namespace {

constexpr TaskId kNoTask = ~TaskId{0};
// The hash of a run with no step.
constexpr std::uint64_t kTraceHashStart = 0x5eed'5c4e'd01e'0000ULL;

}  // namespace

const char* step_kind_name(StepKind kind) noexcept {
  switch (kind) {
    case StepKind::kStart:
      return "start";
    case StepKind::kRead:
      return "read";
    case StepKind::kWrite:
      return "write";
    case StepKind::kFlush:
      return "flush";
    case StepKind::kDiscard:
      return "discard";
    case StepKind::kAllocate:
      return "allocate";
    case StepKind::kEvent:
      return "event";
    case StepKind::kYield:
      return "yield";
  }
  return "unknown";
}

struct Scheduler::State {
  struct Task {
    TaskId id = 0;
    std::string name;
    std::function<Status()> body;
    std::thread thread;
    // Signalled when `running` becomes this task.
    std::condition_variable turn;
    // While parked: the step the task takes when resumed, and what it waits for.
    TraceStep pending;
    std::function<bool()> ready;
    bool finished = false;
    Status status;
  };

  explicit State(const SchedulerOptions& options_in)
      : options(options_in), random(options_in.seed, options_in.choices) {}

  Status task_main(Task& task);
  void pick_and_resume(std::unique_lock<std::mutex>& lock);
  Status deadlock_status() const;
  void record(const TraceStep& step);

  SchedulerOptions options;
  Random random;
  mutable std::mutex mutex;
  // Signalled when `running` becomes kNoTask (the running task parked or finished).
  std::condition_variable scheduler_turn;
  // Tasks are never removed, so their addresses stay stable once run() started.
  std::vector<std::unique_ptr<Task>> tasks;
  TaskId running = kNoTask;
  bool started = false;
  std::optional<Status> abort;
  std::uint64_t steps = 0;
  std::uint64_t idle_calls = 0;
  std::uint64_t hash = kTraceHashStart;
  std::vector<TraceStep> trace;
  Status first_failure;
};

namespace {

// The task running on this thread, and the scheduler it belongs to.
struct CurrentTask {
  const void* owner = nullptr;
  TaskId id = 0;
};
thread_local CurrentTask current;

}  // namespace

Result<std::unique_ptr<Scheduler>> Scheduler::create(const SchedulerOptions& options) {
  if (options.tasks_max == 0 || options.tasks_max > kTasksMax) {
    return invalid_argument("scheduler: tasks_max " + std::to_string(options.tasks_max) +
                            " is not in [1, " + std::to_string(kTasksMax) + "]");
  }
  if (options.steps_max == 0)
    return invalid_argument("scheduler: steps_max must be at least 1");
  return std::unique_ptr<Scheduler>(new Scheduler(options));
}

Scheduler::Scheduler(const SchedulerOptions& options) : state_(std::make_unique<State>(options)) {}

Scheduler::~Scheduler() {
  // run() joins every thread before it returns; a scheduler destroyed during run() (from a
  // task) would leave threads waiting on freed state.
  std::lock_guard lock(state_->mutex);
  FF_ASSERT_MSG(state_->running == kNoTask, "a Scheduler destroyed while it runs a task");
}

Result<TaskId> Scheduler::spawn(std::string name, std::function<Status()> body) {
  std::lock_guard lock(state_->mutex);
  if (state_->started)
    return bad_state("scheduler: cannot spawn task '" + name + "' once run() has started");
  if (!body)
    return invalid_argument("scheduler: task '" + name + "' has no body");
  if (state_->tasks.size() >= state_->options.tasks_max) {
    return limit_exceeded("scheduler: cannot spawn task '" + name + "': already " +
                          std::to_string(state_->tasks.size()) + " tasks (the maximum)");
  }
  auto task = std::make_unique<State::Task>();
  task->id = static_cast<TaskId>(state_->tasks.size());
  task->name = std::move(name);
  task->body = std::move(body);
  task->pending = TraceStep{task->id, StepKind::kStart, 0, 0};
  state_->tasks.push_back(std::move(task));
  return state_->tasks.back()->id;
}

Status Scheduler::State::task_main(Task& task) {
  current = CurrentTask{this, task.id};
  {
    std::unique_lock lock(mutex);
    task.turn.wait(lock, [&] { return running == task.id; });
    if (abort.has_value()) {
      // Aborted before the task's first step: it never starts.
      task.status = *abort;
      task.finished = true;
      running = kNoTask;
      scheduler_turn.notify_one();
      return Status();
    }
  }
  Status status;
  try {
    status = task.body();
  } catch (const std::exception& error) {
    status = bad_state(std::string("threw: ") + error.what());
  } catch (...) {
    status = bad_state("threw a non-standard exception");
  }
  std::lock_guard lock(mutex);
  FF_ASSERT(running == task.id);
  task.status = status.with_context("task '" + task.name + "'");
  if (!status.ok() && first_failure.ok())
    first_failure = task.status;
  task.finished = true;
  running = kNoTask;
  scheduler_turn.notify_one();
  return Status();
}

Status Scheduler::State::deadlock_status() const {
  std::string waiting;
  for (const auto& task : tasks) {
    if (task->finished)
      continue;
    if (!waiting.empty())
      waiting += ", ";
    waiting += "'" + task->name + "' (before " + step_kind_name(task->pending.kind) + " at " +
               std::to_string(task->pending.offset) + ")";
  }
  return bad_state("scheduler seed " + std::to_string(options.seed) + ": deadlock after " +
                   std::to_string(steps) + " steps: no task can run; waiting: " + waiting);
}

void Scheduler::State::record(const TraceStep& step) {
  // Fixed-width fields, so the hash does not depend on padding or the host's struct layout.
  const std::uint64_t words[3] = {
      (std::uint64_t{static_cast<std::uint8_t>(step.kind)} << 32) | step.task, step.offset,
      step.length};
  hash = XXH3_64bits_withSeed(words, sizeof(words), hash);
  ++steps;
  if (trace.size() < options.trace_steps_max)
    trace.push_back(step);
}

void Scheduler::State::pick_and_resume(std::unique_lock<std::mutex>& lock) {
  Task* pick = nullptr;
  if (!abort.has_value()) {
    std::vector<Task*> runnable;
    bool unfinished = false;
    for (const auto& task : tasks) {
      if (task->finished)
        continue;
      unfinished = true;
      if (!task->ready || task->ready())
        runnable.push_back(task.get());
    }
    if (!unfinished)
      return;
    if (runnable.empty() && options.idle && idle_calls < options.steps_max) {
      ++idle_calls;
      // Unlocked: the hook may fire timers whose callbacks use the scheduler's accessors.
      lock.unlock();
      const bool changed = options.idle();
      lock.lock();
      if (changed)
        return;  // the caller picks again, with the predicates re-evaluated
    }
    if (runnable.empty()) {
      abort = deadlock_status();
    } else if (steps >= options.steps_max) {
      abort = limit_exceeded("scheduler seed " + std::to_string(options.seed) + ": " +
                             std::to_string(options.steps_max) + " steps (the maximum) taken");
    } else {
      pick = runnable[static_cast<std::size_t>(random.uniform(runnable.size()))];
      record(pick->pending);
    }
  }
  if (pick == nullptr) {
    // Aborted: resume the unfinished tasks in spawn order so that each returns.
    for (const auto& task : tasks) {
      if (!task->finished) {
        pick = task.get();
        break;
      }
    }
    if (pick == nullptr)
      return;
  }
  running = pick->id;
  pick->turn.notify_one();
  scheduler_turn.wait(lock, [&] { return running == kNoTask; });
}

Status Scheduler::run() {
  if (current.owner == state_.get())
    return bad_state("scheduler: run() called from one of its own tasks");
  State& state = *state_;
  {
    std::lock_guard lock(state.mutex);
    if (state.started)
      return bad_state("scheduler: run() called twice");
    state.started = true;
  }
  // Each thread waits for its turn before touching anything but its own Task.
  for (const auto& task : state.tasks) {
    State::Task* pointer = task.get();
    try {
      task->thread = std::thread([&state, pointer] { state.task_main(*pointer).ignore_error(); });
    } catch (const std::system_error& error) {
      // The tasks started so far are resumed, aborted, to return; the others never start.
      std::lock_guard lock(state.mutex);
      state.abort = limit_exceeded("scheduler: cannot start a thread for task '" + task->name +
                                   "': " + error.what());
      for (const auto& unstarted : state.tasks) {
        if (!unstarted->thread.joinable()) {
          unstarted->status = *state.abort;
          unstarted->finished = true;
        }
      }
      break;
    }
  }
  {
    std::unique_lock lock(state.mutex);
    while (std::any_of(state.tasks.begin(), state.tasks.end(),
                       [](const auto& task) { return !task->finished; })) {
      state.pick_and_resume(lock);
    }
  }
  for (const auto& task : state.tasks) {
    if (task->thread.joinable())
      task->thread.join();
  }
  std::lock_guard lock(state.mutex);
  if (state.abort.has_value())
    return *state.abort;
  return state.first_failure;
}

Status Scheduler::schedule_point(StepKind kind, std::uint64_t offset, std::uint64_t length,
                                 const std::function<bool()>& ready) {
  if (current.owner != state_.get())
    return Status();
  State& state = *state_;
  State::Task& task = *state.tasks[current.id];
  std::unique_lock lock(state.mutex);
  FF_ASSERT(state.running == task.id);
  if (state.abort.has_value())
    return *state.abort;
  task.pending = TraceStep{task.id, kind, offset, length};
  task.ready = ready;
  state.running = kNoTask;
  state.scheduler_turn.notify_one();
  task.turn.wait(lock, [&] { return state.running == task.id; });
  task.ready = nullptr;
  if (state.abort.has_value())
    return *state.abort;
  return Status();
}

std::optional<TaskId> Scheduler::current_task() const noexcept {
  if (current.owner != state_.get())
    return std::nullopt;
  return current.id;
}

std::uint64_t Scheduler::seed() const noexcept {
  return state_->options.seed;
}

std::size_t Scheduler::tasks() const noexcept {
  std::lock_guard lock(state_->mutex);
  return state_->tasks.size();
}

const std::string& Scheduler::task_name(TaskId task) const {
  std::lock_guard lock(state_->mutex);
  FF_ASSERT(task < state_->tasks.size());
  return state_->tasks[task]->name;
}

Status Scheduler::task_status(TaskId task) const {
  std::lock_guard lock(state_->mutex);
  FF_ASSERT(task < state_->tasks.size());
  return state_->tasks[task]->status;
}

std::uint64_t Scheduler::steps() const {
  std::lock_guard lock(state_->mutex);
  return state_->steps;
}

std::uint64_t Scheduler::trace_hash() const {
  std::lock_guard lock(state_->mutex);
  return state_->hash;
}

std::vector<TraceStep> Scheduler::trace() const {
  std::lock_guard lock(state_->mutex);
  return state_->trace;
}

std::string Scheduler::trace_text(std::size_t steps_max) const {
  std::lock_guard lock(state_->mutex);
  const std::vector<TraceStep>& trace = state_->trace;
  const std::size_t first = trace.size() > steps_max ? trace.size() - steps_max : 0;
  std::string text;
  for (std::size_t i = first; i < trace.size(); ++i) {
    const TraceStep& step = trace[i];
    text += "step " + std::to_string(i) + ": " + state_->tasks[step.task]->name + " " +
            step_kind_name(step.kind) + " offset " + std::to_string(step.offset) + " length " +
            std::to_string(step.length) + "\n";
  }
  return text;
}

}  // namespace freezeframe::sim

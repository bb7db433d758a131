#include "freezeframe/sim/scheduling_executor.h"

namespace freezeframe::sim {

std::uint64_t SchedulingExecutor::queue_key() const {
  const std::optional<TaskId> task = scheduler_.current_task();
  return task.has_value() ? std::uint64_t{*task} : kOutsideTasks;
}

Result<std::uint64_t> SchedulingExecutor::submit(std::function<void()> task) {
  const std::uint64_t key = queue_key();
  std::lock_guard lock(mutex_);
  const std::uint64_t ticket = ++last_ticket_;
  queues_[key].emplace_back(ticket, std::move(task));
  return ticket;
}

void SchedulingExecutor::run_queued() {
  const std::uint64_t key = queue_key();
  while (true) {
    std::pair<std::uint64_t, std::function<void()>> call;
    {
      std::lock_guard lock(mutex_);
      auto queue = queues_.find(key);
      if (queue == queues_.end() || queue->second.empty())
        return;
      call = std::move(queue->second.front());
      queue->second.pop_front();
      ++calls_run_;
    }
    if (key != kOutsideTasks) {
      // An aborted run still runs the call: the coordinator waits for it, and its requests
      // through scheduling volumes fail with the abort's status.
      scheduler_.schedule_point(StepKind::kEvent, call.first, 0).ignore_error();
    }
    call.second();
  }
}

std::size_t SchedulingExecutor::calls_run() const {
  std::lock_guard lock(mutex_);
  return calls_run_;
}

}  // namespace freezeframe::sim

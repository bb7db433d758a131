#include "freezeframe/sim/sim_clock.h"

namespace freezeframe::sim {

Nanoseconds SimClock::now() const {
  std::lock_guard lock(mutex_);
  return now_;
}

Nanoseconds SimClock::wall_time() const {
  std::lock_guard lock(mutex_);
  return wall_epoch_ + now_;
}

TimerId SimClock::schedule_at(Nanoseconds deadline, std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  TimerId id = next_id_++;
  timers_.emplace(std::make_pair(deadline, id), std::move(callback));
  deadline_of_.emplace(id, deadline);
  return id;
}

bool SimClock::cancel(TimerId id) {
  std::lock_guard lock(mutex_);
  auto it = deadline_of_.find(id);
  if (it == deadline_of_.end())
    return false;
  timers_.erase(std::make_pair(it->second, id));
  deadline_of_.erase(it);
  return true;
}

std::size_t SimClock::advance(Nanoseconds delta) {
  Nanoseconds target;
  {
    std::lock_guard lock(mutex_);
    target = now_ + delta;
  }
  return advance_to(target);
}

std::size_t SimClock::advance_to(Nanoseconds deadline) {
  std::size_t fired = 0;
  for (;;) {
    std::function<void()> callback;
    {
      std::lock_guard lock(mutex_);
      auto first = timers_.begin();
      if (first == timers_.end() || first->first.first > deadline) {
        if (deadline > now_)
          now_ = deadline;
        return fired;
      }
      if (first->first.first > now_)
        now_ = first->first.first;
      callback = std::move(first->second);
      deadline_of_.erase(first->first.second);
      timers_.erase(first);
    }
    callback();
    ++fired;
  }
}

bool SimClock::advance_to_next_timer() {
  Nanoseconds deadline;
  {
    std::lock_guard lock(mutex_);
    if (timers_.empty())
      return false;
    deadline = std::max(timers_.begin()->first.first, now_);
  }
  advance_to(deadline);
  return true;
}

std::size_t SimClock::pending_timers() const {
  std::lock_guard lock(mutex_);
  return timers_.size();
}

}  // namespace freezeframe::sim

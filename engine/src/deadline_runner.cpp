#include "deadline_runner.h"

#include <utility>

namespace freezeframe::protocol_internals {

std::string duration_text(Nanoseconds duration) {
  using std::chrono::duration_cast;
  if (duration % std::chrono::seconds(1) == Nanoseconds(0))
    return std::to_string(duration_cast<std::chrono::seconds>(duration).count()) + " s";
  if (duration % std::chrono::milliseconds(1) == Nanoseconds(0))
    return std::to_string(duration_cast<std::chrono::milliseconds>(duration).count()) + " ms";
  return std::to_string(duration.count()) + " ns";
}

std::optional<Status> DeadlineRunner::run(const std::shared_ptr<Race>& race, Nanoseconds limit,
                                          const StalledCall& label, std::function<Status()> call) {
  std::uint64_t sequence = 0;
  {
    std::lock_guard lock(race->mutex);
    if (race->expired.has_value())
      return std::nullopt;
    sequence = ++race->call_sequence;
    race->call_open = true;
  }
  TimerId timer = 0;
  if (limit > Nanoseconds(0)) {
    timer = clock_.schedule_after(limit, [race, sequence] {
      std::lock_guard lock(race->mutex);
      if (race->call_open && race->call_sequence == sequence)
        race->expire({ExpiryKind::kCall, 0});
    });
  }
  auto slot = std::make_shared<Slot>();
  Result<std::uint64_t> ticket = executor_.submit([race, slot, call = std::move(call)] {
    Status result = call();
    std::lock_guard lock(race->mutex);
    slot->done = true;
    slot->result = std::move(result);
    race->changed.notify_all();
  });
  if (!ticket.ok()) {
    std::lock_guard lock(race->mutex);
    race->refusal = ticket.status().message();
    race->expire({ExpiryKind::kNoThread, 0});
  } else {
    executor_.run_queued();
  }
  std::unique_lock lock(race->mutex);
  race->changed.wait(lock, [&] { return slot->done || race->expired.has_value(); });
  race->call_open = false;
  const bool done = slot->done;
  const bool expired = race->expired.has_value();
  Status result = done ? slot->result : Status();
  lock.unlock();
  if (timer != 0)
    clock_.cancel(timer);
  if (!done && ticket.ok()) {
    executor_.abandon(*ticket);
    std::lock_guard stragglers_lock(mutex_);
    reap();
    stragglers_.push_back({slot, race, label});
  }
  if (expired)
    return std::nullopt;
  return result;
}

void DeadlineRunner::reap() const {
  std::erase_if(stragglers_, [](const Straggler& straggler) {
    std::lock_guard lock(straggler.race->mutex);
    return straggler.slot->done;
  });
}

std::vector<StalledCall> DeadlineRunner::stalled() const {
  std::lock_guard lock(mutex_);
  reap();
  std::vector<StalledCall> result;
  for (const Straggler& straggler : stragglers_)
    result.push_back(straggler.call);
  return result;
}

}  // namespace freezeframe::protocol_internals

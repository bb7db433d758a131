// SimClock: simulated time that moves only when told to.
//
// Time starts at zero on the now() scale and at `wall_epoch` on the wall_time() scale, and
// advances only through advance() / advance_to(). Timers whose deadline is reached fire
// inside those calls, on the calling thread, in deadline order; timers with equal deadlines
// fire in the order they were scheduled. So a run that schedules the same timers and
// advances the same amounts fires the same callbacks at the same simulated instants, and a
// 60 s timeout is tested in microseconds of real time.
//
// Thread-safety: every method may be called from any thread; callbacks run without the
// clock's lock held, so they may schedule, cancel or read the clock.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <utility>

#include "freezeframe/clock.h"

namespace freezeframe::sim {

class SimClock final : public Clock {
 public:
  // 2026-01-01T00:00:00Z: a fixed calendar start so reports of seeded runs are stable.
  static constexpr Nanoseconds kDefaultWallEpoch = std::chrono::seconds(1767225600);

  explicit SimClock(Nanoseconds wall_epoch = kDefaultWallEpoch) : wall_epoch_(wall_epoch) {}

  Nanoseconds now() const override;
  Nanoseconds wall_time() const override;
  TimerId schedule_at(Nanoseconds deadline, std::function<void()> callback) override;
  bool cancel(TimerId id) override;

  // Moves time forward by `delta`, firing every timer due on the way at its own deadline
  // (now() reads that deadline while its callback runs). Returns the number fired.
  std::size_t advance(Nanoseconds delta);
  // Moves time forward to `deadline` (no-op if it is in the past).
  std::size_t advance_to(Nanoseconds deadline);
  // Jumps to the earliest pending timer and fires everything due then. Returns false if no
  // timer is pending.
  bool advance_to_next_timer();

  std::size_t pending_timers() const;

 private:
  mutable std::mutex mutex_;
  Nanoseconds now_{0};
  Nanoseconds wall_epoch_;
  TimerId next_id_ = 1;
  std::map<std::pair<Nanoseconds, TimerId>, std::function<void()>> timers_;
  std::map<TimerId, Nanoseconds> deadline_of_;
};

}  // namespace freezeframe::sim

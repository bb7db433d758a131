// The time seam.
//
// Everything in freezeframe that reads time or waits for a deadline does it through a Clock,
// so a simulation can run a 60 s freeze timeout in microseconds (SimClock, in sim/) and the
// same code runs against real time in production (SystemClock).
//
// Two readings: now() is monotonic and is what deadlines are measured against; wall_time()
// is calendar time (nanoseconds since the Unix epoch, UTC) for timestamps such as a
// snapshot's creation time.
//
// Timers: schedule_at() runs a callback once when now() reaches a deadline. A SystemClock
// runs callbacks on its own timer thread; a SimClock runs them inside advance(), in deadline
// order and, for equal deadlines, in the order they were scheduled. Callbacks must not block;
// they may schedule or cancel timers.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace freezeframe {

using Nanoseconds = std::chrono::nanoseconds;

using TimerId = std::uint64_t;

class Clock {
 public:
  virtual ~Clock() = default;

  // Monotonic time; only differences are meaningful.
  virtual Nanoseconds now() const = 0;
  // Calendar time, nanoseconds since 1970-01-01T00:00:00Z.
  virtual Nanoseconds wall_time() const = 0;

  // Runs `callback` once at or after `deadline` (on the now() scale). Never runs it inline.
  virtual TimerId schedule_at(Nanoseconds deadline, std::function<void()> callback) = 0;
  // Cancels a timer that has not yet fired. Returns false if it already fired or is unknown.
  // A callback that is running when cancel() is called may still complete.
  virtual bool cancel(TimerId id) = 0;

  TimerId schedule_after(Nanoseconds delay, std::function<void()> callback) {
    return schedule_at(now() + delay, std::move(callback));
  }
};

// Real time: std::chrono::steady_clock for now(), system_clock for wall_time(). Timers run on
// a thread the clock starts on first use and joins on destruction.
class SystemClock final : public Clock {
 public:
  SystemClock();
  ~SystemClock() override;
  SystemClock(const SystemClock&) = delete;
  SystemClock& operator=(const SystemClock&) = delete;

  Nanoseconds now() const override;
  Nanoseconds wall_time() const override;
  TimerId schedule_at(Nanoseconds deadline, std::function<void()> callback) override;
  bool cancel(TimerId id) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Formats a wall_time() reading as ISO 8601 UTC with microseconds, e.g.
// "2026-11-25T10:00:00.000000Z".
std::string format_iso8601_utc(Nanoseconds wall_time);

}  // namespace freezeframe

// Simulated time: timers fire inside advance(), in deadline order, at their own instants.
#include "freezeframe/sim/sim_clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace freezeframe::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(SimClock, StartsAtZeroAndTheFixedWallEpoch) {
  SimClock clock;
  EXPECT_EQ(clock.now(), Nanoseconds(0));
  EXPECT_EQ(clock.wall_time(), SimClock::kDefaultWallEpoch);
  EXPECT_EQ(format_iso8601_utc(clock.wall_time()), "2026-01-01T00:00:00.000000Z");
  SimClock custom(seconds(1000));
  EXPECT_EQ(custom.wall_time(), seconds(1000));
}

TEST(SimClock, AdvanceMovesBothReadings) {
  SimClock clock;
  EXPECT_EQ(clock.advance(milliseconds(1500)), 0u);
  EXPECT_EQ(clock.now(), milliseconds(1500));
  EXPECT_EQ(clock.wall_time(), SimClock::kDefaultWallEpoch + milliseconds(1500));
  // advance_to a past instant changes nothing.
  EXPECT_EQ(clock.advance_to(milliseconds(10)), 0u);
  EXPECT_EQ(clock.now(), milliseconds(1500));
}

TEST(SimClock, FiresTimersInDeadlineOrderAtTheirOwnInstants) {
  SimClock clock;
  std::vector<std::pair<std::string, Nanoseconds>> fired;
  auto record = [&](std::string name) {
    return [&clock, &fired, name] { fired.emplace_back(name, clock.now()); };
  };
  // Scheduled out of order.
  clock.schedule_at(milliseconds(30), record("c"));
  clock.schedule_at(milliseconds(10), record("a"));
  clock.schedule_after(milliseconds(20), record("b"));
  clock.schedule_at(milliseconds(100), record("late"));
  EXPECT_EQ(clock.pending_timers(), 4u);

  EXPECT_EQ(clock.advance(milliseconds(50)), 3u);
  ASSERT_EQ(fired.size(), 3u);
  EXPECT_EQ(fired[0], std::make_pair(std::string("a"), Nanoseconds(milliseconds(10))));
  EXPECT_EQ(fired[1], std::make_pair(std::string("b"), Nanoseconds(milliseconds(20))));
  EXPECT_EQ(fired[2], std::make_pair(std::string("c"), Nanoseconds(milliseconds(30))));
  EXPECT_EQ(clock.now(), milliseconds(50));
  EXPECT_EQ(clock.pending_timers(), 1u);

  // A deadline exactly at the target fires.
  EXPECT_EQ(clock.advance_to(milliseconds(100)), 1u);
  EXPECT_EQ(fired.back(), std::make_pair(std::string("late"), Nanoseconds(milliseconds(100))));
  EXPECT_EQ(clock.pending_timers(), 0u);
}

TEST(SimClock, EqualDeadlinesFireInSchedulingOrder) {
  SimClock clock;
  std::string order;
  for (char c : std::string("pqrstu"))
    clock.schedule_at(seconds(5), [&order, c] { order.push_back(c); });
  clock.schedule_at(seconds(4), [&order] { order.push_back('0'); });
  clock.advance(seconds(5));
  EXPECT_EQ(order, "0pqrstu");
}

TEST(SimClock, CancelledTimersNeverFire) {
  SimClock clock;
  int fired = 0;
  TimerId keep = clock.schedule_at(seconds(1), [&] { fired += 1; });
  TimerId drop = clock.schedule_at(seconds(1), [&] { fired += 100; });
  EXPECT_NE(keep, drop);
  EXPECT_TRUE(clock.cancel(drop));
  EXPECT_FALSE(clock.cancel(drop)) << "cancelled twice";
  EXPECT_FALSE(clock.cancel(9999)) << "unknown id";
  EXPECT_EQ(clock.pending_timers(), 1u);
  EXPECT_EQ(clock.advance(seconds(2)), 1u);
  EXPECT_EQ(fired, 1);
  EXPECT_FALSE(clock.cancel(keep)) << "already fired";
}

TEST(SimClock, AdvanceToNextTimerJumpsToTheEarliestDeadline) {
  SimClock clock;
  EXPECT_FALSE(clock.advance_to_next_timer());
  EXPECT_EQ(clock.now(), Nanoseconds(0));
  std::vector<int> fired;
  clock.schedule_at(seconds(60), [&] { fired.push_back(60); });
  clock.schedule_at(seconds(7), [&] { fired.push_back(7); });
  clock.schedule_at(seconds(7), [&] { fired.push_back(8); });
  EXPECT_TRUE(clock.advance_to_next_timer());
  EXPECT_EQ(clock.now(), seconds(7));
  EXPECT_EQ(fired, (std::vector<int>{7, 8})) << "everything due at that instant fires";
  EXPECT_TRUE(clock.advance_to_next_timer());
  EXPECT_EQ(clock.now(), seconds(60));
  EXPECT_EQ(fired, (std::vector<int>{7, 8, 60}));
  EXPECT_FALSE(clock.advance_to_next_timer());
  EXPECT_EQ(clock.now(), seconds(60));
}

TEST(SimClock, TimerInThePastFiresOnTheNextAdvanceWithoutMovingTimeBack) {
  SimClock clock;
  clock.advance(seconds(10));
  Nanoseconds fired_at{-1};
  clock.schedule_at(seconds(3), [&] { fired_at = clock.now(); });
  EXPECT_EQ(clock.advance(Nanoseconds(0)), 1u);
  EXPECT_EQ(fired_at, seconds(10));
  EXPECT_EQ(clock.now(), seconds(10));
}

TEST(SimClock, TimersScheduledFromACallbackFireInTheSameAdvanceWhenDue) {
  SimClock clock;
  std::vector<std::pair<int, Nanoseconds>> fired;
  // A periodic tick every second that re-arms itself from its own callback, plus a one-off
  // that a callback schedules and then cancels.
  std::function<void()> tick = [&] {
    fired.emplace_back(1, clock.now());
    clock.schedule_after(seconds(1), tick);
  };
  clock.schedule_at(seconds(1), tick);
  clock.schedule_at(milliseconds(1500), [&] {
    fired.emplace_back(2, clock.now());
    TimerId doomed =
        clock.schedule_after(milliseconds(100), [&] { fired.emplace_back(3, Nanoseconds(0)); });
    EXPECT_TRUE(clock.cancel(doomed));
  });

  EXPECT_EQ(clock.advance(milliseconds(3500)), 4u);
  ASSERT_EQ(fired.size(), 4u);
  EXPECT_EQ(fired[0], std::make_pair(1, Nanoseconds(seconds(1))));
  EXPECT_EQ(fired[1], std::make_pair(2, Nanoseconds(milliseconds(1500))));
  EXPECT_EQ(fired[2], std::make_pair(1, Nanoseconds(seconds(2))));
  EXPECT_EQ(fired[3], std::make_pair(1, Nanoseconds(seconds(3))));
  EXPECT_EQ(clock.now(), milliseconds(3500));
  // The tick re-armed itself for 4 s and is still pending.
  EXPECT_EQ(clock.pending_timers(), 1u);
  clock.advance_to_next_timer();
  EXPECT_EQ(fired.back(), std::make_pair(1, Nanoseconds(seconds(4))));
}

}  // namespace
}  // namespace freezeframe::sim

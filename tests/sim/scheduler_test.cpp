// The deterministic scheduler and the scheduling volume: one task runs at a time, the seed
// decides the interleaving and replays it, every run is bounded, and aborted runs end with
// clean errors rather than hangs.
#include "freezeframe/sim/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "freezeframe/holdable_volume.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/sim/scheduling_volume.h"
#include "freezeframe/sim/sim_clock.h"
#include "seed.h"

namespace freezeframe::sim {
namespace {

using Bytes = std::vector<std::byte>;

std::unique_ptr<Scheduler> make_scheduler(const SchedulerOptions& options) {
  auto scheduler = Scheduler::create(options);
  EXPECT_TRUE(scheduler.ok()) << scheduler.status().to_string();
  return scheduler.ok() ? std::move(scheduler).value() : nullptr;
}

// `tasks` tasks that each yield `yields` times, tagging each yield with its number.
struct YieldingRun {
  std::uint64_t hash = 0;
  std::vector<TraceStep> trace;
};
YieldingRun run_yielding_tasks(std::uint64_t seed, int tasks, int yields) {
  auto scheduler = make_scheduler({.seed = seed});
  if (scheduler == nullptr)
    return {};
  for (int task = 0; task < tasks; ++task) {
    auto id = scheduler->spawn("task-" + std::to_string(task), [&, yields] {
      for (int i = 0; i < yields; ++i)
        FF_TRY(scheduler->yield(static_cast<std::uint64_t>(i)));
      return Status();
    });
    EXPECT_TRUE(id.ok());
  }
  EXPECT_TRUE(scheduler->run().ok());
  EXPECT_EQ(scheduler->steps(), static_cast<std::uint64_t>(tasks * (yields + 1)));
  return {scheduler->trace_hash(), scheduler->trace()};
}

TEST(Scheduler, SameSeedReplaysTheSameTraceAndHash) {
  testing::TracedSeed seed(1501);
  const YieldingRun first = run_yielding_tasks(seed.value(), 4, 20);
  const YieldingRun second = run_yielding_tasks(seed.value(), 4, 20);
  EXPECT_EQ(first.hash, second.hash);
  EXPECT_EQ(first.trace, second.trace);
  ASSERT_EQ(first.trace.size(), 4u * 21u);
  // Each task's steps appear in its own program order: start, then yields 0, 1, 2, ...
  std::vector<std::uint64_t> next(4, 0);
  std::vector<bool> started(4, false);
  for (const TraceStep& step : first.trace) {
    ASSERT_LT(step.task, 4u);
    if (step.kind == StepKind::kStart) {
      EXPECT_FALSE(started[step.task]);
      started[step.task] = true;
      continue;
    }
    EXPECT_TRUE(started[step.task]);
    EXPECT_EQ(step.kind, StepKind::kYield);
    EXPECT_EQ(step.offset, next[step.task]++);
  }
}

TEST(Scheduler, DifferentSeedsGiveDifferentInterleavings) {
  std::set<std::uint64_t> hashes;
  std::vector<std::vector<TraceStep>> traces;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const YieldingRun run = run_yielding_tasks(seed, 3, 10);
    hashes.insert(run.hash);
    EXPECT_EQ(std::find(traces.begin(), traces.end(), run.trace), traces.end())
        << "seed " << seed << " repeats an earlier seed's interleaving";
    traces.push_back(run.trace);
  }
  EXPECT_EQ(hashes.size(), 5u);
}

TEST(Scheduler, RunsExactlyOneTaskAtATime) {
  testing::TracedSeed seed(77);
  auto scheduler = make_scheduler({.seed = seed.value()});
  ASSERT_NE(scheduler, nullptr);
  // Plain (not atomic) on purpose: the hand-off is what orders these accesses, and
  // ThreadSanitizer would flag a second running task.
  int running = 0;
  int overlaps = 0;
  std::uint64_t total = 0;
  for (int task = 0; task < 6; ++task) {
    ASSERT_TRUE(scheduler
                    ->spawn("task-" + std::to_string(task),
                            [&] {
                              for (int i = 0; i < 30; ++i) {
                                if (running != 0)
                                  ++overlaps;
                                ++running;
                                ++total;
                                --running;
                                FF_TRY(scheduler->yield());
                              }
                              return Status();
                            })
                    .ok());
  }
  ASSERT_TRUE(scheduler->run().ok());
  EXPECT_EQ(overlaps, 0);
  EXPECT_EQ(total, 6u * 30u);
}

TEST(Scheduler, ATaskThatFinishesEarlyLeavesTheOthersToFinish) {
  testing::TracedSeed seed(9);
  auto scheduler = make_scheduler({.seed = seed.value()});
  ASSERT_NE(scheduler, nullptr);
  int long_task_yields = 0;
  auto early = scheduler->spawn("early", [] { return Status(); });
  auto late = scheduler->spawn("late", [&] {
    for (int i = 0; i < 12; ++i) {
      FF_TRY(scheduler->yield());
      ++long_task_yields;
    }
    return Status();
  });
  ASSERT_TRUE(early.ok() && late.ok());
  ASSERT_TRUE(scheduler->run().ok());
  EXPECT_EQ(long_task_yields, 12);
  EXPECT_EQ(scheduler->steps(), 1u + 13u);
  EXPECT_TRUE(scheduler->task_status(*early).ok());
  EXPECT_TRUE(scheduler->task_status(*late).ok());
}

TEST(Scheduler, StepBudgetAbortsTheRunWithLimitExceeded) {
  auto scheduler = make_scheduler({.seed = 3, .steps_max = 10});
  ASSERT_NE(scheduler, nullptr);
  int errors_seen = 0;
  for (int task = 0; task < 3; ++task) {
    ASSERT_TRUE(scheduler
                    ->spawn("spinner-" + std::to_string(task),
                            [&] {
                              // Would never end on its own: only the budget stops it.
                              while (true) {
                                Status status = scheduler->yield();
                                if (!status.ok()) {
                                  ++errors_seen;
                                  return status;
                                }
                              }
                            })
                    .ok());
  }
  Status status = scheduler->run();
  EXPECT_EQ(status.code(), ErrorCode::kLimitExceeded) << status.to_string();
  EXPECT_NE(status.message().find("10 steps (the maximum)"), std::string::npos) << status.message();
  EXPECT_EQ(scheduler->steps(), 10u);
  // Every task that had started saw the error at its scheduling point and returned it.
  for (TaskId task = 0; task < 3; ++task) {
    const Status task_status = scheduler->task_status(task);
    EXPECT_EQ(task_status.code(), ErrorCode::kLimitExceeded) << task_status.to_string();
  }
  EXPECT_LE(errors_seen, 3);
}

TEST(Scheduler, RefusesBadOptionsAndTasksPastItsLimit) {
  EXPECT_EQ(Scheduler::create({.tasks_max = 0}).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Scheduler::create({.tasks_max = Scheduler::kTasksMax + 1}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Scheduler::create({.steps_max = 0}).status().code(), ErrorCode::kInvalidArgument);
  auto scheduler = make_scheduler({.tasks_max = 2});
  ASSERT_NE(scheduler, nullptr);
  EXPECT_TRUE(scheduler->spawn("a", [] { return Status(); }).ok());
  EXPECT_TRUE(scheduler->spawn("b", [] { return Status(); }).ok());
  auto third = scheduler->spawn("c", [] { return Status(); });
  EXPECT_EQ(third.status().code(), ErrorCode::kLimitExceeded);
  EXPECT_NE(third.status().message().find("'c'"), std::string::npos);
  ASSERT_TRUE(scheduler->run().ok());
  EXPECT_EQ(scheduler->run().code(), ErrorCode::kBadState);  // once only
  EXPECT_EQ(scheduler->tasks(), 2u);
  auto fresh = make_scheduler({});
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fresh->spawn("empty", nullptr).status().code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(fresh->run().ok());  // no task: nothing to do
  EXPECT_EQ(fresh->spawn("late", [] { return Status(); }).status().code(), ErrorCode::kBadState);
}

TEST(Scheduler, ReturnsTheFirstTaskErrorNamingTheTask) {
  auto scheduler = make_scheduler({.seed = 5});
  ASSERT_NE(scheduler, nullptr);
  bool other_finished = false;
  ASSERT_TRUE(scheduler->spawn("failing", [&] { return io_error("disk on fire"); }).ok());
  ASSERT_TRUE(
      scheduler->spawn("thrower", [&]() -> Status { throw std::runtime_error("boom"); }).ok());
  ASSERT_TRUE(scheduler
                  ->spawn("fine",
                          [&] {
                            for (int i = 0; i < 5; ++i)
                              FF_TRY(scheduler->yield());
                            other_finished = true;
                            return Status();
                          })
                  .ok());
  Status status = scheduler->run();
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(other_finished);  // one task's error does not stop the others
  const Status failing = scheduler->task_status(0);
  EXPECT_EQ(failing.code(), ErrorCode::kIoError);
  EXPECT_NE(failing.message().find("task 'failing': disk on fire"), std::string::npos)
      << failing.message();
  const Status thrower = scheduler->task_status(1);
  EXPECT_EQ(thrower.code(), ErrorCode::kBadState);
  EXPECT_NE(thrower.message().find("threw: boom"), std::string::npos) << thrower.message();
  // run() reports whichever of the two failed first, which the seed decides.
  EXPECT_TRUE(status.message() == failing.message() || status.message() == thrower.message())
      << status.to_string();
  EXPECT_TRUE(scheduler->task_status(2).ok());
}

TEST(Scheduler, WaitUntilHoldsATaskBackUntilItsPredicateHolds) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    SCOPED_TRACE(testing::replay_command(seed));
    auto scheduler = make_scheduler({.seed = seed});
    ASSERT_NE(scheduler, nullptr);
    int produced = 0;
    int seen_on_wake = -1;
    ASSERT_TRUE(scheduler
                    ->spawn("consumer",
                            [&] {
                              FF_TRY(scheduler->wait_until([&] { return produced >= 4; }));
                              seen_on_wake = produced;
                              return Status();
                            })
                    .ok());
    ASSERT_TRUE(scheduler
                    ->spawn("producer",
                            [&] {
                              for (int i = 0; i < 8; ++i) {
                                FF_TRY(scheduler->yield());
                                ++produced;
                              }
                              return Status();
                            })
                    .ok());
    ASSERT_TRUE(scheduler->run().ok());
    EXPECT_GE(seen_on_wake, 4);
  }
}

TEST(Scheduler, ADeadlockIsReportedNamingTheWaitingTasks) {
  auto scheduler = make_scheduler({.seed = 11});
  ASSERT_NE(scheduler, nullptr);
  bool a_done = false;
  bool b_done = false;
  ASSERT_TRUE(scheduler
                  ->spawn("a",
                          [&] {
                            FF_TRY(scheduler->wait_until([&] { return b_done; }, 1));
                            a_done = true;
                            return Status();
                          })
                  .ok());
  ASSERT_TRUE(scheduler
                  ->spawn("b",
                          [&] {
                            FF_TRY(scheduler->wait_until([&] { return a_done; }, 2));
                            b_done = true;
                            return Status();
                          })
                  .ok());
  Status status = scheduler->run();
  EXPECT_EQ(status.code(), ErrorCode::kBadState) << status.to_string();
  EXPECT_NE(status.message().find("deadlock"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("'a'"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("'b'"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("seed 11"), std::string::npos) << status.message();
  EXPECT_FALSE(a_done);
  EXPECT_FALSE(b_done);
  EXPECT_EQ(scheduler->task_status(0).code(), ErrorCode::kBadState);
  EXPECT_EQ(scheduler->task_status(1).code(), ErrorCode::kBadState);
}

TEST(Scheduler, IdleHookAdvancesSimulatedTimeForWaitingTasks) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE(testing::replay_command(seed));
    SimClock clock;
    auto scheduler =
        make_scheduler({.seed = seed, .idle = [&] { return clock.advance_to_next_timer(); }});
    ASSERT_NE(scheduler, nullptr);
    std::vector<std::string> woke;
    std::vector<Nanoseconds> woke_at;
    auto sleeper = [&](const std::string& name, Nanoseconds delay) {
      return [&, name, delay]() -> Status {
        const Nanoseconds deadline = clock.now() + delay;
        clock.schedule_at(deadline, [] {});
        FF_TRY(scheduler->wait_until([&, deadline] { return clock.now() >= deadline; }));
        woke.push_back(name);
        woke_at.push_back(clock.now());
        return Status();
      };
    };
    ASSERT_TRUE(scheduler->spawn("slow", sleeper("slow", std::chrono::seconds(60))).ok());
    ASSERT_TRUE(scheduler->spawn("fast", sleeper("fast", std::chrono::seconds(5))).ok());
    Status status = scheduler->run();
    ASSERT_TRUE(status.ok()) << status.to_string();
    // Time moved only as far as each deadline, and in deadline order whatever the seed.
    EXPECT_EQ(woke, (std::vector<std::string>{"fast", "slow"}));
    EXPECT_EQ(woke_at,
              (std::vector<Nanoseconds>{std::chrono::seconds(5), std::chrono::seconds(60)}));
  }
}

TEST(Scheduler, AnIdleHookThatAlwaysClaimsProgressIsBounded) {
  auto scheduler = make_scheduler({.seed = 2, .steps_max = 50, .idle = [] { return true; }});
  ASSERT_NE(scheduler, nullptr);
  ASSERT_TRUE(
      scheduler->spawn("never", [&] { return scheduler->wait_until([] { return false; }); }).ok());
  Status status = scheduler->run();
  EXPECT_EQ(status.code(), ErrorCode::kBadState) << status.to_string();
  EXPECT_NE(status.message().find("deadlock"), std::string::npos) << status.message();
}

TEST(Scheduler, SchedulingPointsOutsideItsTasksDoNothing) {
  auto scheduler = make_scheduler({});
  ASSERT_NE(scheduler, nullptr);
  EXPECT_TRUE(scheduler->yield().ok());
  EXPECT_TRUE(scheduler->wait_until([] { return false; }).ok());
  EXPECT_FALSE(scheduler->current_task().has_value());
  ASSERT_TRUE(scheduler
                  ->spawn("only",
                          [&] {
                            // Inside its task, the scheduler knows it; run() from here is refused.
                            EXPECT_EQ(scheduler->current_task(), std::optional<TaskId>(0));
                            EXPECT_EQ(scheduler->run().code(), ErrorCode::kBadState);
                            return Status();
                          })
                  .ok());
  ASSERT_TRUE(scheduler->run().ok());
  EXPECT_EQ(scheduler->steps(), 1u);  // the task's start only
}

Bytes pattern(std::size_t size, std::uint8_t seed) {
  Bytes data(size);
  for (std::size_t i = 0; i < size; ++i)
    data[i] = static_cast<std::byte>(seed + i * 7);
  return data;
}

std::unique_ptr<MemoryVolume> memory_volume(std::uint64_t size_bytes) {
  auto volume = MemoryVolume::create({.name = "mem", .size_bytes = size_bytes});
  EXPECT_TRUE(volume.ok());
  return volume.ok() ? std::move(volume).value() : nullptr;
}

TEST(SchedulingVolume, EachRequestIsOneStepAndReachesTheBase) {
  auto base = memory_volume(64 << 10);
  ASSERT_NE(base, nullptr);
  auto scheduler = make_scheduler({.seed = 21});
  ASSERT_NE(scheduler, nullptr);
  auto volume = SchedulingVolume::create(*base, *scheduler);
  ASSERT_TRUE(volume.ok());
  SchedulingVolume& scheduled = *volume.value();
  EXPECT_EQ(scheduled.size_bytes(), base->size_bytes());
  EXPECT_EQ(scheduled.name(), base->name());
  const Bytes data = pattern(4096, 3);
  Bytes got(4096);
  ASSERT_TRUE(scheduler
                  ->spawn("io",
                          [&] {
                            FF_TRY(scheduled.write(8192, data));
                            FF_TRY(scheduled.read(8192, got));
                            FF_TRY(scheduled.flush());
                            FF_TRY(scheduled.discard(0, 4096));
                            FF_TRY(scheduled.allocate(4096, 4096));
                            // Invalid: fails in the Volume checks, before any step.
                            if (scheduled.write(100, data).code() != ErrorCode::kInvalidArgument)
                              return bad_state("misaligned write accepted");
                            return Status();
                          })
                  .ok());
  ASSERT_TRUE(scheduler->run().ok());
  EXPECT_EQ(got, data);
  const std::vector<TraceStep> expected = {
      {0, StepKind::kStart, 0, 0},      {0, StepKind::kWrite, 8192, 4096},
      {0, StepKind::kRead, 8192, 4096}, {0, StepKind::kFlush, 0, 0},
      {0, StepKind::kDiscard, 0, 4096}, {0, StepKind::kAllocate, 4096, 4096}};
  EXPECT_EQ(scheduler->trace(), expected);
  EXPECT_NE(scheduler->trace_text().find("step 1: io write offset 8192 length 4096"),
            std::string::npos)
      << scheduler->trace_text();
  // Outside a task the filter only forwards: the setup and the checks of a world use it.
  Bytes after(4096);
  ASSERT_TRUE(scheduled.read(8192, after).ok());
  EXPECT_EQ(after, data);
  EXPECT_EQ(scheduler->steps(), expected.size());
}

TEST(SchedulingVolume, RequestsFailCleanlyOnceTheRunIsAborted) {
  auto base = memory_volume(64 << 10);
  ASSERT_NE(base, nullptr);
  auto scheduler = make_scheduler({.seed = 4, .steps_max = 5});
  ASSERT_NE(scheduler, nullptr);
  auto volume = SchedulingVolume::create(*base, *scheduler);
  ASSERT_TRUE(volume.ok());
  std::uint64_t writes_ok = 0;
  Status first_error;
  ASSERT_TRUE(scheduler
                  ->spawn("writer",
                          [&] {
                            for (std::uint64_t i = 0; i < 16; ++i) {
                              Status status = volume.value()->write(i * 4096, pattern(4096, 1));
                              if (!status.ok()) {
                                first_error = status;
                                return status;
                              }
                              ++writes_ok;
                            }
                            return Status();
                          })
                  .ok());
  Status status = scheduler->run();
  EXPECT_EQ(status.code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(writes_ok, 4u);  // steps: start, then 4 writes; the 5th write is refused
  EXPECT_EQ(first_error.code(), ErrorCode::kLimitExceeded);
  EXPECT_NE(first_error.message().find("volume 'mem'"), std::string::npos) << first_error.message();
  EXPECT_NE(first_error.message().find("offset 16384"), std::string::npos) << first_error.message();
  // The refused write never reached the base.
  Bytes got(4096);
  ASSERT_TRUE(base->read(std::uint64_t{4} * 4096, got).ok());
  EXPECT_EQ(got, Bytes(4096));
}

TEST(SchedulingVolume, ReadyPredicateKeepsWritesOutOfAHeldVolume) {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE(testing::replay_command(seed));
    auto base = memory_volume(64 << 10);
    ASSERT_NE(base, nullptr);
    HoldableVolume holdable(*base, "held");
    auto scheduler = make_scheduler({.seed = seed});
    ASSERT_NE(scheduler, nullptr);
    // Without the predicate a writer picked while the volume is held would block inside
    // write() holding the only turn, and the run would hang.
    auto volume =
        SchedulingVolume::create(holdable, *scheduler, {.ready = [&] { return !holdable.held(); }});
    ASSERT_TRUE(volume.ok());
    for (int writer = 0; writer < 3; ++writer) {
      ASSERT_TRUE(scheduler
                      ->spawn("writer-" + std::to_string(writer),
                              [&, writer] {
                                for (std::uint64_t i = 0; i < 6; ++i) {
                                  FF_TRY(volume.value()->write(
                                      (static_cast<std::uint64_t>(writer) * 6 + i) * 512,
                                      pattern(512, static_cast<std::uint8_t>(i))));
                                }
                                return Status();
                              })
                      .ok());
    }
    int unchanged_while_held = 0;
    ASSERT_TRUE(scheduler
                    ->spawn("holder",
                            [&] {
                              holdable.hold();
                              Bytes before(9216);
                              Bytes after(9216);
                              FF_TRY(base->read(0, before));
                              for (int i = 0; i < 5; ++i)
                                FF_TRY(scheduler->yield());
                              FF_TRY(base->read(0, after));
                              if (before == after)
                                ++unchanged_while_held;
                              holdable.release();
                              return Status();
                            })
                    .ok());
    Status status = scheduler->run();
    ASSERT_TRUE(status.ok()) << status.to_string();
    EXPECT_EQ(unchanged_while_held, 1);
    EXPECT_EQ(holdable.waiting(), 0u);
  }
}

}  // namespace
}  // namespace freezeframe::sim

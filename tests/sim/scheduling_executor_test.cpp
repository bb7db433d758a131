// Protocol events as scheduled steps: a Coordinator on a SchedulingExecutor runs every writer
// event and provider call of a requestor task as one step of the seeded Scheduler, so two
// requestors and two applications writing through the held volumes interleave as the seed
// says, and a seed replays the same order of writer events and the same trace hash.
#include "freezeframe/sim/scheduling_executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "freezeframe/sim/scheduler.h"
#include "freezeframe/sim/scheduling_volume.h"
#include "protocol_rig.h"
#include "seed.h"

namespace freezeframe {
namespace {

using sim::Scheduler;
using sim::SchedulingExecutor;
using sim::SchedulingVolume;
using sim::StepKind;
using testing::make_protocol_rig;

constexpr int kRequestors = 2;
constexpr int kSetsPerRequestor = 2;
constexpr int kAttemptsMax = 64;
constexpr std::uint64_t kAppWrites = 8;

struct ProtocolRun {
  Status status;
  // Writer events, provider calls and I/O holds, in order ("db:freeze", "io:hold-io:vol0").
  std::vector<std::string> events;
  // The coordinator's event log as JSON lines.
  std::string log;
  // Which requestor's sets completed, in order.
  std::vector<int> sets;
  std::uint64_t trace_hash = 0;
  std::uint64_t event_steps = 0;
  std::uint64_t write_steps = 0;
};

// Two requestors each take kSetsPerRequestor snapshot sets of both volumes (retrying while the
// other's set is in creation) while one application task per volume writes through it.
ProtocolRun run_world(std::uint64_t seed) {
  SCOPED_TRACE(testing::replay_command(seed));
  ProtocolRun run;
  auto created = Scheduler::create({.seed = seed, .steps_max = 20000});
  EXPECT_TRUE(created.ok());
  if (!created.ok())
    return run;
  Scheduler& tasks = *created.value();
  SchedulingExecutor executor(tasks);
  // The rig's own seed (set ids, snapshot ids) stays fixed: only the interleaving varies.
  auto rig = make_protocol_rig({.volume_count = 2, .seed = 7, .executor = &executor});
  rig->add_writer({.name = "db", .level = ApplicationLevel::kBackEnd, .volumes = {"vol0"}});
  rig->add_writer({.name = "app", .volumes = {"vol1"}});

  std::vector<std::unique_ptr<SchedulingVolume>> app_volumes;
  for (auto& volume : rig->volumes) {
    HoldableVolume* holdable = volume.holdable.get();
    // A write is not picked while its volume is held for a commit window: it would block
    // inside the hold while the requestor, parked, could never release it.
    auto scheduled = SchedulingVolume::create(*holdable, tasks,
                                              {.ready = [holdable] { return !holdable->held(); }});
    EXPECT_TRUE(scheduled.ok());
    if (!scheduled.ok())
      return run;
    app_volumes.push_back(std::move(scheduled).value());
  }
  for (std::size_t v = 0; v < app_volumes.size(); ++v) {
    Volume& volume = *app_volumes[v];
    EXPECT_TRUE(tasks
                    .spawn("writes-" + volume.name(),
                           [&volume, v]() -> Status {
                             std::vector<std::byte> block(4096, std::byte{0});
                             for (std::uint64_t i = 0; i < kAppWrites; ++i) {
                               std::fill(block.begin(), block.end(),
                                         static_cast<std::byte>(v * 16 + i + 1));
                               FF_TRY(volume.write(i * 4096, block));
                             }
                             return volume.flush();
                           })
                    .ok());
  }
  bool in_set[kRequestors] = {false, false};
  for (int requestor = 0; requestor < kRequestors; ++requestor) {
    EXPECT_TRUE(tasks
                    .spawn("requestor-" + std::to_string(requestor),
                           [&, requestor]() -> Status {
                             const int other = 1 - requestor;
                             for (int set = 0; set < kSetsPerRequestor; ++set) {
                               for (int attempt = 0;; ++attempt) {
                                 if (attempt == kAttemptsMax)
                                   return limit_exceeded("no set after retries");
                                 in_set[requestor] = true;
                                 auto session =
                                     rig->coordinator->take_snapshot_set(rig->volume_names());
                                 in_set[requestor] = false;
                                 if (session.ok()) {
                                   FF_TRY((*session)->backup_complete());
                                   run.sets.push_back(requestor);
                                   break;
                                 }
                                 if (session.status().code() != ErrorCode::kBusy)
                                   return session.status();
                                 FF_TRY(tasks.wait_until([&] { return !in_set[other]; }));
                               }
                             }
                             return Status();
                           })
                    .ok());
  }
  run.status = tasks.run();
  EXPECT_TRUE(run.status.ok()) << run.status.to_string() << "\n" << tasks.trace_text();
  run.events = rig->trace.entries();
  run.log = rig->sink->json_lines();
  run.trace_hash = tasks.trace_hash();
  for (const sim::TraceStep& step : tasks.trace()) {
    run.event_steps += step.kind == StepKind::kEvent ? 1 : 0;
    run.write_steps += step.kind == StepKind::kWrite ? 1 : 0;
  }
  for (auto& volume : rig->volumes)
    EXPECT_EQ(volume.holdable->waiting(), 0u);
  return run;
}

TEST(SchedulingExecutor, SameSeedGivesTheSameWriterEventsAndTraceHash) {
  const testing::TracedSeed seed(15);
  const ProtocolRun first = run_world(seed.value());
  const ProtocolRun second = run_world(seed.value());
  ASSERT_TRUE(first.status.ok());
  EXPECT_EQ(first.events, second.events);
  EXPECT_EQ(first.log, second.log);
  EXPECT_EQ(first.sets, second.sets);
  EXPECT_EQ(first.trace_hash, second.trace_hash);
  // Every set completed, and its calls were scheduled steps among the applications' writes.
  EXPECT_EQ(first.sets.size(), static_cast<std::size_t>(kRequestors * kSetsPerRequestor));
  EXPECT_EQ(std::count(first.events.begin(), first.events.end(), "db:freeze"),
            kRequestors * kSetsPerRequestor);
  EXPECT_EQ(std::count(first.events.begin(), first.events.end(), "app:thaw"),
            kRequestors * kSetsPerRequestor);
  EXPECT_GT(first.event_steps, 20u * kRequestors * kSetsPerRequestor);
  EXPECT_EQ(first.write_steps, 2 * kAppWrites);
}

TEST(SchedulingExecutor, DifferentSeedsInterleaveEventsDifferently) {
  std::vector<std::uint64_t> hashes;
  std::vector<std::vector<std::string>> event_orders;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const ProtocolRun run = run_world(seed);
    ASSERT_TRUE(run.status.ok()) << "seed " << seed;
    EXPECT_EQ(std::find(hashes.begin(), hashes.end(), run.trace_hash), hashes.end())
        << "seed " << seed << " repeats an earlier seed's trace hash";
    hashes.push_back(run.trace_hash);
    if (std::find(event_orders.begin(), event_orders.end(), run.events) == event_orders.end())
      event_orders.push_back(run.events);
  }
  // A requestor that finds the other's set in creation retries, and its metadata gathering
  // lands at a seed-dependent point of the other's set: the writers see different orders.
  EXPECT_GT(event_orders.size(), 1u);
}

TEST(SchedulingExecutor, OutsideTasksRunsCallsInSubmissionOrder) {
  auto created = Scheduler::create({.seed = 1});
  ASSERT_TRUE(created.ok());
  SchedulingExecutor executor(*created.value());
  std::vector<int> ran;
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(executor.submit([&ran, i] { ran.push_back(i); }).ok());
  EXPECT_TRUE(ran.empty());
  executor.run_queued();
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(executor.calls_run(), 4u);
  EXPECT_EQ(created.value()->steps(), 0u);
}

TEST(SchedulingExecutor, EachTaskRunsItsOwnCallsAsSteps) {
  auto created = Scheduler::create({.seed = 3});
  ASSERT_TRUE(created.ok());
  Scheduler& tasks = *created.value();
  SchedulingExecutor executor(tasks);
  std::vector<std::string> ran;
  for (int task = 0; task < 2; ++task) {
    ASSERT_TRUE(
        tasks
            .spawn("task-" + std::to_string(task),
                   [&, task]() -> Status {
                     for (int call = 0; call < 3; ++call) {
                       const std::string name = std::to_string(task) + "." + std::to_string(call);
                       FF_ASSIGN_OR_RETURN(
                           std::uint64_t ticket, executor.submit([&ran, &tasks, name, task] {
                             // The call runs on its submitter's task.
                             EXPECT_EQ(tasks.current_task(), std::optional<sim::TaskId>(task));
                             ran.push_back(name);
                           }));
                       EXPECT_GT(ticket, 0u);
                       executor.run_queued();
                       // run_queued() returned: this task's call has run.
                       if (ran.empty() || ran.back() != name)
                         return bad_state("call " + name + " did not run in run_queued()");
                     }
                     return Status();
                   })
            .ok());
  }
  ASSERT_TRUE(tasks.run().ok());
  EXPECT_EQ(ran.size(), 6u);
  EXPECT_EQ(executor.calls_run(), 6u);
  std::size_t event_steps = 0;
  for (const sim::TraceStep& step : tasks.trace())
    event_steps += step.kind == StepKind::kEvent ? 1 : 0;
  EXPECT_EQ(event_steps, 6u);
}

}  // namespace
}  // namespace freezeframe

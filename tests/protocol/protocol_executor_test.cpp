// Where the protocol's calls run: a bounded thread pool, where a writer that never returns
// holds one thread and is reported, and a deterministic executor on which a whole session
// replays the same events at the same simulated times.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "freezeframe/executor.h"
#include "protocol_rig.h"

namespace freezeframe {
namespace {

using sim::ScriptedAction;
using std::chrono::seconds;
using testing::make_protocol_rig;
using testing::run_sequence_past;

TEST(DeterministicExecutor, RunsQueuedTasksInSubmissionOrderOnTheCallersThread) {
  DeterministicExecutor executor;
  std::vector<int> ran;
  const std::thread::id caller = std::this_thread::get_id();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(executor
                    .submit([&, i] {
                      EXPECT_EQ(std::this_thread::get_id(), caller);
                      ran.push_back(i);
                    })
                    .ok());
  }
  EXPECT_TRUE(ran.empty());  // nothing runs before run_queued()
  executor.run_queued();
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(executor.tasks_run(), 4u);
}

TEST(DeterministicExecutor, SeededOrderIsAFunctionOfTheSeed) {
  auto order_for = [](std::uint64_t seed) {
    Random random(seed);
    DeterministicExecutor executor(&random);
    std::vector<int> ran;
    for (int i = 0; i < 8; ++i)
      EXPECT_TRUE(executor.submit([&ran, i] { ran.push_back(i); }).ok());
    executor.run_queued();
    return ran;
  };
  const std::vector<int> first = order_for(11);
  EXPECT_EQ(order_for(11), first);
  EXPECT_EQ(first.size(), 8u);
  EXPECT_NE(first, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));  // seed 11 shuffles
}

TEST(ThreadPoolExecutor, AddsAThreadPerAbandonedTaskAndRefusesPastTheCap) {
  auto pool = ThreadPoolExecutor::create({.threads = 1, .threads_max = 2});
  EXPECT_EQ(pool->threads(), 1u);
  std::mutex mutex;
  std::condition_variable changed;
  bool open = false;
  int started = 0;
  auto blocker = [&] {
    std::unique_lock lock(mutex);
    ++started;
    changed.notify_all();
    changed.wait(lock, [&] { return open; });
  };
  auto wait_started = [&](int count) {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return started == count; });
  };
  auto first = pool->submit(blocker);
  ASSERT_TRUE(first.ok());
  wait_started(1);
  // A second task waits for the only thread: a busy thread is no reason for another.
  auto second = pool->submit(blocker);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(pool->threads(), 1u);
  // Giving up on the first starts one thread to stand in for it, which takes the second.
  pool->abandon(*first);
  wait_started(2);
  EXPECT_EQ(pool->threads(), 2u);
  EXPECT_EQ(pool->busy(), 2u);
  EXPECT_EQ(pool->abandoned(), 1u);
  // At the cap, with every thread holding an abandoned task, submit refuses.
  pool->abandon(*second);
  EXPECT_EQ(pool->threads(), 2u);
  auto refused = pool->submit([] {});
  EXPECT_EQ(refused.status().code(), ErrorCode::kLimitExceeded);
  EXPECT_NE(refused.status().message().find("all 2 threads (the maximum) hold calls that never "
                                            "returned"),
            std::string::npos)
      << refused.status().message();
  {
    std::lock_guard lock(mutex);
    open = true;
    changed.notify_all();
  }
  // The abandoned tasks returned: their threads take new tasks, and none is added.
  std::promise<void> done;
  // (Wait until both have left the pool's books; real time bounds only a broken pool.)
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (pool->abandoned() != 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::yield();
  ASSERT_EQ(pool->abandoned(), 0u);
  ASSERT_TRUE(pool->submit([&] { done.set_value(); }).ok());
  done.get_future().wait();
  EXPECT_EQ(pool->threads(), 2u);
  EXPECT_EQ(pool->abandoned(), 0u);
}

// One session with two writers and two providers over two volumes, on a deterministic
// executor: the event log as JSON lines, in order.
std::vector<std::string> deterministic_session_log(std::uint64_t seed) {
  Random order(seed);
  DeterministicExecutor executor(&order);
  auto rig = make_protocol_rig(
      {.volume_count = 2, .provider_count = 2, .seed = seed, .executor = &executor});
  rig->add_writer({.name = "db",
                   .level = ApplicationLevel::kBackEnd,
                   .actions = {{WriterEvent::kPrepareSnapshot,
                                ScriptedAction::stall_for(std::chrono::milliseconds(1500))}}});
  rig->add_writer(
      {.name = "app",
       .actions = {{WriterEvent::kFreeze, ScriptedAction::stall_for(std::chrono::seconds(2))}}});
  {
    auto session = rig->coordinator->take_snapshot_set(rig->volume_names());
    EXPECT_TRUE(session.ok()) << session.status().to_string();
    if (session.ok()) {
      EXPECT_TRUE((*session)->backup_complete().ok());
    }
  }
  EXPECT_GT(executor.tasks_run(), 20u);
  std::vector<std::string> lines;
  std::istringstream in(rig->sink->json_lines());
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

TEST(ProtocolExecutor, SessionOnADeterministicExecutorReplaysTheSameEvents) {
  const std::vector<std::string> first = deterministic_session_log(42);
  const std::vector<std::string> second = deterministic_session_log(42);
  EXPECT_EQ(first, second);  // every field of every event: ids, times, durations, order
  // And it is the whole VSS sequence, for both writers and both providers.
  std::vector<std::string> steps;
  for (const std::string& line : first) {
    const auto json = nlohmann::json::parse(line);
    steps.push_back(json["phase"].get<std::string>() + ":" + json["name"].get<std::string>());
  }
  const std::vector<std::string> expected = {"identify:db",
                                             "identify:app",
                                             "prepare-backup:db",
                                             "prepare-backup:app",
                                             "begin-prepare:block-cow",
                                             "begin-prepare:block-cow-2",
                                             "prepare-snapshot:db",
                                             "prepare-snapshot:app",
                                             "end-prepare:block-cow",
                                             "end-prepare:block-cow-2",
                                             "freeze:app",
                                             "freeze:db",
                                             "pre-commit:block-cow",
                                             "pre-commit:block-cow-2",
                                             "hold-io:vol0",
                                             "hold-io:vol1",
                                             "commit:block-cow",
                                             "commit:block-cow-2",
                                             "release-io:vol0",
                                             "release-io:vol1",
                                             "post-commit:block-cow",
                                             "post-commit:block-cow-2",
                                             "thaw:app",
                                             "thaw:db",
                                             "post-snapshot:db",
                                             "post-snapshot:app",
                                             "snapshot-set:",
                                             "backup-complete:db",
                                             "backup-complete:app",
                                             "delete-snapshot:block-cow",
                                             "delete-snapshot:block-cow-2",
                                             "backup-shutdown:db",
                                             "backup-shutdown:app"};
  EXPECT_EQ(steps, expected);
  // The stalls show in simulated time: app's freeze took 2 s.
  bool saw_freeze = false;
  for (const std::string& line : first) {
    const auto json = nlohmann::json::parse(line);
    if (json["phase"] == "freeze" && json["name"] == "app") {
      saw_freeze = true;
      EXPECT_EQ(json["duration_ns"].get<std::int64_t>(), 2'000'000'000);
    }
  }
  EXPECT_TRUE(saw_freeze);
}

TEST(ProtocolExecutor, WriterThatNeverReturnsHoldsOneThreadAndIsReported) {
  auto rig = make_protocol_rig({.volume_count = 1, .threads = {.threads = 1, .threads_max = 4}});
  auto& stuck = rig->add_stuck_writer("stuck", WriterEvent::kFreeze);
  Uuid stuck_set;
  {
    auto session = rig->coordinator->create_session();
    // The freeze window passes on the simulated clock.
    Status status = run_sequence_past(*rig, *session, "stuck:freeze", seconds(61));
    EXPECT_EQ(status.code(), ErrorCode::kTimeout);
    stuck_set = session->snapshot_set_id();
  }
  // Reported: the call is still running, named with its writer, phase and set.
  auto stalled = rig->coordinator->stalled_calls();
  ASSERT_EQ(stalled.size(), 1u);
  EXPECT_EQ(stalled[0].participant, Participant::kWriter);
  EXPECT_EQ(stalled[0].name, "stuck");
  EXPECT_EQ(stalled[0].phase, ProtocolPhase::kFreeze);
  EXPECT_EQ(stalled[0].set_id, stuck_set);
  // One thread for the stuck call, one for everything else.
  EXPECT_EQ(rig->pool->threads(), 2u);
  // Later sets, with many calls each, need no further thread.
  ASSERT_TRUE(rig->coordinator->unregister_writer(stuck).ok());
  rig->add_writer({.name = "app"});
  for (int i = 0; i < 3; ++i) {
    auto session = rig->coordinator->take_snapshot_set(rig->volume_names());
    ASSERT_TRUE(session.ok()) << session.status().to_string();
    ASSERT_TRUE((*session)->backup_complete().ok());
  }
  EXPECT_EQ(rig->pool->threads(), 2u);
  EXPECT_EQ(rig->coordinator->stalled_calls().size(), 1u);
  stuck.release(WriterEvent::kFreeze);  // the rig's pool joins it
}

TEST(ProtocolExecutor, NoThreadLeftFailsTheCallWithLimitExceeded) {
  auto rig = make_protocol_rig({.volume_count = 1, .threads = {.threads = 1, .threads_max = 1}});
  auto& stuck = rig->add_stuck_writer("stuck", WriterEvent::kFreeze);
  {
    auto session = rig->coordinator->create_session();
    Status status = run_sequence_past(*rig, *session, "stuck:freeze", seconds(61));
    EXPECT_EQ(status.code(), ErrorCode::kTimeout);
    // The cleanup could not run either, and says so.
    EXPECT_NE(status.message().find("cleanup failed: provider 'block-cow' abort: "
                                    "limit-exceeded"),
              std::string::npos)
        << status.message();
  }
  ASSERT_TRUE(rig->coordinator->unregister_writer(stuck).ok());
  rig->add_writer({.name = "app"});
  auto session = rig->coordinator->create_session();
  auto metadata = session->gather_writer_metadata();
  EXPECT_EQ(metadata.status().code(), ErrorCode::kLimitExceeded);
  EXPECT_NE(metadata.status().message().find("failed at identify: no thread to run it"),
            std::string::npos)
      << metadata.status().message();
  EXPECT_EQ(session->failure()->phase, ProtocolPhase::kIdentify);
  stuck.release(WriterEvent::kFreeze);
}

}  // namespace
}  // namespace freezeframe

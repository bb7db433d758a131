// ScriptedWriter: the test double for writers that fail, stall or hang at a chosen event.
#include "freezeframe/sim/scripted_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "freezeframe/sim/event_trace.h"
#include "freezeframe/sim/sim_clock.h"

namespace freezeframe::sim {
namespace {

using std::chrono::seconds;

WriterSessionInfo session_with_set(const Uuid& set_id) {
  WriterSessionInfo session;
  session.snapshot_set_id = set_id;
  return session;
}

TEST(ScriptedWriter, SucceedsByDefaultAndRecordsEventsInOrder) {
  ScriptedWriter writer;
  const Uuid set_id = Uuid::from_name("set-1");
  const WriterSessionInfo session = session_with_set(set_id);

  auto metadata = writer.identify();
  ASSERT_TRUE(metadata.ok()) << metadata.status().to_string();
  EXPECT_EQ(metadata->name, "scripted-writer");
  EXPECT_TRUE(writer.prepare_backup(session).ok());
  EXPECT_TRUE(writer.prepare_snapshot(session).ok());
  EXPECT_TRUE(writer.freeze(session).ok());
  EXPECT_TRUE(writer.thaw(session).ok());
  EXPECT_TRUE(writer.post_snapshot(session).ok());
  EXPECT_TRUE(writer.backup_complete(session).ok());
  writer.backup_shutdown(set_id);

  const std::vector<WriterEvent> expected = {
      WriterEvent::kIdentify,       WriterEvent::kPrepareBackup, WriterEvent::kPrepareSnapshot,
      WriterEvent::kFreeze,         WriterEvent::kThaw,          WriterEvent::kPostSnapshot,
      WriterEvent::kBackupComplete, WriterEvent::kBackupShutdown};
  EXPECT_EQ(writer.events(), expected);
  const auto trace = writer.trace();
  ASSERT_EQ(trace.size(), expected.size());
  EXPECT_TRUE(trace[0].snapshot_set_id.is_nil());  // identify precedes the set
  for (std::size_t i = 1; i < trace.size(); ++i)
    EXPECT_EQ(trace[i].snapshot_set_id, set_id) << "entry " << i;

  writer.clear_trace();
  EXPECT_TRUE(writer.events().empty());
}

TEST(ScriptedWriter, FailsWithTheScriptedKindAndMessage) {
  WriterMetadata metadata;
  metadata.name = "mail";
  ScriptedWriter writer({.metadata = metadata, .freeze_timeout = seconds(20)});
  writer.set_action(WriterEvent::kFreeze,
                    ScriptedAction::fail(WriterFailure::kRetryable, "store busy"));
  writer.set_action(WriterEvent::kIdentify,
                    ScriptedAction::fail(WriterFailure::kNonRetryable, "no metadata"));

  const WriterResult frozen = writer.freeze({});
  EXPECT_FALSE(frozen.ok());
  EXPECT_EQ(frozen.failure, WriterFailure::kRetryable);
  EXPECT_EQ(frozen.message, "mail: store busy");
  EXPECT_TRUE(writer.thaw({}).ok());  // only the scripted event fails

  auto identified = writer.identify();
  ASSERT_FALSE(identified.ok());
  EXPECT_EQ(identified.status().code(), ErrorCode::kAborted);
  EXPECT_NE(identified.status().message().find("no metadata"), std::string::npos);
  EXPECT_EQ(writer.freeze_timeout(), seconds(20));

  writer.set_action(WriterEvent::kFreeze, ScriptedAction::succeed());
  EXPECT_TRUE(writer.freeze({}).ok());
  EXPECT_EQ(writer.entered(WriterEvent::kFreeze), 2u);
}

TEST(ScriptedWriter, StallAdvancesTheSimClockInsideTheHandler) {
  SimClock clock;
  ScriptedWriter writer({.clock = &clock});
  writer.set_action(WriterEvent::kFreeze, ScriptedAction::stall_for(seconds(61)));

  // A coordinator's 60 s freeze deadline fires while the writer is still inside freeze().
  std::size_t freezes_seen_by_deadline = 0;
  Nanoseconds fired_at{-1};
  clock.schedule_after(seconds(60), [&] {
    freezes_seen_by_deadline = writer.entered(WriterEvent::kFreeze);
    fired_at = clock.now();
  });
  const WriterResult result = writer.freeze({});
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(freezes_seen_by_deadline, 1u);
  EXPECT_EQ(fired_at, seconds(60));
  EXPECT_EQ(clock.now(), seconds(61));

  // A stall followed by a failure: both apply.
  writer.set_action(
      WriterEvent::kThaw,
      {.stall = seconds(5), .failure = WriterFailure::kTimeout, .message = "slow thaw"});
  EXPECT_EQ(writer.thaw({}).failure, WriterFailure::kTimeout);
  EXPECT_EQ(clock.now(), seconds(66));
}

TEST(ScriptedWriter, BlockedEventWaitsUntilReleased) {
  ScriptedWriter writer;
  writer.set_action(WriterEvent::kFreeze,
                    {.block = true, .failure = WriterFailure::kOutOfResources, .message = "oom"});
  std::atomic<bool> returned{false};
  WriterResult result;
  std::thread coordinator([&] {
    result = writer.freeze({});
    returned = true;
  });
  writer.wait_until_blocked(1);
  EXPECT_EQ(writer.blocked(), 1u);
  EXPECT_FALSE(returned.load());
  EXPECT_EQ(writer.entered(WriterEvent::kFreeze), 1u);
  writer.release(WriterEvent::kFreeze);
  coordinator.join();
  EXPECT_TRUE(returned.load());
  EXPECT_EQ(result.failure, WriterFailure::kOutOfResources);
  EXPECT_EQ(writer.blocked(), 0u);

  // Released stays released until the action is set again.
  EXPECT_EQ(writer.freeze({}).failure, WriterFailure::kOutOfResources);
}

TEST(ScriptedWriter, AbortReleasesABlockedFreeze) {
  ScriptedWriter writer;
  writer.set_action(WriterEvent::kFreeze, ScriptedAction::block_until_released());
  WriterResult result = WriterResult::fail(WriterFailure::kNotResponding, "never returned");
  std::thread coordinator([&] { result = writer.freeze({}); });
  writer.wait_until_blocked(1);
  writer.abort({});  // the coordinator gives up on the stalled freeze from another thread
  coordinator.join();
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(writer.events(), (std::vector<WriterEvent>{WriterEvent::kFreeze, WriterEvent::kAbort}));
}

TEST(ScriptedWriter, AbortDoesNotReleaseWhenToldNotTo) {
  ScriptedWriter writer({.abort_releases = false});
  writer.set_action(WriterEvent::kPrepareSnapshot, ScriptedAction::block_until_released());
  std::atomic<bool> returned{false};
  std::thread coordinator([&] {
    EXPECT_TRUE(writer.prepare_snapshot({}).ok());
    returned = true;
  });
  writer.wait_until_blocked(1);
  writer.abort({});
  EXPECT_EQ(writer.entered(WriterEvent::kAbort), 1u);
  EXPECT_FALSE(returned.load());
  EXPECT_EQ(writer.blocked(), 1u);
  writer.release_all();
  coordinator.join();
  EXPECT_TRUE(returned.load());
}

TEST(ScriptedWriter, TraceIsCompleteUnderConcurrentEvents) {
  ScriptedWriter writer;
  constexpr int kThreads = 4;
  constexpr int kEventsPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&writer, t] {
      for (int i = 0; i < kEventsPerThread; ++i) {
        if (t % 2 == 0)
          EXPECT_TRUE(writer.freeze({}).ok());
        else
          EXPECT_TRUE(writer.thaw({}).ok());
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(writer.trace().size(), std::size_t{kThreads * kEventsPerThread});
  EXPECT_EQ(writer.entered(WriterEvent::kFreeze), std::size_t{kThreads / 2 * kEventsPerThread});
  EXPECT_EQ(writer.entered(WriterEvent::kThaw), std::size_t{kThreads / 2 * kEventsPerThread});
}

TEST(ScriptedWriter, RecordsIntoASharedTraceAndRunsCallbacksInsideEvents) {
  SimClock clock;
  EventTrace shared;
  ScriptedWriter writer(
      {.metadata = scripted_writer_metadata("db", ApplicationLevel::kBackEnd, {"vol0", "vol1"}),
       .clock = &clock,
       .trace = &shared});
  // The callback runs after the stall and before the failure, on the handler's thread.
  Nanoseconds seen_at{-1};
  writer.set_action(WriterEvent::kPrepareSnapshot, {.stall = seconds(3),
                                                    .run =
                                                        [&] {
                                                          seen_at = clock.now();
                                                          shared.add("requestor:abort");
                                                        },
                                                    .failure = WriterFailure::kRetryable,
                                                    .message = "busy"});
  auto metadata = writer.identify();
  ASSERT_TRUE(metadata.ok());
  EXPECT_EQ(metadata->name, "db");
  EXPECT_EQ(metadata->class_id, Uuid::from_name("class/db"));
  EXPECT_EQ(metadata->instance_id, Uuid::from_name("instance/db"));
  EXPECT_EQ(metadata->level, ApplicationLevel::kBackEnd);
  ASSERT_EQ(metadata->components.size(), 1u);
  EXPECT_EQ(metadata->components[0].name, "db-data");
  EXPECT_EQ(metadata->components[0].volumes, (std::vector<std::string>{"vol0", "vol1"}));

  EXPECT_EQ(writer.prepare_snapshot({}).failure, WriterFailure::kRetryable);
  EXPECT_EQ(seen_at, seconds(3));
  writer.backup_shutdown(Uuid());
  EXPECT_EQ(shared.entries(), (std::vector<std::string>{"db:identify", "db:prepare-snapshot",
                                                        "requestor:abort", "db:backup-shutdown"}));

  bool ran = false;
  writer.set_action(WriterEvent::kAbort, ScriptedAction::run_inside([&] { ran = true; }));
  writer.abort({});
  EXPECT_TRUE(ran);
  EXPECT_EQ(writer.aborts(), 1u);
}

TEST(ScriptedWriter, IsFrozenFromFreezeUntilThawOrAbort) {
  ScriptedWriter writer;
  EXPECT_FALSE(writer.frozen());
  EXPECT_TRUE(writer.freeze({}).ok());
  EXPECT_TRUE(writer.frozen());
  EXPECT_TRUE(writer.thaw({}).ok());
  EXPECT_FALSE(writer.frozen());
  // A failed freeze may still have stopped writes: frozen until aborted.
  writer.set_action(WriterEvent::kFreeze,
                    ScriptedAction::fail(WriterFailure::kRetryable, "half frozen"));
  EXPECT_FALSE(writer.freeze({}).ok());
  EXPECT_TRUE(writer.frozen());
  writer.abort({});
  EXPECT_FALSE(writer.frozen());
}

// EventTrace counts and finds entries, and a wait for an entry that never comes returns false
// once its bound passes instead of hanging the test.
TEST(EventTrace, CountsFindsAndWaitsWithABound) {
  EventTrace trace;
  trace.add("app:freeze");
  trace.add("app:freeze");
  EXPECT_EQ(trace.count("app:freeze"), 2u);
  EXPECT_TRUE(trace.contains("app:freeze"));
  EXPECT_FALSE(trace.contains("app:thaw"));
  EXPECT_TRUE(trace.wait_for("app:freeze", std::chrono::milliseconds(0)));
  EXPECT_FALSE(trace.wait_for("app:thaw", std::chrono::milliseconds(1)));
}

}  // namespace
}  // namespace freezeframe::sim

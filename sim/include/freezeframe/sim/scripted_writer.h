// ScriptedWriter: a Writer whose every event does what a test tells it to — succeed, fail,
// stall for simulated time, block until released, or run a callback — and that records the
// events it receives.
//
// Each WriterEvent has a ScriptedAction (succeed by default). The action runs in four
// stages: first a stall (advance the given SimClock by `stall`, which fires the
// coordinator's deadline timers inside the handler exactly as a slow writer would), then a
// block (wait until release(event), release_all() or, if `abort_releases`, abort()), then
// `run` (a callback on the handler's thread, e.g. a requestor's abort arriving mid-event),
// then the outcome (success, or `failure` with `message`). identify() turns a failure into a
// Status with code kAborted; abort() and backup_shutdown() cannot fail, so for them only
// stall, block and run apply.
//
// The trace records each event as it is entered, in order, with the snapshot set id it was
// given; entered(event) counts them, and wait_until_entered() lets a test wait (without
// sleeping) until another thread's call has reached the handler, e.g. a blocked freeze. If
// the options name a shared EventTrace, each event is also added to it as
// "<writer name>:<event name>" ("app:freeze"), interleaved with other participants.
//
// frozen() tells whether the writer is frozen: from the end of freeze() (even a failed
// freeze may have stopped writes, so thaw or abort must follow) to the start of thaw() or
// the end of abort(). A freeze that an abort overtook (the abort began while the freeze
// ran) leaves the writer thawed.
//
// Thread-safety: every method may be called from any thread; events may run concurrently
// (a blocked freeze and the abort that gives up on it).
//
// Lifetime: the SimClock and the EventTrace, if any, must outlive the writer. Destroying the
// writer while an event is blocked is a bug (release first).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "freezeframe/sim/event_trace.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/writer.h"

namespace freezeframe::sim {

struct ScriptedAction {
  // Simulated time spent in the handler before anything else; needs a SimClock.
  Nanoseconds stall{0};
  // Wait until released before the outcome.
  bool block = false;
  // Runs after the stall and the block, before the outcome, on the handler's thread.
  std::function<void()> run{};
  // kNone: succeed.
  WriterFailure failure = WriterFailure::kNone;
  std::string message{};

  static ScriptedAction succeed() { return {}; }
  static ScriptedAction fail(WriterFailure kind, std::string why) {
    return {.failure = kind, .message = std::move(why)};
  }
  static ScriptedAction stall_for(Nanoseconds duration) { return {.stall = duration}; }
  static ScriptedAction block_until_released() { return {.block = true}; }
  static ScriptedAction run_inside(std::function<void()> callback) {
    return {.run = std::move(callback)};
  }
};

struct ScriptedWriterOptions {
  // identify() returns this metadata (its name defaults to "scripted-writer").
  WriterMetadata metadata{};
  // Advanced by stalls; may be null if no action stalls.
  SimClock* clock = nullptr;
  Nanoseconds freeze_timeout = std::chrono::seconds(60);
  // abort() releases events blocked in other threads (a coordinator giving up on a stalled
  // freeze must not stay stuck behind it).
  bool abort_releases = true;
  // Also records each event here, as "<metadata.name>:<event name>"; may be null.
  EventTrace* trace = nullptr;
};

// Metadata for a scripted writer named `name`: class and instance ids derived from the
// name, and one component, "<name>-data", on `volumes`.
WriterMetadata scripted_writer_metadata(const std::string& name,
                                        ApplicationLevel level = ApplicationLevel::kFrontEnd,
                                        std::vector<std::string> volumes = {});

struct ScriptedTraceEntry {
  WriterEvent event{};
  Uuid snapshot_set_id{};
};

class ScriptedWriter final : public Writer {
 public:
  explicit ScriptedWriter(ScriptedWriterOptions options = {});
  ~ScriptedWriter() override;

  void set_action(WriterEvent event, ScriptedAction action);
  // Releases events blocked on `event` now, and lets later ones through. A later
  // set_action() for the event arms the block again.
  void release(WriterEvent event);
  void release_all();

  std::vector<ScriptedTraceEntry> trace() const;
  // Just the events of trace(), in order.
  std::vector<WriterEvent> events() const;
  std::size_t entered(WriterEvent event) const;
  // entered(WriterEvent::kAbort).
  std::size_t aborts() const { return entered(WriterEvent::kAbort); }
  // See the file comment.
  bool frozen() const;
  // Blocks until `event` has been entered at least `count` times.
  void wait_until_entered(WriterEvent event, std::size_t count = 1) const;
  // Blocks until at least `count` events are blocked at once.
  void wait_until_blocked(std::size_t count = 1) const;
  // Events blocked right now.
  std::size_t blocked() const;
  void clear_trace();

  Result<WriterMetadata> identify() override;
  WriterResult prepare_backup(const WriterSessionInfo& session) override;
  WriterResult prepare_snapshot(const WriterSessionInfo& session) override;
  WriterResult freeze(const WriterSessionInfo& session) override;
  WriterResult thaw(const WriterSessionInfo& session) override;
  WriterResult post_snapshot(const WriterSessionInfo& session) override;
  void abort(const WriterSessionInfo& session) override;
  WriterResult backup_complete(const WriterSessionInfo& session) override;
  void backup_shutdown(const Uuid& snapshot_set_id) override;
  WriterResult pre_restore(const WriterSessionInfo& session) override;
  WriterResult post_restore(const WriterSessionInfo& session) override;
  Nanoseconds freeze_timeout() const override { return options_.freeze_timeout; }

 private:
  WriterResult handle(WriterEvent event, const Uuid& snapshot_set_id);

  ScriptedWriterOptions options_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::map<WriterEvent, ScriptedAction> actions_;
  std::map<WriterEvent, bool> released_;
  std::vector<ScriptedTraceEntry> trace_;
  std::size_t blocked_ = 0;
  bool frozen_ = false;
};

}  // namespace freezeframe::sim

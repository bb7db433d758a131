#include "freezeframe/sim/scripted_writer.h"

#include <algorithm>

#include "freezeframe/assert.h"

namespace freezeframe::sim {

WriterMetadata scripted_writer_metadata(const std::string& name, ApplicationLevel level,
                                        std::vector<std::string> volumes) {
  WriterMetadata metadata;
  metadata.name = name;
  metadata.class_id = Uuid::from_name("class/" + name);
  metadata.instance_id = Uuid::from_name("instance/" + name);
  metadata.level = level;
  WriterComponent component;
  component.name = name + "-data";
  component.volumes = std::move(volumes);
  metadata.components.push_back(std::move(component));
  return metadata;
}

ScriptedWriter::ScriptedWriter(ScriptedWriterOptions options) : options_(std::move(options)) {
  if (options_.metadata.name.empty())
    options_.metadata.name = "scripted-writer";
}

ScriptedWriter::~ScriptedWriter() {
  std::lock_guard lock(mutex_);
  FF_ASSERT_MSG(blocked_ == 0, "ScriptedWriter destroyed while an event is blocked");
}

void ScriptedWriter::set_action(WriterEvent event, ScriptedAction action) {
  std::lock_guard lock(mutex_);
  actions_[event] = std::move(action);
  released_[event] = false;
}

void ScriptedWriter::release(WriterEvent event) {
  std::lock_guard lock(mutex_);
  released_[event] = true;
  changed_.notify_all();
}

void ScriptedWriter::release_all() {
  std::lock_guard lock(mutex_);
  for (auto& [event, action] : actions_)
    released_[event] = true;
  changed_.notify_all();
}

std::vector<ScriptedTraceEntry> ScriptedWriter::trace() const {
  std::lock_guard lock(mutex_);
  return trace_;
}

std::vector<WriterEvent> ScriptedWriter::events() const {
  std::lock_guard lock(mutex_);
  std::vector<WriterEvent> events;
  for (const ScriptedTraceEntry& entry : trace_)
    events.push_back(entry.event);
  return events;
}

std::size_t ScriptedWriter::entered(WriterEvent event) const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(
      std::count_if(trace_.begin(), trace_.end(),
                    [&](const ScriptedTraceEntry& entry) { return entry.event == event; }));
}

bool ScriptedWriter::frozen() const {
  std::lock_guard lock(mutex_);
  return frozen_;
}

void ScriptedWriter::wait_until_entered(WriterEvent event, std::size_t count) const {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] {
    return static_cast<std::size_t>(std::count_if(
               trace_.begin(), trace_.end(),
               [&](const ScriptedTraceEntry& entry) { return entry.event == event; })) >= count;
  });
}

void ScriptedWriter::wait_until_blocked(std::size_t count) const {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return blocked_ >= count; });
}

std::size_t ScriptedWriter::blocked() const {
  std::lock_guard lock(mutex_);
  return blocked_;
}

void ScriptedWriter::clear_trace() {
  std::lock_guard lock(mutex_);
  trace_.clear();
}

WriterResult ScriptedWriter::handle(WriterEvent event, const Uuid& snapshot_set_id) {
  ScriptedAction action;
  {
    std::lock_guard lock(mutex_);
    trace_.push_back({event, snapshot_set_id});
    if (options_.trace != nullptr)
      options_.trace->add(options_.metadata.name + ":" + std::string(writer_event_name(event)));
    if (auto found = actions_.find(event); found != actions_.end())
      action = found->second;
    changed_.notify_all();
  }
  if (action.stall > Nanoseconds(0)) {
    FF_ASSERT_MSG(options_.clock != nullptr, "a stalling ScriptedAction needs a SimClock");
    if (options_.clock != nullptr)
      options_.clock->advance(action.stall);
  }
  if (action.block) {
    std::unique_lock lock(mutex_);
    ++blocked_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_[event]; });
    --blocked_;
  }
  if (action.run)
    action.run();
  if (action.failure == WriterFailure::kNone)
    return WriterResult::success();
  return WriterResult::fail(action.failure, options_.metadata.name + ": " + action.message);
}

Result<WriterMetadata> ScriptedWriter::identify() {
  WriterResult result = handle(WriterEvent::kIdentify, Uuid());
  if (!result.ok())
    return Status(ErrorCode::kAborted, result.message);
  return options_.metadata;
}

WriterResult ScriptedWriter::prepare_backup(const WriterSessionInfo& session) {
  return handle(WriterEvent::kPrepareBackup, session.snapshot_set_id);
}

WriterResult ScriptedWriter::prepare_snapshot(const WriterSessionInfo& session) {
  return handle(WriterEvent::kPrepareSnapshot, session.snapshot_set_id);
}

WriterResult ScriptedWriter::freeze(const WriterSessionInfo& session) {
  auto aborts_so_far = [&] {
    return std::count_if(trace_.begin(), trace_.end(), [](const ScriptedTraceEntry& entry) {
      return entry.event == WriterEvent::kAbort;
    });
  };
  std::ptrdiff_t aborts_before = 0;
  {
    std::lock_guard lock(mutex_);
    aborts_before = aborts_so_far();
  }
  WriterResult result = handle(WriterEvent::kFreeze, session.snapshot_set_id);
  std::lock_guard lock(mutex_);
  // Even a failed freeze may have stopped writes: thaw or abort must follow. An abort that
  // arrived while this freeze ran has undone it (as a writer must handle an abort that
  // overtakes its own freeze).
  if (aborts_so_far() == aborts_before)
    frozen_ = true;
  return result;
}

WriterResult ScriptedWriter::thaw(const WriterSessionInfo& session) {
  {
    std::lock_guard lock(mutex_);
    frozen_ = false;
  }
  return handle(WriterEvent::kThaw, session.snapshot_set_id);
}

WriterResult ScriptedWriter::post_snapshot(const WriterSessionInfo& session) {
  return handle(WriterEvent::kPostSnapshot, session.snapshot_set_id);
}

void ScriptedWriter::abort(const WriterSessionInfo& session) {
  if (options_.abort_releases) {
    // Release the others first, so an abort scripted to block still frees a stuck freeze.
    std::lock_guard lock(mutex_);
    for (auto& [event, released] : released_) {
      if (event != WriterEvent::kAbort)
        released = true;
    }
    changed_.notify_all();
  }
  handle(WriterEvent::kAbort, session.snapshot_set_id);
  std::lock_guard lock(mutex_);
  frozen_ = false;
}

WriterResult ScriptedWriter::backup_complete(const WriterSessionInfo& session) {
  return handle(WriterEvent::kBackupComplete, session.snapshot_set_id);
}

void ScriptedWriter::backup_shutdown(const Uuid& snapshot_set_id) {
  handle(WriterEvent::kBackupShutdown, snapshot_set_id);
}

WriterResult ScriptedWriter::pre_restore(const WriterSessionInfo& session) {
  return handle(WriterEvent::kPreRestore, session.snapshot_set_id);
}

WriterResult ScriptedWriter::post_restore(const WriterSessionInfo& session) {
  return handle(WriterEvent::kPostRestore, session.snapshot_set_id);
}

}  // namespace freezeframe::sim

// What the C API's protocol translation units share (c_api_protocol.cpp: clocks, the
// coordinator, writers, the one-call set; c_api_session.cpp: the step-by-step session): the
// writer given as a C table, the log sink, and the holders behind ff_coordinator and
// ff_backup_session.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "c_api_internal.h"
#include "freezeframe/backup_session.h"
#include "freezeframe/coordinator.h"
#include "freezeframe/executor.h"
#include "freezeframe/holdable_volume.h"
#include "freezeframe/protocol_log.h"
#include "freezeframe/protocol_provider.h"
#include "freezeframe/writer.h"

namespace freezeframe::c_api {

// A writer whose events are the C table's functions.
class TableWriter final : public Writer {
 public:
  // `ops` is of version 1 or FF_WRITER_OPS_VERSION; a version-1 table has no fields past
  // user_data, so only that much of it is copied.
  TableWriter(const ff_writer_ops& ops, std::vector<std::string> volumes);

  const std::string& name() const { return name_; }

  Result<WriterMetadata> identify() override;
  WriterResult prepare_backup(const WriterSessionInfo& session) override;
  WriterResult prepare_snapshot(const WriterSessionInfo& session) override {
    return call(ops_.prepare_snapshot, session);
  }
  WriterResult freeze(const WriterSessionInfo& session) override {
    return call(ops_.freeze, session);
  }
  WriterResult thaw(const WriterSessionInfo& session) override { return call(ops_.thaw, session); }
  WriterResult post_snapshot(const WriterSessionInfo& session) override {
    return call(ops_.post_snapshot, session);
  }
  WriterResult backup_complete(const WriterSessionInfo& session) override {
    return call(ops_.backup_complete, session);
  }
  void abort(const WriterSessionInfo& session) override;
  Nanoseconds freeze_timeout() const override;

 private:
  WriterResult call(ff_writer_event event, const WriterSessionInfo& session);
  // The writer's result for the C value `failure` and the message the callback wrote.
  WriterResult result(int failure, const char* message) const;

  ff_writer_ops ops_{};
  std::string name_;
  std::vector<std::string> volumes_;
};

class CallbackSink final : public EventSink {
 public:
  CallbackSink(ff_protocol_log_callback callback, void* user_data)
      : callback_(callback), user_data_(user_data) {}
  void record(const ProtocolEvent& event) override;

 private:
  ff_protocol_log_callback callback_;
  void* user_data_;
  std::mutex mutex_;
};

// Everything a coordinator borrows, declared before it so that it goes first.
struct CoordinatorHolder {
  std::shared_ptr<Clock> clock;
  std::unique_ptr<Executor> executor;
  std::unique_ptr<CallbackSink> sink;
  std::vector<std::shared_ptr<ProviderHolder>> providers;
  std::map<int, std::unique_ptr<BlockSnapshotAdapter>> adapters;
  std::vector<std::unique_ptr<HoldableVolume>> volumes;
  std::vector<std::unique_ptr<TableWriter>> writers;
  std::mutex mutex;
  std::unique_ptr<Coordinator> coordinator;
};

// A session keeps its coordinator alive; the session goes first.
struct SessionHolder {
  std::shared_ptr<CoordinatorHolder> coordinator;
  std::unique_ptr<BackupSession> session;
};

}  // namespace freezeframe::c_api

struct ff_coordinator {
  std::shared_ptr<freezeframe::c_api::CoordinatorHolder> holder;
};

struct ff_backup_session {
  std::shared_ptr<freezeframe::c_api::SessionHolder> holder;
};

namespace freezeframe::c_api {

// The holder behind a handle: kInvalidArgument for NULL.
Result<CoordinatorHolder*> open_coordinator(ff_coordinator* handle);
Result<SessionHolder*> open_session(ff_backup_session* handle);

}  // namespace freezeframe::c_api

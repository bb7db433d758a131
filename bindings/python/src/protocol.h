// The protocol bindings' shared piece: writers written in Python (freezeframe.Writer) and the
// lookup that lets a coordinator register either those or the simulator's database.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "bindings.h"
#include "freezeframe/writer.h"

namespace freezeframe::python {

// freezeframe.Writer: the base a Python writer subclasses. Each protocol event calls the
// Python method of the same name (prepare_backup, prepare_snapshot, freeze, thaw,
// post_snapshot, abort, backup_complete, backup_shutdown, pre_restore, post_restore) with the
// GIL taken, on the coordinator's thread. Returning succeeds; raising freezeframe.WriterError
// fails the event with its kind; any other exception fails it as non-retryable. No exception
// reaches the engine. identify() calls a Python override if there is one (returning a
// WriterMetadata or a dict in the JSON schema of docs/protocol.md); by default the writer has
// one component on its volumes, as sim::scripted_writer_metadata() describes it. Defined in
// writer.cpp.
class PythonWriter : public Writer {
 public:
  PythonWriter(const std::string& name, std::vector<std::string> volumes, ApplicationLevel level,
               Nanoseconds freeze_timeout);

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
  Nanoseconds freeze_timeout() const override { return freeze_timeout_; }

  const std::string& name() const noexcept { return metadata_.name; }
  // What identify() returns unless Python overrides it.
  const WriterMetadata& default_metadata() const noexcept { return metadata_; }

 private:
  WriterResult call(const char* event, const py::object& argument);
  WriterResult call(const char* event, const WriterSessionInfo& session);

  WriterMetadata metadata_;
  Nanoseconds freeze_timeout_;
};

// Binds WriterFailure, ApplicationLevel, BackupType, WriterError, the metadata classes,
// WriterSessionInfo and Writer (writer.cpp).
void bind_writers(py::module_& m);

// The engine Writer behind a Python writer object (freezeframe.Writer or
// freezeframe.TransactionalApp); a TypeError otherwise. Defined in sim.cpp, which knows both.
Writer& writer_of(const py::handle& writer);

}  // namespace freezeframe::python

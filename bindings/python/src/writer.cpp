// Writers written in Python: freezeframe.Writer, WriterError and WriterSessionInfo.
#include <pybind11/chrono.h>
#include <pybind11/eval.h>
#include <pybind11/stl.h>

#include <string>
#include <utility>
#include <vector>

#include "bindings.h"
#include "freezeframe/sim/scripted_writer.h"
#include "protocol.h"

namespace freezeframe::python {

namespace {

// freezeframe.WriterError: what a Python writer raises to fail an event with a kind.
PyObject* writer_error_class = nullptr;  // kept for the life of the process

constexpr const char* kWriterErrorSource = R"(
class WriterError(Exception):
    """Raised by a Writer's event to fail it: `failure` is a WriterFailure (RETRYABLE,
    NON_RETRYABLE, TIMEOUT, ...), `message` says why."""

    def __init__(self, failure, message=""):
        super().__init__(failure, message)
        self.failure = failure
        self.message = message

    def __str__(self):
        return f"{self.failure.name.lower()}: {self.message}"
)";

WriterResult failure_from(py::error_already_set& error) {
  if (writer_error_class != nullptr && error.matches(writer_error_class)) {
    const py::object& value = error.value();
    try {
      return WriterResult::fail(value.attr("failure").cast<WriterFailure>(),
                                py::str(value.attr("message")).cast<std::string>());
    } catch (const py::error_already_set&) {
      return WriterResult::fail(
          WriterFailure::kNonRetryable,
          "WriterError without a WriterFailure: " + std::string(error.what()));
    } catch (const py::cast_error&) {
      return WriterResult::fail(
          WriterFailure::kNonRetryable,
          "WriterError without a WriterFailure: " + std::string(error.what()));
    }
  }
  return WriterResult::fail(WriterFailure::kNonRetryable, error.what());
}

}  // namespace

PythonWriter::PythonWriter(const std::string& name, std::vector<std::string> volumes,
                           ApplicationLevel level, Nanoseconds freeze_timeout)
    : metadata_(sim::scripted_writer_metadata(name, level, std::move(volumes))),
      freeze_timeout_(freeze_timeout) {}

Result<WriterMetadata> PythonWriter::identify() {
  return metadata_;
}

WriterResult PythonWriter::call(const char* event, const py::object& argument) {
  py::gil_scoped_acquire gil;
  try {
    py::function override = py::get_override(static_cast<const PythonWriter*>(this), event);
    if (!override)
      return {};
    override(argument);
    return {};
  } catch (py::error_already_set& error) {
    return failure_from(error);
  } catch (const std::exception& error) {
    return WriterResult::fail(WriterFailure::kNonRetryable, error.what());
  }
}

WriterResult PythonWriter::call(const char* event, const WriterSessionInfo& session) {
  py::gil_scoped_acquire gil;
  return call(event, py::cast(session));
}

WriterResult PythonWriter::prepare_backup(const WriterSessionInfo& session) {
  return call("prepare_backup", session);
}
WriterResult PythonWriter::prepare_snapshot(const WriterSessionInfo& session) {
  return call("prepare_snapshot", session);
}
WriterResult PythonWriter::freeze(const WriterSessionInfo& session) {
  return call("freeze", session);
}
WriterResult PythonWriter::thaw(const WriterSessionInfo& session) {
  return call("thaw", session);
}
WriterResult PythonWriter::post_snapshot(const WriterSessionInfo& session) {
  return call("post_snapshot", session);
}
void PythonWriter::abort(const WriterSessionInfo& session) {
  // Abort cannot fail: an exception the Python method raises is dropped.
  static_cast<void>(call("abort", session));
}
WriterResult PythonWriter::backup_complete(const WriterSessionInfo& session) {
  return call("backup_complete", session);
}
void PythonWriter::backup_shutdown(const Uuid& snapshot_set_id) {
  py::gil_scoped_acquire gil;
  // Cannot fail either.
  static_cast<void>(call("backup_shutdown", py::str(snapshot_set_id.to_string())));
}
WriterResult PythonWriter::pre_restore(const WriterSessionInfo& session) {
  return call("pre_restore", session);
}
WriterResult PythonWriter::post_restore(const WriterSessionInfo& session) {
  return call("post_restore", session);
}

void bind_writers(py::module_& m) {
  py::enum_<WriterFailure>(m, "WriterFailure")
      .value("NONE", WriterFailure::kNone)
      .value("RETRYABLE", WriterFailure::kRetryable)
      .value("NON_RETRYABLE", WriterFailure::kNonRetryable)
      .value("TIMEOUT", WriterFailure::kTimeout)
      .value("INCONSISTENT_SNAPSHOT", WriterFailure::kInconsistentSnapshot)
      .value("OUT_OF_RESOURCES", WriterFailure::kOutOfResources)
      .value("RECOVERY_FAILED", WriterFailure::kRecoveryFailed)
      .value("NOT_RESPONDING", WriterFailure::kNotResponding);
  py::enum_<ApplicationLevel>(m, "ApplicationLevel")
      .value("SYSTEM", ApplicationLevel::kSystem)
      .value("BACK_END", ApplicationLevel::kBackEnd)
      .value("FRONT_END", ApplicationLevel::kFrontEnd);
  py::enum_<BackupType>(m, "BackupType")
      .value("FULL", BackupType::kFull)
      .value("INCREMENTAL", BackupType::kIncremental)
      .value("DIFFERENTIAL", BackupType::kDifferential)
      .value("LOG", BackupType::kLog)
      .value("COPY", BackupType::kCopy)
      .value("OTHER", BackupType::kOther);

  py::dict scope;
  scope["__name__"] = "freezeframe";
  scope["__builtins__"] = py::module_::import("builtins");
  py::exec(kWriterErrorSource, scope);
  m.attr("WriterError") = scope["WriterError"];
  writer_error_class = scope["WriterError"].cast<py::object>().release().ptr();

  py::class_<WriterSessionInfo>(m, "WriterSessionInfo", "What a writer learns during an event.")
      .def_property_readonly(
          "snapshot_set_id",
          [](const WriterSessionInfo& s) { return s.snapshot_set_id.to_string(); })
      .def_property_readonly(
          "context",
          [](const WriterSessionInfo& s) { return std::string(snapshot_context_name(s.context)); })
      .def_readonly("backup_type", &WriterSessionInfo::backup_type)
      .def_readonly("volumes", &WriterSessionInfo::volumes)
      .def_readonly("backup_succeeded", &WriterSessionInfo::backup_succeeded);

  auto no_op = [](const PythonWriter&, const py::object&) {};
  py::class_<PythonWriter, std::shared_ptr<PythonWriter>>(m, "Writer", R"(Base of writers
written in Python. Override the events you need (prepare_backup, prepare_snapshot, freeze,
thaw, post_snapshot, abort, backup_complete, backup_shutdown, pre_restore, post_restore); each
receives a WriterSessionInfo (backup_shutdown: the set id). They run on the coordinator's
threads with the GIL held. Raise WriterError(WriterFailure.X, "why") to fail an event; any
other exception fails it as NON_RETRYABLE. Call super().__init__(name, ...) first.)")
      .def(py::init<std::string, std::vector<std::string>, ApplicationLevel, Nanoseconds>(),
           py::arg("name"), py::arg("volumes") = std::vector<std::string>{},
           py::arg("level") = ApplicationLevel::kFrontEnd,
           py::arg("freeze_timeout") = std::chrono::seconds(60))
      .def_property_readonly("name", &PythonWriter::name)
      .def_property_readonly("freeze_timeout", &PythonWriter::freeze_timeout)
      .def("prepare_backup", no_op, py::arg("session"))
      .def("prepare_snapshot", no_op, py::arg("session"))
      .def("freeze", no_op, py::arg("session"))
      .def("thaw", no_op, py::arg("session"))
      .def("post_snapshot", no_op, py::arg("session"))
      .def("abort", no_op, py::arg("session"))
      .def("backup_complete", no_op, py::arg("session"))
      .def("backup_shutdown", no_op, py::arg("snapshot_set_id"))
      .def("pre_restore", no_op, py::arg("session"))
      .def("post_restore", no_op, py::arg("session"));
}

}  // namespace freezeframe::python

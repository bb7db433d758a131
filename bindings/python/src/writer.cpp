// Writers written in Python: freezeframe.Writer, WriterError, WriterSessionInfo, and the
// metadata classes (WriterMetadata, WriterComponent, FileSpec) that Writer.identify() returns.
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

// Kept for the life of the process: freezeframe.WriterError, and the helper that turns what
// identify() returned into the JSON document of docs/protocol.md.
PyObject* writer_error_class = nullptr;
PyObject* metadata_document_function = nullptr;
PyObject* metadata_class = nullptr;

// WriterError, the metadata dataclasses and their conversions, in Python: they are plain
// Python objects (dataclasses compare, print and copy as Python users expect), and the
// engine's JSON parser validates what they hold, naming the field that is wrong.
constexpr const char* kWriterSource = R"(
import dataclasses as _dataclasses
import json as _json
import uuid as _uuid


class WriterError(Exception):
    """Raised by a Writer's event to fail it: `failure` is a WriterFailure (RETRYABLE,
    NON_RETRYABLE, TIMEOUT, ...), `message` says why."""

    def __init__(self, failure, message=""):
        super().__init__(failure, message)
        self.failure = failure
        self.message = message

    def __str__(self):
        return f"{self.failure.name.lower()}: {self.message}"


def _from_dict(cls, document, nested):
    names = {field.name for field in _dataclasses.fields(cls)}
    values = {key: value for key, value in document.items() if key in names}
    for key, item_class in nested.items():
        if key in values:
            values[key] = [item_class.from_dict(item) for item in values[key]]
    return cls(**values)


@_dataclasses.dataclass
class FileSpec:
    """Files of a component (a VSS file descriptor): directory `path`, file name or wildcard
    `filespec`."""
    path: str
    filespec: str
    recursive: bool = False
    alternate_location: str = ""
    backup_type_mask: int = 0xF0F

    @classmethod
    def from_dict(cls, document):
        return _from_dict(cls, document, {})


@_dataclasses.dataclass
class WriterComponent:
    """A component of a writer: its data lives on `volumes` (protocol volume names); `type` is
    "file-group", "database" or "undefined"."""
    name: str
    volumes: list = _dataclasses.field(default_factory=list)
    type: str = "file-group"
    logical_path: str = ""
    caption: str = ""
    selectable: bool = True
    notify_on_backup_complete: bool = True
    files: list = _dataclasses.field(default_factory=list)
    database_logs: list = _dataclasses.field(default_factory=list)

    @classmethod
    def from_dict(cls, document):
        return _from_dict(cls, document, {"files": FileSpec, "database_logs": FileSpec})


@_dataclasses.dataclass
class WriterMetadata:
    """What Writer.identify() returns: the writer's name, ids and components. Enumerated
    fields take the names of docs/protocol.md's JSON schema ("front-end", "user-data",
    "restore-if-can-replace", ...); `level` also takes an ApplicationLevel. class_id and
    instance_id (str or uuid.UUID) default to ids derived from the name."""
    name: str
    components: list = _dataclasses.field(default_factory=list)
    class_id: object = None
    instance_id: object = None
    instance_name: str = ""
    usage: str = "user-data"
    source: str = "other"
    level: object = "front-end"
    restore_method: str = "restore-if-can-replace"
    restore_service: str = ""
    reboot_required: bool = False
    excluded_files: list = _dataclasses.field(default_factory=list)

    @classmethod
    def from_dict(cls, document):
        """From a dict in the JSON schema, e.g. one of gather_writer_metadata()."""
        return _from_dict(cls, document,
                          {"components": WriterComponent, "excluded_files": FileSpec})

    def to_dict(self):
        """The dict of the JSON schema (the form gather_writer_metadata() returns)."""
        return _json.loads(_metadata_document(self))


def _json_value(value):
    if isinstance(value, _uuid.UUID):
        return str(value)
    if hasattr(type(value), "__members__"):  # enum.Enum, or an enum of this module
        return value.name.lower().replace("_", "-")
    raise TypeError(f"{type(value).__name__} is not allowed in writer metadata")


def _metadata_document(metadata):
    if isinstance(metadata, WriterMetadata):
        document = _dataclasses.asdict(metadata)
    elif isinstance(metadata, dict):
        document = dict(metadata)
    else:
        raise TypeError("identify() must return a freezeframe.WriterMetadata or a dict, not "
                        f"{type(metadata).__name__}")
    name = document.get("name")
    if isinstance(name, str) and name:
        class_id, instance_id = _default_writer_ids(name)
        if document.get("class_id") is None:
            document["class_id"] = class_id
        if document.get("instance_id") is None:
            document["instance_id"] = instance_id
    document.setdefault("format", "freezeframe-writer-metadata")
    document.setdefault("version", 1)
    return _json.dumps(document, default=_json_value)
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

// The engine's metadata for what the Python identify() of writer `name` returned. Call with
// the GIL held.
Result<WriterMetadata> metadata_from_python(const std::string& name, const py::object& returned) {
  auto document = py::reinterpret_borrow<py::function>(metadata_document_function)(returned);
  auto parsed = writer_metadata_from_json(document.cast<std::string>());
  if (!parsed.ok())
    return Status(
        parsed.status().code(),
        "writer '" + name + "': identify() returned bad metadata: " + parsed.status().message());
  return parsed;
}

// The Python WriterMetadata of `metadata`. Call with the GIL held.
py::object metadata_to_python(const WriterMetadata& metadata) {
  py::object loads = py::module_::import("json").attr("loads");
  return py::reinterpret_borrow<py::object>(metadata_class)
      .attr("from_dict")(loads(writer_metadata_to_json(metadata)));
}

}  // namespace

PythonWriter::PythonWriter(const std::string& name, std::vector<std::string> volumes,
                           ApplicationLevel level, Nanoseconds freeze_timeout)
    : metadata_(sim::scripted_writer_metadata(name, level, std::move(volumes))),
      freeze_timeout_(freeze_timeout) {}

Result<WriterMetadata> PythonWriter::identify() {
  py::gil_scoped_acquire gil;
  try {
    py::function override = py::get_override(static_cast<const PythonWriter*>(this), "identify");
    if (!override)
      return metadata_;
    return metadata_from_python(name(), override());
  } catch (py::error_already_set& error) {
    // A WriterError's message, or the exception's text.
    return Status(ErrorCode::kAborted,
                  "writer '" + name() + "': identify() raised: " + failure_from(error).message);
  } catch (const std::exception& error) {
    return Status(ErrorCode::kAborted,
                  "writer '" + name() + "': identify() raised: " + std::string(error.what()));
  }
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

  // The ids a writer named `name` gets by default (those of its default metadata).
  m.def(
      "_default_writer_ids",
      [](const std::string& name) {
        WriterMetadata metadata = sim::scripted_writer_metadata(name);
        return std::make_pair(metadata.class_id.to_string(), metadata.instance_id.to_string());
      },
      py::arg("name"));

  py::dict scope;
  scope["__name__"] = "freezeframe";
  scope["__builtins__"] = py::module_::import("builtins");
  scope["_default_writer_ids"] = m.attr("_default_writer_ids");
  py::exec(kWriterSource, scope);
  for (const char* name : {"WriterError", "FileSpec", "WriterComponent", "WriterMetadata"})
    m.attr(name) = scope[name];
  writer_error_class = scope["WriterError"].cast<py::object>().release().ptr();
  metadata_class = scope["WriterMetadata"].cast<py::object>().release().ptr();
  metadata_document_function = scope["_metadata_document"].cast<py::object>().release().ptr();

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
other exception fails it as NON_RETRYABLE. Override identify() to describe the writer's own
components (return a WriterMetadata or a dict in the JSON schema). Call
super().__init__(name, ...) first.)")
      .def(py::init<std::string, std::vector<std::string>, ApplicationLevel, Nanoseconds>(),
           py::arg("name"), py::arg("volumes") = std::vector<std::string>{},
           py::arg("level") = ApplicationLevel::kFrontEnd,
           py::arg("freeze_timeout") = std::chrono::seconds(60))
      .def_property_readonly("name", &PythonWriter::name)
      .def_property_readonly("freeze_timeout", &PythonWriter::freeze_timeout)
      .def(
          "identify",
          [](const PythonWriter& writer) { return metadata_to_python(writer.default_metadata()); },
          "The writer's metadata, a WriterMetadata. By default one component, \"<name>-data\", "
          "on the writer's volumes, with ids derived from the name.")
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

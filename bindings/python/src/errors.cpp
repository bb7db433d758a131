// freezeframe.Error and its subclasses, one per engine ErrorCode, and the ErrorCode IntEnum.
#include <pybind11/eval.h>
#include <pybind11/pybind11.h>

#include <array>
#include <string>

#include "bindings.h"

namespace freezeframe::python {

namespace {

struct CodeClass {
  ErrorCode code;
  const char* enum_name;   // ErrorCode.INVALID_ARGUMENT
  const char* class_name;  // freezeframe.InvalidArgument
};

constexpr std::array<CodeClass, 15> kCodeClasses = {{
    {ErrorCode::kInvalidArgument, "INVALID_ARGUMENT", "InvalidArgument"},
    {ErrorCode::kReadOnly, "READ_ONLY", "ReadOnly"},
    {ErrorCode::kIoError, "IO_ERROR", "IoError"},
    {ErrorCode::kNotFound, "NOT_FOUND", "NotFound"},
    {ErrorCode::kAlreadyExists, "ALREADY_EXISTS", "AlreadyExists"},
    {ErrorCode::kCorrupt, "CORRUPT", "Corrupt"},
    {ErrorCode::kUnsupportedVersion, "UNSUPPORTED_VERSION", "UnsupportedVersion"},
    {ErrorCode::kNoSpace, "NO_SPACE", "NoSpace"},
    {ErrorCode::kLimitExceeded, "LIMIT_EXCEEDED", "LimitExceeded"},
    {ErrorCode::kInvalidated, "INVALIDATED", "Invalidated"},
    {ErrorCode::kBusy, "BUSY", "Busy"},
    {ErrorCode::kTimeout, "TIMEOUT", "Timeout"},
    {ErrorCode::kAborted, "ABORTED", "Aborted"},
    {ErrorCode::kBadState, "BAD_STATE", "BadState"},
    {ErrorCode::kUnsupported, "UNSUPPORTED", "Unsupported"},
}};

// The classes, created once at import and kept for the life of the process (the module is
// never unloaded, so the references are deliberately never dropped).
struct ErrorClasses {
  PyObject* error_code_enum = nullptr;
  PyObject* base = nullptr;
  std::array<PyObject*, 16> by_code{};  // indexed by the code's value
};
ErrorClasses& classes() {
  static ErrorClasses instance;
  return instance;
}

// The base class: freezeframe.Error(code, message), str() "<code-name>: <message>".
constexpr const char* kErrorSource = R"(
class Error(Exception):
    """An engine operation failed. `code` (an ErrorCode) says what to do next,
    `code_name` is the engine's name for it ("invalid-argument"), and `message` names the
    object, the offset and the cause."""

    def __init__(self, code, message, code_name=None):
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.code_name = code_name if code_name is not None else str(code)

    def __str__(self):
        return f"{self.code_name}: {self.message}"
)";

}  // namespace

py::object error_code_object(ErrorCode code) {
  return py::reinterpret_borrow<py::object>(classes().error_code_enum)(static_cast<int>(code));
}

Uuid to_uuid(const py::handle& value, const char* what) {
  py::object text;
  if (py::isinstance<py::str>(value)) {
    text = py::reinterpret_borrow<py::object>(value);
  } else if (py::hasattr(value, "id") && py::isinstance<py::str>(value.attr("id"))) {
    text = value.attr("id");
  } else if (!value.is_none()) {
    text = py::str(value);
  } else {
    throw StatusError(Status(ErrorCode::kInvalidArgument, std::string(what) + " is None"));
  }
  auto parsed = Uuid::parse(text.cast<std::string>());
  if (!parsed.ok())
    throw StatusError(parsed.status().with_context(what));
  return parsed.value();
}

void bind_errors(py::module_& m) {
  ErrorClasses& state = classes();
  py::list members;
  members.append(py::make_tuple("OK", 0));
  for (const CodeClass& entry : kCodeClasses)
    members.append(py::make_tuple(entry.enum_name, static_cast<int>(entry.code)));
  py::object int_enum = py::module_::import("enum").attr("IntEnum");
  py::object error_code = int_enum("ErrorCode", members, py::arg("module") = "freezeframe");
  error_code.attr("__doc__") =
      "The engine's error codes (freezeframe::ErrorCode); the values may change between "
      "releases, the names do not.";
  m.attr("ErrorCode") = error_code;
  state.error_code_enum = error_code.release().ptr();

  py::dict scope;
  scope["__name__"] = "freezeframe";
  scope["__builtins__"] = py::module_::import("builtins");
  py::exec(kErrorSource, scope);
  py::object base = scope["Error"];
  m.attr("Error") = base;
  state.base = base.inc_ref().ptr();
  for (const CodeClass& entry : kCodeClasses) {
    std::string qualified = std::string("freezeframe.") + entry.class_name;
    PyObject* subclass = PyErr_NewException(qualified.c_str(), state.base, nullptr);
    if (subclass == nullptr)
      throw py::error_already_set();
    m.attr(entry.class_name) = py::handle(subclass);
    state.by_code[static_cast<std::size_t>(entry.code)] = subclass;
  }

  // By value: pybind11's translator signature.
  // NOLINTNEXTLINE(performance-unnecessary-value-param)
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown)
        std::rethrow_exception(thrown);
    } catch (const StatusError& error) {
      const ErrorClasses& known = classes();
      const Status& status = error.status();
      PyObject* type = known.by_code[static_cast<std::size_t>(status.code())];
      if (type == nullptr)
        type = known.base;
      py::object instance = py::reinterpret_borrow<py::object>(type)(
          error_code_object(status.code()), status.message(),
          std::string(error_code_name(status.code())));
      PyErr_SetObject(type, instance.ptr());
    }
  });
}

}  // namespace freezeframe::python

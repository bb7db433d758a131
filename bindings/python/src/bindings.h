// What the parts of the Python module share: errors, volume handles and the helpers that
// keep engine objects alive for as long as something depends on them.
//
// Lifetimes. The engine borrows: a provider borrows its origin and diff volumes, a snapshot
// volume must not outlive its provider, a session must not outlive its coordinator. Python
// drops objects in any order, so every engine object is held by a std::shared_ptr whose
// deleter also holds what the object borrows (owned_with()). The object is destroyed first,
// then what it depended on. A Python handle's close() drops only the handle's reference: the
// engine object goes when the last handle or dependent lets go of it.
//
// The GIL. Every engine call runs with the GIL released (the handle's shared_ptr is copied
// under the GIL first, so a close() from another thread cannot pull the object away mid
// call). Writer callbacks, which the engine runs on its own threads, take the GIL again.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <string>
#include <utility>

#include "freezeframe/status.h"
#include "freezeframe/uuid.h"
#include "freezeframe/volume.h"

namespace freezeframe::python {

namespace py = pybind11;

// ----- errors (errors.cpp)

// Carries a non-OK Status to the exception translator, which raises the freezeframe.Error
// subclass of its code. Never leaves the module.
class StatusError : public std::exception {
 public:
  explicit StatusError(Status status) : status_(std::move(status)) {}
  const Status& status() const noexcept { return status_; }
  const char* what() const noexcept override { return status_.message().c_str(); }

 private:
  Status status_;
};

// Raises the Python exception for `status` unless it is OK.
inline void check(const Status& status) {
  if (!status.ok())
    throw StatusError(status);
}
template <typename T>
T value_or_raise(Result<T>&& result) {
  if (!result.ok())
    throw StatusError(result.status());
  return std::move(result).value();
}

void bind_errors(py::module_& m);
// The ErrorCode IntEnum member for `code` (after bind_errors).
py::object error_code_object(ErrorCode code);
// Parses a UUID from a str, a uuid.UUID or an object with an `id` attribute (SnapshotInfo);
// kInvalidArgument naming `what` otherwise.
Uuid to_uuid(const py::handle& value, const char* what);

// Runs `call` with the GIL released.
template <typename Call>
auto without_gil(Call&& call) {
  py::gil_scoped_release release;
  return call();
}

// `object` in a shared_ptr whose deleter destroys it and then lets go of `keep` (the objects
// it borrows), in that order.
template <typename T, typename... Keep>
std::shared_ptr<T> owned_with(std::unique_ptr<T> object, Keep... keep) {
  T* raw = object.release();
  return std::shared_ptr<T>(raw, [... kept = std::move(keep)](T* pointer) mutable {
    delete pointer;
    ((kept = nullptr), ...);
  });
}

// ----- volumes (volumes.cpp)

// The Python `Volume`: a handle on an engine Volume. Subclasses keep a typed pointer to the
// same object.
class VolumeHandle {
 public:
  VolumeHandle(std::shared_ptr<Volume> volume, std::string kind)
      : volume_(std::move(volume)), kind_(std::move(kind)), name_(volume_->name()) {}
  virtual ~VolumeHandle() = default;
  VolumeHandle(const VolumeHandle&) = delete;
  VolumeHandle& operator=(const VolumeHandle&) = delete;

  // The volume; kBadState (freezeframe.BadState) once closed. Call with the GIL held.
  std::shared_ptr<Volume> volume() const {
    if (!volume_)
      raise_closed();
    return volume_;
  }
  virtual void close() { volume_.reset(); }
  bool closed() const noexcept { return volume_ == nullptr; }
  const std::string& kind() const noexcept { return kind_; }
  const std::string& last_name() const noexcept { return name_; }

 protected:
  // Messages for subclasses' typed pointers when closed.
  [[noreturn]] void raise_closed() const {
    throw StatusError(Status(ErrorCode::kBadState, kind_ + " '" + name_ + "' is closed"));
  }

 private:
  std::shared_ptr<Volume> volume_;
  std::string kind_;
  std::string name_;
};

// The engine volume behind a Python Volume argument (kBadState if closed).
std::shared_ptr<Volume> volume_of(const py::handle& volume);

void bind_volumes(py::module_& m);
void bind_providers(py::module_& m);
void bind_protocol(py::module_& m);
void bind_sim(py::module_& m);

}  // namespace freezeframe::python

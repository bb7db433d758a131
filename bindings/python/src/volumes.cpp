// freezeframe.Volume (the read/write API every volume shares), MemoryVolume and FileVolume.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "bindings.h"
#include "freezeframe/file_volume.h"
#include "freezeframe/memory_volume.h"

namespace freezeframe::python {

namespace {

// A contiguous view of a Python object's buffer (bytes, bytearray, memoryview, array.array,
// ...), held until destruction; while held, the exporter cannot resize the memory (a
// bytearray refuses), so the engine may use it with the GIL released.
class BufferView {
 public:
  BufferView(const py::handle& object, bool writable) {
    int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(object.ptr(), &view_, flags) != 0)
      throw py::error_already_set();
  }
  ~BufferView() { PyBuffer_Release(&view_); }
  BufferView(const BufferView&) = delete;
  BufferView& operator=(const BufferView&) = delete;

  std::span<std::byte> bytes() {
    return {static_cast<std::byte*>(view_.buf), static_cast<std::size_t>(view_.len)};
  }

 private:
  Py_buffer view_{};
};

class MemoryVolumeHandle final : public VolumeHandle {
 public:
  explicit MemoryVolumeHandle(std::shared_ptr<MemoryVolume> volume)
      : VolumeHandle(volume, "memory volume"), memory_(std::move(volume)) {}
  void close() override {
    memory_.reset();
    VolumeHandle::close();
  }
  std::shared_ptr<MemoryVolume> memory() const {
    if (!memory_)
      raise_closed();
    return memory_;
  }

 private:
  std::shared_ptr<MemoryVolume> memory_;
};

class FileVolumeHandle final : public VolumeHandle {
 public:
  explicit FileVolumeHandle(std::shared_ptr<FileVolume> volume)
      : VolumeHandle(volume, "file volume"), path_(volume->path()), file_(std::move(volume)) {}
  void close() override {
    file_.reset();
    VolumeHandle::close();
  }
  std::shared_ptr<FileVolume> file() const {
    if (!file_)
      raise_closed();
    return file_;
  }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  std::shared_ptr<FileVolume> file_;
};

py::bytes read_bytes(const VolumeHandle& handle, std::uint64_t offset, std::uint64_t length) {
  std::shared_ptr<Volume> volume = handle.volume();
  // Bounds first, so a huge length fails as out of range instead of allocating.
  check(volume->check_range("read", offset, length));
  py::bytes out(nullptr, static_cast<py::ssize_t>(length));
  std::span<std::byte> data(reinterpret_cast<std::byte*>(PyBytes_AS_STRING(out.ptr())),
                            static_cast<std::size_t>(length));
  check(without_gil([&] { return volume->read(offset, data); }));
  return out;
}

std::uint64_t read_into(const VolumeHandle& handle, std::uint64_t offset,
                        const py::handle& buffer) {
  std::shared_ptr<Volume> volume = handle.volume();
  BufferView view(buffer, /*writable=*/true);
  std::span<std::byte> data = view.bytes();
  check(without_gil([&] { return volume->read(offset, data); }));
  return data.size();
}

std::uint64_t write_bytes(const VolumeHandle& handle, std::uint64_t offset,
                          const py::handle& buffer) {
  std::shared_ptr<Volume> volume = handle.volume();
  BufferView view(buffer, /*writable=*/false);
  std::span<const std::byte> data = view.bytes();
  check(without_gil([&] { return volume->write(offset, data); }));
  return data.size();
}

std::string describe(const VolumeHandle& handle) {
  if (handle.closed())
    return "<freezeframe " + handle.kind() + " '" + handle.last_name() + "' (closed)>";
  std::shared_ptr<Volume> volume = handle.volume();
  return "<freezeframe " + handle.kind() + " '" + volume->name() +
         "' size=" + std::to_string(volume->size_bytes()) +
         " sector_bytes=" + std::to_string(volume->sector_bytes()) +
         (volume->read_only() ? " read-only>" : ">");
}

}  // namespace

std::shared_ptr<Volume> volume_of(const py::handle& volume) {
  if (!py::isinstance<VolumeHandle>(volume))
    throw py::type_error("expected a freezeframe.Volume, got " +
                         std::string(py::str(py::type::of(volume))));
  return volume.cast<const VolumeHandle&>().volume();
}

void bind_volumes(py::module_& m) {
  py::class_<VolumeHandle, std::shared_ptr<VolumeHandle>>(m, "Volume", R"(A block device.

Offsets and lengths must be multiples of sector_bytes and lie inside the volume
(freezeframe.InvalidArgument otherwise). Writes are visible at once and durable after
flush(). A closed volume raises freezeframe.BadState.)")
      .def_property_readonly("size", [](const VolumeHandle& h) { return h.volume()->size_bytes(); })
      .def_property_readonly("sector_bytes",
                             [](const VolumeHandle& h) { return h.volume()->sector_bytes(); })
      .def_property_readonly("read_only",
                             [](const VolumeHandle& h) { return h.volume()->read_only(); })
      .def_property_readonly("name", [](const VolumeHandle& h) { return h.volume()->name(); })
      .def_property_readonly("uuid",
                             [](const VolumeHandle& h) { return h.volume()->uuid().to_string(); })
      .def_property_readonly(
          "physical_sector_bytes",
          [](const VolumeHandle& h) { return h.volume()->physical_sector_bytes(); })
      .def_property_readonly("atomic_write_bytes",
                             [](const VolumeHandle& h) { return h.volume()->atomic_write_bytes(); })
      .def_property_readonly("optimal_io_bytes",
                             [](const VolumeHandle& h) { return h.volume()->optimal_io_bytes(); })
      .def_property_readonly("closed", &VolumeHandle::closed)
      .def("read", &read_bytes, py::arg("offset"), py::arg("length"),
           "Reads `length` bytes at `offset` and returns them as bytes.")
      .def("readinto", &read_into, py::arg("offset"), py::arg("buffer"),
           "Reads len(buffer) bytes at `offset` straight into a writable buffer (bytearray, "
           "memoryview, array.array, ...), without a copy. Returns the number of bytes read.")
      .def("write", &write_bytes, py::arg("offset"), py::arg("data"),
           "Writes any bytes-like object at `offset`. Returns the number of bytes written.")
      .def(
          "flush",
          [](const VolumeHandle& h) {
            std::shared_ptr<Volume> volume = h.volume();
            check(without_gil([&] { return volume->flush(); }));
          },
          "Makes every completed write durable.")
      .def(
          "discard",
          [](const VolumeHandle& h, std::uint64_t offset, std::uint64_t length) {
            std::shared_ptr<Volume> volume = h.volume();
            check(without_gil([&] { return volume->discard(offset, length); }));
          },
          py::arg("offset"), py::arg("length"), "Zeroes the range; it may release the space.")
      .def(
          "allocate",
          [](const VolumeHandle& h, std::uint64_t offset, std::uint64_t length) {
            std::shared_ptr<Volume> volume = h.volume();
            check(without_gil([&] { return volume->allocate(offset, length); }));
          },
          py::arg("offset"), py::arg("length"), "Reserves backing storage for the range.")
      .def("close", &VolumeHandle::close,
           "Releases this handle. The volume itself goes when nothing else (a provider, a "
           "snapshot) depends on it. Idempotent.")
      .def("__enter__", [](const py::object& self) { return self; })
      .def("__exit__", [](VolumeHandle& h, const py::args&) { h.close(); })
      .def("__repr__", &describe);

  py::class_<MemoryVolumeHandle, VolumeHandle, std::shared_ptr<MemoryVolumeHandle>>(
      m, "MemoryVolume", "A volume held in memory (sparse, 64 KiB pages); gone when closed.")
      .def(py::init([](std::uint64_t size, std::uint32_t sector_bytes, std::string name,
                       bool read_only, const py::object& uuid) {
             MemoryVolumeOptions options{.name = std::move(name),
                                         .size_bytes = size,
                                         .sector_bytes = sector_bytes,
                                         .read_only = read_only};
             if (!uuid.is_none())
               options.uuid = to_uuid(uuid, "uuid");
             return std::make_shared<MemoryVolumeHandle>(
                 std::shared_ptr<MemoryVolume>(value_or_raise(MemoryVolume::create(options))));
           }),
           py::arg("size"), py::arg("sector_bytes") = 512, py::arg("name") = "memory",
           py::arg("read_only") = false, py::arg("uuid") = py::none())
      .def_property_readonly("allocated_bytes", [](const MemoryVolumeHandle& h) {
        return h.memory()->allocated_bytes();
      });

  py::class_<FileVolumeHandle, VolumeHandle, std::shared_ptr<FileVolumeHandle>>(
      m, "FileVolume", "A volume backed by an image file (created sparse) or a block device.")
      .def_static(
          "create",
          [](const std::string& path, std::uint64_t size, std::uint32_t sector_bytes,
             std::string name, bool overwrite, bool direct_io) {
            FileVolumeCreateOptions options{.size_bytes = size,
                                            .sector_bytes = sector_bytes,
                                            .direct_io = direct_io,
                                            .name = std::move(name),
                                            .overwrite = overwrite};
            auto created = without_gil([&] { return FileVolume::create(path, options); });
            return std::make_shared<FileVolumeHandle>(
                std::shared_ptr<FileVolume>(value_or_raise(std::move(created))));
          },
          py::arg("path"), py::arg("size"), py::arg("sector_bytes") = 512, py::arg("name") = "",
          py::arg("overwrite") = false, py::arg("direct_io") = false,
          "Creates a new sparse image file (freezeframe.AlreadyExists if it exists, unless "
          "overwrite).")
      .def_static(
          "open",
          [](const std::string& path, bool read_only, std::uint32_t sector_bytes, std::string name,
             bool direct_io) {
            FileVolumeOpenOptions options{.read_only = read_only,
                                          .sector_bytes = sector_bytes,
                                          .direct_io = direct_io,
                                          .name = std::move(name)};
            auto opened = without_gil([&] { return FileVolume::open(path, options); });
            return std::make_shared<FileVolumeHandle>(
                std::shared_ptr<FileVolume>(value_or_raise(std::move(opened))));
          },
          py::arg("path"), py::arg("read_only") = false, py::arg("sector_bytes") = 0,
          py::arg("name") = "", py::arg("direct_io") = false,
          "Opens an existing image file or block device (freezeframe.NotFound if missing).")
      .def_property_readonly("path", &FileVolumeHandle::path)
      .def_property_readonly("allocated_bytes", [](const FileVolumeHandle& h) {
        std::shared_ptr<FileVolume> file = h.file();
        return value_or_raise(file->allocated_bytes());
      });
}

}  // namespace freezeframe::python

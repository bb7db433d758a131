// The C API (bindings/c/include/freezeframe.h): version, errors, volumes and simulated
// volumes. Providers and snapshots are in c_api_provider.cpp.
#include <cstring>
#include <string>

#include "c_api_internal.h"
#include "freezeframe/file_volume.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/sim/sim_volume.h"

namespace ff = freezeframe;

// The C codes are the C++ codes (the header promises it).
static_assert(FF_OK == static_cast<int>(ff::ErrorCode::kOk));
static_assert(FF_INVALID_ARGUMENT == static_cast<int>(ff::ErrorCode::kInvalidArgument));
static_assert(FF_READ_ONLY == static_cast<int>(ff::ErrorCode::kReadOnly));
static_assert(FF_IO_ERROR == static_cast<int>(ff::ErrorCode::kIoError));
static_assert(FF_NOT_FOUND == static_cast<int>(ff::ErrorCode::kNotFound));
static_assert(FF_ALREADY_EXISTS == static_cast<int>(ff::ErrorCode::kAlreadyExists));
static_assert(FF_CORRUPT == static_cast<int>(ff::ErrorCode::kCorrupt));
static_assert(FF_UNSUPPORTED_VERSION == static_cast<int>(ff::ErrorCode::kUnsupportedVersion));
static_assert(FF_NO_SPACE == static_cast<int>(ff::ErrorCode::kNoSpace));
static_assert(FF_LIMIT_EXCEEDED == static_cast<int>(ff::ErrorCode::kLimitExceeded));
static_assert(FF_INVALIDATED == static_cast<int>(ff::ErrorCode::kInvalidated));
static_assert(FF_BUSY == static_cast<int>(ff::ErrorCode::kBusy));
static_assert(FF_TIMEOUT == static_cast<int>(ff::ErrorCode::kTimeout));
static_assert(FF_ABORTED == static_cast<int>(ff::ErrorCode::kAborted));
static_assert(FF_BAD_STATE == static_cast<int>(ff::ErrorCode::kBadState));
static_assert(FF_UNSUPPORTED == static_cast<int>(ff::ErrorCode::kUnsupported));
static_assert(FF_UUID_STRING_BYTES == 37);
// The header's release is the project's (CMakeLists.txt passes it in).
static_assert(FF_VERSION_MAJOR == FREEZEFRAME_PROJECT_VERSION_MAJOR &&
              FF_VERSION_MINOR == FREEZEFRAME_PROJECT_VERSION_MINOR &&
              FF_VERSION_PATCH == FREEZEFRAME_PROJECT_VERSION_PATCH);
#define FF_TEXT(x) #x
#define FF_VERSION_TEXT(a, b, c) FF_TEXT(a) "." FF_TEXT(b) "." FF_TEXT(c)
static constexpr const char* kVersionText =
    FF_VERSION_TEXT(FF_VERSION_MAJOR, FF_VERSION_MINOR, FF_VERSION_PATCH);

namespace freezeframe::c_api {
namespace {

struct LastError {
  int code = FF_OK;
  std::string message;
};

LastError& last_error() noexcept {
  thread_local LastError error;
  return error;
}

}  // namespace

void clear_error() noexcept {
  LastError& error = last_error();
  error.code = FF_OK;
  error.message.clear();
}

int fail(const Status& status) noexcept {
  LastError& error = last_error();
  error.code = static_cast<int>(status.code());
  try {
    error.message = status.message();
  } catch (...) {
    error.message.clear();
  }
  return error.code;
}

int fail(ErrorCode code, const char* message) noexcept {
  LastError& error = last_error();
  error.code = static_cast<int>(code);
  try {
    error.message = message;
  } catch (...) {
    error.message.clear();
  }
  return error.code;
}

Status require(bool condition, const std::string& message) {
  return condition ? Status() : invalid_argument(message);
}

Result<Volume*> open_volume(ff_volume* handle, const char* what) {
  if (handle == nullptr)
    return invalid_argument(std::string(what) + " is NULL");
  if (handle->volume == nullptr)
    return Status(ErrorCode::kBadState, std::string(what) + " '" + handle->name +
                                            "' was closed (ff_volume_close); destroy the handle");
  return handle->volume.get();
}

Status copy_text(const std::string& text, char* out, std::size_t out_bytes, const char* what) {
  FF_TRY(require(out != nullptr, std::string(what) + ": the output buffer is NULL"));
  if (text.size() + 1 > out_bytes)
    return invalid_argument(std::string(what) + " needs " + std::to_string(text.size() + 1) +
                            " bytes, the buffer has " + std::to_string(out_bytes));
  std::memcpy(out, text.c_str(), text.size() + 1);
  return Status();
}

ff_volume* new_volume_handle(std::shared_ptr<Volume> volume) {
  auto* handle = new ff_volume;
  handle->name = volume->identity().name;
  handle->volume = std::move(volume);
  return handle;
}

}  // namespace freezeframe::c_api

using ff::c_api::guarded;
using ff::c_api::new_volume_handle;
using ff::c_api::open_volume;
using ff::c_api::require;

extern "C" {

const char* ff_version(int* major, int* minor, int* patch) {
  if (major != nullptr)
    *major = FF_VERSION_MAJOR;
  if (minor != nullptr)
    *minor = FF_VERSION_MINOR;
  if (patch != nullptr)
    *patch = FF_VERSION_PATCH;
  return kVersionText;
}

int ff_abi_version(void) {
  return FF_ABI_VERSION;
}

const char* ff_error_message(void) {
  return ff::c_api::last_error().message.c_str();
}

int ff_error_last(void) {
  return ff::c_api::last_error().code;
}

const char* ff_error_name(int code) {
  if (code < FF_OK || code > FF_UNSUPPORTED)
    return "unknown";
  // error_code_name() returns views of static literals, NUL-terminated.
  return ff::error_code_name(static_cast<ff::ErrorCode>(code)).data();
}

int ff_memory_volume_create(const char* name, uint64_t size_bytes, uint32_t sector_bytes,
                            ff_volume** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_memory_volume_create: out is NULL"));
    *out = nullptr;
    ff::MemoryVolumeOptions options;
    if (name != nullptr)
      options.name = name;
    options.size_bytes = size_bytes;
    options.sector_bytes = sector_bytes;
    FF_ASSIGN_OR_RETURN(auto volume, ff::MemoryVolume::create(options));
    *out = new_volume_handle(std::shared_ptr<ff::Volume>(std::move(volume)));
    return ff::Status();
  });
}

int ff_file_volume_create(const char* path, uint64_t size_bytes, uint32_t sector_bytes,
                          int overwrite, ff_volume** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_file_volume_create: out is NULL"));
    *out = nullptr;
    FF_TRY(require(path != nullptr, "ff_file_volume_create: path is NULL"));
    ff::FileVolumeCreateOptions options;
    options.size_bytes = size_bytes;
    options.sector_bytes = sector_bytes;
    options.overwrite = overwrite != 0;
    FF_ASSIGN_OR_RETURN(auto volume, ff::FileVolume::create(path, options));
    *out = new_volume_handle(std::shared_ptr<ff::Volume>(std::move(volume)));
    return ff::Status();
  });
}

int ff_file_volume_open(const char* path, int read_only, ff_volume** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_file_volume_open: out is NULL"));
    *out = nullptr;
    FF_TRY(require(path != nullptr, "ff_file_volume_open: path is NULL"));
    ff::FileVolumeOpenOptions options;
    options.read_only = read_only != 0;
    FF_ASSIGN_OR_RETURN(auto volume, ff::FileVolume::open(path, options));
    *out = new_volume_handle(std::shared_ptr<ff::Volume>(std::move(volume)));
    return ff::Status();
  });
}

void ff_volume_destroy(ff_volume* volume) {
  delete volume;
}

int ff_volume_close(ff_volume* volume) {
  return guarded([&]() -> ff::Status {
    FF_TRY(open_volume(volume, "ff_volume_close: the volume").status());
    volume->volume.reset();
    volume->sim = nullptr;
    return ff::Status();
  });
}

int ff_volume_read(ff_volume* volume, uint64_t offset, void* buffer, uint64_t length) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::Volume * v, open_volume(volume, "ff_volume_read: the volume"));
    FF_TRY(require(buffer != nullptr || length == 0, "ff_volume_read: the buffer is NULL"));
    return v->read(offset, std::span<std::byte>(static_cast<std::byte*>(buffer), length));
  });
}

int ff_volume_write(ff_volume* volume, uint64_t offset, const void* data, uint64_t length) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::Volume * v, open_volume(volume, "ff_volume_write: the volume"));
    FF_TRY(require(data != nullptr || length == 0, "ff_volume_write: the data is NULL"));
    return v->write(offset,
                    std::span<const std::byte>(static_cast<const std::byte*>(data), length));
  });
}

int ff_volume_flush(ff_volume* volume) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::Volume * v, open_volume(volume, "ff_volume_flush: the volume"));
    return v->flush();
  });
}

int ff_volume_discard(ff_volume* volume, uint64_t offset, uint64_t length) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::Volume * v, open_volume(volume, "ff_volume_discard: the volume"));
    return v->discard(offset, length);
  });
}

int ff_volume_info_get(ff_volume* volume, ff_volume_info* out) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::Volume * v, open_volume(volume, "ff_volume_info_get: the volume"));
    FF_TRY(require(out != nullptr, "ff_volume_info_get: out is NULL"));
    ff_volume_info info{};
    info.size_bytes = v->size_bytes();
    info.sector_bytes = v->sector_bytes();
    info.read_only = v->read_only() ? 1 : 0;
    FF_TRY(ff::c_api::copy_text(v->identity().uuid.to_string(), info.uuid, sizeof info.uuid,
                                "the volume's UUID"));
    const ff::DeviceProperties properties = v->properties();
    info.physical_sector_bytes = properties.physical_sector_bytes;
    info.atomic_write_bytes = properties.atomic_write_bytes;
    info.optimal_io_bytes = properties.optimal_io_bytes;
    *out = info;
    return ff::Status();
  });
}

const char* ff_volume_name(ff_volume* volume) {
  if (volume == nullptr || volume->volume == nullptr)
    return nullptr;
  return volume->name.c_str();
}

void ff_sim_options_init(ff_sim_options* options) {
  if (options == nullptr)
    return;
  *options = ff_sim_options{};
  options->version = FF_SIM_OPTIONS_VERSION;
  options->crash_survival_probability = 0.5;
  options->atomic_write_bytes = 512;
}

int ff_sim_volume_create(ff_volume* base, const ff_sim_options* options, ff_volume** out) {
  return guarded([&]() -> ff::Status {
    FF_TRY(require(out != nullptr, "ff_sim_volume_create: out is NULL"));
    *out = nullptr;
    FF_TRY(open_volume(base, "ff_sim_volume_create: the base volume").status());
    ff_sim_options defaults;
    ff_sim_options_init(&defaults);
    const ff_sim_options& o = options != nullptr ? *options : defaults;
    FF_TRY(require(o.version == FF_SIM_OPTIONS_VERSION,
                   "ff_sim_volume_create: options version " + std::to_string(o.version) +
                       " is not one this library knows (" + std::to_string(FF_SIM_OPTIONS_VERSION) +
                       "); use ff_sim_options_init"));
    ff::sim::SimVolumeOptions sim_options;
    sim_options.seed = o.seed;
    sim_options.crash_survival_probability = o.crash_survival_probability;
    sim_options.atomic_write_bytes = o.atomic_write_bytes;
    // The simulated volume keeps its base alive: both live in one block.
    struct Holder {
      std::shared_ptr<ff::Volume> base;
      std::unique_ptr<ff::sim::SimVolume> sim;
    };
    auto holder = std::make_shared<Holder>();
    holder->base = base->volume;
    FF_ASSIGN_OR_RETURN(holder->sim, ff::sim::SimVolume::create(*holder->base, sim_options));
    ff::sim::SimVolume* sim = holder->sim.get();
    *out = new_volume_handle(std::shared_ptr<ff::Volume>(holder, sim));
    (*out)->sim = sim;
    return ff::Status();
  });
}

}  // extern "C"

namespace {

ff::Result<ff::sim::SimVolume*> open_sim(ff_volume* volume, const char* call) {
  FF_TRY(open_volume(volume, call).status());
  if (volume->sim == nullptr)
    return ff::invalid_argument(std::string(call) + ": volume '" + volume->name +
                                "' is not a simulated volume (ff_sim_volume_create)");
  return volume->sim;
}

}  // namespace

extern "C" {

int ff_sim_volume_fail_nth(ff_volume* volume, uint32_t operations, uint64_t nth, int error_code,
                           uint64_t* rule_id) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::sim::SimVolume * sim, open_sim(volume, "ff_sim_volume_fail_nth"));
    FF_TRY(require(operations != 0 && (operations & ~0x0fu) == 0,
                   "ff_sim_volume_fail_nth: operations must be FF_IO_* bits, not " +
                       std::to_string(operations)));
    FF_TRY(require(nth >= 1, "ff_sim_volume_fail_nth: nth counts from 1"));
    FF_TRY(require(error_code == FF_IO_ERROR || error_code == FF_NO_SPACE,
                   "ff_sim_volume_fail_nth: the error must be FF_IO_ERROR or FF_NO_SPACE, not " +
                       std::to_string(error_code)));
    ff::sim::FaultRule rule;
    rule.trigger = ff::sim::FaultRule::Trigger::kNth;
    rule.operations = static_cast<ff::sim::IoOperationMask>(operations);
    rule.n = nth;
    rule.failures_max = 1;
    rule.code = static_cast<ff::ErrorCode>(error_code);
    const ff::sim::FaultId id = sim->add_fault(rule);
    if (rule_id != nullptr)
      *rule_id = id;
    return ff::Status();
  });
}

int ff_sim_volume_clear_faults(ff_volume* volume) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::sim::SimVolume * sim, open_sim(volume, "ff_sim_volume_clear_faults"));
    sim->clear_faults();
    return ff::Status();
  });
}

int ff_sim_volume_crash(ff_volume* volume, uint64_t* dropped) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::sim::SimVolume * sim, open_sim(volume, "ff_sim_volume_crash"));
    const std::uint64_t units = sim->crash();
    if (dropped != nullptr)
      *dropped = units;
    return ff::Status();
  });
}

int ff_sim_volume_unflushed_bytes(ff_volume* volume, uint64_t* out) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::sim::SimVolume * sim,
                        open_sim(volume, "ff_sim_volume_unflushed_bytes"));
    FF_TRY(require(out != nullptr, "ff_sim_volume_unflushed_bytes: out is NULL"));
    *out = sim->unflushed_bytes();
    return ff::Status();
  });
}

}  // extern "C"

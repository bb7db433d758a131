// The C API (bindings/c/include/freezeframe.h): version, errors, volumes and simulated
// volumes. Providers and snapshots are in c_api_provider.cpp.
#include <algorithm>
#include <cstddef>
#include <cstdlib>
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

void copy_text_cut(const std::string& text, char* out, std::size_t out_bytes) noexcept {
  if (out == nullptr || out_bytes == 0)
    return;
  const std::size_t length = std::min(text.size(), out_bytes - 1);
  std::memcpy(out, text.data(), length);
  out[length] = '\0';
}

ff_changed_extents* new_changed_extents(const ChangedExtents& changed) {
  // One block the caller frees with ff_changed_extents_free(): the header, the extents, then
  // the reason's text.
  const std::size_t header = sizeof(ff_changed_extents);
  const std::size_t extents = changed.extents.size() * sizeof(ff_extent);
  const std::size_t reason = changed.reset_reason.size() + 1;
  auto* block = static_cast<unsigned char*>(std::malloc(header + extents + reason));
  if (block == nullptr)
    return nullptr;
  auto* list = reinterpret_cast<ff_changed_extents*>(block);
  auto* array = reinterpret_cast<ff_extent*>(block + header);
  char* text = reinterpret_cast<char*>(block + header + extents);
  for (std::size_t i = 0; i < changed.extents.size(); ++i)
    array[i] = ff_extent{changed.extents[i].offset, changed.extents[i].length};
  std::memcpy(text, changed.reset_reason.c_str(), reason);
  list->reset = changed.reset ? 1 : 0;
  list->reset_reason = text;
  list->count = changed.extents.size();
  list->extents = array;
  list->chunk_bytes = changed.chunk_bytes;
  return list;
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
    // A version-1 struct ends at atomic_write_bytes: read only that much of it.
    FF_TRY(require(
        options == nullptr || options->version == 1 || options->version == FF_SIM_OPTIONS_VERSION,
        "ff_sim_volume_create: options version " +
            std::to_string(options != nullptr ? options->version : 0) +
            " is not one this library knows (1 to " + std::to_string(FF_SIM_OPTIONS_VERSION) +
            "); use ff_sim_options_init"));
    ff_sim_options o;
    ff_sim_options_init(&o);
    if (options != nullptr) {
      std::memcpy(&o, options, options->version == 1 ? offsetof(ff_sim_options, clock) : sizeof o);
      o.version = FF_SIM_OPTIONS_VERSION;
    }
    FF_TRY(require(o.latency_per_operation_ns >= 0 && o.latency_per_mib_ns >= 0,
                   "ff_sim_volume_create: a latency is negative"));
    FF_TRY(require(
        o.clock != nullptr || (o.latency_per_operation_ns == 0 && o.latency_per_mib_ns == 0),
        "ff_sim_volume_create: a latency needs a simulated clock (options.clock)"));
    FF_TRY(require(o.clock == nullptr || o.clock->sim != nullptr,
                   "ff_sim_volume_create: latency is measured on a simulated clock "
                   "(ff_sim_clock_create), not the system clock"));
    ff::sim::SimVolumeOptions sim_options;
    sim_options.seed = o.seed;
    sim_options.crash_survival_probability = o.crash_survival_probability;
    sim_options.atomic_write_bytes = o.atomic_write_bytes;
    if (o.clock != nullptr) {
      sim_options.clock = o.clock->sim;
      sim_options.latency_per_operation = ff::Nanoseconds(o.latency_per_operation_ns);
      sim_options.latency_per_mib = ff::Nanoseconds(o.latency_per_mib_ns);
    }
    // The simulated volume keeps its base and its clock alive: all live in one block.
    struct Holder {
      std::shared_ptr<ff::Clock> clock;
      std::shared_ptr<ff::Volume> base;
      std::unique_ptr<ff::sim::SimVolume> sim;
    };
    auto holder = std::make_shared<Holder>();
    if (o.clock != nullptr)
      holder->clock = o.clock->clock;
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

void ff_sim_fault_rule_init(ff_sim_fault_rule* rule) {
  if (rule == nullptr)
    return;
  *rule = ff_sim_fault_rule{};
  rule->version = FF_SIM_FAULT_RULE_VERSION;
  rule->trigger = FF_FAULT_NTH;
  rule->operations = FF_IO_READ | FF_IO_WRITE | FF_IO_FLUSH | FF_IO_DISCARD;
  rule->n = 1;
  rule->error_code = FF_IO_ERROR;
}

int ff_sim_volume_add_fault(ff_volume* volume, const ff_sim_fault_rule* rule, uint64_t* rule_id) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::sim::SimVolume * sim, open_sim(volume, "ff_sim_volume_add_fault"));
    FF_TRY(require(rule != nullptr, "ff_sim_volume_add_fault: the rule is NULL"));
    FF_TRY(require(rule->version == FF_SIM_FAULT_RULE_VERSION,
                   "ff_sim_volume_add_fault: rule version " + std::to_string(rule->version) +
                       " is not one this library knows; use ff_sim_fault_rule_init"));
    FF_TRY(require(rule->operations != 0 && (rule->operations & ~0x0fu) == 0,
                   "ff_sim_volume_add_fault: operations must be FF_IO_* bits, not " +
                       std::to_string(rule->operations)));
    FF_TRY(require(rule->error_code == FF_IO_ERROR || rule->error_code == FF_NO_SPACE,
                   "ff_sim_volume_add_fault: the error must be FF_IO_ERROR or FF_NO_SPACE, not " +
                       std::to_string(rule->error_code)));
    ff::sim::FaultRule engine;
    switch (rule->trigger) {
      case FF_FAULT_NTH:
      case FF_FAULT_FROM_NTH:
        FF_TRY(require(rule->n >= 1, "ff_sim_volume_add_fault: n counts from 1"));
        engine.trigger = rule->trigger == FF_FAULT_NTH ? ff::sim::FaultRule::Trigger::kNth
                                                       : ff::sim::FaultRule::Trigger::kFromNth;
        break;
      case FF_FAULT_RANGE:
        FF_TRY(require(rule->length > 0 && rule->offset + rule->length > rule->offset,
                       "ff_sim_volume_add_fault: the range at offset " +
                           std::to_string(rule->offset) + " length " +
                           std::to_string(rule->length) + " is empty or wraps"));
        engine.trigger = ff::sim::FaultRule::Trigger::kRange;
        break;
      case FF_FAULT_PROBABILITY:
        FF_TRY(require(rule->probability >= 0.0 && rule->probability <= 1.0,
                       "ff_sim_volume_add_fault: the probability " +
                           std::to_string(rule->probability) + " is not in [0, 1]"));
        engine.trigger = ff::sim::FaultRule::Trigger::kProbability;
        break;
      default:
        return ff::invalid_argument("ff_sim_volume_add_fault: trigger " +
                                    std::to_string(rule->trigger) +
                                    " is not an ff_sim_fault_trigger");
    }
    engine.operations = static_cast<ff::sim::IoOperationMask>(rule->operations);
    engine.n = rule->n;
    engine.offset = rule->offset;
    engine.length = rule->length;
    engine.probability = rule->probability;
    engine.failures_max = rule->failures_max;
    engine.code = static_cast<ff::ErrorCode>(rule->error_code);
    const ff::sim::FaultId id = sim->add_fault(engine);
    if (rule_id != nullptr)
      *rule_id = id;
    return ff::Status();
  });
}

int ff_sim_volume_remove_fault(ff_volume* volume, uint64_t rule_id) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::sim::SimVolume * sim, open_sim(volume, "ff_sim_volume_remove_fault"));
    if (!sim->remove_fault(rule_id))
      return ff::Status(ff::ErrorCode::kNotFound, "ff_sim_volume_remove_fault: volume '" +
                                                      volume->name + "' has no fault rule " +
                                                      std::to_string(rule_id));
    return ff::Status();
  });
}

int ff_sim_volume_stats(ff_volume* volume, ff_sim_stats* out) {
  return guarded([&]() -> ff::Status {
    FF_ASSIGN_OR_RETURN(ff::sim::SimVolume * sim, open_sim(volume, "ff_sim_volume_stats"));
    FF_TRY(require(out != nullptr, "ff_sim_volume_stats: out is NULL"));
    const ff::sim::SimVolumeStats stats = sim->stats();
    ff_sim_stats result{};
    result.reads = stats.reads;
    result.writes = stats.writes;
    result.flushes = stats.flushes;
    result.discards = stats.discards;
    result.bytes_read = stats.bytes_read;
    result.bytes_written = stats.bytes_written;
    result.bytes_discarded = stats.bytes_discarded;
    result.injected_failures = stats.injected_failures;
    result.crashes = stats.crashes;
    result.last_crash_units_dropped = stats.last_crash_units_dropped;
    result.last_crash_units_kept = stats.last_crash_units_kept;
    result.latency_charged_ns = sim->latency() != nullptr ? sim->latency()->charged().count() : 0;
    *out = result;
    return ff::Status();
  });
}

}  // extern "C"

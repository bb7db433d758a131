// What the C API's translation units share: the handle structs behind the opaque C types,
// the per-thread last error, and guarded() that turns a C++ call into an ff_error code
// without letting an exception cross the C boundary.
#pragma once

#include <exception>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "freezeframe.h"
#include "freezeframe/clock.h"
#include "freezeframe/snapshot_provider.h"
#include "freezeframe/status.h"
#include "freezeframe/uuid.h"
#include "freezeframe/volume.h"

namespace freezeframe::sim {
class SimClock;
class SimVolume;
}  // namespace freezeframe::sim

// A volume handle: shares ownership of the volume and of whatever the volume needs (its base,
// its provider), through `volume`'s control block. Null after ff_volume_close().
struct ff_volume {
  std::shared_ptr<freezeframe::Volume> volume;
  // Set when the volume is simulated (ff_sim_volume_*).
  freezeframe::sim::SimVolume* sim = nullptr;
  // The name as ff_volume_name() returns it.
  std::string name;
  // For a snapshot: the volume it shows, which a backup records as its volume (so that
  // prune's keep-last counts the backups of one volume, not one per snapshot). Nil otherwise.
  freezeframe::Uuid origin_id{};
};

namespace freezeframe::c_api {

// A provider and the volumes it needs. Members are destroyed in reverse order: the provider
// first, then the volumes it used.
struct ProviderHolder {
  std::shared_ptr<Volume> origin;
  std::shared_ptr<Volume> diff;
  std::unique_ptr<SnapshotProvider> provider;
};

}  // namespace freezeframe::c_api

struct ff_provider {
  std::shared_ptr<freezeframe::c_api::ProviderHolder> holder;
};

struct ff_clock {
  std::shared_ptr<freezeframe::Clock> clock;
  // Set for a simulated clock.
  freezeframe::sim::SimClock* sim = nullptr;
};

namespace freezeframe::c_api {

// Records `status` as this thread's last error and returns its code (FF_OK for OK).
int fail(const Status& status) noexcept;
int fail(ErrorCode code, const char* message) noexcept;
// Clears this thread's last error.
void clear_error() noexcept;

// Runs `body` (returning a Status) with the last error cleared first; any exception becomes
// an error code with its message.
template <typename Body>
int guarded(Body&& body) noexcept {
  clear_error();
  try {
    const Status status = std::forward<Body>(body)();
    return status.ok() ? FF_OK : fail(status);
  } catch (const std::bad_alloc&) {
    return fail(ErrorCode::kNoSpace, "out of memory");
  } catch (const std::exception& error) {
    return fail(ErrorCode::kIoError, error.what());
  } catch (...) {
    return fail(ErrorCode::kIoError, "an unknown internal error");
  }
}

// The volume behind a handle: kInvalidArgument for NULL, kBadState when closed.
Result<Volume*> open_volume(ff_volume* handle, const char* what);
Result<SnapshotProvider*> open_provider(ff_provider* handle);
Status require(bool condition, const std::string& message);
// Copies `text` with its NUL into `out` of `out_bytes`; kInvalidArgument naming `what` when
// it does not fit.
Status copy_text(const std::string& text, char* out, std::size_t out_bytes, const char* what);
// The C description of a snapshot.
Status fill_snapshot_info(const SnapshotInfo& info, ff_snapshot_info& out);
// A new handle owning `volume`.
ff_volume* new_volume_handle(std::shared_ptr<Volume> volume);
// A list in one malloc'ed block that ff_changed_extents_free() releases; nullptr when out of
// memory.
ff_changed_extents* new_changed_extents(const ChangedExtents& changed);
// Copies `text` into `out` of `out_bytes`, cut to fit, always NUL-terminated.
void copy_text_cut(const std::string& text, char* out, std::size_t out_bytes) noexcept;

}  // namespace freezeframe::c_api

// freezeframe/vss.h on Windows: COM, the real VSS entry points, a VssBackend behind a
// BackupSession, the shadow copies outside a session, and the `vss` provider.
#include "freezeframe/vss.h"
#include "freezeframe/vss_errors.h"
#include "vss_backend.h"
#include "vss_provider.h"
#include "vss_shadows.h"
// After vss_backend.h, which brings <windows.h>.
#include <objbase.h>

namespace freezeframe {

namespace windows {

VssApi VssApi::system() {
  return VssApi{.create = [](IVssBackupComponents** out) { return CreateVssBackupComponents(out); },
                .free_snapshot_properties =
                    [](VSS_SNAPSHOT_PROP* properties) { VssFreeSnapshotProperties(properties); }};
}

namespace {

// COM on this thread for the length of one call (multithreaded apartment); left as it was when
// the thread already has an apartment of another kind.
class ComScope {
 public:
  ComScope() : result_(CoInitializeEx(nullptr, COINIT_MULTITHREADED)) {}
  ~ComScope() {
    if (SUCCEEDED(result_))
      CoUninitialize();
  }
  ComScope(const ComScope&) = delete;
  ComScope& operator=(const ComScope&) = delete;
  Status status() const {
    if (FAILED(result_) && result_ != RPC_E_CHANGED_MODE)
      return vss::hresult_status("CoInitializeEx", static_cast<std::uint32_t>(result_));
    return Status();
  }

 private:
  HRESULT result_;
};

// The backend's options from the caller's: its clock, or a SystemClock of the backend's own.
VssBackendOptions backend_options(const VssSessionOptions& options,
                                  std::function<void()> on_release) {
  std::shared_ptr<Clock> own_clock;
  Clock* clock = options.clock;
  if (clock == nullptr) {
    own_clock = std::make_shared<SystemClock>();
    clock = own_clock.get();
  }
  return VssBackendOptions{.clock = clock,
                           .own_clock = std::move(own_clock),
                           .do_snapshot_set_duration_max = options.do_snapshot_set_duration_max,
                           .async_duration_max = options.async_duration_max,
                           .poll_interval = options.poll_interval,
                           .backup_bootable_system_state = options.backup_bootable_system_state,
                           .on_release = std::move(on_release)};
}

}  // namespace

}  // namespace windows

bool vss_built_in() noexcept {
  return true;
}

Result<std::vector<VssShadowCopy>> list_vss_shadows() {
  windows::ComScope com;
  FF_TRY(com.status());
  return windows::query_shadows(windows::VssApi::system());
}

Status delete_vss_shadow(const Uuid& shadow_id) {
  windows::ComScope com;
  FF_TRY(com.status());
  return windows::delete_shadow(windows::VssApi::system(), shadow_id);
}

Result<std::unique_ptr<Volume>> open_vss_shadow(const VssShadowCopy& shadow) {
  return windows::open_shadow_device(windows::widen(shadow.device), shadow.original_volume);
}

Result<std::unique_ptr<ProtocolProvider>> create_vss_provider(const VssSessionOptions& options) {
  // The provider's calls come from the coordinator's threads: the multithreaded apartment is
  // kept alive for as long as the provider lives, so its VSS objects stay usable from any of
  // them (each thread joins the apartment implicitly).
  CO_MTA_USAGE_COOKIE cookie{};
  const HRESULT mta = CoIncrementMTAUsage(&cookie);
  if (FAILED(mta))
    return vss::hresult_status("CoIncrementMTAUsage", static_cast<std::uint32_t>(mta));
  windows::VssBackendOptions backend_options =
      windows::backend_options(options, [cookie] { CoDecrementMTAUsage(cookie); });
  auto provider =
      windows::VssProvider::create(windows::VssApi::system(), std::move(backend_options));
  if (!provider.ok()) {
    CoDecrementMTAUsage(cookie);
    return provider.status();
  }
  return std::unique_ptr<ProtocolProvider>(std::move(provider).value());
}

Result<std::unique_ptr<BackupSession>> create_vss_session(const VssSessionOptions& options) {
  const HRESULT com = CoInitializeEx(nullptr, COINIT_MULTITHREADED);
  // S_FALSE: already initialised on this thread (counted, so uninitialised once more);
  // RPC_E_CHANGED_MODE: a single-threaded apartment already; use it and leave it alone.
  const bool uninitialize = SUCCEEDED(com);
  if (FAILED(com) && com != RPC_E_CHANGED_MODE)
    return vss::hresult_status("CoInitializeEx", static_cast<std::uint32_t>(com));
  windows::VssBackendOptions backend_options = windows::backend_options(options, [uninitialize] {
    if (uninitialize)
      CoUninitialize();
  });
  auto backend = windows::VssBackend::create(windows::VssApi::system(), std::move(backend_options));
  if (!backend.ok()) {
    if (uninitialize)
      CoUninitialize();
    return backend.status();
  }
  return std::make_unique<BackupSession>(std::move(backend).value());
}

}  // namespace freezeframe

// create_vss_session() on Windows: COM, the real VSS entry points, and a VssBackend behind a
// BackupSession (freezeframe/vss.h).
#include "freezeframe/vss.h"
#include "freezeframe/vss_errors.h"
#include "vss_backend.h"
// After vss_backend.h, which brings <windows.h>.
#include <objbase.h>

namespace freezeframe {

namespace windows {

VssApi VssApi::system() {
  return VssApi{.create = [](IVssBackupComponents** out) { return CreateVssBackupComponents(out); },
                .free_snapshot_properties =
                    [](VSS_SNAPSHOT_PROP* properties) { VssFreeSnapshotProperties(properties); }};
}

}  // namespace windows

Result<std::unique_ptr<BackupSession>> create_vss_session(const VssSessionOptions& options) {
  const HRESULT com = CoInitializeEx(nullptr, COINIT_MULTITHREADED);
  // S_FALSE: already initialised on this thread (counted, so uninitialised once more);
  // RPC_E_CHANGED_MODE: a single-threaded apartment already; use it and leave it alone.
  const bool uninitialize = SUCCEEDED(com);
  if (FAILED(com) && com != RPC_E_CHANGED_MODE)
    return vss::hresult_status("CoInitializeEx", static_cast<std::uint32_t>(com));
  std::shared_ptr<Clock> own_clock;
  Clock* clock = options.clock;
  if (clock == nullptr) {
    own_clock = std::make_shared<SystemClock>();
    clock = own_clock.get();
  }
  windows::VssBackendOptions backend_options{
      .clock = clock,
      .own_clock = std::move(own_clock),
      .do_snapshot_set_duration_max = options.do_snapshot_set_duration_max,
      .async_duration_max = options.async_duration_max,
      .poll_interval = options.poll_interval,
      .backup_bootable_system_state = options.backup_bootable_system_state,
      .on_release = [uninitialize] {
        if (uninitialize)
          CoUninitialize();
      }};
  auto backend = windows::VssBackend::create(windows::VssApi::system(), std::move(backend_options));
  if (!backend.ok()) {
    if (uninitialize)
      CoUninitialize();
    return backend.status();
  }
  return std::make_unique<BackupSession>(std::move(backend).value());
}

}  // namespace freezeframe

// Shadow copies outside a backup session, over a VssApi (the real one or a test's fake): a
// VSS object made ready for backup, every shadow copy VSS holds (Query), one deleted by id, and
// a shadow copy's device opened as a read-only Volume. freezeframe/vss.h's list_vss_shadows,
// delete_vss_shadow and open_vss_shadow are these over VssApi::system(). Private to
// platform/windows.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "freezeframe/vss.h"
#include "vss_backend.h"

namespace freezeframe::windows {

// CreateVssBackupComponents, then InitializeForBackup. kUnsupported "VSS is not available on
// this system (...)" when the first fails (but for E_ACCESSDENIED) or the second returns
// E_NOTIMPL; other failures as vss::hresult_status. The object is released on failure.
Result<ComRef<IVssBackupComponents>> make_backup_components(const VssApi& api);

// The properties VSS reports, in freezeframe's terms.
VssShadowCopy shadow_from(const VSS_SNAPSHOT_PROP& properties);

// Every shadow copy VSS holds: a new object in VSS_CTX_ALL, Query, each result's properties
// freed (api.free_snapshot_properties) as soon as it is copied.
Result<std::vector<VssShadowCopy>> query_shadows(const VssApi& api);
// DeleteSnapshots of one shadow copy (VSS_OBJECT_SNAPSHOT, forced) on `components`, or on a
// new object in VSS_CTX_ALL. kNotFound for VSS_E_OBJECT_NOT_FOUND.
Status delete_shadow(IVssBackupComponents& components, const Uuid& shadow_id);
Status delete_shadow(const VssApi& api, const Uuid& shadow_id);

// The shadow copy's device (\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN) as a read-only
// FileVolume named `name`; opened as \\.\GLOBALROOT\..., the device it is (sized by IOCTL).
Result<std::unique_ptr<Volume>> open_shadow_device(std::wstring device, const std::string& name);

}  // namespace freezeframe::windows

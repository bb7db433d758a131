// Shadow copies outside a backup session (see vss_shadows.h).
#include "vss_shadows.h"

#include <algorithm>
#include <utility>

#include "freezeframe/file_volume.h"
#include "freezeframe/vss_errors.h"

namespace freezeframe::windows {

namespace {

std::uint32_t bits(HRESULT hr) {
  return static_cast<std::uint32_t>(hr);
}

std::string text_of(const VSS_PWSZ text) {
  return text != nullptr ? narrow(text) : std::string();
}

// VSS_CTX_ALL: every shadow copy, whatever its context (what vssadmin's list and delete use).
constexpr LONG kContextAll = static_cast<LONG>(0xffffffff);

Result<ComRef<IVssBackupComponents>> components_for_all(const VssApi& api) {
  FF_ASSIGN_OR_RETURN(ComRef<IVssBackupComponents> components, make_backup_components(api));
  FF_TRY(vss::hresult_status("SetContext(VSS_CTX_ALL)", bits(components->SetContext(kContextAll))));
  return components;
}

}  // namespace

Result<ComRef<IVssBackupComponents>> make_backup_components(const VssApi& api) {
  ComRef<IVssBackupComponents> components;
  const HRESULT created = api.create(components.put());
  // Not an administrator or backup operator: VSS is there, the rights are not.
  if (bits(created) == vss::hr::kAccessDenied)
    return vss::hresult_status("CreateVssBackupComponents", bits(created));
  if (FAILED(created) || !components)
    return vss::vss_unavailable("CreateVssBackupComponents", bits(created));
  const HRESULT initialized = components->InitializeForBackup(nullptr);
  if (initialized == E_NOTIMPL)
    return vss::vss_unavailable("InitializeForBackup", bits(initialized));
  FF_TRY(vss::hresult_status("InitializeForBackup", bits(initialized)));
  return components;
}

VssShadowCopy shadow_from(const VSS_SNAPSHOT_PROP& properties) {
  return VssShadowCopy{
      .id = uuid_from_guid(properties.m_SnapshotId),
      .set_id = uuid_from_guid(properties.m_SnapshotSetId),
      .set_size = static_cast<std::uint32_t>(std::max<LONG>(properties.m_lSnapshotsCount, 0)),
      .original_volume = text_of(properties.m_pwszOriginalVolumeName),
      .device = text_of(properties.m_pwszSnapshotDeviceObject),
      .originating_machine = text_of(properties.m_pwszOriginatingMachine),
      .service_machine = text_of(properties.m_pwszServiceMachine),
      .provider_id = uuid_from_guid(properties.m_ProviderId),
      .attributes = static_cast<std::uint32_t>(properties.m_lSnapshotAttributes),
      .created = unix_time_from_vss(properties.m_tsCreationTimestamp)};
}

Result<std::vector<VssShadowCopy>> query_shadows(const VssApi& api) {
  FF_ASSIGN_OR_RETURN(ComRef<IVssBackupComponents> components, components_for_all(api));
  ComRef<IVssEnumObject> found;
  const HRESULT queried =
      components->Query(GUID_NULL, VSS_OBJECT_NONE, VSS_OBJECT_SNAPSHOT, found.put());
  // S_FALSE (or nothing to enumerate): VSS holds no shadow copy.
  if (queried == S_FALSE || bits(queried) == vss::hr::kObjectNotFound)
    return std::vector<VssShadowCopy>{};
  FF_TRY(vss::hresult_status("Query", bits(queried)));
  if (!found)
    return std::vector<VssShadowCopy>{};
  std::vector<VssShadowCopy> shadows;
  for (;;) {
    VSS_OBJECT_PROP object{};
    ULONG fetched = 0;
    const HRESULT next = found->Next(1, &object, &fetched);
    FF_TRY(vss::hresult_status("IVssEnumObject::Next", bits(next)));
    if (fetched == 0)
      break;
    if (object.Type == VSS_OBJECT_SNAPSHOT) {
      shadows.push_back(shadow_from(object.Obj.Snap));
      api.free_snapshot_properties(&object.Obj.Snap);
    }
  }
  std::stable_sort(
      shadows.begin(), shadows.end(),
      [](const VssShadowCopy& a, const VssShadowCopy& b) { return a.created < b.created; });
  return shadows;
}

Status delete_shadow(IVssBackupComponents& components, const Uuid& shadow_id) {
  LONG deleted = 0;
  VSS_ID not_deleted{};
  const HRESULT hr = components.DeleteSnapshots(guid_from_uuid(shadow_id), VSS_OBJECT_SNAPSHOT,
                                                TRUE, &deleted, &not_deleted);
  if (bits(hr) == vss::hr::kObjectNotFound)
    return not_found("VSS holds no shadow copy " + shadow_id.to_string());
  return vss::hresult_status("DeleteSnapshots", bits(hr))
      .with_context("shadow copy " + shadow_id.to_string());
}

Status delete_shadow(const VssApi& api, const Uuid& shadow_id) {
  FF_ASSIGN_OR_RETURN(ComRef<IVssBackupComponents> components, components_for_all(api));
  return delete_shadow(*components.get(), shadow_id);
}

Result<std::unique_ptr<Volume>> open_shadow_device(std::wstring device, const std::string& name) {
  if (device.empty())
    return not_found("the shadow copy of '" + name + "' has no device");
  constexpr std::wstring_view kWin32Prefix = L"\\\\?\\GLOBALROOT\\";
  if (device.rfind(kWin32Prefix, 0) == 0)
    device[2] = L'.';
  FileVolumeOpenOptions options;
  options.read_only = true;
  options.name = name;
  FF_ASSIGN_OR_RETURN(std::unique_ptr<FileVolume> opened,
                      FileVolume::open(narrow(device), options));
  return std::unique_ptr<Volume>(std::move(opened));
}

}  // namespace freezeframe::windows

// COM helpers of the VSS backend and the mapping of a writer's metadata document
// (IVssExamineWriterMetadata) to freezeframe's WriterMetadata.
#include "vss_com.h"

#include <algorithm>
#include <array>
#include <cwctype>

#include "freezeframe/vss_errors.h"

namespace freezeframe::windows {

std::string take_bstr(BSTR& text) {
  if (text == nullptr)
    return {};
  std::string utf8 = narrow(std::wstring(text, SysStringLen(text)));
  SysFreeString(text);
  text = nullptr;
  return utf8;
}

Uuid uuid_from_guid(const GUID& guid) {
  std::array<std::uint8_t, 16> bytes{};
  for (int i = 0; i < 4; ++i)
    bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(guid.Data1 >> (24 - 8 * i));
  bytes[4] = static_cast<std::uint8_t>(guid.Data2 >> 8);
  bytes[5] = static_cast<std::uint8_t>(guid.Data2);
  bytes[6] = static_cast<std::uint8_t>(guid.Data3 >> 8);
  bytes[7] = static_cast<std::uint8_t>(guid.Data3);
  for (std::size_t i = 0; i < 8; ++i)
    bytes[8 + i] = guid.Data4[i];
  return Uuid(bytes);
}

GUID guid_from_uuid(const Uuid& uuid) {
  const auto& bytes = uuid.bytes();
  GUID guid{};
  guid.Data1 = (static_cast<unsigned long>(bytes[0]) << 24) |
               (static_cast<unsigned long>(bytes[1]) << 16) |
               (static_cast<unsigned long>(bytes[2]) << 8) | bytes[3];
  guid.Data2 = static_cast<unsigned short>((bytes[4] << 8) | bytes[5]);
  guid.Data3 = static_cast<unsigned short>((bytes[6] << 8) | bytes[7]);
  for (std::size_t i = 0; i < 8; ++i)
    guid.Data4[i] = bytes[8 + i];
  return guid;
}

Nanoseconds unix_time_from_vss(std::int64_t timestamp) {
  // 1601-01-01 to 1970-01-01 in 100 ns units.
  constexpr std::int64_t kEpochDifference = 116444736000000000LL;
  return Nanoseconds((timestamp - kEpochDifference) * 100);
}

namespace {

// The volume a path lies on, as VSS names volumes; empty when the path names none.
std::string volume_of(const std::string& path) {
  if (path.size() >= 2 && std::iswalpha(static_cast<wint_t>(path[0])) && path[1] == ':') {
    return std::string(1, static_cast<char>(std::towupper(static_cast<wint_t>(path[0])))) + ":\\";
  }
  constexpr std::string_view kVolumePrefix = "\\\\?\\Volume{";
  if (path.rfind(kVolumePrefix, 0) == 0) {
    const std::size_t close = path.find("}\\", kVolumePrefix.size());
    if (close != std::string::npos)
      return path.substr(0, close + 2);
  }
  return {};
}

Result<FileSpec> file_spec_from(IVssWMFiledesc& file, const char* call) {
  FileSpec spec;
  BSTR text = nullptr;
  HRESULT hr = file.GetPath(&text);
  FF_TRY(vss::hresult_status(std::string(call) + ": IVssWMFiledesc::GetPath",
                             static_cast<std::uint32_t>(hr)));
  spec.path = take_bstr(text);
  hr = file.GetFilespec(&text);
  FF_TRY(vss::hresult_status(std::string(call) + ": IVssWMFiledesc::GetFilespec",
                             static_cast<std::uint32_t>(hr)));
  spec.filespec = take_bstr(text);
  boolean recursive = 0;
  if (SUCCEEDED(file.GetRecursive(&recursive)))
    spec.recursive = recursive != 0;
  if (SUCCEEDED(file.GetAlternateLocation(&text)))
    spec.alternate_location = take_bstr(text);
  DWORD mask = 0;
  if (SUCCEEDED(file.GetBackupTypeMask(&mask)))
    spec.backup_type_mask = mask;
  return spec;
}

// Reads `count` file descriptors through `get` (GetFile, GetDatabaseFile, ...) into `out`.
template <typename Get>
Status read_files(UINT count, const char* call, Get get, std::vector<FileSpec>& out) {
  for (UINT i = 0; i < count; ++i) {
    ComRef<IVssWMFiledesc> file;
    FF_TRY(vss::hresult_status(call, static_cast<std::uint32_t>(get(i, file.put()))));
    if (!file)
      return io_error(std::string(call) + " returned no file descriptor");
    FF_ASSIGN_OR_RETURN(FileSpec spec, file_spec_from(*file.get(), call));
    out.push_back(std::move(spec));
  }
  return Status();
}

Result<WriterComponent> component_from(IVssWMComponent& component) {
  PVSSCOMPONENTINFO info = nullptr;
  FF_TRY(vss::hresult_status("IVssWMComponent::GetComponentInfo",
                             static_cast<std::uint32_t>(component.GetComponentInfo(&info))));
  if (info == nullptr)
    return io_error("IVssWMComponent::GetComponentInfo returned no information");
  WriterComponent result;
  result.type = info->type == VSS_CT_DATABASE    ? ComponentType::kDatabase
                : info->type == VSS_CT_FILEGROUP ? ComponentType::kFileGroup
                                                 : ComponentType::kUndefined;
  auto copy = [](BSTR text) {
    return text == nullptr ? std::string() : narrow(std::wstring(text, SysStringLen(text)));
  };
  result.logical_path = copy(info->bstrLogicalPath);
  result.name = copy(info->bstrComponentName);
  result.caption = copy(info->bstrCaption);
  result.selectable = info->bSelectable != 0;
  result.notify_on_backup_complete = info->bNotifyOnBackupComplete != 0;
  const UINT files = info->cFileCount;
  const UINT databases = info->cDatabases;
  const UINT logs = info->cLogFiles;
  component.FreeComponentInfo(info);
  FF_TRY(read_files(
      files, "IVssWMComponent::GetFile",
      [&](UINT i, IVssWMFiledesc** out) { return component.GetFile(i, out); }, result.files));
  FF_TRY(read_files(
      databases, "IVssWMComponent::GetDatabaseFile",
      [&](UINT i, IVssWMFiledesc** out) { return component.GetDatabaseFile(i, out); },
      result.files));
  FF_TRY(read_files(
      logs, "IVssWMComponent::GetDatabaseLogFile",
      [&](UINT i, IVssWMFiledesc** out) { return component.GetDatabaseLogFile(i, out); },
      result.database_logs));
  for (const auto* list : {&result.files, &result.database_logs}) {
    for (const FileSpec& spec : *list) {
      std::string volume = volume_of(spec.path);
      if (!volume.empty() &&
          std::find(result.volumes.begin(), result.volumes.end(), volume) == result.volumes.end())
        result.volumes.push_back(std::move(volume));
    }
  }
  return result;
}

}  // namespace

Result<WriterMetadata> writer_metadata_from(IVssExamineWriterMetadata& document) {
  WriterMetadata metadata;
  VSS_ID instance{};
  VSS_ID writer{};
  BSTR name = nullptr;
  VSS_USAGE_TYPE usage = VSS_UT_UNDEFINED;
  VSS_SOURCE_TYPE source = VSS_ST_UNDEFINED;
  FF_TRY(vss::hresult_status("IVssExamineWriterMetadata::GetIdentity",
                             static_cast<std::uint32_t>(document.GetIdentity(
                                 &instance, &writer, &name, &usage, &source))));
  metadata.name = take_bstr(name);
  metadata.instance_id = uuid_from_guid(instance);
  metadata.class_id = uuid_from_guid(writer);
  metadata.usage = usage >= VSS_UT_UNDEFINED && usage <= VSS_UT_OTHER
                       ? static_cast<WriterUsage>(usage)
                       : WriterUsage::kUndefined;
  metadata.source = source >= VSS_ST_UNDEFINED && source <= VSS_ST_OTHER
                        ? static_cast<WriterSource>(source)
                        : WriterSource::kUndefined;
  const std::string context = "writer '" + metadata.name + "'";

  VSS_RESTOREMETHOD_ENUM method = VSS_RME_UNDEFINED;
  BSTR service = nullptr;
  BSTR user_procedure = nullptr;
  VSS_WRITERRESTORE_ENUM writer_restore = VSS_WRE_UNDEFINED;
  boolean reboot = 0;
  UINT mappings = 0;
  // S_FALSE: the writer declared no restore method; the defaults stay.
  if (document.GetRestoreMethod(&method, &service, &user_procedure, &writer_restore, &reboot,
                                &mappings) == S_OK) {
    if (method >= VSS_RME_UNDEFINED && method <= VSS_RME_RESTORE_STOP_START)
      metadata.restore_method = static_cast<RestoreMethod>(method);
    metadata.restore_service = take_bstr(service);
    metadata.reboot_required = reboot != 0;
  }
  take_bstr(service);
  take_bstr(user_procedure);

  UINT includes = 0;
  UINT excludes = 0;
  UINT components = 0;
  Status status = vss::hresult_status(
      "IVssExamineWriterMetadata::GetFileCounts",
      static_cast<std::uint32_t>(document.GetFileCounts(&includes, &excludes, &components)));
  if (!status.ok())
    return status.with_context(context);
  status = read_files(
      excludes, "IVssExamineWriterMetadata::GetExcludeFile",
      [&](UINT i, IVssWMFiledesc** out) { return document.GetExcludeFile(i, out); },
      metadata.excluded_files);
  if (!status.ok())
    return status.with_context(context);
  for (UINT i = 0; i < components; ++i) {
    ComRef<IVssWMComponent> component;
    status =
        vss::hresult_status("IVssExamineWriterMetadata::GetComponent",
                            static_cast<std::uint32_t>(document.GetComponent(i, component.put())));
    if (status.ok() && !component)
      status = io_error("IVssExamineWriterMetadata::GetComponent returned no component");
    if (!status.ok())
      return status.with_context(context);
    Result<WriterComponent> mapped = component_from(*component.get());
    if (!mapped.ok())
      return mapped.status().with_context(context);
    metadata.components.push_back(std::move(mapped).value());
  }
  return metadata;
}

}  // namespace freezeframe::windows

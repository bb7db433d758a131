// The fake VSS requestor object (see fake_vss.h).
#include "fake_vss.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cwchar>

namespace freezeframe::testing {

namespace {

// COM interfaces have no virtual destructor (an object deletes itself in Release); the fakes
// do, through FakeUnknown's, which is what -Wnon-virtual-dtor asks for and cannot see.
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"

// IUnknown for every fake: counts references and live objects in the FakeVss.
template <typename Interface>
class FakeUnknown : public Interface {
 public:
  explicit FakeUnknown(FakeVss& vss) : vss_(vss) {
    ++vss_.objects_made;
    ++vss_.live_objects;
  }
  virtual ~FakeUnknown() { --vss_.live_objects; }
  FakeUnknown(const FakeUnknown&) = delete;
  FakeUnknown& operator=(const FakeUnknown&) = delete;

  HRESULT STDMETHODCALLTYPE QueryInterface(REFIID, void** out) override {
    *out = nullptr;
    return E_NOINTERFACE;
  }
  ULONG STDMETHODCALLTYPE AddRef() override {
    ++vss_.add_refs;
    return static_cast<ULONG>(++references_);
  }
  ULONG STDMETHODCALLTYPE Release() override {
    ++vss_.releases;
    const long left = --references_;
    if (left == 0) {
      last_release();
      delete this;
    }
    return static_cast<ULONG>(left);
  }

 protected:
  virtual void last_release() {}
  FakeVss& vss_;

 private:
  long references_ = 1;  // the creator's
};

BSTR bstr(const std::wstring& text) {
  return SysAllocString(text.c_str());
}

std::wstring co_string_copy(const std::wstring& text, VSS_PWSZ& out) {
  const std::size_t bytes = (text.size() + 1) * sizeof(wchar_t);
  out = static_cast<VSS_PWSZ>(CoTaskMemAlloc(bytes));
  std::memcpy(out, text.c_str(), bytes);
  return text;
}

std::string hex(std::uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%X", static_cast<unsigned>(value));
  return text;
}

class FakeAsync final : public FakeUnknown<IVssAsync> {
 public:
  FakeAsync(FakeVss& vss, std::string call, HRESULT result, bool never)
      : FakeUnknown(vss), call_(std::move(call)), result_(result), never_(never) {}

  HRESULT STDMETHODCALLTYPE Cancel() override {
    vss_.calls.push_back("Cancel(" + call_ + ")");
    if (finished())
      return static_cast<HRESULT>(0x0004230A);  // VSS_S_ASYNC_FINISHED
    cancelled_ = true;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE Wait(DWORD) override { return E_NOTIMPL; }
  HRESULT STDMETHODCALLTYPE QueryStatus(HRESULT* result, INT*) override {
    ++vss_.polls;
    ++polls_;
    if (vss_.script.on_poll)
      vss_.script.on_poll(call_);
    if (cancelled_)
      *result = static_cast<HRESULT>(0x0004230B);  // VSS_S_ASYNC_CANCELLED
    else if (!finished())
      *result = static_cast<HRESULT>(0x00042309);  // VSS_S_ASYNC_PENDING
    else
      *result = SUCCEEDED(result_) ? static_cast<HRESULT>(0x0004230A) : result_;
    return S_OK;
  }

 private:
  bool finished() const { return !never_ && polls_ > vss_.script.pending_polls; }

  std::string call_;
  HRESULT result_;
  bool never_;
  bool cancelled_ = false;
  int polls_ = 0;
};

class FakeFiledesc final : public FakeUnknown<IVssWMFiledesc> {
 public:
  FakeFiledesc(FakeVss& vss, std::wstring path, std::wstring spec)
      : FakeUnknown(vss), path_(std::move(path)), spec_(std::move(spec)) {}
  HRESULT STDMETHODCALLTYPE GetPath(BSTR* out) override {
    *out = bstr(path_);
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetFilespec(BSTR* out) override {
    *out = bstr(spec_);
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetRecursive(boolean* out) override {
    *out = 1;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetAlternateLocation(BSTR* out) override {
    *out = nullptr;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetBackupTypeMask(DWORD* out) override {
    *out = 0xF0F;
    return S_OK;
  }

 private:
  std::wstring path_;
  std::wstring spec_;
};

class FakeComponent final : public FakeUnknown<IVssWMComponent> {
 public:
  FakeComponent(FakeVss& vss, const FakeWriter& writer) : FakeUnknown(vss), writer_(writer) {}
  HRESULT STDMETHODCALLTYPE GetComponentInfo(PVSSCOMPONENTINFO* out) override {
    auto* info = new VSS_COMPONENTINFO{};
    info->type = VSS_CT_FILEGROUP;
    info->bstrLogicalPath = bstr(L"");
    info->bstrComponentName = bstr(writer_.component);
    info->bstrCaption = bstr(writer_.component + L" files");
    info->bSelectable = 1;
    info->bNotifyOnBackupComplete = 1;
    info->cFileCount = 1;
    ++infos_out_;
    *out = info;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE FreeComponentInfo(PVSSCOMPONENTINFO info) override {
    SysFreeString(info->bstrLogicalPath);
    SysFreeString(info->bstrComponentName);
    SysFreeString(info->bstrCaption);
    delete info;
    --infos_out_;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetFile(UINT, IVssWMFiledesc** out) override {
    *out = new FakeFiledesc(vss_, writer_.file_path, writer_.file_spec);
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetDatabaseFile(UINT, IVssWMFiledesc**) override {
    return E_INVALIDARG;
  }
  HRESULT STDMETHODCALLTYPE GetDatabaseLogFile(UINT, IVssWMFiledesc**) override {
    return E_INVALIDARG;
  }
  HRESULT STDMETHODCALLTYPE GetDependency(UINT, IVssWMDependency**) override { return E_NOTIMPL; }

 protected:
  void last_release() override {
    if (infos_out_ != 0)
      vss_.calls.push_back("LEAK: component info not freed");
  }

 private:
  FakeWriter writer_;
  int infos_out_ = 0;
};

class FakeMetadata final : public FakeUnknown<IVssExamineWriterMetadata> {
 public:
  FakeMetadata(FakeVss& vss, const FakeWriter& writer) : FakeUnknown(vss), writer_(writer) {}
  HRESULT STDMETHODCALLTYPE GetIdentity(VSS_ID* instance, VSS_ID* writer, BSTR* name,
                                        VSS_USAGE_TYPE* usage, VSS_SOURCE_TYPE* source) override {
    *instance = writer_.instance_id;
    *writer = writer_.class_id;
    *name = bstr(writer_.name);
    *usage = VSS_UT_USERDATA;
    *source = VSS_ST_TRANSACTEDDB;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetFileCounts(UINT* includes, UINT* excludes,
                                          UINT* components) override {
    *includes = 0;
    *excludes = 0;
    *components = 1;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetIncludeFile(UINT, IVssWMFiledesc**) override { return E_INVALIDARG; }
  HRESULT STDMETHODCALLTYPE GetExcludeFile(UINT, IVssWMFiledesc**) override { return E_INVALIDARG; }
  HRESULT STDMETHODCALLTYPE GetComponent(UINT, IVssWMComponent** out) override {
    *out = new FakeComponent(vss_, writer_);
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetRestoreMethod(VSS_RESTOREMETHOD_ENUM* method, BSTR* service,
                                             BSTR* user_procedure,
                                             VSS_WRITERRESTORE_ENUM* writer_restore,
                                             boolean* reboot, UINT* mappings) override {
    *method = VSS_RME_RESTORE_IF_NOT_THERE;
    *service = nullptr;
    *user_procedure = nullptr;
    *writer_restore = VSS_WRE_NEVER;
    *reboot = 0;
    *mappings = 0;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetAlternateLocationMapping(UINT, IVssWMFiledesc**) override {
    return E_NOTIMPL;
  }
  HRESULT STDMETHODCALLTYPE GetBackupSchema(DWORD* schema) override {
    *schema = 0;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE GetDocument(IXMLDOMDocument**) override { return E_NOTIMPL; }
  HRESULT STDMETHODCALLTYPE SaveAsXML(BSTR*) override { return E_NOTIMPL; }
  HRESULT STDMETHODCALLTYPE LoadFromXML(BSTR) override { return E_NOTIMPL; }

 private:
  FakeWriter writer_;
};

struct WriterProgress {
  VSS_WRITER_STATE state = VSS_WS_STABLE;
  HRESULT failure = S_OK;
};

// A shadow copy's properties as GetSnapshotProperties and Query hand them out (strings in
// CoTaskMem, freed by VssFreeSnapshotProperties).
void fill_properties(const FakeShadow& shadow, VSS_SNAPSHOT_PROP& properties) {
  properties = VSS_SNAPSHOT_PROP{};
  properties.m_SnapshotId = shadow.id;
  properties.m_SnapshotSetId = shadow.set_id;
  properties.m_lSnapshotsCount = shadow.set_size;
  co_string_copy(shadow.device, properties.m_pwszSnapshotDeviceObject);
  co_string_copy(shadow.original_volume, properties.m_pwszOriginalVolumeName);
  co_string_copy(L"fakehost", properties.m_pwszOriginatingMachine);
  co_string_copy(L"fakehost", properties.m_pwszServiceMachine);
  properties.m_ProviderId =
      GUID{0xb5946137, 0x7b9f, 0x4925, {0xaf, 0x80, 0x51, 0xab, 0xd6, 0x0b, 0x20, 0xd5}};
  properties.m_lSnapshotAttributes = shadow.attributes;
  // 2026-01-01T00:00:00Z in 100 ns units since 1601.
  properties.m_tsCreationTimestamp = 116444736000000000LL + 17672256000000000LL;
  properties.m_eStatus = VSS_SS_CREATED;
}

// Query's IVssEnumObject over a copy of the shadow copies at the time of the query.
class FakeEnum final : public FakeUnknown<IVssEnumObject> {
 public:
  FakeEnum(FakeVss& vss, std::vector<FakeShadow> shadows)
      : FakeUnknown(vss), shadows_(std::move(shadows)) {}
  HRESULT STDMETHODCALLTYPE Next(ULONG count, VSS_OBJECT_PROP* out, ULONG* fetched) override {
    ULONG given = 0;
    for (; given < count && next_ < shadows_.size(); ++given, ++next_) {
      out[given] = VSS_OBJECT_PROP{};
      out[given].Type = VSS_OBJECT_SNAPSHOT;
      fill_properties(shadows_[next_], out[given].Obj.Snap);
      ++vss_.properties_out;
    }
    *fetched = given;
    return given == count ? S_OK : S_FALSE;
  }
  HRESULT STDMETHODCALLTYPE Skip(ULONG count) override {
    next_ = std::min(shadows_.size(), next_ + count);
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE Reset() override {
    next_ = 0;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE Clone(IVssEnumObject**) override { return E_NOTIMPL; }

 private:
  std::vector<FakeShadow> shadows_;
  std::size_t next_ = 0;
};

class FakeComponents final : public FakeUnknown<IVssBackupComponents> {
 public:
  explicit FakeComponents(FakeVss& vss)
      : FakeUnknown(vss), ordinal_(static_cast<unsigned short>(++vss.components_made - 1)) {
    progress_.resize(vss_.script.writers.size());
  }

  // The scripted return value of `call` (S_OK if none), after recording it as `entry`.
  HRESULT record(const std::string& call, const std::string& entry) {
    vss_.calls.push_back(entry);
    auto it = vss_.script.returns.find(call);
    return it == vss_.script.returns.end() ? S_OK : it->second;
  }
  HRESULT record(const std::string& call) { return record(call, call); }

  // An asynchronous call: the scripted return, else an IVssAsync with the scripted result.
  HRESULT start_async(const std::string& call, IVssAsync** out) {
    *out = nullptr;
    const HRESULT hr = record(call);
    if (FAILED(hr))
      return hr;
    auto it = vss_.script.async_results.find(call);
    const HRESULT result = it == vss_.script.async_results.end() ? S_OK : it->second;
    // Writer events (a status query is none).
    for (std::size_t i = 0; i < vss_.script.writers.size() && call != "GatherWriterStatus"; ++i) {
      const FakeWriter& writer = vss_.script.writers[i];
      if (writer.fails_at == call) {
        progress_[i] = {writer.failed_state, writer.failure};
      } else if (!FAILED(progress_[i].failure) && progress_[i].state < VSS_WS_FAILED_AT_IDENTIFY) {
        progress_[i].state =
            call == "DoSnapshotSet" ? VSS_WS_WAITING_FOR_BACKUP_COMPLETE : VSS_WS_STABLE;
      }
    }
    *out = new FakeAsync(vss_, call, result, vss_.script.never_finish.count(call) != 0);
    return S_OK;
  }

  HRESULT STDMETHODCALLTYPE GetWriterComponentsCount(UINT*) override { return E_NOTIMPL; }
  HRESULT STDMETHODCALLTYPE GetWriterComponents(UINT, IVssWriterComponentsExt**) override {
    return E_NOTIMPL;
  }
  HRESULT STDMETHODCALLTYPE InitializeForBackup(BSTR xml) override {
    return record("InitializeForBackup",
                  xml == nullptr ? "InitializeForBackup" : "InitializeForBackup(xml)");
  }
  HRESULT STDMETHODCALLTYPE SetBackupState(boolean select_components, boolean bootable,
                                           VSS_BACKUP_TYPE type, boolean partial) override {
    return record("SetBackupState", "SetBackupState(" + std::to_string(select_components) + "," +
                                        std::to_string(bootable) + "," + std::to_string(type) +
                                        "," + std::to_string(partial) + ")");
  }
  HRESULT STDMETHODCALLTYPE InitializeForRestore(BSTR) override {
    return record("InitializeForRestore");
  }
  HRESULT STDMETHODCALLTYPE SetRestoreState(VSS_RESTORE_TYPE) override {
    return record("SetRestoreState");
  }
  HRESULT STDMETHODCALLTYPE GatherWriterMetadata(IVssAsync** out) override {
    return start_async("GatherWriterMetadata", out);
  }
  HRESULT STDMETHODCALLTYPE GetWriterMetadataCount(UINT* count) override {
    *count = static_cast<UINT>(vss_.script.writers.size());
    return record("GetWriterMetadataCount");
  }
  HRESULT STDMETHODCALLTYPE GetWriterMetadata(UINT index, VSS_ID* instance,
                                              IVssExamineWriterMetadata** out) override {
    const HRESULT hr =
        record("GetWriterMetadata", "GetWriterMetadata(" + std::to_string(index) + ")");
    if (FAILED(hr) || index >= vss_.script.writers.size())
      return FAILED(hr) ? hr : static_cast<HRESULT>(0x80042308);
    *instance = vss_.script.writers[index].instance_id;
    *out = new FakeMetadata(vss_, vss_.script.writers[index]);
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE FreeWriterMetadata() override { return record("FreeWriterMetadata"); }
  HRESULT STDMETHODCALLTYPE AddComponent(VSS_ID, VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR,
                                         LPCWSTR) override {
    return record("AddComponent");
  }
  HRESULT STDMETHODCALLTYPE PrepareForBackup(IVssAsync** out) override {
    return start_async("PrepareForBackup", out);
  }
  HRESULT STDMETHODCALLTYPE AbortBackup() override { return record("AbortBackup"); }
  HRESULT STDMETHODCALLTYPE GatherWriterStatus(IVssAsync** out) override {
    return start_async("GatherWriterStatus", out);
  }
  HRESULT STDMETHODCALLTYPE GetWriterStatusCount(UINT* count) override {
    *count = static_cast<UINT>(vss_.script.writers.size());
    return record("GetWriterStatusCount");
  }
  HRESULT STDMETHODCALLTYPE FreeWriterStatus() override { return record("FreeWriterStatus"); }
  HRESULT STDMETHODCALLTYPE GetWriterStatus(UINT index, VSS_ID* instance, VSS_ID* writer,
                                            BSTR* name, VSS_WRITER_STATE* state,
                                            HRESULT* failure) override {
    const HRESULT hr = record("GetWriterStatus", "GetWriterStatus(" + std::to_string(index) + ")");
    if (FAILED(hr) || index >= vss_.script.writers.size())
      return FAILED(hr) ? hr : static_cast<HRESULT>(0x80042308);
    const FakeWriter& fake = vss_.script.writers[index];
    *instance = fake.instance_id;
    *writer = fake.class_id;
    *name = bstr(fake.name);
    *state = progress_[index].state;
    *failure = progress_[index].failure;
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE SetBackupSucceeded(VSS_ID, VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR,
                                               boolean) override {
    return record("SetBackupSucceeded");
  }
  HRESULT STDMETHODCALLTYPE SetBackupOptions(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR,
                                             LPCWSTR) override {
    return record("SetBackupOptions");
  }
  HRESULT STDMETHODCALLTYPE SetSelectedForRestore(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR,
                                                  boolean) override {
    return record("SetSelectedForRestore");
  }
  HRESULT STDMETHODCALLTYPE SetRestoreOptions(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR,
                                              LPCWSTR) override {
    return record("SetRestoreOptions");
  }
  HRESULT STDMETHODCALLTYPE SetAdditionalRestores(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR,
                                                  boolean) override {
    return record("SetAdditionalRestores");
  }
  HRESULT STDMETHODCALLTYPE SetPreviousBackupStamp(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR,
                                                   LPCWSTR) override {
    return record("SetPreviousBackupStamp");
  }
  HRESULT STDMETHODCALLTYPE SaveAsXML(BSTR*) override { return record("SaveAsXML"); }
  HRESULT STDMETHODCALLTYPE BackupComplete(IVssAsync** out) override {
    return start_async("BackupComplete", out);
  }
  HRESULT STDMETHODCALLTYPE AddAlternativeLocationMapping(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR,
                                                          LPCWSTR, LPCWSTR, LPCWSTR, boolean,
                                                          LPCWSTR) override {
    return record("AddAlternativeLocationMapping");
  }
  HRESULT STDMETHODCALLTYPE AddRestoreSubcomponent(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR,
                                                   LPCWSTR, LPCWSTR, boolean) override {
    return record("AddRestoreSubcomponent");
  }
  HRESULT STDMETHODCALLTYPE SetFileRestoreStatus(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR,
                                                 VSS_FILE_RESTORE_STATUS) override {
    return record("SetFileRestoreStatus");
  }
  HRESULT STDMETHODCALLTYPE AddNewTarget(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR, LPCWSTR,
                                         LPCWSTR, boolean, LPCWSTR) override {
    return record("AddNewTarget");
  }
  HRESULT STDMETHODCALLTYPE SetRangesFilePath(VSS_ID, VSS_COMPONENT_TYPE, LPCWSTR, LPCWSTR, UINT,
                                              LPCWSTR) override {
    return record("SetRangesFilePath");
  }
  HRESULT STDMETHODCALLTYPE PreRestore(IVssAsync** out) override {
    return start_async("PreRestore", out);
  }
  HRESULT STDMETHODCALLTYPE PostRestore(IVssAsync** out) override {
    return start_async("PostRestore", out);
  }
  HRESULT STDMETHODCALLTYPE SetContext(LONG context) override {
    const HRESULT hr =
        record("SetContext", "SetContext(" + hex(static_cast<std::uint32_t>(context)) + ")");
    if (SUCCEEDED(hr))
      context_ = context;
    return hr;
  }
  HRESULT STDMETHODCALLTYPE StartSnapshotSet(VSS_ID* id) override {
    const HRESULT hr = record("StartSnapshotSet");
    if (SUCCEEDED(hr))
      *id = set_id();
    return hr;
  }
  HRESULT STDMETHODCALLTYPE AddToSnapshotSet(VSS_PWSZ volume, VSS_ID, VSS_ID* id) override {
    const HRESULT hr =
        record("AddToSnapshotSet", "AddToSnapshotSet(" + windows::narrow(volume) + ")");
    if (FAILED(hr))
      return hr;
    volumes_.emplace_back(volume);
    *id = snapshot_id(volumes_.size() - 1);
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE DoSnapshotSet(IVssAsync** out) override {
    const HRESULT hr = start_async("DoSnapshotSet", out);
    // The shadow copies exist (or half exist) from here until DeleteSnapshots removes them.
    if (SUCCEEDED(hr)) {
      vss_.live_snapshots = static_cast<int>(volumes_.size());
      for (std::size_t i = 0; i < volumes_.size(); ++i)
        vss_.shadows.push_back({.id = snapshot_id(i),
                                .set_id = set_id(),
                                .original_volume = volumes_[i],
                                .device = device_of(i),
                                .attributes = context_ | 0x20000,
                                .set_size = static_cast<LONG>(volumes_.size())});
    }
    return hr;
  }
  HRESULT STDMETHODCALLTYPE DeleteSnapshots(VSS_ID source, VSS_OBJECT_TYPE type, WINBOOL force,
                                            LONG* deleted, VSS_ID* not_deleted) override {
    const bool whole_set = type == VSS_OBJECT_SNAPSHOT_SET && IsEqualGUID(source, set_id());
    const bool one = type == VSS_OBJECT_SNAPSHOT;
    const HRESULT hr = record("DeleteSnapshots", std::string("DeleteSnapshots(") +
                                                     (whole_set ? "set"
                                                      : one     ? "snapshot"
                                                                : "other") +
                                                     (force ? ",force" : "") + ")");
    *deleted = 0;
    *not_deleted = GUID{};
    if (FAILED(hr))
      return hr;
    const auto gone =
        std::remove_if(vss_.shadows.begin(), vss_.shadows.end(), [&](const FakeShadow& shadow) {
          return (whole_set && IsEqualGUID(shadow.set_id, source)) ||
                 (one && IsEqualGUID(shadow.id, source));
        });
    *deleted = static_cast<LONG>(vss_.shadows.end() - gone);
    vss_.shadows.erase(gone, vss_.shadows.end());
    if (whole_set)
      vss_.live_snapshots = 0;
    else if (one && *deleted > 0 && vss_.live_snapshots > 0)
      --vss_.live_snapshots;
    return *deleted == 0 ? static_cast<HRESULT>(0x80042308) : S_OK;  // VSS_E_OBJECT_NOT_FOUND
  }
  HRESULT STDMETHODCALLTYPE ImportSnapshots(IVssAsync** out) override {
    return start_async("ImportSnapshots", out);
  }
  HRESULT STDMETHODCALLTYPE BreakSnapshotSet(VSS_ID) override { return record("BreakSnapshotSet"); }
  HRESULT STDMETHODCALLTYPE GetSnapshotProperties(VSS_ID id,
                                                  VSS_SNAPSHOT_PROP* properties) override {
    const HRESULT hr = record("GetSnapshotProperties");
    if (FAILED(hr))
      return hr;
    for (std::size_t i = 0; i < volumes_.size(); ++i) {
      if (!IsEqualGUID(id, snapshot_id(i)))
        continue;
      fill_properties({.id = id,
                       .set_id = set_id(),
                       .original_volume = volumes_[i],
                       .device = device_of(i),
                       .attributes = 0x20000,  // VSS_VOLSNAP_ATTR_DIFFERENTIAL
                       .set_size = static_cast<LONG>(volumes_.size())},
                      *properties);
      ++vss_.properties_out;
      return S_OK;
    }
    return static_cast<HRESULT>(0x80042308);
  }
  HRESULT STDMETHODCALLTYPE Query(VSS_ID query, VSS_OBJECT_TYPE query_type,
                                  VSS_OBJECT_TYPE result_type, IVssEnumObject** out) override {
    *out = nullptr;
    const HRESULT hr = record("Query");
    if (FAILED(hr))
      return hr;
    if (!IsEqualGUID(query, GUID_NULL) || query_type != VSS_OBJECT_NONE ||
        result_type != VSS_OBJECT_SNAPSHOT)
      return E_INVALIDARG;
    *out = new FakeEnum(vss_, vss_.shadows);
    return S_OK;
  }
  HRESULT STDMETHODCALLTYPE IsVolumeSupported(VSS_ID, VSS_PWSZ, WINBOOL*) override {
    return record("IsVolumeSupported");
  }
  HRESULT STDMETHODCALLTYPE DisableWriterClasses(const VSS_ID*, UINT) override {
    return record("DisableWriterClasses");
  }
  HRESULT STDMETHODCALLTYPE EnableWriterClasses(const VSS_ID*, UINT) override {
    return record("EnableWriterClasses");
  }
  HRESULT STDMETHODCALLTYPE DisableWriterInstances(const VSS_ID*, UINT) override {
    return record("DisableWriterInstances");
  }
  HRESULT STDMETHODCALLTYPE ExposeSnapshot(VSS_ID, VSS_PWSZ, LONG, VSS_PWSZ, VSS_PWSZ*) override {
    return record("ExposeSnapshot");
  }
  HRESULT STDMETHODCALLTYPE RevertToSnapshot(VSS_ID, WINBOOL) override {
    return record("RevertToSnapshot");
  }
  HRESULT STDMETHODCALLTYPE QueryRevertStatus(VSS_PWSZ, IVssAsync** out) override {
    return start_async("QueryRevertStatus", out);
  }

  // The first object's set is 5e7f00d1-1111-4222-0102-030405060708; each later object's
  // differs in its second group.
  GUID set_id() const {
    return GUID{0x5e7f00d1,
                static_cast<unsigned short>(0x1111 + ordinal_),
                0x4222,
                {1, 2, 3, 4, 5, 6, 7, 8}};
  }

 protected:
  void last_release() override { vss_.calls.push_back("Release"); }

 private:
  GUID snapshot_id(std::size_t index) const {
    return GUID{0x5a000000u + static_cast<unsigned long>(index),
                static_cast<unsigned short>(0x2222 + ordinal_),
                0x4333,
                {9, 9, 9, 9, 9, 9, 9, 9}};
  }
  std::wstring device_of(std::size_t index) const {
    auto device = vss_.script.devices.find(volumes_[index]);
    if (device != vss_.script.devices.end())
      return device->second;
    return L"\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy" +
           std::to_wstring(ordinal_ * kVolumesPerObject + index + 1);
  }

  static constexpr std::size_t kVolumesPerObject = 64;
  unsigned short ordinal_;
  LONG context_ = 0;

  std::vector<std::wstring> volumes_;
  std::vector<WriterProgress> progress_;
};

}  // namespace

windows::VssApi FakeVss::api() {
  return windows::VssApi{
      .create =
          [this](IVssBackupComponents** out) {
            calls.push_back("CreateVssBackupComponents");
            *out = nullptr;
            if (FAILED(create_result))
              return create_result;
            *out = new FakeComponents(*this);
            return S_OK;
          },
      .free_snapshot_properties =
          [this](VSS_SNAPSHOT_PROP* properties) {
            calls.push_back("VssFreeSnapshotProperties");
            for (VSS_PWSZ* text :
                 {&properties->m_pwszSnapshotDeviceObject, &properties->m_pwszOriginalVolumeName,
                  &properties->m_pwszOriginatingMachine, &properties->m_pwszServiceMachine,
                  &properties->m_pwszExposedName, &properties->m_pwszExposedPath}) {
              CoTaskMemFree(*text);
              *text = nullptr;
            }
            --properties_out;
          }};
}

bool FakeVss::called(const std::string& call) const {
  return count(call) > 0;
}

int FakeVss::count(const std::string& call) const {
  return static_cast<int>(std::count(calls.begin(), calls.end(), call));
}

}  // namespace freezeframe::testing

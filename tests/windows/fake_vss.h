// A scriptable fake of VSS's requestor object (IVssBackupComponents) and its IVssAsync,
// IVssExamineWriterMetadata, IVssWMComponent and IVssWMFiledesc, for the VSS backend's tests
// under Wine (which implements no VSS) or on Windows without touching the real service.
//
// The script says which call fails with which HRESULT (the call's own return value, or the
// final result of its IVssAsync), how many polls an async takes, which async never ends,
// which writers exist and where one of them fails. The fake records every call in order
// (QueryStatus polls only counted), counts references (AddRef/Release of every object it
// made, and the objects alive), the shadow copies that exist, and the snapshot properties
// handed out and freed, so a test can check that a session left nothing behind.
//
// Thread-safety: none; a test drives one session on one thread.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "../../platform/windows/vss/vss_backend.h"

namespace freezeframe::testing {

struct FakeWriter {
  std::wstring name = L"fake writer";
  GUID class_id{};
  GUID instance_id{};
  // One file-group component with one file.
  std::wstring component = L"data";
  std::wstring file_path = L"C:\\data";
  std::wstring file_spec = L"*.db";
  // The asynchronous call during which the writer fails ("PrepareForBackup",
  // "DoSnapshotSet", "BackupComplete"); empty: never.
  std::string fails_at{};
  VSS_WRITER_STATE failed_state = VSS_WS_FAILED_AT_FREEZE;
  HRESULT failure = static_cast<HRESULT>(0x800423F3);  // VSS_E_WRITERERROR_RETRYABLE
};

struct FakeVssScript {
  // Call name -> what the call itself returns ("StartSnapshotSet" -> 0x80042316).
  std::map<std::string, HRESULT> returns{};
  // Asynchronous call name -> the final result its IVssAsync reports.
  std::map<std::string, HRESULT> async_results{};
  // Asynchronous calls whose IVssAsync stays pending until cancelled.
  std::set<std::string> never_finish{};
  // QueryStatus polls an async answers VSS_S_ASYNC_PENDING before it finishes.
  int pending_polls = 2;
  std::vector<FakeWriter> writers{};
  // The device each shadow copy reports (GetSnapshotProperties), by volume as added; a
  // volume without an entry gets \\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN.
  std::map<std::wstring, std::wstring> devices{};
  // Called at every QueryStatus poll with the async's call name (e.g. to abort meanwhile).
  std::function<void(const std::string&)> on_poll{};
};

// A shadow copy the fake system holds: made by DoSnapshotSet, or put there by a test (one
// another requestor made); Query lists them and DeleteSnapshots removes them.
struct FakeShadow {
  GUID id{};
  GUID set_id{};
  std::wstring original_volume = L"C:\\";
  std::wstring device = L"\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy9";
  LONG attributes = 0x2001d;  // client-accessible, differential
  LONG set_size = 1;
};

// The shared state of one fake session: the script, and what happened.
class FakeVss {
 public:
  FakeVssScript script;

  std::vector<std::string> calls;  // in order, e.g. "SetContext(0x10)", "Cancel(DoSnapshotSet)"
  int polls = 0;                   // QueryStatus calls
  int objects_made = 0;            // fake COM objects made (each with one reference)
  int live_objects = 0;            // fake COM objects not yet destroyed
  long add_refs = 0;
  long releases = 0;
  int live_snapshots = 0;  // shadow copies DoSnapshotSet made and DeleteSnapshots did not delete
  int properties_out = 0;  // GetSnapshotProperties results not yet freed
  int components_made = 0;
  // The shadow copies that exist on the fake system, in creation order.
  std::vector<FakeShadow> shadows;
  HRESULT create_result = S_OK;  // what the factory returns (E_NOTIMPL: as Wine)

  // The factory and free function for VssBackend::create.
  windows::VssApi api();
  bool called(const std::string& call) const;
  int count(const std::string& call) const;
};

}  // namespace freezeframe::testing

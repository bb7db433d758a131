// The `vss` provider (VssProvider) and the shadow copies outside a session, over the fake VSS
// object: a Coordinator's set that freezes freezeframe's writers and takes a VSS shadow copy
// between freeze and thaw, persistent and auto-release sets, failures and aborts that leave
// nothing behind, and listing and deleting shadow copies another requestor made. Under Wine,
// the real entry points say VSS is not available.
#include "../../platform/windows/vss/vss_provider.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "../../platform/windows/vss/vss_shadows.h"
#include "fake_vss.h"
#include "freezeframe/coordinator.h"
#include "freezeframe/executor.h"
#include "freezeframe/file_volume.h"
#include "freezeframe/sim/event_trace.h"
#include "freezeframe/sim/scripted_writer.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/vss.h"
#include "freezeframe/vss_errors.h"
#include "temp_path.h"

namespace freezeframe {
namespace {

using testing::FakeShadow;
using testing::FakeVss;

bool under_wine() {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

class VssProviderTest : public ::testing::Test {
 protected:
  VssProviderTest() {
    FileVolumeCreateOptions create;
    create.size_bytes = 1 << 20;
    auto volume = FileVolume::create(image.str(), create);
    EXPECT_TRUE(volume.ok()) << volume.status().to_string();
    if (volume.ok()) {
      EXPECT_TRUE((*volume)->write(8192, data).ok());
      EXPECT_TRUE((*volume)->flush().ok());
    }
    vss.script.devices[L"C:\\"] = windows::widen(image.str());
    vss.script.on_poll = [this](const std::string& call) {
      if (call == "DoSnapshotSet")
        trace.add("vss:DoSnapshotSet");
    };
  }

  windows::VssBackendOptions options() {
    windows::VssBackendOptions result;
    result.clock = &clock;
    result.poll_interval = std::chrono::milliseconds(10);
    result.pause = [this](Nanoseconds interval) { clock.advance(interval); };
    result.on_release = [this] { ++provider_releases; };
    return result;
  }

  std::unique_ptr<windows::VssProvider> make_provider() {
    auto provider = windows::VssProvider::create(vss.api(), options());
    EXPECT_TRUE(provider.ok()) << provider.status().to_string();
    return provider.ok() ? std::move(provider).value() : nullptr;
  }

  // A coordinator with one freezeframe writer on C:\ and the provider.
  std::unique_ptr<Coordinator> make_coordinator(ProtocolProvider& provider) {
    CoordinatorOptions coordinator_options;
    coordinator_options.executor = pool.get();
    auto coordinator = std::make_unique<Coordinator>(clock, coordinator_options);
    EXPECT_TRUE(coordinator->register_writer(writer).ok());
    EXPECT_TRUE(coordinator->register_provider(provider).ok());
    return coordinator;
  }

  std::size_t position(const std::string& entry) {
    const std::vector<std::string> entries = trace.entries();
    return static_cast<std::size_t>(std::find(entries.begin(), entries.end(), entry) -
                                    entries.begin());
  }

  void expect_nothing_left() {
    EXPECT_EQ(vss.live_objects, 0);
    EXPECT_EQ(vss.releases, vss.objects_made + vss.add_refs);
    EXPECT_TRUE(vss.shadows.empty());
    EXPECT_EQ(vss.properties_out, 0);
  }

  testing::TempPath image{"vss-provider"};
  std::vector<std::byte> data = std::vector<std::byte>(4096, std::byte{0x3c});
  FakeVss vss;
  sim::SimClock clock;
  sim::EventTrace trace;
  sim::ScriptedWriter writer{sim::ScriptedWriterOptions{
      .metadata = sim::scripted_writer_metadata("app", ApplicationLevel::kFrontEnd, {"C:\\"}),
      .clock = &clock,
      .trace = &trace}};
  std::unique_ptr<ThreadPoolExecutor> pool = ThreadPoolExecutor::create({});
  int provider_releases = 0;
};

TEST_F(VssProviderTest, ACoordinatorsSetTakesTheShadowCopyWhileItsWritersAreFrozen) {
  auto provider = make_provider();
  ASSERT_NE(provider, nullptr);
  EXPECT_EQ(provider->name(), "vss");
  EXPECT_EQ(provider->id(), Uuid::from_name("vss"));
  EXPECT_TRUE(provider->holds_io_itself());
  {
    auto coordinator = make_coordinator(*provider);
    // C:\ has no HoldableVolume: VSS holds its I/O itself.
    auto session = coordinator->take_snapshot_set({"C:\\"});
    ASSERT_TRUE(session.ok()) << session.status().to_string();
    // DoSnapshotSet ran between freezeframe's freeze and thaw.
    EXPECT_LT(position("app:freeze"), position("vss:DoSnapshotSet"));
    EXPECT_LT(position("vss:DoSnapshotSet"), position("app:thaw"));
    EXPECT_LT(position("app:thaw"), trace.entries().size());
    // VSS's call order, in the backup context with its writers.
    const std::vector<std::string> order = {
        "InitializeForBackup",    "SetContext(0x0)",  "GatherWriterMetadata", "StartSnapshotSet",
        "AddToSnapshotSet(C:\\)", "PrepareForBackup", "DoSnapshotSet"};
    std::size_t at = 0;
    for (const std::string& call : vss.calls)
      if (at < order.size() && call == order[at])
        ++at;
    EXPECT_EQ(at, order.size()) << "missing " << (at < order.size() ? order[at] : "");
    auto set = (*session)->snapshot_set();
    ASSERT_TRUE(set.ok());
    ASSERT_EQ(set->snapshots.size(), 1u);
    const SnapshotInfo& info = set->snapshots[0];
    EXPECT_EQ(info.set_id, set->id);  // the coordinator's set id, not VSS's
    EXPECT_EQ(info.origin_name, "C:\\");
    ASSERT_EQ(provider->query().size(), 1u);
    EXPECT_EQ(vss.shadows.size(), 1u);
    // The shadow copy reads as the device VSS reported.
    auto snapshot = (*session)->open_snapshot("C:\\");
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().to_string();
    std::vector<std::byte> read(4096);
    ASSERT_TRUE((*snapshot)->read(8192, read).ok());
    EXPECT_EQ(read, data);
    EXPECT_FALSE((*snapshot)->write(0, read).ok());
    snapshot->reset();
    // Change tracking: none, so a backup reads everything.
    EXPECT_EQ((*session)->changed_extents("C:\\", "").status().code(), ErrorCode::kUnsupported);
    // backup_complete releases the auto-release set: its last snapshot deleted, VSS told.
    ASSERT_TRUE((*session)->backup_complete().ok());
    EXPECT_TRUE(vss.shadows.empty());
    EXPECT_TRUE(provider->query().empty());
    EXPECT_TRUE(vss.called("BackupComplete"));
  }
  provider.reset();
  EXPECT_EQ(provider_releases, 1);
  expect_nothing_left();
}

TEST_F(VssProviderTest, APersistentSetOutlivesItsObjectUntilDeleted) {
  auto provider = make_provider();
  ASSERT_NE(provider, nullptr);
  auto coordinator = make_coordinator(*provider);
  SnapshotSetOptions set_options;
  set_options.context = SnapshotContext::kClientAccessible;
  auto session = coordinator->take_snapshot_set({"C:"}, set_options);
  ASSERT_TRUE(session.ok()) << session.status().to_string();
  EXPECT_TRUE(vss.called("SetContext(0x1D)"));
  EXPECT_FALSE(vss.called("GatherWriterMetadata"));  // no writers in this context
  ASSERT_TRUE((*session)->backup_complete().ok());
  session->reset();
  // VSS keeps it, the object is gone.
  EXPECT_EQ(vss.live_objects, 0);
  ASSERT_EQ(vss.shadows.size(), 1u);
  auto held = provider->query();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_NE(held[0].attributes & kAttrNoAutoRelease, 0u);
  auto snapshot = provider->open_snapshot(held[0].id);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().to_string();
  snapshot->reset();
  ASSERT_TRUE(provider->delete_snapshot(held[0].id).ok());
  EXPECT_TRUE(vss.called("DeleteSnapshots(snapshot,force)"));
  EXPECT_EQ(provider->delete_snapshot(held[0].id).code(), ErrorCode::kNotFound);
  EXPECT_EQ(provider->open_snapshot(held[0].id).status().code(), ErrorCode::kNotFound);
  coordinator.reset();
  provider.reset();
  expect_nothing_left();
}

TEST_F(VssProviderTest, AFailedDoSnapshotSetFailsTheSetAndLeavesNothing) {
  vss.script.async_results["DoSnapshotSet"] = static_cast<HRESULT>(vss::hr::kFlushWritesTimeout);
  auto provider = make_provider();
  ASSERT_NE(provider, nullptr);
  {
    auto coordinator = make_coordinator(*provider);
    auto session = coordinator->take_snapshot_set({"C:\\"});
    ASSERT_FALSE(session.ok());
    EXPECT_NE(session.status().message().find("VSS_E_FLUSH_WRITES_TIMEOUT"), std::string::npos)
        << session.status().to_string();
    EXPECT_TRUE(vss.called("AbortBackup"));
    // The writer was thawed or told of the abort; never left frozen.
    EXPECT_LT(position("app:freeze"), trace.entries().size());
    EXPECT_TRUE(provider->query().empty());
  }
  provider.reset();
  expect_nothing_left();
}

TEST_F(VssProviderTest, ANewSetDiscardsAHalfPreparedOneAndAbortIsIdempotent) {
  auto provider = make_provider();
  ASSERT_NE(provider, nullptr);
  const Uuid first = Uuid::from_name("first");
  const Uuid second = Uuid::from_name("second");
  ASSERT_TRUE(provider->begin_prepare(first, "C:\\", 0).ok());
  ASSERT_TRUE(provider->end_prepare(first).ok());
  EXPECT_EQ(vss.live_objects, 1);
  ASSERT_TRUE(provider->begin_prepare(second, "D:\\", 0).ok());
  EXPECT_EQ(vss.count("AbortBackup"), 1);
  EXPECT_EQ(vss.live_objects, 0);
  EXPECT_EQ(provider->pre_commit(first).code(), ErrorCode::kBadState);
  ASSERT_TRUE(provider->end_prepare(second).ok());
  ASSERT_TRUE(provider->pre_commit(second).ok());
  EXPECT_EQ(vss.shadows.size(), 1u);
  ASSERT_TRUE(provider->abort(second).ok());
  EXPECT_TRUE(vss.shadows.empty());
  EXPECT_TRUE(provider->abort(second).ok());
  EXPECT_EQ(provider->commit(second).code(), ErrorCode::kBadState);
  provider.reset();
  expect_nothing_left();
}

TEST_F(VssProviderTest, RefusesWhatVssCannotTake) {
  auto provider = make_provider();
  ASSERT_NE(provider, nullptr);
  EXPECT_TRUE(provider->is_volume_supported("C:"));
  EXPECT_TRUE(provider->is_volume_supported("C:\\"));
  EXPECT_TRUE(provider->is_volume_supported("C:\\mount\\"));
  EXPECT_TRUE(
      provider->is_volume_supported("\\\\?\\Volume{0b1e2c3d-0000-0000-0000-000000000000}\\"));
  EXPECT_FALSE(provider->is_volume_supported("data"));
  EXPECT_FALSE(provider->is_volume_supported("1:\\"));
  EXPECT_EQ(provider->begin_prepare(Uuid::from_name("s"), "data", 0).code(),
            ErrorCode::kUnsupported);
  EXPECT_EQ(provider->begin_prepare(Uuid::from_name("s"), "C:\\", 0x3).code(),
            ErrorCode::kUnsupported);  // bits that make no context
  provider.reset();
  expect_nothing_left();
}

TEST_F(VssProviderTest, NoVssMeansNoProvider) {
  vss.create_result = static_cast<HRESULT>(vss::hr::kNotImpl);
  auto provider = windows::VssProvider::create(vss.api(), options());
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(provider.status().message().rfind("VSS is not available on this system", 0), 0u);
  EXPECT_EQ(provider_releases, 0);
  expect_nothing_left();
}

TEST_F(VssProviderTest, ListsAndDeletesShadowCopiesOfOtherRequestors) {
  FakeShadow older;
  older.id = GUID{0x0a0a0a0a, 1, 2, {1, 1, 1, 1, 1, 1, 1, 1}};
  older.set_id = GUID{0x0b0b0b0b, 1, 2, {2, 2, 2, 2, 2, 2, 2, 2}};
  older.original_volume = L"\\\\?\\Volume{11111111-2222-3333-4444-555555555555}\\";
  older.device = L"\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy4";
  FakeShadow other = older;
  other.id = GUID{0x0c0c0c0c, 1, 2, {3, 3, 3, 3, 3, 3, 3, 3}};
  other.device = L"\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy5";
  vss.shadows = {older, other};
  auto listed = windows::query_shadows(vss.api());
  ASSERT_TRUE(listed.ok()) << listed.status().to_string();
  ASSERT_EQ(listed->size(), 2u);
  const VssShadowCopy& first = listed->front();
  EXPECT_EQ(first.id, windows::uuid_from_guid(older.id));
  EXPECT_EQ(first.set_id, windows::uuid_from_guid(older.set_id));
  EXPECT_EQ(first.original_volume, "\\\\?\\Volume{11111111-2222-3333-4444-555555555555}\\");
  EXPECT_EQ(first.device, "\\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy4");
  EXPECT_EQ(first.originating_machine, "fakehost");
  EXPECT_EQ(first.provider_id.to_string(), "b5946137-7b9f-4925-af80-51abd60b20d5");
  EXPECT_EQ(first.attributes, 0x2001du);
  EXPECT_EQ(first.created, std::chrono::seconds(1767225600));  // 2026-01-01
  EXPECT_TRUE(vss.called("SetContext(0xFFFFFFFF)"));
  EXPECT_EQ(vss.properties_out, 0);  // each freed once copied
  EXPECT_EQ(vss.live_objects, 0);

  ASSERT_TRUE(windows::delete_shadow(vss.api(), first.id).ok());
  ASSERT_EQ(vss.shadows.size(), 1u);
  EXPECT_TRUE(IsEqualGUID(vss.shadows[0].id, other.id));
  Status again = windows::delete_shadow(vss.api(), first.id);
  EXPECT_EQ(again.code(), ErrorCode::kNotFound);
  EXPECT_NE(again.message().find(first.id.to_string()), std::string::npos);

  vss.script.returns["Query"] = static_cast<HRESULT>(vss::hr::kAccessDenied);
  auto denied = windows::query_shadows(vss.api());
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.status().message().find("elevated"), std::string::npos);
  vss.shadows.clear();
  vss.script.returns.clear();
  auto none = windows::query_shadows(vss.api());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  expect_nothing_left();
}

// Under Wine (no VSS) every entry point says VSS is not available. On Windows VSS is there:
// listing works, or, in a process that is not elevated, fails saying so; deleting an id that
// names nothing is kNotFound (or the same refusal).
TEST(VssEntryPoints, SayWhetherVssIsThere) {
  EXPECT_TRUE(vss_built_in());
  auto listed = list_vss_shadows();
  const Status deleted = delete_vss_shadow(Uuid::from_name("no such shadow copy"));
  if (under_wine()) {
    ASSERT_FALSE(listed.ok());
    EXPECT_EQ(listed.status().code(), ErrorCode::kUnsupported);
    EXPECT_EQ(listed.status().message().rfind("VSS is not available on this system (", 0), 0u)
        << listed.status().message();
    EXPECT_EQ(deleted.code(), ErrorCode::kUnsupported);
    auto provider = create_vss_provider();
    ASSERT_FALSE(provider.ok());
    EXPECT_EQ(provider.status().code(), ErrorCode::kUnsupported);
    return;
  }
  if (!listed.ok()) {
    EXPECT_EQ(listed.status().code(), ErrorCode::kIoError) << listed.status().to_string();
    EXPECT_NE(listed.status().message().find("elevated"), std::string::npos);
    EXPECT_EQ(deleted.code(), ErrorCode::kIoError) << deleted.to_string();
  } else {
    EXPECT_EQ(deleted.code(), ErrorCode::kNotFound) << deleted.to_string();
  }
}

}  // namespace
}  // namespace freezeframe

// Against the real Volume Shadow Copy Service, on a Windows host, as administrator: takes a
// shadow copy of the system volume, reads a file and the volume through it, compares them with
// what was there at the snapshot, and deletes it; then the same through a Coordinator with the
// `vss` provider, and a persistent shadow copy listed and deleted as vssadmin would. Runs only
// with FREEZEFRAME_LIVE_VSS=1 (the Windows workflow sets it; .github/workflows/windows.yml):
// elsewhere, Wine included, it is skipped and says why.
#include <gtest/gtest.h>
#include <windows.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "freezeframe/coordinator.h"
#include "freezeframe/vss.h"

namespace freezeframe {
namespace {

bool live() {
  const char* value = std::getenv("FREEZEFRAME_LIVE_VSS");
  return value != nullptr && std::string(value) == "1";
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A file on the system volume with known contents, flushed to the disk; removed at the end.
class SystemVolumeFile {
 public:
  explicit SystemVolumeFile(const std::string& contents) {
    wchar_t windows[MAX_PATH];
    GetWindowsDirectoryW(windows, MAX_PATH);
    root_ = std::filesystem::path(windows).root_path();  // C:\ on most machines
    path_ = std::filesystem::temp_directory_path() / "freezeframe-vss-live.bin";
    write(contents);
  }
  ~SystemVolumeFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  SystemVolumeFile(const SystemVolumeFile&) = delete;
  SystemVolumeFile& operator=(const SystemVolumeFile&) = delete;

  void write(const std::string& contents) {
    HANDLE file = CreateFileW(path_.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                              FILE_ATTRIBUTE_NORMAL, nullptr);
    ASSERT_NE(file, INVALID_HANDLE_VALUE);
    DWORD written = 0;
    ASSERT_TRUE(
        WriteFile(file, contents.data(), static_cast<DWORD>(contents.size()), &written, nullptr));
    ASSERT_TRUE(FlushFileBuffers(file));
    CloseHandle(file);
  }
  std::string volume() const { return root_.string(); }
  // The file as seen through a shadow copy's device.
  std::filesystem::path through(const std::string& device) const {
    return std::filesystem::path(device) / path_.relative_path();
  }

 private:
  std::filesystem::path root_;
  std::filesystem::path path_;
};

bool listed(const Uuid& id) {
  auto shadows = list_vss_shadows();
  EXPECT_TRUE(shadows.ok()) << shadows.status().to_string();
  return shadows.ok() && std::any_of(shadows->begin(), shadows->end(),
                                     [&](const VssShadowCopy& shadow) { return shadow.id == id; });
}

TEST(VssLive, TakesReadsComparesAndDeletesAShadowCopyOfTheSystemVolume) {
  if (!live())
    GTEST_SKIP() << "FREEZEFRAME_LIVE_VSS is not 1: this test needs Windows, VSS and an "
                    "elevated process (the Windows workflow runs it)";
  SystemVolumeFile file("before the shadow copy\n");
  auto session = create_vss_session();
  ASSERT_TRUE(session.ok()) << session.status().to_string();
  ASSERT_TRUE((*session)->set_context(SnapshotContext::kBackup).ok());
  ASSERT_TRUE((*session)->gather_writer_metadata().ok());
  ASSERT_TRUE((*session)->start_snapshot_set().ok());
  ASSERT_TRUE((*session)->add_to_snapshot_set(file.volume()).ok());
  ASSERT_TRUE((*session)->prepare_for_backup().ok());
  Status created = (*session)->do_snapshot_set();
  ASSERT_TRUE(created.ok()) << created.to_string();
  file.write("after the shadow copy\n");

  auto set = (*session)->snapshot_set();
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->snapshots.size(), 1u);
  const Uuid shadow_id = set->snapshots[0].id;
  EXPECT_TRUE(listed(shadow_id));
  auto shadows = list_vss_shadows();
  ASSERT_TRUE(shadows.ok());
  auto shadow = std::find_if(shadows->begin(), shadows->end(),
                             [&](const VssShadowCopy& s) { return s.id == shadow_id; });
  ASSERT_NE(shadow, shadows->end());
  EXPECT_EQ(read_all(file.through(shadow->device)), "before the shadow copy\n");

  // The shadow copy as a freezeframe Volume: NTFS's boot sector, read-only.
  auto volume = (*session)->open_snapshot(file.volume());
  ASSERT_TRUE(volume.ok()) << volume.status().to_string();
  EXPECT_GT((*volume)->size_bytes(), 0u);
  std::vector<std::byte> boot((*volume)->sector_bytes());
  ASSERT_TRUE((*volume)->read(0, boot).ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(boot.data()) + 3, 4), "NTFS");
  EXPECT_FALSE((*volume)->write(0, boot).ok());
  volume->reset();

  ASSERT_TRUE((*session)->backup_complete(true).ok());
  session->reset();
  EXPECT_FALSE(listed(shadow_id));  // auto-release: gone with the session
}

TEST(VssLive, TheVssProviderTakesAPersistentShadowCopyThroughACoordinator) {
  if (!live())
    GTEST_SKIP() << "FREEZEFRAME_LIVE_VSS is not 1: this test needs Windows, VSS and an "
                    "elevated process (the Windows workflow runs it)";
  SystemVolumeFile file("persistent\n");
  auto provider = create_vss_provider();
  ASSERT_TRUE(provider.ok()) << provider.status().to_string();
  SystemClock clock;
  Coordinator coordinator(clock);
  ASSERT_TRUE(coordinator.register_provider(**provider).ok());
  SnapshotSetOptions options;
  options.context = SnapshotContext::kClientAccessible;
  auto session = coordinator.take_snapshot_set({file.volume()}, options);
  ASSERT_TRUE(session.ok()) << session.status().to_string();
  auto set = (*session)->snapshot_set();
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->snapshots.size(), 1u);
  const Uuid shadow_id = set->snapshots[0].id;
  ASSERT_TRUE((*session)->backup_complete().ok());
  session->reset();
  EXPECT_TRUE(listed(shadow_id));  // persistent: VSS keeps it
  ASSERT_TRUE(delete_vss_shadow(shadow_id).ok());
  EXPECT_FALSE(listed(shadow_id));
  EXPECT_EQ(delete_vss_shadow(shadow_id).code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace freezeframe

// The snapshot protocol's happy path: the events reach writers, providers and volumes in the
// VSS order, for one and three volumes, with CoW and RoW; the snapshots carry the context's
// attributes and show the volumes as of the commit; the event log is JSON lines.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "protocol_rig.h"

namespace freezeframe {
namespace {

using testing::make_protocol_rig;

std::vector<std::string> expected_trace(std::size_t volume_count) {
  std::vector<std::string> trace = {"db:identify", "app:identify", "db:prepare-backup",
                                    "app:prepare-backup"};
  for (std::size_t i = 0; i < volume_count; ++i)
    trace.push_back("provider:begin-prepare");
  for (const char* entry : {"db:prepare-snapshot", "app:prepare-snapshot", "provider:end-prepare",
                            "app:freeze", "db:freeze", "provider:pre-commit"})
    trace.push_back(entry);
  for (std::size_t i = 0; i < volume_count; ++i)
    trace.push_back("io:hold-io:vol" + std::to_string(i));
  trace.push_back("provider:commit");
  for (std::size_t i = 0; i < volume_count; ++i)
    trace.push_back("io:release-io:vol" + std::to_string(i));
  for (const char* entry :
       {"provider:post-commit", "app:thaw", "db:thaw", "db:post-snapshot", "app:post-snapshot",
        "db:backup-complete", "app:backup-complete", "db:backup-shutdown", "app:backup-shutdown"})
    trace.push_back(entry);
  return trace;
}

class ProtocolHappyPath : public ::testing::TestWithParam<std::tuple<ProviderKind, std::size_t>> {};

TEST_P(ProtocolHappyPath, EventsRunInVssOrder) {
  const auto [kind, volume_count] = GetParam();
  auto rig = make_protocol_rig({.kind = kind, .volume_count = volume_count});
  // Registered back-end first: freeze must still go front-end first.
  rig->add_writer({.name = "db", .level = ApplicationLevel::kBackEnd});
  rig->add_writer({.name = "app", .level = ApplicationLevel::kFrontEnd});
  {
    auto session = rig->coordinator->create_session();
    ASSERT_TRUE(session->gather_writer_metadata().ok());
    ASSERT_TRUE(session->start_snapshot_set().ok());
    for (const std::string& volume : rig->volume_names())
      ASSERT_TRUE(session->add_to_snapshot_set(volume).ok());
    ASSERT_TRUE(session->prepare_for_backup().ok());
    Status done = session->do_snapshot_set();
    ASSERT_TRUE(done.ok()) << done.to_string();
    for (const WriterStatus& status : session->gather_writer_status())
      EXPECT_EQ(status.state, WriterState::kWaitingForBackupComplete) << status.name;
    auto set = session->snapshot_set();
    ASSERT_TRUE(set.ok());
    EXPECT_EQ(set->snapshots.size(), volume_count);
    EXPECT_EQ(rig->snapshot_count(), volume_count);
    ASSERT_TRUE(session->backup_complete().ok());
    for (const WriterStatus& status : session->gather_writer_status())
      EXPECT_EQ(status.state, WriterState::kStable) << status.name;
  }
  EXPECT_EQ(rig->trace.entries(), expected_trace(volume_count));
  // Backup context: released at backup_complete.
  EXPECT_EQ(rig->snapshot_count(), 0u);
  for (const auto& writer : rig->writers)
    EXPECT_FALSE(writer->frozen());
}

INSTANTIATE_TEST_SUITE_P(KindsAndVolumes, ProtocolHappyPath,
                         ::testing::Combine(::testing::Values(ProviderKind::kCopyOnWrite,
                                                              ProviderKind::kRedirectOnWrite),
                                            ::testing::Values(std::size_t{1}, std::size_t{3})));

TEST(ProtocolHappyPath, SnapshotsCarryContextAttributesAndTheCommitInstant) {
  for (ProviderKind kind : {ProviderKind::kCopyOnWrite, ProviderKind::kRedirectOnWrite}) {
    auto rig = make_protocol_rig({.kind = kind, .volume_count = 2});
    rig->add_writer({.name = "app"});
    std::vector<std::byte> before(4096, std::byte{0x11});
    std::vector<std::byte> after(4096, std::byte{0x22});
    for (auto& volume : rig->volumes)
      ASSERT_TRUE(volume.holdable->write(8192, before).ok());
    auto session = rig->coordinator->take_snapshot_set(rig->volume_names(),
                                                       {.context = SnapshotContext::kAppRollback});
    ASSERT_TRUE(session.ok()) << session.status().to_string();
    for (auto& volume : rig->volumes)
      ASSERT_TRUE(volume.holdable->write(8192, after).ok());
    auto set = (*session)->snapshot_set();
    ASSERT_TRUE(set.ok());
    ASSERT_EQ(set->snapshots.size(), 2u);
    std::uint32_t expected = static_cast<std::uint32_t>(SnapshotContext::kAppRollback);
    if (kind == ProviderKind::kCopyOnWrite)
      expected |= kAttrDifferential;
    for (const SnapshotInfo& info : set->snapshots) {
      EXPECT_EQ(info.attributes, expected);
      EXPECT_EQ(info.set_id, set->id);
    }
    for (auto& volume : rig->volumes) {
      auto snapshots = volume.provider->snapshots();
      ASSERT_EQ(snapshots.size(), 1u);
      auto view = volume.provider->open_snapshot(snapshots[0].id);
      ASSERT_TRUE(view.ok());
      std::vector<std::byte> read(4096);
      ASSERT_TRUE((*view)->read(8192, read).ok());
      EXPECT_EQ(read, before);
    }
  }
}

TEST(ProtocolHappyPath, WriterlessContextSendsNoWriterEvents) {
  auto rig = make_protocol_rig({.volume_count = 1});
  rig->add_writer({.name = "app"});
  auto session = rig->coordinator->take_snapshot_set(
      rig->volume_names(), {.context = SnapshotContext::kFileShareBackup});
  ASSERT_TRUE(session.ok()) << session.status().to_string();
  for (const std::string& entry : rig->trace.entries())
    EXPECT_EQ(entry.rfind("app:", 0), std::string::npos) << entry;
  auto set = (*session)->snapshot_set();
  ASSERT_TRUE(set.ok());
  EXPECT_NE(set->snapshots.at(0).attributes & kAttrNoWriters, 0u);
}

TEST(ProtocolHappyPath, EventLogIsJsonLinesWithEveryStep) {
  auto rig = make_protocol_rig({.volume_count = 1});
  rig->add_writer({.name = "app"});
  auto session = rig->coordinator->take_snapshot_set(rig->volume_names());
  ASSERT_TRUE(session.ok());
  std::istringstream lines(rig->sink->json_lines());
  std::string line;
  std::vector<std::string> phases;
  while (std::getline(lines, line)) {
    auto event = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(event.is_discarded()) << line;
    for (const char* key :
         {"set", "phase", "participant", "name", "start_ns", "duration_ns", "outcome", "message"})
      EXPECT_TRUE(event.contains(key)) << key << " in " << line;
    EXPECT_EQ(event["outcome"], "ok") << line;
    phases.push_back(event["phase"].get<std::string>());
  }
  for (const char* phase : {"identify", "prepare-backup", "begin-prepare", "prepare-snapshot",
                            "end-prepare", "freeze", "pre-commit", "hold-io", "commit",
                            "release-io", "post-commit", "thaw", "post-snapshot", "snapshot-set"})
    EXPECT_NE(std::find(phases.begin(), phases.end(), phase), phases.end()) << phase;
}

TEST(ProtocolHappyPath, WritesWaitDuringTheHoldAndReadsGoOn) {
  auto rig = make_protocol_rig({.volume_count = 1});
  HoldableVolume& volume = *rig->volumes[0].holdable;
  volume.hold();
  std::vector<std::byte> data(4096, std::byte{0x7e});
  std::vector<std::byte> read(4096);
  EXPECT_TRUE(volume.read(0, read).ok());
  std::thread writer([&] { EXPECT_TRUE(volume.write(0, data).ok()); });
  while (volume.waiting() == 0)
    std::this_thread::yield();
  EXPECT_TRUE(volume.read(0, read).ok());
  EXPECT_NE(read, data);
  volume.release();
  writer.join();
  EXPECT_TRUE(volume.read(0, read).ok());
  EXPECT_EQ(read, data);
}

TEST(ProtocolHappy, SnapshotSetListsSnapshotsInTheOrderVolumesWereAdded) {
  auto rig = testing::make_protocol_rig({.volume_count = 3});
  auto session = rig->coordinator->create_session();
  ASSERT_TRUE(session->gather_writer_metadata().ok());
  ASSERT_TRUE(session->start_snapshot_set().ok());
  const std::vector<std::string> order = {"vol2", "vol0", "vol1"};
  for (const std::string& volume : order)
    ASSERT_TRUE(session->add_to_snapshot_set(volume).ok());
  ASSERT_TRUE(session->prepare_for_backup().ok());
  ASSERT_TRUE(session->do_snapshot_set().ok());
  auto set = session->snapshot_set();
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->snapshots.size(), order.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    EXPECT_EQ(set->snapshots[i].origin_name, order[i]) << i;
  ASSERT_TRUE(session->backup_complete().ok());
}

}  // namespace
}  // namespace freezeframe

namespace freezeframe {
namespace {

// A requestor reads what it took through the session, or through the provider, without a
// map of its own: the snapshot shows the volume as of the commit.
TEST(ProtocolHappyPath, RequestorOpensWhatItTookThroughTheSession) {
  auto rig = make_protocol_rig({.volume_count = 2});
  rig->add_writer({.name = "app"});
  const std::vector<std::byte> before(4096, std::byte{0x11});
  const std::vector<std::byte> after(4096, std::byte{0x22});
  ASSERT_TRUE(rig->volumes[1].holdable->write(8192, before).ok());
  auto not_yet = rig->coordinator->create_session();
  EXPECT_EQ(not_yet->open_snapshot("vol1").status().code(), ErrorCode::kBadState);
  auto session = rig->coordinator->take_snapshot_set(rig->volume_names());
  ASSERT_TRUE(session.ok()) << session.status().to_string();
  ASSERT_TRUE(rig->volumes[1].holdable->write(8192, after).ok());

  auto opened = (*session)->open_snapshot("vol1");
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  std::vector<std::byte> read(4096);
  ASSERT_TRUE((*opened)->read(8192, read).ok());
  EXPECT_EQ(read, before);
  EXPECT_EQ((*session)->open_snapshot("vol7").status().code(), ErrorCode::kNotFound);
  // The provider opens the same snapshot by its id.
  auto set = (*session)->snapshot_set();
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->snapshots.size(), 2u);
  auto by_provider = rig->provider->open_snapshot(set->snapshots[1].id);
  ASSERT_TRUE(by_provider.ok()) << by_provider.status().to_string();
  std::vector<std::byte> again(4096);
  ASSERT_TRUE((*by_provider)->read(8192, again).ok());
  EXPECT_EQ(again, before);
  EXPECT_EQ(rig->provider->open_snapshot(Uuid::from_name("no such snapshot")).status().code(),
            ErrorCode::kNotFound);
  opened->reset();
  by_provider->reset();
  // Auto-release deletes the snapshots at backup_complete: nothing is left to open.
  ASSERT_TRUE((*session)->backup_complete().ok());
  EXPECT_EQ((*session)->open_snapshot("vol1").status().code(), ErrorCode::kBadState);
}

// The commit window holds the volumes' I/O: pre_commit, before it, flushes each volume so that
// the snapshot's creation inside it finds no CoW write-back buffer to write.
TEST(ProtocolHappyPath, PreCommitFlushesHeldWritesBeforeTheCommitWindow) {
  auto origin = MemoryVolume::create({.name = "data", .size_bytes = 1 << 20});
  auto diff = MemoryVolume::create({.name = "data-diff", .size_bytes = 8 << 20});
  ASSERT_TRUE(origin.ok() && diff.ok());
  auto provider = SnapshotProvider::create(ProviderKind::kCopyOnWrite, *origin.value(),
                                           *diff.value(), ProviderOptions{});
  ASSERT_TRUE(provider.ok()) << provider.status().to_string();
  SnapshotProvider& volume = *provider.value();
  ASSERT_TRUE(volume.create_snapshot().ok());
  std::vector<std::byte> data(4096, std::byte{0x5a});
  ASSERT_TRUE(volume.write(65536, data).ok());
  ASSERT_EQ(volume.stats().chunks_held, 1u) << "the first write after a snapshot is held";

  auto block = BlockSnapshotAdapter::create("block", ProviderKind::kCopyOnWrite);
  ASSERT_TRUE(block->add_volume(volume).ok());
  const Uuid set = Uuid::from_name("pre-commit-set");
  ASSERT_TRUE(block->begin_prepare(set, "data", 0).ok());
  ASSERT_TRUE(block->end_prepare(set).ok());
  const std::uint64_t write_backs = volume.stats().write_backs;
  ASSERT_TRUE(block->pre_commit(set).ok());
  EXPECT_EQ(volume.stats().write_backs, write_backs + 1);
  std::vector<std::byte> on_origin(4096);
  ASSERT_TRUE(origin.value()->read(65536, on_origin).ok());
  EXPECT_EQ(on_origin, data) << "the held write reached the origin before the commit";
  ASSERT_TRUE(block->commit(set).ok());
  EXPECT_EQ(volume.stats().write_backs, write_backs + 1) << "nothing left to write back";
  ASSERT_TRUE(block->post_commit(set).ok());
  EXPECT_EQ(volume.snapshots().size(), 2u);
}

}  // namespace
}  // namespace freezeframe

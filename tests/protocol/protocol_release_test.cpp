// Auto-release: snapshots of a backup context disappear at backup_complete, when the session
// ends without it, and (for a process that died) when their provider is registered with a
// coordinator again; persistent snapshots survive all of it, and a close and reopen.
#include <gtest/gtest.h>

#include "protocol_rig.h"

namespace freezeframe {
namespace {

using testing::make_protocol_rig;
using testing::ProtocolRig;

// Closes every provider cleanly and opens its diff area again, with a new coordinator that
// registers the reopened provider (which auto-releases leftovers).
void reopen(ProtocolRig& rig) {
  rig.coordinator.reset();
  rig.provider.reset();
  rig.block_provider.reset();
  rig.block_provider = BlockSnapshotAdapter::create("block-reopened", ProviderKind::kCopyOnWrite);
  for (auto& volume : rig.volumes) {
    volume.holdable.reset();
    ASSERT_TRUE(volume.provider->flush().ok());
    volume.provider.reset();
    auto opened = SnapshotProvider::open(*volume.origin, *volume.diff,
                                         {.clock = &rig.clock, .random = rig.random.get()});
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    volume.provider = std::move(opened).value();
    volume.holdable = std::make_unique<HoldableVolume>(*volume.provider);
    ASSERT_TRUE(rig.block_provider->add_volume(*volume.provider).ok());
  }
  rig.provider = std::make_unique<testing::ScriptedProvider>(rig.trace, *rig.block_provider);
  rig.coordinator = std::make_unique<Coordinator>(rig.clock);
  ASSERT_TRUE(rig.coordinator->register_provider(*rig.provider).ok());
}

// A rig of two volumes and one writer, "app".
std::unique_ptr<ProtocolRig> two_volumes_one_writer() {
  auto rig = make_protocol_rig({.volume_count = 2});
  rig->add_writer({.name = "app"});
  return rig;
}

// A set of every volume of `rig`, which then holds one snapshot per volume; null (and a
// failed test) if the set cannot be taken.
std::unique_ptr<BackupSession> take_set(ProtocolRig& rig, const SnapshotSetOptions& options = {}) {
  auto session = rig.coordinator->take_snapshot_set(rig.volume_names(), options);
  EXPECT_TRUE(session.ok()) << session.status().to_string();
  if (!session.ok())
    return nullptr;
  EXPECT_EQ(rig.snapshot_count(), rig.volumes.size());
  return std::move(session).value();
}

TEST(ProtocolAutoRelease, BackupSnapshotsGoAtBackupComplete) {
  auto rig = two_volumes_one_writer();
  auto session = take_set(*rig);
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(rig->snapshot_count(), 2u);
  ASSERT_TRUE(session->backup_complete().ok());
  EXPECT_EQ(rig->snapshot_count(), 0u);
}

TEST(ProtocolAutoRelease, BackupSnapshotsGoWhenTheSessionEndsWithoutBackupComplete) {
  auto rig = two_volumes_one_writer();
  {
    auto session = take_set(*rig);
    ASSERT_NE(session, nullptr);
    EXPECT_EQ(rig->snapshot_count(), 2u);
  }
  EXPECT_EQ(rig->snapshot_count(), 0u);
  auto entries = rig->trace.entries();
  EXPECT_EQ(entries.back(), "app:backup-shutdown");
  EXPECT_EQ(std::count(entries.begin(), entries.end(), "app:abort"), 0);
}

TEST(ProtocolAutoRelease, PersistentSnapshotsSurviveTheSessionAndAReopen) {
  auto rig = two_volumes_one_writer();
  Uuid set_id;
  {
    auto session = take_set(*rig, {.context = SnapshotContext::kClientAccessibleWriters});
    ASSERT_NE(session, nullptr);
    set_id = session->snapshot_set_id();
    ASSERT_TRUE(session->backup_complete().ok());
  }
  EXPECT_EQ(rig->snapshot_count(), 2u);
  rig->writers.clear();
  reopen(*rig);
  ASSERT_EQ(rig->snapshot_count(), 2u);
  for (const SnapshotInfo& info : rig->provider->query()) {
    EXPECT_EQ(info.set_id, set_id);
    EXPECT_EQ(
        info.attributes,
        static_cast<std::uint32_t>(SnapshotContext::kClientAccessibleWriters) | kAttrDifferential);
  }
}

TEST(ProtocolAutoRelease, LeftoversOfADeadProcessGoWhenTheProviderIsRegistered) {
  auto rig = make_protocol_rig({.volume_count = 1});
  SnapshotProvider& provider = *rig->volumes[0].provider;
  // What a session that died mid-backup leaves: a backup-context snapshot, next to a
  // persistent one.
  auto orphan = provider.create_snapshot(Uuid::from_name("dead set"), 0);
  auto kept = provider.create_snapshot(Uuid::from_name("kept set"),
                                       static_cast<std::uint32_t>(SnapshotContext::kNasRollback));
  ASSERT_TRUE(orphan.ok() && kept.ok());
  rig->writers.clear();
  reopen(*rig);
  auto left = rig->provider->query();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, kept->id);
}

}  // namespace
}  // namespace freezeframe

// Change ids through the backup session: each snapshot of a set carries one, and the next
// set's session answers what changed since it, although the first set's snapshots were
// released at backup_complete (an auto-release context).
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "protocol_rig.h"

namespace freezeframe {
namespace {

using testing::make_protocol_rig;

constexpr std::uint64_t kChunk = 4096;  // the rig's provider chunk

// Takes a backup-context set of every volume; returns each volume's change id.
std::map<std::string, std::string> take_set(
    testing::ProtocolRig& rig, std::map<std::string, std::string> since = {},
    std::map<std::string, std::set<std::uint64_t>>* changed = nullptr) {
  std::map<std::string, std::string> ids;
  auto session = rig.coordinator->create_session();
  EXPECT_TRUE(
      session->set_backup_type(since.empty() ? BackupType::kFull : BackupType::kIncremental).ok());
  EXPECT_TRUE(session->gather_writer_metadata().ok());
  auto started = session->start_snapshot_set();
  EXPECT_TRUE(started.ok()) << started.status().to_string();
  for (const std::string& volume : rig.volume_names())
    EXPECT_TRUE(session->add_to_snapshot_set(volume).ok());
  EXPECT_TRUE(session->prepare_for_backup().ok());
  Status done = session->do_snapshot_set();
  EXPECT_TRUE(done.ok()) << done.to_string();
  auto set = session->snapshot_set();
  EXPECT_TRUE(set.ok());
  if (!set.ok())
    return ids;
  for (const SnapshotInfo& info : set->snapshots) {
    EXPECT_FALSE(info.change_id.empty()) << info.origin_name;
    ids[info.origin_name] = info.change_id;
    if (changed == nullptr)
      continue;
    auto answer = session->changed_extents(info.origin_name, since[info.origin_name]);
    EXPECT_TRUE(answer.ok()) << answer.status().to_string();
    if (!answer.ok())
      continue;
    EXPECT_FALSE(answer->reset) << answer->reset_reason;
    for (const Extent& extent : answer->extents) {
      for (std::uint64_t at = extent.offset; at < extent.end(); at += kChunk)
        (*changed)[info.origin_name].insert(at / kChunk);
    }
  }
  EXPECT_TRUE(session->backup_complete().ok());
  return ids;
}

TEST(ProtocolChangeTracking, TheNextSetListsWhatChangedSinceTheReleasedOne) {
  for (ProviderKind kind : {ProviderKind::kCopyOnWrite, ProviderKind::kRedirectOnWrite}) {
    SCOPED_TRACE(provider_kind_name(kind));
    auto rig = make_protocol_rig({.kind = kind, .volume_count = 2});
    const auto first = take_set(*rig);
    ASSERT_EQ(first.size(), 2u);
    EXPECT_EQ(rig->snapshot_count(), 0u);  // released at backup_complete

    // Writes through the stack after the release: chunks 1 and 5 of the first volume, 2 of
    // the second.
    std::vector<std::byte> block(4096, std::byte{0x42});
    const auto names = rig->volume_names();
    ASSERT_TRUE(rig->volumes[0].holdable->write(1 * kChunk, block).ok());
    ASSERT_TRUE(rig->volumes[0].holdable->write(5 * kChunk, block).ok());
    ASSERT_TRUE(rig->volumes[1].holdable->write(2 * kChunk, block).ok());

    std::map<std::string, std::set<std::uint64_t>> changed;
    const auto second = take_set(*rig, first, &changed);
    EXPECT_EQ(changed[names[0]], (std::set<std::uint64_t>{1, 5}));
    EXPECT_EQ(changed[names[1]], (std::set<std::uint64_t>{2}));
    EXPECT_NE(second.at(names[0]), first.at(names[0]));

    // Nothing written since the second set: nothing listed since it.
    changed.clear();
    take_set(*rig, second, &changed);
    EXPECT_TRUE(changed[names[0]].empty());
    EXPECT_TRUE(changed[names[1]].empty());
  }
}

TEST(ProtocolChangeTracking, ChangedExtentsBeforeTheSetIsCreatedIsABadState) {
  auto rig = make_protocol_rig();
  auto session = rig->coordinator->create_session();
  ASSERT_TRUE(session->gather_writer_metadata().ok());
  ASSERT_TRUE(session->start_snapshot_set().ok());
  ASSERT_TRUE(session->add_to_snapshot_set(rig->volume_names()[0]).ok());
  ASSERT_TRUE(session->prepare_for_backup().ok());
  EXPECT_EQ(session->changed_extents(rig->volume_names()[0], "x").status().code(),
            ErrorCode::kBadState);
  ASSERT_TRUE(session->do_snapshot_set().ok());
  EXPECT_EQ(session->changed_extents("no-such-volume", "x").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(session->changed_extents(rig->volume_names()[0], "not an id").status().code(),
            ErrorCode::kInvalidArgument);
  ASSERT_TRUE(session->backup_complete().ok());
}

}  // namespace
}  // namespace freezeframe

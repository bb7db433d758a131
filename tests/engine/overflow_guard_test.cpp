// OverflowGuard on its own, over hand-built lower layers (layer_rig.h) and a fake
// SpaceReclaimer: each overflow policy at the limit, reclaiming before the policy acts, and
// limit changes. White-box: engine/src headers.
#include "overflow_guard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "layer_rig.h"

namespace freezeframe::testing {
namespace {

using format::RecordType;
using ::testing::HasSubstr;

class FakeReclaimer final : public detail::SpaceReclaimer {
 public:
  Result<bool> reclaim_space() override {
    ++calls;
    return reclaims;
  }
  int calls = 0;
  bool reclaims = false;
};

class OverflowGuardTest : public ::testing::Test {
 protected:
  // Two snapshots and a diff area whose maximum (3 chunks) is full.
  void build(OverflowPolicy policy) {
    layout.policy = policy;
    layout.limit = DiffAreaLimit::bytes(3 * kRigChunkBytes);
    formatted = rig_superblock(layout);
    volume = rig_volume(formatted.volume_bytes, "diff");
    layers = std::make_unique<Layers>(*volume, formatted);
    ASSERT_TRUE(layers->state.write_checkpoint().ok());
    guard = std::make_unique<detail::OverflowGuard>(layers->state, layers->diff_area);
    layers->state.log(snapshot_create(1));
    layers->state.log(snapshot_create(2));
    for (std::uint64_t chunk = 0; chunk < 3; ++chunk) {
      auto slot = layers->diff_area.allocate_slot(layers->state);
      ASSERT_TRUE(slot.ok());
      layers->state.map_written_slot(chunk, chunk == 0 ? 1 : 2, slot.value(), kRigChunkBytes);
    }
    ASSERT_TRUE(layers->state.commit().ok());
  }

  RigLayout layout;
  format::Superblock formatted;
  std::unique_ptr<MemoryVolume> volume;
  std::unique_ptr<Layers> layers;
  std::unique_ptr<detail::OverflowGuard> guard;
};

TEST_F(OverflowGuardTest, RoomLeftMeansNothingHappens) {
  build(OverflowPolicy::kFailWrites);
  bool acted = true;
  ASSERT_TRUE(guard->make_room(0, acted).ok());
  EXPECT_FALSE(acted);
  EXPECT_TRUE(guard->events().empty());
}

TEST_F(OverflowGuardTest, FailWritesRefusesTheWriteWithNoSpaceAndSaysSo) {
  build(OverflowPolicy::kFailWrites);
  bool acted = true;
  Status status = guard->make_room(1, acted);
  EXPECT_EQ(status.code(), ErrorCode::kNoSpace);
  EXPECT_FALSE(acted);
  EXPECT_THAT(status.message(), HasSubstr("diff area of 'rig' is full (used 12 KiB of max 12 KiB"));
  EXPECT_THAT(status.message(), HasSubstr("overflow policy fail-writes refused the write"));
  ASSERT_EQ(guard->events().size(), 1u);
  EXPECT_EQ(guard->events()[0].kind, ProviderEventKind::kWriteFailedNoSpace);
  EXPECT_EQ(layers->state.active().size(), 2u) << "snapshots stay intact";
}

TEST_F(OverflowGuardTest, DeleteOldestDeletesTheOldestSnapshotDurably) {
  build(OverflowPolicy::kDeleteOldest);
  const Uuid oldest = layers->state.find(1)->id;
  bool acted = false;
  ASSERT_TRUE(guard->make_room(1, acted).ok());
  EXPECT_TRUE(acted);
  EXPECT_EQ(layers->state.find(1), nullptr);
  EXPECT_NE(layers->state.find(2), nullptr);
  EXPECT_EQ(layers->diff_area.used_bytes(), 2 * kRigChunkBytes);
  ASSERT_EQ(guard->events().size(), 1u);
  EXPECT_EQ(guard->events()[0].kind, ProviderEventKind::kSnapshotDeletedForSpace);
  EXPECT_EQ(guard->events()[0].snapshot_id, oldest);
  // Committed before make_room() returned: a reopen no longer has the snapshot.
  Layers reopened(*volume, read_superblock(*volume));
  ASSERT_TRUE(reopened.state.recover().ok());
  EXPECT_EQ(reopened.state.find(1), nullptr);
  EXPECT_NE(reopened.state.find(2), nullptr);
}

TEST_F(OverflowGuardTest, InvalidateSnapshotInvalidatesEverySnapshot) {
  build(OverflowPolicy::kInvalidateSnapshot);
  bool acted = false;
  ASSERT_TRUE(guard->make_room(1, acted).ok());
  EXPECT_TRUE(acted);
  EXPECT_TRUE(layers->state.active().empty());
  EXPECT_TRUE(layers->state.find(1)->invalidated);
  EXPECT_TRUE(layers->state.find(2)->invalidated);
  EXPECT_EQ(guard->events().size(), 2u);
  // With nothing left to give up, the policy cannot act: the write is refused.
  Status status = guard->make_room(4, acted);
  EXPECT_EQ(status.code(), ErrorCode::kNoSpace);
  EXPECT_FALSE(acted);
}

TEST_F(OverflowGuardTest, TheReclaimerIsAskedBeforeThePolicyGivesAnythingUp) {
  build(OverflowPolicy::kDeleteOldest);
  FakeReclaimer reclaimer;
  reclaimer.reclaims = true;
  guard->set_reclaimer(&reclaimer);
  bool acted = false;
  ASSERT_TRUE(guard->make_room(1, acted).ok());
  EXPECT_TRUE(acted);
  EXPECT_EQ(reclaimer.calls, 1);
  EXPECT_EQ(layers->state.active().size(), 2u) << "reclaiming was enough";
  // Nothing reclaimed: the policy acts.
  reclaimer.reclaims = false;
  ASSERT_TRUE(guard->make_room(1, acted).ok());
  EXPECT_EQ(reclaimer.calls, 2);
  EXPECT_EQ(layers->state.active().size(), 1u);
  guard->set_reclaimer(nullptr);
}

TEST_F(OverflowGuardTest, ShrinkingBelowUseIsRefusedUnderFailWrites) {
  build(OverflowPolicy::kFailWrites);
  Status status = guard->change_limit(DiffAreaLimit::bytes(kRigChunkBytes));
  EXPECT_EQ(status.code(), ErrorCode::kNoSpace);
  EXPECT_THAT(status.message(), HasSubstr("cannot shrink the maximum"));
  EXPECT_EQ(layers->diff_area.max_bytes(), 3 * kRigChunkBytes) << "nothing changed";
  // Growing is fine, and durable.
  ASSERT_TRUE(guard->change_limit(DiffAreaLimit::bytes(5 * kRigChunkBytes)).ok());
  EXPECT_EQ(layers->diff_area.max_bytes(), 5 * kRigChunkBytes);
  Layers reopened(*volume, read_superblock(*volume));
  ASSERT_TRUE(reopened.state.recover().ok());
  EXPECT_EQ(reopened.diff_area.max_bytes(), 5 * kRigChunkBytes);
}

TEST_F(OverflowGuardTest, ShrinkingUnderDeleteOldestDeletesUntilUseFits) {
  build(OverflowPolicy::kDeleteOldest);
  ASSERT_TRUE(guard->change_limit(DiffAreaLimit::bytes(2 * kRigChunkBytes)).ok());
  EXPECT_LE(layers->diff_area.used_bytes(), 2 * kRigChunkBytes);
  EXPECT_EQ(layers->state.find(1), nullptr);
  EXPECT_NE(layers->state.find(2), nullptr);
  ASSERT_TRUE(guard->change_policy(OverflowPolicy::kFailWrites).ok());
  EXPECT_EQ(layers->state.policy(), OverflowPolicy::kFailWrites);
}

}  // namespace
}  // namespace freezeframe::testing

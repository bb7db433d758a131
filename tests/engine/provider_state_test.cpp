// ProviderState on its own: records build the snapshot table and the version index, locate()
// answers which version a reader sees (CoW and RoW), versions nobody reads are dropped and
// their slots freed, replayed records outside the geometry are refused, and a checkpoint or
// a reopen rebuilds the same state. It sits on a real DiffArea and MetadataJournal over a
// memory volume, built by hand (layer_rig.h). White-box: engine/src headers.
#include "provider_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "layer_rig.h"

namespace freezeframe::testing {
namespace {

using format::kOriginSlot;
using format::Record;
using format::RecordType;
using ::testing::HasSubstr;

class ProviderStateTest : public ::testing::TestWithParam<ProviderKind> {
 protected:
  void SetUp() override {
    layout.kind = GetParam();
    formatted = rig_superblock(layout);
    volume = rig_volume(formatted.volume_bytes, "diff");
    layers = std::make_unique<Layers>(*volume, formatted);
    ASSERT_TRUE(state().write_checkpoint().ok());
  }

  detail::ProviderState& state() { return layers->state; }
  detail::DiffArea& diff_area() { return layers->diff_area; }
  bool cow() const { return GetParam() == ProviderKind::kCopyOnWrite; }

  // A new slot holding version `tag` of `chunk`, as a write path maps one.
  std::uint32_t map_new_slot(std::uint64_t chunk, std::uint32_t tag) {
    auto slot = diff_area().allocate_slot(state());
    EXPECT_TRUE(slot.ok()) << slot.status().to_string();
    state().map_written_slot(chunk, tag, slot.value(), kRigChunkBytes);
    return slot.value();
  }

  // Opens the layers again over the same volume and replays the journal.
  std::unique_ptr<Layers> reopen() {
    auto reopened = std::make_unique<Layers>(*volume, read_superblock(*volume));
    Status status = reopened->state.recover();
    EXPECT_TRUE(status.ok()) << status.to_string();
    return reopened;
  }

  RigLayout layout;
  format::Superblock formatted;
  std::unique_ptr<MemoryVolume> volume;
  std::unique_ptr<Layers> layers;
};

INSTANTIATE_TEST_SUITE_P(Kinds, ProviderStateTest,
                         ::testing::Values(ProviderKind::kCopyOnWrite,
                                           ProviderKind::kRedirectOnWrite),
                         [](const auto& param_info) {
                           return std::string(provider_kind_name(param_info.param));
                         });

TEST_P(ProviderStateTest, SnapshotRecordsBuildTheSnapshotTable) {
  const Record first = snapshot_create(1);
  const Record second = snapshot_create(2);
  state().log(first);
  state().log(second);
  EXPECT_EQ(state().snapshots().size(), 2u);
  EXPECT_EQ(state().active(), (std::set<std::uint32_t>{1, 2}));
  EXPECT_EQ(state().next_tag(), 3u);
  ASSERT_NE(state().find(second.id), nullptr);
  EXPECT_EQ(state().find(second.id)->tag, 2u);
  ASSERT_NE(state().find(1), nullptr);
  EXPECT_EQ(state().find(1)->id, first.id);
  EXPECT_EQ(state().find(1)->set_id, first.set_id);
  EXPECT_EQ(state().find(1)->created_ns, first.created_ns);
  EXPECT_EQ(state().find(Uuid::generate()), nullptr);
  EXPECT_EQ(state().find(7), nullptr);

  state().log(tagged(RecordType::kSnapshotInvalidate, 1));
  ASSERT_NE(state().find(1), nullptr) << "an invalidated snapshot stays listed";
  EXPECT_TRUE(state().find(1)->invalidated);
  EXPECT_EQ(state().active(), (std::set<std::uint32_t>{2}));

  state().log(tagged(RecordType::kSnapshotDelete, 2));
  EXPECT_EQ(state().find(2), nullptr);
  EXPECT_TRUE(state().active().empty());
  EXPECT_EQ(state().next_tag(), 3u) << "tags are never reused";
}

TEST_P(ProviderStateTest, LocateAnswersWhichVersionEachReaderSees) {
  state().log(snapshot_create(1));
  if (cow()) {
    // CoW: the origin is live; a version tagged t is what snapshots up to t read.
    const std::uint32_t preserved = map_new_slot(5, 1);
    state().log(snapshot_create(2));
    const std::uint32_t newer = map_new_slot(5, 2);
    EXPECT_EQ(state().locate(5, 1), preserved);
    EXPECT_EQ(state().locate(5, 2), newer);
    EXPECT_EQ(state().locate(5, 0), kOriginSlot) << "the live volume is the origin";
  } else {
    // RoW: writes after snapshot 1 are tagged 2 and redirected; the snapshot reads the origin.
    const std::uint32_t first = map_new_slot(5, 2);
    EXPECT_EQ(state().locate(5, 1), kOriginSlot);
    EXPECT_EQ(state().locate(5, 0), first);
    state().log(snapshot_create(2));
    const std::uint32_t second = map_new_slot(5, 3);
    EXPECT_EQ(state().locate(5, 2), first);
    EXPECT_EQ(state().locate(5, 1), kOriginSlot);
    EXPECT_EQ(state().locate(5, 0), second);
  }
  EXPECT_EQ(state().locate(6, 1), kOriginSlot) << "an unchanged chunk";
  EXPECT_EQ(state().index().chunks(), 1u);
  EXPECT_EQ(state().index().versions(), 2u);
  EXPECT_EQ(diff_area().used_bytes(), 2 * kRigChunkBytes);
}

TEST_P(ProviderStateTest, DeletingSnapshotsDropsVersionsNobodyReads) {
  state().log(snapshot_create(1));
  state().log(snapshot_create(2));
  // CoW preserves into the newest snapshot; RoW redirects the live write (tag 3).
  const std::uint32_t tag = cow() ? 2 : 3;
  const std::uint32_t slot = map_new_slot(9, tag);
  EXPECT_EQ(state().snapshot_bytes(tag), kRigChunkBytes);

  state().log(tagged(RecordType::kSnapshotDelete, 2));
  if (cow()) {
    // Snapshot 1 read the version through snapshot 2: it is handed down, bytes and all.
    EXPECT_EQ(state().locate(9, 1), slot);
    EXPECT_EQ(state().snapshot_bytes(1), kRigChunkBytes);
    EXPECT_EQ(state().snapshot_bytes(2), 0u);
    state().log(tagged(RecordType::kSnapshotDelete, 1));
    EXPECT_TRUE(state().index().empty());
    EXPECT_EQ(diff_area().used_bytes(), 0u);
    // The slot is free once the deletion is durable: allocation commits, then reuses it.
    auto reused = diff_area().allocate_slot(state());
    ASSERT_TRUE(reused.ok());
    EXPECT_EQ(reused.value(), slot);
  } else {
    // The live volume still reads the redirected chunk.
    EXPECT_EQ(state().locate(9, 0), slot);
    EXPECT_EQ(diff_area().used_bytes(), kRigChunkBytes);
  }
}

TEST_P(ProviderStateTest, ALimitRecordSetsTheLimitAndThePolicy) {
  Record limit;
  limit.type = RecordType::kLimit;
  limit.limit_kind = static_cast<std::uint8_t>(DiffAreaLimit::Kind::kBytes);
  limit.limit_value = 3 * kRigChunkBytes;
  limit.policy = static_cast<std::uint8_t>(OverflowPolicy::kInvalidateSnapshot);
  state().log(limit);
  EXPECT_EQ(state().policy(), OverflowPolicy::kInvalidateSnapshot);
  EXPECT_EQ(diff_area().max_bytes(), 3 * kRigChunkBytes);
}

TEST_P(ProviderStateTest, ReplayRefusesRecordsOutsideTheGeometry) {
  struct Case {
    const char* what;
    Record record;
    const char* message;
  };
  Record bad_limit;
  bad_limit.type = RecordType::kLimit;
  bad_limit.policy = 0;
  Record bad_kind = bad_limit;
  bad_kind.limit_kind = 3;
  bad_kind.policy = 1;
  const Case cases[] = {
      {"chunk past the origin", map_add(16, 1, 0), "chunk 16 is beyond the origin"},
      {"tag 0", map_add(1, 0, 0), "snapshot tag 0"},
      {"tag max", map_add(1, 0xffffffffu, 0), "snapshot tag 4294967295"},
      {"slot past the data area", map_add(1, 1, 8), "slot 8 is beyond the data area"},
      {"remove past the origin",
       [] {
         Record r = tagged(RecordType::kMapRemove, 1);
         r.chunk = 99;
         return r;
       }(),
       "chunk 99 is beyond the origin"},
      {"policy 0", bad_limit, "unknown limit kind or overflow policy"},
      {"limit kind 3", bad_kind, "unknown limit kind or overflow policy"},
      {"create tag 0", snapshot_create(0), "snapshot tag 0"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Status status = state().replay_record(c.record);
    EXPECT_EQ(status.code(), ErrorCode::kCorrupt) << status.to_string();
    EXPECT_THAT(status.message(), HasSubstr("diff area of 'rig': journal record type "));
    EXPECT_THAT(status.message(), HasSubstr(c.message));
  }
  // Nothing was applied.
  EXPECT_TRUE(state().index().empty());
  EXPECT_TRUE(state().snapshots().empty());
  EXPECT_EQ(diff_area().used_bytes(), 0u);
  EXPECT_EQ(state().policy(), layout.policy);
  // A slot of kOriginSlot is a location, not a slot number: accepted.
  EXPECT_TRUE(state().replay_record(map_add(1, 1, kOriginSlot, 0)).ok());
}

TEST_P(ProviderStateTest, CheckpointRecordsRebuildTheSameState) {
  state().log(snapshot_create(1));
  state().log(snapshot_create(2));
  map_new_slot(3, 2);
  map_new_slot(4, cow() ? 1 : 3);
  state().log(tagged(RecordType::kSnapshotInvalidate, 1));
  const std::vector<Record> records = state().checkpoint_records();
  ASSERT_GE(records.size(), 2u);
  EXPECT_EQ(records[0].type, RecordType::kState);
  EXPECT_EQ(records[1].type, RecordType::kLimit);

  auto other_volume = rig_volume(formatted.volume_bytes, "other");
  Layers other(*other_volume, formatted);
  for (const Record& record : records)
    ASSERT_TRUE(other.state.replay_record(record).ok());
  EXPECT_EQ(other.state.next_tag(), state().next_tag());
  EXPECT_EQ(other.state.active(), state().active());
  EXPECT_EQ(other.state.snapshots().size(), state().snapshots().size());
  EXPECT_TRUE(other.state.find(1)->invalidated);
  for (std::uint64_t chunk = 0; chunk < 16; ++chunk) {
    for (std::uint32_t tag = 0; tag <= 3; ++tag)
      EXPECT_EQ(other.state.locate(chunk, tag), state().locate(chunk, tag)) << chunk << " " << tag;
  }
  EXPECT_EQ(other.diff_area.used_bytes(), diff_area().used_bytes());
}

TEST_P(ProviderStateTest, AReopenReplaysOnlyWhatWasCommitted) {
  state().log(snapshot_create(1));
  const std::uint32_t slot = map_new_slot(2, cow() ? 1 : 2);
  ASSERT_TRUE(state().commit().ok());
  state().log(snapshot_create(2));  // never committed

  auto reopened = reopen();
  EXPECT_EQ(reopened->state.snapshots().size(), 1u);
  EXPECT_EQ(reopened->state.next_tag(), 2u);
  EXPECT_EQ(reopened->state.locate(2, cow() ? 1 : 0), slot);
  EXPECT_EQ(reopened->diff_area.used_bytes(), kRigChunkBytes);
  EXPECT_EQ(reopened->state.snapshot_bytes(cow() ? 1 : 2), kRigChunkBytes);
  // The next slot handed out is above the one in use.
  auto next = reopened->diff_area.allocate_slot(reopened->state);
  ASSERT_TRUE(next.ok());
  EXPECT_NE(next.value(), slot);
}

}  // namespace
}  // namespace freezeframe::testing

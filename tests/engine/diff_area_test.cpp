// DiffArea on its own: slot allocation and the pending state of freed slots, space
// accounting per tag against the limit, compressed frames and their discarded slot tails,
// and the recount a reopen makes from the index. The journal is replaced by a fake
// FreedSlotCommitter. White-box: engine/src headers.
#include "diff_area.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "chunk_index.h"
#include "freezeframe/random.h"
#include "layer_rig.h"

namespace freezeframe::testing {
namespace {

using detail::ChunkIndex;
using detail::ChunkVersion;
using detail::DiffArea;
using detail::DiffAreaGeometry;
using ::testing::HasSubstr;

constexpr std::uint32_t kChunk = kRigChunkBytes;
constexpr std::uint64_t kSlots = 8;
// 10.25 chunks: the last chunk of the origin is 1 KiB.
constexpr std::uint64_t kOriginBytes = 10 * kChunk + 1024;

DiffAreaGeometry geometry() {
  DiffAreaGeometry g;
  g.chunk_bytes = kChunk;
  g.chunk_shift = 12;
  g.origin_bytes = kOriginBytes;
  g.data_offset = 4 * kChunk;
  g.data_slots = kSlots;
  return g;
}

// Stands in for the journal: counts commits and, like ProviderState, releases the freed
// slots once "their records are durable"; or fails with a given status.
class FakeCommitter final : public detail::FreedSlotCommitter {
 public:
  explicit FakeCommitter(DiffArea* area = nullptr) : area_(area) {}
  Status commit_freed_slots() override {
    ++commits;
    if (!failure.ok())
      return failure;
    if (area_ != nullptr)
      area_->release_freed_slots();
    return Status();
  }
  int commits = 0;
  Status failure;

 private:
  DiffArea* area_;
};

class DiffAreaTest : public ::testing::Test {
 protected:
  std::unique_ptr<MemoryVolume> volume =
      rig_volume(geometry().data_offset + kSlots * kChunk, "diff");
  DiffArea area{*volume, geometry(), DiffAreaLimit::unbounded(), "diff area of 'data'"};
  FakeCommitter committer{&area};

  std::uint32_t allocate() {
    auto slot = area.allocate_slot(committer);
    EXPECT_TRUE(slot.ok()) << slot.status().to_string();
    return slot.ok() ? slot.value() : 0;
  }
  // Every slot of the data area in use by snapshot tag 1.
  void use_every_slot() {
    for (std::uint32_t slot = 0; slot < kSlots; ++slot)
      area.use_slot(1, allocate());
  }
};

TEST(DiffAreaGeometry, SplitsRequestsAtChunkBoundariesAndShortensTheLastChunk) {
  const DiffAreaGeometry g = geometry();
  EXPECT_EQ(g.chunks(), 11u);
  EXPECT_EQ(g.chunk_length(0), kChunk);
  EXPECT_EQ(g.chunk_length(10), 1024u);
  const auto piece = g.piece_at(kChunk + 512, 2 * kChunk);
  EXPECT_EQ(piece.chunk, 1u);
  EXPECT_EQ(piece.within, 512u);
  EXPECT_EQ(piece.length, kChunk - 512);
  EXPECT_EQ(g.piece_at(0, 100).length, 100u);
}

TEST_F(DiffAreaTest, HandsOutSlotsInOrderUntilTheDataAreaIsExhausted) {
  for (std::uint32_t expected = 0; expected < kSlots; ++expected)
    EXPECT_EQ(allocate(), expected);
  EXPECT_EQ(area.allocated_bytes(), kSlots * kChunk);
  auto none = area.allocate_slot(committer);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::kNoSpace);
  EXPECT_THAT(none.status().message(), HasSubstr("diff area of 'data': no free data slot"));
  EXPECT_EQ(committer.commits, 0) << "nothing was pending, so nothing to commit";
}

TEST_F(DiffAreaTest, AReturnedSlotIsReusedWithoutACommit) {
  EXPECT_EQ(allocate(), 0u);
  EXPECT_EQ(allocate(), 1u);
  area.return_slot(0);
  EXPECT_EQ(allocate(), 0u);
  EXPECT_EQ(allocate(), 2u);
  EXPECT_EQ(committer.commits, 0);
}

TEST_F(DiffAreaTest, AFreedSlotIsReusedOnlyAfterItsRecordIsCommitted) {
  use_every_slot();
  area.free_slot(1, 3);
  // Slot 3 is pending: handing it out before the freeing record is durable would let a crash
  // bring back a map entry pointing at overwritten bytes. So allocation commits first.
  EXPECT_EQ(allocate(), 3u);
  EXPECT_EQ(committer.commits, 1);
  // A slot freed and released explicitly needs no further commit.
  area.use_slot(1, 3);
  area.free_slot(1, 5);
  area.release_freed_slots();
  EXPECT_EQ(allocate(), 5u);
  EXPECT_EQ(committer.commits, 1);
}

TEST_F(DiffAreaTest, AFailedCommitFailsTheAllocationAndKeepsTheSlotPending) {
  use_every_slot();
  area.free_slot(1, 6);
  committer.failure = io_error("journal flush failed");
  auto failed = area.allocate_slot(committer);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), ErrorCode::kIoError);
  EXPECT_EQ(failed.status().message(), "journal flush failed");
  committer.failure = Status();
  EXPECT_EQ(allocate(), 6u);
  EXPECT_EQ(committer.commits, 2);
}

TEST_F(DiffAreaTest, AccountsBytesPerTagAsSlotsAreUsedMovedAndFreed) {
  area.use_slot(1, allocate());
  area.use_slot(2, allocate());
  area.use_slot(2, allocate());
  area.use_slot(3, format::kOriginSlot);  // a version in the origin takes no space
  EXPECT_EQ(area.used_bytes(), 3 * kChunk);
  EXPECT_EQ(area.tag_bytes(1), kChunk);
  EXPECT_EQ(area.tag_bytes(2), 2 * kChunk);
  EXPECT_EQ(area.tag_bytes(3), 0u);

  area.move_tag_bytes(2, 1, kChunk);  // a version handed to an older snapshot
  EXPECT_EQ(area.tag_bytes(1), 2 * kChunk);
  EXPECT_EQ(area.tag_bytes(2), kChunk);
  EXPECT_EQ(area.used_bytes(), 3 * kChunk);

  area.free_slot(2, 2);
  EXPECT_EQ(area.used_bytes(), 2 * kChunk);
  EXPECT_EQ(area.tag_bytes(2), 0u);
  area.free_slot(3, format::kOriginSlot);
  EXPECT_EQ(area.used_bytes(), 2 * kChunk);
  // The high-water mark stays: slot 2 was written once and will be reused, not forgotten.
  EXPECT_EQ(area.allocated_bytes(), 3 * kChunk);
}

TEST_F(DiffAreaTest, FitsRefusesWhatWouldPassTheLimitInWholeChunks) {
  // 3.5 chunks allow 3 whole chunks.
  area.set_limit(DiffAreaLimit::bytes(3 * kChunk + kChunk / 2));
  EXPECT_EQ(area.max_bytes(), 3 * kChunk);
  EXPECT_TRUE(area.fits(3, 3 * kChunk));
  EXPECT_FALSE(area.fits(4, 4 * kChunk));
  area.use_slot(1, allocate());
  area.use_slot(1, allocate());
  EXPECT_TRUE(area.fits(1, kChunk));
  area.use_slot(1, allocate());
  EXPECT_FALSE(area.fits(1, kChunk));
  EXPECT_FALSE(area.fits(0, 512)) << "a compressed frame still takes a sector";
  EXPECT_TRUE(area.fits(0, 0));
  EXPECT_EQ(area.space_text(), "used 12 KiB of max 12 KiB, limit " + area.limit().to_string());
}

TEST_F(DiffAreaTest, TheMaximumIsCappedByTheDataAreaAndCanBeAskedForAnotherLimit) {
  EXPECT_EQ(area.max_bytes(), kSlots * kChunk) << "unbounded: the data area decides";
  // 50% of 41 KiB is 20.5 KiB: five whole chunks.
  EXPECT_EQ(area.max_bytes_for(DiffAreaLimit::percent_of_origin(50)), 5 * kChunk);
  EXPECT_EQ(area.max_bytes_for(DiffAreaLimit::bytes(1u << 30)), kSlots * kChunk);
  EXPECT_EQ(area.limit().kind, DiffAreaLimit::Kind::kUnbounded) << "asking changes nothing";
  // Slots run out before bytes do when every slot holds little.
  area.set_limit(DiffAreaLimit::unbounded());
  EXPECT_FALSE(area.fits(kSlots + 1, 512));
}

TEST_F(DiffAreaTest, CompressedFramesRoundTripAndAccountForWholeSectors) {
  ASSERT_TRUE(area.enable_compression().ok());
  ASSERT_TRUE(area.compressed());
  std::vector<std::byte> chunk(kChunk);
  for (std::size_t i = 0; i < chunk.size(); ++i)
    chunk[i] = static_cast<std::byte>(i / 512);  // eight runs: compresses well
  std::vector<std::byte> frame;
  const std::uint32_t length = area.pack(chunk, frame);
  ASSERT_LT(length, kChunk);
  EXPECT_EQ(frame.size() % 512, 0u);
  EXPECT_GE(frame.size(), length);
  EXPECT_LT(frame.size(), kChunk);

  const std::uint32_t slot = allocate();
  ASSERT_TRUE(area.write_packed(slot, 0, frame, length).ok());
  area.set_frame_length(slot, length);
  area.use_slot(1, slot);
  EXPECT_EQ(area.slot_bytes(slot), frame.size());
  EXPECT_EQ(area.accounted_bytes(0, length), frame.size());
  EXPECT_EQ(area.used_bytes(), frame.size());
  EXPECT_EQ(area.tag_bytes(1), frame.size());

  std::vector<std::byte> back(kChunk);
  ASSERT_TRUE(area.read_slot(0, slot, back).ok());
  EXPECT_EQ(back, chunk);

  // Freeing the slot forgets its frame: a reuse for a raw chunk reads raw bytes.
  area.free_slot(1, slot);
  EXPECT_EQ(area.frame_length(slot), 0u);
  EXPECT_EQ(area.used_bytes(), 0u);
}

TEST_F(DiffAreaTest, AChunkThatDoesNotCompressIsStoredWhole) {
  ASSERT_TRUE(area.enable_compression().ok());
  std::vector<std::byte> chunk(kChunk);
  Random random(20240601);
  for (std::byte& b : chunk)
    b = static_cast<std::byte>(random.next_u64() & 0xff);
  std::vector<std::byte> frame;
  EXPECT_EQ(area.pack(chunk, frame), kChunk);
  EXPECT_EQ(frame, chunk);
  // Stored whole, a chunk accounts for a whole chunk; so does the short last chunk.
  EXPECT_EQ(area.accounted_bytes(0, kChunk), kChunk);
  EXPECT_EQ(area.accounted_bytes(10, 1024), kChunk);
  EXPECT_EQ(area.accounted_bytes(10, 700), 1024u);
}

TEST_F(DiffAreaTest, WritingAFrameDiscardsTheRestOfTheSlot) {
  LoggingVolume logged(*volume);
  DiffArea over_log(logged, geometry(), DiffAreaLimit::unbounded(), "diff area of 'data'");
  ASSERT_TRUE(over_log.enable_compression().ok());
  const std::vector<std::byte> old_bytes(kChunk, std::byte{0xff});
  ASSERT_TRUE(over_log.write_chunk(2, 0, old_bytes).ok());
  const std::vector<std::byte> frame(1024, std::byte{0x5a});
  logged.log.clear();
  ASSERT_TRUE(over_log.write_packed(2, 0, frame, 1024).ok());
  const std::uint64_t at = over_log.slot_offset(2);
  EXPECT_EQ(logged.log, (std::vector<std::string>{"write " + std::to_string(at) + " 1024",
                                                  "discard " + std::to_string(at + 1024) + " " +
                                                      std::to_string(kChunk - 1024)}));
  std::vector<std::byte> slot_bytes(kChunk);
  ASSERT_TRUE(volume->read(at, slot_bytes).ok());
  EXPECT_TRUE(std::equal(slot_bytes.begin(), slot_bytes.begin() + 1024, frame.begin()));
  EXPECT_TRUE(std::all_of(slot_bytes.begin() + 1024, slot_bytes.end(), [](std::byte b) {
    return b == std::byte{0};
  })) << "the old bytes of the slot's tail must be gone";

  // A whole-chunk frame (the chunk did not compress) leaves nothing to discard.
  logged.log.clear();
  ASSERT_TRUE(over_log.write_packed(3, 0, old_bytes, kChunk).ok());
  EXPECT_EQ(logged.log.size(), 1u);
}

TEST_F(DiffAreaTest, ADamagedFrameIsCorruptNotWrongBytes) {
  ASSERT_TRUE(area.enable_compression().ok());
  std::vector<std::byte> chunk(kChunk, std::byte{0x42});
  std::vector<std::byte> frame;
  const std::uint32_t length = area.pack(chunk, frame);
  ASSERT_LT(length, kChunk);
  const std::uint32_t slot = allocate();
  ASSERT_TRUE(area.write_packed(slot, 0, frame, length).ok());
  area.set_frame_length(slot, length);
  // Flip a byte inside the frame's content.
  frame[length / 2] ^= std::byte{0x10};
  ASSERT_TRUE(volume->write(area.slot_offset(slot), frame).ok());
  std::vector<std::byte> back(kChunk);
  Status status = area.read_slot(4, slot, back);
  EXPECT_EQ(status.code(), ErrorCode::kCorrupt) << status.to_string();
  EXPECT_THAT(status.message(), HasSubstr("diff area of 'data': compressed chunk 4 in data slot " +
                                          std::to_string(slot)));
}

TEST_F(DiffAreaTest, ReopenRecountsFromTheIndexAndFreesWhatItDoesNotReference) {
  // Replay of a journal: slots 0..3 were used, 1 was freed again, 3 holds a frame.
  area.begin_recovery();
  area.use_slot(1, 0);
  area.use_slot(1, 1);
  area.set_frame_length(3, 700);
  area.use_slot(2, 3);
  area.use_slot(2, 2);
  area.free_slot(1, 1);
  area.free_slot(2, 2);
  ChunkIndex index;
  const ChunkVersion chunk0[] = {{1, 0}};
  const ChunkVersion chunk7[] = {{2, 3}};
  index.assign(0, chunk0);
  index.assign(7, chunk7);
  ASSERT_TRUE(area.finish_recovery(index).ok());
  EXPECT_EQ(area.used_bytes(), kChunk + 1024);
  EXPECT_EQ(area.tag_bytes(1), kChunk);
  EXPECT_EQ(area.tag_bytes(2), 1024u);
  EXPECT_EQ(area.allocated_bytes(), 4 * kChunk);
  // Slots freed during replay are reusable at once (nothing reused them since), lowest first,
  // then the area grows above the high-water mark.
  EXPECT_EQ(allocate(), 1u);
  EXPECT_EQ(allocate(), 2u);
  EXPECT_EQ(allocate(), 4u);
  EXPECT_EQ(committer.commits, 0);
}

TEST_F(DiffAreaTest, ReopenRefusesASlotMappedTwice) {
  area.begin_recovery();
  area.use_slot(1, 2);
  area.use_slot(1, 2);
  ChunkIndex index;
  const ChunkVersion versions[] = {{1, 2}};
  index.assign(0, versions);
  index.assign(5, versions);
  Status status = area.finish_recovery(index);
  EXPECT_EQ(status.code(), ErrorCode::kCorrupt);
  EXPECT_EQ(status.message(), "diff area of 'data': data slot 2 is mapped twice");
}

}  // namespace
}  // namespace freezeframe::testing

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
#include "zstd_skip.h"

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
  // The chunk checksum table (one 4096-byte block holds the 8 slots' entries), then the data.
  g.sum_offset = 3 * kChunk;
  g.sum_bytes = format::sum_table_bytes(kSlots);
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
  // One slot is kept spare (a RoW rewrite takes a fresh slot before it frees the old one).
  EXPECT_EQ(area.max_bytes(), (kSlots - 1) * kChunk) << "unbounded: the data area decides";
  // 50% of 41 KiB is 20.5 KiB: five whole chunks, below the cap.
  EXPECT_EQ(area.max_bytes_for(DiffAreaLimit::percent_of_origin(50)), 5 * kChunk);
  EXPECT_EQ(area.max_bytes_for(DiffAreaLimit::bytes(1u << 30)), (kSlots - 1) * kChunk);
  // A limit of exactly the data area is capped too; one a chunk short of it is not.
  EXPECT_EQ(area.max_bytes_for(DiffAreaLimit::bytes(kSlots * kChunk)), (kSlots - 1) * kChunk);
  EXPECT_EQ(area.max_bytes_for(DiffAreaLimit::bytes((kSlots - 1) * kChunk)), (kSlots - 1) * kChunk);
  EXPECT_EQ(area.max_bytes_for(DiffAreaLimit::bytes((kSlots - 2) * kChunk)), (kSlots - 2) * kChunk);
  EXPECT_EQ(area.limit().kind, DiffAreaLimit::Kind::kUnbounded) << "asking changes nothing";
  // The bytes of every slot but the spare one fit; the spare one's do not.
  EXPECT_TRUE(area.fits(kSlots - 1, (kSlots - 1) * kChunk));
  EXPECT_FALSE(area.fits(kSlots, kSlots * kChunk));
  // Slots run out before bytes do when every slot holds little.
  EXPECT_TRUE(area.fits(kSlots, kSlots * 512));
  EXPECT_FALSE(area.fits(kSlots + 1, 512));
}

TEST_F(DiffAreaTest, CompressedFramesRoundTripAndAccountForWholeSectors) {
  FF_SKIP_WITHOUT_ZSTD(true);
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
  FF_SKIP_WITHOUT_ZSTD(true);
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
  FF_SKIP_WITHOUT_ZSTD(true);
  LoggingVolume logged(*volume);
  DiffArea over_log(logged, geometry(), DiffAreaLimit::unbounded(), "diff area of 'data'");
  ASSERT_TRUE(over_log.enable_compression().ok());
  const std::vector<std::byte> old_bytes(kChunk, std::byte{0xff});
  ASSERT_TRUE(over_log.write_chunk(2, 0, old_bytes).ok());
  const std::vector<std::byte> frame(1024, std::byte{0x5a});
  logged.log.clear();
  ASSERT_TRUE(over_log.write_packed(2, 0, frame, 1024).ok());
  const std::uint64_t at = over_log.slot_offset(2);
  // The frame, then the discard of the slot's tail; the sector of the checksum table that
  // holds slot 2's entry is written by flush_sums() (a journal commit calls it).
  const std::string sum_write = "write " + std::to_string(geometry().sum_offset) + " 512";
  EXPECT_EQ(logged.log, (std::vector<std::string>{"write " + std::to_string(at) + " 1024",
                                                  "discard " + std::to_string(at + 1024) + " " +
                                                      std::to_string(kChunk - 1024)}));
  logged.log.clear();
  ASSERT_TRUE(over_log.flush_sums().ok());
  EXPECT_EQ(logged.log, (std::vector<std::string>{sum_write}));
  std::vector<std::byte> slot_bytes(kChunk);
  ASSERT_TRUE(volume->read(at, slot_bytes).ok());
  EXPECT_TRUE(std::equal(slot_bytes.begin(), slot_bytes.begin() + 1024, frame.begin()));
  EXPECT_TRUE(std::all_of(slot_bytes.begin() + 1024, slot_bytes.end(), [](std::byte b) {
    return b == std::byte{0};
  })) << "the old bytes of the slot's tail must be gone";

  // A whole-chunk frame (the chunk did not compress) leaves nothing to discard.
  logged.log.clear();
  ASSERT_TRUE(over_log.write_packed(3, 0, old_bytes, kChunk).ok());
  EXPECT_EQ(logged.log,
            (std::vector<std::string>{"write " + std::to_string(over_log.slot_offset(3)) + " " +
                                      std::to_string(kChunk)}));
}

TEST_F(DiffAreaTest, ADamagedFrameIsCorruptNotWrongBytes) {
  FF_SKIP_WITHOUT_ZSTD(true);
  ASSERT_TRUE(area.enable_compression().ok());
  std::vector<std::byte> chunk(kChunk, std::byte{0x42});
  std::vector<std::byte> frame;
  const std::uint32_t length = area.pack(chunk, frame);
  ASSERT_LT(length, kChunk);
  const std::uint32_t slot = allocate();
  ASSERT_TRUE(area.write_packed(slot, 4, frame, length).ok());
  area.set_frame_length(slot, length);
  // Without trusted checksums (a table being rebuilt), the frame's own zstd checksum is what
  // catches the damage.
  area.set_sums_trusted(false);
  // Flip a byte inside the frame's content.
  frame[length / 2] ^= std::byte{0x10};
  ASSERT_TRUE(volume->write(area.slot_offset(slot), frame).ok());
  std::vector<std::byte> back(kChunk);
  Status status = area.read_slot(4, slot, back);
  EXPECT_EQ(status.code(), ErrorCode::kCorrupt) << status.to_string();
  EXPECT_THAT(status.message(), HasSubstr("diff area of 'data': compressed chunk 4 in data slot " +
                                          std::to_string(slot)));
  // With them, the table's checksum catches it first.
  area.set_sums_trusted(true);
  status = area.read_slot(4, slot, back);
  EXPECT_EQ(status.code(), ErrorCode::kCorrupt) << status.to_string();
  EXPECT_THAT(status.message(),
              HasSubstr("chunk 4 (origin offset 16384) in data slot " + std::to_string(slot)));
  EXPECT_THAT(status.message(), HasSubstr("fails its checksum"));
}

// `bytes` bytes of a pattern that differs with `seed`.
std::vector<std::byte> pattern(std::size_t bytes, unsigned seed) {
  std::vector<std::byte> data(bytes);
  for (std::size_t i = 0; i < bytes; ++i)
    data[i] = static_cast<std::byte>((i * 7 + seed) & 0xff);
  return data;
}

// XORs the byte at `offset` of `volume` with `mask` (through its 512-byte sector: the volume
// reads and writes whole sectors).
void flip_byte(Volume& volume, std::uint64_t offset, std::byte mask) {
  std::vector<std::byte> sector(512);
  const std::uint64_t first = offset / 512 * 512;
  ASSERT_TRUE(volume.read(first, sector).ok());
  sector[offset - first] ^= mask;
  ASSERT_TRUE(volume.write(first, sector).ok());
}

TEST_F(DiffAreaTest, AFlippedByteInARawSlotOrItsChecksumIsCorruptNamingChunkAndSlot) {
  ASSERT_TRUE(area.verifies());
  allocate();
  allocate();
  const std::uint32_t slot = allocate();  // slot 2: its entry is table bytes [16, 24)
  ASSERT_EQ(slot, 2u);
  const std::uint64_t chunk = 3;
  const auto data = pattern(kChunk, 1);
  ASSERT_TRUE(area.write_chunk(slot, chunk, data).ok());
  ASSERT_TRUE(area.flush_sums().ok());
  std::vector<std::byte> back(kChunk);
  ASSERT_TRUE(area.read_slot(chunk, slot, back).ok());
  EXPECT_EQ(back, data);
  const std::string names =
      "diff area of 'data': chunk 3 (origin offset 12288) in data slot 2 "
      "(diff offset " +
      std::to_string(area.slot_offset(slot)) + ") fails its checksum";

  // A byte of the slot, at its start, middle and end.
  for (std::uint64_t at :
       {std::uint64_t{0}, std::uint64_t{kChunk / 2}, std::uint64_t{kChunk - 1}}) {
    SCOPED_TRACE(at);
    flip_byte(*volume, area.slot_offset(slot) + at, std::byte{0x01});
    Status status = area.read_slot(chunk, slot, back);
    EXPECT_EQ(status.code(), ErrorCode::kCorrupt) << status.to_string();
    EXPECT_THAT(status.message(), HasSubstr(names));
    EXPECT_EQ(area.verify_slot(chunk, slot).code(), ErrorCode::kCorrupt);
    flip_byte(*volume, area.slot_offset(slot) + at, std::byte{0x01});
    ASSERT_TRUE(area.read_slot(chunk, slot, back).ok()) << "restored";
  }

  // Each byte of the slot's checksum entry.
  for (std::uint64_t at = 0; at < format::kChunkSumBytes; ++at) {
    SCOPED_TRACE(at);
    const std::uint64_t entry = geometry().sum_offset + slot * format::kChunkSumBytes + at;
    flip_byte(*volume, entry, std::byte{0x80});
    area.drop_clean_sums();
    Status status = area.read_slot(chunk, slot, back);
    EXPECT_EQ(status.code(), ErrorCode::kCorrupt) << status.to_string();
    EXPECT_THAT(status.message(), HasSubstr(names));
    flip_byte(*volume, entry, std::byte{0x80});
    area.drop_clean_sums();
  }
  ASSERT_TRUE(area.read_slot(chunk, slot, back).ok());

  // The checksum is seeded with the chunk number: the slot's bytes are not another chunk's.
  Status status = area.read_slot(chunk + 1, slot, back);
  EXPECT_EQ(status.code(), ErrorCode::kCorrupt) << status.to_string();
  EXPECT_THAT(status.message(), HasSubstr("chunk 4 (origin offset 16384) in data slot 2"));
}

TEST_F(DiffAreaTest, ARunOfRawSlotsNamesTheChunkThatFails) {
  // Chunks 8, 9 and the short last chunk 10 (1 KiB) in slots 0, 1, 2.
  std::vector<std::byte> run;
  for (std::uint64_t chunk = 8; chunk <= 10; ++chunk) {
    const std::uint32_t slot = allocate();
    const auto data = pattern(area.geometry().chunk_length(chunk), static_cast<unsigned>(chunk));
    ASSERT_TRUE(area.write_chunk(slot, chunk, data).ok());
    run.insert(run.end(), data.begin(), data.end());
  }
  std::vector<std::byte> back(run.size());
  ASSERT_TRUE(area.read_raw_run(8, 0, 3, back).ok());
  EXPECT_EQ(back, run);
  for (std::uint32_t damaged = 0; damaged < 3; ++damaged) {
    SCOPED_TRACE(damaged);
    const std::uint64_t at = area.slot_offset(damaged) + 100;
    flip_byte(*volume, at, std::byte{0x04});
    Status status = area.read_raw_run(8, 0, 3, back);
    EXPECT_EQ(status.code(), ErrorCode::kCorrupt) << status.to_string();
    EXPECT_THAT(status.message(),
                HasSubstr("chunk " + std::to_string(8 + damaged) + " (origin offset " +
                          std::to_string((8 + damaged) * kChunk) + ") in data slot " +
                          std::to_string(damaged)));
    flip_byte(*volume, at, std::byte{0x04});
  }
  ASSERT_TRUE(area.read_raw_run(8, 0, 3, back).ok());
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

// MetadataJournal on its own, under a recording JournalClient (the only way up): records
// committed in groups come back in order at replay, checkpoints switch journal areas, a torn
// last commit (whole old or new sectors) is dropped silently, a damaged commit (a sector that
// fails its checksum, or any damage before an intact commit) ends the replay before it and is
// reported by damage(), a damaged checkpoint and an undecodable record are errors, and a
// failed flush breaks the journal. White-box: engine/src headers.
#include "metadata_journal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "layer_rig.h"

namespace freezeframe::testing {
namespace {

using detail::MetadataJournal;
using format::Record;
using format::RecordType;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The state a journal records, reduced to the list of records applied: a checkpoint is that
// whole list (a kState and a kLimit first, as the real state's checkpoint has), and replay
// appends to `replayed`. It counts every upward call the journal makes.
class RecordingClient final : public detail::JournalClient {
 public:
  RecordingClient() {
    Record limit;
    limit.type = RecordType::kLimit;
    limit.limit_kind = static_cast<std::uint8_t>(DiffAreaLimit::Kind::kPercentOfOrigin);
    limit.limit_value = 25;
    limit.policy = static_cast<std::uint8_t>(OverflowPolicy::kDeleteOldest);
    state = {Record{}, limit};  // a default Record is a kState
  }

  Status replay_record(const Record& record) override {
    ++replay_calls;
    if (replay_calls == fail_at_replay)
      return corrupt("record " + std::to_string(replay_calls) + " does not fit");
    replayed.push_back(record);
    return Status();
  }
  std::vector<Record> checkpoint_records() const override {
    ++checkpoint_calls;
    return state;
  }
  void records_durable() override { ++durable_calls; }

  // Applies and queues, as ProviderState::log() does.
  void log(MetadataJournal& journal, const Record& record) {
    state.push_back(record);
    journal.append(record);
  }

  std::vector<Record> state;
  std::vector<Record> replayed;
  int replay_calls = 0;
  int fail_at_replay = 0;  // 0: never
  mutable int checkpoint_calls = 0;
  int durable_calls = 0;
};

Record map(std::uint64_t chunk) {
  return map_add(chunk, 1, static_cast<std::uint32_t>(chunk));
}

class MetadataJournalTest : public ::testing::Test {
 protected:
  MetadataJournalTest() {
    EXPECT_TRUE(journal->write_checkpoint(writer).ok());
    journal->reset_stats();
  }

  // Opens the journal again from the superblock on the volume and replays it.
  Status reopen(RecordingClient& reader) {
    journal = std::make_unique<MetadataJournal>(*volume, read_superblock(*volume), "diff area");
    return journal->replay(reader);
  }

  // Byte offset of journal block `block` of the active area.
  std::uint64_t block_offset(std::uint64_t block) const {
    const format::Superblock& sb = journal->superblock();
    return sb.log_offset[sb.active_log] + block * format::kLogBlockBytes;
  }

  // Overwrites sector 2 of journal block `block` with garbage: it fails its checksum.
  void damage_block(std::uint64_t block) {
    std::vector<std::byte> bytes(512, std::byte{0x6b});
    ASSERT_TRUE(volume->write(block_offset(block) + 1024, bytes).ok());
  }

  std::vector<std::byte> read_blocks(std::uint64_t block, std::uint64_t count) {
    std::vector<std::byte> bytes(count * format::kLogBlockBytes);
    EXPECT_TRUE(volume->read(block_offset(block), bytes).ok());
    return bytes;
  }

  // Writes version 2 blocks from an earlier use of the area at `block`.. (sequences far
  // below the journal's), as a reused diff volume leaves them.
  void write_stale_blocks(std::uint64_t block, std::uint64_t count) {
    std::vector<std::byte> bytes(count * format::kLogBlockBytes);
    for (std::uint64_t i = 0; i < count; ++i) {
      format::LogBlockHeader header;
      header.sequence = i;
      header.group_first_sequence = 0;
      header.group_block_count = static_cast<std::uint32_t>(count);
      header.payload_bytes = 10;
      header.diff_area_uuid = journal->superblock().diff_area_uuid;
      const std::vector<std::byte> payload(10, std::byte{0x77});
      format::encode_log_block(
          header, payload,
          std::span<std::byte, format::kLogBlockBytes>(bytes.data() + i * format::kLogBlockBytes,
                                                       format::kLogBlockBytes));
    }
    ASSERT_TRUE(volume->write(block_offset(block), bytes).ok());
  }

  // What a crash during the write of `new_bytes` over `old_bytes` (at journal block `block`)
  // can leave: each 512-byte sector whole, the new one where `is_new(sector index)`, else
  // the old one.
  template <typename IsNew>
  void tear(std::uint64_t block, const std::vector<std::byte>& old_bytes,
            const std::vector<std::byte>& new_bytes, IsNew is_new) {
    ASSERT_EQ(old_bytes.size(), new_bytes.size());
    std::vector<std::byte> torn = old_bytes;
    std::uint64_t new_sectors = 0;
    for (std::size_t sector = 0; sector < torn.size() / 512; ++sector) {
      if (!is_new(sector))
        continue;
      ++new_sectors;
      std::copy_n(new_bytes.begin() + static_cast<std::ptrdiff_t>(sector * 512), 512,
                  torn.begin() + static_cast<std::ptrdiff_t>(sector * 512));
    }
    ASSERT_GT(new_sectors, 0u) << "a tear writes something";
    ASSERT_LT(new_sectors, torn.size() / 512) << "a tear leaves something old";
    ASSERT_TRUE(volume->write(block_offset(block), torn).ok());
  }

  RigLayout layout;
  format::Superblock formatted = rig_superblock(layout);
  std::unique_ptr<MemoryVolume> volume = rig_volume(formatted.volume_bytes, "diff");
  std::unique_ptr<MetadataJournal> journal =
      std::make_unique<MetadataJournal>(*volume, formatted, "diff area");
  RecordingClient writer;
};

TEST_F(MetadataJournalTest, TheFirstCheckpointSwitchesToAreaZeroAndWritesTheSuperblock) {
  const format::Superblock on_disk = read_superblock(*volume);
  EXPECT_EQ(on_disk.generation, formatted.generation + 1);
  EXPECT_EQ(on_disk.active_log, 0);
  EXPECT_EQ(on_disk.checkpoint_blocks, 1u);
  // The superblock copies the checkpoint's limit.
  EXPECT_EQ(on_disk.limit_value, 25u);
  EXPECT_EQ(on_disk.overflow_policy, static_cast<std::uint8_t>(OverflowPolicy::kDeleteOldest));
  EXPECT_EQ(writer.checkpoint_calls, 1);
}

TEST_F(MetadataJournalTest, CommittedRecordsReplayInOrderAfterTheCheckpoint) {
  writer.log(*journal, map(1));
  writer.log(*journal, map(2));
  ASSERT_TRUE(journal->commit(writer).ok());
  writer.log(*journal, snapshot_create(2));
  writer.log(*journal, map(3));
  ASSERT_TRUE(journal->commit(writer).ok());
  EXPECT_EQ(writer.durable_calls, 2);
  EXPECT_EQ(journal->stats().commits, 2u);
  EXPECT_EQ(journal->stats().blocks_written, 2u) << "a small group fills one block";

  RecordingClient reader;
  ASSERT_TRUE(reopen(reader).ok());
  EXPECT_EQ(reader.replayed, writer.state);
  // Replay only hands records up; it never asks for a checkpoint or reports durability.
  EXPECT_EQ(reader.checkpoint_calls, 0);
  EXPECT_EQ(reader.durable_calls, 0);
}

TEST_F(MetadataJournalTest, ACommitFlushesChunkDataBeforeItsRecordsAndTheRecordsAfter) {
  LoggingVolume logged(*volume);
  MetadataJournal over_log(logged, read_superblock(*volume), "diff area");
  RecordingClient reader;
  ASSERT_TRUE(over_log.replay(reader).ok());

  over_log.note_data_written();
  over_log.append(map(4));
  over_log.append(map(5));
  ASSERT_TRUE(over_log.commit(reader).ok());
  EXPECT_THAT(logged.log, ElementsAre("flush",
                                      "write " + std::to_string(block_offset(1)) + " " +
                                          std::to_string(format::kLogBlockBytes),
                                      "flush"));
  // No data written: one barrier, after the records.
  logged.log.clear();
  over_log.append(map(6));
  ASSERT_TRUE(over_log.commit(reader).ok());
  EXPECT_THAT(logged.log, ElementsAre("write " + std::to_string(block_offset(2)) + " " +
                                          std::to_string(format::kLogBlockBytes),
                                      "flush"));
  // Nothing queued: nothing written, nothing reported.
  logged.log.clear();
  const int durable_before = reader.durable_calls;
  ASSERT_TRUE(over_log.commit(reader).ok());
  EXPECT_TRUE(logged.log.empty());
  EXPECT_EQ(reader.durable_calls, durable_before);
}

TEST_F(MetadataJournalTest, AFullAreaIsCheckpointedIntoTheOtherOne) {
  // The area holds 40 blocks: the checkpoint takes one and each commit one more.
  std::uint64_t chunk = 0;
  while (journal->superblock().active_log == 0) {
    writer.log(*journal, map(chunk++));
    ASSERT_TRUE(journal->commit(writer).ok());
    ASSERT_LT(chunk, 100u) << "the journal never switched areas";
  }
  EXPECT_EQ(chunk, layout.log_area_blocks) << "39 commits fit after the checkpoint";
  EXPECT_EQ(journal->stats().checkpoints, 1u);
  EXPECT_EQ(writer.checkpoint_calls, 2);
  EXPECT_EQ(writer.durable_calls, static_cast<int>(chunk));
  writer.log(*journal, map(chunk++));
  ASSERT_TRUE(journal->commit(writer).ok());

  RecordingClient reader;
  ASSERT_TRUE(reopen(reader).ok());
  EXPECT_EQ(journal->superblock().active_log, 1);
  EXPECT_EQ(journal->superblock().generation, formatted.generation + 2);
  EXPECT_EQ(reader.replayed, writer.state);
}

TEST_F(MetadataJournalTest, ATornLastCommitIsDroppedAndTheNextCommitTakesItsPlace) {
  writer.log(*journal, map(1));
  ASSERT_TRUE(journal->commit(writer).ok());
  const std::vector<Record> durable = writer.state;
  const auto before = read_blocks(2, 1);
  writer.log(*journal, map(2));
  ASSERT_TRUE(journal->commit(writer).ok());
  // The crash tore the last commit: its odd sectors reached the disk, the others did not.
  tear(2, before, read_blocks(2, 1), [](std::size_t sector) { return sector % 2 == 1; });

  RecordingClient reader;
  ASSERT_TRUE(reopen(reader).ok());
  EXPECT_EQ(reader.replayed, durable);
  EXPECT_TRUE(journal->damage().ok()) << journal->damage().to_string();

  reader.log(*journal, map(3));
  ASSERT_TRUE(journal->commit(reader).ok());
  RecordingClient again;
  ASSERT_TRUE(reopen(again).ok());
  std::vector<Record> expected = durable;
  expected.push_back(map(3));
  EXPECT_EQ(again.replayed, expected);
}

TEST_F(MetadataJournalTest, DamageBeforeAnIntactCommitIsCorruption) {
  std::vector<Record> before_damaged;
  for (std::uint64_t chunk = 1; chunk <= 3; ++chunk) {
    if (chunk == 2)
      before_damaged = writer.state;
    writer.log(*journal, map(chunk));
    ASSERT_TRUE(journal->commit(writer).ok());
  }
  damage_block(2);
  RecordingClient reader;
  Status status = reopen(reader);
  // Replay succeeds with the state before the damaged commit, and reports the damage.
  ASSERT_TRUE(status.ok()) << status.to_string();
  EXPECT_EQ(reader.replayed, before_damaged);
  const Status& damage = journal->damage();
  EXPECT_EQ(damage.code(), ErrorCode::kCorrupt) << damage.to_string();
  EXPECT_THAT(damage.message(), HasSubstr("diff area: journal area 0 block 2"));
  EXPECT_THAT(damage.message(), HasSubstr("sector 2 fails its checksum"));
}

TEST_F(MetadataJournalTest, ALostCommitBeforeAnIntactOneIsCorruption) {
  // Block 2 reads as never written (whole blank sectors, as a tear could leave), but the
  // commit after it is intact: commits are written one after the other is durable, so block
  // 2 was durable and is damaged, not torn.
  std::vector<Record> before_lost;
  for (std::uint64_t chunk = 1; chunk <= 3; ++chunk) {
    if (chunk == 2)
      before_lost = writer.state;
    writer.log(*journal, map(chunk));
    ASSERT_TRUE(journal->commit(writer).ok());
  }
  ASSERT_TRUE(volume->write(block_offset(2), std::vector<std::byte>(format::kLogBlockBytes)).ok());
  RecordingClient reader;
  Status status = reopen(reader);
  ASSERT_TRUE(status.ok()) << status.to_string();
  EXPECT_EQ(reader.replayed, before_lost);
  const Status& damage = journal->damage();
  EXPECT_EQ(damage.code(), ErrorCode::kCorrupt) << damage.to_string();
  EXPECT_THAT(damage.message(), HasSubstr("diff area: journal area 0 block 2 (sequence "));
  EXPECT_THAT(damage.message(), HasSubstr("damaged, but the commit at block 3 after it is intact"));
}

TEST_F(MetadataJournalTest, AFlippedByteInTheLastCommitIsDamageNotATear) {
  writer.log(*journal, map(1));
  ASSERT_TRUE(journal->commit(writer).ok());
  const std::vector<Record> durable = writer.state;
  // The last commit: three blocks (a record never spans two).
  for (std::uint64_t chunk = 100; chunk < 500; ++chunk)
    writer.log(*journal, map(chunk));
  ASSERT_TRUE(journal->commit(writer).ok());
  ASSERT_EQ(journal->stats().blocks_written, 4u);
  const auto committed = read_blocks(2, 3);

  // One byte of any sector of any of its blocks: the header, the payload, a sector's
  // sequence or checksum.
  for (std::uint64_t at :
       {std::uint64_t{5}, std::uint64_t{600}, std::uint64_t{4096 + 1000},
        std::uint64_t{2 * 4096 + 7 * 512 + 500}, std::uint64_t{2 * 4096 + 7 * 512 + 511}}) {
    SCOPED_TRACE(at);
    auto damaged = committed;
    damaged[at] ^= std::byte{0x20};
    ASSERT_TRUE(volume->write(block_offset(2), damaged).ok());
    RecordingClient reader;
    Status status = reopen(reader);
    ASSERT_TRUE(status.ok()) << status.to_string();
    EXPECT_EQ(reader.replayed, durable) << "replay stops before the damaged commit";
    const Status& damage = journal->damage();
    EXPECT_EQ(damage.code(), ErrorCode::kCorrupt);
    EXPECT_THAT(damage.message(),
                HasSubstr("diff area: journal area 0 block " + std::to_string(2 + at / 4096)));
    EXPECT_THAT(damage.message(),
                HasSubstr("sector " + std::to_string(at % 4096 / 512) + " fails its checksum"));
    EXPECT_THAT(damage.message(), HasSubstr("a commit is damaged, not torn"));
  }
  // Undamaged, the same commit replays whole.
  ASSERT_TRUE(volume->write(block_offset(2), committed).ok());
  RecordingClient reader;
  ASSERT_TRUE(reopen(reader).ok());
  EXPECT_EQ(reader.replayed, writer.state);
  EXPECT_TRUE(journal->damage().ok());
}

TEST_F(MetadataJournalTest, ATornMultiBlockLastCommitIsDroppedSilently) {
  writer.log(*journal, map(1));
  ASSERT_TRUE(journal->commit(writer).ok());
  const std::vector<Record> durable = writer.state;
  // The blocks the last commit will take hold stale blocks of an earlier use of the area
  // (and, for the second pattern below, nothing at all).
  write_stale_blocks(2, 3);
  const auto stale = read_blocks(2, 3);
  for (std::uint64_t chunk = 100; chunk < 500; ++chunk)
    writer.log(*journal, map(chunk));
  ASSERT_TRUE(journal->commit(writer).ok());
  const auto committed = read_blocks(2, 3);
  const std::vector<std::byte> blank(committed.size());

  struct Tear {
    std::string name;
    const std::vector<std::byte>* old_bytes;
    std::function<bool(std::size_t)> is_new;
  };
  const std::vector<Tear> tears = {
      {"first block whole, the rest old", &stale, [](std::size_t s) { return s < 8; }},
      {"every other sector", &stale, [](std::size_t s) { return s % 2 == 0; }},
      {"all but the last sector", &stale, [](std::size_t s) { return s != 23; }},
      {"only the last block's sectors", &stale, [](std::size_t s) { return s >= 16; }},
      {"all but one sector of the first block, over blank", &blank,
       [](std::size_t s) { return s != 3; }},
      {"the middle block, over blank", &blank, [](std::size_t s) { return s >= 8 && s < 16; }},
  };
  for (const Tear& t : tears) {
    SCOPED_TRACE(t.name);
    tear(2, *t.old_bytes, committed, t.is_new);
    RecordingClient reader;
    Status status = reopen(reader);
    ASSERT_TRUE(status.ok()) << status.to_string();
    EXPECT_EQ(reader.replayed, durable);
    EXPECT_TRUE(journal->damage().ok()) << journal->damage().to_string();
  }

  // The same tear with one old sector damaged as well is damage.
  auto torn_and_damaged = stale;
  std::copy_n(committed.begin(), 4096, torn_and_damaged.begin());
  torn_and_damaged[4096 + 3 * 512 + 17] ^= std::byte{1};
  ASSERT_TRUE(volume->write(block_offset(2), torn_and_damaged).ok());
  RecordingClient reader;
  ASSERT_TRUE(reopen(reader).ok());
  EXPECT_EQ(reader.replayed, durable);
  EXPECT_EQ(journal->damage().code(), ErrorCode::kCorrupt);
  EXPECT_THAT(journal->damage().message(), HasSubstr("block 3"));
  EXPECT_THAT(journal->damage().message(), HasSubstr("sector 3 fails its checksum"));
}

TEST_F(MetadataJournalTest, ADamagedCheckpointIsCorruption) {
  damage_block(0);
  RecordingClient reader;
  Status status = reopen(reader);
  EXPECT_EQ(status.code(), ErrorCode::kCorrupt) << status.to_string();
  EXPECT_THAT(status.message(), HasSubstr("diff area: journal area 0 block 0"));
  EXPECT_TRUE(reader.replayed.empty());
}

TEST_F(MetadataJournalTest, AnUndecodableRecordInAnIntactBlockIsAnError) {
  writer.log(*journal, map(1));
  ASSERT_TRUE(journal->commit(writer).ok());
  // A well-formed block (right sequence, checksum) whose payload holds an unknown record type.
  format::LogBlockHeader header;
  header.sequence = journal->superblock().log_start_sequence + 2;
  header.group_first_sequence = header.sequence;
  header.group_block_count = 1;
  header.payload_bytes = 3;
  header.diff_area_uuid = journal->superblock().diff_area_uuid;
  const std::vector<std::byte> payload = {std::byte{0xee}, std::byte{1}, std::byte{0}};
  std::vector<std::byte> block(format::kLogBlockBytes);
  format::encode_log_block(
      header, payload, std::span<std::byte, format::kLogBlockBytes>(block.data(), block.size()));
  ASSERT_TRUE(volume->write(block_offset(2), block).ok());

  RecordingClient reader;
  Status status = reopen(reader);
  EXPECT_EQ(status.code(), ErrorCode::kCorrupt) << status.to_string();
  EXPECT_THAT(status.message(), HasSubstr("diff area: journal area 0 block 2"));
}

TEST_F(MetadataJournalTest, ARecordTheClientRefusesStopsTheReplay) {
  writer.log(*journal, map(1));
  writer.log(*journal, map(2));
  writer.log(*journal, map(3));
  ASSERT_TRUE(journal->commit(writer).ok());
  RecordingClient reader;
  reader.fail_at_replay = 4;  // kState, kLimit, map(1), then map(2)
  Status status = reopen(reader);
  EXPECT_EQ(status.code(), ErrorCode::kCorrupt);
  EXPECT_EQ(status.message(), "record 4 does not fit");
  EXPECT_EQ(reader.replay_calls, 4) << "nothing after the refused record is handed up";
}

TEST_F(MetadataJournalTest, AFailedFlushBreaksTheJournalUntilReopened) {
  LoggingVolume logged(*volume);
  MetadataJournal over_log(logged, read_superblock(*volume), "diff area");
  RecordingClient client;
  ASSERT_TRUE(over_log.replay(client).ok());
  over_log.append(map(1));
  logged.fail_next_flush = io_error("flush failed");
  Status status = over_log.commit(client);
  EXPECT_EQ(status.code(), ErrorCode::kIoError);
  EXPECT_THAT(status.message(), HasSubstr("refuses further changes until it is reopened"));
  EXPECT_THAT(status.message(), HasSubstr("flush failed"));
  EXPECT_EQ(client.durable_calls, 0) << "records that are not durable must not free slots";
  EXPECT_EQ(over_log.broken().code(), ErrorCode::kIoError);

  logged.log.clear();
  over_log.append(map(2));
  Status again = over_log.commit(client);
  EXPECT_EQ(again.message(), status.message());
  EXPECT_TRUE(logged.log.empty()) << "a broken journal writes nothing";
  EXPECT_EQ(client.durable_calls, 0);
}

}  // namespace
}  // namespace freezeframe::testing

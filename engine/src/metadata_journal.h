// MetadataJournal: the diff area's metadata journal. It writes records as commit groups into
// the active journal area, writes checkpoints (the whole state) into the other area and
// switches the superblock to it when the active one fills, and replays the active area at
// open. Private to the engine; the format is in diff_area_format.h and
// docs/formats/diff-area.md.
//
// Layering: the journal knows records, journal areas and the superblock; it knows nothing of
// slots, snapshots or the version index. What it needs from the state it records goes through
// JournalClient, which the layer above (ProviderState) implements and passes to each call
// that needs it: replay hands records up, a checkpoint asks for the whole state, and a commit
// reports that its records are durable (which is when the slots they freed may be reused).
//
// Durability: append() only queues a record; it is durable once commit() (or a checkpoint)
// returns OK. A commit first flushes the diff volume if chunk data was written since the last
// commit (note_data_written()), so a record never becomes durable before the data it maps;
// then it writes the queued records as commit groups, each followed by a flush. A checkpoint
// is flushed before the superblock that points at it is written, and the superblock is
// flushed before the checkpoint counts as done. A failed write or flush marks the journal
// broken: every later commit returns that status until the provider is reopened.
//
// Thread-safety: none inside; the provider's exclusive lock guards every non-const call.
// Lifetime: the diff Volume must outlive the journal.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "diff_area_format.h"
#include "freezeframe/status.h"
#include "freezeframe/volume.h"

namespace freezeframe::detail {

// The upward calls of the journal, implemented by the state it records.
class JournalClient {
 public:
  virtual ~JournalClient() = default;
  // Replay: the next record read back, in journal order. An error (kCorrupt: the record does
  // not fit the diff area) stops the replay and is returned by it.
  virtual Status replay_record(const format::Record& record) = 0;
  // The whole state as records, for a checkpoint. It includes the effect of every record
  // appended so far, and exactly one kLimit record (the superblock copies its values).
  virtual std::vector<format::Record> checkpoint_records() const = 0;
  // Called as commit() returns OK: every record appended before it is durable.
  virtual void records_durable() = 0;
};

class MetadataJournal {
 public:
  // Counters reported in ProviderStats.
  struct Stats {
    std::uint64_t commits = 0;  // commit groups and checkpoints written
    std::uint64_t blocks_written = 0;
    std::uint64_t checkpoints = 0;
  };

  // Journal blocks of each of the two areas for a diff area of `data_slots` slots: room for
  // a checkpoint of a full diff area (kSnapshotsPerVolumeMax snapshots) and some commits.
  static std::uint64_t area_blocks_for(std::uint64_t data_slots);

  // Over `superblock`, as formatted (then write_checkpoint() next) or as read at open (then
  // replay() next). `name` appears in messages ("diff area of 'data'").
  MetadataJournal(Volume& diff, const format::Superblock& superblock, std::string name);
  MetadataJournal(const MetadataJournal&) = delete;
  MetadataJournal& operator=(const MetadataJournal&) = delete;

  // The superblock as last written or read.
  const format::Superblock& superblock() const noexcept { return superblock_; }

  // Queues a record (already applied by the caller) for the next commit.
  void append(const format::Record& record) { pending_.push_back(record); }
  // Chunk data was written to the diff volume: the next commit flushes it before its records.
  void note_data_written() noexcept { data_dirty_ = true; }

  // Makes every queued record durable (see the top of this file); a group that would not fit
  // the active area is written as part of a checkpoint instead. Then client.records_durable().
  Status commit(JournalClient& client);
  // Writes client.checkpoint_records() into the inactive area and switches the superblock to
  // it (generation + 1). Queued records are in the state, so the checkpoint holds them too.
  Status write_checkpoint(JournalClient& client);
  // Replays the active area: the checkpoint must be intact (kCorrupt otherwise); then whole
  // commit groups until the first incomplete one. An incomplete group that a crash tore (whole
  // old or new sectors) ends the log silently. One with a sector that fails its checksum, or
  // an intact group after it, is damage to a durable commit: replay stops before it, returns
  // OK, and damage() reports it (the provider then opens read-only).
  Status replay(JournalClient& client);
  // Not OK when replay() stopped at a damaged commit: kCorrupt naming the area, the block and
  // the sequence. The replayed state is the one before that commit.
  const Status& damage() const noexcept { return damage_; }

  // Switches to `superblock` (the upgraded version 2 one, or a repaired one) for the next
  // write_checkpoint(); nothing is written until then.
  void adopt_superblock(const format::Superblock& superblock) { superblock_ = superblock; }
  // Writes `superblock` (the first sector) and flushes; it becomes superblock(). For changes
  // that do not move the journal (the checksum table's state).
  Status write_superblock(const format::Superblock& superblock);

  // Marks the journal broken with `status` (a metadata write or flush failed, or the state
  // on disk is between two steps) and returns the broken status.
  Status fail(const Status& status);
  // OK unless broken.
  const Status& broken() const noexcept { return broken_; }

  const Stats& stats() const noexcept { return stats_; }
  void reset_stats() noexcept { stats_ = Stats(); }

 private:
  std::uint64_t block_offset(std::uint8_t area, std::uint64_t block) const;
  Status write_blocks(std::uint8_t area, std::uint64_t first_block, std::uint64_t first_sequence,
                      const std::vector<std::vector<std::byte>>& payloads, std::size_t begin,
                      std::size_t end, std::uint64_t group_first_sequence,
                      std::uint32_t group_block_count);
  Status read_block(std::uint8_t area, std::uint64_t block, std::vector<std::byte>& buffer);
  // A block of the superblock's format version, decoded.
  Result<format::DecodedLogBlock> decode(std::span<const std::byte> block) const;
  std::string where(std::uint64_t block) const;
  struct Group {
    bool complete = false;
    std::uint64_t blocks = 0;
    std::vector<format::Record> records;
  };
  Result<Group> read_group(std::uint64_t position, std::uint64_t expected, bool in_checkpoint);
  Status judge_log_end(std::uint64_t position, std::uint64_t expected);

  Volume& diff_;
  format::Superblock superblock_;
  std::string name_;
  std::uint64_t area_blocks_ = 0;
  std::uint64_t log_position_ = 0;  // blocks used in the active area
  std::uint64_t next_sequence_ = 1;
  std::vector<format::Record> pending_;
  bool data_dirty_ = false;
  Status broken_;
  Status damage_;
  Stats stats_;
};

}  // namespace freezeframe::detail

// ProviderState: what a provider knows about its snapshots and chunks, rebuilt from the
// journal at open: the snapshot table (by tag, invalidated ones included), the version index
// (for every changed chunk, its versions: snapshot tag and data slot), the next tag, an
// unfinished CoW revert and the overflow policy. Private to the engine.
//
// Every change is a journal record: log() applies it here at once and queues it in the
// journal; commit() makes the queued records durable. Replay feeds the same apply() with the
// records read back, so a reopened provider is in exactly the state its durable records
// describe. Applying a record keeps the DiffArea's accounting in step (slots used and freed,
// bytes per tag, frame lengths).
//
// Versions: a CoW version tagged t holds the chunk as snapshots in (previous version's tag, t]
// read it; the live volume is the origin. A RoW version tagged t is what snapshots in
// [t, next version's tag) read, and the last one is the live volume; slot kOriginSlot means
// "in the origin" (after consolidation). Versions nobody can read are dropped as soon as a
// record makes them so.
//
// Layering: above DiffArea and MetadataJournal, and the implementation of the interfaces
// those two declare for their upward calls: JournalClient (replayed records, checkpoint
// records, and "records durable", which releases the slots they freed) and
// FreedSlotCommitter (slot allocation may need a commit first).
//
// Thread-safety: none inside; the provider's mutex guards every call (const members under the
// shared lock, the rest under the exclusive lock). Lifetime: the DiffArea and the journal
// must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <vector>

#include "change_tracker.h"
#include "chunk_index.h"
#include "diff_area.h"
#include "diff_area_format.h"
#include "freezeframe/diff_area_settings.h"
#include "metadata_journal.h"

namespace freezeframe::detail {

struct SnapshotMeta {
  std::uint32_t tag = 0;
  Uuid id;
  Uuid set_id;
  std::int64_t created_ns = 0;
  std::uint32_t attributes = 0;
  bool invalidated = false;
  // The change-tracking generation the snapshot began (0: taken before tracking started).
  std::uint64_t cbt_epoch = 0;
  std::uint64_t cbt_generation = 0;
};

class ProviderState final : public JournalClient, public FreedSlotCommitter {
 public:
  ProviderState(ProviderKind kind, DiffArea& diff_area, MetadataJournal& journal,
                OverflowPolicy policy);
  ProviderState(const ProviderState&) = delete;
  ProviderState& operator=(const ProviderState&) = delete;

  ProviderKind kind() const noexcept { return kind_; }

  // ----- the snapshot table

  // By tag, oldest first; invalidated snapshots included.
  const std::map<std::uint32_t, SnapshotMeta>& snapshots() const noexcept { return snapshots_; }
  // Tags of the snapshots not invalidated.
  const std::set<std::uint32_t>& active() const noexcept { return active_; }
  const SnapshotMeta* find(const Uuid& id) const;
  const SnapshotMeta* find(std::uint32_t tag) const;
  // The tag the next snapshot gets.
  std::uint32_t next_tag() const noexcept { return next_tag_; }
  // The snapshot an unfinished CoW revert goes back to; 0 if none.
  std::uint32_t revert_tag() const noexcept { return revert_tag_; }
  OverflowPolicy policy() const noexcept { return policy_; }
  // Diff-area bytes the snapshot tagged `tag` holds.
  std::uint64_t snapshot_bytes(std::uint32_t tag) const;

  // ----- the version index

  const ChunkIndex& index() const noexcept { return index_; }
  // Where a chunk's bytes are for a reader: the live volume (tag 0) or snapshot `tag`.
  // Returns format::kOriginSlot for the origin.
  std::uint32_t locate(std::uint64_t chunk, std::uint32_t tag) const;
  // Heap bytes of the index and the per-slot frame lengths.
  std::uint64_t memory_bytes() const;

  // ----- change tracking (change_tracker.h)

  const ChangeTracker& tracker() const noexcept { return tracker_; }
  // Logs marks for the chunks of [first, last] not yet marked in the current generation.
  // True if it logged any: the live volume's data for them must not change before those
  // records are durable (a commit, or the group commit that makes a CoW copy durable).
  bool mark_changed(std::uint64_t first, std::uint64_t last);
  // As mark_changed() for each of `chunks` (ascending).
  bool mark_chunks(std::span<const std::uint64_t> chunks);
  // Logs the start of the next generation, begun by snapshot `tag` (0: by no snapshot), and
  // returns its number. `new_epoch`: tracking restarts in that epoch (ids of the old one
  // are answered with a reset); also used when tracking has not started.
  std::uint64_t begin_generation(std::uint32_t tag, std::uint64_t new_epoch,
                                 std::uint32_t retained_max);

  // ----- changes

  // Applies `record` now and queues it for the next commit.
  void log(const format::Record& record);
  // Records that `slot`, just written (not yet flushed), holds version `tag` of `chunk` in
  // `stored` bytes. The record goes out with the next commit, after a data flush.
  void map_written_slot(std::uint64_t chunk, std::uint32_t tag, std::uint32_t slot,
                        std::uint64_t stored);
  // Chunk data was written in place into a mapped slot: the next commit flushes it first.
  void note_data_written() { journal_.note_data_written(); }
  // Makes every logged record durable (MetadataJournal::commit).
  Status commit() {
    FF_TRY(diff_area_.flush_sums());  // checksums reach the disk before the data flush
    return journal_.commit(*this);
  }
  // The first checkpoint of a newly formatted diff area.
  Status write_checkpoint() {
    FF_TRY(diff_area_.flush_sums());
    return journal_.write_checkpoint(*this);
  }
  // Rebuilds the state from the journal, then the diff area's accounting from the index.
  Status recover();
  // Marks the journal broken (MetadataJournal::fail).
  Status fail(const Status& status) { return journal_.fail(status); }
  const Status& broken() const noexcept { return journal_.broken(); }
  // Not OK when the journal holds a damaged commit (the provider then opens read-only): the
  // status every snapshot read, and every RoW live read, fails with.
  const Status& damage() const noexcept { return damage_; }
  void set_damage(Status damage) { damage_ = std::move(damage); }

  // JournalClient.
  Status replay_record(const format::Record& record) override;
  std::vector<format::Record> checkpoint_records() const override;
  void records_durable() override { diff_area_.release_freed_slots(); }

  // FreedSlotCommitter.
  Status commit_freed_slots() override { return commit(); }

 private:
  void apply(const format::Record& record);
  // Drops the versions of one chunk that nobody can read any more (CoW: hands a version of a
  // deleted snapshot to the newest older snapshot that read it). Returns true if the chunk
  // has no versions left.
  bool collect_chunk(ChunkIndex::VersionList& versions);
  void collect_all();
  void append_tracking_records(std::vector<format::Record>& records) const;

  // Journal blocks of an area a checkpoint leaves free for the commits that follow it
  // (at least MetadataJournal's largest commit) when it sizes its change-tracking marks.
  static constexpr std::uint64_t kTrackingSpareBlocks = 40;

  ProviderKind kind_;
  Status damage_;
  DiffArea& diff_area_;
  MetadataJournal& journal_;
  std::map<std::uint32_t, SnapshotMeta> snapshots_;
  std::set<std::uint32_t> active_;
  ChunkIndex index_;
  ChangeTracker tracker_;
  std::uint32_t next_tag_ = 1;
  std::uint32_t revert_tag_ = 0;
  OverflowPolicy policy_;
};

}  // namespace freezeframe::detail

// DiffArea: the data part of a diff area. It hands out data slots, accounts for the space they
// take (per snapshot tag too), enforces the limit's arithmetic, and stores chunks in slots:
// raw, or as zstd frames whose unused slot tail is discarded. Private to the engine.
//
// Layering: DiffArea sits on the diff Volume and the on-disk format; it knows nothing of the
// journal, the version index's meaning, snapshots or write paths. Two things it needs from
// above are handed down:
//   - the accounting calls (use_slot, free_slot, move_tag_bytes, set_frame_length) come from
//     ProviderState as it applies journal records;
//   - allocate_slot() may need freed slots to become reusable, which takes a journal commit:
//     the caller passes a FreedSlotCommitter (ProviderState implements it).
//
// Slot life: [0, slot_hwm) have been handed out at some time. A slot referenced by the index
// is "used". A slot freed by a record that is not durable yet is "pending": reusing it before
// the record is durable would let a crash resurrect a map entry that points at overwritten
// bytes. release_freed_slots() (after the commit) makes pending slots reusable.
//
// Durability: nothing here flushes. Chunk data written to a slot is durable only after the
// diff volume's next flush (the journal's commit issues it before the records that map it).
//
// Thread-safety: none inside; the provider's mutex guards every call (const members under the
// shared lock, the rest under the exclusive lock). Lifetime: the diff Volume must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "chunk_index.h"
#include "diff_area_format.h"
#include "freezeframe/diff_area_settings.h"
#include "freezeframe/status.h"
#include "freezeframe/volume.h"

// zstd's compression context, kept opaque here so that only diff_area.cpp includes zstd.h.
struct ZSTD_CCtx_s;

namespace freezeframe::detail {

// The fixed shape of a diff area and its origin, decided when the diff area was formatted.
struct DiffAreaGeometry {
  std::uint32_t chunk_bytes = 0;
  std::uint32_t chunk_shift = 0;  // log2(chunk_bytes)
  std::uint64_t origin_bytes = 0;
  std::uint64_t data_offset = 0;  // of slot 0 on the diff volume
  std::uint64_t data_slots = 0;
  // The chunk checksum table (version 2); sum_bytes 0: none (a version 1 image).
  std::uint64_t sum_offset = 0;
  std::uint64_t sum_bytes = 0;

  static DiffAreaGeometry of(const format::Superblock& superblock);

  std::uint64_t chunk_of(std::uint64_t offset) const { return offset >> chunk_shift; }
  std::uint64_t chunk_offset(std::uint64_t chunk) const { return chunk << chunk_shift; }
  // Bytes of `chunk` inside the origin (the last chunk may be short).
  std::uint64_t chunk_length(std::uint64_t chunk) const;
  // Chunks of the origin.
  std::uint64_t chunks() const;

  // The part of a request at byte `at`, with `remaining` bytes to go, that lies in one chunk.
  struct Piece {
    std::uint64_t chunk;
    std::uint64_t within;  // offset inside the chunk
    std::uint64_t length;
  };
  Piece piece_at(std::uint64_t at, std::uint64_t remaining) const;
};

// What allocate_slot() asks of the layer that owns the journal when every free slot is still
// pending: make the records that freed them durable, then call release_freed_slots(). On
// error the commit failed, and allocation fails with that status.
class FreedSlotCommitter {
 public:
  virtual ~FreedSlotCommitter() = default;
  virtual Status commit_freed_slots() = 0;
};

class DiffArea {
 public:
  // `name` appears in messages ("diff area of 'data'").
  DiffArea(Volume& diff, const DiffAreaGeometry& geometry, const DiffAreaLimit& limit,
           std::string name);
  DiffArea(const DiffArea&) = delete;
  DiffArea& operator=(const DiffArea&) = delete;

  // Stores chunks as zstd frames from now on: level 1, with the frame's content checksum so a
  // damaged frame fails to decode instead of returning wrong bytes. kUnsupported if zstd
  // cannot be set up.
  Status enable_compression();
  bool compressed() const noexcept { return compress_; }

  const DiffAreaGeometry& geometry() const noexcept { return geometry_; }
  // Changes the geometry in place (an upgrade gives the last slots to the checksum table);
  // references to geometry() stay valid. finish_recovery() must follow.
  void reshape(const DiffAreaGeometry& geometry) { geometry_ = geometry; }
  const std::string& name() const noexcept { return name_; }
  // The diff volume, for reads of runs of raw slots (see slot_offset()).
  Volume& volume() const noexcept { return diff_; }

  // ----- limit and space

  const DiffAreaLimit& limit() const noexcept { return limit_; }
  void set_limit(const DiffAreaLimit& limit) { limit_ = limit; }
  // The most data bytes the diff area may hold: the limit in whole chunks, capped by the
  // data area. max_bytes_for() answers for another limit (to check a change first).
  std::uint64_t max_bytes() const { return max_bytes_for(limit_); }
  std::uint64_t max_bytes_for(const DiffAreaLimit& limit) const;
  std::uint64_t used_bytes() const noexcept { return used_bytes_; }
  // Data bytes of the diff volume ever written (the slot high-water mark).
  std::uint64_t allocated_bytes() const noexcept { return slot_hwm_ * geometry_.chunk_bytes; }
  // True if `slots` more slots holding `bytes` more bytes stay within the data area and the
  // maximum.
  bool fits(std::uint64_t slots, std::uint64_t bytes) const;
  // "used 4 MiB of max 8 MiB, limit 10%", for messages.
  std::string space_text() const;
  // Bytes a slot holding `stored` bytes of `chunk` accounts for: a whole chunk, or for a
  // compressed one its frame rounded up to a diff-volume sector.
  std::uint64_t accounted_bytes(std::uint64_t chunk, std::uint64_t stored) const;
  // Bytes the slot accounts for now.
  std::uint64_t slot_bytes(std::uint32_t slot) const;
  // Of used_bytes(), what versions tagged `tag` hold.
  std::uint64_t tag_bytes(std::uint32_t tag) const;

  // ----- accounting, as records are applied (live and at replay alike)

  // The version tagged `tag` now lives in `slot` (kOriginSlot: nothing to count).
  void use_slot(std::uint32_t tag, std::uint32_t slot);
  // The version tagged `tag` in `slot` is dropped. Live, the slot becomes pending.
  void free_slot(std::uint32_t tag, std::uint32_t slot);
  // Moves `bytes` of diff data from tag `from` to tag `to` (0: nobody's). Live, the counts
  // are exact; a corrupt journal may make them drift during recovery, which recounts them.
  void move_tag_bytes(std::uint32_t from, std::uint32_t to, std::uint64_t bytes);
  // Frame length of a compressed slot (0: the slot holds a raw chunk).
  std::uint32_t frame_length(std::uint32_t slot) const {
    return slot < frame_lengths_.size() ? frame_lengths_[slot] : 0;
  }
  void set_frame_length(std::uint32_t slot, std::uint32_t length);
  // Heap bytes of the per-slot frame lengths.
  std::uint64_t frame_memory_bytes() const;

  // Recovery: between these two, freed slots are not pending (nothing was reused after the
  // records being replayed). finish_recovery() recounts used slots and bytes from the index
  // and frees every slot below the high-water mark it does not reference; kCorrupt if a slot
  // is mapped twice.
  void begin_recovery() noexcept { recovering_ = true; }
  Status finish_recovery(const ChunkIndex& index);

  // ----- allocation

  // A slot to write a chunk into: a reusable one, else a new one above the high-water mark.
  // If only pending slots are left, `committer` commits first. kNoSpace when the data area is
  // exhausted. The limit is not checked here: the overflow policy has done that.
  Result<std::uint32_t> allocate_slot(FreedSlotCommitter& committer);
  // Gives back a slot from allocate_slot() that was never mapped (its write failed).
  void return_slot(std::uint32_t slot) { free_slots_.push_back(slot); }
  // The records that freed the pending slots are durable: the slots may be reused.
  void release_freed_slots();

  // ----- chunk data

  std::uint64_t slot_offset(std::uint32_t slot) const {
    return geometry_.data_offset + static_cast<std::uint64_t>(slot) * geometry_.chunk_bytes;
  }
  // Reads the chunk stored in `slot` into `out` (chunk_length(chunk) bytes), decompressing a
  // compressed slot, and verifies its checksum. kCorrupt, naming the chunk, its origin
  // offset, the slot and its diff-volume offset, if the checksum fails or a frame does not
  // decode. Safe under the shared lock.
  Status read_slot(std::uint64_t chunk, std::uint32_t slot, std::span<std::byte> out) const;
  // Reads `count` raw chunks that sit in consecutive slots from `slot` and are consecutive
  // chunks from `chunk`, into `out` (their lengths added up), verifying each: one read of
  // the data and one of their checksums.
  Status read_raw_run(std::uint64_t chunk, std::uint32_t slot, std::uint64_t count,
                      std::span<std::byte> out) const;
  // Writes a whole raw chunk into `slot`, and its checksum.
  Status write_chunk(std::uint32_t slot, std::uint64_t chunk, std::span<const std::byte> data);
  // Compresses a chunk into `frame`, padded with zeros to whole sectors. Returns the frame's
  // length, or the chunk's own length (and a copy of it in `frame`) when compression would
  // not save at least a sector. REQUIRES: compressed().
  std::uint32_t pack(std::span<const std::byte> chunk, std::vector<std::byte>& frame);
  // Writes a packed chunk (`stored` bytes of `frame` are the chunk's, the rest padding) into
  // `slot`, discards the rest of the slot, and writes its checksum.
  Status write_packed(std::uint32_t slot, std::uint64_t chunk, std::span<const std::byte> frame,
                      std::uint32_t stored);

  // ----- checksums

  // Whether reads verify checksums: there is a table and it is not being rebuilt.
  bool verifies() const noexcept { return geometry_.sum_bytes != 0 && sums_trusted_; }
  void set_sums_trusted(bool trusted) noexcept { sums_trusted_ = trusted; }
  // Sets the checksum of `stored` (the slot's stored bytes) as slot `slot`'s entry. The
  // table sector is changed in the sector cache; flush_sums() writes it.
  Status write_sum(std::uint32_t slot, std::uint64_t chunk, std::span<const std::byte> stored);
  // Writes every table sector write_sum() changed. The journal's commit calls it first, so
  // the entries reach the disk with the data flush that precedes the records mapping them.
  Status flush_sums();
  // Forgets the cached table sectors that flush_sums() has written, so the next reads fetch
  // them from the disk again (for tests that damage the table behind the diff area).
  void drop_clean_sums();
  // Reads and verifies the stored bytes of the version of `chunk` in `slot` (used by check):
  // OK, or the kCorrupt / kIo of reading it.
  Status verify_slot(std::uint64_t chunk, std::uint32_t slot) const;

 private:
  std::uint64_t sector_bytes() const;
  // The table sector `index` in the cache, read on a miss. REQUIRES: sums_mutex_ held.
  Result<std::vector<std::byte>*> sum_sector(std::uint64_t index) const;
  // Reads the checksum entries of `count` slots from `slot`.
  Status read_sums(std::uint32_t slot, std::uint64_t count, std::vector<std::uint64_t>& out) const;
  // kCorrupt unless `stored` matches `expected` (both of `chunk` in `slot`).
  Status check_sum(std::uint64_t chunk, std::uint32_t slot, std::span<const std::byte> stored,
                   std::uint64_t expected) const;

  Volume& diff_;
  DiffAreaGeometry geometry_;
  DiffAreaLimit limit_;
  std::string name_;

  std::uint64_t slot_hwm_ = 0;
  std::uint64_t slots_used_ = 0;
  // Bytes the referenced slots account for (see accounted_bytes()).
  std::uint64_t used_bytes_ = 0;
  // Of used_bytes_, what each snapshot tag holds (tags holding nothing are absent), so
  // SnapshotInfo::diff_area_bytes needs no scan of the index.
  std::map<std::uint32_t, std::uint64_t> tag_bytes_;
  // Frame length of each compressed slot, indexed by slot (0: a raw chunk); grown to the
  // highest compressed slot, and empty without compression.
  std::vector<std::uint32_t> frame_lengths_;
  std::vector<std::uint32_t> free_slots_;
  std::vector<std::uint32_t> pending_free_;
  bool recovering_ = false;
  bool sums_trusted_ = true;
  // A bounded cache of checksum table sectors (so reads of scattered slots do not read the
  // table each time), holding the ones write_sum() changed until flush_sums(). Its own mutex:
  // reads fill it under the provider's shared lock.
  struct SumSector {
    std::vector<std::byte> bytes;
    bool dirty = false;
    std::uint64_t last_use = 0;
  };
  static constexpr std::size_t kSumCacheSectors = 256;
  mutable std::mutex sums_mutex_;
  mutable std::map<std::uint64_t, SumSector> sum_cache_;
  mutable std::uint64_t sum_clock_ = 0;

  struct CompressorDeleter {
    void operator()(ZSTD_CCtx_s* context) const noexcept;
  };
  bool compress_ = false;
  std::unique_ptr<ZSTD_CCtx_s, CompressorDeleter> cctx_;
};

}  // namespace freezeframe::detail

// CoW and RoW snapshot providers over a journaled diff area. The design (version index,
// journal, recovery) is described in docs/providers.md and docs/formats/diff-area.md.
#include "freezeframe/snapshot_provider.h"

#include <zstd.h>

#include <algorithm>
#include <bit>
#include <boost/container/small_vector.hpp>
#include <chrono>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <unordered_map>

#include "byte_math.h"
#include "chunk_index.h"
#include "diff_area_format.h"
#include "freezeframe/assert.h"

namespace freezeframe {

namespace {

using format::kOriginSlot;
using format::Record;
using format::RecordType;

// Versions of one chunk, sorted by tag: the snapshot tag each belongs to and where its bytes
// are (slot kOriginSlot: in the origin, RoW after consolidation). The index stores them in
// 12 bytes each (chunk_index.h); changes go through a copy in a VersionList.
using detail::ChunkIndex;
using detail::ChunkVersion;
using detail::IndexEntry;
using VersionList = ChunkIndex::VersionList;
using Versions = std::span<const IndexEntry>;

// A commit writes at most this many journal blocks in one group.
constexpr std::size_t kCommitBlocksMax = 32;
// Journal blocks written per call when writing a checkpoint.
constexpr std::size_t kCheckpointWriteBlocks = 64;
// consolidate() releases the lock between batches of this many bytes of chunks (at least
// kConsolidateBatchChunksMin chunks). Each batch costs three barriers (origin, then the
// diff volume's data and journal), so larger batches fold faster; smaller ones let live
// I/O in sooner.
constexpr std::uint64_t kConsolidateBatchBytes = 8ull << 20;
constexpr std::size_t kConsolidateBatchChunksMin = 64;
// Smallest number of data slots a diff area may have.
constexpr std::uint64_t kDataSlotsMin = 4;

using detail::align_up;
using detail::bytes_text;
using detail::div_ceil;
using detail::is_power_of_two;

std::int64_t wall_now_ns(Clock* clock) {
  if (clock != nullptr)
    return clock->wall_time().count();
  return std::chrono::duration_cast<Nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Encodes records into journal block payloads; a record never spans two blocks.
std::vector<std::vector<std::byte>> pack_records(const std::vector<Record>& records) {
  std::vector<std::vector<std::byte>> payloads(1);
  std::vector<std::byte> encoded;
  for (const Record& record : records) {
    encoded.clear();
    format::append_record(record, encoded);
    if (payloads.back().size() + encoded.size() > format::kLogBlockPayloadBytesMax) {
      payloads.emplace_back();
    }
    payloads.back().insert(payloads.back().end(), encoded.begin(), encoded.end());
  }
  return payloads;
}

// Upper bound of the journal blocks a checkpoint of a diff area with `slots` data slots and
// `snapshots_max` snapshots takes.
std::uint64_t checkpoint_blocks_max(std::uint64_t slots) {
  // A RoW chunk may hold an origin-located version beside its slot versions: at most two
  // map entries per slot.
  std::uint64_t bytes =
      2 * slots * format::encoded_record_bytes(RecordType::kMapAdd) +
      kSnapshotsPerVolumeMax * (format::encoded_record_bytes(RecordType::kSnapshotCreate) +
                                format::encoded_record_bytes(RecordType::kSnapshotInvalidate)) +
      format::encoded_record_bytes(RecordType::kState) +
      format::encoded_record_bytes(RecordType::kLimit);
  // A block wastes at most one record's worth of space at its end.
  std::uint64_t usable =
      format::kLogBlockPayloadBytesMax - format::encoded_record_bytes(RecordType::kSnapshotCreate);
  return div_ceil(bytes, usable) + 1;
}

struct SnapshotMeta {
  std::uint32_t tag = 0;
  Uuid id;
  Uuid set_id;
  std::int64_t created_ns = 0;
  std::uint32_t attributes = 0;
  bool invalidated = false;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Impl: the state, the journal and the data paths. Every member function expects `mutex` to be
// held (exclusively when it changes state) unless it says otherwise.

struct SnapshotProvider::Impl {
  Impl(ProviderKind provider_kind, Volume& origin_volume, Volume& diff_volume)
      : kind(provider_kind), origin(origin_volume), diff(diff_volume) {}

  ProviderKind kind;
  Volume& origin;
  Volume& diff;
  VolumeIdentity identity;
  Clock* clock = nullptr;
  Random* random = nullptr;

  format::Superblock sb;
  std::uint32_t chunk_bytes = 0;
  std::uint32_t chunk_shift = 0;

  mutable std::shared_mutex mutex;

  // State rebuilt from the journal.
  std::map<std::uint32_t, SnapshotMeta> snapshots;  // by tag; invalidated ones included
  std::set<std::uint32_t> active;                   // tags of snapshots not invalidated
  ChunkIndex index;
  std::uint32_t next_tag = 1;
  std::uint32_t revert_tag = 0;
  DiffAreaLimit limit;
  OverflowPolicy policy = OverflowPolicy::kDeleteOldest;

  // Data slots. [0, slot_hwm) have been handed out at some time; of those, slots_used are
  // referenced by the index, free_slots may be reused now, and pending_free were freed by
  // records that are not yet durable (reusing them before would let a crash resurrect a map
  // entry that points at overwritten bytes).
  std::uint64_t slot_hwm = 0;
  std::uint64_t slots_used = 0;
  // Diff-area bytes the referenced slots account for: a whole chunk per slot, or, for a
  // compressed slot, its stored bytes rounded up to a sector (the rest of the slot is
  // discarded, so a sparse diff volume does not hold it).
  std::uint64_t used_bytes = 0;
  // Of used_bytes, what each snapshot tag holds (tags holding nothing are absent).
  std::map<std::uint32_t, std::uint64_t> tag_bytes;
  // Slots holding a zstd frame, with the frame's length. Slots not listed hold raw chunks.
  // Frame length of each compressed slot, indexed by slot (0: the slot holds a raw chunk);
  // grown to the highest compressed slot, and empty without compression.
  std::vector<std::uint32_t> frame_lengths;
  std::uint32_t frame_length(std::uint32_t slot) const {
    return slot < frame_lengths.size() ? frame_lengths[slot] : 0;
  }
  void set_frame_length(std::uint32_t slot, std::uint32_t length) {
    if (slot >= frame_lengths.size()) {
      if (length == 0)
        return;
      frame_lengths.resize(std::uint64_t{slot} + 1, 0);
    }
    frame_lengths[slot] = length;
  }
  bool compress = false;
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx{nullptr, &ZSTD_freeCCtx};
  std::vector<std::byte> packed;  // one compressed chunk, for RoW writes
  std::vector<std::uint32_t> free_slots;
  std::vector<std::uint32_t> pending_free;
  bool replaying = false;

  // Journal.
  std::uint64_t area_blocks = 0;
  std::uint64_t log_position = 0;  // blocks used in the active area
  std::uint64_t next_sequence = 0;
  std::vector<Record> pending;  // applied in memory, not yet written
  bool diff_data_dirty = false;
  Status broken;  // set when a metadata commit failed: later changes are refused
  // Opened over a read-only diff volume: snapshots and the live volume can be read, and
  // nothing is ever written to either volume.
  bool read_only = false;

  std::deque<ProviderEvent> events;
  ProviderStats stats;
  std::vector<std::byte> scratch;     // one chunk, for preserve and read-modify-write
  std::vector<std::uint64_t> needed;  // chunks a CoW write must preserve

  // CoW write-back buffer (group commit). A first write to a chunk preserves the chunk's old
  // content into the diff area and holds the chunk's new content here, in whole chunks,
  // until write_back() has made the copies durable; only then do the held chunks reach the
  // origin (invariant 1). Every held chunk is preserved for the newest snapshot: creating a
  // snapshot writes the buffer back first. Arena slots [0, held_next) are in use.
  std::uint64_t write_back_chunks = 0;                    // capacity
  std::vector<std::byte> held_arena;                      // allocated on first use
  std::unordered_map<std::uint64_t, std::uint32_t> held;  // chunk -> arena slot
  std::uint32_t held_next = 0;

  // ----- geometry

  std::uint64_t origin_bytes() const { return sb.origin_bytes; }
  std::uint64_t chunk_of(std::uint64_t offset) const { return offset >> chunk_shift; }
  std::uint64_t chunk_length(std::uint64_t chunk) const {
    return std::min<std::uint64_t>(chunk_bytes, origin_bytes() - (chunk << chunk_shift));
  }
  std::uint64_t slot_offset(std::uint32_t slot) const {
    return sb.data_offset + static_cast<std::uint64_t>(slot) * chunk_bytes;
  }
  // The most data bytes the diff area may hold: the limit, capped by the data area.
  std::uint64_t max_bytes() const {
    return std::min<std::uint64_t>(limit.resolve(origin_bytes()) / chunk_bytes * chunk_bytes,
                                   sb.data_slots * chunk_bytes);
  }
  std::uint64_t diff_sector() const { return std::max<std::uint64_t>(512, diff.sector_bytes()); }
  // Bytes a slot holding `stored` bytes of `chunk` accounts for.
  std::uint64_t accounted_bytes(std::uint64_t chunk, std::uint64_t stored) const {
    return stored < chunk_length(chunk) ? align_up(stored, diff_sector()) : chunk_bytes;
  }
  std::uint64_t slot_bytes(std::uint32_t slot) const {
    std::uint32_t length = frame_length(slot);
    return length == 0 ? chunk_bytes : align_up(length, diff_sector());
  }
  std::uint64_t log_block_offset(std::uint8_t area, std::uint64_t block) const {
    return sb.log_offset[area] + block * format::kLogBlockBytes;
  }
  std::string diff_area_name() const { return "diff area of '" + identity.name + "'"; }

  // ----- events

  void add_event(ProviderEventKind event_kind, const Uuid& id, std::string message) {
    events.push_back(ProviderEvent{event_kind, id, std::move(message)});
    while (events.size() > kEventsMax)
      events.pop_front();
  }

  // ----- applying records (live and at replay: the same code, so replay is deterministic)

  // Slot accounting: `tag` is the version's snapshot tag, whose diff bytes the slot counts
  // toward (SnapshotInfo::diff_area_bytes without a scan of the index).
  void free_slot(std::uint32_t tag, std::uint32_t slot) {
    if (slot == kOriginSlot)
      return;
    FF_ASSERT(slots_used > 0);
    --slots_used;
    const std::uint64_t bytes = slot_bytes(slot);
    used_bytes -= bytes;
    move_tag_bytes(tag, 0, bytes);
    set_frame_length(slot, 0);
    if (!replaying)
      pending_free.push_back(slot);
  }

  void use_slot(std::uint32_t tag, std::uint32_t slot) {
    if (slot == kOriginSlot)
      return;
    ++slots_used;
    const std::uint64_t bytes = slot_bytes(slot);
    used_bytes += bytes;
    tag_bytes[tag] += bytes;
    slot_hwm = std::max<std::uint64_t>(slot_hwm, std::uint64_t{slot} + 1);
  }

  // Moves `bytes` of diff data from snapshot tag `from` to tag `to` (0: nobody's). Live, the
  // counts are exact; a corrupt journal may make them drift during replay, which recounts
  // them from the index when it ends (and then refuses a slot mapped twice).
  void move_tag_bytes(std::uint32_t from, std::uint32_t to, std::uint64_t bytes) {
    if (auto it = tag_bytes.find(from); it != tag_bytes.end()) {
      it->second -= std::min(it->second, bytes);
      if (it->second == 0)
        tag_bytes.erase(it);
    }
    if (to != 0)
      tag_bytes[to] += bytes;
  }

  // Drops the versions of one chunk that nobody can read any more (CoW: hands a version of a
  // deleted snapshot to the newest older snapshot that read it). Returns true if the chunk
  // has no versions left.
  bool collect_chunk(VersionList& versions) {
    VersionList kept;
    if (kind == ProviderKind::kCopyOnWrite) {
      // A version tagged t is read by the snapshots s in (previous tag, t].
      std::uint32_t previous = 0;
      for (const ChunkVersion& entry : versions) {
        auto it = active.upper_bound(entry.tag);
        if (it != active.begin() && *std::prev(it) > previous) {
          std::uint32_t owner = *std::prev(it);
          kept.push_back(ChunkVersion{owner, entry.slot});
          previous = owner;
          if (owner != entry.tag && entry.slot != kOriginSlot)
            move_tag_bytes(entry.tag, owner, slot_bytes(entry.slot));
        } else {
          free_slot(entry.tag, entry.slot);
        }
      }
    } else {
      // A version tagged t is read by snapshots s in [t, next version's tag), and the last
      // one by the live volume.
      for (std::size_t i = 0; i < versions.size(); ++i) {
        bool last = i + 1 == versions.size();
        auto it = active.lower_bound(versions[i].tag);
        bool visible = last || (it != active.end() && *it < versions[i + 1].tag);
        if (visible) {
          kept.push_back(versions[i]);
        } else {
          free_slot(versions[i].tag, versions[i].slot);
        }
      }
      // A first version that lives in the origin reads the same as no version at all.
      if (!kept.empty() && kept.front().slot == kOriginSlot)
        kept.erase(kept.begin());
    }
    versions = std::move(kept);
    return versions.empty();
  }

  void collect_all() {
    index.update_all([&](std::uint64_t, VersionList& versions) { collect_chunk(versions); });
  }

  static VersionList copy_versions(Versions versions) {
    VersionList list;
    for (const IndexEntry& entry : versions)
      list.push_back(ChunkVersion{entry.tag, entry.slot});
    return list;
  }

  void apply(const Record& record) {
    switch (record.type) {
      case RecordType::kSnapshotCreate: {
        SnapshotMeta meta;
        meta.tag = record.tag;
        meta.id = record.id;
        meta.set_id = record.set_id;
        meta.created_ns = record.created_ns;
        meta.attributes = record.attributes;
        snapshots[record.tag] = meta;
        active.insert(record.tag);
        next_tag = std::max(next_tag, record.tag + 1);
        break;
      }
      case RecordType::kSnapshotDelete:
        snapshots.erase(record.tag);
        active.erase(record.tag);
        collect_all();
        break;
      case RecordType::kSnapshotInvalidate:
        if (auto it = snapshots.find(record.tag); it != snapshots.end()) {
          it->second.invalidated = true;
        }
        active.erase(record.tag);
        collect_all();
        break;
      case RecordType::kMapAdd: {
        VersionList versions = copy_versions(index.find(record.chunk));
        auto it =
            std::lower_bound(versions.begin(), versions.end(), record.tag,
                             [](const ChunkVersion& e, std::uint32_t tag) { return e.tag < tag; });
        if (it != versions.end() && it->tag == record.tag) {
          free_slot(it->tag, it->slot);
          it->slot = record.slot;
        } else {
          versions.insert(it, ChunkVersion{record.tag, record.slot});
        }
        index.assign(record.chunk, {versions.data(), versions.size()});
        if (record.slot != kOriginSlot && record.stored_bytes > 0 &&
            record.stored_bytes < chunk_length(record.chunk)) {
          set_frame_length(record.slot, record.stored_bytes);
        }
        use_slot(record.tag, record.slot);
        break;
      }
      case RecordType::kMapRemove:
      case RecordType::kMapToOrigin: {
        Versions found = index.find(record.chunk);
        if (found.empty())
          break;
        VersionList versions = copy_versions(found);
        for (auto it = versions.begin(); it != versions.end(); ++it) {
          if (it->tag != record.tag)
            continue;
          free_slot(it->tag, it->slot);
          if (record.type == RecordType::kMapRemove) {
            versions.erase(it);
          } else {
            it->slot = kOriginSlot;
          }
          break;
        }
        collect_chunk(versions);
        index.assign(record.chunk, {versions.data(), versions.size()});
        break;
      }
      case RecordType::kRevert: {
        for (auto it = snapshots.upper_bound(record.tag); it != snapshots.end();) {
          active.erase(it->first);
          it = snapshots.erase(it);
        }
        if (kind == ProviderKind::kRedirectOnWrite) {
          // The live volume's newer versions are dropped: it reads as the snapshot again.
          index.update_all([&](std::uint64_t, VersionList& versions) {
            while (!versions.empty() && versions.back().tag > record.tag) {
              free_slot(versions.back().tag, versions.back().slot);
              versions.pop_back();
            }
          });
        } else {
          revert_tag = record.tag;
        }
        collect_all();
        break;
      }
      case RecordType::kRevertDone:
        revert_tag = 0;
        break;
      case RecordType::kLimit:
        limit.kind = static_cast<DiffAreaLimit::Kind>(record.limit_kind);
        limit.value = record.limit_value;
        policy = static_cast<OverflowPolicy>(record.policy);
        break;
      case RecordType::kState:
        next_tag = std::max(next_tag, record.next_tag);
        revert_tag = record.revert_tag;
        break;
    }
  }

  // Applies a record now and queues it for the next commit.
  void log(const Record& record) {
    apply(record);
    pending.push_back(record);
  }

  // ----- journal writing

  Status fail(Status status) {
    broken = status.with_context(diff_area_name() + ": metadata commit failed; the provider " +
                                 "refuses further changes until it is reopened");
    return broken;
  }

  Status write_blocks(std::uint8_t area, std::uint64_t first_block, std::uint64_t first_sequence,
                      const std::vector<std::vector<std::byte>>& payloads, std::size_t begin,
                      std::size_t end, std::uint64_t group_first_sequence,
                      std::uint32_t group_block_count) {
    std::vector<std::byte> buffer((end - begin) * format::kLogBlockBytes);
    for (std::size_t i = begin; i < end; ++i) {
      format::LogBlockHeader header;
      header.sequence = first_sequence + (i - begin);
      header.group_first_sequence = group_first_sequence;
      header.group_block_count = group_block_count;
      header.payload_bytes = static_cast<std::uint32_t>(payloads[i].size());
      header.diff_area_uuid = sb.diff_area_uuid;
      format::encode_log_block(
          header, payloads[i],
          std::span<std::byte, format::kLogBlockBytes>(
              buffer.data() + (i - begin) * format::kLogBlockBytes, format::kLogBlockBytes));
    }
    stats.metadata_blocks_written += end - begin;
    return diff.write(log_block_offset(area, first_block), buffer);
  }

  std::vector<Record> checkpoint_records() const {
    std::vector<Record> records;
    Record state;
    state.type = RecordType::kState;
    state.next_tag = next_tag;
    state.revert_tag = revert_tag;
    records.push_back(state);
    Record limit_record;
    limit_record.type = RecordType::kLimit;
    limit_record.limit_kind = static_cast<std::uint8_t>(limit.kind);
    limit_record.limit_value = limit.value;
    limit_record.policy = static_cast<std::uint8_t>(policy);
    records.push_back(limit_record);
    for (const auto& [tag, meta] : snapshots) {
      Record create;
      create.type = RecordType::kSnapshotCreate;
      create.tag = tag;
      create.id = meta.id;
      create.set_id = meta.set_id;
      create.created_ns = meta.created_ns;
      create.attributes = meta.attributes;
      records.push_back(create);
      if (meta.invalidated) {
        Record invalidate;
        invalidate.type = RecordType::kSnapshotInvalidate;
        invalidate.tag = tag;
        records.push_back(invalidate);
      }
    }
    index.for_each([&](std::uint64_t chunk, Versions versions) {
      for (const IndexEntry& entry : versions) {
        Record add;
        add.type = RecordType::kMapAdd;
        add.chunk = chunk;
        add.tag = entry.tag;
        add.slot = entry.slot;
        if (entry.slot != kOriginSlot) {
          std::uint32_t length = frame_length(entry.slot);
          add.stored_bytes = length != 0 ? length : static_cast<std::uint32_t>(chunk_length(chunk));
        }
        records.push_back(add);
      }
    });
    return records;
  }

  // Writes the whole state into the inactive journal area and switches the superblock to it.
  // The state includes every pending record, which is then written.
  Status write_checkpoint() {
    auto payloads = pack_records(checkpoint_records());
    std::uint8_t area = sb.active_log ^ 1;
    if (payloads.size() + kCommitBlocksMax > area_blocks) {
      return fail(Status(ErrorCode::kNoSpace, diff_area_name() + ": checkpoint of " +
                                                  std::to_string(payloads.size()) +
                                                  " blocks does not fit a journal area of " +
                                                  std::to_string(area_blocks) + " blocks"));
    }
    std::uint64_t first_sequence = next_sequence;
    for (std::size_t group = 0; group < payloads.size(); group += format::kGroupBlocksMax) {
      std::size_t group_end = std::min(payloads.size(), group + format::kGroupBlocksMax);
      for (std::size_t begin = group; begin < group_end; begin += kCheckpointWriteBlocks) {
        std::size_t end = std::min(group_end, begin + kCheckpointWriteBlocks);
        Status status =
            write_blocks(area, begin, first_sequence + begin, payloads, begin, end,
                         first_sequence + group, static_cast<std::uint32_t>(group_end - group));
        if (!status.ok())
          return fail(std::move(status));
      }
    }
    if (Status status = diff.flush(); !status.ok())
      return fail(std::move(status));
    format::Superblock next = sb;
    next.generation += 1;
    next.active_log = area;
    next.log_start_sequence = first_sequence;
    next.checkpoint_blocks = static_cast<std::uint32_t>(payloads.size());
    next.limit_kind = static_cast<std::uint8_t>(limit.kind);
    next.limit_value = limit.value;
    next.overflow_policy = static_cast<std::uint8_t>(policy);
    // The superblock fills the first sector (a 4096-byte sector diff volume writes it whole).
    std::vector<std::byte> bytes(
        std::max<std::size_t>(format::kSuperblockBytes, diff.sector_bytes()));
    format::encode_superblock(next, std::span<std::byte, format::kSuperblockBytes>(
                                        bytes.data(), format::kSuperblockBytes));
    if (Status status = diff.write(0, bytes); !status.ok())
      return fail(std::move(status));
    if (Status status = diff.flush(); !status.ok())
      return fail(std::move(status));
    sb = next;
    log_position = payloads.size();
    next_sequence = first_sequence + payloads.size();
    ++stats.checkpoints;
    ++stats.metadata_commits;
    return Status();
  }

  // Makes every pending record durable: data slots first (one barrier), then the records as
  // commit groups (one barrier). Slots freed by the records become reusable afterwards.
  Status commit() {
    if (!broken.ok())
      return broken;
    if (pending.empty() && !diff_data_dirty)
      return Status();
    if (diff_data_dirty) {
      if (Status status = diff.flush(); !status.ok())
        return fail(std::move(status));
      diff_data_dirty = false;
    }
    if (!pending.empty()) {
      auto payloads = pack_records(pending);
      bool written = false;
      for (std::size_t begin = 0; begin < payloads.size() && !written; begin += kCommitBlocksMax) {
        std::size_t end = std::min(payloads.size(), begin + kCommitBlocksMax);
        if (log_position + (end - begin) > area_blocks) {
          FF_TRY(write_checkpoint());
          written = true;  // the checkpoint holds every pending record
          break;
        }
        Status status = write_blocks(sb.active_log, log_position, next_sequence, payloads, begin,
                                     end, next_sequence, static_cast<std::uint32_t>(end - begin));
        if (status.ok())
          status = diff.flush();
        if (!status.ok())
          return fail(std::move(status));
        log_position += end - begin;
        next_sequence += end - begin;
        ++stats.metadata_commits;
      }
      pending.clear();
    }
    free_slots.insert(free_slots.end(), pending_free.begin(), pending_free.end());
    pending_free.clear();
    return Status();
  }

  // ----- journal reading (open)

  Status read_block(std::uint8_t area, std::uint64_t block, std::vector<std::byte>& buffer) {
    buffer.resize(format::kLogBlockBytes);
    return diff.read(log_block_offset(area, block), buffer);
  }

  // Replays the active journal area: the checkpoint must be intact; then whole commit groups
  // until the first one that is incomplete (a commit a crash interrupted).
  Status replay() {
    replaying = true;
    std::uint8_t area = sb.active_log;
    std::uint64_t expected = sb.log_start_sequence;
    std::uint64_t position = 0;
    std::vector<std::byte> block;
    std::vector<Record> group_records;

    auto where = [&](std::uint64_t pos) {
      return diff_area_name() + ": journal area " + std::to_string(area) + " block " +
             std::to_string(pos);
    };

    // Reads the group starting at `position`. Returns true and fills group_records if the
    // whole group is present and valid.
    auto read_group = [&](bool must_be_valid, std::uint64_t& group_blocks) -> Result<bool> {
      FF_TRY(read_block(area, position, block));
      auto first = format::decode_log_block(block);
      if (!first.ok()) {
        if (must_be_valid)
          return first.status().with_context(where(position));
        return false;
      }
      const auto& header = first.value().header;
      if (header.diff_area_uuid != sb.diff_area_uuid || header.sequence < expected) {
        if (must_be_valid)
          return corrupt(where(position) + ": stale block in the checkpoint");
        return false;  // left over from an earlier use of this area
      }
      if (header.sequence > expected) {
        return corrupt(where(position) + ": sequence " + std::to_string(header.sequence) +
                       " where " + std::to_string(expected) + " was expected");
      }
      if (header.group_first_sequence != header.sequence) {
        if (must_be_valid)
          return corrupt(where(position) + ": not the start of a group");
        return false;
      }
      group_blocks = header.group_block_count;
      if (position + group_blocks > area_blocks) {
        if (must_be_valid)
          return corrupt(where(position) + ": group runs past the area");
        return false;
      }
      group_records.clear();
      for (std::uint64_t i = 0; i < group_blocks; ++i) {
        if (i > 0)
          FF_TRY(read_block(area, position + i, block));
        auto decoded = format::decode_log_block(block);
        bool fits = decoded.ok() && decoded.value().header.sequence == expected + i &&
                    decoded.value().header.group_first_sequence == expected &&
                    decoded.value().header.group_block_count == group_blocks &&
                    decoded.value().header.diff_area_uuid == sb.diff_area_uuid;
        if (!fits) {
          if (must_be_valid) {
            return corrupt(where(position + i) + ": damaged block in the checkpoint");
          }
          return false;
        }
        auto records = format::decode_records(decoded.value().payload);
        if (!records.ok())
          return records.status().with_context(where(position + i));
        group_records.insert(group_records.end(), records.value().begin(), records.value().end());
      }
      return true;
    };

    while (position < sb.checkpoint_blocks) {
      std::uint64_t group_blocks = 0;
      FF_ASSIGN_OR_RETURN(bool complete, read_group(true, group_blocks));
      FF_ASSERT(complete);
      if (position + group_blocks > sb.checkpoint_blocks) {
        return corrupt(where(position) + ": checkpoint group runs past the checkpoint");
      }
      for (const Record& record : group_records)
        FF_TRY(check_and_apply(record));
      position += group_blocks;
      expected += group_blocks;
    }
    while (position < area_blocks) {
      std::uint64_t group_blocks = 0;
      FF_ASSIGN_OR_RETURN(bool complete, read_group(false, group_blocks));
      if (!complete)
        break;
      for (const Record& record : group_records)
        FF_TRY(check_and_apply(record));
      position += group_blocks;
      expected += group_blocks;
    }
    // A commit group is written only after the previous one is durable, so an intact group
    // after the end of the log means a durable block was damaged, not a torn commit.
    for (std::uint64_t later = position + 1;
         later < std::min(area_blocks, position + 2 * format::kGroupBlocksMax); ++later) {
      FF_TRY(read_block(area, later, block));
      auto decoded = format::decode_log_block(block);
      if (!decoded.ok())
        continue;
      const auto& header = decoded.value().header;
      if (header.diff_area_uuid == sb.diff_area_uuid && header.sequence > expected &&
          header.sequence == header.group_first_sequence &&
          header.sequence - sb.log_start_sequence == later) {
        return corrupt(where(position) + ": damaged, but the commit at block " +
                       std::to_string(later) + " after it is intact");
      }
    }
    log_position = position;
    next_sequence = expected;
    replaying = false;

    // Slots not referenced by the index are free.
    std::vector<bool> referenced(slot_hwm, false);
    slots_used = 0;
    used_bytes = 0;
    tag_bytes.clear();
    Status mapped_twice;
    index.for_each([&](std::uint64_t, Versions versions) {
      for (const IndexEntry& entry : versions) {
        if (entry.slot == kOriginSlot)
          continue;
        if (referenced[entry.slot] && mapped_twice.ok()) {
          mapped_twice = corrupt(diff_area_name() + ": data slot " + std::to_string(entry.slot) +
                                 " is mapped twice");
        }
        referenced[entry.slot] = true;
        ++slots_used;
        used_bytes += slot_bytes(entry.slot);
        tag_bytes[entry.tag] += slot_bytes(entry.slot);
      }
    });
    FF_TRY(mapped_twice);
    free_slots.clear();
    for (std::uint64_t slot = slot_hwm; slot-- > 0;) {
      if (!referenced[slot])
        free_slots.push_back(static_cast<std::uint32_t>(slot));
    }
    return Status();
  }

  // Validates a record's fields against the geometry before applying it at replay.
  Status check_and_apply(const Record& record) {
    auto bad = [&](const std::string& what) {
      return corrupt(diff_area_name() + ": journal record type " +
                     std::to_string(static_cast<int>(record.type)) + ": " + what);
    };
    switch (record.type) {
      case RecordType::kMapAdd:
      case RecordType::kMapRemove:
      case RecordType::kMapToOrigin:
        if (record.chunk >= div_ceil(origin_bytes(), chunk_bytes)) {
          return bad("chunk " + std::to_string(record.chunk) + " is beyond the origin");
        }
        if (record.tag == 0 || record.tag == std::numeric_limits<std::uint32_t>::max()) {
          return bad("snapshot tag " + std::to_string(record.tag));
        }
        if (record.type == RecordType::kMapAdd && record.slot != kOriginSlot &&
            record.slot >= sb.data_slots) {
          return bad("slot " + std::to_string(record.slot) + " is beyond the data area");
        }
        break;
      case RecordType::kLimit:
        if (record.limit_kind > 2 || record.policy < 1 || record.policy > 3) {
          return bad("unknown limit kind or overflow policy");
        }
        break;
      case RecordType::kSnapshotCreate:
        if (record.tag == 0 || record.tag == std::numeric_limits<std::uint32_t>::max()) {
          return bad("snapshot tag " + std::to_string(record.tag));
        }
        break;
      default:
        break;
    }
    apply(record);
    return Status();
  }

  // ----- slots and space

  Result<std::uint32_t> allocate_slot() {
    if (free_slots.empty() && !pending_free.empty())
      FF_TRY(commit());
    std::uint32_t slot;
    if (!free_slots.empty()) {
      slot = free_slots.back();
      free_slots.pop_back();
    } else if (slot_hwm < sb.data_slots) {
      slot = static_cast<std::uint32_t>(slot_hwm++);
    } else {
      return Status(ErrorCode::kNoSpace, diff_area_name() + ": no free data slot");
    }
    return slot;
  }

  std::string space_text() const {
    return "used " + bytes_text(used_bytes) + " of max " + bytes_text(max_bytes()) + ", limit " +
           limit.to_string();
  }

  Status invalidate(std::uint32_t tag, const std::string& why) {
    const SnapshotMeta& meta = snapshots.at(tag);
    Record record;
    record.type = RecordType::kSnapshotInvalidate;
    record.tag = tag;
    record.reason = 1;
    Uuid id = meta.id;
    log(record);
    add_event(ProviderEventKind::kSnapshotInvalidated, id,
              "snapshot " + id.to_string() + " invalidated: " + why);
    return Status();
  }

  // Makes room for `slots_needed` more slots under the overflow policy. Sets `acted` if it
  // folded RoW chunks back or the policy deleted or invalidated snapshots, after which the
  // caller re-plans its write.
  Status ensure_space(std::uint64_t slots_needed, bool& acted) {
    return ensure_space(slots_needed, slots_needed * chunk_bytes, acted);
  }
  Status ensure_space(std::uint64_t slots_needed, std::uint64_t bytes_needed, bool& acted) {
    acted = false;
    if (slots_used + slots_needed <= sb.data_slots && used_bytes + bytes_needed <= max_bytes())
      return Status();
    // RoW: deleting a snapshot frees no slot by itself (the live volume still reads the
    // redirected chunks); it lets chunks nobody reads in the origin any more fold back. Fold
    // those first, so the policy gives up no more snapshots or writes than it must.
    if (kind == ProviderKind::kRedirectOnWrite) {
      auto candidates = consolidation_candidates();
      if (!candidates.empty()) {
        FF_ASSIGN_OR_RETURN(std::size_t folded, consolidate_batch(candidates, candidates.size()));
        if (folded > 0) {
          acted = true;
          return Status();
        }
      }
    }
    std::string why = diff_area_name() + " is full (" + space_text() + ", " +
                      std::to_string(slots_needed) + " more chunks needed)";
    switch (policy) {
      case OverflowPolicy::kFailWrites:
        add_event(ProviderEventKind::kWriteFailedNoSpace, Uuid(), why + "; write refused");
        return Status(ErrorCode::kNoSpace, why + "; overflow policy fail-writes refused the write");
      case OverflowPolicy::kDeleteOldest: {
        if (active.empty())
          break;
        std::uint32_t oldest = *active.begin();
        Uuid id = snapshots.at(oldest).id;
        Record record;
        record.type = RecordType::kSnapshotDelete;
        record.tag = oldest;
        log(record);
        add_event(
            ProviderEventKind::kSnapshotDeletedForSpace, id,
            "snapshot " + id.to_string() + " deleted by overflow policy delete-oldest: " + why);
        acted = true;
        break;
      }
      case OverflowPolicy::kInvalidateSnapshot: {
        if (active.empty())
          break;
        std::vector<std::uint32_t> tags(active.begin(), active.end());
        for (std::uint32_t tag : tags) {
          FF_TRY(invalidate(tag, "overflow policy invalidate-snapshot: " + why));
        }
        acted = true;
        break;
      }
    }
    if (acted)
      return commit();
    return Status(ErrorCode::kNoSpace, why);
  }

  // ----- chunk data in slots

  // Reads the chunk stored in `slot` into `out` (chunk_length(chunk) bytes), decompressing a
  // compressed slot. Safe under the shared lock.
  Status read_slot(std::uint64_t chunk, std::uint32_t slot, std::span<std::byte> out) const {
    std::uint32_t length = frame_length(slot);
    if (length == 0)
      return diff.read(slot_offset(slot), out);
    std::vector<std::byte> frame(align_up(length, diff_sector()));
    FF_TRY(diff.read(slot_offset(slot), frame));
    std::size_t n = ZSTD_decompress(out.data(), out.size(), frame.data(), length);
    if (ZSTD_isError(n) || n != out.size()) {
      return corrupt(diff_area_name() + ": compressed chunk " + std::to_string(chunk) +
                     " in data slot " + std::to_string(slot) + " does not decompress to " +
                     std::to_string(out.size()) + " bytes" +
                     (ZSTD_isError(n) ? std::string(": ") + ZSTD_getErrorName(n) : ""));
    }
    return Status();
  }

  // Compresses a chunk into `frame`, padded with zeros to whole sectors. Returns the frame's
  // length, or the chunk's own length (and a copy of it in `frame`) when compression would
  // not save at least a sector.
  std::uint32_t pack(std::span<const std::byte> chunk, std::vector<std::byte>& frame) {
    std::size_t bound = ZSTD_compressBound(chunk.size());
    frame.resize(align_up(bound, diff_sector()));
    std::size_t n =
        ZSTD_compress2(cctx.get(), frame.data(), frame.size(), chunk.data(), chunk.size());
    if (ZSTD_isError(n) || align_up(n, diff_sector()) >= chunk.size()) {
      frame.assign(chunk.begin(), chunk.end());
      return static_cast<std::uint32_t>(chunk.size());
    }
    std::size_t padded = align_up(n, diff_sector());
    std::fill(frame.begin() + static_cast<std::ptrdiff_t>(n),
              frame.begin() + static_cast<std::ptrdiff_t>(padded), std::byte{0});
    frame.resize(padded);
    return static_cast<std::uint32_t>(n);
  }

  // Level 1 (fast) with the frame's content checksum, so a damaged frame fails to decode
  // instead of returning wrong bytes.
  Status make_compressor() {
    cctx.reset(ZSTD_createCCtx());
    if (cctx == nullptr ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1))) {
      return Status(ErrorCode::kUnsupported, "cannot set up zstd compression");
    }
    return Status();
  }

  // Writes a packed chunk into `slot` and discards the rest of the slot.
  Status write_packed(std::uint32_t slot, std::span<const std::byte> frame) {
    FF_TRY(diff.write(slot_offset(slot), frame));
    if (frame.size() < chunk_bytes) {
      FF_TRY(diff.discard(slot_offset(slot) + frame.size(), chunk_bytes - frame.size()));
    }
    return Status();
  }

  // ----- reads

  // The part of a request at byte `at`, with `remaining` bytes to go, that lies in one chunk.
  struct Piece {
    std::uint64_t chunk;
    std::uint64_t within;  // offset inside the chunk
    std::uint64_t length;
  };
  Piece piece_at(std::uint64_t at, std::uint64_t remaining) const {
    const std::uint64_t chunk = chunk_of(at);
    const std::uint64_t within = at - (chunk << chunk_shift);
    return {chunk, within, std::min<std::uint64_t>(chunk_bytes - within, remaining)};
  }

  // Where a chunk's bytes are for a reader: the live volume (tag 0) or snapshot `tag`.
  // Returns kOriginSlot for the origin.
  std::uint32_t locate(std::uint64_t chunk, std::uint32_t tag) const {
    Versions versions = index.find(chunk);
    if (versions.empty())
      return kOriginSlot;
    if (kind == ProviderKind::kCopyOnWrite) {
      if (tag == 0)
        return kOriginSlot;
      auto it = std::lower_bound(versions.begin(), versions.end(), tag,
                                 [](const IndexEntry& e, std::uint32_t t) { return e.tag < t; });
      return it == versions.end() ? kOriginSlot : it->slot;
    }
    if (tag == 0)
      return versions.back().slot;
    auto it = std::upper_bound(versions.begin(), versions.end(), tag,
                               [](std::uint32_t t, const IndexEntry& e) { return t < e.tag; });
    return it == versions.begin() ? kOriginSlot : std::prev(it)->slot;
  }

  // Reads [offset, offset + out.size()) as seen by `tag` (0: live), coalescing runs that are
  // contiguous on the origin or on the diff volume into one read each.
  Status read_view(std::uint32_t tag, std::uint64_t offset, std::span<std::byte> out) {
    if (tag == 0 && kind == ProviderKind::kCopyOnWrite) {
      FF_TRY(origin.read(offset, out));
      overlay_held(offset, out);
      return Status();
    }
    if (index.empty())
      return origin.read(offset, out);
    bool run_on_diff = false;
    std::uint64_t run_device = 0;
    std::size_t run_begin = 0;
    std::size_t run_length = 0;
    std::vector<std::byte> chunk_data;  // a decompressed chunk
    auto flush_run = [&]() -> Status {
      if (run_length == 0)
        return Status();
      Volume& device = run_on_diff ? diff : origin;
      return device.read(run_device, out.subspan(run_begin, run_length));
    };
    std::size_t position = 0;
    while (position < out.size()) {
      const std::uint64_t at = offset + position;
      const auto [chunk, within, length] = piece_at(at, out.size() - position);
      std::uint32_t slot = locate(chunk, tag);
      if (slot != kOriginSlot && frame_length(slot) != 0) {
        FF_TRY(flush_run());
        run_length = 0;
        chunk_data.resize(chunk_length(chunk));
        FF_TRY(read_slot(chunk, slot, chunk_data));
        std::memcpy(out.data() + position, chunk_data.data() + within, length);
        position += length;
        continue;
      }
      bool on_diff = slot != kOriginSlot;
      std::uint64_t device = on_diff ? slot_offset(slot) + within : at;
      if (run_length > 0 && on_diff == run_on_diff && device == run_device + run_length) {
        run_length += length;
      } else {
        FF_TRY(flush_run());
        run_on_diff = on_diff;
        run_device = device;
        run_begin = position;
        run_length = length;
      }
      position += length;
    }
    return flush_run();
  }

  // Records that `slot`, just written (not yet flushed), holds version `tag` of `chunk` in
  // `stored` bytes. The record goes out with the next commit, after a data flush.
  void map_written_slot(std::uint64_t chunk, std::uint32_t tag, std::uint32_t slot,
                        std::uint64_t stored) {
    diff_data_dirty = true;
    Record record;
    record.type = RecordType::kMapAdd;
    record.chunk = chunk;
    record.tag = tag;
    record.slot = slot;
    record.stored_bytes = static_cast<std::uint32_t>(stored);
    log(record);
  }

  // ----- CoW writes

  std::byte* held_data(std::uint32_t arena_slot) {
    return held_arena.data() + static_cast<std::uint64_t>(arena_slot) * chunk_bytes;
  }
  const std::byte* held_data(std::uint32_t arena_slot) const {
    return held_arena.data() + static_cast<std::uint64_t>(arena_slot) * chunk_bytes;
  }

  // Copies the held chunks that overlap [offset, offset + out.size()) over `out`.
  void overlay_held(std::uint64_t offset, std::span<std::byte> out) const {
    if (held.empty() || out.empty())
      return;
    std::uint64_t end = offset + out.size();
    auto copy = [&](std::uint64_t chunk, std::uint32_t arena_slot) {
      std::uint64_t begin = std::max<std::uint64_t>(offset, chunk << chunk_shift);
      std::uint64_t stop = std::min<std::uint64_t>(end, (chunk << chunk_shift) + chunk_bytes);
      std::memcpy(out.data() + (begin - offset),
                  held_data(arena_slot) + (begin - (chunk << chunk_shift)), stop - begin);
    };
    std::uint64_t first = chunk_of(offset);
    std::uint64_t last = chunk_of(end - 1);
    if (last - first < held.size()) {
      for (std::uint64_t chunk = first; chunk <= last; ++chunk) {
        if (auto it = held.find(chunk); it != held.end())
          copy(chunk, it->second);
      }
    } else {
      for (const auto& [chunk, arena_slot] : held) {
        if (chunk >= first && chunk <= last)
          copy(chunk, arena_slot);
      }
    }
  }

  // Group commit: makes every preserved copy and map record durable (one data barrier and
  // one journal barrier on the diff volume), then writes the held chunks to the origin,
  // adjacent chunks in one call. A chunk whose write fails stays held.
  Status write_back() {
    FF_TRY(commit());
    if (held.empty()) {
      held_next = 0;
      return Status();
    }
    std::vector<std::pair<std::uint64_t, std::uint32_t>> order(held.begin(), held.end());
    std::sort(order.begin(), order.end());
    for (std::size_t i = 0; i < order.size();) {
      std::size_t j = i + 1;
      std::uint64_t bytes = chunk_length(order[i].first);
      while (j < order.size() && order[j].first == order[j - 1].first + 1 &&
             order[j].second == order[j - 1].second + 1) {
        bytes += chunk_length(order[j].first);
        ++j;
      }
      Status status = origin.write(order[i].first << chunk_shift,
                                   std::span<const std::byte>(held_data(order[i].second), bytes));
      if (!status.ok())
        return status.with_context(diff_area_name() + ": writing held chunks back");
      for (std::size_t k = i; k < j; ++k)
        held.erase(order[k].first);
      i = j;
    }
    held_next = 0;
    ++stats.write_backs;
    return Status();
  }

  // Preserves, into the newest snapshot, every chunk of [offset, offset + length) that it
  // does not hold yet. A write of up to write_back_chunks chunks holds them (their copies
  // become durable at the next write_back()); a larger one writes the buffer back, then
  // makes its own copies durable before returning.
  Status cow_preserve(std::uint64_t offset, std::uint64_t length) {
    std::uint64_t first = chunk_of(offset);
    std::uint64_t last = chunk_of(offset + length - 1);
    for (;;) {
      if (active.empty())
        return Status();
      std::uint32_t newest = *active.rbegin();
      needed.clear();
      for (std::uint64_t chunk = first; chunk <= last; ++chunk) {
        Versions found = index.find(chunk);
        if (found.empty() || found.back().tag != newest) {
          FF_ASSERT(held.count(chunk) == 0);
          needed.push_back(chunk);
        }
      }
      if (needed.empty())
        return Status();
      const bool hold = needed.size() <= write_back_chunks;
      if (!hold || held_next + needed.size() > write_back_chunks)
        FF_TRY(write_back());
      if (hold && held_arena.empty())
        held_arena.resize(write_back_chunks * chunk_bytes);
      const std::uint32_t arena_base = held_next;
      auto old_content = [&](std::size_t i) {
        return std::span<std::byte>(
            hold ? held_data(arena_base + static_cast<std::uint32_t>(i)) : scratch.data(),
            chunk_length(needed[i]));
      };
      // Held chunks are read now; compressed chunks are packed now too, since the space
      // they take decides the overflow policy.
      std::vector<std::vector<std::byte>> frames;
      std::vector<std::uint32_t> stored;
      std::uint64_t bytes_needed = needed.size() * chunk_bytes;
      if (compress)
        bytes_needed = 0;
      for (std::size_t i = 0; i < needed.size() && (hold || compress); ++i) {
        std::span<std::byte> buffer = old_content(i);
        FF_TRY(origin.read(needed[i] << chunk_shift, buffer));
        if (compress) {
          frames.emplace_back();
          stored.push_back(pack(buffer, frames.back()));
          bytes_needed += accounted_bytes(needed[i], stored.back());
        }
      }
      bool acted = false;
      FF_TRY(ensure_space(needed.size(), bytes_needed, acted));
      if (acted)
        continue;
      // A copy that fails part-way: the chunks copied so far keep their (queued) map records.
      // Held ones stay held; without holding, their records are committed now, since a later
      // write to such a chunk finds it preserved and goes straight to the origin.
      auto fail_copy = [&](Status status) -> Status {
        if (!hold)
          commit().ignore_error();  // a failed commit leaves the provider broken
        return status;
      };
      for (std::size_t i = 0; i < needed.size(); ++i) {
        std::uint64_t chunk = needed[i];
        auto allocated = allocate_slot();
        if (!allocated.ok())
          return fail_copy(allocated.status());
        std::uint32_t slot = allocated.value();
        std::span<std::byte> buffer = old_content(i);
        std::uint64_t bytes = buffer.size();
        Status status;
        if (compress) {
          status = write_packed(slot, frames[i]);
          bytes = stored[i];
        } else {
          if (!hold)
            status = origin.read(chunk << chunk_shift, buffer);
          if (status.ok())
            status = diff.write(slot_offset(slot), buffer);
        }
        if (!status.ok()) {
          free_slots.push_back(slot);
          return fail_copy(status.with_context(diff_area_name() + ": preserving chunk " +
                                               std::to_string(chunk)));
        }
        map_written_slot(chunk, newest, slot, bytes);
        ++stats.chunks_preserved;
        stats.diff_data_bytes_written += compress ? frames[i].size() : bytes;
        if (hold) {
          held.emplace(chunk, arena_base + static_cast<std::uint32_t>(i));
          held_next = arena_base + static_cast<std::uint32_t>(i) + 1;
          ++stats.chunks_held;
        }
      }
      return hold ? Status() : commit();
    }
  }

  // A CoW write (or discard, when `data` is empty) of [offset, offset + length), after
  // cow_preserve(): held chunks take their part in memory, the rest goes to the origin, in
  // one call per run of chunks that are not held.
  Status cow_apply(std::uint64_t offset, std::uint64_t length, std::span<const std::byte> data) {
    const bool discard = data.empty();
    auto to_origin = [&](std::uint64_t position, std::uint64_t bytes) -> Status {
      if (bytes == 0)
        return Status();
      return discard ? origin.discard(offset + position, bytes)
                     : origin.write(offset + position, data.subspan(position, bytes));
    };
    if (held.empty())
      return to_origin(0, length);
    std::uint64_t run_begin = 0;
    std::uint64_t position = 0;
    while (position < length) {
      const std::uint64_t at = offset + position;
      const auto [chunk, within, piece] = piece_at(at, length - position);
      if (auto it = held.find(chunk); it != held.end()) {
        FF_TRY(to_origin(run_begin, position - run_begin));
        std::byte* target = held_data(it->second) + within;
        if (discard) {
          std::fill_n(target, piece, std::byte{0});
        } else {
          std::memcpy(target, data.data() + position, piece);
        }
        run_begin = position + piece;
      }
      position += piece;
    }
    return to_origin(run_begin, length - run_begin);
  }

  // ----- RoW writes

  // kReplace: the live version is in a slot no snapshot reads, but compressed chunks are not
  // rewritten in place (a torn rewrite would change the frame's length under its record):
  // the new content goes to a new slot under the same tag.
  enum class Target { kOrigin, kSlot, kRedirect, kReplace };

  Target row_target(std::uint64_t chunk, std::uint32_t& slot) const {
    Versions found = index.find(chunk);
    if (found.empty()) {
      slot = kOriginSlot;
      return active.empty() ? Target::kOrigin : Target::kRedirect;
    }
    const IndexEntry& last = found.back();
    bool visible_to_snapshot = !active.empty() && *active.rbegin() >= last.tag;
    if (visible_to_snapshot)
      return Target::kRedirect;
    slot = last.slot;
    if (last.slot == kOriginSlot)
      return Target::kOrigin;
    return compress ? Target::kReplace : Target::kSlot;
  }

  // Writes `data` (or zeros for a discard, when data is empty) at [offset, offset + length).
  Status row_write(std::uint64_t offset, std::uint64_t length, std::span<const std::byte> data) {
    std::uint64_t first = chunk_of(offset);
    std::uint64_t last = chunk_of(offset + length - 1);
    for (;;) {
      std::uint64_t redirects = 0;
      std::uint32_t slot = 0;
      for (std::uint64_t chunk = first; chunk <= last; ++chunk) {
        Target target = row_target(chunk, slot);
        redirects += target == Target::kRedirect || target == Target::kReplace;
      }
      bool acted = false;
      FF_TRY(ensure_space(redirects, acted));
      if (!acted)
        break;
    }
    bool discard = data.empty();
    std::uint64_t position = 0;
    while (position < length) {
      const std::uint64_t at = offset + position;
      const auto [chunk, within, piece] = piece_at(at, length - position);
      std::uint32_t slot = kOriginSlot;
      Target target = row_target(chunk, slot);
      if (target == Target::kOrigin) {
        FF_TRY(discard ? origin.discard(at, piece)
                       : origin.write(at, data.subspan(position, piece)));
      } else if (target == Target::kSlot) {
        if (discard) {
          std::fill_n(scratch.begin(), piece, std::byte{0});
          FF_TRY(diff.write(slot_offset(slot) + within, std::span(scratch.data(), piece)));
        } else {
          FF_TRY(diff.write(slot_offset(slot) + within, data.subspan(position, piece)));
        }
        diff_data_dirty = true;
      } else {
        std::uint64_t bytes = chunk_length(chunk);
        std::span<std::byte> buffer(scratch.data(), bytes);
        if (piece < bytes) {
          FF_TRY(read_view(0, chunk << chunk_shift, buffer));
          ++stats.read_modify_writes;
        }
        if (discard) {
          std::fill_n(buffer.begin() + within, piece, std::byte{0});
        } else {
          std::memcpy(buffer.data() + within, data.data() + position, piece);
        }
        std::uint32_t tag = next_tag;
        if (target == Target::kReplace) {
          tag = index.find(chunk).back().tag;
        }
        FF_ASSIGN_OR_RETURN(std::uint32_t new_slot, allocate_slot());
        Status status;
        std::uint64_t written = bytes;
        if (compress) {
          std::uint32_t packed_bytes = pack(buffer, packed);
          status = write_packed(new_slot, packed);
          written = packed.size();
          bytes = packed_bytes;
        } else {
          status = diff.write(slot_offset(new_slot), buffer);
        }
        if (!status.ok()) {
          free_slots.push_back(new_slot);
          return status;
        }
        map_written_slot(chunk, tag, new_slot, bytes);
        stats.chunks_redirected += target == Target::kRedirect;
        stats.diff_data_bytes_written += written;
      }
      position += piece;
    }
    return Status();
  }

  // ----- revert and consolidation

  // CoW: copies the chunks snapshot `revert_tag` preserved back into the origin, then
  // records that the revert is complete. Idempotent, so it is simply redone after a crash.
  Status finish_cow_revert() {
    std::uint32_t tag = revert_tag;
    Status copied;
    index.for_each([&](std::uint64_t chunk, Versions) {
      std::uint32_t slot = locate(chunk, tag);
      if (slot == kOriginSlot || !copied.ok())
        return;
      std::span<std::byte> buffer(scratch.data(), chunk_length(chunk));
      copied = read_slot(chunk, slot, buffer);
      if (copied.ok())
        copied = origin.write(chunk << chunk_shift, buffer);
    });
    FF_TRY(copied);
    FF_TRY(origin.flush());
    Record done;
    done.type = RecordType::kRevertDone;
    done.tag = tag;
    log(done);
    return commit();
  }

  bool consolidatable(Versions versions) const {
    if (versions.back().slot == kOriginSlot)
      return false;
    for (const IndexEntry& entry : versions) {
      if (entry.slot == kOriginSlot)
        return false;
    }
    // Nobody may still read the origin's own version of the chunk.
    return active.empty() || *active.begin() >= versions.front().tag;
  }

  // Folds up to `batch` chunks back into the origin. Returns how many it folded.
  Result<std::size_t> consolidate_batch(std::vector<std::uint64_t>& candidates, std::size_t batch) {
    std::vector<std::pair<std::uint64_t, std::uint32_t>> moved;
    while (!candidates.empty() && moved.size() < batch) {
      std::uint64_t chunk = candidates.back();
      candidates.pop_back();
      Versions found = index.find(chunk);
      if (found.empty() || !consolidatable(found))
        continue;
      const IndexEntry last = found.back();
      std::span<std::byte> buffer(scratch.data(), chunk_length(chunk));
      FF_TRY(read_slot(chunk, last.slot, buffer));
      FF_TRY(origin.write(chunk << chunk_shift, buffer));
      moved.emplace_back(chunk, last.tag);
    }
    if (moved.empty())
      return std::size_t{0};
    // The origin copies must be durable before the records that stop pointing at the slots.
    FF_TRY(origin.flush());
    for (const auto& [chunk, tag] : moved) {
      Record record;
      record.type = RecordType::kMapToOrigin;
      record.chunk = chunk;
      record.tag = tag;
      log(record);
    }
    FF_TRY(commit());
    stats.chunks_consolidated += moved.size();
    return moved.size();
  }

  std::vector<std::uint64_t> consolidation_candidates() const {
    std::vector<std::uint64_t> candidates;
    index.for_each([&](std::uint64_t chunk, Versions versions) {
      if (consolidatable(versions))
        candidates.push_back(chunk);
    });
    std::sort(candidates.begin(), candidates.end(), std::greater<>());
    return candidates;
  }

  // ----- reporting

  SnapshotInfo info_of(const SnapshotMeta& meta) const {
    SnapshotInfo info;
    info.id = meta.id;
    info.set_id = meta.set_id;
    info.created = Nanoseconds(meta.created_ns);
    info.origin_id = origin.uuid();
    info.origin_name = origin.name();
    info.provider = kind;
    info.state = meta.invalidated ? SnapshotState::kInvalidated : SnapshotState::kActive;
    info.sequence = meta.tag;
    info.attributes = meta.attributes;
    if (!meta.invalidated) {
      auto held_bytes = tag_bytes.find(meta.tag);
      info.diff_area_bytes = held_bytes == tag_bytes.end() ? 0 : held_bytes->second;
#ifndef NDEBUG
      std::uint64_t scanned = 0;
      index.for_each([&](std::uint64_t, Versions versions) {
        for (const IndexEntry& entry : versions) {
          if (entry.tag == meta.tag && entry.slot != kOriginSlot)
            scanned += slot_bytes(entry.slot);
        }
      });
      FF_ASSERT_MSG(scanned == info.diff_area_bytes, "per-snapshot diff bytes out of step");
#endif
    }
    return info;
  }

  const SnapshotMeta* find(const Uuid& id) const {
    for (const auto& [tag, meta] : snapshots) {
      if (meta.id == id)
        return &meta;
    }
    return nullptr;
  }

  Status not_found(const Uuid& id) const {
    return Status(ErrorCode::kNotFound,
                  "snapshot " + id.to_string() + " not found on '" + identity.name + "'");
  }

  Status check_writable() const {
    if (!broken.ok())
      return broken;
    if (read_only)
      return Status(ErrorCode::kReadOnly,
                    diff_area_name() + " is open read-only: nothing can be changed through it");
    return Status();
  }
};

// ---------------------------------------------------------------------------------------------
// Snapshot volumes

namespace {

class SnapshotVolume final : public Volume {
 public:
  SnapshotVolume(SnapshotProvider::Impl& impl, std::uint32_t tag, VolumeIdentity identity)
      : impl_(impl), tag_(tag), identity_(std::move(identity)) {}

  const VolumeIdentity& identity() const noexcept override { return identity_; }
  std::uint64_t size_bytes() const noexcept override { return impl_.origin.size_bytes(); }
  std::uint32_t sector_bytes() const noexcept override { return impl_.origin.sector_bytes(); }
  bool read_only() const noexcept override { return true; }

 protected:
  Status do_read(std::uint64_t offset, std::span<std::byte> out) override {
    std::shared_lock lock(impl_.mutex);
    auto it = impl_.snapshots.find(tag_);
    if (it == impl_.snapshots.end()) {
      return Status(ErrorCode::kNotFound,
                    describe("read", offset, out.size(), "the snapshot was deleted"));
    }
    if (it->second.invalidated) {
      return Status(ErrorCode::kInvalidated,
                    describe("read", offset, out.size(),
                             "the snapshot was invalidated (its diff area overflowed)"));
    }
    return impl_.read_view(tag_, offset, out);
  }
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override {
    return Status(ErrorCode::kReadOnly, describe("write", offset, data.size(), "snapshot"));
  }
  Status do_flush() override { return Status(); }
  Status do_discard(std::uint64_t offset, std::uint64_t length) override {
    return Status(ErrorCode::kReadOnly, describe("discard", offset, length, "snapshot"));
  }

 private:
  SnapshotProvider::Impl& impl_;
  std::uint32_t tag_;
  VolumeIdentity identity_;
};

Status check_write_back(std::uint64_t bytes, std::uint32_t chunk) {
  if (bytes > ProviderOptions::kWriteBackBytesMax) {
    return invalid_argument("write-back buffer of " + bytes_text(bytes) + " is larger than " +
                            bytes_text(ProviderOptions::kWriteBackBytesMax));
  }
  if (bytes != 0 && bytes < chunk) {
    return invalid_argument("write-back buffer of " + std::to_string(bytes) +
                            " bytes holds no chunk of " + std::to_string(chunk) +
                            " bytes (0 turns it off)");
  }
  return Status();
}

Status validate_volumes(Volume& origin, Volume& diff, bool read_only_allowed) {
  // Two Volume objects with one UUID (a wrapper and its base, say) are one volume.
  if (&origin == &diff || origin.uuid() == diff.uuid()) {
    return invalid_argument("the diff area must be on a volume other than its origin '" +
                            origin.name() + "' (" + origin.uuid().to_string() + ")");
  }
  if (diff.read_only() && !read_only_allowed) {
    return Status(ErrorCode::kReadOnly, "diff volume '" + diff.name() + "' is read-only");
  }
  return Status();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SnapshotProvider

SnapshotProvider::SnapshotProvider(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SnapshotProvider::~SnapshotProvider() {
  // Held CoW writes reach the origin, as a closed file's writes do (errors are not
  // reported here: call flush() to know).
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  if (!s.held.empty() && s.broken.ok())
    (void)s.write_back();
}

Result<std::unique_ptr<SnapshotProvider>> SnapshotProvider::create(ProviderKind kind,
                                                                   Volume& origin, Volume& diff,
                                                                   const ProviderOptions& options) {
  FF_TRY(validate_volumes(origin, diff, false));
  if (kind != ProviderKind::kCopyOnWrite && kind != ProviderKind::kRedirectOnWrite) {
    return invalid_argument("unknown provider kind " + std::to_string(static_cast<int>(kind)));
  }
  const std::uint32_t chunk = options.chunk_bytes;
  if (!is_power_of_two(chunk) || chunk < format::kChunkBytesMin || chunk > format::kChunkBytesMax) {
    return invalid_argument("chunk size " + std::to_string(chunk) +
                            " must be a power of two from 4 KiB to 1 MiB");
  }
  if (chunk < origin.sector_bytes() || chunk < diff.sector_bytes()) {
    return invalid_argument("chunk size " + std::to_string(chunk) +
                            " is smaller than a sector of the origin or diff volume");
  }
  if (div_ceil(origin.size_bytes(), chunk) >= ChunkIndex::kChunksMax) {
    return invalid_argument("origin '" + origin.name() + "' of " + bytes_text(origin.size_bytes()) +
                            " has more than 2^32 - 2 chunks of " + std::to_string(chunk) +
                            " bytes; choose a larger chunk size");
  }
  if (options.snapshots_max < 1 || options.snapshots_max > kSnapshotsPerVolumeMax) {
    return invalid_argument("maximum snapshot count " + std::to_string(options.snapshots_max) +
                            " must be from 1 to " + std::to_string(kSnapshotsPerVolumeMax));
  }
  if (static_cast<int>(options.limit.kind) > 2) {
    return invalid_argument("unknown diff area limit kind " +
                            std::to_string(static_cast<int>(options.limit.kind)));
  }
  if (options.limit.kind == DiffAreaLimit::Kind::kPercentOfOrigin &&
      (options.limit.value < 1 || options.limit.value > 100)) {
    return invalid_argument("diff area maximum " + options.limit.to_string() +
                            " must be from 1% to 100% of the origin");
  }
  if (static_cast<int>(options.overflow_policy) < 1 ||
      static_cast<int>(options.overflow_policy) > 3) {
    return invalid_argument("unknown overflow policy");
  }
  if (diff.size_bytes() < format::kSuperblockBytes) {
    return invalid_argument("diff volume '" + diff.name() + "' is too small");
  }

  // Refuse to format over an existing diff area.
  std::vector<std::byte> first(
      std::max<std::size_t>(format::kSuperblockBytes, diff.sector_bytes()));
  FF_TRY(diff.read(0, first));
  if (std::memcmp(first.data(), format::kSuperblockMagic.data(), format::kSuperblockMagic.size()) ==
      0) {
    return Status(ErrorCode::kAlreadyExists,
                  "diff volume '" + diff.name() +
                      "' already holds a freezeframe diff area; delete it before formatting");
  }

  // Layout: superblock, two journal areas sized for a checkpoint of a full diff area, data.
  const std::uint64_t block = format::kLogBlockBytes;
  std::uint64_t slots_estimate = diff.size_bytes() / chunk;
  std::uint64_t area_blocks = std::max<std::uint64_t>(
      128, 2 * checkpoint_blocks_max(slots_estimate) + 2 * kCommitBlocksMax);
  std::uint64_t log0 = block;
  std::uint64_t log1 = log0 + area_blocks * block;
  std::uint64_t data_offset = align_up(log1 + area_blocks * block, chunk);
  std::uint64_t data_slots =
      diff.size_bytes() > data_offset ? (diff.size_bytes() - data_offset) / chunk : 0;
  data_slots = std::min<std::uint64_t>(data_slots, format::kOriginSlot - 1);
  if (data_slots < kDataSlotsMin) {
    return invalid_argument("diff volume '" + diff.name() + "' of " +
                            bytes_text(diff.size_bytes()) + " is too small: it needs at least " +
                            bytes_text(data_offset + kDataSlotsMin * chunk) + " for " +
                            bytes_text(chunk) + " chunks");
  }

  auto impl = std::make_unique<Impl>(kind, origin, diff);
  format::Superblock& sb = impl->sb;
  sb.generation = 1;
  sb.provider_kind = static_cast<std::uint8_t>(kind);
  sb.overflow_policy = static_cast<std::uint8_t>(options.overflow_policy);
  sb.chunk_bytes = chunk;
  sb.sector_bytes = diff.sector_bytes();
  sb.snapshots_max = options.snapshots_max;
  sb.limit_kind = static_cast<std::uint8_t>(options.limit.kind);
  sb.limit_value = options.limit.value;
  sb.origin_bytes = origin.size_bytes();
  sb.origin_uuid = origin.uuid();
  sb.diff_area_uuid =
      options.random != nullptr ? Uuid::generate(*options.random) : Uuid::generate();
  sb.volume_bytes = diff.size_bytes();
  sb.log_area_bytes = area_blocks * block;
  sb.log_offset = {log0, log1};
  sb.data_offset = data_offset;
  sb.data_slots = data_slots;
  sb.active_log = 1;  // the first checkpoint switches to area 0
  sb.log_start_sequence = 0;
  sb.checkpoint_blocks = 0;

  Impl& state = *impl;
  state.identity = {options.name.empty() ? origin.name() : options.name, origin.uuid()};
  state.clock = options.clock;
  state.random = options.random;
  state.chunk_bytes = chunk;
  state.chunk_shift = static_cast<std::uint32_t>(std::countr_zero(chunk));
  state.area_blocks = area_blocks;
  state.limit = options.limit;
  state.policy = options.overflow_policy;
  state.next_sequence = 1;
  state.scratch.resize(chunk);
  FF_TRY(check_write_back(options.write_back_bytes, chunk));
  state.write_back_chunks = options.write_back_bytes / chunk;
  state.compress = options.compress;
  sb.flags = options.compress ? format::kFlagCompressed : 0;
  if (state.compress)
    FF_TRY(state.make_compressor());
  // The first checkpoint goes to area 0 and writes the superblock last.
  FF_TRY(state.write_checkpoint());
  state.stats = ProviderStats();
  return std::unique_ptr<SnapshotProvider>(new SnapshotProvider(std::move(impl)));
}

Result<std::unique_ptr<SnapshotProvider>> SnapshotProvider::open(
    Volume& origin, Volume& diff, const ProviderOpenOptions& options) {
  FF_TRY(validate_volumes(origin, diff, true));
  if (diff.size_bytes() < format::kSuperblockBytes) {
    return corrupt("diff volume '" + diff.name() + "' is too small to hold a diff area");
  }
  std::vector<std::byte> bytes(
      std::max<std::size_t>(format::kSuperblockBytes, diff.sector_bytes()));
  FF_TRY(diff.read(0, bytes));
  auto decoded = format::decode_superblock(bytes, diff.size_bytes());
  if (!decoded.ok()) {
    return decoded.status().with_context("diff volume '" + diff.name() + "'");
  }
  const format::Superblock& sb = decoded.value();
  if (sb.origin_bytes != origin.size_bytes() || sb.origin_uuid != origin.uuid()) {
    return invalid_argument("diff volume '" + diff.name() + "' belongs to origin " +
                            sb.origin_uuid.to_string() + " of " + std::to_string(sb.origin_bytes) +
                            " bytes, not to '" + origin.name() + "' (" + origin.uuid().to_string() +
                            ", " + std::to_string(origin.size_bytes()) + " bytes)");
  }
  if (sb.chunk_bytes < origin.sector_bytes() || sb.chunk_bytes < diff.sector_bytes()) {
    return corrupt("diff volume '" + diff.name() + "': chunk size " +
                   std::to_string(sb.chunk_bytes) + " is smaller than a volume sector");
  }
  if (div_ceil(sb.origin_bytes, sb.chunk_bytes) >= ChunkIndex::kChunksMax) {
    return corrupt("diff volume '" + diff.name() +
                   "': the origin has more than 2^32 - 2 chunks of " +
                   std::to_string(sb.chunk_bytes) + " bytes");
  }
  auto impl = std::make_unique<Impl>(static_cast<ProviderKind>(sb.provider_kind), origin, diff);
  Impl& state = *impl;
  state.sb = sb;
  state.identity = {options.name.empty() ? origin.name() : options.name, origin.uuid()};
  state.clock = options.clock;
  state.random = options.random;
  state.chunk_bytes = sb.chunk_bytes;
  state.chunk_shift = static_cast<std::uint32_t>(std::countr_zero(sb.chunk_bytes));
  state.area_blocks = sb.log_area_bytes / format::kLogBlockBytes;
  state.limit = DiffAreaLimit{static_cast<DiffAreaLimit::Kind>(sb.limit_kind), sb.limit_value};
  state.policy = static_cast<OverflowPolicy>(sb.overflow_policy);
  state.scratch.resize(sb.chunk_bytes);
  FF_TRY(check_write_back(options.write_back_bytes, sb.chunk_bytes));
  state.write_back_chunks = options.write_back_bytes / sb.chunk_bytes;
  state.compress = (sb.flags & format::kFlagCompressed) != 0;
  if (state.compress)
    FF_TRY(state.make_compressor());
  state.read_only = diff.read_only();
  FF_TRY(state.replay());
  if (state.kind == ProviderKind::kCopyOnWrite && state.revert_tag != 0) {
    if (state.read_only) {
      return Status(ErrorCode::kReadOnly,
                    state.diff_area_name() +
                        ": a revert was interrupted; open it writable once to finish it before "
                        "it can be read");
    }
    FF_TRY(state.finish_cow_revert());
  }
  return std::unique_ptr<SnapshotProvider>(new SnapshotProvider(std::move(impl)));
}

ProviderKind SnapshotProvider::kind() const noexcept {
  return impl_->kind;
}
const VolumeIdentity& SnapshotProvider::identity() const noexcept {
  return impl_->identity;
}
std::uint64_t SnapshotProvider::size_bytes() const noexcept {
  return impl_->origin.size_bytes();
}
std::uint32_t SnapshotProvider::sector_bytes() const noexcept {
  return impl_->origin.sector_bytes();
}
bool SnapshotProvider::read_only() const noexcept {
  return impl_->origin.read_only() || impl_->read_only;
}

Result<SnapshotInfo> SnapshotProvider::create_snapshot(const Uuid& set_id,
                                                       std::uint32_t attributes) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  FF_TRY(s.check_writable());
  // Invalidated snapshots count: they stay in the catalog (and in every checkpoint, which is
  // sized for kSnapshotsPerVolumeMax of them) until deleted.
  if (s.snapshots.size() >= s.sb.snapshots_max) {
    return Status(ErrorCode::kLimitExceeded,
                  "'" + s.identity.name + "' already has " + std::to_string(s.snapshots.size()) +
                      " snapshots (" + std::to_string(s.snapshots.size() - s.active.size()) +
                      " invalidated), the maximum of its diff area");
  }
  if (s.next_tag == std::numeric_limits<std::uint32_t>::max()) {
    return Status(ErrorCode::kLimitExceeded, s.diff_area_name() + ": snapshot tags exhausted");
  }
  // Everything written before this call is in the snapshot and durable with it; no chunk
  // stays held across a snapshot.
  if (!s.held.empty())
    FF_TRY(s.write_back());
  FF_TRY(s.origin.flush());
  Record record;
  record.type = RecordType::kSnapshotCreate;
  record.tag = s.next_tag;
  record.id = s.random != nullptr ? Uuid::generate(*s.random) : Uuid::generate();
  record.set_id = set_id;
  record.created_ns = wall_now_ns(s.clock);
  record.attributes = attributes;
  s.log(record);
  FF_TRY(s.commit());
  return s.info_of(s.snapshots.at(record.tag));
}

std::vector<SnapshotInfo> SnapshotProvider::snapshots() const {
  std::shared_lock lock(impl_->mutex);
  std::vector<SnapshotInfo> out;
  for (const auto& [tag, meta] : impl_->snapshots)
    out.push_back(impl_->info_of(meta));
  return out;
}

Result<SnapshotInfo> SnapshotProvider::snapshot_info(const Uuid& id) const {
  std::shared_lock lock(impl_->mutex);
  const SnapshotMeta* meta = impl_->find(id);
  if (meta == nullptr)
    return impl_->not_found(id);
  return impl_->info_of(*meta);
}

Result<std::unique_ptr<Volume>> SnapshotProvider::open_snapshot(const Uuid& id) {
  std::shared_lock lock(impl_->mutex);
  const SnapshotMeta* meta = impl_->find(id);
  if (meta == nullptr)
    return impl_->not_found(id);
  if (meta->invalidated) {
    return Status(ErrorCode::kInvalidated, "snapshot " + id.to_string() + " of '" +
                                               impl_->identity.name + "' was invalidated");
  }
  VolumeIdentity identity{impl_->identity.name + "@" + std::to_string(meta->tag), id};
  return std::unique_ptr<Volume>(new SnapshotVolume(*impl_, meta->tag, std::move(identity)));
}

Status SnapshotProvider::delete_snapshot(const Uuid& id) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  FF_TRY(s.check_writable());
  const SnapshotMeta* meta = s.find(id);
  if (meta == nullptr)
    return s.not_found(id);
  Record record;
  record.type = RecordType::kSnapshotDelete;
  record.tag = meta->tag;
  s.log(record);
  return s.commit();
}

Status SnapshotProvider::revert_to_snapshot(const Uuid& id) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  FF_TRY(s.check_writable());
  const SnapshotMeta* meta = s.find(id);
  if (meta == nullptr)
    return s.not_found(id);
  if (meta->invalidated) {
    return Status(ErrorCode::kInvalidated,
                  "cannot revert to snapshot " + id.to_string() + ": it was invalidated");
  }
  if (s.origin.read_only()) {
    return Status(ErrorCode::kReadOnly, "cannot revert read-only volume '" + s.origin.name() + "'");
  }
  // Live writes made so far are discarded by the revert; the records before it go first.
  if (!s.held.empty())
    FF_TRY(s.write_back());
  FF_TRY(s.origin.flush());
  Record record;
  record.type = RecordType::kRevert;
  record.tag = meta->tag;
  s.log(record);
  FF_TRY(s.commit());
  if (s.kind == ProviderKind::kCopyOnWrite) {
    // A half-done copy leaves the live volume between two states: refuse further changes
    // until a reopen resumes the revert from the journal.
    if (Status status = s.finish_cow_revert(); !status.ok())
      return s.fail(std::move(status));
  }
  return Status();
}

Status SnapshotProvider::consolidate() {
  Impl& s = *impl_;
  if (s.kind == ProviderKind::kCopyOnWrite) {
    return Status(ErrorCode::kUnsupported, "consolidate applies to redirect-on-write providers; '" +
                                               s.identity.name + "' is copy-on-write");
  }
  std::vector<std::uint64_t> candidates;
  {
    std::shared_lock lock(s.mutex);
    candidates = s.consolidation_candidates();
  }
  // One batch per lock hold, so live I/O goes on between batches.
  while (!candidates.empty()) {
    std::unique_lock lock(s.mutex);
    FF_TRY(s.check_writable());
    FF_TRY(s.consolidate_batch(candidates,
                               std::max<std::size_t>(kConsolidateBatchChunksMin,
                                                     kConsolidateBatchBytes / s.chunk_bytes))
               .status());
  }
  return Status();
}

Status SnapshotProvider::set_limit(const DiffAreaLimit& limit) {
  Impl& s = *impl_;
  if (limit.kind == DiffAreaLimit::Kind::kPercentOfOrigin &&
      (limit.value < 1 || limit.value > 100)) {
    return invalid_argument("diff area maximum " + limit.to_string() +
                            " must be from 1% to 100% of the origin");
  }
  if (static_cast<int>(limit.kind) > 2)
    return invalid_argument("unknown diff area limit kind");
  std::unique_lock lock(s.mutex);
  FF_TRY(s.check_writable());
  std::uint64_t new_max =
      std::min<std::uint64_t>(limit.resolve(s.origin_bytes()) / s.chunk_bytes * s.chunk_bytes,
                              s.sb.data_slots * s.chunk_bytes);
  if (s.used_bytes > new_max && s.policy == OverflowPolicy::kFailWrites) {
    return Status(ErrorCode::kNoSpace, s.diff_area_name() + ": cannot shrink the maximum to " +
                                           limit.to_string() + " (" + bytes_text(new_max) +
                                           "): " + bytes_text(s.used_bytes) +
                                           " are in use and the overflow policy is fail-writes");
  }
  Record record;
  record.type = RecordType::kLimit;
  record.limit_kind = static_cast<std::uint8_t>(limit.kind);
  record.limit_value = limit.value;
  record.policy = static_cast<std::uint8_t>(s.policy);
  s.log(record);
  while (s.used_bytes > s.max_bytes() && !s.active.empty()) {
    bool acted = false;
    Status status = s.ensure_space(0, acted);
    if (!status.ok() && status.code() != ErrorCode::kNoSpace)
      return status;
  }
  FF_TRY(s.commit());
  // RoW: with no snapshot left, the live volume's own chunks fold back into the origin.
  if (s.used_bytes > s.max_bytes() && s.kind == ProviderKind::kRedirectOnWrite) {
    auto candidates = s.consolidation_candidates();
    while (!candidates.empty()) {
      FF_TRY(s.consolidate_batch(candidates, candidates.size()).status());
    }
  }
  return Status();
}

Status SnapshotProvider::set_overflow_policy(OverflowPolicy policy) {
  Impl& s = *impl_;
  if (static_cast<int>(policy) < 1 || static_cast<int>(policy) > 3) {
    return invalid_argument("unknown overflow policy");
  }
  std::unique_lock lock(s.mutex);
  FF_TRY(s.check_writable());
  Record record;
  record.type = RecordType::kLimit;
  record.limit_kind = static_cast<std::uint8_t>(s.limit.kind);
  record.limit_value = s.limit.value;
  record.policy = static_cast<std::uint8_t>(policy);
  s.log(record);
  return s.commit();
}

DiffAreaUsage SnapshotProvider::usage() const {
  std::shared_lock lock(impl_->mutex);
  const Impl& s = *impl_;
  DiffAreaUsage usage;
  usage.used_bytes = s.used_bytes;
  usage.allocated_bytes = s.slot_hwm * s.chunk_bytes;
  usage.max_bytes = s.max_bytes();
  usage.limit = s.limit;
  usage.metadata_bytes = s.sb.data_offset;
  usage.chunk_bytes = s.chunk_bytes;
  return usage;
}

std::vector<ProviderEvent> SnapshotProvider::events() const {
  std::shared_lock lock(impl_->mutex);
  return {impl_->events.begin(), impl_->events.end()};
}

ProviderStats SnapshotProvider::stats() const {
  std::shared_lock lock(impl_->mutex);
  return impl_->stats;
}

std::uint64_t SnapshotProvider::index_memory_bytes() const {
  std::shared_lock lock(impl_->mutex);
  return impl_->index.memory_bytes() + impl_->frame_lengths.capacity() * sizeof(std::uint32_t);
}

Status SnapshotProvider::do_read(std::uint64_t offset, std::span<std::byte> out) {
  std::shared_lock lock(impl_->mutex);
  return impl_->read_view(0, offset, out);
}

Status SnapshotProvider::do_write(std::uint64_t offset, std::span<const std::byte> data) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  FF_TRY(s.check_writable());
  if (s.kind == ProviderKind::kCopyOnWrite) {
    FF_TRY(s.cow_preserve(offset, data.size()));
    return s.cow_apply(offset, data.size(), data);
  }
  return s.row_write(offset, data.size(), data);
}

Status SnapshotProvider::do_flush() {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  if (s.read_only)
    return Status();  // nothing was or can be written
  FF_TRY(s.check_writable());
  FF_TRY(s.write_back());
  return s.origin.flush();
}

Status SnapshotProvider::do_discard(std::uint64_t offset, std::uint64_t length) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  FF_TRY(s.check_writable());
  if (s.kind == ProviderKind::kCopyOnWrite) {
    FF_TRY(s.cow_preserve(offset, length));
    return s.cow_apply(offset, length, {});
  }
  return s.row_write(offset, length, {});
}

}  // namespace freezeframe

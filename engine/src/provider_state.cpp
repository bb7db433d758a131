#include "provider_state.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <string>

#include "freezeframe/assert.h"

namespace freezeframe::detail {

namespace {

using format::kOriginSlot;
using format::Record;
using format::RecordType;
using VersionList = ChunkIndex::VersionList;
using Versions = std::span<const IndexEntry>;

VersionList copy_versions(Versions versions) {
  VersionList list;
  for (const IndexEntry& entry : versions)
    list.push_back(ChunkVersion{entry.tag, entry.slot});
  return list;
}

}  // namespace

ProviderState::ProviderState(ProviderKind kind, DiffArea& diff_area, MetadataJournal& journal,
                             OverflowPolicy policy)
    : kind_(kind),
      diff_area_(diff_area),
      journal_(journal),
      tracker_(diff_area.geometry().chunks(), journal.superblock().diff_area_uuid),
      policy_(policy) {}

const SnapshotMeta* ProviderState::find(const Uuid& id) const {
  for (const auto& [tag, meta] : snapshots_) {
    if (meta.id == id)
      return &meta;
  }
  return nullptr;
}

const SnapshotMeta* ProviderState::find(std::uint32_t tag) const {
  auto it = snapshots_.find(tag);
  return it == snapshots_.end() ? nullptr : &it->second;
}

std::uint64_t ProviderState::snapshot_bytes(std::uint32_t tag) const {
  const std::uint64_t bytes = diff_area_.tag_bytes(tag);
#ifndef NDEBUG
  std::uint64_t scanned = 0;
  index_.for_each([&](std::uint64_t, Versions versions) {
    for (const IndexEntry& entry : versions) {
      if (entry.tag == tag && entry.slot != kOriginSlot)
        scanned += diff_area_.slot_bytes(entry.slot);
    }
  });
  FF_ASSERT_MSG(scanned == bytes, "per-snapshot diff bytes out of step");
#endif
  return bytes;
}

std::uint64_t ProviderState::memory_bytes() const {
  return index_.memory_bytes() + diff_area_.frame_memory_bytes();
}

bool ProviderState::mark_changed(std::uint64_t first, std::uint64_t last) {
  if (!tracker_.started())
    return false;
  const std::vector<Extent> runs = tracker_.unmarked_runs(first, last);
  for (const Extent& run : runs) {
    Record mark;
    mark.type = RecordType::kCbtMark;
    mark.chunk = run.offset;
    mark.chunk_count = run.length;
    log(mark);
  }
  return !runs.empty();
}

bool ProviderState::mark_chunks(std::span<const std::uint64_t> chunks) {
  bool logged = false;
  for (std::size_t i = 0; i < chunks.size();) {
    std::size_t j = i + 1;
    while (j < chunks.size() && chunks[j] == chunks[j - 1] + 1)
      ++j;
    logged = mark_changed(chunks[i], chunks[j - 1]) || logged;
    i = j;
  }
  return logged;
}

std::uint64_t ProviderState::begin_generation(std::uint32_t tag, std::uint64_t new_epoch,
                                              std::uint32_t retained_max) {
  Record generation;
  generation.type = RecordType::kCbtGeneration;
  const bool restart = new_epoch != 0 || !tracker_.started();
  generation.cbt_epoch = restart ? new_epoch : tracker_.epoch();
  generation.cbt_generation = restart ? 1 : tracker_.current() + 1;
  generation.cbt_retained = retained_max;
  log(generation);
  if (tag != 0) {
    Record snapshot;
    snapshot.type = RecordType::kCbtSnapshot;
    snapshot.tag = tag;
    snapshot.cbt_epoch = generation.cbt_epoch;
    snapshot.cbt_generation = generation.cbt_generation;
    log(snapshot);
  }
  return generation.cbt_generation;
}

void ProviderState::log(const Record& record) {
  apply(record);
  journal_.append(record);
}

void ProviderState::map_written_slot(std::uint64_t chunk, std::uint32_t tag, std::uint32_t slot,
                                     std::uint64_t stored) {
  journal_.note_data_written();
  Record record;
  record.type = RecordType::kMapAdd;
  record.chunk = chunk;
  record.tag = tag;
  record.slot = slot;
  record.stored_bytes = static_cast<std::uint32_t>(stored);
  log(record);
}

Status ProviderState::recover() {
  // Nothing was reused after the records being replayed, so the slots they free are free
  // at once; the accounting is recounted from the index at the end.
  diff_area_.begin_recovery();
  FF_TRY(journal_.replay(*this));
  return diff_area_.finish_recovery(index_);
}

bool ProviderState::collect_chunk(VersionList& versions) {
  VersionList kept;
  if (kind_ == ProviderKind::kCopyOnWrite) {
    // A version tagged t is read by the snapshots s in (previous tag, t].
    std::uint32_t previous = 0;
    for (const ChunkVersion& entry : versions) {
      auto it = active_.upper_bound(entry.tag);
      if (it != active_.begin() && *std::prev(it) > previous) {
        std::uint32_t owner = *std::prev(it);
        kept.push_back(ChunkVersion{owner, entry.slot});
        previous = owner;
        if (owner != entry.tag && entry.slot != kOriginSlot)
          diff_area_.move_tag_bytes(entry.tag, owner, diff_area_.slot_bytes(entry.slot));
      } else {
        diff_area_.free_slot(entry.tag, entry.slot);
      }
    }
  } else {
    // A version tagged t is read by snapshots s in [t, next version's tag), and the last
    // one by the live volume.
    for (std::size_t i = 0; i < versions.size(); ++i) {
      bool last = i + 1 == versions.size();
      auto it = active_.lower_bound(versions[i].tag);
      bool visible = last || (it != active_.end() && *it < versions[i + 1].tag);
      if (visible) {
        kept.push_back(versions[i]);
      } else {
        diff_area_.free_slot(versions[i].tag, versions[i].slot);
      }
    }
    // A first version that lives in the origin reads the same as no version at all.
    if (!kept.empty() && kept.front().slot == kOriginSlot)
      kept.erase(kept.begin());
  }
  versions = std::move(kept);
  return versions.empty();
}

void ProviderState::collect_all() {
  index_.update_all([&](std::uint64_t, VersionList& versions) { collect_chunk(versions); });
}

void ProviderState::apply(const Record& record) {
  switch (record.type) {
    case RecordType::kSnapshotCreate: {
      SnapshotMeta meta;
      meta.tag = record.tag;
      meta.id = record.id;
      meta.set_id = record.set_id;
      meta.created_ns = record.created_ns;
      meta.attributes = record.attributes;
      snapshots_[record.tag] = meta;
      active_.insert(record.tag);
      next_tag_ = std::max(next_tag_, record.tag + 1);
      break;
    }
    case RecordType::kSnapshotDelete:
      snapshots_.erase(record.tag);
      active_.erase(record.tag);
      collect_all();
      break;
    case RecordType::kSnapshotInvalidate:
      if (auto it = snapshots_.find(record.tag); it != snapshots_.end()) {
        it->second.invalidated = true;
      }
      active_.erase(record.tag);
      collect_all();
      break;
    case RecordType::kMapAdd: {
      VersionList versions = copy_versions(index_.find(record.chunk));
      auto it =
          std::lower_bound(versions.begin(), versions.end(), record.tag,
                           [](const ChunkVersion& e, std::uint32_t tag) { return e.tag < tag; });
      if (it != versions.end() && it->tag == record.tag) {
        diff_area_.free_slot(it->tag, it->slot);
        it->slot = record.slot;
      } else {
        versions.insert(it, ChunkVersion{record.tag, record.slot});
      }
      index_.assign(record.chunk, {versions.data(), versions.size()});
      if (record.slot != kOriginSlot && record.stored_bytes > 0 &&
          record.stored_bytes < diff_area_.geometry().chunk_length(record.chunk)) {
        diff_area_.set_frame_length(record.slot, record.stored_bytes);
      }
      diff_area_.use_slot(record.tag, record.slot);
      break;
    }
    case RecordType::kMapRemove:
    case RecordType::kMapToOrigin: {
      Versions found = index_.find(record.chunk);
      if (found.empty())
        break;
      VersionList versions = copy_versions(found);
      for (auto it = versions.begin(); it != versions.end(); ++it) {
        if (it->tag != record.tag)
          continue;
        diff_area_.free_slot(it->tag, it->slot);
        if (record.type == RecordType::kMapRemove) {
          versions.erase(it);
        } else {
          it->slot = kOriginSlot;
        }
        break;
      }
      collect_chunk(versions);
      index_.assign(record.chunk, {versions.data(), versions.size()});
      break;
    }
    case RecordType::kRevert: {
      for (auto it = snapshots_.upper_bound(record.tag); it != snapshots_.end();) {
        active_.erase(it->first);
        it = snapshots_.erase(it);
      }
      if (kind_ == ProviderKind::kRedirectOnWrite) {
        // The live volume's newer versions are dropped: it reads as the snapshot again.
        index_.update_all([&](std::uint64_t, VersionList& versions) {
          while (!versions.empty() && versions.back().tag > record.tag) {
            diff_area_.free_slot(versions.back().tag, versions.back().slot);
            versions.pop_back();
          }
        });
      } else {
        revert_tag_ = record.tag;
      }
      collect_all();
      break;
    }
    case RecordType::kRevertDone:
      revert_tag_ = 0;
      break;
    case RecordType::kLimit:
      diff_area_.set_limit(
          DiffAreaLimit{static_cast<DiffAreaLimit::Kind>(record.limit_kind), record.limit_value});
      policy_ = static_cast<OverflowPolicy>(record.policy);
      break;
    case RecordType::kState:
      next_tag_ = std::max(next_tag_, record.next_tag);
      revert_tag_ = record.revert_tag;
      break;
    case RecordType::kCbtGeneration:
      tracker_.begin_generation(record.cbt_epoch, record.cbt_generation, record.cbt_retained);
      break;
    case RecordType::kCbtMark:
      tracker_.mark(record.chunk, record.chunk_count);
      break;
    case RecordType::kCbtSnapshot:
      if (auto it = snapshots_.find(record.tag); it != snapshots_.end()) {
        it->second.cbt_epoch = record.cbt_epoch;
        it->second.cbt_generation = record.cbt_generation;
      }
      break;
  }
}

std::vector<Record> ProviderState::checkpoint_records() const {
  std::vector<Record> records;
  Record state;
  state.type = RecordType::kState;
  state.next_tag = next_tag_;
  state.revert_tag = revert_tag_;
  records.push_back(state);
  records.push_back(format::limit_record(diff_area_.limit(), policy_));
  for (const auto& [tag, meta] : snapshots_) {
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
  index_.for_each([&](std::uint64_t chunk, Versions versions) {
    for (const IndexEntry& entry : versions) {
      Record add;
      add.type = RecordType::kMapAdd;
      add.chunk = chunk;
      add.tag = entry.tag;
      add.slot = entry.slot;
      if (entry.slot != kOriginSlot) {
        std::uint32_t length = diff_area_.frame_length(entry.slot);
        add.stored_bytes =
            length != 0 ? length
                        : static_cast<std::uint32_t>(diff_area_.geometry().chunk_length(chunk));
      }
      records.push_back(add);
    }
  });
  append_tracking_records(records);
  return records;
}

// Change tracking in a checkpoint: which generation each snapshot began, then each kept
// generation and its marks. The marks get the room the journal area has left, less the
// commits that follow a checkpoint; past it, nearby runs merge (ChangeTracker::checkpoint_runs).
void ProviderState::append_tracking_records(std::vector<Record>& records) const {
  if (!tracker_.started())
    return;
  for (const auto& [tag, meta] : snapshots_) {
    if (meta.cbt_generation == 0)
      continue;
    Record snapshot;
    snapshot.type = RecordType::kCbtSnapshot;
    snapshot.tag = tag;
    snapshot.cbt_epoch = meta.cbt_epoch;
    snapshot.cbt_generation = meta.cbt_generation;
    records.push_back(snapshot);
  }
  std::uint64_t used = 0;
  for (const Record& record : records)
    used += format::encoded_record_bytes(record.type);
  const std::uint64_t area_blocks = journal_.superblock().log_area_bytes / format::kLogBlockBytes;
  const std::uint64_t usable_per_block =
      format::kLogBlockPayloadBytesMax - format::encoded_record_bytes(RecordType::kSnapshotCreate);
  const std::uint64_t room = area_blocks > kTrackingSpareBlocks
                                 ? (area_blocks - kTrackingSpareBlocks) * usable_per_block
                                 : 0;
  const std::uint64_t generation_bytes =
      (tracker_.retained_max() + 1) * format::encoded_record_bytes(RecordType::kCbtGeneration);
  const std::uint64_t left = room > used + generation_bytes ? room - used - generation_bytes : 0;
  const std::uint64_t runs_max = left / format::encoded_record_bytes(RecordType::kCbtMark);
  for (const ChangeTracker::GenerationRuns& generation : tracker_.checkpoint_runs(runs_max)) {
    Record begin;
    begin.type = RecordType::kCbtGeneration;
    begin.cbt_epoch = tracker_.epoch();
    begin.cbt_generation = generation.number;
    begin.cbt_retained = tracker_.retained_max();
    records.push_back(begin);
    for (const Extent& run : generation.runs) {
      Record mark;
      mark.type = RecordType::kCbtMark;
      mark.chunk = run.offset;
      mark.chunk_count = run.length;
      records.push_back(mark);
    }
  }
}

// Validates a record's fields against the geometry before applying it: a record that would
// index outside the origin, the data area or the tag space is corruption, not a change.
Status ProviderState::replay_record(const Record& record) {
  auto bad = [&](const std::string& what) {
    return corrupt(diff_area_.name() + ": journal record type " +
                   std::to_string(static_cast<int>(record.type)) + ": " + what);
  };
  switch (record.type) {
    case RecordType::kMapAdd:
    case RecordType::kMapRemove:
    case RecordType::kMapToOrigin:
      if (record.chunk >= diff_area_.geometry().chunks()) {
        return bad("chunk " + std::to_string(record.chunk) + " is beyond the origin");
      }
      if (record.tag == 0 || record.tag == std::numeric_limits<std::uint32_t>::max()) {
        return bad("snapshot tag " + std::to_string(record.tag));
      }
      if (record.type == RecordType::kMapAdd && record.slot != kOriginSlot &&
          record.slot >= diff_area_.geometry().data_slots) {
        return bad("slot " + std::to_string(record.slot) + " is beyond the data area");
      }
      break;
    case RecordType::kLimit:
      if (record.limit_kind > 2 || record.policy < 1 || record.policy > 3) {
        return bad("unknown limit kind or overflow policy");
      }
      break;
    case RecordType::kSnapshotCreate:
    case RecordType::kCbtSnapshot:
      if (record.tag == 0 || record.tag == std::numeric_limits<std::uint32_t>::max()) {
        return bad("snapshot tag " + std::to_string(record.tag));
      }
      if (record.type == RecordType::kCbtSnapshot && record.cbt_generation == 0)
        return bad("generation 0");
      break;
    case RecordType::kCbtGeneration:
      FF_TRY(tracker_.check_generation(record.cbt_epoch, record.cbt_generation, record.cbt_retained)
                 .with_context(diff_area_.name()));
      break;
    case RecordType::kCbtMark:
      FF_TRY(tracker_.check_mark(record.chunk, record.chunk_count).with_context(diff_area_.name()));
      break;
    default:
      break;
  }
  apply(record);
  return Status();
}

std::uint32_t ProviderState::locate(std::uint64_t chunk, std::uint32_t tag) const {
  Versions versions = index_.find(chunk);
  if (versions.empty())
    return kOriginSlot;
  if (kind_ == ProviderKind::kCopyOnWrite) {
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

}  // namespace freezeframe::detail

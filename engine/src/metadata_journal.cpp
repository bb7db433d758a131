#include "metadata_journal.h"

#include <algorithm>

#include "byte_math.h"
#include "freezeframe/assert.h"
#include "freezeframe/diff_area_settings.h"
#include "plant_hook.h"

namespace freezeframe::detail {

namespace {

using format::Record;
using format::RecordType;

// A commit writes at most this many journal blocks in one group.
constexpr std::size_t kCommitBlocksMax = 32;
// Journal blocks written per call when writing a checkpoint.
constexpr std::size_t kCheckpointWriteBlocks = 64;

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

// Upper bound of the journal blocks a checkpoint of a diff area with `slots` data slots takes.
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

}  // namespace

std::uint64_t MetadataJournal::area_blocks_for(std::uint64_t data_slots) {
  return std::max<std::uint64_t>(128, 2 * checkpoint_blocks_max(data_slots) + 2 * kCommitBlocksMax);
}

MetadataJournal::MetadataJournal(Volume& diff, const format::Superblock& superblock,
                                 std::string name)
    : diff_(diff),
      superblock_(superblock),
      name_(std::move(name)),
      area_blocks_(superblock.log_area_bytes / format::kLogBlockBytes) {}

std::uint64_t MetadataJournal::block_offset(std::uint8_t area, std::uint64_t block) const {
  return superblock_.log_offset[area] + block * format::kLogBlockBytes;
}

Status MetadataJournal::write_superblock(const format::Superblock& superblock) {
  // The superblock fills the first sector (a 4096-byte sector diff volume writes it whole).
  std::vector<std::byte> bytes(
      std::max<std::size_t>(format::kSuperblockBytes, diff_.sector_bytes()));
  format::encode_superblock(superblock, std::span<std::byte, format::kSuperblockBytes>(
                                            bytes.data(), format::kSuperblockBytes));
  if (Status status = diff_.write(0, bytes); !status.ok())
    return fail(status);
  if (Status status = diff_.flush(); !status.ok())
    return fail(status);
  superblock_ = superblock;
  return Status();
}

Status MetadataJournal::fail(const Status& status) {
  broken_ = status.with_context(name_ + ": metadata commit failed; the provider " +
                                "refuses further changes until it is reopened");
  return broken_;
}

Status MetadataJournal::write_blocks(std::uint8_t area, std::uint64_t first_block,
                                     std::uint64_t first_sequence,
                                     const std::vector<std::vector<std::byte>>& payloads,
                                     std::size_t begin, std::size_t end,
                                     std::uint64_t group_first_sequence,
                                     std::uint32_t group_block_count) {
  std::vector<std::byte> buffer((end - begin) * format::kLogBlockBytes);
  for (std::size_t i = begin; i < end; ++i) {
    format::LogBlockHeader header;
    header.sequence = first_sequence + (i - begin);
    header.group_first_sequence = group_first_sequence;
    header.group_block_count = group_block_count;
    header.payload_bytes = static_cast<std::uint32_t>(payloads[i].size());
    header.diff_area_uuid = superblock_.diff_area_uuid;
    format::encode_log_block(
        header, payloads[i],
        std::span<std::byte, format::kLogBlockBytes>(
            buffer.data() + (i - begin) * format::kLogBlockBytes, format::kLogBlockBytes));
  }
  stats_.blocks_written += end - begin;
  return diff_.write(block_offset(area, first_block), buffer);
}

// Writes the whole state into the inactive journal area and switches the superblock to it.
// The state includes every pending record, which is then written.
Status MetadataJournal::write_checkpoint(JournalClient& client) {
  const std::vector<Record> records = client.checkpoint_records();
  const auto limit = std::find_if(records.begin(), records.end(), [](const Record& record) {
    return record.type == RecordType::kLimit;
  });
  FF_ASSERT_MSG(limit != records.end(), "a checkpoint carries the limit and overflow policy");
  auto payloads = pack_records(records);
  std::uint8_t area = superblock_.active_log ^ 1;
  if (payloads.size() + kCommitBlocksMax > area_blocks_) {
    return fail(Status(ErrorCode::kNoSpace, name_ + ": checkpoint of " +
                                                std::to_string(payloads.size()) +
                                                " blocks does not fit a journal area of " +
                                                std::to_string(area_blocks_) + " blocks"));
  }
  std::uint64_t first_sequence = next_sequence_;
  for (std::size_t group = 0; group < payloads.size(); group += format::kGroupBlocksMax) {
    std::size_t group_end = std::min(payloads.size(), group + format::kGroupBlocksMax);
    for (std::size_t begin = group; begin < group_end; begin += kCheckpointWriteBlocks) {
      std::size_t end = std::min(group_end, begin + kCheckpointWriteBlocks);
      Status status =
          write_blocks(area, begin, first_sequence + begin, payloads, begin, end,
                       first_sequence + group, static_cast<std::uint32_t>(group_end - group));
      if (!status.ok())
        return fail(status);
    }
  }
  if (Status status = diff_.flush(); !status.ok())
    return fail(status);
  format::Superblock next = superblock_;
  next.generation += 1;
  next.active_log = area;
  next.log_start_sequence = first_sequence;
  next.checkpoint_blocks = static_cast<std::uint32_t>(payloads.size());
  next.limit_kind = limit->limit_kind;
  next.limit_value = limit->limit_value;
  next.overflow_policy = limit->policy;
  FF_TRY(write_superblock(next));
  log_position_ = payloads.size();
  next_sequence_ = first_sequence + payloads.size();
  pending_.clear();  // the checkpoint holds every queued record
  ++stats_.checkpoints;
  ++stats_.commits;
  return Status();
}

// Makes every pending record durable: data slots first (one barrier), then the records as
// commit groups (one barrier). Slots freed by the records become reusable afterwards.
Status MetadataJournal::commit(JournalClient& client) {
  if (!broken_.ok())
    return broken_;
  if (pending_.empty() && !data_dirty_)
    return Status();
  if (data_dirty_) {
    if (Status status = diff_.flush(); !status.ok())
      return fail(status);
    data_dirty_ = false;
  }
  if (!pending_.empty()) {
    auto payloads = pack_records(pending_);
    bool written = false;
    for (std::size_t begin = 0; begin < payloads.size() && !written; begin += kCommitBlocksMax) {
      std::size_t end = std::min(payloads.size(), begin + kCommitBlocksMax);
      if (log_position_ + (end - begin) > area_blocks_) {
        FF_TRY(write_checkpoint(client));
        written = true;  // the checkpoint holds every pending record
        break;
      }
      Status status =
          write_blocks(superblock_.active_log, log_position_, next_sequence_, payloads, begin, end,
                       next_sequence_, static_cast<std::uint32_t>(end - begin));
      if (status.ok())
        status = diff_.flush();
      if (!status.ok())
        return fail(status);
      log_position_ += end - begin;
      next_sequence_ += end - begin;
      ++stats_.commits;
    }
    pending_.clear();
  }
  client.records_durable();
  return Status();
}

Status MetadataJournal::read_block(std::uint8_t area, std::uint64_t block,
                                   std::vector<std::byte>& buffer) {
  buffer.resize(format::kLogBlockBytes);
  return diff_.read(block_offset(area, block), buffer);
}

Result<format::DecodedLogBlock> MetadataJournal::decode(std::span<const std::byte> block) const {
  if (superblock_.format_version >= 2)
    return format::decode_log_block(block);
  FF_ASSIGN_OR_RETURN(format::DecodedLogBlockV1 v1, format::decode_log_block_v1(block));
  format::DecodedLogBlock decoded;
  decoded.header = v1.header;
  decoded.payload.assign(v1.payload.begin(), v1.payload.end());
  return decoded;
}

std::string MetadataJournal::where(std::uint64_t block) const {
  return name_ + ": journal area " + std::to_string(superblock_.active_log) + " block " +
         std::to_string(block);
}

// Reads the commit group at `position` whose first sequence must be `expected`.
Result<MetadataJournal::Group> MetadataJournal::read_group(std::uint64_t position,
                                                           std::uint64_t expected,
                                                           bool in_checkpoint) {
  const std::uint8_t area = superblock_.active_log;
  Group group;
  std::vector<std::byte> block;
  FF_TRY(read_block(area, position, block));
  auto first = decode(block);
  if (!first.ok()) {
    if (in_checkpoint)
      return first.status().with_context(where(position) + " (in the checkpoint)");
    return group;  // incomplete; the caller tells a torn tail from damage
  }
  const auto& header = first.value().header;
  if (header.diff_area_uuid != superblock_.diff_area_uuid || header.sequence < expected) {
    if (in_checkpoint)
      return corrupt(where(position) + ": stale block in the checkpoint");
    return group;  // left over from an earlier use of this area
  }
  if (header.sequence > expected) {
    return corrupt(where(position) + ": sequence " + std::to_string(header.sequence) + " where " +
                   std::to_string(expected) + " was expected");
  }
  if (header.group_first_sequence != header.sequence ||
      position + header.group_block_count > area_blocks_) {
    if (in_checkpoint)
      return corrupt(where(position) + ": not the start of a group that fits the area");
    return group;
  }
  group.blocks = header.group_block_count;
  for (std::uint64_t i = 0; i < group.blocks; ++i) {
    if (i > 0)
      FF_TRY(read_block(area, position + i, block));
    auto decoded = i == 0 ? first : decode(block);
    bool fits = decoded.ok() && decoded.value().header.sequence == expected + i &&
                decoded.value().header.group_first_sequence == expected &&
                decoded.value().header.group_block_count == group.blocks &&
                decoded.value().header.diff_area_uuid == superblock_.diff_area_uuid;
    if (!fits) {
      if (in_checkpoint)
        return corrupt(where(position + i) + ": damaged block in the checkpoint");
      group.blocks = 0;
      group.records.clear();
      return group;
    }
    auto records = format::decode_records(decoded.value().payload);
    if (!records.ok())
      return records.status().with_context(where(position + i));
    group.records.insert(group.records.end(), records.value().begin(), records.value().end());
  }
  group.complete = true;
  return group;
}

// The log ends at `position` with an incomplete group. A torn write leaves every sector whole,
// old (blank, or intact with an older sequence) or new (intact with the group's sequence); a
// sector that fails its checksum, or carries a sequence no torn write can leave there, is
// damage to a commit that may have been durable. Returns the damage, or OK for a torn tail.
Status MetadataJournal::judge_log_end(std::uint64_t position, std::uint64_t expected) {
  if (superblock_.format_version < 2)
    return Status();  // version 1 blocks have one checksum: nothing to tell apart
  const std::uint8_t area = superblock_.active_log;
  std::vector<std::byte> block;
  for (std::uint64_t i = 0; i < kCommitBlocksMax && position + i < area_blocks_; ++i) {
    FF_TRY(read_block(area, position + i, block));
    const auto sectors = format::inspect_log_sectors(block);
    bool any_new = false;
    for (std::size_t k = 0; k < sectors.size(); ++k) {
      const format::LogSectorState& sector = sectors[k];
      const bool intact = sector.kind == format::LogSector::kIntact;
      if (sector.kind == format::LogSector::kDamaged ||
          (intact && sector.sequence > expected + i)) {
        return corrupt(where(position + i) + " (sequence " + std::to_string(expected + i) +
                       "): sector " + std::to_string(k) +
                       (intact ? " carries sequence " + std::to_string(sector.sequence)
                               : std::string(" fails its checksum")) +
                       ": a commit is damaged, not torn");
      }
      any_new = any_new || (intact && sector.sequence == expected + i);
    }
    if (!any_new)
      break;  // nothing of the interrupted group reached this block
  }
  return Status();
}

// Replays the active journal area: the checkpoint must be intact; then whole commit groups
// until the first one that is incomplete (a commit a crash interrupted, or damage).
Status MetadataJournal::replay(JournalClient& client) {
  std::uint64_t expected = superblock_.log_start_sequence;
  std::uint64_t position = 0;
  damage_ = Status();

  while (position < superblock_.checkpoint_blocks) {
    FF_ASSIGN_OR_RETURN(Group group, read_group(position, expected, true));
    FF_ASSERT(group.complete);
    if (position + group.blocks > superblock_.checkpoint_blocks) {
      return corrupt(where(position) + ": checkpoint group runs past the checkpoint");
    }
    for (const Record& record : group.records)
      FF_TRY(client.replay_record(record));
    position += group.blocks;
    expected += group.blocks;
  }
  while (position < area_blocks_) {
    FF_ASSIGN_OR_RETURN(Group group, read_group(position, expected, false));
    if (!group.complete)
      break;
    for (std::size_t i = 0; i < group.records.size(); ++i) {
      // PLANTED DEFECT (journal-skip-last): the group's last record is dropped.
      if (i + 1 == group.records.size() && planted(Plant::kJournalSkipLast))
        break;
      FF_TRY(client.replay_record(group.records[i]));
    }
    position += group.blocks;
    expected += group.blocks;
  }
  log_position_ = position;
  next_sequence_ = expected;
  if (position >= area_blocks_)
    return Status();
  damage_ = judge_log_end(position, expected);
  if (!damage_.ok())
    return Status();
  // A commit group is written only after the previous one is durable, so an intact group
  // after the end of the log means a durable block was damaged, not a torn commit.
  std::vector<std::byte> block;
  for (std::uint64_t later = position + 1;
       later < std::min(area_blocks_, position + std::uint64_t{2} * format::kGroupBlocksMax);
       ++later) {
    FF_TRY(read_block(superblock_.active_log, later, block));
    auto decoded = decode(block);
    if (!decoded.ok())
      continue;
    const auto& header = decoded.value().header;
    if (header.diff_area_uuid == superblock_.diff_area_uuid && header.sequence > expected &&
        header.sequence == header.group_first_sequence &&
        header.sequence - superblock_.log_start_sequence == later) {
      damage_ = corrupt(where(position) + " (sequence " + std::to_string(expected) +
                        "): damaged, but the commit at block " + std::to_string(later) +
                        " after it is intact");
      return Status();
    }
  }
  return Status();
}

}  // namespace freezeframe::detail

#include "diff_area_upgrade.h"

#include <algorithm>
#include <vector>

#include "byte_math.h"
#include "freezeframe/assert.h"

namespace freezeframe::detail {

using format::kOriginSlot;
using format::Record;
using format::RecordType;

Status write_zeros(Volume& volume, std::uint64_t offset, std::uint64_t length) {
  constexpr std::uint64_t kPiece = 1 << 20;
  const std::vector<std::byte> zeros(std::min(kPiece, length), std::byte{0});
  for (std::uint64_t done = 0; done < length;) {
    const std::uint64_t piece = std::min(kPiece, length - done);
    FF_TRY(volume.write(offset + done, std::span<const std::byte>(zeros).first(piece)));
    done += piece;
  }
  return Status();
}

Status upgrade_diff_area(Volume& diff, DiffArea& area, MetadataJournal& journal,
                         ProviderState& state) {
  const format::Superblock old_sb = journal.superblock();
  FF_ASSERT(old_sb.format_version == format::kFormatVersionV1);
  const std::uint64_t chunk_bytes = old_sb.chunk_bytes;
  const std::uint64_t table_bytes = format::sum_table_bytes(old_sb.data_slots);
  const std::uint64_t table_slots = div_ceil(table_bytes, chunk_bytes);
  if (old_sb.data_slots < table_slots + 2) {
    return Status(ErrorCode::kNoSpace, area.name() + ": too few data slots to upgrade to format " +
                                           std::to_string(format::kFormatVersion));
  }
  const std::uint64_t new_slots = old_sb.data_slots - table_slots;

  // 1. Chunks stored in the table's place move to free slots below it.
  std::vector<bool> referenced(old_sb.data_slots, false);
  std::vector<std::pair<std::uint64_t, IndexEntry>> to_move;
  state.index().for_each([&](std::uint64_t chunk, std::span<const IndexEntry> versions) {
    for (const IndexEntry& entry : versions) {
      if (entry.slot == kOriginSlot)
        continue;
      referenced[entry.slot] = true;
      if (entry.slot >= new_slots)
        to_move.emplace_back(chunk, entry);
    }
  });
  std::vector<std::uint32_t> free_slots;
  for (std::uint64_t slot = 0; slot < new_slots && free_slots.size() < to_move.size(); ++slot) {
    if (!referenced[slot])
      free_slots.push_back(static_cast<std::uint32_t>(slot));
  }
  if (free_slots.size() < to_move.size()) {
    return Status(ErrorCode::kNoSpace,
                  area.name() + ": upgrading to format " + std::to_string(format::kFormatVersion) +
                      " needs " + std::to_string(to_move.size()) +
                      " free data slots below the checksum table; delete a snapshot first");
  }
  std::vector<std::byte> buffer(chunk_bytes);
  std::vector<Record> moves;
  for (std::size_t i = 0; i < to_move.size(); ++i) {
    const auto& [chunk, entry] = to_move[i];
    FF_TRY(diff.read(area.slot_offset(entry.slot), buffer));
    FF_TRY(diff.write(area.slot_offset(free_slots[i]), buffer));
    Record move;
    move.type = RecordType::kMapAdd;
    move.chunk = chunk;
    move.tag = entry.tag;
    move.slot = free_slots[i];
    const std::uint32_t frame = area.frame_length(entry.slot);
    move.stored_bytes =
        frame != 0 ? frame : static_cast<std::uint32_t>(area.geometry().chunk_length(chunk));
    moves.push_back(move);
  }
  if (!to_move.empty())
    FF_TRY(diff.flush());
  area.begin_recovery();
  for (const Record& move : moves)
    FF_TRY(state.replay_record(move));

  // 2. The version 2 superblock and checkpoint.
  format::Superblock next = old_sb;
  next.format_version = format::kFormatVersion;
  next.data_slots = new_slots;
  next.sum_offset = old_sb.data_offset + new_slots * chunk_bytes;
  next.sum_bytes = table_slots * chunk_bytes;
  next.sum_table_state = format::kSumTableRebuilding;
  area.reshape(DiffAreaGeometry::of(next));
  FF_TRY(area.finish_recovery(state.index()));
  area.set_sums_trusted(false);
  journal.adopt_superblock(next);
  const std::uint8_t inactive = next.active_log ^ 1;
  FF_TRY(write_zeros(diff, next.log_offset[inactive], next.log_area_bytes));
  FF_TRY(state.write_checkpoint());

  // 3. The table.
  return rebuild_sum_table(diff, area, journal, state);
}

Status rebuild_sum_table(Volume& diff, DiffArea& area, MetadataJournal& journal,
                         ProviderState& state) {
  format::Superblock sb = journal.superblock();
  FF_ASSERT(sb.format_version >= 2);
  // The other journal area may still hold blocks of format 1 (or damage a repair left
  // behind); zeroed, it reads as never written when the next checkpoint goes there.
  const std::uint8_t inactive = sb.active_log ^ 1;
  FF_TRY(write_zeros(diff, sb.log_offset[inactive], sb.log_area_bytes));
  std::vector<std::byte> buffer(area.geometry().chunk_bytes);
  Status status;
  state.index().for_each([&](std::uint64_t chunk, std::span<const IndexEntry> versions) {
    for (const IndexEntry& entry : versions) {
      if (entry.slot == kOriginSlot || !status.ok())
        continue;
      const std::uint32_t frame = area.frame_length(entry.slot);
      const std::uint64_t stored = frame != 0 ? frame : area.geometry().chunk_length(chunk);
      const std::uint64_t sector = std::max<std::uint64_t>(512, diff.sector_bytes());
      status = diff.read(area.slot_offset(entry.slot),
                         std::span<std::byte>(buffer).first(align_up(stored, sector)));
      if (status.ok())
        status = area.write_sum(entry.slot, chunk, std::span<std::byte>(buffer).first(stored));
    }
  });
  FF_TRY(status);
  FF_TRY(area.flush_sums());
  FF_TRY(diff.flush());
  sb.sum_table_state = format::kSumTableValid;
  sb.generation += 1;
  FF_TRY(journal.write_superblock(sb));
  area.set_sums_trusted(true);
  return Status();
}

}  // namespace freezeframe::detail

// check_diff_area() and repair_diff_area() (integrity.h): a provider opened over read-only
// views for the check, and the provider's own operations for the repair.
#include "freezeframe/integrity.h"

#include <map>
#include <memory>
#include <mutex>

#include "byte_math.h"
#include "diff_area_upgrade.h"
#include "freezeframe/volume_wrapper.h"
#include "provider_impl.h"

namespace freezeframe {
namespace {

using detail::ProviderAccess;
using format::kOriginSlot;

// A volume seen read-only: the check can never write, whatever it opens.
class ReadOnlyView final : public VolumeWrapper {
 public:
  using VolumeWrapper::VolumeWrapper;
  bool read_only() const noexcept override { return true; }

 protected:
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override {
    return Status(ErrorCode::kReadOnly, describe("write", offset, data.size(), "checked volume"));
  }
  Status do_flush() override { return Status(); }
  Status do_discard(std::uint64_t offset, std::uint64_t length) override {
    return Status(ErrorCode::kReadOnly, describe("discard", offset, length, "checked volume"));
  }
};

// Verifies every stored chunk of an open provider and fills `report`.
void check_open(ProviderAccess::Impl& s, DiffAreaCheck& report) {
  const format::Superblock& sb = s.journal.superblock();
  report.format_version = sb.format_version;
  if (sb.format_version < format::kFormatVersion) {
    report.notes.emplace_back("format version " + std::to_string(sb.format_version) +
                              ": chunks carry no checksums until the next writable open upgrades "
                              "it to version " +
                              std::to_string(format::kFormatVersion));
  } else if (sb.sum_table_state != format::kSumTableValid) {
    report.notes.emplace_back(
        "the chunk checksum table is being rebuilt: chunks are not verified "
        "until the next writable open finishes it");
  }
  report.journal = s.journal.damage();
  const bool row = s.kind == ProviderKind::kRedirectOnWrite;
  std::map<std::uint32_t, std::size_t> by_tag;
  for (const auto& [tag, meta] : s.state.snapshots()) {
    SnapshotCheck snapshot;
    snapshot.id = meta.id;
    snapshot.sequence = tag;
    if (!report.journal.ok()) {
      snapshot.damaged = true;
      snapshot.detail = "a damaged journal commit may have changed it";
    }
    by_tag[tag] = report.snapshots.size();
    report.snapshots.push_back(snapshot);
  }
  report.live_damaged = row && !report.journal.ok();

  s.state.index().for_each([&](std::uint64_t chunk, std::span<const detail::IndexEntry> versions) {
    for (const detail::IndexEntry& entry : versions) {
      if (entry.slot == kOriginSlot)
        continue;
      ++report.chunks_checked;
      Status status = s.diff_area.verify_slot(chunk, entry.slot);
      if (status.ok())
        continue;
      ChunkDamage damage;
      damage.chunk = chunk;
      damage.offset = s.diff_area.geometry().chunk_offset(chunk);
      damage.slot = entry.slot;
      damage.slot_offset = s.diff_area.slot_offset(entry.slot);
      damage.detail = status.message();
      for (const auto& [tag, meta] : s.state.snapshots()) {
        if (meta.invalidated || s.state.locate(chunk, tag) != entry.slot)
          continue;
        damage.snapshots.push_back(meta.id);
        SnapshotCheck& snapshot = report.snapshots[by_tag[tag]];
        snapshot.damaged = true;
        ++snapshot.damaged_chunks;
        snapshot.detail = std::to_string(snapshot.damaged_chunks) + " damaged chunk" +
                          (snapshot.damaged_chunks == 1 ? "" : "s");
      }
      if (row && s.state.locate(chunk, 0) == entry.slot) {
        damage.live = true;
        report.live_damaged = true;
      }
      report.chunks.push_back(std::move(damage));
    }
  });

  // Space accounting: the slots the index references account for exactly what is in use, and
  // every slot handed out lies in the data area.
  std::uint64_t referenced = 0;
  s.state.index().for_each([&](std::uint64_t, std::span<const detail::IndexEntry> versions) {
    for (const detail::IndexEntry& entry : versions) {
      if (entry.slot != kOriginSlot)
        referenced += s.diff_area.slot_bytes(entry.slot);
    }
  });
  if (referenced != s.diff_area.used_bytes()) {
    report.accounting.push_back("the map references " + std::to_string(referenced) + " bytes but " +
                                std::to_string(s.diff_area.used_bytes()) + " are counted in use");
  }
  const std::uint64_t data_bytes = s.diff_area.geometry().data_slots * sb.chunk_bytes;
  if (s.diff_area.allocated_bytes() > data_bytes) {
    report.accounting.push_back("allocated " + std::to_string(s.diff_area.allocated_bytes()) +
                                " bytes exceed the data area's " + std::to_string(data_bytes));
  }
}

}  // namespace

Result<DiffAreaCheck> check_diff_area(Volume& origin, Volume& diff) {
  DiffAreaCheck report;
  ReadOnlyView origin_view(origin);
  ReadOnlyView diff_view(diff);
  auto opened = SnapshotProvider::open(origin_view, diff_view);
  if (!opened.ok()) {
    if (opened.status().code() == ErrorCode::kIoError)
      return opened.status();
    report.fatal = opened.status();
    return report;
  }
  ProviderAccess::Impl& s = ProviderAccess::of(*opened.value());
  std::shared_lock lock(s.mutex);
  check_open(s, report);
  return report;
}

Result<DiffAreaRepair> repair_diff_area(Volume& origin, Volume& diff) {
  if (diff.read_only()) {
    return Status(ErrorCode::kReadOnly,
                  "diff volume '" + diff.name() + "' is read-only: it cannot be repaired");
  }
  FF_ASSIGN_OR_RETURN(DiffAreaCheck before, check_diff_area(origin, diff));
  if (!before.fatal.ok()) {
    return before.fatal.with_context("diff volume '" + diff.name() +
                                     "' cannot be repaired: nothing intact to rebuild from");
  }
  DiffAreaRepair repair;
  {
    FF_ASSIGN_OR_RETURN(auto provider, SnapshotProvider::open(origin, diff));
    ProviderAccess::Impl& s = ProviderAccess::of(*provider);
    {
      std::unique_lock lock(s.mutex);
      if (!s.journal.damage().ok()) {
        // The damaged commit is left behind: a checkpoint of the intact state goes to the
        // other area, and the damaged area is zeroed once the superblock points away from it.
        s.state.set_damage(Status());
        s.read_only = false;
        // The damaged commit may have held change-tracking marks: tracking restarts in a new
        // epoch, so every change id handed out before is answered with a reset.
        if (s.state.tracker().started()) {
          s.state.begin_generation(0, s.new_tracking_epoch(), s.state.tracker().retained_max());
          const std::string restarted =
              "restarted change tracking: the damaged commit may have held its marks, so the "
              "next incremental backup of '" +
              s.identity.name + "' reads everything";
          s.guard.report(ProviderEventKind::kChangeTrackingReset, Uuid(), restarted);
          repair.actions.push_back(restarted);
        }
        FF_TRY(s.state.write_checkpoint());
        const format::Superblock& sb = s.journal.superblock();
        FF_TRY(detail::write_zeros(diff, sb.log_offset[sb.active_log ^ 1], sb.log_area_bytes));
        FF_TRY(diff.flush());
        repair.actions.push_back("rewrote the journal from the state before its damaged commit (" +
                                 before.journal.message() + ")");
        if (s.kind == ProviderKind::kRedirectOnWrite) {
          repair.actions.emplace_back("the live volume now reads as of the last intact commit");
        }
      }
    }
    for (const SnapshotCheck& snapshot : before.snapshots) {
      if (!snapshot.damaged)
        continue;
      FF_TRY(provider->delete_snapshot(snapshot.id));
      repair.dropped.push_back(snapshot.id);
      repair.actions.push_back("dropped snapshot " + snapshot.id.to_string() + " (" +
                               snapshot.detail + ")");
    }
    std::unique_lock lock(s.mutex);
    FF_TRY(s.state.write_checkpoint());
    repair.actions.emplace_back("rebuilt the space accounting and wrote a fresh checkpoint");
    for (const ChunkDamage& damage : before.chunks) {
      if (damage.live) {
        repair.actions.push_back("chunk " + std::to_string(damage.chunk) +
                                 " of the live volume is damaged and cannot be recovered");
      }
    }
  }
  FF_ASSIGN_OR_RETURN(repair.after, check_diff_area(origin, diff));
  return repair;
}

}  // namespace freezeframe

// WritePath: what the CoW and RoW write paths share, and the calls the provider makes on
// either. A write path serves the live volume: its reads, writes, discards and flushes, and
// the steps of a revert that touch data. Private to the engine; the two paths are
// CowWritePath (cow_provider.h) and RowWritePath (row_provider.h).
//
// Layering: the top of the provider's layers, under only SnapshotProvider's composition. A
// write path plans a write against the ProviderState, asks the OverflowGuard for room, takes
// slots from the DiffArea (which may commit the journal through ProviderState, as
// FreedSlotCommitter), writes chunk data, and logs map records. Nothing below calls it
// except through the interfaces it implements (SpaceReclaimer, for RoW).
//
// Durability: a write returns once its data is where reads find it; it is durable after the
// next flush() (the provider calls flush() and then flushes the origin). CoW makes a
// preserved copy and its record durable before the origin overwrite is issued (invariant 1).
//
// Thread-safety: none inside; the provider holds its mutex exclusively for every call except
// read() (shared). Lifetime: borrows the origin, the diff area, the state, the guard and the
// reader, which must outlive it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "diff_area.h"
#include "freezeframe/snapshot_provider.h"
#include "freezeframe/volume.h"
#include "overflow_guard.h"
#include "provider_state.h"
#include "snapshot_view.h"

namespace freezeframe::detail {

// Names both write paths use.
using format::kOriginSlot;
using format::Record;
using format::RecordType;
using Versions = std::span<const IndexEntry>;

class WritePath {
 public:
  WritePath(Volume& origin, DiffArea& diff_area, ProviderState& state, OverflowGuard& guard,
            const VersionReader& reader)
      : origin_(origin),
        diff_area_(diff_area),
        state_(state),
        guard_(guard),
        reader_(reader),
        geometry_(diff_area.geometry()),
        scratch_(diff_area.geometry().chunk_bytes) {}
  virtual ~WritePath() = default;
  WritePath(const WritePath&) = delete;
  WritePath& operator=(const WritePath&) = delete;

  // The live volume's [offset, offset + out.size()). Under the shared lock.
  virtual Status read(std::uint64_t offset, std::span<std::byte> out) const = 0;
  // Writes `data` at `offset` of the live volume.
  virtual Status write(std::uint64_t offset, std::span<const std::byte> data) = 0;
  // Zeroes [offset, offset + length) of the live volume.
  virtual Status discard(std::uint64_t offset, std::uint64_t length) = 0;
  // Everything written so far reaches its place and its records are committed: afterwards
  // an origin flush makes every completed write durable.
  virtual Status flush() { return state_.commit(); }
  // Writes held in memory, if any, reach the origin (before a snapshot or a revert, and at
  // close); cheaper than flush() when nothing is held.
  virtual Status write_back_held() { return Status(); }
  // Completes a revert whose record is committed (CoW copies the snapshot's chunks back;
  // idempotent, so it is redone after a crash). RoW's revert is the record alone.
  virtual Status finish_revert() { return Status(); }

  // The write path's counters of ProviderStats; the journal's are left at 0.
  const ProviderStats& stats() const noexcept { return stats_; }

 protected:
  // A slot for a new chunk (may commit the journal to reuse freed slots).
  Result<std::uint32_t> allocate_slot() { return diff_area_.allocate_slot(state_); }
  // One chunk in memory, for preserves, read-modify-writes and copies.
  std::span<std::byte> scratch(std::uint64_t bytes) { return {scratch_.data(), bytes}; }

  Volume& origin_;
  DiffArea& diff_area_;
  ProviderState& state_;
  OverflowGuard& guard_;
  const VersionReader& reader_;
  const DiffAreaGeometry& geometry_;
  ProviderStats stats_;

 private:
  std::vector<std::byte> scratch_;
};

}  // namespace freezeframe::detail

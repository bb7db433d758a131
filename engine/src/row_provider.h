// RowWritePath: the redirect-on-write provider's write path (the public RowProvider creates
// a SnapshotProvider over it), and consolidation. Private to the engine.
//
// After a snapshot, a write to a chunk goes to a fresh diff-area slot tagged with the next
// snapshot's tag (a partial-chunk write first reads the chunk's current content:
// read-modify-write); a chunk whose live version no snapshot reads is rewritten in place (a
// compressed one goes to a new slot under the same tag, since a torn rewrite would change the
// frame's length under its record). Live reads go through the version index like snapshot
// reads. The records of a write are committed at the next flush.
//
// Consolidation folds redirected chunks that no snapshot needs in the origin back into the
// origin and frees their slots: origin copies first, an origin flush, then the records that
// stop pointing at the slots. It runs in batches (RowProvider::consolidate() releases
// the lock between them) and, as the SpaceReclaimer handed to the OverflowGuard, before the
// overflow policy gives up anything.
//
// Contracts as WritePath (write_path.h).
#pragma once

#include <cstdint>
#include <vector>

#include "overflow_guard.h"
#include "write_path.h"

namespace freezeframe::detail {

class RowWritePath final : public WritePath, public SpaceReclaimer {
 public:
  using WritePath::WritePath;

  Status read(std::uint64_t offset, std::span<std::byte> out) const override;
  Status write(std::uint64_t offset, std::span<const std::byte> data) override;
  Status discard(std::uint64_t offset, std::uint64_t length) override;

  // Chunks consolidation can fold now, in the order consolidate_batch() takes them (from the
  // back). Under the shared lock.
  std::vector<std::uint64_t> consolidation_candidates() const;
  // Folds up to `batch` of `candidates` (taking them from the back; those no longer
  // foldable are skipped) and commits. Returns how many it folded.
  Result<std::size_t> consolidate_batch(std::vector<std::uint64_t>& candidates, std::size_t batch);

  // SpaceReclaimer: folds every chunk that can be folded now, in one batch.
  Result<bool> reclaim_space() override;

 private:
  // Where a write to a chunk goes. kReplace: the live version is in a slot no snapshot reads;
  // the new content goes to a new slot under the same tag (a slot is never rewritten in
  // place, so that its checksum stays true across a crash).
  enum class Target { kOrigin, kRedirect, kReplace };
  Target target_of(std::uint64_t chunk, std::uint32_t& slot) const;
  // Writes `data` (or zeros for a discard, when data is empty) at [offset, offset + length).
  Status write_range(std::uint64_t offset, std::uint64_t length, std::span<const std::byte> data);
  // True if the chunk's live version can move to the origin: it is in a slot, no version is
  // in the origin already, and no snapshot still reads the origin's own version.
  bool consolidatable(std::span<const IndexEntry> versions) const;

  std::vector<std::byte> packed_;  // one compressed chunk
};

}  // namespace freezeframe::detail

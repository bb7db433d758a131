// CowWritePath: the copy-on-write provider's write path (the public CowProvider creates a
// SnapshotProvider over it). Private to the engine.
//
// The first write to a chunk after the newest snapshot preserves the chunk's old content into
// a diff-area slot tagged with that snapshot. With a write-back buffer (group commit), the
// new content of such a chunk is held in memory, in whole chunks, until write_back() has made
// the copies and their map records durable (one data barrier and one journal barrier for the
// whole group); only then do the held chunks reach the origin (invariant 1). Every held chunk
// is preserved for the newest snapshot, which is why the buffer is written back before a
// snapshot is created. Reads of the live volume see held chunks at once.
//
// A revert copies the chunks the target snapshot preserved back into the origin, then
// records that it is done; it is idempotent, and a reopen finishes an interrupted one.
//
// Contracts as WritePath (write_path.h).
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "write_path.h"

namespace freezeframe::detail {

class CowWritePath final : public WritePath {
 public:
  // `write_back_chunks`: capacity of the write-back buffer in chunks; 0 turns holding off
  // (every first write makes its copy durable before it returns). The buffer is allocated at
  // the first held write and kept.
  CowWritePath(Volume& origin, DiffArea& diff_area, ProviderState& state, OverflowGuard& guard,
               const VersionReader& reader, std::uint64_t write_back_chunks)
      : WritePath(origin, diff_area, state, guard, reader), write_back_chunks_(write_back_chunks) {}

  Status read(std::uint64_t offset, std::span<std::byte> out) const override;
  Status write(std::uint64_t offset, std::span<const std::byte> data) override;
  Status discard(std::uint64_t offset, std::uint64_t length) override;
  Status flush() override { return write_back(); }
  Status write_back_held() override;
  Status finish_revert() override;
  // Chunks held in the write-back buffer now.
  std::uint64_t held_chunks() const { return held_.size(); }

 private:
  std::byte* held_data(std::uint32_t arena_slot) {
    return held_arena_.data() + static_cast<std::uint64_t>(arena_slot) * geometry_.chunk_bytes;
  }
  const std::byte* held_data(std::uint32_t arena_slot) const {
    return held_arena_.data() + static_cast<std::uint64_t>(arena_slot) * geometry_.chunk_bytes;
  }
  // Before a write or discard of [offset, offset + length): marks its chunks for change
  // tracking and preserves them; the marks are durable, or ride with the held chunks'
  // group commit, before anything reaches the origin.
  Status prepare(std::uint64_t offset, std::uint64_t length);
  // Copies the held chunks that overlap [offset, offset + out.size()) over `out`.
  void overlay_held(std::uint64_t offset, std::span<std::byte> out) const;
  // Group commit: commits every preserved copy and map record, then writes the held chunks
  // to the origin, adjacent chunks in one call. A chunk whose write fails stays held.
  Status write_back();
  // Preserves, into the newest snapshot, every chunk of [offset, offset + length) that it
  // does not hold yet. A write of up to write_back_chunks_ chunks holds them (their copies
  // become durable at the next write_back()); a larger one writes the buffer back, then
  // makes its own copies durable before returning.
  Status preserve(std::uint64_t offset, std::uint64_t length);
  // A write (or discard, when `data` is empty) of [offset, offset + length), after
  // preserve(): held chunks take their part in memory, the rest goes to the origin, in one
  // call per run of chunks that are not held.
  Status apply(std::uint64_t offset, std::uint64_t length, std::span<const std::byte> data);

  // The write-back buffer: arena slots [0, held_next_) are in use.
  std::uint64_t write_back_chunks_ = 0;                    // capacity
  std::vector<std::byte> held_arena_;                      // allocated on first use
  std::unordered_map<std::uint64_t, std::uint32_t> held_;  // chunk -> arena slot
  std::uint32_t held_next_ = 0;
  std::vector<std::uint64_t> needed_;  // chunks a write must preserve
};

}  // namespace freezeframe::detail

// ChangeTracker: changed-block tracking (CBT) of one provider's live volume. Private to the
// engine; the public face is SnapshotProvider::changed_extents() and the change ids it hands
// out (docs/providers.md, "Change tracking").
//
// The live volume's write history is cut into generations. Generation g begins at a cut
// (a snapshot's creation, or SnapshotProvider::new_change_id()) and holds one bit per chunk:
// the chunks written from that cut until the next. A change id names the start of a
// generation; the chunks changed since it are the union of its generation and every later
// one. At most `retained_max` generations are kept (the current one included); an id older
// than the oldest kept is answered with a reset (read everything), never with a guess.
//
// Tracking epochs: the tracker starts in an epoch (a random 64-bit number recorded with every
// generation). When it loses knowledge (a repair dropped journal records, or tracking started
// on a diff area that had none), it starts a new epoch, and an id of the old one is answered
// with a reset that says so.
//
// Durability is the caller's (ProviderState, the write paths): marks are journal records,
// and a write reaches the volume only after the record that marks its chunks is durable, so
// a crash never loses a change (it may keep the mark of a write that did not land).
//
// Memory: one bit per chunk per generation, in pages allocated at their first mark.
//
// Thread-safety: none inside; the provider's lock guards it.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "freezeframe/extent.h"
#include "freezeframe/status.h"
#include "freezeframe/uuid.h"

namespace freezeframe::detail {

// A set of chunk numbers below a bound, one bit each, in pages allocated at first use.
class ChunkBitmap {
 public:
  explicit ChunkBitmap(std::uint64_t chunks = 0) : chunks_(chunks) {}

  std::uint64_t chunks() const noexcept { return chunks_; }
  // REQUIRES: first + count <= chunks().
  void set_range(std::uint64_t first, std::uint64_t count);
  bool test(std::uint64_t chunk) const;
  // Adds every chunk of `other` (same bound).
  void merge(const ChunkBitmap& other);
  // Calls fn(first, count) for each maximal run of set chunks, in order.
  template <typename Fn>
  void for_each_run(Fn&& fn) const;
  std::uint64_t runs() const;
  std::uint64_t memory_bytes() const noexcept;

 private:
  static constexpr std::uint64_t kPageWords = 4096;  // 32 KiB: 262144 chunks per page
  static constexpr std::uint64_t kPageBits = kPageWords * 64;
  std::uint64_t* page_for_write(std::uint64_t page);

  std::uint64_t chunks_ = 0;
  std::vector<std::unique_ptr<std::uint64_t[]>> pages_;
};

template <typename Fn>
void ChunkBitmap::for_each_run(Fn&& fn) const {
  std::uint64_t run_first = 0;
  std::uint64_t run_count = 0;
  for (std::uint64_t page = 0; page < pages_.size(); ++page) {
    const std::uint64_t* words = pages_[page].get();
    if (words == nullptr)
      continue;
    for (std::uint64_t w = 0; w < kPageWords; ++w) {
      std::uint64_t word = words[w];
      if (word == 0)
        continue;
      const std::uint64_t base = page * kPageBits + w * 64;
      for (unsigned bit = 0; bit < 64; ++bit) {
        if ((word >> bit & 1u) == 0)
          continue;
        const std::uint64_t chunk = base + bit;
        if (run_count != 0 && run_first + run_count == chunk) {
          ++run_count;
        } else {
          if (run_count != 0)
            fn(run_first, run_count);
          run_first = chunk;
          run_count = 1;
        }
      }
    }
  }
  if (run_count != 0)
    fn(run_first, run_count);
}

// What the chunks changed since a change id are: the chunks, or a reset with its reason.
struct ChangedChunks {
  bool reset = false;
  std::string reason;
  ChunkBitmap chunks;
};

class ChangeTracker {
 public:
  static constexpr std::uint32_t kRetainedMax = 64;

  // `chunks`: of the origin; `diff_area_uuid`: named in every change id, so an id of another
  // diff area is told apart.
  ChangeTracker(std::uint64_t chunks, const Uuid& diff_area_uuid)
      : chunks_(chunks), diff_area_uuid_(diff_area_uuid) {}

  bool started() const noexcept { return !generations_.empty(); }
  std::uint64_t epoch() const noexcept { return epoch_; }
  // The current generation's number. REQUIRES: started().
  std::uint64_t current() const noexcept { return generations_.back().number; }
  std::uint64_t oldest() const noexcept { return generations_.front().number; }
  std::uint32_t retained_max() const noexcept { return retained_max_; }

  // ----- applying records (ProviderState::apply)

  // Generation `number` of `epoch` begins. A new epoch drops every generation of the old one.
  void begin_generation(std::uint64_t epoch, std::uint64_t number, std::uint32_t retained_max);
  // Marks chunks [first, first + count) changed in the current generation.
  void mark(std::uint64_t first, std::uint64_t count);

  // Whether a record would be accepted: kCorrupt naming the field otherwise (replay).
  Status check_generation(std::uint64_t epoch, std::uint64_t number,
                          std::uint32_t retained_max) const;
  Status check_mark(std::uint64_t first, std::uint64_t count) const;

  // ----- queries

  // Runs [first, last] of chunks not yet marked in the current generation.
  std::vector<Extent> unmarked_runs(std::uint64_t first, std::uint64_t last) const;
  // Chunks changed in generations [from, until) of `epoch` (until == 0: through the current).
  // A reset when `from` is no longer kept or is of another epoch.
  ChangedChunks changed(std::uint64_t epoch, std::uint64_t from, std::uint64_t until) const;

  // The change id of generation `number` of `epoch`: "ffcbt1:<diff area uuid>:<epoch as 16
  // hex digits>:<number>".
  std::string token(std::uint64_t epoch, std::uint64_t number) const;
  struct ParsedToken {
    Uuid diff_area;
    std::uint64_t epoch = 0;
    std::uint64_t number = 0;
  };
  // kInvalidArgument naming the text when it is not a change id.
  static Result<ParsedToken> parse_token(std::string_view text);

  // The generations as (epoch, number, retained, runs) for a checkpoint, in order. When more
  // than `runs_max` runs would be needed, nearby runs are merged (a superset: a change is
  // never dropped) until they fit.
  struct GenerationRuns {
    std::uint64_t number = 0;
    std::vector<Extent> runs;  // in chunks
  };
  std::vector<GenerationRuns> checkpoint_runs(std::uint64_t runs_max) const;

  std::uint64_t memory_bytes() const noexcept;

 private:
  struct Generation {
    std::uint64_t number = 0;
    ChunkBitmap changed;
  };
  std::uint64_t chunks_;
  Uuid diff_area_uuid_;
  std::uint64_t epoch_ = 0;
  std::uint32_t retained_max_ = 0;
  std::deque<Generation> generations_;
};

}  // namespace freezeframe::detail

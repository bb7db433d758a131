// Workload: a seeded, deterministic stream of block I/O operations.
//
// A Workload turns WorkloadOptions into a sequence of IoOp values (read, write, flush,
// discard). The sequence is a function of the options alone: the same options, seed
// included, give the same trace on every host and standard library (all random choices are
// drawn from freezeframe::Random, with our own mappings; no std::*_distribution). So a
// failing simulation replays from its seed, and CoW and RoW providers can be compared on the
// same trace.
//
// Access patterns. Offsets are multiples of `alignment_bytes`; every request lies inside
// [0, volume_bytes).
//   kSequential: each request starts at the first aligned offset at or after the end of the
//     previous one, and wraps to 0 when the next request would not fit.
//   kUniform: the start is uniform over the aligned offsets where a request of that length
//     fits.
//   kZipfian: the volume is divided into blocks of `alignment_bytes`; a hot set of
//     `hot_set_fraction` of them is ranked, and a rank is drawn from a Zipf distribution with
//     exponent `zipf_theta` (Gray et al., "Quickly generating billion-record synthetic
//     databases", SIGMOD 1994). Ranks are spread over the whole volume by a seeded bijection,
//     so the hottest blocks are not adjacent. A request that would run past the end of the
//     volume starts at the last aligned offset where it fits.
//
// Operation mix. When `flush_every` is N > 0, operations N, 2N, 3N, ... (1-based) are
// flushes. Every other operation is a discard with probability `discard_fraction`, a read
// with probability `read_fraction`, and a write otherwise. Lengths of reads, writes and
// discards are drawn from `sizes` by weight.
//
// Payloads. A write carries a `data_seed`; fill_payload() turns it into bytes. The content
// of each 8-byte word depends only on the data seed and the word's absolute position on the
// volume, so any sector of a write can be checked on its own (after a torn write, say).
//
// Thread-safety: a Workload is not thread-safe; the free functions are.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "freezeframe/random.h"
#include "freezeframe/sim/sim_volume.h"
#include "freezeframe/status.h"
#include "freezeframe/volume.h"

namespace freezeframe::sim {

enum class AccessPattern : std::uint8_t { kSequential, kUniform, kZipfian };

// One entry of the request-size distribution: requests of `bytes` are drawn with probability
// weight / (sum of weights).
struct IoSizeWeight {
  std::uint64_t bytes = 4096;
  std::uint32_t weight = 1;
};

struct WorkloadOptions {
  std::uint64_t seed = 0;
  // The addressed range [0, volume_bytes). REQUIRES: a non-zero multiple of sector_bytes.
  std::uint64_t volume_bytes = 0;
  // 512 or 4096. Every size and the alignment are multiples of it.
  std::uint32_t sector_bytes = 512;
  AccessPattern pattern = AccessPattern::kUniform;
  // Zipf exponent, in (0, 1); 0.99 is the usual "skewed" setting.
  double zipf_theta = 0.99;
  // Fraction of the volume's blocks that zipfian requests fall into, in (0, 1].
  double hot_set_fraction = 1.0;
  // Probability that a non-flush operation is a read, in [0, 1].
  double read_fraction = 0.5;
  // Probability that a non-flush operation is a discard, in [0, 1]; with read_fraction at
  // most 1.
  double discard_fraction = 0.0;
  // Request sizes and their weights; at most kSizesMax entries, at least one weight non-zero.
  std::vector<IoSizeWeight> sizes = {{4096, 1}};
  // Offsets are multiples of this; 0 means sector_bytes. A multiple of sector_bytes, at most
  // volume_bytes.
  std::uint64_t alignment_bytes = 0;
  // Number of operations in the trace, flushes included; at most kOperationsMax.
  std::uint64_t operation_count = 1000;
  // Every flush_every-th operation is a flush; 0 = never.
  std::uint64_t flush_every = 0;
};

struct IoOp {
  IoOperation kind = IoOperation::kRead;
  // Zero for a flush.
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  // Seeds the payload of a write (fill_payload); zero for other kinds.
  std::uint64_t data_seed = 0;

  friend bool operator==(const IoOp&, const IoOp&) = default;
};

class Workload {
 public:
  static constexpr std::size_t kSizesMax = 64;
  static constexpr std::uint64_t kOperationsMax = std::uint64_t{1} << 40;
  // The zipfian set-up sums over every hot block once; this bounds that cost (a larger
  // alignment or a smaller hot set brings a big volume under it).
  static constexpr std::uint64_t kZipfianBlocksMax = std::uint64_t{1} << 24;

  // Fails with kInvalidArgument, naming the offending option, if the options are invalid.
  static Result<std::unique_ptr<Workload>> create(const WorkloadOptions& options);

  const WorkloadOptions& options() const noexcept { return options_; }
  // Operations produced so far.
  std::uint64_t produced() const noexcept { return produced_; }
  bool done() const noexcept { return produced_ >= options_.operation_count; }

  // The next operation, or nullopt once operation_count have been produced.
  std::optional<IoOp> next();

 private:
  explicit Workload(const WorkloadOptions& options);

  std::uint64_t draw_length();
  std::uint64_t draw_offset(std::uint64_t length);
  std::uint64_t draw_zipf_rank();
  std::uint64_t scramble(std::uint64_t rank) const;

  WorkloadOptions options_;
  std::uint64_t alignment_bytes_;
  std::uint64_t produced_ = 0;
  // Separate streams, so changing the mix does not move the offsets and vice versa.
  Random kind_random_;
  Random size_random_;
  Random offset_random_;
  Random data_random_;
  std::uint64_t total_weight_ = 0;
  std::uint64_t sequential_cursor_ = 0;
  // Zipfian state (Gray et al.).
  std::uint64_t blocks_ = 0;
  std::uint64_t hot_blocks_ = 0;
  double zeta_n_ = 0.0;
  double zipf_alpha_ = 0.0;
  double zipf_eta_ = 0.0;
  double zipf_half_pow_theta_ = 0.0;
  // Bijection on [0, blocks_): a balanced Feistel network on 2 * half_bits_ bits with cycle
  // walking.
  unsigned half_bits_ = 0;
  std::uint64_t feistel_keys_[4] = {};
};

// Checks options without building a Workload; create() calls it.
Status validate(const WorkloadOptions& options);

// The whole trace of `options`.
Result<std::vector<IoOp>> generate_trace(const WorkloadOptions& options);

// Fills `out` with the payload of `op` for the bytes [op.offset, op.offset + out.size()).
void fill_payload(const IoOp& op, std::span<std::byte> out);

// XXH3 of a canonical little-endian encoding of the ops: equal traces hash equal on every
// host.
std::uint64_t trace_hash(std::span<const IoOp> ops);

// Issues `op` against `volume` (a read's data is discarded). Errors carry the volume's
// message.
Status apply(Volume& volume, const IoOp& op);

// Issues every remaining operation of `workload` against `volume`, in order; stops at the
// first error, which names the operation's index, kind, offset and length. Fails with
// kInvalidArgument before any I/O if the workload does not fit the volume (range larger than
// the volume, sizes or alignment not multiples of its sector size).
Status run(Volume& volume, Workload& workload);

// "read", "write", "flush" or "discard".

}  // namespace freezeframe::sim

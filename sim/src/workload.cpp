#include "freezeframe/sim/workload.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "freezeframe/assert.h"

namespace freezeframe::sim {
namespace {

// SplitMix64 finaliser: a fixed, portable 64-bit mixing function.
std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::string text(std::uint64_t value) {
  return std::to_string(value);
}

std::string text(double value) {
  // Enough digits to tell 0.99 from 1 in a message; no locale.
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

Status bad_option(std::string message) {
  return invalid_argument("workload options: " + std::move(message));
}

bool is_probability(double value) {
  return value >= 0.0 && value <= 1.0;  // false for NaN
}

// zeta(n, theta) = sum_{i=1..n} 1 / i^theta.
double zeta(std::uint64_t n, double theta) {
  double sum = 0.0;
  for (std::uint64_t i = 1; i <= n; ++i)
    sum += 1.0 / std::pow(static_cast<double>(i), theta);
  return sum;
}

}  // namespace

Status validate(const WorkloadOptions& options) {
  if (!is_supported_sector_size(options.sector_bytes)) {
    return bad_option("sector_bytes " + text(std::uint64_t{options.sector_bytes}) +
                      " is not supported (512 or 4096)");
  }
  const std::uint64_t sector = options.sector_bytes;
  if (options.volume_bytes == 0 || options.volume_bytes % sector != 0) {
    return bad_option("volume_bytes " + text(options.volume_bytes) +
                      " must be a non-zero multiple of sector_bytes " + text(sector));
  }
  const std::uint64_t alignment = options.alignment_bytes == 0 ? sector : options.alignment_bytes;
  if (alignment % sector != 0 || alignment > options.volume_bytes) {
    return bad_option("alignment_bytes " + text(alignment) +
                      " must be a multiple of sector_bytes " + text(sector) +
                      " and at most volume_bytes " + text(options.volume_bytes));
  }
  if (options.sizes.empty() || options.sizes.size() > Workload::kSizesMax) {
    return bad_option("sizes has " + text(std::uint64_t{options.sizes.size()}) +
                      " entries; it needs 1 to " + text(std::uint64_t{Workload::kSizesMax}));
  }
  std::uint64_t total_weight = 0;
  for (std::size_t i = 0; i < options.sizes.size(); ++i) {
    const IoSizeWeight& size = options.sizes[i];
    if (size.bytes == 0 || size.bytes % sector != 0 || size.bytes > options.volume_bytes) {
      return bad_option("sizes[" + text(std::uint64_t{i}) + "] of " + text(size.bytes) +
                        " bytes must be a non-zero multiple of sector_bytes " + text(sector) +
                        " and at most volume_bytes " + text(options.volume_bytes));
    }
    total_weight += size.weight;
  }
  if (total_weight == 0) {
    return bad_option("every size has weight 0; at least one needs a positive weight");
  }
  if (!is_probability(options.read_fraction)) {
    return bad_option("read_fraction " + text(options.read_fraction) + " is not in [0, 1]");
  }
  if (!is_probability(options.discard_fraction)) {
    return bad_option("discard_fraction " + text(options.discard_fraction) + " is not in [0, 1]");
  }
  if (options.read_fraction + options.discard_fraction > 1.0) {
    return bad_option("read_fraction " + text(options.read_fraction) + " plus discard_fraction " +
                      text(options.discard_fraction) + " exceeds 1");
  }
  if (options.operation_count > Workload::kOperationsMax) {
    return bad_option("operation_count " + text(options.operation_count) + " exceeds the limit " +
                      text(Workload::kOperationsMax));
  }
  switch (options.pattern) {
    case AccessPattern::kSequential:
    case AccessPattern::kUniform:
      break;
    case AccessPattern::kZipfian: {
      if (!(options.zipf_theta > 0.0 && options.zipf_theta < 1.0)) {
        return bad_option("zipf_theta " + text(options.zipf_theta) + " is not in (0, 1)");
      }
      if (!(options.hot_set_fraction > 0.0 && options.hot_set_fraction <= 1.0)) {
        return bad_option("hot_set_fraction " + text(options.hot_set_fraction) +
                          " is not in (0, 1]");
      }
      const std::uint64_t blocks = options.volume_bytes / alignment;
      const auto hot =
          static_cast<std::uint64_t>(static_cast<double>(blocks) * options.hot_set_fraction);
      if (hot > Workload::kZipfianBlocksMax) {
        return bad_option("zipfian hot set of " + text(hot) + " blocks exceeds the limit " +
                          text(Workload::kZipfianBlocksMax) +
                          "; raise alignment_bytes or lower hot_set_fraction");
      }
      break;
    }
    default:
      return bad_option("pattern " +
                        text(std::uint64_t{static_cast<std::uint8_t>(options.pattern)}) +
                        " is not an AccessPattern");
  }
  return Status();
}

Result<std::unique_ptr<Workload>> Workload::create(const WorkloadOptions& options) {
  FF_TRY(validate(options));
  return std::unique_ptr<Workload>(new Workload(options));
}

Workload::Workload(const WorkloadOptions& options)
    : options_(options),
      alignment_bytes_(options.alignment_bytes == 0 ? options.sector_bytes
                                                    : options.alignment_bytes),
      kind_random_(derive_seed(options.seed, "workload.kind")),
      size_random_(derive_seed(options.seed, "workload.size")),
      offset_random_(derive_seed(options.seed, "workload.offset")),
      data_random_(derive_seed(options.seed, "workload.data")) {
  for (const IoSizeWeight& size : options_.sizes)
    total_weight_ += size.weight;
  if (options_.pattern != AccessPattern::kZipfian)
    return;
  blocks_ = options_.volume_bytes / alignment_bytes_;
  hot_blocks_ = std::clamp<std::uint64_t>(
      static_cast<std::uint64_t>(static_cast<double>(blocks_) * options_.hot_set_fraction), 1,
      blocks_);
  const double theta = options_.zipf_theta;
  const auto n = static_cast<double>(hot_blocks_);
  zeta_n_ = zeta(hot_blocks_, theta);
  zipf_alpha_ = 1.0 / (1.0 - theta);
  zipf_half_pow_theta_ = std::pow(0.5, theta);
  if (hot_blocks_ > 2) {
    // For n <= 2 the first two branches of draw_zipf_rank() cover every draw.
    zipf_eta_ = (1.0 - std::pow(2.0 / n, 1.0 - theta)) / (1.0 - zeta(2, theta) / zeta_n_);
  }
  std::uint64_t bits = 0;
  while (bits < 64 && (std::uint64_t{1} << bits) < blocks_)
    ++bits;
  half_bits_ = static_cast<unsigned>((bits + 1) / 2);
  Random key_random(derive_seed(options.seed, "workload.scramble"));
  for (std::uint64_t& key : feistel_keys_)
    key = key_random.next_u64();
}

std::optional<IoOp> Workload::next() {
  if (done())
    return std::nullopt;
  ++produced_;
  IoOp op;
  if (options_.flush_every != 0 && produced_ % options_.flush_every == 0) {
    op.kind = IoOperation::kFlush;
    return op;
  }
  const double draw = kind_random_.uniform_real();
  if (draw < options_.discard_fraction) {
    op.kind = IoOperation::kDiscard;
  } else if (draw < options_.discard_fraction + options_.read_fraction) {
    op.kind = IoOperation::kRead;
  } else {
    op.kind = IoOperation::kWrite;
  }
  op.length = draw_length();
  op.offset = draw_offset(op.length);
  if (op.kind == IoOperation::kWrite)
    op.data_seed = data_random_.next_u64();
  FF_ASSERT(op.offset % alignment_bytes_ == 0);
  FF_ASSERT(op.length <= options_.volume_bytes && op.offset <= options_.volume_bytes - op.length);
  return op;
}

std::uint64_t Workload::draw_length() {
  std::uint64_t pick = size_random_.uniform(total_weight_);
  for (const IoSizeWeight& size : options_.sizes) {
    if (pick < size.weight)
      return size.bytes;
    pick -= size.weight;
  }
  FF_ASSERT_MSG(false, "weighted size draw fell off the table");
  return options_.sizes.front().bytes;
}

std::uint64_t Workload::draw_offset(std::uint64_t length) {
  const std::uint64_t volume = options_.volume_bytes;
  const std::uint64_t last_fit = (volume - length) / alignment_bytes_ * alignment_bytes_;
  switch (options_.pattern) {
    case AccessPattern::kSequential: {
      std::uint64_t offset =
          (sequential_cursor_ + alignment_bytes_ - 1) / alignment_bytes_ * alignment_bytes_;
      if (offset > volume || length > volume - offset)
        offset = 0;
      sequential_cursor_ = offset + length;
      return offset;
    }
    case AccessPattern::kUniform:
      return offset_random_.uniform(last_fit / alignment_bytes_ + 1) * alignment_bytes_;
    case AccessPattern::kZipfian: {
      const std::uint64_t block = scramble(draw_zipf_rank());
      return std::min(block * alignment_bytes_, last_fit);
    }
  }
  FF_ASSERT_MSG(false, "unknown access pattern");
  return 0;
}

// Gray, Sundaresan, Englert, Baclawski, Weinberger: "Quickly generating billion-record
// synthetic databases", SIGMOD 1994: rank 0 is the most popular.
std::uint64_t Workload::draw_zipf_rank() {
  const double u = offset_random_.uniform_real();
  const double uz = u * zeta_n_;
  if (uz < 1.0)
    return 0;
  if (uz < 1.0 + zipf_half_pow_theta_)
    return 1;
  const double scaled =
      static_cast<double>(hot_blocks_) * std::pow(zipf_eta_ * u - zipf_eta_ + 1.0, zipf_alpha_);
  const auto rank = static_cast<std::uint64_t>(scaled);
  return std::min(rank, hot_blocks_ - 1);
}

// A seeded bijection on [0, blocks_): four Feistel rounds over the smallest even number of
// bits that covers blocks_, repeated (cycle walking) until the value lands in range. The
// domain is under 4 * blocks_, so fewer than four rounds of walking are expected.
std::uint64_t Workload::scramble(std::uint64_t rank) const {
  const std::uint64_t mask = (std::uint64_t{1} << half_bits_) - 1;
  std::uint64_t value = rank;
  do {
    std::uint64_t left = value >> half_bits_;
    std::uint64_t right = value & mask;
    for (std::uint64_t key : feistel_keys_) {
      const std::uint64_t next_right = left ^ (mix64(right ^ key) & mask);
      left = right;
      right = next_right;
    }
    value = (left << half_bits_) | right;
  } while (value >= blocks_);
  return value;
}

Result<std::vector<IoOp>> generate_trace(const WorkloadOptions& options) {
  FF_ASSIGN_OR_RETURN(std::unique_ptr<Workload> workload, Workload::create(options));
  std::vector<IoOp> ops;
  ops.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(options.operation_count, 1 << 20)));
  while (std::optional<IoOp> op = workload->next())
    ops.push_back(*op);
  return ops;
}

void fill_payload(const IoOp& op, std::span<std::byte> out) {
  // Word-indexed by absolute volume position: offsets are sector multiples, so words align.
  std::uint64_t word = op.offset / 8;
  std::size_t i = 0;
  while (i < out.size()) {
    const std::uint64_t value = mix64(op.data_seed ^ mix64(word));
    const std::size_t n = std::min<std::size_t>(8, out.size() - i);
    for (std::size_t k = 0; k < n; ++k)
      out[i + k] = static_cast<std::byte>(value >> (8 * k));  // little-endian on every host
    i += n;
    ++word;
  }
}

std::uint64_t trace_hash(std::span<const IoOp> ops) {
  XXH3_state_t* state = XXH3_createState();
  FF_ASSERT(state != nullptr);
  XXH3_64bits_reset(state);
  for (const IoOp& op : ops) {
    unsigned char record[25];
    record[0] = static_cast<unsigned char>(op.kind);
    const std::uint64_t fields[3] = {op.offset, op.length, op.data_seed};
    for (std::size_t f = 0; f < 3; ++f) {
      for (std::size_t k = 0; k < 8; ++k)
        record[1 + f * 8 + k] = static_cast<unsigned char>(fields[f] >> (8 * k));
    }
    XXH3_64bits_update(state, record, sizeof record);
  }
  const std::uint64_t hash = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return hash;
}

Status apply(Volume& volume, const IoOp& op) {
  switch (op.kind) {
    case IoOperation::kRead: {
      std::vector<std::byte> buffer(static_cast<std::size_t>(op.length));
      return volume.read(op.offset, buffer);
    }
    case IoOperation::kWrite: {
      std::vector<std::byte> buffer(static_cast<std::size_t>(op.length));
      fill_payload(op, buffer);
      return volume.write(op.offset, buffer);
    }
    case IoOperation::kFlush:
      return volume.flush();
    case IoOperation::kDiscard:
      return volume.discard(op.offset, op.length);
  }
  return invalid_argument("I/O operation kind " +
                          text(std::uint64_t{static_cast<std::uint8_t>(op.kind)}) +
                          " is not read, write, flush or discard");
}

Status run(Volume& volume, Workload& workload) {
  const WorkloadOptions& options = workload.options();
  const std::uint64_t sector = volume.sector_bytes();
  const std::uint64_t alignment =
      options.alignment_bytes == 0 ? options.sector_bytes : options.alignment_bytes;
  std::string where = "workload on volume '" + volume.name() + "'";
  if (options.volume_bytes > volume.size_bytes()) {
    return invalid_argument(where + ": workload range of " + text(options.volume_bytes) +
                            " bytes exceeds the volume's " + text(volume.size_bytes()) + " bytes");
  }
  if (alignment % sector != 0) {
    return invalid_argument(where + ": alignment " + text(alignment) +
                            " is not a multiple of the volume's sector size " + text(sector));
  }
  for (const IoSizeWeight& size : options.sizes) {
    if (size.weight != 0 && size.bytes % sector != 0) {
      return invalid_argument(where + ": request size " + text(size.bytes) +
                              " is not a multiple of the volume's sector size " + text(sector));
    }
  }
  while (std::optional<IoOp> op = workload.next()) {
    Status status = apply(volume, *op);
    if (!status.ok()) {
      return status.with_context(where + ": operation " + text(workload.produced() - 1) + " (" +
                                 io_operation_name(op->kind) + " offset " + text(op->offset) +
                                 " length " + text(op->length) + ")");
    }
  }
  return Status();
}

}  // namespace freezeframe::sim

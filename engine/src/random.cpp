#include "freezeframe/random.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>

#include "freezeframe/assert.h"

namespace freezeframe {

std::optional<std::uint64_t> ChoiceTape::take(std::size_t count) {
  FF_ASSERT(count >= 1 && count <= 8);
  if (at_ >= bytes_.size())
    return std::nullopt;
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < count && at_ < bytes_.size(); ++i, ++at_)
    value |= std::uint64_t{bytes_[at_]} << (8 * i);
  return value;
}

std::uint64_t Random::next_u64() {
  if (tape_ != nullptr) {
    if (auto value = tape_->take(8))
      return *value;
  }
  return engine_();
}

std::uint64_t Random::uniform(std::uint64_t bound) {
  FF_ASSERT(bound > 0);
  if (tape_ != nullptr && !tape_->used_up()) {
    if (bound == 1)
      return 0;
    // As few bytes as the bound needs, so that one mutated byte is one changed choice.
    const auto bytes = std::max<std::size_t>(1, (std::bit_width(bound - 1) + 7) / 8);
    if (auto value = tape_->take(bytes))
      return *value % bound;
  }
  // Rejection sampling: unbiased, portable, independent of the standard library's
  // distributions (which differ between implementations).
  const std::uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
  for (;;) {
    std::uint64_t value = next_u64();
    if (value >= threshold)
      return value % bound;
  }
}

std::uint64_t Random::uniform_range(std::uint64_t low, std::uint64_t high) {
  FF_ASSERT(low <= high);
  if (low == 0 && high == UINT64_MAX)
    return next_u64();
  return low + uniform(high - low + 1);
}

double Random::uniform_real() {
  if (tape_ != nullptr) {
    if (auto value = tape_->take(2))
      return static_cast<double>(*value) * 0x1.0p-16;
  }
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

bool Random::chance(double probability) {
  if (probability <= 0.0)
    return false;
  if (probability >= 1.0)
    return true;
  return uniform_real() < probability;
}

void Random::fill(std::span<std::byte> out) {
  std::size_t i = 0;
  while (i < out.size()) {
    std::uint64_t word = engine_();
    std::size_t n = std::min<std::size_t>(8, out.size() - i);
    // Byte order fixed (little-endian) so a seed gives the same bytes on every host.
    for (std::size_t k = 0; k < n; ++k) {
      out[i + k] = static_cast<std::byte>(word >> (8 * k));
    }
    i += n;
  }
}

Random Random::fork(std::string_view label) const {
  return Random(derive_seed(seed_, label), tape_);
}

std::uint64_t derive_seed(std::uint64_t seed, std::string_view label) noexcept {
  return XXH3_64bits_withSeed(label.data(), label.size(), seed);
}

}  // namespace freezeframe

#include "freezeframe/random.h"

#include <xxhash.h>

#include <algorithm>

#include "freezeframe/assert.h"

namespace freezeframe {

std::uint64_t Random::uniform(std::uint64_t bound) {
  FF_ASSERT(bound > 0);
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
    std::uint64_t word = next_u64();
    std::size_t n = std::min<std::size_t>(8, out.size() - i);
    // Byte order fixed (little-endian) so a seed gives the same bytes on every host.
    for (std::size_t k = 0; k < n; ++k) {
      out[i + k] = static_cast<std::byte>(word >> (8 * k));
    }
    i += n;
  }
}

Random Random::fork(std::string_view label) const {
  return Random(derive_seed(seed_, label));
}

std::uint64_t derive_seed(std::uint64_t seed, std::string_view label) noexcept {
  return XXH3_64bits_withSeed(label.data(), label.size(), seed);
}

}  // namespace freezeframe

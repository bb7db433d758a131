// Test payloads that compress: runs of repeated bytes with random stretches between them,
// so a compressing diff area stores some chunks compressed and falls back to raw for others.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>

#include "freezeframe/random.h"

namespace freezeframe::testing {

inline void fill_mixed(Random& random, std::span<std::byte> out) {
  if (random.chance(0.3)) {
    random.fill(out);  // incompressible
    return;
  }
  std::size_t position = 0;
  while (position < out.size()) {
    std::size_t run = std::min<std::size_t>(out.size() - position, random.uniform_range(16, 2048));
    if (random.chance(0.2)) {
      random.fill(out.subspan(position, run));
    } else {
      std::fill_n(out.begin() + static_cast<std::ptrdiff_t>(position), run,
                  static_cast<std::byte>(random.uniform(256)));
    }
    position += run;
  }
}

}  // namespace freezeframe::testing

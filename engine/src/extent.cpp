#include "freezeframe/extent.h"

#include <algorithm>

namespace freezeframe {

std::vector<Extent> normalize_extents(std::vector<Extent> extents) {
  std::erase_if(extents, [](const Extent& extent) { return extent.length == 0; });
  std::sort(extents.begin(), extents.end(),
            [](const Extent& a, const Extent& b) { return a.offset < b.offset; });
  std::vector<Extent> merged;
  merged.reserve(extents.size());
  for (const Extent& extent : extents) {
    if (!merged.empty() && extent.offset <= merged.back().end()) {
      merged.back().length = std::max(merged.back().end(), extent.end()) - merged.back().offset;
    } else {
      merged.push_back(extent);
    }
  }
  return merged;
}

std::uint64_t extent_bytes(const std::vector<Extent>& extents) noexcept {
  std::uint64_t total = 0;
  for (const Extent& extent : extents)
    total += extent.length;
  return total;
}

}  // namespace freezeframe

// Extent: a byte range of a volume, the unit in which change tracking reports what changed
// and in which a backup's manifest records the runs of chunks it holds.
//
// An extent is [offset, offset + length). Lists of extents handed out by freezeframe are
// sorted by offset, never overlap, never touch (adjacent runs are merged), and have no
// zero-length member; callers that build lists themselves may use normalize_extents() to get
// the same shape.
//
// Thread-safety: a value.
#pragma once

#include <cstdint>
#include <vector>

namespace freezeframe {

struct Extent {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;

  std::uint64_t end() const noexcept { return offset + length; }
  friend bool operator==(const Extent&, const Extent&) = default;
};

// Sorts `extents`, merges those that overlap or touch and drops empty ones.
std::vector<Extent> normalize_extents(std::vector<Extent> extents);

// Total bytes covered by a normalized list.
std::uint64_t extent_bytes(const std::vector<Extent>& extents) noexcept;

}  // namespace freezeframe

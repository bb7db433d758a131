// The map of an exported view (NBD's base:allocation, the serve daemon's `extents` reply):
// which runs hold data and which are holes that read as zeros; and the change map of a
// changes-since export. Shared by the nbdkit plugin's local backend and the serve daemon, so
// both answer the same way (docs/nbd.md, "The map").
//
// Allocation: a run is a hole (reading as zeros) only where the volume's image file has a
// hole and the view reads zeros there. For a CoW view, directly where no write since the
// view's point could have placed data elsewhere (change tracking); elsewhere (and for every
// RoW view) after reading the run through the view and finding zeros. Everything else is
// data: the map never reports zeros that do not read as zeros.
//
// Changes: the chunks written between a point (a change id `ffcbt1:...` or a snapshot of the
// volume) and the view's point (a snapshot's creation; for a live volume, now) are data;
// every other run is reported as a hole that reads as zeros (a map of what changed).
//
// Thread-safety: free functions; the provider and view are thread-safe (snapshot_provider.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "freezeframe/extent.h"
#include "freezeframe/snapshot_provider.h"
#include "freezeframe/status.h"

namespace freezeframe::serve {

// A run of a map.
struct MapRun {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  // Not allocated (NBD_STATE_HOLE) and reading as zeros (NBD_STATE_ZERO).
  bool hole = false;
  bool zero = false;
  friend bool operator==(const MapRun&, const MapRun&) = default;
};

// An exported view, as the map sees it. Borrowed: everything must outlive the call.
struct MapSource {
  std::uint64_t size_bytes = 0;
  // Null: the view is the image file itself (a volume without shadow storage).
  const SnapshotProvider* provider = nullptr;
  // Null: the live volume.
  const SnapshotInfo* snapshot = nullptr;
  // The volume's image file, opened for reading; -1 when it has no holes to tell (a block
  // device), and then everything is data.
  int image_fd = -1;
  // Reads any byte range of the view.
  std::function<Status(std::uint64_t, std::span<std::byte>)> read;
};

// A hole that the view may read from the diff area is read a piece at a time, and at most
// this much per call: the map may stop short (the caller asks again for the rest).
inline constexpr std::uint64_t kMapConfirmPieceBytes = 1 << 20;
inline constexpr std::uint64_t kMapConfirmBytesMax = 64ull << 20;

// The allocation map of [offset, end), end <= size: contiguous runs from `offset`, at least one
// byte, maybe short of `end`.
Result<std::vector<MapRun>> allocation_map(const MapSource& source, std::uint64_t offset,
                                           std::uint64_t end);

// The change map of [offset, end): `changed` (sorted, merged) as data, the rest holes.
std::vector<MapRun> change_map(const std::vector<Extent>& changed, std::uint64_t offset,
                               std::uint64_t end);

// What changes-since=TEXT names for a view: a change id, or a snapshot of the volume (then its
// change id too).
struct ChangeBase {
  std::string change_id;
  std::optional<Uuid> snapshot;
};
// `what` names the request in messages ("changes-since=X for volume 'data'"). kInvalidArgument
// for a malformed id, a snapshot of another volume, a volume without change tracking.
Result<ChangeBase> parse_change_base(const SnapshotProvider* provider, const std::string& text,
                                     const std::string& what);
// The chunks written between `base` and the view's point (`snapshot`, or now when null).
// kInvalidArgument with the reason when they are no longer known (a reset).
Result<std::vector<Extent>> changes_since(const SnapshotProvider& provider,
                                          const SnapshotInfo* snapshot, const ChangeBase& base,
                                          const std::string& what);

}  // namespace freezeframe::serve

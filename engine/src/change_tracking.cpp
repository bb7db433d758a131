// SnapshotProvider's change-tracking calls (snapshot_provider.h); the tracker itself is
// change_tracker.h, kept by ProviderState.
#include <algorithm>
#include <mutex>
#include <shared_mutex>

#include "provider_impl.h"

namespace freezeframe {

namespace {

using detail::ChangeTracker;
using detail::ChunkBitmap;

ChangedExtents extents_of(const detail::DiffAreaGeometry& geometry, const ChunkBitmap& chunks) {
  ChangedExtents out;
  out.chunk_bytes = geometry.chunk_bytes;
  chunks.for_each_run([&](std::uint64_t first, std::uint64_t count) {
    const std::uint64_t offset = geometry.chunk_offset(first);
    const std::uint64_t length =
        std::min(count * geometry.chunk_bytes, geometry.origin_bytes - offset);
    out.extents.push_back(Extent{offset, length});
  });
  return out;
}

ChangedExtents reset_of(const detail::DiffAreaGeometry& geometry, std::string reason) {
  ChangedExtents out;
  out.chunk_bytes = geometry.chunk_bytes;
  out.reset = true;
  out.reset_reason = std::move(reason);
  return out;
}

}  // namespace

Result<std::string> SnapshotProvider::new_change_id() {
  Impl& s = impl();
  std::unique_lock lock(s.mutex);
  FF_TRY(s.check_writable());
  const std::uint64_t number = s.state.begin_generation(0, 0, s.state.tracker().retained_max());
  FF_TRY(s.state.commit());
  return s.state.tracker().token(s.state.tracker().epoch(), number);
}

Result<ChangedExtents> SnapshotProvider::changed_extents(std::string_view since,
                                                         std::string_view until) const {
  const Impl& s = impl();
  FF_ASSIGN_OR_RETURN(ChangeTracker::ParsedToken from, ChangeTracker::parse_token(since));
  std::optional<ChangeTracker::ParsedToken> to;
  if (!until.empty()) {
    FF_ASSIGN_OR_RETURN(to, ChangeTracker::parse_token(until));
    if (to->diff_area != from.diff_area || to->epoch != from.epoch || to->number < from.number) {
      return Status(ErrorCode::kInvalidArgument, "change id '" + std::string(until) +
                                                     "' is not later than '" + std::string(since) +
                                                     "' in the same history");
    }
  }
  std::shared_lock lock(s.mutex);
  const ChangeTracker& tracker = s.state.tracker();
  const Uuid& own = s.journal.superblock().diff_area_uuid;
  if (from.diff_area != own) {
    return reset_of(s.diff_area.geometry(), "the change id is of diff area " +
                                                from.diff_area.to_string() + ", not of this one (" +
                                                own.to_string() + ")");
  }
  if (!s.state.damage().ok()) {
    return reset_of(s.diff_area.geometry(),
                    "the journal holds a damaged commit, so changes may be missing (" +
                        s.state.damage().message() + ")");
  }
  if (tracker.started() && from.epoch == tracker.epoch()) {
    const std::uint64_t latest = to ? to->number : from.number;
    if (latest > tracker.current()) {
      return Status(ErrorCode::kInvalidArgument, "change id generation " + std::to_string(latest) +
                                                     " was never handed out on '" +
                                                     s.identity.name + "' (the current is " +
                                                     std::to_string(tracker.current()) + ")");
    }
  }
  detail::ChangedChunks changed = tracker.changed(from.epoch, from.number, to ? to->number : 0);
  if (changed.reset)
    return reset_of(s.diff_area.geometry(), std::move(changed.reason));
  return extents_of(s.diff_area.geometry(), changed.chunks);
}

Result<ChangedExtents> SnapshotProvider::changed_extents(const Uuid& snapshot_a,
                                                         const Uuid& snapshot_b) const {
  const Impl& s = impl();
  std::shared_lock lock(s.mutex);
  FF_ASSIGN_OR_RETURN(const detail::SnapshotMeta* a, s.find_snapshot(snapshot_a));
  FF_ASSIGN_OR_RETURN(const detail::SnapshotMeta* b, s.find_snapshot(snapshot_b));
  for (const detail::SnapshotMeta* meta : {a, b}) {
    if (meta->invalidated) {
      return Status(ErrorCode::kInvalidated,
                    "snapshot " + meta->id.to_string() + " was invalidated; it cannot be compared");
    }
  }
  if (a->tag > b->tag)
    std::swap(a, b);
  const ChangeTracker& tracker = s.state.tracker();
  if (tracker.started() && a->cbt_generation != 0 && b->cbt_generation != 0 &&
      a->cbt_epoch == tracker.epoch() && b->cbt_epoch == tracker.epoch() &&
      a->cbt_generation >= tracker.oldest()) {
    detail::ChangedChunks changed =
        tracker.changed(a->cbt_epoch, a->cbt_generation, b->cbt_generation);
    if (!changed.reset)
      return extents_of(s.diff_area.geometry(), changed.chunks);
  }
  // From the index: a chunk differs when the two snapshots read it from different places.
  ChunkBitmap chunks(s.diff_area.geometry().chunks());
  s.state.index().for_each([&](std::uint64_t chunk, std::span<const detail::IndexEntry>) {
    if (s.state.locate(chunk, a->tag) != s.state.locate(chunk, b->tag))
      chunks.set_range(chunk, 1);
  });
  return extents_of(s.diff_area.geometry(), chunks);
}

}  // namespace freezeframe

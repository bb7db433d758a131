// The map of an exported view (export_map.h).
#include "export_map.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "volume_io.h"

namespace freezeframe::serve {

namespace {

// Change ids are texts of this prefix (docs/providers.md, "Change tracking"); anything else
// given as changes-since is taken for a snapshot id.
constexpr std::string_view kChangeIdPrefix = "ffcbt";

// Appends a run to `out`, merged with the last one when they have the same flags.
void add_run(std::vector<MapRun>& out, std::uint64_t offset, std::uint64_t length, bool hole) {
  if (length == 0)
    return;
  if (!out.empty() && out.back().hole == hole && out.back().offset + out.back().length == offset) {
    out.back().length += length;
    return;
  }
  out.push_back({.offset = offset, .length = length, .hole = hole, .zero = hole});
}

// The first extent of sorted, merged `extents` that ends after `pos`, or nullptr.
const Extent* extent_after(const std::vector<Extent>& extents, std::uint64_t pos) {
  auto it = std::upper_bound(extents.begin(), extents.end(), pos,
                             [](std::uint64_t p, const Extent& e) { return p < e.end(); });
  return it == extents.end() ? nullptr : &*it;
}

// Where the view may read something other than the image file: the runs a hole of the file
// must be read through the view to be reported as zero.
std::vector<Extent> suspects(const MapSource& source) {
  const SnapshotProvider* provider = source.provider;
  std::vector<Extent> everything{{0, source.size_bytes}};
  if (provider == nullptr)
    return {};  // the view is the image file itself
  if (provider->kind() != ProviderKind::kCopyOnWrite)
    return everything;  // RoW: any chunk may be redirected into the diff area
  // CoW: a snapshot reads a chunk from the diff area only if it was written after the
  // snapshot; the live volume differs from its image only in chunks held since the newest one.
  std::string since;
  if (source.snapshot != nullptr) {
    since = source.snapshot->change_id;
  } else {
    std::vector<SnapshotInfo> all = provider->snapshots();
    if (all.empty())
      return {};
    since = all.back().change_id;
  }
  if (since.empty())
    return everything;
  auto changed = provider->changed_extents(since);
  if (!changed.ok() || changed->reset)
    return everything;
  return std::move(changed->extents);
}

// The run of the image file from `pos` (before `end`): its end, and whether it is a hole.
std::pair<std::uint64_t, bool> image_run(int fd, std::uint64_t pos, std::uint64_t end) {
  if (fd < 0)
    return {end, false};
  off_t data = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
  if (data < 0)
    return {end, errno == ENXIO};  // ENXIO: no data after pos
  if (static_cast<std::uint64_t>(data) > pos)
    return {std::min<std::uint64_t>(static_cast<std::uint64_t>(data), end), true};
  off_t hole = ::lseek(fd, static_cast<off_t>(pos), SEEK_HOLE);
  if (hole < 0 || static_cast<std::uint64_t>(hole) <= pos)
    return {end, false};
  return {std::min<std::uint64_t>(static_cast<std::uint64_t>(hole), end), false};
}

}  // namespace

Result<std::vector<MapRun>> allocation_map(const MapSource& source, std::uint64_t offset,
                                           std::uint64_t end) {
  const std::vector<Extent> suspect = suspects(source);
  std::vector<MapRun> out;
  std::vector<std::byte> piece;
  std::uint64_t confirmed = 0;
  std::uint64_t pos = offset;
  while (pos < end) {
    auto [run_end, hole] = image_run(source.image_fd, pos, end);
    if (!hole) {
      add_run(out, pos, run_end - pos, false);
      pos = run_end;
      continue;
    }
    while (pos < run_end) {
      const Extent* s = extent_after(suspect, pos);
      if (s == nullptr || s->offset >= run_end) {
        add_run(out, pos, run_end - pos, true);
        pos = run_end;
        break;
      }
      if (s->offset > pos) {
        add_run(out, pos, s->offset - pos, true);
        pos = s->offset;
        continue;
      }
      // A hole of the file that the view may read from the diff area: read it.
      const std::uint64_t stop = std::min(s->end(), run_end);
      while (pos < stop) {
        if (confirmed >= kMapConfirmBytesMax && !out.empty())
          return out;
        const std::uint64_t next =
            std::min(stop, (pos / kMapConfirmPieceBytes + 1) * kMapConfirmPieceBytes);
        piece.resize(next - pos);
        FF_TRY(source.read(pos, piece));
        add_run(out, pos, next - pos, nbd::all_zero(piece));
        confirmed += next - pos;
        pos = next;
      }
    }
  }
  return out;
}

std::vector<MapRun> change_map(const std::vector<Extent>& changed, std::uint64_t offset,
                               std::uint64_t end) {
  std::vector<MapRun> out;
  std::uint64_t pos = offset;
  while (pos < end) {
    const Extent* c = extent_after(changed, pos);
    if (c == nullptr || c->offset >= end) {
      add_run(out, pos, end - pos, true);
      break;
    }
    if (c->offset > pos) {
      add_run(out, pos, c->offset - pos, true);
      pos = c->offset;
    }
    const std::uint64_t stop = std::min(c->end(), end);
    add_run(out, pos, stop - pos, false);
    pos = stop;
  }
  return out;
}

Result<ChangeBase> parse_change_base(const SnapshotProvider* provider, const std::string& text,
                                     const std::string& what) {
  if (provider == nullptr)
    return invalid_argument(what +
                            ": the volume has no shadow storage, so nothing tracks its "
                            "changes (create shadow storage or a snapshot first)");
  ChangeBase base;
  if (text.starts_with(kChangeIdPrefix)) {
    base.change_id = text;
    return base;
  }
  auto id = Uuid::parse(text);
  if (!id.ok())
    return invalid_argument(what + ": neither a change id (ffcbt1:...) nor a snapshot id");
  auto info = provider->snapshot_info(*id);
  if (!info.ok())
    return invalid_argument(what + ": " + id->to_string() + " is not a snapshot of the volume");
  base.snapshot = *id;
  base.change_id = info->change_id;
  return base;
}

Result<std::vector<Extent>> changes_since(const SnapshotProvider& provider,
                                          const SnapshotInfo* snapshot, const ChangeBase& base,
                                          const std::string& what) {
  Result<ChangedExtents> changed = invalid_argument("unset");
  if (snapshot != nullptr && base.snapshot) {
    // Two snapshots: exact from their ids or the version index, never a reset.
    changed = provider.changed_extents(*base.snapshot, snapshot->id);
  } else if (base.change_id.empty()) {
    return invalid_argument(what + ": that snapshot was taken before change tracking began");
  } else if (snapshot != nullptr) {
    if (snapshot->change_id.empty())
      return invalid_argument(what +
                              ": the exported snapshot was taken before change tracking "
                              "began");
    changed = provider.changed_extents(base.change_id, snapshot->change_id);
  } else {
    changed = provider.changed_extents(base.change_id);
  }
  if (!changed.ok())
    return changed.status().with_context(what);
  if (changed->reset)
    return invalid_argument(what + ": what changed since then is no longer known (" +
                            changed->reset_reason + "); copy the whole volume instead");
  return std::move(changed->extents);
}

}  // namespace freezeframe::serve

#include "local_store_backend.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>

#include "freezeframe/extent.h"
#include "store.h"
#include "volume_io.h"

namespace freezeframe::nbd {

namespace {

namespace fs = std::filesystem;

// Change ids are texts of this prefix (docs/providers.md, "Change tracking"); anything else
// given as changes-since is taken for a snapshot id.
constexpr std::string_view kChangeIdPrefix = "ffcbt";
// A hole of the image file that the view may read from elsewhere is read to tell whether it
// is zero: a piece at a time, and at most this much per map request (the client asks again
// for the rest).
constexpr std::uint64_t kConfirmPieceBytes = 1 << 20;
constexpr std::uint64_t kConfirmBytesMax = 64ull << 20;

// Appends a run to `out`, merged with the last one when they have the same flags.
void add_run(std::vector<ExportExtent>& out, std::uint64_t offset, std::uint64_t length,
             bool hole) {
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

class LocalStoreBackend final : public ExportBackend {
 public:
  LocalStoreBackend() = default;
  ~LocalStoreBackend() override {
    // The views before the store that owns their provider.
    io_.reset();
    snapshot_.reset();
    if (image_fd_ >= 0)
      ::close(image_fd_);
  }
  LocalStoreBackend(const LocalStoreBackend&) = delete;
  LocalStoreBackend& operator=(const LocalStoreBackend&) = delete;

  Status open(const ExportSpec& spec);

  const std::string& description() const noexcept override { return description_; }
  std::uint64_t size_bytes() const noexcept override { return view_->size_bytes(); }
  bool writable() const noexcept override { return !view_->read_only(); }
  std::uint32_t preferred_bytes() const noexcept override { return view_->optimal_io_bytes(); }

  Status read(std::uint64_t offset, std::span<std::byte> out) override {
    return io_->read(offset, out);
  }
  Status write(std::uint64_t offset, std::span<const std::byte> data) override {
    return io_->write(offset, data);
  }
  Status flush() override { return view_->flush(); }
  Status trim(std::uint64_t offset, std::uint64_t length) override {
    return io_->trim(offset, length);
  }
  Status zero(std::uint64_t offset, std::uint64_t length, bool may_trim) override {
    return io_->zero(offset, length, may_trim);
  }
  Result<std::vector<ExportExtent>> extents(std::uint64_t offset, std::uint64_t length) override;

 private:
  Status open_changes(const std::string& text);
  // The changed extents the map of a changes-since export shows now.
  Result<std::vector<Extent>> changes_now() const;
  // Where the view may read something other than the image file: the runs a hole of the file
  // must be read through the view to be reported as zero.
  std::vector<Extent> suspects() const;
  // The run of the image file from `pos` (before `end`): its end, and whether it is a hole.
  std::pair<std::uint64_t, bool> image_run(std::uint64_t pos, std::uint64_t end) const;
  Result<std::vector<ExportExtent>> allocation(std::uint64_t offset, std::uint64_t end);
  Result<std::vector<ExportExtent>> change_map(std::uint64_t offset, std::uint64_t end) const;

  std::unique_ptr<cli::Store> store_;
  cli::OpenVolume* opened_ = nullptr;
  std::unique_ptr<Volume> snapshot_;
  std::optional<SnapshotInfo> snapshot_info_;
  Volume* view_ = nullptr;
  std::unique_ptr<VolumeIo> io_;
  int image_fd_ = -1;
  std::string description_;
  // A changes-since export: the change id, and the snapshot it was given as (if it was).
  bool changes_ = false;
  std::string since_;
  std::optional<Uuid> since_snapshot_;
  // The changes a snapshot view shows, fixed at open (a snapshot does not change).
  std::optional<std::vector<Extent>> fixed_changes_;
};

Status LocalStoreBackend::open(const ExportSpec& spec) {
  if (spec.volume.empty() && spec.snapshot.empty())
    return invalid_argument("nothing to export: give volume=NAME, snapshot=ID, or both");
  const std::string store_text = "store '" + spec.store.string() + "'";
  std::error_code error;
  if (!fs::is_directory(spec.store, error))
    return not_found(store_text + " does not exist (or is not a directory)");
  if (!fs::exists(spec.store / "catalog.json", error))
    return not_found(store_text +
                     " is not a freezeframe store: it has no catalog.json (create a volume with "
                     "'freezeframe --store DIR volume create' first)");
  // A snapshot export only reads: the shared lock leaves reading commands running beside it.
  cli::StoreOpenOptions options;
  options.access = spec.snapshot.empty() ? cli::StoreAccess::kWrite : cli::StoreAccess::kRead;
  auto store = cli::Store::open(spec.store, options);
  if (!store.ok())
    return store.status().with_context("opening " + store_text);
  store_ = std::move(store).value();

  cli::VolumeEntry* entry = nullptr;
  if (!spec.volume.empty()) {
    auto found = store_->volume(spec.volume);
    if (!found.ok())
      return found.status();
    entry = *found;
  }
  if (!spec.snapshot.empty()) {
    auto shadow = store_->find_shadow(std::string_view(spec.snapshot));
    if (!shadow.ok())
      return shadow.status().with_context("snapshot " + spec.snapshot + " in " + store_text);
    if (entry != nullptr && shadow->volume != entry)
      return invalid_argument("snapshot " + spec.snapshot + " in " + store_text +
                              " is a snapshot of volume '" + shadow->volume->name + "', not of '" +
                              entry->name + "'");
    entry = shadow->volume;
    snapshot_info_ = shadow->info;
  }
  auto opened = store_->open_volume(*entry);
  if (!opened.ok())
    return opened.status().with_context("opening volume '" + entry->name + "' of " + store_text);
  opened_ = *opened;
  description_ = "volume '" + entry->name + "' of " + store_text;
  if (snapshot_info_) {
    auto snapshot = opened_->provider->open_snapshot(snapshot_info_->id);
    if (!snapshot.ok())
      return snapshot.status().with_context("snapshot " + snapshot_info_->id.to_string() + " of " +
                                            description_);
    snapshot_ = std::move(snapshot).value();
    view_ = snapshot_.get();
    description_ = "snapshot " + snapshot_info_->id.to_string() + " of " + description_;
  } else {
    view_ = &opened_->live();
  }
  io_ = std::make_unique<VolumeIo>(*view_);
  if (!spec.changes_since.empty())
    FF_TRY(open_changes(spec.changes_since));

  // The image file's holes drive the allocation map; a block device (or a file system without
  // SEEK_HOLE) has none, and then everything is data.
  auto image = store_->image_path(*entry);
  if (image.ok())
    image_fd_ = ::open(image->c_str(), O_RDONLY | O_CLOEXEC);
  return Status();
}

Status LocalStoreBackend::open_changes(const std::string& text) {
  const std::string what = "changes-since=" + text + " for " + description_;
  SnapshotProvider* provider = opened_->provider.get();
  if (provider == nullptr)
    return invalid_argument(what +
                            ": the volume has no shadow storage, so nothing tracks its "
                            "changes (create shadow storage or a snapshot first)");
  changes_ = true;
  if (text.starts_with(kChangeIdPrefix)) {
    since_ = text;
  } else {
    auto id = Uuid::parse(text);
    if (!id.ok())
      return invalid_argument(what + ": neither a change id (ffcbt1:...) nor a snapshot id");
    auto info = provider->snapshot_info(*id);
    if (!info.ok())
      return invalid_argument(what + ": " + id->to_string() + " is not a snapshot of the volume");
    since_snapshot_ = *id;
    since_ = info->change_id;
  }
  Result<ChangedExtents> changed = invalid_argument("unset");
  if (snapshot_info_ && since_snapshot_) {
    // Two snapshots: exact from their ids or the version index, never a reset.
    changed = provider->changed_extents(*since_snapshot_, snapshot_info_->id);
  } else if (since_.empty()) {
    return invalid_argument(what + ": that snapshot was taken before change tracking began");
  } else if (snapshot_info_) {
    if (snapshot_info_->change_id.empty())
      return invalid_argument(what +
                              ": the exported snapshot was taken before change tracking "
                              "began");
    changed = provider->changed_extents(since_, snapshot_info_->change_id);
  } else {
    changed = provider->changed_extents(since_);
  }
  if (!changed.ok())
    return changed.status().with_context(what);
  if (changed->reset)
    return invalid_argument(what + ": what changed since then is no longer known (" +
                            changed->reset_reason + "); copy the whole volume instead");
  if (snapshot_info_)
    fixed_changes_ = std::move(changed->extents);
  return Status();
}

Result<std::vector<Extent>> LocalStoreBackend::changes_now() const {
  if (fixed_changes_)
    return *fixed_changes_;
  FF_ASSIGN_OR_RETURN(ChangedExtents changed, opened_->provider->changed_extents(since_));
  if (changed.reset)
    return io_error("changes since " + since_ + " of " + description_ +
                    " are no longer known: " + changed.reset_reason);
  return std::move(changed.extents);
}

std::vector<Extent> LocalStoreBackend::suspects() const {
  const SnapshotProvider* provider = opened_->provider.get();
  std::vector<Extent> everything{{0, view_->size_bytes()}};
  if (provider == nullptr)
    return {};  // the view is the image file itself
  if (provider->kind() != ProviderKind::kCopyOnWrite)
    return everything;  // RoW: any chunk may be redirected into the diff area
  // CoW: a snapshot reads a chunk from the diff area only if it was written after the
  // snapshot; the live volume differs from its image only in chunks held since the newest one.
  std::string since;
  if (snapshot_info_) {
    since = snapshot_info_->change_id;
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

std::pair<std::uint64_t, bool> LocalStoreBackend::image_run(std::uint64_t pos,
                                                            std::uint64_t end) const {
  if (image_fd_ < 0)
    return {end, false};
  off_t data = ::lseek(image_fd_, static_cast<off_t>(pos), SEEK_DATA);
  if (data < 0)
    return {end, errno == ENXIO};  // ENXIO: no data after pos
  if (static_cast<std::uint64_t>(data) > pos)
    return {std::min<std::uint64_t>(static_cast<std::uint64_t>(data), end), true};
  off_t hole = ::lseek(image_fd_, static_cast<off_t>(pos), SEEK_HOLE);
  if (hole < 0 || static_cast<std::uint64_t>(hole) <= pos)
    return {end, false};
  return {std::min<std::uint64_t>(static_cast<std::uint64_t>(hole), end), false};
}

Result<std::vector<ExportExtent>> LocalStoreBackend::allocation(std::uint64_t offset,
                                                                std::uint64_t end) {
  const std::vector<Extent> suspect = suspects();
  std::vector<ExportExtent> out;
  std::vector<std::byte> piece;
  std::uint64_t confirmed = 0;
  std::uint64_t pos = offset;
  while (pos < end) {
    auto [run_end, hole] = image_run(pos, end);
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
        if (confirmed >= kConfirmBytesMax && !out.empty())
          return out;
        const std::uint64_t next =
            std::min(stop, (pos / kConfirmPieceBytes + 1) * kConfirmPieceBytes);
        piece.resize(next - pos);
        FF_TRY(io_->read(pos, piece));
        add_run(out, pos, next - pos, all_zero(piece));
        confirmed += next - pos;
        pos = next;
      }
    }
  }
  return out;
}

Result<std::vector<ExportExtent>> LocalStoreBackend::change_map(std::uint64_t offset,
                                                                std::uint64_t end) const {
  FF_ASSIGN_OR_RETURN(std::vector<Extent> changed, changes_now());
  std::vector<ExportExtent> out;
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

Result<std::vector<ExportExtent>> LocalStoreBackend::extents(std::uint64_t offset,
                                                             std::uint64_t length) {
  const std::uint64_t end = std::min(offset + length, view_->size_bytes());
  if (offset >= end)
    return invalid_argument("map of " + description_ + ": offset " + std::to_string(offset) +
                            " is past the end");
  return changes_ ? change_map(offset, end) : allocation(offset, end);
}

}  // namespace

Result<std::unique_ptr<ExportBackend>> open_local_store_backend(const ExportSpec& spec) {
  auto backend = std::make_unique<LocalStoreBackend>();
  FF_TRY(backend->open(spec));
  return std::unique_ptr<ExportBackend>(std::move(backend));
}

}  // namespace freezeframe::nbd

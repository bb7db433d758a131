#include "local_store_backend.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>

#include "export_map.h"
#include "freezeframe/extent.h"
#include "store.h"
#include "volume_io.h"

namespace freezeframe::nbd {

namespace {

namespace fs = std::filesystem;

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
  // "changes-since=ID for ...", for messages.
  std::string changes_what_;

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
  serve::ChangeBase since_;
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
  changes_what_ = "changes-since=" + text + " for " + description_;
  FF_ASSIGN_OR_RETURN(since_,
                      serve::parse_change_base(opened_->provider.get(), text, changes_what_));
  changes_ = true;
  // Checked now, so that an id that cannot be answered stops nbdkit before it serves.
  FF_ASSIGN_OR_RETURN(std::vector<Extent> changed, changes_now());
  if (snapshot_info_)
    fixed_changes_ = std::move(changed);  // a snapshot does not change
  return Status();
}

Result<std::vector<Extent>> LocalStoreBackend::changes_now() const {
  if (fixed_changes_)
    return *fixed_changes_;
  return serve::changes_since(*opened_->provider, snapshot_info_ ? &*snapshot_info_ : nullptr,
                              since_, changes_what_);
}

Result<std::vector<ExportExtent>> LocalStoreBackend::extents(std::uint64_t offset,
                                                             std::uint64_t length) {
  const std::uint64_t end = std::min(offset + length, view_->size_bytes());
  if (offset >= end)
    return invalid_argument("map of " + description_ + ": offset " + std::to_string(offset) +
                            " is past the end");
  if (changes_) {
    FF_ASSIGN_OR_RETURN(std::vector<Extent> changed, changes_now());
    return serve::change_map(changed, offset, end);
  }
  serve::MapSource source;
  source.size_bytes = view_->size_bytes();
  source.provider = opened_->provider.get();
  source.snapshot = snapshot_info_ ? &*snapshot_info_ : nullptr;
  source.image_fd = image_fd_;
  source.read = [this](std::uint64_t at, std::span<std::byte> out) { return io_->read(at, out); };
  return serve::allocation_map(source, offset, end);
}

}  // namespace

Result<std::unique_ptr<ExportBackend>> open_local_store_backend(const ExportSpec& spec) {
  auto backend = std::make_unique<LocalStoreBackend>();
  FF_TRY(backend->open(spec));
  return std::unique_ptr<ExportBackend>(std::move(backend));
}

}  // namespace freezeframe::nbd

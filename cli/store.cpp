#include "store.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "output.h"
#include "parse.h"
#include "store_detail.h"

namespace freezeframe::cli {
namespace store_detail {

namespace fs = std::filesystem;

bool plain_store_path(const std::string& relative, std::string_view subdir) {
  fs::path path(relative);
  if (relative.empty() || path.is_absolute() || path.has_root_name())
    return false;
  auto it = path.begin();
  if (it == path.end() || *it != subdir)
    return false;
  std::size_t parts = 0;
  for (const fs::path& part : path) {
    if (part == ".." || part == "." || part.empty())
      return false;
    ++parts;
  }
  return parts >= 2;
}

// `path` resolved through symbolic links stays inside `root` (both canonical where they exist).
bool resolves_inside(const fs::path& path, const fs::path& root) {
  std::error_code error;
  fs::path real = fs::weakly_canonical(path, error);
  if (error)
    return false;
  fs::path base = fs::weakly_canonical(root, error);
  if (error)
    return false;
  auto [root_end, ignored] = std::mismatch(base.begin(), base.end(), real.begin(), real.end());
  return root_end == base.end();
}

// What is at `path` now, or nullopt if nothing (or it cannot be examined).
std::optional<ExposedFile> exposed_file_at(const fs::path& path) {
  auto id = FileVolume::file_id(path.string());
  if (!id.ok())
    return std::nullopt;
  std::error_code error;
  std::uint64_t size = fs::file_size(path, error);
  if (error)
    return std::nullopt;
  auto modified = fs::last_write_time(path, error);
  if (error)
    return std::nullopt;
  return ExposedFile{
      *id, size,
      std::chrono::duration_cast<std::chrono::nanoseconds>(modified.time_since_epoch()).count()};
}

bool is_image_name(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".img") == 0;
}

// The code points of `text` if it is valid UTF-8 (shortest forms, no surrogates).
}  // namespace store_detail

namespace {

using namespace store_detail;  // NOLINT(google-build-using-namespace)
namespace fs = std::filesystem;

constexpr std::uint32_t kChunkBytes = 16 * 1024;

std::string safe_file_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    bool plain = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    out += plain ? c : '_';
  }
  if (out.size() > 40)
    out.resize(40);
  return out;
}

std::string strip_volume_suffix(std::string_view name) {
  std::string out(name);
  while (out.size() > 1 && (out.back() == '\\' || out.back() == '/'))
    out.pop_back();
  return out;
}

// `relative` is a plain relative path whose first component is `subdir` and which has no
// "." or ".." component: it cannot name anything outside DIR/subdir without a symbolic link.
}  // namespace

std::uint64_t diff_image_bytes(std::uint64_t origin_bytes, const DiffAreaLimit& limit) {
  std::uint64_t data = std::max<std::uint64_t>(4 * origin_bytes, limit.resolve(origin_bytes));
  if (limit.kind == DiffAreaLimit::Kind::kUnbounded)
    data = 4 * origin_bytes;
  data = std::max<std::uint64_t>(data, std::uint64_t{16} * kChunkBytes);
  std::uint64_t slots = data / kChunkBytes;
  std::uint64_t checkpoint_blocks = (slots * 22 + std::uint64_t{512} * 57 + 64) / 3990 + 1;
  std::uint64_t area_blocks = std::max<std::uint64_t>(128, 2 * checkpoint_blocks + 64);
  std::uint64_t metadata = 4096 + 2 * area_blocks * 4096 + kChunkBytes;
  std::uint64_t total = data + metadata;
  return (total + kChunkBytes - 1) / kChunkBytes * kChunkBytes;
}

fs::path Store::resolve_dir(const std::optional<std::string>& flag) {
  if (flag)
    return *flag;
  if (const char* env = std::getenv("FREEZEFRAME_STORE"); env != nullptr && *env != '\0')
    return env;
  return ".freezeframe";
}

Result<std::unique_ptr<Store>> Store::open(const fs::path& given, const StoreOpenOptions& options) {
  std::error_code error;
  fs::path dir = fs::absolute(given, error);
  if (error)
    return io_error("cannot resolve store directory '" + given.string() + "': " + error.message());
  if (options.access == StoreAccess::kRead && !fs::exists(dir, error)) {
    // Nothing to read, and a reading command creates nothing.
    return std::unique_ptr<Store>(new Store(dir, options.access, std::nullopt, options.notices));
  }
  if (options.access == StoreAccess::kWrite) {
    fs::create_directories(dir / kVolumesDir, error);
    if (!error)
      fs::create_directories(dir / kDiffDir, error);
    if (error)
      return io_error("cannot create store directory '" + dir.string() + "': " + error.message());
  }
  StoreLockOptions lock_options;
  lock_options.mode =
      options.access == StoreAccess::kRead ? LockMode::kShared : LockMode::kExclusive;
  lock_options.wait = options.wait;
  lock_options.on_wait = options.on_wait;
  FF_ASSIGN_OR_RETURN(StoreLock lock, StoreLock::acquire(dir, lock_options));
  std::unique_ptr<Store> store(new Store(dir, options.access, std::move(lock), options.notices));
  FF_TRY(store->load());
  if (options.access == StoreAccess::kWrite) {
    fs::remove(dir / "catalog.json.tmp", error);  // a save a crash interrupted; ours
    store->keep_reserve();
    // Housekeeping: a failure here must not stop the command the user asked for.
    auto released = store->release_orphans();
    if (!released.ok())
      store->notice(
          "could not release auto-release shadow copies left by a command that did "
          "not finish: " +
          released.status().message());
    else if (*released > 0)
      store->notice("released " + std::to_string(*released) +
                    " auto-release shadow copies left by a command that did not finish");
  }
  store->handle_pending();
  return store;
}

Store::~Store() {
  // Close providers before the volumes beneath them (members of OpenVolume do that), and
  // flush nothing more: every command flushes what it wrote.
  open_.clear();
}

void Store::notice(const std::string& text) {
  if (notices_ != nullptr)
    *notices_ << "freezeframe: note: " << text << "\n";
}

Status Store::check_writable() const {
  if (access_ != StoreAccess::kWrite)
    return Status(ErrorCode::kReadOnly,
                  "store '" + dir_.string() + "' is open for reading only; this is a bug");
  return Status();
}

VolumeEntry* Store::find_volume(std::string_view name) {
  std::string wanted = strip_volume_suffix(name);
  for (VolumeEntry& entry : catalog_.volumes)
    if (entry.name == wanted)
      return &entry;
  VolumeEntry* match = nullptr;
  for (VolumeEntry& entry : catalog_.volumes) {
    if (equals_ignore_case(entry.name, wanted)) {
      if (match != nullptr)
        return nullptr;  // ambiguous: names differ only in case
      match = &entry;
    }
  }
  if (match != nullptr)
    return match;
  // Windows' volume GUID path, \\?\Volume{UUID}\: the volume with that UUID.
  constexpr std::string_view kGuidPath = "\\\\?\\volume{";
  if (wanted.size() == kGuidPath.size() + 37 && wanted.back() == '}' &&
      equals_ignore_case(std::string_view(wanted).substr(0, kGuidPath.size()), kGuidPath)) {
    auto uuid = Uuid::parse(wanted.substr(kGuidPath.size(), 36));
    for (VolumeEntry& entry : catalog_.volumes)
      if (uuid.ok() && !entry.uuid.is_nil() && entry.uuid == *uuid)
        return &entry;
  }
  return nullptr;
}

Result<VolumeEntry*> Store::volume(std::string_view name) {
  VolumeEntry* entry = find_volume(name);
  if (entry == nullptr)
    return not_found("volume '" + std::string(name) + "' is not in the store '" + dir_.string() +
                     "' (see 'freezeframe volume list')");
  return entry;
}

Result<fs::path> Store::confined_path(const VolumeEntry& entry, const std::string& relative,
                                      std::string_view subdir, std::string_view what) const {
  if (entry.catalog_damaged)
    return corrupt("volume '" + entry.name + "' is damaged: " + entry.damage);
  fs::path path = dir_ / relative;
  if (!resolves_inside(path, dir_ / subdir))
    return corrupt("volume '" + entry.name + "': " + std::string(what) + " '" + relative +
                   "' resolves outside the store's " + std::string(subdir) + "/ directory");
  return path;
}

Result<fs::path> Store::image_path(const VolumeEntry& entry) const {
  if (!entry.owned && !entry.catalog_damaged)
    return fs::path(entry.image);
  return confined_path(entry, entry.image, kVolumesDir, "image");
}

Result<fs::path> Store::diff_path(const VolumeEntry& entry) const {
  if (!entry.storage && !entry.catalog_damaged)
    return not_found("volume '" + entry.name + "' has no shadow storage");
  return confined_path(entry, entry.storage ? entry.storage->diff_image : std::string(), kDiffDir,
                       "diff image");
}

Result<OpenVolume*> Store::open_volume(std::string_view name) {
  FF_ASSIGN_OR_RETURN(VolumeEntry * entry, volume(name));
  return open_volume(*entry);
}

Result<OpenVolume*> Store::open_volume(VolumeEntry& entry) {
  if (auto it = open_.find(entry.name); it != open_.end())
    return it->second.get();
  if (!entry.damage.empty())
    return Status(entry.damage_code == ErrorCode::kOk ? ErrorCode::kCorrupt : entry.damage_code,
                  "volume '" + entry.name + "' is damaged: " + entry.damage);
  const bool read_only = access_ == StoreAccess::kRead;
  auto fail = [&](const Status& status, VolumeEntry::Damage part) -> Status {
    entry.damage =
        (part == VolumeEntry::Damage::kImage ? "image: " : "shadow storage: ") + status.message();
    entry.damaged_part = part;
    entry.damage_code = status.code();
    return Status(status.code(), "volume '" + entry.name + "' is damaged: " + entry.damage);
  };
  constexpr auto kImage = VolumeEntry::Damage::kImage;
  constexpr auto kDiffArea = VolumeEntry::Damage::kDiffArea;
  auto opened = std::make_unique<OpenVolume>();
  opened->entry = &entry;
  auto origin = open_image_file(entry, read_only);
  if (!origin.ok())
    return fail(origin.status(), kImage);
  opened->origin = std::move(origin).value();
  if (opened->origin->size_bytes() != entry.size_bytes)
    return fail(corrupt("'" + image_path(entry)->string() + "' is " +
                        std::to_string(opened->origin->size_bytes()) +
                        " bytes, the catalog records " + std::to_string(entry.size_bytes)),
                kImage);
  bool learned = entry.uuid.is_nil();
  entry.uuid = opened->origin->uuid();
  if (entry.storage) {
    auto diff = open_diff_file(entry);
    if (!diff.ok())
      return fail(diff.status(), kDiffArea);
    opened->diff = std::move(diff).value();
    learned = learned || entry.storage->diff_uuid.is_nil();
    entry.storage->diff_uuid = opened->diff->uuid();
    auto provider = SnapshotProvider::open(*opened->origin, *opened->diff, {.name = entry.name});
    if (!provider.ok())
      return fail(provider.status(), kDiffArea);
    opened->provider = std::move(provider).value();
  }
  OpenVolume* result = opened.get();
  open_[entry.name] = std::move(opened);
  if (learned && access_ == StoreAccess::kWrite)
    FF_TRY(save());  // record identities a catalog of format version 1 did not have
  return result;
}

Result<std::unique_ptr<FileVolume>> Store::open_image_file(const VolumeEntry& entry,
                                                           bool read_only) const {
  FF_ASSIGN_OR_RETURN(fs::path image, image_path(entry));
  return FileVolume::open(image.string(), {.read_only = read_only,
                                           .sector_bytes = entry.sector_bytes,
                                           .name = entry.name,
                                           .uuid = entry.uuid});
}

Result<std::unique_ptr<FileVolume>> Store::open_diff_file(const VolumeEntry& entry) const {
  FF_ASSIGN_OR_RETURN(fs::path diff, diff_path(entry));
  return FileVolume::open(diff.string(), {.read_only = access_ == StoreAccess::kRead,
                                          .name = entry.name + " (diff area)",
                                          .uuid = entry.storage->diff_uuid});
}

Result<std::unique_ptr<FileVolume>> Store::open_origin_read_only(VolumeEntry& entry) {
  auto origin = open_image_file(entry, /*read_only=*/true);
  if (!origin.ok())
    return origin.status().with_context("volume '" + entry.name + "'");
  return std::move(origin).value();
}

Result<DiffAreaFiles> Store::open_diff_area_files(VolumeEntry& entry) {
  close_volume(entry.name);
  DiffAreaFiles files;
  FF_ASSIGN_OR_RETURN(files.origin, open_image_file(entry, access_ == StoreAccess::kRead));
  FF_ASSIGN_OR_RETURN(files.diff, open_diff_file(entry));
  return files;
}

void Store::forget_damage(VolumeEntry& entry) {
  if (entry.catalog_damaged)
    return;
  close_volume(entry.name);
  entry.damage.clear();
  entry.damaged_part = VolumeEntry::Damage::kNone;
  entry.damage_code = ErrorCode::kOk;
}

void Store::close_volume(const std::string& name) {
  open_.erase(name);
}

std::vector<VolumeEntry*> Store::check_volumes() {
  std::vector<VolumeEntry*> damaged;
  for (VolumeEntry& entry : catalog_.volumes) {
    if (!open_volume(entry).ok())
      damaged.push_back(&entry);
  }
  return damaged;
}

Status Store::check_not_in_store(const std::string& name, const fs::path& image, const Uuid& uuid) {
  if (resolves_inside(image, dir_))
    return invalid_argument("'" + image.string() + "' is inside the store '" + dir_.string() +
                            "'; attach images from outside it (use 'volume create' for a "
                            "volume the store keeps)");
  auto id = FileVolume::file_id(image.string());
  if (id.ok()) {
    for (const auto& [what, other] : named_files())
      if (*id == other)
        return Status(ErrorCode::kAlreadyExists,
                      concat("cannot attach '", image.string(), "' as '", name, "': it is already ",
                             what, " (the same file)"));
    for (const Exposure& exposure : catalog_.exposures)
      if (exposure.file && exposure.file->id == *id)
        return Status(ErrorCode::kAlreadyExists,
                      "cannot attach '" + image.string() + "' as '" + name +
                          "': it is the exposure of shadow copy " + exposure.shadow.to_string() +
                          ", which the store deletes with it (unexpose it first)");
  }
  for (const VolumeEntry& other : catalog_.volumes) {
    bool same_image = !other.uuid.is_nil() && other.uuid == uuid;
    bool same_diff =
        other.storage && !other.storage->diff_uuid.is_nil() && other.storage->diff_uuid == uuid;
    if (same_image || same_diff)
      return Status(ErrorCode::kAlreadyExists,
                    "cannot attach '" + image.string() + "' as '" + name +
                        "': it has the identity " + uuid.to_string() + " of " +
                        (same_image ? "volume '" + other.name + "'"
                                    : "the diff area of volume '" + other.name + "'") +
                        " (a copy of it); writing one would corrupt the other's shadow copies");
  }
  return Status();
}

Status Store::mark_pending(const std::string& relative) {
  catalog_.pending.push_back(relative);
  if (Status s = save(); !s.ok()) {
    catalog_.pending.pop_back();
    return s;
  }
  return Status();
}

Status Store::clear_pending(const std::string& relative) {
  auto it = std::find(catalog_.pending.begin(), catalog_.pending.end(), relative);
  if (it == catalog_.pending.end())
    return Status();
  catalog_.pending.erase(it);
  return save();
}

Status Store::remove_unnamed_image(const std::string& relative) {
  FF_TRY(remove_store_file(relative));
  return clear_pending(relative);
}

Status Store::create_volume(const std::string& name, std::uint64_t size_bytes,
                            std::uint32_t sector_bytes, ProviderKind kind) {
  FF_TRY(check_writable());
  FF_TRY(validate_volume_name(name));
  if (VolumeEntry* other = find_volume(name); other != nullptr)
    return Status(ErrorCode::kAlreadyExists, "volume '" + name + "' already exists in the store");
  for (const VolumeEntry& other : catalog_.volumes)
    if (equals_ignore_case(other.name, name))
      return Status(ErrorCode::kAlreadyExists, "volume '" + name + "' clashes with '" + other.name +
                                                   "' (names are case-insensitive)");
  Uuid uuid = Uuid::generate();
  std::string relative = std::string(kVolumesDir) + "/" + uuid.to_string() + ".img";
  // Recorded as pending first: a crash before the entry is saved leaves an image the next
  // writing command knows to remove.
  FF_TRY(mark_pending(relative));
  auto volume = FileVolume::create(
      (dir_ / relative).string(),
      {.size_bytes = size_bytes, .sector_bytes = sector_bytes, .name = name, .uuid = {}});
  if (!volume.ok()) {
    (void)clear_pending(relative);
    return volume.status().with_context("creating volume '" + name + "'");
  }
  Status synced = volume.value()->flush();
  VolumeEntry entry;
  entry.name = name;
  entry.image = relative;
  entry.owned = true;
  entry.uuid = volume.value()->uuid();
  entry.size_bytes = size_bytes;
  entry.sector_bytes = sector_bytes;
  entry.provider = kind;
  volume.value().reset();
  if (synced.ok())
    synced = sync_directory(dir_ / kVolumesDir);
  if (!synced.ok()) {
    (void)remove_unnamed_image(relative);
    return synced.with_context("creating volume '" + name + "'");
  }
  catalog_.volumes.push_back(std::move(entry));
  catalog_.pending.erase(std::find(catalog_.pending.begin(), catalog_.pending.end(), relative));
  if (Status s = save(); !s.ok()) {
    catalog_.volumes.pop_back();
    catalog_.pending.push_back(relative);
    (void)remove_unnamed_image(relative);
    return s;
  }
  return Status();
}

Status Store::attach_volume(const std::string& name, const std::string& image,
                            std::uint32_t sector_bytes, ProviderKind kind) {
  FF_TRY(check_writable());
  FF_TRY(validate_volume_name(name));
  if (find_volume(name) != nullptr)
    return Status(ErrorCode::kAlreadyExists, "volume '" + name + "' already exists in the store");
  for (const VolumeEntry& other : catalog_.volumes)
    if (equals_ignore_case(other.name, name))
      return Status(ErrorCode::kAlreadyExists, "volume '" + name + "' clashes with '" + other.name +
                                                   "' (names are case-insensitive)");
  std::error_code error;
  fs::path path = fs::absolute(image, error);
  if (error)
    return invalid_argument("cannot resolve image path '" + image + "': " + error.message());
  FF_TRY(validate_utf8_path(path));
  auto volume = FileVolume::open(path.string(), {.sector_bytes = sector_bytes, .name = name});
  if (!volume.ok())
    return volume.status().with_context("attaching volume '" + name + "'");
  FF_TRY(check_not_in_store(name, path, volume.value()->uuid()));
  VolumeEntry entry;
  entry.name = name;
  entry.image = path.string();
  entry.owned = false;
  entry.uuid = volume.value()->uuid();
  entry.size_bytes = volume.value()->size_bytes();
  entry.sector_bytes = sector_bytes;
  entry.provider = kind;
  volume.value().reset();
  catalog_.volumes.push_back(std::move(entry));
  if (Status s = save(); !s.ok()) {
    catalog_.volumes.pop_back();
    return s;
  }
  return Status();
}

Status Store::remove_volume(const std::string& name) {
  FF_TRY(check_writable());
  FF_ASSIGN_OR_RETURN(VolumeEntry * entry, volume(name));
  for (const VolumeEntry& other : catalog_.volumes)
    if (other.storage && other.name != entry->name && other.storage->on == entry->name)
      return Status(ErrorCode::kBadState, "volume '" + entry->name +
                                              "' holds the shadow storage of '" + other.name +
                                              "'; delete that shadow storage first");
  std::string entry_name = entry->name;
  if (entry->catalog_damaged) {
    // Its recorded paths are not trusted: forget the entry and delete nothing. The files it
    // meant are not pending, so no later command deletes them either.
    close_volume(entry_name);
    catalog_.volumes.remove_if([&](const VolumeEntry& e) { return e.name == entry_name; });
    FF_TRY(save());
    notice("volume '" + entry_name +
           "' had a damaged catalog entry; it was forgotten, and no file it may have named was "
           "deleted (images in volumes/ and diff/ that no entry names are left for you to "
           "inspect)");
    return Status();
  }
  if (entry->storage) {
    auto removed = delete_storage(*entry);
    if (!removed.ok())
      return removed.status();
  }
  std::string image = entry->image;
  bool owned = entry->owned;
  close_volume(entry_name);
  catalog_.volumes.remove_if([&](const VolumeEntry& e) { return e.name == entry_name; });
  if (owned)
    catalog_.pending.push_back(image);
  FF_TRY(save());
  if (owned)
    FF_TRY(remove_unnamed_image(image));
  return Status();
}

Status Store::remove_store_file(const std::string& relative) {
  bool plain = plain_store_path(relative, kVolumesDir) || plain_store_path(relative, kDiffDir);
  fs::path path = dir_ / relative;
  if (!plain || !resolves_inside(path, dir_))
    return corrupt("refusing to delete '" + relative + "': it is not a file of the store '" +
                   dir_.string() + "'");
  if (lock_)
    FF_TRY(lock_->verify_directory());
  std::error_code error;
  fs::remove(path, error);
  if (error)
    return io_error("cannot delete '" + path.string() + "': " + error.message());
  return sync_directory(path.parent_path());
}

Status Store::create_storage(VolumeEntry& entry, const std::string& on, const DiffAreaLimit& limit,
                             ProviderKind kind) {
  FF_TRY(check_writable());
  if (entry.storage)
    return Status(ErrorCode::kAlreadyExists,
                  "volume '" + entry.name + "' already has shadow storage on '" +
                      entry.storage->on + "' (use 'shadowstorage resize' to change it)");
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, open_volume(entry));
  std::string relative = std::string(kDiffDir) + "/" + safe_file_name(entry.name) + "-" +
                         opened->origin->uuid().to_string() + ".img";
  FF_TRY(mark_pending(relative));
  // Never over anything: a pending image of ours was removed when the store was opened, so
  // a file here is someone else's.
  auto diff = FileVolume::create((dir_ / relative).string(),
                                 {.size_bytes = diff_image_bytes(entry.size_bytes, limit),
                                  .sector_bytes = 512,
                                  .name = entry.name + " (diff area)",
                                  .uuid = {},
                                  .overwrite = false});
  if (!diff.ok()) {
    (void)clear_pending(relative);
    return diff.status().with_context("shadow storage of volume '" + entry.name + "'");
  }
  ProviderOptions options;
  options.chunk_bytes = kChunkBytes;
  options.limit = limit;
  options.name = entry.name;
  auto provider = SnapshotProvider::create(kind, *opened->origin, *diff.value(), options);
  Status status = provider.status();
  if (status.ok())
    status = sync_directory(dir_ / kDiffDir);
  auto undo = [&](const Status& why) {
    provider = Status(ErrorCode::kAborted, "dropped");
    diff.value().reset();
    (void)remove_unnamed_image(relative);
    return why;
  };
  if (!status.ok())
    return undo(status.with_context("shadow storage of volume '" + entry.name + "'"));
  entry.provider = kind;
  entry.storage = ShadowStorage{on, relative, diff.value()->uuid(), limit};
  catalog_.pending.erase(std::find(catalog_.pending.begin(), catalog_.pending.end(), relative));
  if (Status s = save(); !s.ok()) {
    entry.storage.reset();
    catalog_.pending.push_back(relative);
    return undo(s);
  }
  opened->diff = std::move(diff).value();
  opened->provider = std::move(provider).value();
  return Status();
}

Result<StorageRemoval> Store::delete_storage(VolumeEntry& entry, bool force) {
  FF_TRY(check_writable());
  if (!entry.storage)
    return not_found("volume '" + entry.name + "' has no shadow storage");
  StorageRemoval removal;
  removal.kind = entry.provider;
  auto opened = open_volume(entry);
  FF_ASSIGN_OR_RETURN(fs::path diff_file, diff_path(entry));
  removal.diff_image = diff_file.string();
  if (!opened.ok()) {
    if (entry.damaged_part != VolumeEntry::Damage::kDiffArea)
      return Status(opened.status().code(),
                    opened.status().message() +
                        "; its diff area is not known to be damaged and is kept (bring the "
                        "image back first)");
    if (!force)
      return Status(opened.status().code(),
                    opened.status().message() + "; 'shadowstorage delete --for " + entry.name +
                        " --force' removes the damaged diff area and every shadow copy in it");
    removal.damaged = true;
  } else {
    SnapshotProvider& provider = *(*opened)->provider;
    for (const SnapshotInfo& info : provider.snapshots()) {
      if (exposure_of(info.id))
        FF_TRY(unexpose(info.id).status());
      if (Status s = provider.delete_snapshot(info.id); !s.ok())
        return s.with_context("deleting shadow " + info.id.to_string());
      removal.shadows.push_back(info.id);
    }
    if (RowProvider* row = provider.as_row()) {
      // The live data of a RoW volume partly lives in the diff area: fold it back first.
      FF_TRY(row->consolidate());
      if (provider.usage().used_bytes != 0)
        return Status(ErrorCode::kBadState,
                      "volume '" + entry.name + "': " + format_bytes(provider.usage().used_bytes) +
                          " of live data still in the diff area after consolidation; "
                          "the shadow storage was kept");
    }
    FF_TRY(provider.flush());
  }
  std::string diff_image = entry.storage->diff_image;
  close_volume(entry.name);
  entry.storage.reset();
  entry.damage.clear();  // found again at the next open if it was not in the diff area
  entry.damaged_part = VolumeEntry::Damage::kNone;
  entry.damage_code = ErrorCode::kOk;
  catalog_.pending.push_back(diff_image);
  FF_TRY(save());
  FF_TRY(remove_unnamed_image(diff_image));
  if (removal.damaged)
    drop_stale_exposures();  // the lost shadow copies' ids are unknown
  return removal;
}

Status Store::resize_storage(VolumeEntry& entry, const DiffAreaLimit& limit) {
  FF_TRY(check_writable());
  if (!entry.storage)
    return not_found("volume '" + entry.name + "' has no shadow storage (use 'shadowstorage add')");
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, open_volume(entry));
  // Record the new limit first: if the catalog cannot be written, nothing is deleted.
  DiffAreaLimit old = entry.storage->limit;
  entry.storage->limit = limit;
  if (Status s = save(); !s.ok()) {
    entry.storage->limit = old;
    return s;
  }
  if (Status s = opened->provider->set_limit(limit); !s.ok()) {
    entry.storage->limit = old;
    (void)save();  // the diff area kept its old limit; so does the catalog where it can
    return s;
  }
  drop_stale_exposures();
  return Status();
}

Result<std::vector<ShadowRef>> Store::shadows() {
  std::vector<ShadowRef> out;
  for (VolumeEntry& entry : catalog_.volumes) {
    if (!entry.storage)
      continue;
    auto opened = open_volume(entry);
    if (!opened.ok())
      continue;  // damaged: reported by check_volumes(), never taking the others down
    for (SnapshotInfo& info : (*opened)->provider->snapshots())
      out.push_back({&entry, std::move(info)});
  }
  return out;
}

Result<ShadowRef> Store::find_shadow(const Uuid& id) {
  FF_ASSIGN_OR_RETURN(std::vector<ShadowRef> all, shadows());
  for (ShadowRef& shadow : all)
    if (shadow.info.id == id)
      return shadow;
  std::string damaged;
  for (const VolumeEntry& entry : catalog_.volumes)
    if (!entry.damage.empty())
      damaged += (damaged.empty() ? "" : ", ") + ("'" + entry.name + "'");
  return not_found("shadow copy " + id.to_string() + " does not exist (see 'shadow list')" +
                   (damaged.empty() ? std::string() : "; it may be on damaged volume " + damaged));
}

Result<ShadowRef> Store::find_shadow(std::string_view id_text) {
  auto id = Uuid::parse(id_text);
  if (!id.ok())
    return invalid_argument("'" + std::string(id_text) + "' is not a shadow copy id (a GUID)");
  return find_shadow(*id);
}

Status Store::delete_shadow(const ShadowRef& shadow) {
  FF_TRY(check_writable());
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, open_volume(*shadow.volume));
  // Unexposed first: if that fails, the shadow copy is still there and still exposed.
  if (exposure_of(shadow.info.id))
    FF_TRY(unexpose(shadow.info.id).status());
  if (Status s = opened->provider->delete_snapshot(shadow.info.id); !s.ok())
    return s.with_context("deleting shadow copy " + shadow.info.id.to_string() + " of volume '" +
                          shadow.volume->name + "'");
  return Status();
}

Result<std::size_t> Store::release_orphans() {
  if (access_ != StoreAccess::kWrite)
    return std::size_t{0};
  FF_ASSIGN_OR_RETURN(std::vector<ShadowRef> all, shadows());
  std::size_t released = 0;
  for (const ShadowRef& shadow : all) {
    if ((shadow.info.attributes & kAttrNoAutoRelease) != 0)
      continue;
    FF_TRY(delete_shadow(shadow));
    ++released;
  }
  return released;
}

}  // namespace freezeframe::cli

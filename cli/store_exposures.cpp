// Files the store writes outside itself: exposures (written, recorded, unlinked only while
// still the file written), exports and reads (never over a store file), and images left
// pending by a command that did not finish.
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "output.h"
#include "parse.h"
#include "store.h"
#include "store_detail.h"

namespace freezeframe::cli {

using namespace store_detail;  // NOLINT(google-build-using-namespace)
namespace fs = std::filesystem;

std::vector<std::pair<std::string, FileId>> Store::named_files() {
  std::vector<std::pair<std::string, FileId>> files;
  for (const VolumeEntry& entry : catalog_.volumes) {
    if (auto path = image_path(entry); path.ok()) {
      if (auto id = FileVolume::file_id(path->string()); id.ok())
        files.emplace_back("the image of volume '" + entry.name + "'", *id);
    }
    if (auto path = diff_path(entry); path.ok()) {
      if (auto id = FileVolume::file_id(path->string()); id.ok())
        files.emplace_back("the diff area of volume '" + entry.name + "'", *id);
    }
  }
  return files;
}

Status Store::check_output_path(const fs::path& given) {
  std::error_code error;
  fs::path path = fs::absolute(given, error);
  if (error)
    return invalid_argument("cannot resolve '" + given.string() + "': " + error.message());
  if (resolves_inside(path, dir_))
    return invalid_argument("'" + path.string() + "' is inside the store '" + dir_.string() +
                            "'; write it somewhere else");
  auto id = FileVolume::file_id(path.string());
  if (!id.ok())
    return Status();  // nothing there yet (or nothing the store knows)
  for (const auto& [what, other] : named_files())
    if (*id == other)
      return invalid_argument("'" + path.string() + "' is " + what +
                              "; writing it would destroy it");
  return Status();
}

std::optional<std::string> Store::exposure_of(const Uuid& shadow) const {
  for (const Exposure& exposure : catalog_.exposures)
    if (exposure.shadow == shadow)
      return exposure.path;
  return std::nullopt;
}

Result<fs::path> Store::exposure_path(const ShadowRef& shadow, const fs::path& given) {
  FF_TRY(check_writable());
  std::error_code error;
  fs::path path = fs::absolute(given, error);
  if (error)
    return invalid_argument("cannot resolve '" + given.string() + "': " + error.message());
  FF_TRY(validate_utf8_path(path));
  if (auto exposed = exposure_of(shadow.info.id))
    return Status(ErrorCode::kAlreadyExists, "shadow copy " + shadow.info.id.to_string() +
                                                 " is already exposed as '" + *exposed + "'");
  for (const Exposure& e : catalog_.exposures)
    if (fs::path(e.path) == path)
      return Status(ErrorCode::kAlreadyExists,
                    "'" + path.string() + "' already exposes shadow copy " + e.shadow.to_string());
  FF_TRY(check_output_path(path));
  return path;
}

Status Store::expose(const ShadowRef& shadow, const fs::path& given) {
  FF_ASSIGN_OR_RETURN(fs::path path, exposure_path(shadow, given));
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, open_volume(*shadow.volume));
  auto volume = opened->provider->open_snapshot(shadow.info.id);
  if (!volume.ok())
    return volume.status().with_context("shadow copy " + shadow.info.id.to_string());
  FF_ASSIGN_OR_RETURN(OutputFile file, OutputFile::create(path, /*exclusive=*/true));
  Status status = copy_volume_to(*volume.value(), 0, volume.value()->size_bytes(), file,
                                 "exposing " + shadow.info.id.to_string().substr(0, 8));
  std::optional<ExposedFile> written = exposed_file_at(path);
  if (status.ok() && !written)
    status = io_error("cannot examine '" + path.string() + "' after writing it");
  if (status.ok()) {
    catalog_.exposures.push_back({shadow.info.id, path.string(), written});
    status = save();
    if (!status.ok())
      catalog_.exposures.pop_back();
  }
  if (!status.ok()) {
    // The file is ours (created exclusively just now) and unrecorded: remove it.
    std::error_code ignored;
    if (written && exposed_file_at(path) == written)
      fs::remove(path, ignored);
    return status.with_context("exposing shadow copy " + shadow.info.id.to_string());
  }
  return Status();
}

Status Store::expose_in_place(const ShadowRef& shadow, const fs::path& given,
                              const std::function<Status()>& present) {
  FF_ASSIGN_OR_RETURN(fs::path path, exposure_path(shadow, given));
  FF_ASSIGN_OR_RETURN(OutputFile file, OutputFile::create(path, /*exclusive=*/true));
  Status status = file.finish();
  std::optional<ExposedFile> placeholder = exposed_file_at(path);
  if (status.ok() && !placeholder)
    status = io_error("cannot examine '" + path.string() + "' after creating it");
  if (status.ok()) {
    catalog_.exposures.push_back({shadow.info.id, path.string(), placeholder});
    status = save();
    if (!status.ok())
      catalog_.exposures.pop_back();
  }
  if (!status.ok()) {
    std::error_code ignored;
    if (placeholder && exposed_file_at(path) == placeholder)
      fs::remove(path, ignored);
    return status.with_context("exposing shadow copy " + shadow.info.id.to_string());
  }
  status = present();
  if (!status.ok()) {
    (void)unexpose(shadow.info.id).ok();
    return status.with_context("exposing shadow copy " + shadow.info.id.to_string());
  }
  return Status();
}

Result<std::string> Store::unexpose(const Uuid& shadow) {
  FF_TRY(check_writable());
  auto it = std::find_if(catalog_.exposures.begin(), catalog_.exposures.end(),
                         [&](const Exposure& e) { return e.shadow == shadow; });
  if (it == catalog_.exposures.end())
    return not_found("shadow copy " + shadow.to_string() + " is not exposed");
  Exposure exposure = *it;
  catalog_.exposures.erase(it);
  FF_TRY(save());
  std::optional<ExposedFile> now = exposed_file_at(exposure.path);
  bool ours = exposure.file && now && *now == *exposure.file;
  if (ours) {
    for (const auto& [what, id] : named_files())
      if (id == now->id)
        ours = false;  // it became a volume's image since: never the export's to delete
  }
  if (!ours) {
    if (now)
      notice("'" + exposure.path + "' is no longer the file this store exposed there; it was " +
             "left in place");
    return exposure.path;
  }
  std::error_code error;
  fs::remove(exposure.path, error);
  if (error)
    return io_error("cannot delete exposure '" + exposure.path + "': " + error.message());
  (void)sync_directory(fs::path(exposure.path).parent_path());
  return exposure.path;
}

void Store::drop_stale_exposures() {
  if (access_ != StoreAccess::kWrite || catalog_.exposures.empty())
    return;
  std::set<Uuid> alive;
  for (VolumeEntry& entry : catalog_.volumes) {
    if (!entry.storage && !entry.catalog_damaged)
      continue;
    auto opened = open_volume(entry);
    if (!opened.ok())
      return;  // a damaged volume may hold them: decide nothing
    for (const SnapshotInfo& info : (*opened)->provider->snapshots())
      alive.insert(info.id);
  }
  std::vector<Uuid> stale;
  for (const Exposure& exposure : catalog_.exposures)
    if (alive.count(exposure.shadow) == 0)
      stale.push_back(exposure.shadow);
  for (const Uuid& id : stale) {
    auto path = unexpose(id);
    if (path.ok())
      notice("unexposed '" + *path + "': its shadow copy " + id.to_string() + " no longer exists");
  }
}

namespace {

// The images the usable catalog entries of `catalog` name, as normal paths under `dir`.
std::set<fs::path> named_images(const fs::path& dir, const Catalog& catalog) {
  std::set<fs::path> named;
  for (const VolumeEntry& entry : catalog.volumes) {
    if (entry.catalog_damaged)
      continue;
    if (entry.owned)
      named.insert((dir / entry.image).lexically_normal());
    if (entry.storage)
      named.insert((dir / entry.storage->diff_image).lexically_normal());
  }
  return named;
}

}  // namespace

std::vector<UnnamedImage> Store::unnamed_images() const {
  std::set<fs::path> named = named_images(dir_, catalog_);
  std::vector<UnnamedImage> out;
  for (const char* subdir : {kVolumesDir, kDiffDir}) {
    std::error_code error;
    fs::directory_iterator it(dir_ / subdir, error);
    if (error)
      continue;
    for (const fs::directory_entry& file : it) {
      std::string name = file.path().filename().string();
      if (!is_image_name(name) || named.count(file.path().lexically_normal()) != 0)
        continue;
      std::string relative = std::string(subdir) + "/" + name;
      bool is_pending = std::find(catalog_.pending.begin(), catalog_.pending.end(), relative) !=
                        catalog_.pending.end();
      out.push_back({relative, is_pending});
    }
  }
  return out;
}

void Store::handle_pending() {
  std::set<fs::path> named = named_images(dir_, catalog_);
  const bool writing = access_ == StoreAccess::kWrite;
  std::vector<std::string> pending = catalog_.pending;
  for (const std::string& relative : pending) {
    fs::path path = (dir_ / relative).lexically_normal();
    std::error_code error;
    bool exists = fs::exists(fs::symlink_status(path, error));
    if (named.count(path) != 0 || !exists) {
      if (writing)
        (void)clear_pending(relative);  // finished, or never created
      continue;
    }
    if (!writing) {
      notice("image '" + relative +
             "' was left by a command that did not finish; the next writing command removes it");
      continue;
    }
    if (Status s = remove_unnamed_image(relative); s.ok())
      notice("removed image '" + relative + "', left by a command that did not finish");
    else
      notice("could not remove image '" + relative + "', left by a command that did not " +
             "finish: " + s.message());
  }
  // Images the catalog does not know at all: made by someone else, or named by a catalog that
  // was lost or damaged. Reported, never deleted.
  for (const UnnamedImage& image : unnamed_images())
    if (!image.pending)
      notice("image '" + image.relative +
             "' is not named by the catalog; it is left alone (remove it by hand if it is not "
             "needed)");
  if (writing)
    drop_stale_exposures();
}

Status copy_volume_to(Volume& volume, std::uint64_t offset, std::uint64_t length, OutputFile& file,
                      const std::string& label) {
  constexpr std::uint64_t kCopyBytes = 1 << 20;
  std::uint64_t sector = volume.sector_bytes();
  std::uint64_t first = offset / sector * sector;
  std::uint64_t end = (offset + length + sector - 1) / sector * sector;
  Progress progress(label, end - first);
  std::vector<std::byte> buffer;
  for (std::uint64_t at = first; at < end;) {
    std::uint64_t piece = std::min<std::uint64_t>(kCopyBytes, end - at);
    buffer.resize(piece);
    FF_TRY(volume.read(at, buffer));
    std::uint64_t skip = at < offset ? offset - at : 0;
    std::uint64_t keep = std::min(piece, offset + length - at) - skip;
    FF_TRY(file.write(std::span<const std::byte>(buffer).subspan(skip, keep)));
    at += piece;
    progress.update(at - first);
  }
  FF_TRY(file.finish());
  progress.finish();
  return Status();
}

}  // namespace freezeframe::cli

// The store: the directory where the freezeframe command keeps its volumes, their diff areas
// and the catalog that names them.
//
// Layout of DIR:
//   lock                  flock'ed exclusively for the whole of each command
//   catalog.json          volumes and shadow-storage associations, exposures (format below)
//   volumes/NAME-UUID.img volume images the store created (attached images live elsewhere)
//   diff/NAME-UUID.img    diff areas (one sparse image per volume with shadow storage)
//
// Snapshots are not in the catalog: each SnapshotProvider keeps its snapshots durably in its
// diff area, with the snapshot context in SnapshotInfo::attributes. So a crash can never make
// the catalog disagree with the snapshots, and the catalog changes only when volumes or
// associations are added or removed.
//
// Crash safety: the catalog is replaced atomically (replace_file). A diff-area image is
// created before the catalog names it and unlinked only after the catalog stopped naming it;
// an orphan left by a crash between the two steps is overwritten when next needed.
//
// Concurrency: Store::open() takes the lock without waiting; a second command on a busy
// store fails at once with kBusy.
//
// Thread-safety: none; one command uses one Store from one thread.
#pragma once

#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "freezeframe/file_volume.h"
#include "freezeframe/snapshot_provider.h"
#include "os.h"

namespace freezeframe::cli {

struct ShadowStorage {
  // The volume the association is "on" (vssadmin's /on); the diff area is its own sparse image
  // file in the store, accounted to that volume.
  std::string on;
  std::string diff_image;
  DiffAreaLimit limit = DiffAreaLimit::unbounded();
};

struct VolumeEntry {
  std::string name;
  std::string image;
  // Created by `volume create` (removed with the volume), or attached (left in place).
  bool owned = true;
  std::uint64_t size_bytes = 0;
  std::uint32_t sector_bytes = 512;
  // The kind of diff area the volume gets when shadow storage is created implicitly.
  ProviderKind provider = ProviderKind::kCopyOnWrite;
  std::optional<ShadowStorage> storage;
};

struct Exposure {
  Uuid shadow;
  std::string path;
};

struct Catalog {
  std::list<VolumeEntry> volumes;
  std::vector<Exposure> exposures;
};

// A volume opened for use: its image, and its diff area and provider if it has shadow
// storage. live() is what applications (and `volume write`) write through.
struct OpenVolume {
  VolumeEntry* entry = nullptr;
  std::unique_ptr<FileVolume> origin;
  std::unique_ptr<FileVolume> diff;
  std::unique_ptr<SnapshotProvider> provider;
  Volume& live() { return provider ? static_cast<Volume&>(*provider) : *origin; }
};

// A snapshot found in some volume's diff area.
struct ShadowRef {
  VolumeEntry* volume = nullptr;
  SnapshotInfo info;
};

class Store {
 public:
  // `flag`: --store, else $FREEZEFRAME_STORE, else ./.freezeframe.
  static std::filesystem::path resolve_dir(const std::optional<std::string>& flag);
  // Creates the directory if needed, takes the lock (kBusy when held), reads the catalog
  // (kCorrupt naming the file and the field when it is malformed).
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& dir);
  ~Store();

  const std::filesystem::path& dir() const { return dir_; }
  Catalog& catalog() { return catalog_; }
  // Writes the catalog crash-safely.
  Status save();

  // Exact name, else a unique case-insensitive match; a trailing '\' is ignored ("C:\").
  VolumeEntry* find_volume(std::string_view name);
  Result<VolumeEntry*> volume(std::string_view name);

  // Opens the volume, its diff area and provider (kept open until close or destruction).
  Result<OpenVolume*> open_volume(VolumeEntry& entry);
  Result<OpenVolume*> open_volume(std::string_view name);
  void close_volume(const std::string& name);

  Status add_volume(VolumeEntry entry);
  Status remove_volume(const std::string& name);

  // Creates the diff area of `entry` (kAlreadyExists if it has one).
  Status create_storage(VolumeEntry& entry, const std::string& on, const DiffAreaLimit& limit,
                        ProviderKind kind);
  // Deletes every snapshot of `entry` (a RoW volume's live data is folded back into its image
  // first) and removes its diff area.
  Status delete_storage(VolumeEntry& entry);
  Status resize_storage(VolumeEntry& entry, const DiffAreaLimit& limit);

  // Every snapshot in the store, oldest first per volume, volumes in catalog order.
  Result<std::vector<ShadowRef>> shadows();
  Result<ShadowRef> find_shadow(const Uuid& id);
  Result<ShadowRef> find_shadow(std::string_view id_text);
  // Deletes one snapshot and unexposes it.
  Status delete_shadow(const ShadowRef& shadow);
  // Deletes every snapshot lacking kAttrNoAutoRelease: an auto-release snapshot exists only
  // while the command that created it runs, so one found here was left by a command that
  // died. Returns how many were deleted.
  Result<std::size_t> release_orphans();

  std::optional<std::string> exposure_of(const Uuid& shadow) const;

 private:
  Store(std::filesystem::path dir, FileLock lock) : dir_(std::move(dir)), lock_(std::move(lock)) {}
  Status load();

  std::filesystem::path dir_;
  FileLock lock_;
  Catalog catalog_;
  std::map<std::string, std::unique_ptr<OpenVolume>> open_;
};

// Bytes of the diff-area image made for a volume of `origin_bytes` under `limit`: room for
// the limit (at least four times the volume, so a later resize has room) plus the metadata.
std::uint64_t diff_image_bytes(std::uint64_t origin_bytes, const DiffAreaLimit& limit);

}  // namespace freezeframe::cli

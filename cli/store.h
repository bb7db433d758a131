// The store: the directory where the freezeframe command keeps its volumes, their diff areas
// and the catalog that names them.
//
// Layout of DIR:
//   lock                  flock'ed (with DIR itself) for the whole of each command
//   catalog.json          volumes and shadow-storage associations, exposures (format below)
//   volumes/UUID.img      volume images the store created (attached images live elsewhere)
//   diff/NAME-UUID.img    diff areas (one sparse image per volume with shadow storage)
//   reserve               1 MiB of allocated space, given back when the file system is full
//
// Snapshots are not in the catalog: each SnapshotProvider keeps its snapshots durably in its
// diff area, with the snapshot context in SnapshotInfo::attributes. So a crash can never make
// the catalog disagree with the snapshots, and the catalog changes only when volumes or
// associations are added or removed.
//
// Paths are confined. An image the store created is recorded relative to DIR, under
// volumes/ or diff/, and is used (or deleted) only after the resolved path is checked to be
// inside DIR; an attached image is recorded as an absolute path outside the store and is never
// deleted. Exposures are recorded as absolute paths with the file's identity, and an exposure
// is unlinked only while that path still names the file the store wrote. A catalog entry that
// breaks these rules is damaged: it is reported and never used.
//
// Identity: each volume's UUID and its diff area's UUID are in the catalog, so a store copied
// without extended attributes (cp -r, tar, rsync without -X) or moved to another directory
// opens as before. An image already in the store (same file, or same UUID) cannot be added a
// second time.
//
// Isolation: a volume whose image, diff area or catalog entry cannot be used is damaged. Its
// damage is recorded (damage()) and every other volume keeps working; a damaged CoW volume's
// origin stays readable read-only, since CoW keeps the live data in the origin.
//
// Crash safety: the catalog is replaced atomically (replace_file, which fsyncs the file and
// its directory). An image the store is about to create, or has stopped naming and is about
// to unlink, is first recorded in the catalog's `pending` list; the next writing command
// removes a pending image that no entry names (left by a crash or a full disk between the
// steps), and reading commands report it. A file the catalog neither names nor lists as
// pending was not made by this store and is never deleted, so a lost or damaged catalog
// cannot make the store delete its own images.
//
// Full file system: deleting must work when the file system is full, since that is how space
// is freed. Each diff area preallocates its metadata (docs/formats/diff-area.md), so deleting
// a snapshot needs no new space; what does is a catalog rewrite (a new file, then a rename),
// as when a deleted snapshot was exposed. So a writing open keeps `reserve` at 1 MiB of
// allocated storage (enough for the catalog of thousands of volumes, twice over), and a save
// that fails with kNoSpace truncates the reserve and tries once more; the reserve is taken
// again at once if there is room, else by a later writing open. The reserve holds no data:
// truncating it loses nothing.
//
// Concurrency: Store::open() locks the store directory and its lock file (StoreLock), shared
// for reading commands and exclusive for writing ones, waiting up to `wait` for a holder.
//
// Thread-safety: none; one command uses one Store from one thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "freezeframe/durable_file.h"
#include "freezeframe/file_volume.h"
#include "freezeframe/snapshot_provider.h"
#include "freezeframe/store_lock.h"

namespace freezeframe::cli {

struct ShadowStorage {
  // The volume the association is "on" (vssadmin's /on); the diff area is its own sparse image
  // file in the store, accounted to that volume.
  std::string on;
  std::string diff_image;  // relative to the store, under diff/
  Uuid diff_uuid;          // nil in catalogs written before identities were recorded
  DiffAreaLimit limit = DiffAreaLimit::unbounded();
};

struct VolumeEntry {
  std::string name;
  // Owned: relative to the store, under volumes/. Attached: absolute, outside the store.
  std::string image;
  // Created by `volume create` (removed with the volume), or attached (left in place).
  bool owned = true;
  Uuid uuid;  // nil in catalogs written before identities were recorded
  std::uint64_t size_bytes = 0;
  std::uint32_t sector_bytes = 512;
  // The kind of diff area the volume gets when shadow storage is created implicitly.
  ProviderKind provider = ProviderKind::kCopyOnWrite;
  std::optional<ShadowStorage> storage;
  // Why the volume cannot be used (empty when it can): a catalog entry that breaks the
  // store's rules (found at load), or an image or diff area that failed to open.
  std::string damage;
  // Where the damage is: the catalog entry (its recorded paths must not be used at all), the
  // image, or the diff area (the only damage `shadowstorage delete --force` may remove).
  enum class Damage { kNone, kCatalog, kImage, kDiffArea };
  Damage damaged_part = Damage::kNone;
  ErrorCode damage_code = ErrorCode::kOk;
  bool catalog_damaged = false;
  // A damaged catalog entry's JSON as read, written back unchanged so that one broken entry
  // never stops the catalog from being saved for the others.
  std::string raw_entry;
};

// The file an exposure wrote, as it was when the exposure was made. Inode numbers are reused,
// so size and modification time are kept too: all four must match before it is unlinked.
struct ExposedFile {
  FileId id;
  std::uint64_t size_bytes = 0;
  std::int64_t modified_ns = 0;
  friend bool operator==(const ExposedFile&, const ExposedFile&) = default;
};

struct Exposure {
  Uuid shadow;
  std::string path;                 // absolute
  std::optional<ExposedFile> file;  // none: never unlinked
};

struct Catalog {
  std::list<VolumeEntry> volumes;
  std::vector<Exposure> exposures;
  // Images (relative to the store) being created or unlinked; see "Crash safety".
  std::vector<std::string> pending;
  // What was wrong with exposure entries at load, one line each: a damaged one is kept and its
  // file never deleted, a malformed one is dropped at the next save.
  std::vector<std::string> damaged_exposures;
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

enum class StoreAccess { kRead, kWrite };

// An image file under volumes/ or diff/ that no usable catalog entry names.
struct UnnamedImage {
  std::string relative;  // "diff/NAME-UUID.img", relative to the store
  // Listed in the catalog's pending list: left by a command that did not finish, removed by
  // the next writing command. Otherwise the store did not make it (or its catalog entry is
  // lost or damaged) and it is never deleted.
  bool pending = false;
};

// A volume's image and diff area as plain files, without a provider: what the diff-area check
// and repair (freezeframe/integrity.h) open.
struct DiffAreaFiles {
  std::unique_ptr<FileVolume> origin;
  std::unique_ptr<FileVolume> diff;
};

struct StoreOpenOptions {
  // kRead takes the lock shared, opens every image read-only and changes nothing; a store
  // that does not exist reads as empty and is not created. kWrite takes it exclusively.
  StoreAccess access = StoreAccess::kWrite;
  // How long to wait for another command's lock; 0 fails at once with kBusy.
  std::chrono::milliseconds wait{0};
  // Told once when waiting begins, with the holders' pids.
  std::function<void(const std::vector<long>&)> on_wait;
  // Where notices go (orphans removed or found, auto-release shadow copies released);
  // nullptr for none.
  std::ostream* notices = nullptr;
};

// What `shadowstorage delete` removed.
struct StorageRemoval {
  std::vector<Uuid> shadows;
  std::string diff_image;  // absolute path
  bool damaged = false;    // removed without reading it (--force on a damaged diff area)
  ProviderKind kind = ProviderKind::kCopyOnWrite;
};

class Store {
 public:
  // `flag`: --store, else $FREEZEFRAME_STORE, else ./.freezeframe.
  static std::filesystem::path resolve_dir(const std::optional<std::string>& flag);
  // Takes the lock (kBusy naming the holder's pid when it is held past options.wait), reads
  // the catalog (kCorrupt naming the file and the field when it is malformed as a whole; a
  // bad volume entry only damages that volume). A writing open creates the directory if
  // needed, releases auto-release shadow copies left by a command that died and removes
  // orphan images.
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& dir,
                                             const StoreOpenOptions& options = {});
  ~Store();

  const std::filesystem::path& dir() const { return dir_; }
  StoreAccess access() const { return access_; }
  Catalog& catalog() { return catalog_; }
  // Writes the catalog crash-safely. kReadOnly for a store opened for reading.
  Status save();

  // Exact name, else a unique case-insensitive match; a trailing '\' is ignored ("C:\").
  // Failing those, Windows' volume GUID path \\?\Volume{UUID}\ names the volume whose UUID
  // that is.
  VolumeEntry* find_volume(std::string_view name);
  Result<VolumeEntry*> volume(std::string_view name);

  // The absolute path of the volume's image, checked to be inside the store for an owned
  // image (kCorrupt naming the entry otherwise).
  Result<std::filesystem::path> image_path(const VolumeEntry& entry) const;
  Result<std::filesystem::path> diff_path(const VolumeEntry& entry) const;

  // Opens the volume, its diff area and provider (kept open until close or destruction),
  // read-only in a store opened for reading. A failure damages the volume: it is recorded
  // in entry.damage and returned again by later calls without retrying.
  Result<OpenVolume*> open_volume(VolumeEntry& entry);
  Result<OpenVolume*> open_volume(std::string_view name);
  // The origin image alone, read-only: how a damaged CoW volume's live data is still read.
  Result<std::unique_ptr<FileVolume>> open_origin_read_only(VolumeEntry& entry);
  void close_volume(const std::string& name);
  // The image and diff area of `entry` (which has shadow storage) as plain files, with the
  // same confinement and identity checks as open_volume(); read-only in a store opened for
  // reading. Closes the volume first, since no provider may have a diff area open while it is
  // checked or repaired.
  Result<DiffAreaFiles> open_diff_area_files(VolumeEntry& entry);
  // Forgets the damage open_volume() recorded in the image or diff area of `entry`, so that
  // the next open tries again (after a repair). Damage to the catalog entry stays.
  void forget_damage(VolumeEntry& entry);
  // Opens every volume so that its damage, if any, is known. Returns the damaged ones.
  std::vector<VolumeEntry*> check_volumes();

  // Creates a sparse image in the store and adds it as volume `name`.
  Status create_volume(const std::string& name, std::uint64_t size_bytes,
                       std::uint32_t sector_bytes, ProviderKind kind);
  // Adds the image or block device at `image` (made absolute) as volume `name`. Refused when
  // it is inside the store or is already one of its volumes or diff areas (same file or same
  // UUID).
  Status attach_volume(const std::string& name, const std::string& image,
                       std::uint32_t sector_bytes, ProviderKind kind);
  Status remove_volume(const std::string& name);

  // Creates the diff area of `entry` (kAlreadyExists if it has one).
  Status create_storage(VolumeEntry& entry, const std::string& on, const DiffAreaLimit& limit,
                        ProviderKind kind);
  // Deletes every snapshot of `entry` (a RoW volume's live data is folded back into its image
  // first) and removes its diff area. A damaged diff area is refused unless `force`, which
  // removes it and its shadow copies unread.
  Result<StorageRemoval> delete_storage(VolumeEntry& entry, bool force = false);
  // Changes the maximum: the catalog records it first, so a failed save deletes nothing.
  Status resize_storage(VolumeEntry& entry, const DiffAreaLimit& limit);

  // Every snapshot of every undamaged volume, oldest first per volume, volumes in catalog
  // order. Damaged volumes are skipped (see check_volumes()).
  Result<std::vector<ShadowRef>> shadows();
  Result<ShadowRef> find_shadow(const Uuid& id);
  Result<ShadowRef> find_shadow(std::string_view id_text);
  // Deletes one snapshot and unexposes it.
  Status delete_shadow(const ShadowRef& shadow);
  // Deletes every snapshot lacking kAttrNoAutoRelease: an auto-release snapshot exists only
  // while the command that created it runs, so one found here was left by a command that
  // died. Returns how many were deleted (none in a store opened for reading).
  Result<std::size_t> release_orphans();

  // Images under volumes/ and diff/ that no usable catalog entry names (the files a damaged
  // entry names are among them), in directory order.
  std::vector<UnnamedImage> unnamed_images() const;

  std::optional<std::string> exposure_of(const Uuid& shadow) const;
  // kInvalidArgument when writing `path` (an export's or read's --to) would overwrite a file
  // of the store or the image of one of its volumes.
  Status check_output_path(const std::filesystem::path& path);
  // Writes the snapshot's image to `path` (made absolute; refused if anything exists there),
  // fsyncs it and records the exposure.
  Status expose(const ShadowRef& shadow, const std::filesystem::path& path);
  // Exposes the snapshot at `path` without a copy: creates an empty placeholder file there
  // (refused if anything exists), records the exposure, then calls `present`, which makes
  // the snapshot appear at `path` (the serve daemon mounts a FUSE file over the placeholder).
  // If `present` fails, the exposure is forgotten and the placeholder removed. unexpose()
  // removes the placeholder once whatever `present` put over it is gone.
  Status expose_in_place(const ShadowRef& shadow, const std::filesystem::path& path,
                         const std::function<Status()>& present);
  // Forgets the exposure of `shadow` and unlinks its file if it is still the one the store
  // wrote. Returns the path.
  Result<std::string> unexpose(const Uuid& shadow);

 private:
  // Where `given` exposes `shadow`: made absolute and checked (writable store, UTF-8, not
  // exposed yet, no other exposure there, an output path the store may write).
  Result<std::filesystem::path> exposure_path(const ShadowRef& shadow,
                                              const std::filesystem::path& given);
  // The image of `entry`, or its diff area, opened as open_volume() does.
  Result<std::unique_ptr<FileVolume>> open_image_file(const VolumeEntry& entry,
                                                      bool read_only) const;
  Result<std::unique_ptr<FileVolume>> open_diff_file(const VolumeEntry& entry) const;
  // DIR/relative, checked to resolve inside DIR/subdir (kCorrupt naming `what` otherwise).
  Result<std::filesystem::path> confined_path(const VolumeEntry& entry, const std::string& relative,
                                              std::string_view subdir, std::string_view what) const;
  Store(std::filesystem::path dir, StoreAccess access, std::optional<StoreLock> lock,
        std::ostream* notices)
      : dir_(std::move(dir)), access_(access), lock_(std::move(lock)), notices_(notices) {}
  Status load();
  // Throws (nlohmann) on text it cannot encode; save() turns that into a Status.
  std::string catalog_text() const;
  Status check_writable() const;
  void notice(const std::string& text);
  // Makes `reserve` whole again if there is room; on a full file system leaves it empty.
  void keep_reserve();
  // Unlinks `relative` (under volumes/ or diff/) after checking it resolves inside the store.
  Status remove_store_file(const std::string& relative);
  // Writing open: unlinks pending images no entry names, drops exposures of shadow copies
  // that no longer exist. Reading open: reports them. Images neither named nor pending are
  // reported and never deleted.
  void handle_pending();
  // Unexposes (and unlinks, if still ours) exposures whose shadow copy is gone, when every
  // volume could be opened to tell.
  void drop_stale_exposures();
  // Saves the catalog with `relative` added to (or removed from) the pending list.
  Status mark_pending(const std::string& relative);
  Status clear_pending(const std::string& relative);
  // Unlinks an image the catalog no longer names: marked pending, unlinked, unmarked.
  Status remove_unnamed_image(const std::string& relative);
  // The FileIds of every image and diff area the catalog names (that can be resolved).
  std::vector<std::pair<std::string, FileId>> named_files();
  Status check_not_in_store(const std::string& name, const std::filesystem::path& image,
                            const Uuid& uuid);

  std::filesystem::path dir_;
  StoreAccess access_;
  std::optional<StoreLock> lock_;
  std::ostream* notices_;
  Catalog catalog_;
  std::map<std::string, std::unique_ptr<OpenVolume>> open_;
};

// Bytes of the diff-area image made for a volume of `origin_bytes` under `limit`: room for
// the limit (at least four times the volume, so a later resize has room) plus the metadata.
std::uint64_t diff_image_bytes(std::uint64_t origin_bytes, const DiffAreaLimit& limit);

// Copies `length` bytes of `volume` from `offset` (sector-aligned reads, trimmed to the byte
// range) into `file`, with a progress bar on a terminal, and finishes the file (fsync).
Status copy_volume_to(Volume& volume, std::uint64_t offset, std::uint64_t length, OutputFile& file,
                      const std::string& label);

// kInvalidArgument unless `path` is valid UTF-8 (the catalog is JSON text).
Status validate_utf8_path(const std::filesystem::path& path);

// Volume names: printable, not empty or blank, at most 255 bytes, and none of the characters
// the command syntax uses (',' separates names, '/' paths). kInvalidArgument naming the rule.
Status validate_volume_name(std::string_view name);

}  // namespace freezeframe::cli

// Snapshot providers: copy-on-write (CoW) and redirect-on-write (RoW) block snapshots over a
// bounded diff area.
//
// A provider stacks on an origin Volume and is itself a Volume that applications write
// through. Each snapshot it takes is a read-only Volume showing the origin as it was at the
// snapshot's creation. The diff area lives on a Volume of its own (an image file next to the
// origin, or another volume) and holds preserved (CoW) or redirected (RoW) chunks and the
// metadata journal that maps them; see docs/formats/diff-area.md and docs/providers.md.
//
// CoW: the first write to a chunk after the newest snapshot copies the chunk's old content
//   into the diff area (tagged with that snapshot) and holds the new content in memory; at
//   the next barrier (or when the write-back buffer fills) the copies and their map records
//   are made durable as one group, and only then do the held writes reach the origin. A snapshot
//   reads a chunk from the oldest copy tagged at or after it, else from the origin: one index
//   lookup, however many snapshots exist, and one origin write copies at most once.
// RoW: after a snapshot, a write to a chunk goes to a fresh chunk in the diff area (a
//   partial-chunk write first reads the chunk's current content: read-modify-write); the
//   live volume and every snapshot read through one shared per-chunk version index.
//   RowProvider::consolidate() folds redirected chunks back into the origin while I/O
//   continues.
//
// Classes: SnapshotProvider holds what both kinds share (snapshots, limits, policies, the
// Volume); CowProvider adds the write-back buffer and RowProvider consolidation. create()
// and open() on SnapshotProvider return an object whose dynamic type is one of the two, and
// as_cow() / as_row() reach it; CowProvider::open() and RowProvider::open() refuse a diff area
// of the other kind before anything is read beyond its superblock.
//
// Durability: as Volume. A write is durable after the provider's flush(); for CoW the copy
// of the old chunk is durable before the origin write is issued (invariant 1); committed
// snapshots survive any crash of the volumes beneath (invariant 3); creating a snapshot
// costs a metadata commit, no data copy (invariant 4); the diff area never exceeds its
// maximum (invariant 5): the overflow policy acts and the act is recorded in events() and
// delivered to the on_event callback.
//
// Thread-safety: every method may be called from any thread. Writes to the live volume are
// serialised with snapshot management; reads of the live volume and of snapshots run
// concurrently with each other. A snapshot read never sees a half-preserved chunk.
//
// Lifetime: the origin and diff volumes must outlive the provider; snapshot volumes returned
// by open_snapshot() must not outlive the provider. After a snapshot is deleted, reads of an
// open snapshot volume fail with kNotFound; after it is invalidated, with kInvalidated. A
// kNotFound for a snapshot the overflow policy deleted for space (one of the last kEventsMax,
// since the provider was opened) says so and why.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "freezeframe/clock.h"
#include "freezeframe/diff_area_settings.h"
#include "freezeframe/extent.h"
#include "freezeframe/random.h"
#include "freezeframe/volume.h"

namespace freezeframe {

namespace detail {
struct ProviderAccess;
}  // namespace detail

class CowProvider;
class RowProvider;

struct ProviderOptions {
  // Power of two from 4 KiB to 1 MiB; at least the sector size of both volumes.
  std::uint32_t chunk_bytes = 16 * 1024;
  DiffAreaLimit limit = DiffAreaLimit::percent_of_origin(10);
  // At most kSnapshotsPerVolumeMax.
  std::uint32_t snapshots_max = 64;
  OverflowPolicy overflow_policy = OverflowPolicy::kDeleteOldest;
  // Store chunks as zstd frames in the diff area; a slot's unused tail is discarded, so a
  // sparse diff volume holds only the frame. See docs/providers.md, "Compression".
  bool compress = false;
  // Creation timestamps; nullptr: a SystemClock owned by the provider.
  Clock* clock = nullptr;
  // Source of snapshot UUIDs; nullptr: the operating system's random source.
  Random* random = nullptr;
  // Name of the live volume the provider presents; empty: the origin's name.
  std::string name{};
  // CoW group commit: origin overwrites that displace a chunk being preserved are held in
  // memory (at most this many bytes, whole chunks) until the copies and their map records
  // are durable, so that one pair of barriers serves many first writes instead of every
  // write paying two. Held writes reach the origin at the next flush(), snapshot creation,
  // revert, destruction, or when the buffer is full; reads see them at once. 0: every
  // first write makes its copy durable before it returns (two barriers per write call).
  // Not stored in the diff area. The buffer is allocated at the first held write and kept.
  // kInvalidArgument if above kWriteBackBytesMax, or nonzero and smaller than a chunk.
  std::uint64_t write_back_bytes = kWriteBackBytesDefault;
  // Change tracking: how many change ids (generations) are kept, the current one included;
  // an older id is answered with a reset. Stored in the diff area. 1 to kChangeIdsMax.
  std::uint32_t change_ids_max = kChangeIdsDefault;
  // Called with every event the provider keeps in events(), as it happens (see
  // docs/providers.md, "Events"); empty: none. It runs synchronously on the thread doing the
  // operation, with the provider's lock held: it must not call the provider (or any snapshot
  // volume of it), must not throw, and should return quickly. Not stored in the diff area.
  std::function<void(const ProviderEvent&)> on_event{};
  // kUsageAboveWarning is reported when a write takes the diff area's use above this fraction
  // of its maximum; again only after use has fallen to the fraction or below. 0 turns it off.
  // Not stored in the diff area. kInvalidArgument unless 0 or in (0, 1].
  double usage_warning_fraction = kUsageWarningFractionDefault;

  static constexpr std::uint64_t kWriteBackBytesDefault = 8ull << 20;
  static constexpr std::uint64_t kWriteBackBytesMax = 1ull << 30;
  static constexpr double kUsageWarningFractionDefault = 0.8;
  static constexpr std::uint32_t kChangeIdsDefault = 4;
  static constexpr std::uint32_t kChangeIdsMax = 64;
};

struct ProviderOpenOptions {
  Clock* clock = nullptr;
  Random* random = nullptr;
  std::string name{};
  // As ProviderOptions::write_back_bytes.
  std::uint64_t write_back_bytes = ProviderOptions::kWriteBackBytesDefault;
  // As ProviderOptions::on_event; set before recovery runs, so it also receives what is
  // reported while opening.
  std::function<void(const ProviderEvent&)> on_event{};
  // As ProviderOptions::usage_warning_fraction. Use already above it at open is reported at
  // the first write that takes diff-area space.
  double usage_warning_fraction = ProviderOptions::kUsageWarningFractionDefault;
};

enum class SnapshotState : std::uint8_t { kActive = 1, kInvalidated = 2 };

struct SnapshotInfo {
  Uuid id{};
  Uuid set_id{};
  // Wall-clock creation time (Clock::wall_time()).
  Nanoseconds created{0};
  Uuid origin_id{};
  std::string origin_name{};
  ProviderKind provider = ProviderKind::kCopyOnWrite;
  SnapshotState state = SnapshotState::kActive;
  // Diff-area data bytes held for this snapshot (chunks tagged with it).
  std::uint64_t diff_area_bytes = 0;
  // Creation order within the provider, starting at 1; never reused.
  std::uint32_t sequence = 0;
  // Opaque attribute bits recorded at creation (the protocol layer stores its context here).
  std::uint32_t attributes = 0;
  // The change id of the point in the live volume's history the snapshot shows; empty for a
  // snapshot taken before change tracking started (a diff area of format 2).
  std::string change_id{};
};

// What changed in the live volume between two points of its history (change tracking, see
// SnapshotProvider::changed_extents()).
struct ChangedExtents {
  // True when the provider cannot tell what changed since the earlier point: that id is
  // older than the ones kept, from before tracking restarted (a repair), or from another
  // diff area. Then `extents` is empty and the caller must read everything; `reset_reason`
  // says why. Never a silent gap: without a reset, every chunk written in between is listed.
  bool reset = false;
  std::string reset_reason{};
  // Byte ranges of the volume, in whole chunks (the last chunk of the volume may be short),
  // sorted and merged (extent.h). A listed chunk may hold the same bytes as before (it was
  // written with them, or written and reverted); an unlisted one is unchanged.
  std::vector<Extent> extents{};
  std::uint32_t chunk_bytes = 0;
};

struct DiffAreaUsage {
  // Data bytes holding preserved or redirected chunks now.
  std::uint64_t used_bytes = 0;
  // Data bytes of the diff volume ever written (its high-water mark).
  std::uint64_t allocated_bytes = 0;
  // The current maximum (resolved from the limit, capped by the diff volume).
  std::uint64_t max_bytes = 0;
  DiffAreaLimit limit{};
  // Bytes of the diff volume reserved for superblock and metadata journal.
  std::uint64_t metadata_bytes = 0;
  std::uint32_t chunk_bytes = 0;
  // What a write does when the chunk it must keep does not fit.
  OverflowPolicy overflow_policy = OverflowPolicy::kDeleteOldest;
};

struct ProviderStats {
  // CoW: chunks copied into the diff area, and their bytes.
  std::uint64_t chunks_preserved = 0;
  // RoW: chunks newly redirected into the diff area.
  std::uint64_t chunks_redirected = 0;
  // RoW: partial-chunk writes that needed a read-modify-write.
  std::uint64_t read_modify_writes = 0;
  // Data bytes written to the diff volume (preserved or redirected chunks).
  std::uint64_t diff_data_bytes_written = 0;
  // Metadata journal commits, blocks, checkpoints. A commit costs one flush barrier on the
  // diff volume, plus one before it when chunk data was written since the last commit.
  std::uint64_t metadata_commits = 0;
  std::uint64_t metadata_blocks_written = 0;
  std::uint64_t checkpoints = 0;
  // Chunks folded back into the origin by consolidate().
  std::uint64_t chunks_consolidated = 0;
  // CoW group commit: chunks whose origin overwrite was held in the write-back buffer, and
  // how many times held chunks were written out (each after one group commit).
  std::uint64_t chunks_held = 0;
  std::uint64_t write_backs = 0;
};

// Whether this build compresses (zstd): false in a build with FREEZEFRAME_WITH_ZSTD=OFF (the
// mingw-w64 Windows build), where a compressed diff area cannot be created or opened
// (kUnsupported) and backup repositories, whose packs are zstd frames, are unavailable too.
bool compression_available() noexcept;

class SnapshotProvider : public Volume {
 public:
  static constexpr std::size_t kEventsMax = 256;

  // Formats `diff` as a new, empty diff area for `origin`. Refuses (kAlreadyExists) if `diff`
  // already holds a freezeframe diff area, so good data is never written over; it must be
  // discarded first. `diff` must be large enough for the metadata journal and at least a
  // few chunks (kInvalidArgument with the minimum otherwise).
  static Result<std::unique_ptr<SnapshotProvider>> create(ProviderKind kind, Volume& origin,
                                                          Volume& diff,
                                                          const ProviderOptions& options);
  // Opens the diff area on `diff` and recovers its state from the journal (after a crash
  // too). Fails without writing anything if the diff area is foreign or corrupt (kCorrupt),
  // of a newer format (kUnsupportedVersion), or belongs to another origin (kInvalidArgument).
  // Over a read-only `diff` the provider is read-only: snapshots and the live volume read as
  // after a writable open, read_only() is true, flush() does nothing, and every change fails
  // with kReadOnly; nothing is written to either volume. A CoW revert interrupted by a crash
  // must be finished by a writable open first (kReadOnly until then).
  static Result<std::unique_ptr<SnapshotProvider>> open(Volume& origin, Volume& diff,
                                                        const ProviderOpenOptions& options = {});

  ~SnapshotProvider() override;

  ProviderKind kind() const noexcept;
  // This provider as its kind's class; null when it is of the other kind.
  CowProvider* as_cow() noexcept;
  const CowProvider* as_cow() const noexcept;
  RowProvider* as_row() noexcept;
  const RowProvider* as_row() const noexcept;

  const VolumeIdentity& identity() const noexcept override;
  std::uint64_t size_bytes() const noexcept override;
  std::uint32_t sector_bytes() const noexcept override;
  bool read_only() const noexcept override;
  // The origin's physical sector; an atomic write unit no larger than the origin's or the diff
  // volume's (a live write lands on either); optimal I/O: the chunk (a write of whole aligned
  // chunks needs no read-modify-write of a chunk), or the physical sector if larger. Snapshot
  // volumes report the same.
  DeviceProperties properties() const noexcept override;

  // Takes a snapshot of the live volume as of this call: every write completed before it is
  // in the snapshot, none started after. Costs one metadata commit, no data copy.
  // kLimitExceeded when snapshots_max exist, invalidated ones included (delete those first).
  Result<SnapshotInfo> create_snapshot(const Uuid& set_id = Uuid(), std::uint32_t attributes = 0);
  // Oldest first; invalidated snapshots included (state kInvalidated).
  std::vector<SnapshotInfo> snapshots() const;
  Result<SnapshotInfo> snapshot_info(const Uuid& id) const;
  // A read-only Volume showing the snapshot. Its identity is the snapshot's id.
  Result<std::unique_ptr<Volume>> open_snapshot(const Uuid& id);
  // Deletes any snapshot, oldest, middle or newest; the others read as before.
  Status delete_snapshot(const Uuid& id);
  // Makes the live volume read as snapshot `id` did. Snapshots newer than `id` are deleted;
  // `id` itself stays. CoW copies the preserved chunks back (resumed after a crash); RoW
  // drops the redirected layers (metadata only).
  Status revert_to_snapshot(const Uuid& id);
  // Changes the maximum size online. Shrinking below current use applies the overflow policy
  // (fail-writes: refused with kNoSpace).
  Status set_limit(const DiffAreaLimit& limit);
  Status set_overflow_policy(OverflowPolicy policy);

  // ----- change tracking (docs/providers.md, "Change tracking")
  //
  // Every provider tracks which chunks of its live volume are written, in generations that
  // begin at each snapshot's creation (SnapshotInfo::change_id) and at each new_change_id().
  // The tracking is durable and crash-safe: a write's chunks are marked in the journal before
  // its data can reach a volume, so after a crash nothing written is ever missing (a write
  // that did not land may still be listed).

  // Begins a new generation now and returns its change id: a later
  // changed_extents(id) lists what is written after this call. Costs one metadata commit.
  // kReadOnly on a read-only provider.
  Result<std::string> new_change_id();
  // The chunks written between change id `since` and change id `until` (empty: now). A reset
  // (see ChangedExtents) when `since` can no longer be answered. kInvalidArgument when a text
  // is not a change id, or `until` is not later than `since` in the same history.
  Result<ChangedExtents> changed_extents(std::string_view since, std::string_view until = {}) const;
  // The chunks that differ between two snapshots (either order), from the change ids when
  // they are still kept, else from the diff area's index (exact either way, never a reset).
  // kNotFound / kInvalidated as open_snapshot().
  Result<ChangedExtents> changed_extents(const Uuid& snapshot_a, const Uuid& snapshot_b) const;

  DiffAreaUsage usage() const;
  std::vector<ProviderEvent> events() const;
  ProviderStats stats() const;

  // Bytes of memory the per-chunk metadata holds: the version index (about 12 bytes per
  // version) and, with compression, the frame length of each data slot (4 bytes per slot).
  std::uint64_t index_memory_bytes() const;

 protected:
  struct Impl;
  explicit SnapshotProvider(std::unique_ptr<Impl> impl);
  Impl& impl() const noexcept { return *impl_; }
  // open(), refusing a diff area of another kind than `expected` (when given) before any
  // recovery runs.
  static Result<std::unique_ptr<SnapshotProvider>> open_as(Volume& origin, Volume& diff,
                                                           const ProviderOpenOptions& options,
                                                           std::optional<ProviderKind> expected);

  Status do_read(std::uint64_t offset, std::span<std::byte> out) override;
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override;
  Status do_flush() override;
  Status do_discard(std::uint64_t offset, std::uint64_t length) override;

 private:
  // The object of `impl`'s kind.
  static std::unique_ptr<SnapshotProvider> make(std::unique_ptr<Impl> impl);

  friend struct detail::ProviderAccess;  // check and repair (integrity.h)
  std::unique_ptr<Impl> impl_;
};

// What CowProvider and RowProvider share: create() and open() typed as the class `Typed`,
// which stands for providers of kind `kKind`. Defined (and instantiated for both kinds) in
// snapshot_provider.cpp.
template <typename Typed, ProviderKind kKind>
class TypedProvider : public SnapshotProvider {
 public:
  // As SnapshotProvider::create() with kind `kKind`.
  static Result<std::unique_ptr<Typed>> create(Volume& origin, Volume& diff,
                                               const ProviderOptions& options = {});
  // As SnapshotProvider::open(); kInvalidArgument, with nothing written, if `diff` holds a
  // diff area of the other kind.
  static Result<std::unique_ptr<Typed>> open(Volume& origin, Volume& diff,
                                             const ProviderOpenOptions& options = {});

 protected:
  using SnapshotProvider::SnapshotProvider;
};

extern template class TypedProvider<CowProvider, ProviderKind::kCopyOnWrite>;
extern template class TypedProvider<RowProvider, ProviderKind::kRedirectOnWrite>;

// The copy-on-write provider (the model of the Windows system provider): the first write to
// a chunk after the newest snapshot preserves its old content in the diff area; the new
// content waits in the write-back buffer until the copy is durable (group commit).
class CowProvider final : public TypedProvider<CowProvider, ProviderKind::kCopyOnWrite> {
 public:
  // Chunks whose new content is held in the write-back buffer now, waiting for the group
  // commit that makes their preserved copies durable; flush() writes them back. Always 0
  // when ProviderOptions::write_back_bytes is 0.
  std::uint64_t held_chunks() const;

 private:
  friend class SnapshotProvider;
  explicit CowProvider(std::unique_ptr<Impl> impl);
};

// The redirect-on-write provider: after a snapshot, writes go to fresh diff-area chunks;
// consolidate() folds the ones no snapshot needs back into the origin.
class RowProvider final : public TypedProvider<RowProvider, ProviderKind::kRedirectOnWrite> {
 public:
  // Copies redirected chunks that no snapshot needs any more back into the origin and frees
  // their slots, a batch at a time, while I/O continues (the lock is released between
  // batches). kReadOnly over a read-only diff volume when there is something to fold.
  Status consolidate();
  // Redirected chunks that consolidate() would fold back now.
  std::uint64_t consolidatable_chunks() const;

 private:
  friend class SnapshotProvider;
  explicit RowProvider(std::unique_ptr<Impl> impl);
};

}  // namespace freezeframe

// The snapshot provider as a composition of its layers (see docs/providers.md, "Layers"):
// DiffArea (diff_area.h) under MetadataJournal (metadata_journal.h) and ProviderState
// (provider_state.h), the OverflowGuard (overflow_guard.h) above them, the read side
// (snapshot_view.h), and one write path on top: CowWritePath (cow_provider.h) or
// RowWritePath (row_provider.h). This file formats and opens diff areas, takes the provider's
// lock, and runs the snapshot operations that span the layers (create, delete, revert).
#include "freezeframe/snapshot_provider.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <mutex>
#include <shared_mutex>

#include "byte_math.h"
#include "chunk_index.h"
#include "cow_provider.h"
#include "diff_area.h"
#include "diff_area_format.h"
#include "diff_area_upgrade.h"
#include "freezeframe/assert.h"
#include "metadata_journal.h"
#include "overflow_guard.h"
#include "plant_hook.h"
#include "provider_impl.h"
#include "provider_state.h"
#include "row_provider.h"
#include "snapshot_view.h"
#include "write_path.h"

namespace freezeframe {

namespace {

using detail::align_up;
using detail::bytes_text;
using detail::ChunkIndex;
using detail::div_ceil;
using detail::is_power_of_two;
using detail::MetadataJournal;
using detail::SnapshotMeta;
using detail::SnapshotView;
using format::Record;
using format::RecordType;

// consolidate() releases the lock between batches of this many bytes of chunks (at least
// kConsolidateBatchChunksMin chunks). Each batch costs three barriers (origin, then the
// diff volume's data and journal), so larger batches fold faster; smaller ones let live
// I/O in sooner.
constexpr std::uint64_t kConsolidateBatchBytes = 8ull << 20;
constexpr std::size_t kConsolidateBatchChunksMin = 64;
// Smallest number of data slots a diff area may have.
constexpr std::uint64_t kDataSlotsMin = 4;
// Data slots preallocated with the metadata when a diff area is formatted (see
// docs/formats/diff-area.md, "Preallocation"): the first chunks a diff area takes never find
// the file system full.
constexpr std::uint64_t kReservedDataSlots = kDataSlotsMin;

static_assert(SnapshotProvider::kEventsMax == detail::OverflowGuard::kEventsMax);

std::int64_t wall_now_ns(Clock* clock) {
  if (clock != nullptr)
    return clock->wall_time().count();
  return std::chrono::duration_cast<Nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

namespace {

Status check_write_back(std::uint64_t bytes, std::uint32_t chunk) {
  if (bytes > ProviderOptions::kWriteBackBytesMax) {
    return invalid_argument("write-back buffer of " + bytes_text(bytes) + " is larger than " +
                            bytes_text(ProviderOptions::kWriteBackBytesMax));
  }
  if (bytes != 0 && bytes < chunk) {
    return invalid_argument("write-back buffer of " + std::to_string(bytes) +
                            " bytes holds no chunk of " + std::to_string(chunk) +
                            " bytes (0 turns it off)");
  }
  return Status();
}

Status check_usage_warning(double fraction) {
  // Written so that NaN is refused too.
  if (fraction == 0 || (fraction > 0 && fraction <= 1))
    return Status();
  return invalid_argument("usage warning fraction " + std::to_string(fraction) +
                          " must be in (0, 1], or 0 to turn the warning off");
}

Status validate_volumes(Volume& origin, Volume& diff, bool read_only_allowed) {
  // Two Volume objects with one UUID (a wrapper and its base, say) are one volume.
  if (&origin == &diff || origin.uuid() == diff.uuid()) {
    return invalid_argument("the diff area must be on a volume other than its origin '" +
                            origin.name() + "' (" + origin.uuid().to_string() + ")");
  }
  if (diff.read_only() && !read_only_allowed) {
    return Status(ErrorCode::kReadOnly, "diff volume '" + diff.name() + "' is read-only");
  }
  return Status();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// SnapshotProvider

SnapshotProvider::SnapshotProvider(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SnapshotProvider::~SnapshotProvider() {
  // Held CoW writes reach the origin, as a closed file's writes do (errors are not
  // reported here: call flush() to know).
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  if (s.state.broken().ok())
    (void)s.path->write_back_held();
}

Result<std::unique_ptr<SnapshotProvider>> SnapshotProvider::create(ProviderKind kind,
                                                                   Volume& origin, Volume& diff,
                                                                   const ProviderOptions& options) {
  FF_TRY(validate_volumes(origin, diff, false));
  if (kind != ProviderKind::kCopyOnWrite && kind != ProviderKind::kRedirectOnWrite) {
    return invalid_argument("unknown provider kind " + std::to_string(static_cast<int>(kind)));
  }
  const std::uint32_t chunk = options.chunk_bytes;
  if (!is_power_of_two(chunk) || chunk < format::kChunkBytesMin || chunk > format::kChunkBytesMax) {
    return invalid_argument("chunk size " + std::to_string(chunk) +
                            " must be a power of two from 4 KiB to 1 MiB");
  }
  if (chunk < origin.sector_bytes() || chunk < diff.sector_bytes()) {
    return invalid_argument("chunk size " + std::to_string(chunk) +
                            " is smaller than a sector of the origin or diff volume");
  }
  if (div_ceil(origin.size_bytes(), chunk) >= ChunkIndex::kChunksMax) {
    return invalid_argument("origin '" + origin.name() + "' of " + bytes_text(origin.size_bytes()) +
                            " has more than 2^32 - 2 chunks of " + std::to_string(chunk) +
                            " bytes; choose a larger chunk size");
  }
  if (options.snapshots_max < 1 || options.snapshots_max > kSnapshotsPerVolumeMax) {
    return invalid_argument("maximum snapshot count " + std::to_string(options.snapshots_max) +
                            " must be from 1 to " + std::to_string(kSnapshotsPerVolumeMax));
  }
  if (static_cast<int>(options.limit.kind) > 2) {
    return invalid_argument("unknown diff area limit kind " +
                            std::to_string(static_cast<int>(options.limit.kind)));
  }
  if (options.limit.kind == DiffAreaLimit::Kind::kPercentOfOrigin &&
      (options.limit.value < 1 || options.limit.value > 100)) {
    return invalid_argument("diff area maximum " + options.limit.to_string() +
                            " must be from 1% to 100% of the origin");
  }
  if (static_cast<int>(options.overflow_policy) < 1 ||
      static_cast<int>(options.overflow_policy) > 3) {
    return invalid_argument("unknown overflow policy");
  }
  if (diff.size_bytes() < format::kSuperblockBytes) {
    return invalid_argument("diff volume '" + diff.name() + "' is too small");
  }

  // Refuse to format over an existing diff area.
  std::vector<std::byte> first(
      std::max<std::size_t>(format::kSuperblockBytes, diff.sector_bytes()));
  FF_TRY(diff.read(0, first));
  if (std::memcmp(first.data(), format::kSuperblockMagic.data(), format::kSuperblockMagic.size()) ==
      0) {
    return Status(ErrorCode::kAlreadyExists,
                  "diff volume '" + diff.name() +
                      "' already holds a freezeframe diff area; delete it before formatting");
  }

  // Layout: superblock, two journal areas sized for a checkpoint of a full diff area, the
  // chunk checksum table, data.
  const std::uint64_t block = format::kLogBlockBytes;
  std::uint64_t slots_estimate = diff.size_bytes() / chunk;
  std::uint64_t area_blocks = MetadataJournal::area_blocks_for(slots_estimate);
  std::uint64_t log0 = block;
  std::uint64_t log1 = log0 + area_blocks * block;
  std::uint64_t sum_offset = log1 + area_blocks * block;
  std::uint64_t sum_bytes = format::sum_table_bytes(slots_estimate);
  std::uint64_t data_offset = align_up(sum_offset + sum_bytes, chunk);
  std::uint64_t data_slots =
      diff.size_bytes() > data_offset ? (diff.size_bytes() - data_offset) / chunk : 0;
  data_slots = std::min<std::uint64_t>(data_slots, format::kOriginSlot - 1);
  if (data_slots < kDataSlotsMin) {
    return invalid_argument("diff volume '" + diff.name() + "' of " +
                            bytes_text(diff.size_bytes()) + " is too small: it needs at least " +
                            bytes_text(data_offset + kDataSlotsMin * chunk) + " for " +
                            bytes_text(chunk) + " chunks");
  }

  FF_TRY(check_write_back(options.write_back_bytes, chunk));
  if (options.change_ids_max < 1 || options.change_ids_max > ProviderOptions::kChangeIdsMax) {
    return invalid_argument("change_ids_max " + std::to_string(options.change_ids_max) +
                            " is not in [1, " + std::to_string(ProviderOptions::kChangeIdsMax) +
                            "]");
  }
  FF_TRY(check_usage_warning(options.usage_warning_fraction));
  format::Superblock sb;
  sb.generation = 1;
  sb.provider_kind = static_cast<std::uint8_t>(kind);
  sb.overflow_policy = static_cast<std::uint8_t>(options.overflow_policy);
  sb.chunk_bytes = chunk;
  sb.sector_bytes = diff.sector_bytes();
  sb.snapshots_max = options.snapshots_max;
  sb.limit_kind = static_cast<std::uint8_t>(options.limit.kind);
  sb.limit_value = options.limit.value;
  sb.origin_bytes = origin.size_bytes();
  sb.origin_uuid = origin.uuid();
  sb.diff_area_uuid =
      options.random != nullptr ? Uuid::generate(*options.random) : Uuid::generate();
  sb.volume_bytes = diff.size_bytes();
  sb.log_area_bytes = area_blocks * block;
  sb.log_offset = {log0, log1};
  sb.data_offset = data_offset;
  sb.data_slots = data_slots;
  sb.sum_offset = sum_offset;
  sb.sum_bytes = sum_bytes;
  sb.active_log = 1;  // the first checkpoint switches to area 0
  sb.log_start_sequence = 0;
  sb.checkpoint_blocks = 0;
  sb.flags = options.compress ? format::kFlagCompressed : 0;

  auto impl = std::make_unique<Impl>(kind, origin, diff, sb, options.name, options.clock,
                                     options.random, options.write_back_bytes / chunk);
  Impl& s = *impl;
  s.guard.set_listener(options.on_event);
  s.guard.set_usage_warning(options.usage_warning_fraction);
  if (options.compress)
    FF_TRY(s.diff_area.enable_compression());
  // The journal areas and the checksum table start out zero: a journal sector left from
  // earlier use of the volume would otherwise read as damage next to a torn commit.
  FF_TRY(diff.discard(log0, data_offset - log0));
  // Metadata and a reserve of slots get their storage before anything is written, so that
  // deletes and the overflow policy work on a full file system (and a failure formats nothing).
  FF_TRY(diff.allocate(0, data_offset + kReservedDataSlots * chunk)
             .with_context("preallocating the metadata of the diff area on '" + diff.name() + "'"));
  // Change tracking starts with the diff area; the first checkpoint goes to area 0 and
  // writes the superblock last.
  s.state.begin_generation(0, s.new_tracking_epoch(), options.change_ids_max);
  FF_TRY(s.state.write_checkpoint());
  s.journal.reset_stats();
  return make(std::move(impl));
}

Result<std::unique_ptr<SnapshotProvider>> SnapshotProvider::open(
    Volume& origin, Volume& diff, const ProviderOpenOptions& options) {
  return open_as(origin, diff, options, std::nullopt);
}

Result<std::unique_ptr<SnapshotProvider>> SnapshotProvider::open_as(
    Volume& origin, Volume& diff, const ProviderOpenOptions& options,
    std::optional<ProviderKind> expected) {
  FF_TRY(validate_volumes(origin, diff, true));
  if (diff.size_bytes() < format::kSuperblockBytes) {
    return corrupt("diff volume '" + diff.name() + "' is too small to hold a diff area");
  }
  std::vector<std::byte> bytes(
      std::max<std::size_t>(format::kSuperblockBytes, diff.sector_bytes()));
  FF_TRY(diff.read(0, bytes));
  auto decoded = format::decode_superblock(bytes, diff.size_bytes());
  if (!decoded.ok()) {
    return decoded.status().with_context("diff volume '" + diff.name() + "'");
  }
  const format::Superblock& sb = decoded.value();
  if (sb.origin_bytes != origin.size_bytes() || sb.origin_uuid != origin.uuid()) {
    return invalid_argument("diff volume '" + diff.name() + "' belongs to origin " +
                            sb.origin_uuid.to_string() + " of " + std::to_string(sb.origin_bytes) +
                            " bytes, not to '" + origin.name() + "' (" + origin.uuid().to_string() +
                            ", " + std::to_string(origin.size_bytes()) + " bytes)");
  }
  if (sb.chunk_bytes < origin.sector_bytes() || sb.chunk_bytes < diff.sector_bytes()) {
    return corrupt("diff volume '" + diff.name() + "': chunk size " +
                   std::to_string(sb.chunk_bytes) + " is smaller than a volume sector");
  }
  if (div_ceil(sb.origin_bytes, sb.chunk_bytes) >= ChunkIndex::kChunksMax) {
    return corrupt("diff volume '" + diff.name() +
                   "': the origin has more than 2^32 - 2 chunks of " +
                   std::to_string(sb.chunk_bytes) + " bytes");
  }
  if (expected.has_value() && static_cast<ProviderKind>(sb.provider_kind) != *expected) {
    auto words = [](ProviderKind kind) {
      return std::string(kind == ProviderKind::kCopyOnWrite ? "copy-on-write"
                                                            : "redirect-on-write");
    };
    return invalid_argument(
        "diff volume '" + diff.name() + "' holds a " +
        words(static_cast<ProviderKind>(sb.provider_kind)) + " diff area, not a " +
        words(*expected) +
        " one; open it with the provider of its kind (or SnapshotProvider::open)");
  }
  FF_TRY(check_write_back(options.write_back_bytes, sb.chunk_bytes));
  FF_TRY(check_usage_warning(options.usage_warning_fraction));
  auto impl = std::make_unique<Impl>(static_cast<ProviderKind>(sb.provider_kind), origin, diff, sb,
                                     options.name, options.clock, options.random,
                                     options.write_back_bytes / sb.chunk_bytes);
  Impl& s = *impl;
  s.guard.set_listener(options.on_event);
  s.guard.set_usage_warning(options.usage_warning_fraction);
  if ((sb.flags & format::kFlagCompressed) != 0)
    FF_TRY(s.diff_area.enable_compression());
  s.read_only = diff.read_only();
  FF_TRY(s.state.recover());
  if (!s.journal.damage().ok()) {
    // A damaged commit: the state is the one before it, and any snapshot may have lost
    // records in it (a preserved chunk, a deletion whose slots were reused since), as may
    // the RoW live volume. Nothing is written, and those reads are refused.
    s.read_only = true;
    s.state.set_damage(s.journal.damage().with_context(
        s.diff_area.name() + " is open read-only: its journal holds a damaged commit that " +
        "may have changed " + s.affected_text() +
        " (repair it with `freezeframe check --repair`, which drops them)"));
    return make(std::move(impl));
  }
  if (sb.format_version < format::kFormatVersionV2 ||
      sb.sum_table_state != format::kSumTableValid) {
    if (s.read_only) {
      s.diff_area.set_sums_trusted(false);  // a version 1 area, or a table being rebuilt
    } else if (sb.format_version < format::kFormatVersionV2) {
      FF_TRY(detail::upgrade_diff_area(diff, s.diff_area, s.journal, s.state));
    } else {
      s.diff_area.set_sums_trusted(false);
      FF_TRY(detail::rebuild_sum_table(diff, s.diff_area, s.journal, s.state));
    }
  }
  if (!s.read_only && !s.state.tracker().started()) {
    // A diff area of format 2 (or 1, just upgraded) has no change tracking: it starts now,
    // and the checkpoint that holds it switches the superblock to format 3.
    s.state.begin_generation(0, s.new_tracking_epoch(), ProviderOptions::kChangeIdsDefault);
    if (s.journal.superblock().format_version < format::kFormatVersion) {
      format::Superblock next = s.journal.superblock();
      next.format_version = format::kFormatVersion;
      s.journal.adopt_superblock(next);
      FF_TRY(s.state.write_checkpoint());
    } else {
      FF_TRY(s.state.commit());
    }
  }
  if (s.kind == ProviderKind::kCopyOnWrite && s.state.revert_tag() != 0) {
    if (s.read_only) {
      return Status(ErrorCode::kReadOnly,
                    s.diff_area.name() +
                        ": a revert was interrupted; open it writable once to finish it before "
                        "it can be read");
    }
    FF_TRY(s.path->finish_revert());
  }
  return make(std::move(impl));
}

CowProvider::CowProvider(std::unique_ptr<Impl> impl) : TypedProvider(std::move(impl)) {}
RowProvider::RowProvider(std::unique_ptr<Impl> impl) : TypedProvider(std::move(impl)) {}

std::unique_ptr<SnapshotProvider> SnapshotProvider::make(std::unique_ptr<Impl> impl) {
  if (impl->kind == ProviderKind::kCopyOnWrite)
    return std::unique_ptr<SnapshotProvider>(new CowProvider(std::move(impl)));
  return std::unique_ptr<SnapshotProvider>(new RowProvider(std::move(impl)));
}

CowProvider* SnapshotProvider::as_cow() noexcept {
  return impl_->kind == ProviderKind::kCopyOnWrite ? static_cast<CowProvider*>(this) : nullptr;
}
const CowProvider* SnapshotProvider::as_cow() const noexcept {
  return impl_->kind == ProviderKind::kCopyOnWrite ? static_cast<const CowProvider*>(this)
                                                   : nullptr;
}
RowProvider* SnapshotProvider::as_row() noexcept {
  return impl_->kind == ProviderKind::kRedirectOnWrite ? static_cast<RowProvider*>(this) : nullptr;
}
const RowProvider* SnapshotProvider::as_row() const noexcept {
  return impl_->kind == ProviderKind::kRedirectOnWrite ? static_cast<const RowProvider*>(this)
                                                       : nullptr;
}

namespace {

// `provider`, made for kind `kKind`, as the class that stands for that kind.
template <typename Typed, ProviderKind kKind>
std::unique_ptr<Typed> as_typed(std::unique_ptr<SnapshotProvider> provider) {
  FF_ASSERT(provider->kind() == kKind);
  return std::unique_ptr<Typed>(static_cast<Typed*>(provider.release()));
}

}  // namespace

template <typename Typed, ProviderKind kKind>
Result<std::unique_ptr<Typed>> TypedProvider<Typed, kKind>::create(Volume& origin, Volume& diff,
                                                                   const ProviderOptions& options) {
  FF_ASSIGN_OR_RETURN(auto provider, SnapshotProvider::create(kKind, origin, diff, options));
  return as_typed<Typed, kKind>(std::move(provider));
}
template <typename Typed, ProviderKind kKind>
Result<std::unique_ptr<Typed>> TypedProvider<Typed, kKind>::open(
    Volume& origin, Volume& diff, const ProviderOpenOptions& options) {
  FF_ASSIGN_OR_RETURN(auto provider, open_as(origin, diff, options, kKind));
  return as_typed<Typed, kKind>(std::move(provider));
}
template class TypedProvider<CowProvider, ProviderKind::kCopyOnWrite>;
template class TypedProvider<RowProvider, ProviderKind::kRedirectOnWrite>;

std::uint64_t CowProvider::held_chunks() const {
  Impl& s = impl();
  std::shared_lock lock(s.mutex);
  FF_ASSERT(s.kind == ProviderKind::kCopyOnWrite);
  return static_cast<const detail::CowWritePath&>(*s.path).held_chunks();
}

std::uint64_t RowProvider::consolidatable_chunks() const {
  Impl& s = impl();
  std::shared_lock lock(s.mutex);
  return s.row->consolidation_candidates().size();
}

ProviderKind SnapshotProvider::kind() const noexcept {
  return impl_->kind;
}
const VolumeIdentity& SnapshotProvider::identity() const noexcept {
  return impl_->identity;
}
std::uint64_t SnapshotProvider::size_bytes() const noexcept {
  return impl_->origin.size_bytes();
}
std::uint32_t SnapshotProvider::sector_bytes() const noexcept {
  return impl_->origin.sector_bytes();
}
bool SnapshotProvider::read_only() const noexcept {
  return impl_->origin.read_only() || impl_->read_only;
}
DeviceProperties SnapshotProvider::properties() const noexcept {
  // A live write lands on the origin or the diff volume: it tears at the finer of the two.
  DeviceProperties origin = impl_->origin.properties();
  origin.atomic_write_bytes =
      std::min(origin.atomic_write_bytes, impl_->diff_area.volume().atomic_write_bytes());
  origin.optimal_io_bytes =
      std::max(impl_->diff_area.geometry().chunk_bytes, origin.physical_sector_bytes);
  return origin;
}

Result<SnapshotInfo> SnapshotProvider::create_snapshot(const Uuid& set_id,
                                                       std::uint32_t attributes) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  FF_TRY(s.check_writable());
  // Invalidated snapshots count: they stay in the catalog (and in every checkpoint, which is
  // sized for kSnapshotsPerVolumeMax of them) until deleted.
  const std::size_t count = s.state.snapshots().size();
  if (count >= s.journal.superblock().snapshots_max) {
    return Status(ErrorCode::kLimitExceeded, "'" + s.identity.name + "' already has " +
                                                 std::to_string(count) + " snapshots (" +
                                                 std::to_string(count - s.state.active().size()) +
                                                 " invalidated), the maximum of its diff area");
  }
  if (s.state.next_tag() == std::numeric_limits<std::uint32_t>::max()) {
    return Status(ErrorCode::kLimitExceeded, s.diff_area.name() + ": snapshot tags exhausted");
  }
  // Everything written before this call is in the snapshot and durable with it; no chunk
  // stays held across a snapshot.
  FF_TRY(s.path->write_back_held());
  FF_TRY(s.origin.flush());
  Record record;
  record.type = RecordType::kSnapshotCreate;
  record.tag = s.state.next_tag();
  record.id = s.random != nullptr ? Uuid::generate(*s.random) : Uuid::generate();
  record.set_id = set_id;
  record.created_ns = wall_now_ns(s.clock);
  record.attributes = attributes;
  s.state.log(record);
  // The snapshot begins a change-tracking generation: its change id names this point.
  if (s.state.tracker().started())
    s.state.begin_generation(record.tag, 0, s.state.tracker().retained_max());
  FF_TRY(s.state.commit());
  return s.info_of(s.state.snapshots().at(record.tag));
}

std::vector<SnapshotInfo> SnapshotProvider::snapshots() const {
  std::shared_lock lock(impl_->mutex);
  std::vector<SnapshotInfo> out;
  for (const auto& [tag, meta] : impl_->state.snapshots())
    out.push_back(impl_->info_of(meta));
  return out;
}

Result<SnapshotInfo> SnapshotProvider::snapshot_info(const Uuid& id) const {
  std::shared_lock lock(impl_->mutex);
  FF_ASSIGN_OR_RETURN(const SnapshotMeta* meta, impl_->find_snapshot(id));
  return impl_->info_of(*meta);
}

Result<std::unique_ptr<Volume>> SnapshotProvider::open_snapshot(const Uuid& id) {
  std::shared_lock lock(impl_->mutex);
  FF_ASSIGN_OR_RETURN(const SnapshotMeta* meta, impl_->find_snapshot(id));
  if (meta->invalidated) {
    return Status(ErrorCode::kInvalidated, "snapshot " + id.to_string() + " of '" +
                                               impl_->identity.name + "' was invalidated");
  }
  VolumeIdentity identity{impl_->identity.name + "@" + std::to_string(meta->tag), id};
  return std::unique_ptr<Volume>(new SnapshotView(impl_->mutex, impl_->state, impl_->guard,
                                                  impl_->reader, impl_->origin, meta->tag,
                                                  std::move(identity), properties()));
}

Status SnapshotProvider::delete_snapshot(const Uuid& id) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  FF_TRY(s.check_writable());
  FF_ASSIGN_OR_RETURN(const SnapshotMeta* meta, s.find_snapshot(id));
  Record record;
  record.type = RecordType::kSnapshotDelete;
  record.tag = meta->tag;
  s.state.log(record);
  return s.state.commit();
}

Status SnapshotProvider::revert_to_snapshot(const Uuid& id) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  FF_TRY(s.check_writable());
  FF_ASSIGN_OR_RETURN(const SnapshotMeta* meta, s.find_snapshot(id));
  if (meta->invalidated) {
    return Status(ErrorCode::kInvalidated,
                  "cannot revert to snapshot " + id.to_string() + ": it was invalidated");
  }
  if (s.origin.read_only()) {
    return Status(ErrorCode::kReadOnly, "cannot revert read-only volume '" + s.origin.name() + "'");
  }
  // Live writes made so far are discarded by the revert; the records before it go first.
  FF_TRY(s.path->write_back_held());
  FF_TRY(s.origin.flush());
  // Change tracking: every chunk the live volume reads from elsewhere than the snapshot does
  // changes, and is marked in the same commit as the revert.
  s.state.index().for_each([&](std::uint64_t chunk, std::span<const detail::IndexEntry>) {
    if (s.state.locate(chunk, 0) != s.state.locate(chunk, meta->tag))
      s.state.mark_changed(chunk, chunk);
  });
  Record record;
  record.type = RecordType::kRevert;
  record.tag = meta->tag;
  s.state.log(record);
  FF_TRY(s.state.commit());
  // CoW: a half-done copy leaves the live volume between two states: refuse further changes
  // until a reopen resumes the revert from the journal.
  if (Status status = s.path->finish_revert(); !status.ok())
    return s.state.fail(status);
  return Status();
}

Status RowProvider::consolidate() {
  Impl& s = impl();
  std::vector<std::uint64_t> candidates;
  {
    std::shared_lock lock(s.mutex);
    candidates = s.row->consolidation_candidates();
  }
  // One batch per lock hold, so live I/O goes on between batches.
  while (!candidates.empty()) {
    std::unique_lock lock(s.mutex);
    FF_TRY(s.check_writable());
    FF_TRY(s.row
               ->consolidate_batch(candidates,
                                   std::max<std::size_t>(
                                       kConsolidateBatchChunksMin,
                                       kConsolidateBatchBytes / s.diff_area.geometry().chunk_bytes))
               .status());
  }
  return Status();
}

Status SnapshotProvider::set_limit(const DiffAreaLimit& limit) {
  Impl& s = *impl_;
  if (limit.kind == DiffAreaLimit::Kind::kPercentOfOrigin &&
      (limit.value < 1 || limit.value > 100)) {
    return invalid_argument("diff area maximum " + limit.to_string() +
                            " must be from 1% to 100% of the origin");
  }
  if (static_cast<int>(limit.kind) > 2)
    return invalid_argument("unknown diff area limit kind");
  std::unique_lock lock(s.mutex);
  FF_TRY(s.check_writable());
  return s.guard.change_limit(limit);
}

Status SnapshotProvider::set_overflow_policy(OverflowPolicy policy) {
  Impl& s = *impl_;
  if (static_cast<int>(policy) < 1 || static_cast<int>(policy) > 3) {
    return invalid_argument("unknown overflow policy");
  }
  std::unique_lock lock(s.mutex);
  FF_TRY(s.check_writable());
  return s.guard.change_policy(policy);
}

DiffAreaUsage SnapshotProvider::usage() const {
  std::shared_lock lock(impl_->mutex);
  const Impl& s = *impl_;
  DiffAreaUsage usage;
  usage.used_bytes = s.diff_area.used_bytes();
  usage.allocated_bytes = s.diff_area.allocated_bytes();
  usage.max_bytes = s.diff_area.max_bytes();
  usage.limit = s.diff_area.limit();
  usage.metadata_bytes = s.diff_area.geometry().data_offset;
  usage.chunk_bytes = s.diff_area.geometry().chunk_bytes;
  usage.overflow_policy = s.state.policy();
  return usage;
}

std::vector<ProviderEvent> SnapshotProvider::events() const {
  std::shared_lock lock(impl_->mutex);
  return impl_->guard.events();
}

ProviderStats SnapshotProvider::stats() const {
  std::shared_lock lock(impl_->mutex);
  return impl_->stats();
}

std::uint64_t SnapshotProvider::index_memory_bytes() const {
  std::shared_lock lock(impl_->mutex);
  return impl_->state.memory_bytes();
}

Status SnapshotProvider::do_read(std::uint64_t offset, std::span<std::byte> out) {
  std::shared_lock lock(impl_->mutex);
  // The CoW live volume is the origin, which the journal does not describe; the RoW one is
  // not trustworthy after a damaged commit.
  if (impl_->kind == ProviderKind::kRedirectOnWrite && !impl_->state.damage().ok())
    return impl_->state.damage();
  return impl_->path->read(offset, out);
}

Status SnapshotProvider::do_write(std::uint64_t offset, std::span<const std::byte> data) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex, std::defer_lock);
  // PLANTED DEFECT (race-unlocked-write): the write changes the provider's state unlocked.
  if (!detail::planted(Plant::kRaceUnlockedWrite))
    lock.lock();
  FF_TRY(s.check_writable());
  return s.path->write(offset, data);
}

Status SnapshotProvider::do_flush() {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  if (s.read_only)
    return Status();  // nothing was or can be written
  FF_TRY(s.check_writable());
  FF_TRY(s.path->flush());
  return s.origin.flush();
}

Status SnapshotProvider::do_discard(std::uint64_t offset, std::uint64_t length) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mutex);
  FF_TRY(s.check_writable());
  return s.path->discard(offset, length);
}

}  // namespace freezeframe

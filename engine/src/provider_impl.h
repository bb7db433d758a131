// SnapshotProvider::Impl: the layers of one provider and its lock. Private to the engine;
// shared by snapshot_provider.cpp (create, open, the snapshot operations) and integrity.cpp
// (check and repair).
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>

#include "cow_provider.h"
#include "diff_area.h"
#include "freezeframe/snapshot_provider.h"
#include "metadata_journal.h"
#include "overflow_guard.h"
#include "provider_state.h"
#include "row_provider.h"
#include "snapshot_view.h"
#include "write_path.h"

namespace freezeframe {

using detail::MetadataJournal;
using detail::SnapshotMeta;

// The layers of one provider, built bottom up, and the lock that guards them all: every
// member function of a layer expects `mutex` to be held (exclusively when it changes state).
struct SnapshotProvider::Impl {
  Impl(ProviderKind provider_kind, Volume& origin_volume, Volume& diff_volume,
       const format::Superblock& superblock, const std::string& name, Clock* clock_source,
       Random* random_source, std::uint64_t write_back_chunks)
      : kind(provider_kind),
        origin(origin_volume),
        identity{name.empty() ? origin_volume.name() : name, origin_volume.uuid()},
        clock(clock_source),
        random(random_source),
        diff_area(diff_volume, detail::DiffAreaGeometry::of(superblock),
                  DiffAreaLimit{static_cast<DiffAreaLimit::Kind>(superblock.limit_kind),
                                superblock.limit_value},
                  "diff area of '" + identity.name + "'"),
        journal(diff_volume, superblock, diff_area.name()),
        state(provider_kind, diff_area, journal,
              static_cast<OverflowPolicy>(superblock.overflow_policy)),
        guard(state, diff_area),
        reader(state, diff_area, origin_volume) {
    if (kind == ProviderKind::kCopyOnWrite) {
      path = std::make_unique<detail::CowWritePath>(origin, diff_area, state, guard, reader,
                                                    write_back_chunks);
    } else {
      auto row_path =
          std::make_unique<detail::RowWritePath>(origin, diff_area, state, guard, reader);
      row = row_path.get();
      // RoW consolidates before the overflow policy gives up snapshots or writes.
      guard.set_reclaimer(row);
      path = std::move(row_path);
    }
  }

  ProviderKind kind;
  Volume& origin;
  VolumeIdentity identity;
  Clock* clock = nullptr;
  Random* random = nullptr;
  // Opened over a read-only diff volume: snapshots and the live volume can be read, and
  // nothing is ever written to either volume.
  bool read_only = false;

  mutable std::shared_mutex mutex;
  detail::DiffArea diff_area;
  detail::MetadataJournal journal;
  detail::ProviderState state;
  detail::OverflowGuard guard;
  detail::VersionReader reader;
  std::unique_ptr<detail::WritePath> path;
  detail::RowWritePath* row = nullptr;  // `path`, for a RoW provider

  SnapshotInfo info_of(const SnapshotMeta& meta) const {
    SnapshotInfo info;
    info.id = meta.id;
    info.set_id = meta.set_id;
    info.created = Nanoseconds(meta.created_ns);
    info.origin_id = origin.uuid();
    info.origin_name = origin.name();
    info.provider = kind;
    info.state = meta.invalidated ? SnapshotState::kInvalidated : SnapshotState::kActive;
    info.sequence = meta.tag;
    info.attributes = meta.attributes;
    if (meta.cbt_generation != 0)
      info.change_id = state.tracker().token(meta.cbt_epoch, meta.cbt_generation);
    if (!meta.invalidated)
      info.diff_area_bytes = state.snapshot_bytes(meta.tag);
    return info;
  }

  // The snapshot `id`; kNotFound naming it and the volume if there is none (and why, if the
  // overflow policy deleted it for space).
  // REQUIRES: `mutex` held.
  Result<const SnapshotMeta*> find_snapshot(const Uuid& id) const {
    const SnapshotMeta* meta = state.find(id);
    if (meta == nullptr && !state.damage().ok()) {
      // It may have been created in or after the damaged commit.
      return state.damage().with_context("snapshot " + id.to_string() + " not found");
    }
    if (meta == nullptr) {
      std::string message = "snapshot " + id.to_string() + " not found on '" + identity.name + "'";
      if (const std::string* cause = guard.deletion_cause(id); cause != nullptr)
        message += ": it was deleted by the overflow policy to make room (" + *cause + ")";
      return Status(ErrorCode::kNotFound, std::move(message));
    }
    return meta;
  }

  // "snapshots {a}, {b} and the live volume", for the damage message.
  std::string affected_text() const {
    std::string text;
    for (const auto& [tag, meta] : state.snapshots())
      text += (text.empty() ? "snapshots " : ", ") + meta.id.to_string();
    if (kind == ProviderKind::kRedirectOnWrite)
      text += text.empty() ? "the live volume" : " and the live volume";
    return text.empty() ? "no snapshot" : text;
  }

  // A fresh, nonzero change-tracking epoch (from the provider's random source, if any).
  std::uint64_t new_tracking_epoch() {
    for (;;) {
      std::uint64_t epoch = 0;
      if (random != nullptr) {
        epoch = random->next_u64();
      } else {
        const Uuid source = Uuid::generate();
        for (int i = 0; i < 8; ++i)
          epoch = epoch << 8 | source.bytes()[static_cast<std::size_t>(i)];
      }
      if (epoch != 0)
        return epoch;
    }
  }

  Status check_writable() const {
    if (!state.damage().ok())
      return state.damage();
    if (!state.broken().ok())
      return state.broken();
    if (read_only)
      return Status(ErrorCode::kReadOnly,
                    diff_area.name() + " is open read-only: nothing can be changed through it");
    return Status();
  }

  ProviderStats stats() const {
    ProviderStats out = path->stats();
    const MetadataJournal::Stats& journaled = journal.stats();
    out.metadata_commits = journaled.commits;
    out.metadata_blocks_written = journaled.blocks_written;
    out.checkpoints = journaled.checkpoints;
    return out;
  }
};

namespace detail {
// The layers of a provider, for check and repair (integrity.cpp).
struct ProviderAccess {
  using Impl = SnapshotProvider::Impl;
  static SnapshotProvider::Impl& of(SnapshotProvider& provider) { return *provider.impl_; }
};
}  // namespace detail

}  // namespace freezeframe

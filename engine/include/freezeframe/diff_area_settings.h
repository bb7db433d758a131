// The settings a diff area records in its superblock (provider kind, overflow policy, limit,
// snapshot maximum) and the record of what the overflow policy did. These are plain values
// shared by the public provider API (snapshot_provider.h, which includes this header) and the
// engine's lower layers, down to the on-disk format, which must not depend on the provider.
//
// Thread-safety: values; the functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "freezeframe/uuid.h"

namespace freezeframe {

enum class ProviderKind : std::uint8_t { kCopyOnWrite = 1, kRedirectOnWrite = 2 };
std::string_view provider_kind_name(ProviderKind kind) noexcept;  // "cow" / "row"

enum class OverflowPolicy : std::uint8_t {
  // Delete the oldest snapshots until the chunk fits (what Windows does). The default.
  kDeleteOldest = 1,
  // Fail the write with kNoSpace; snapshots stay intact.
  kFailWrites = 2,
  // Let the write proceed and invalidate every snapshot of the volume (older snapshots read
  // through newer ones, so all of them depend on the chunk that cannot be preserved).
  // Invalidated snapshots stay listed, state kInvalidated, until deleted.
  kInvalidateSnapshot = 3,
};
std::string_view overflow_policy_name(OverflowPolicy policy) noexcept;

// The maximum size of a diff area: bytes, a percentage of the origin, or unbounded (limited
// only by the size of the diff volume).
struct DiffAreaLimit {
  enum class Kind : std::uint8_t { kBytes = 0, kPercentOfOrigin = 1, kUnbounded = 2 };
  Kind kind = Kind::kPercentOfOrigin;
  std::uint64_t value = 10;

  static DiffAreaLimit bytes(std::uint64_t n) { return {Kind::kBytes, n}; }
  static DiffAreaLimit percent_of_origin(std::uint64_t percent) {
    return {Kind::kPercentOfOrigin, percent};
  }
  static DiffAreaLimit unbounded() { return {Kind::kUnbounded, 0}; }
  // Data bytes this limit allows for an origin of `origin_bytes`.
  std::uint64_t resolve(std::uint64_t origin_bytes) const noexcept;
  std::string to_string() const;
};

constexpr std::uint32_t kSnapshotsPerVolumeMax = 512;

enum class ProviderEventKind : std::uint8_t {
  kSnapshotDeletedForSpace = 1,
  kSnapshotInvalidated = 2,
  kWriteFailedNoSpace = 3,
  // The diff area's use rose above the provider's usage warning fraction of its maximum.
  // Reported once per crossing: again only after use has fallen to the fraction or below.
  kUsageAboveWarning = 4,
  // Change tracking had to restart: the next incremental backup must read everything.
  kChangeTrackingReset = 5,
};
// "snapshot-deleted-for-space", "snapshot-invalidated", "write-failed-no-space",
// "usage-above-warning", "change-tracking-reset".
std::string_view provider_event_kind_name(ProviderEventKind kind) noexcept;

// What the provider did, or found, that its user should know about: the acts of the overflow
// policy and warnings. Kept in a bounded in-memory list (the most recent
// SnapshotProvider::kEventsMax) and delivered to the provider's on_event callback.
struct ProviderEvent {
  ProviderEventKind kind{};
  Uuid snapshot_id{};  // nil for kWriteFailedNoSpace, kUsageAboveWarning, kChangeTrackingReset
  // Says what happened and why, naming the volume.
  std::string message{};
  // The diff area's data bytes in use and its maximum when the event happened (for
  // kUsageAboveWarning, the use the write being made takes it to).
  std::uint64_t used_bytes = 0;
  std::uint64_t max_bytes = 0;
};

}  // namespace freezeframe

#include "freezeframe/diff_area_settings.h"

#include <limits>

#include "byte_math.h"
#include "freezeframe/enum_names.h"

namespace freezeframe {

namespace {
constexpr EnumName<ProviderKind> kProviderKindNames[] = {
    {ProviderKind::kCopyOnWrite, "cow"},
    {ProviderKind::kRedirectOnWrite, "row"},
};
constexpr EnumName<OverflowPolicy> kOverflowPolicyNames[] = {
    {OverflowPolicy::kDeleteOldest, "delete-oldest"},
    {OverflowPolicy::kFailWrites, "fail-writes"},
    {OverflowPolicy::kInvalidateSnapshot, "invalidate-snapshot"},
};
constexpr EnumName<ProviderEventKind> kProviderEventKindNames[] = {
    {ProviderEventKind::kSnapshotDeletedForSpace, "snapshot-deleted-for-space"},
    {ProviderEventKind::kSnapshotInvalidated, "snapshot-invalidated"},
    {ProviderEventKind::kWriteFailedNoSpace, "write-failed-no-space"},
    {ProviderEventKind::kUsageAboveWarning, "usage-above-warning"},
    {ProviderEventKind::kChangeTrackingReset, "change-tracking-reset"},
};
}  // namespace

std::string_view provider_kind_name(ProviderKind kind) noexcept {
  return name_of(kProviderKindNames, kind);
}

std::string_view overflow_policy_name(OverflowPolicy policy) noexcept {
  return name_of(kOverflowPolicyNames, policy);
}

std::string_view provider_event_kind_name(ProviderEventKind kind) noexcept {
  return name_of(kProviderEventKindNames, kind);
}

std::uint64_t DiffAreaLimit::resolve(std::uint64_t origin_bytes) const noexcept {
  switch (kind) {
    case Kind::kBytes:
      return value;
    case Kind::kPercentOfOrigin:
      return origin_bytes / 100 * value + origin_bytes % 100 * value / 100;
    case Kind::kUnbounded:
      return std::numeric_limits<std::uint64_t>::max();
  }
  return 0;
}

std::string DiffAreaLimit::to_string() const {
  switch (kind) {
    case Kind::kBytes:
      return detail::bytes_text(value);
    case Kind::kPercentOfOrigin:
      return std::to_string(value) + "%";
    case Kind::kUnbounded:
      return "UNBOUNDED";
  }
  return "unknown";
}

}  // namespace freezeframe

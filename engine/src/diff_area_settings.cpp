#include "freezeframe/diff_area_settings.h"

#include <limits>

#include "byte_math.h"

namespace freezeframe {

std::string_view provider_kind_name(ProviderKind kind) noexcept {
  switch (kind) {
    case ProviderKind::kCopyOnWrite:
      return "cow";
    case ProviderKind::kRedirectOnWrite:
      return "row";
  }
  return "unknown";
}

std::string_view overflow_policy_name(OverflowPolicy policy) noexcept {
  switch (policy) {
    case OverflowPolicy::kDeleteOldest:
      return "delete-oldest";
    case OverflowPolicy::kFailWrites:
      return "fail-writes";
    case OverflowPolicy::kInvalidateSnapshot:
      return "invalidate-snapshot";
  }
  return "unknown";
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

// Invariant assertions that stay on in release builds.
//
// A broken invariant means the engine can no longer promise that a snapshot is what it says;
// a silently wrong backup is worse than a crash, so FF_ASSERT aborts the process with the
// file, line and condition. It is for invariants only: failures that input or devices can
// cause are returned as Status values.
#pragma once

namespace freezeframe::detail {
[[noreturn]] void assertion_failed(const char* condition, const char* file, int line,
                                   const char* message) noexcept;
}  // namespace freezeframe::detail

#define FF_ASSERT(condition)                                                            \
  do {                                                                                  \
    if (!(condition)) [[unlikely]] {                                                    \
      ::freezeframe::detail::assertion_failed(#condition, __FILE__, __LINE__, nullptr); \
    }                                                                                   \
  } while (false)

#define FF_ASSERT_MSG(condition, message)                                               \
  do {                                                                                  \
    if (!(condition)) [[unlikely]] {                                                    \
      ::freezeframe::detail::assertion_failed(#condition, __FILE__, __LINE__, message); \
    }                                                                                   \
  } while (false)

// What every StoreLock backend shares (private to platform/): the polling wait with its one
// deadline and on_wait notice, and the kBusy message naming the holders.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "freezeframe/store_lock.h"

namespace freezeframe::platform_detail {

// How long one sleep of the polling loop lasts at most: short enough that a waiting command
// starts soon after the holder finishes, long enough not to spin.
inline constexpr std::chrono::milliseconds kPollStep{20};

inline std::string quoted_path(const std::filesystem::path& path) {
  return "'" + path.string() + "'";
}

inline std::string describe_holders(const std::vector<long>& pids) {
  if (pids.empty())
    return "another process";
  std::string text = pids.size() == 1 ? "pid " : "pids ";
  for (std::size_t i = 0; i < pids.size(); ++i) {
    if (i > 0)
      text += ", ";
    text += std::to_string(pids[i]);
  }
  return text + " (another freezeframe command)";
}

// The polling side of acquire(): one deadline and one on_wait notice for both locks.
class Waiter {
 public:
  Waiter(const std::filesystem::path& dir, const StoreLockOptions& options)
      : dir_(dir),
        options_(options),
        deadline_(std::chrono::steady_clock::now() + std::max(options.wait, kZero)) {}

  // Called after a lock was found held by `holders()`. Sleeps one step and returns OK if time
  // is left, kBusy naming the holders if not.
  template <typename Holders>
  Status pause(const Holders& holders) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline_) {
      std::string message = "store busy: " + quoted_path(dir_) + " is ";
      if (options_.wait > kZero) {
        message += "still locked by " + describe_holders(holders()) + " after waiting " +
                   std::to_string(options_.wait.count()) +
                   " ms; try again when it has finished, or pass a longer --wait SECONDS";
      } else {
        message += "locked by " + describe_holders(holders()) +
                   "; try again when it has finished, or pass --wait SECONDS";
      }
      return Status(ErrorCode::kBusy, std::move(message));
    }
    if (!notified_) {
      notified_ = true;
      if (options_.on_wait)
        options_.on_wait(holders());
      now = std::chrono::steady_clock::now();
    }
    // The one sleep in freezeframe: real waiting for a real process, which no clock seam can
    // stand in for.
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now);
    std::this_thread::sleep_for(std::clamp(remaining, kZero, kPollStep));
    return Status();
  }

 private:
  static constexpr std::chrono::milliseconds kZero{0};
  const std::filesystem::path& dir_;
  const StoreLockOptions& options_;
  std::chrono::steady_clock::time_point deadline_;
  bool notified_ = false;
};

}  // namespace freezeframe::platform_detail

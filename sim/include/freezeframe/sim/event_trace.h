// EventTrace: one ordered record of events from several participants (scripted writers, a
// scripted provider, the I/O hold), as short strings such as "app:freeze" or
// "provider:commit", so a test can check the order in which a protocol reached them.
//
// Thread-safety: every method may be called from any thread; entries keep the order in which
// add() calls took the lock.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace freezeframe::sim {

class EventTrace {
 public:
  void add(std::string entry) {
    {
      std::lock_guard lock(mutex_);
      entries_.push_back(std::move(entry));
    }
    added_.notify_all();
  }
  std::vector<std::string> entries() const {
    std::lock_guard lock(mutex_);
    return entries_;
  }
  // How many times `entry` was recorded.
  std::size_t count(std::string_view entry) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count(entries_.begin(), entries_.end(), entry));
  }
  bool contains(std::string_view entry) const { return count(entry) != 0; }
  // Blocks the calling thread until `entry` has been recorded, for a test thread that must act
  // while another thread is inside a scripted event; false if `limit` (real time: a guard
  // against a hang, never a pacing delay) passes first.
  [[nodiscard]] bool wait_for(std::string_view entry,
                              std::chrono::milliseconds limit = std::chrono::seconds(60)) const {
    std::unique_lock lock(mutex_);
    return added_.wait_for(lock, limit, [&] {
      return std::find(entries_.begin(), entries_.end(), entry) != entries_.end();
    });
  }
  void clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable added_;
  std::vector<std::string> entries_;
};

}  // namespace freezeframe::sim

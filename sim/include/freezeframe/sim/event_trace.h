// EventTrace: one ordered record of events from several participants (scripted writers, a
// scripted provider, the I/O hold), as short strings such as "app:freeze" or
// "provider:commit", so a test can check the order in which a protocol reached them.
//
// Thread-safety: every method may be called from any thread; entries keep the order in which
// add() calls took the lock.
#pragma once

#include <mutex>
#include <string>
#include <vector>

namespace freezeframe::sim {

class EventTrace {
 public:
  void add(std::string entry) {
    std::lock_guard lock(mutex_);
    entries_.push_back(std::move(entry));
  }
  std::vector<std::string> entries() const {
    std::lock_guard lock(mutex_);
    return entries_;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> entries_;
};

}  // namespace freezeframe::sim

// ProgressMeter: turns a running byte count into BackupProgress reports at a bounded rate
// (at most one per interval, and one at the end). Private to the backup library.
//
// Thread-safety: one thread at a time (the thread that reports).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "freezeframe/backup.h"
#include "freezeframe/clock.h"

namespace freezeframe::backup_detail {

class ProgressMeter {
 public:
  // `clock` may be null: the system clock is used.
  ProgressMeter(ProgressCallback callback, std::chrono::milliseconds interval, const Clock* clock,
                std::uint64_t bytes_total)
      : callback_(std::move(callback)), interval_(interval), bytes_total_(bytes_total) {
    if (clock == nullptr) {
      owned_clock_ = std::make_unique<SystemClock>();
      clock = owned_clock_.get();
    }
    clock_ = clock;
    start_ = clock_->now();
    last_ = start_;
  }

  const Clock& clock() const { return *clock_; }

  void update(std::uint64_t bytes_done) {
    bytes_done_ = bytes_done;
    if (!callback_)
      return;
    Nanoseconds now = clock_->now();
    if (now - last_ < interval_)
      return;
    last_ = now;
    report(now);
  }
  void finish() {
    if (callback_)
      report(clock_->now());
  }

 private:
  void report(Nanoseconds now) {
    BackupProgress progress;
    progress.bytes_done = bytes_done_;
    progress.bytes_total = bytes_total_;
    double seconds = std::chrono::duration<double>(now - start_).count();
    if (seconds > 0 && bytes_done_ > 0) {
      progress.bytes_per_second = static_cast<double>(bytes_done_) / seconds;
      double left = static_cast<double>(bytes_total_ - std::min(bytes_done_, bytes_total_));
      progress.time_left =
          std::chrono::seconds(static_cast<std::int64_t>(left / progress.bytes_per_second));
    }
    callback_(progress);
  }

  ProgressCallback callback_;
  std::chrono::milliseconds interval_;
  std::unique_ptr<SystemClock> owned_clock_;
  const Clock* clock_ = nullptr;
  std::uint64_t bytes_total_ = 0;
  std::uint64_t bytes_done_ = 0;
  Nanoseconds start_{};
  Nanoseconds last_{};
};

}  // namespace freezeframe::backup_detail

// What the POSIX backends share: descriptors that close themselves, open(2) that survives
// signals, and errno in words. Private to platform/posix.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>

namespace freezeframe::posix {

// EINTR retries of one system call before it is reported as failed (a bound, not a hope).
inline constexpr int kInterruptedRetriesMax = 1000;

// "No such file or directory (errno 2)".
std::string errno_reason(int error);

// ::open, retried on EINTR up to kInterruptedRetriesMax times. -1 with errno set on failure.
int open_retrying(const char* path, int flags, mode_t mode = 0);

// Owns one descriptor (closes it on destruction) until release() hands it on.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) noexcept : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

}  // namespace freezeframe::posix

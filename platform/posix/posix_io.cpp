#include "posix_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace freezeframe::posix {

std::string errno_reason(int error) {
  return std::system_category().message(error) + " (errno " + std::to_string(error) + ")";
}

int open_retrying(const char* path, int flags, mode_t mode) {
  for (int attempt = 0;; ++attempt) {
    int fd = ::open(path, flags, mode);
    if (fd >= 0 || errno != EINTR || attempt >= kInterruptedRetriesMax)
      return fd;
  }
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0)
    ::close(fd_);
}

}  // namespace freezeframe::posix

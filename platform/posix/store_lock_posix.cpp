// StoreLock on POSIX systems: flock(2) on a descriptor of the store directory, then on the
// store's lock file. Holders are found in /proc/locks on Linux.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "../common/lock_waiter.h"
#include "freezeframe/store_lock.h"
#include "posix_io.h"

#if defined(__linux__)
#include <sys/sysmacros.h>  // major, minor
#endif

namespace freezeframe {

struct StoreLock::Handle {
  std::filesystem::path dir;
  int dir_fd = -1;
  // -1 when only the directory is locked: a shared lock on a read-only store that has no lock
  // file.
  int file_fd = -1;

  Handle() = default;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    // Closing the last descriptor of an open file description releases its flock; the file
    // first, so the order of release mirrors the order of acquisition.
    if (file_fd >= 0)
      ::close(file_fd);
    if (dir_fd >= 0)
      ::close(dir_fd);
  }
};

namespace {

constexpr char kLockFileName[] = "lock";
// A directory or lock file replaced between our open and our flock sends us back to the open.
// Someone replacing it in a tight loop must not keep us here forever.
constexpr int kReplacedRetriesMax = 64;

using platform_detail::Waiter;
using posix::errno_reason;

std::string quoted(const std::filesystem::path& path) {
  return "'" + path.string() + "'";
}

// ::open of a path, retried on EINTR (a bounded number of times).
int open_retrying(const std::filesystem::path& path, int flags, mode_t mode = 0) {
  return posix::open_retrying(path.c_str(), flags, mode);
}

// Whether `path` still names the object open as `fd`. A path that is gone is not the same.
Result<bool> same_object(int fd, const std::filesystem::path& path) {
  struct stat held {};
  if (::fstat(fd, &held) != 0)
    return io_error("cannot examine the open " + quoted(path) + ": " + errno_reason(errno));
  struct stat named {};
  if (::stat(path.c_str(), &named) != 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return false;
    return io_error("cannot examine " + quoted(path) + ": " + errno_reason(errno));
  }
  return held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

// Opens `path` with `open_descriptor` and flocks it with `operation` (LOCK_SH or LOCK_EX),
// polling through `waiter` while it is held. If the object at `path` turns out to have been
// replaced or removed between the open and the lock, starts again from the open (bounded by
// `retries`, shared by both locks of one acquire). `open_descriptor` returns -1 when there is
// nothing to lock (a read-only store without lock file); so does this function then.
template <typename Open, typename Holders>
Result<int> lock_object(const std::filesystem::path& path, const Open& open_descriptor,
                        int operation, Waiter& waiter, const Holders& holders, int& retries) {
  for (;;) {
    FF_ASSIGN_OR_RETURN(int raw, open_descriptor());
    if (raw < 0)
      return -1;
    posix::UniqueFd fd(raw);
    int interrupted = 0;
    while (::flock(fd.get(), operation | LOCK_NB) != 0) {
      int error = errno;
      if (error == EINTR && ++interrupted <= posix::kInterruptedRetriesMax)
        continue;
      if (error != EWOULDBLOCK)
        return io_error("cannot lock " + quoted(path) + ": " + errno_reason(error));
      FF_TRY(waiter.pause(holders));
    }
    FF_ASSIGN_OR_RETURN(bool same, same_object(fd.get(), path));
    if (same)
      return fd.release();
    if (++retries > kReplacedRetriesMax) {
      return io_error("cannot lock " + quoted(path) + ": it was removed or replaced " +
                      std::to_string(kReplacedRetriesMax) +
                      " times while being locked; is something recreating it in a loop?");
    }
  }
}

Result<int> open_directory(const std::filesystem::path& dir) {
  int fd = open_retrying(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    return fd;
  int error = errno;
  if (error == ENOENT)
    return not_found("store directory " + quoted(dir) + " does not exist");
  if (error == ENOTDIR)
    return invalid_argument("store directory " + quoted(dir) + " is not a directory");
  return io_error("cannot open store directory " + quoted(dir) + ": " + errno_reason(error));
}

// Shared holders only read the lock file, so a read-only store (file present, not writable)
// can still be locked shared.
Result<int> open_lock_file_shared(const std::filesystem::path& path) {
  int fd = open_retrying(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    fd = open_retrying(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    // Missing and not creatable because the store is read-only: the directory lock, held
    // already, is the whole lock. No writer can be using such a store either.
    if (fd < 0 && (errno == EROFS || errno == EACCES))
      return -1;
  }
  if (fd < 0)
    return io_error("cannot open lock file " + quoted(path) + ": " + errno_reason(errno));
  return fd;
}

Result<int> open_lock_file_exclusive(const std::filesystem::path& path) {
  int fd = open_retrying(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return io_error("cannot open lock file " + quoted(path) + ": " + errno_reason(errno));
  return fd;
}

// Best effort: the pid is for a human wondering who holds the store; the lock does not depend
// on it, so a failure here is no reason to give the lock up.
void write_pid(int fd) {
  std::string text = std::to_string(static_cast<long>(::getpid())) + "\n";
  if (::ftruncate(fd, 0) != 0)
    return;
  ssize_t written = ::pwrite(fd, text.data(), text.size(), 0);
  static_cast<void>(written);
}

}  // namespace

Result<StoreLock> StoreLock::acquire(const std::filesystem::path& dir,
                                     const StoreLockOptions& options) {
  const int operation = options.mode == LockMode::kShared ? LOCK_SH : LOCK_EX;
  const std::filesystem::path lock_path = dir / kLockFileName;
  auto handle = std::make_unique<Handle>();
  handle->dir = dir;
  Waiter waiter(dir, options);
  int retries = 0;

  // The directory first, always: every acquirer takes the two locks in the same order.
  auto directory_holders = [&] {
    std::vector<long> pids = lock_holders(dir);
    return pids.empty() ? lock_holders(lock_path) : pids;
  };
  FF_ASSIGN_OR_RETURN(handle->dir_fd, lock_object(
                                          dir, [&] { return open_directory(dir); }, operation,
                                          waiter, directory_holders, retries));

  // We hold the directory now, so whoever blocks the file is a tool that locks only the file.
  auto file_holders = [&] { return lock_holders(lock_path); };
  auto open_file = [&] {
    return options.mode == LockMode::kShared ? open_lock_file_shared(lock_path)
                                             : open_lock_file_exclusive(lock_path);
  };
  FF_ASSIGN_OR_RETURN(handle->file_fd,
                      lock_object(lock_path, open_file, operation, waiter, file_holders, retries));

  if (options.mode == LockMode::kExclusive)
    write_pid(handle->file_fd);
  return StoreLock(std::move(handle), options.mode);
}

StoreLock::StoreLock(std::unique_ptr<Handle> handle, LockMode mode)
    : handle_(std::move(handle)), mode_(mode) {}
StoreLock::StoreLock(StoreLock&& other) noexcept = default;
StoreLock& StoreLock::operator=(StoreLock&& other) noexcept = default;
StoreLock::~StoreLock() = default;

Status StoreLock::verify() const {
  if (handle_ == nullptr)
    return bad_state("store lock: not held (this StoreLock was moved from)");
  auto check = [](int fd, const std::filesystem::path& path, const char* what) -> Status {
    FF_ASSIGN_OR_RETURN(bool same, same_object(fd, path));
    if (same)
      return Status();
    return bad_state("store lock lost: the " + std::string(what) + " " + quoted(path) +
                     " was removed or replaced while this command held the lock; another "
                     "command may be using the store now");
  };
  FF_TRY(check(handle_->dir_fd, handle_->dir, "store directory"));
  if (handle_->file_fd >= 0)
    FF_TRY(check(handle_->file_fd, handle_->dir / kLockFileName, "lock file"));
  return Status();
}

Status StoreLock::verify_directory() const {
  if (handle_ == nullptr)
    return bad_state("store lock: not held (this StoreLock was moved from)");
  FF_ASSIGN_OR_RETURN(bool same, same_object(handle_->dir_fd, handle_->dir));
  if (same)
    return Status();
  return bad_state("store lock lost: the store directory " + quoted(handle_->dir) +
                   " was removed, renamed or replaced while this command held it; nothing more "
                   "is written there");
}

std::vector<long> lock_holders(const std::filesystem::path& path) {
  std::vector<long> pids;
#if defined(__linux__)
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return pids;
  const unsigned long want_major = major(st.st_dev);
  const unsigned long want_minor = minor(st.st_dev);
  const unsigned long want_inode = st.st_ino;

  // Lines look like "3: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; a lock request still
  // waiting is listed as "3: -> FLOCK ..." and is not a holder. The device numbers are hex.
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::string id, type, kind, access, pid_text, location;
    fields >> id >> type;
    if (type == "->")
      continue;
    if (type != "FLOCK" || !(fields >> kind >> access >> pid_text >> location))
      continue;
    unsigned long major_number = 0, minor_number = 0, inode = 0;
    const char* p = location.data();
    const char* end = p + location.size();
    auto parsed = std::from_chars(p, end, major_number, 16);
    if (parsed.ec != std::errc() || parsed.ptr == end || *parsed.ptr != ':')
      continue;
    parsed = std::from_chars(parsed.ptr + 1, end, minor_number, 16);
    if (parsed.ec != std::errc() || parsed.ptr == end || *parsed.ptr != ':')
      continue;
    parsed = std::from_chars(parsed.ptr + 1, end, inode, 10);
    if (parsed.ec != std::errc() || parsed.ptr != end)
      continue;
    if (major_number != want_major || minor_number != want_minor || inode != want_inode)
      continue;
    long pid = 0;
    auto pid_parsed = std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
    // The kernel shows 0 or -1 for a holder outside our pid namespace: unknown, not a pid.
    if (pid_parsed.ec == std::errc() && pid > 0)
      pids.push_back(pid);
  }
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
#else
  static_cast<void>(path);
#endif
  return pids;
}

}  // namespace freezeframe

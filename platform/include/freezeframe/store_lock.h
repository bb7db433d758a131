// StoreLock: the lock that keeps two freezeframe commands from using one store at once.
//
// What is locked: the store directory itself, and the file `lock` inside it. The directory is
// the primary lock: a file can be deleted and recreated while a command holds it (by a user
// cleaning up, or a tool that does not know better), and a lock on the old file would then no
// longer exclude anyone, while a directory full of store files is not casually replaced (and
// if it is, verify() notices). The file is locked too, in the same mode, because
// older tools and tests lock only that file and must keep being excluded. The directory is
// always locked before the file, so two acquirers can never deadlock.
//
// Modes: any number of shared holders, or one exclusive holder. Commands that only read the
// store take it shared; commands that change it take it exclusive.
//
// Lifetime: the lock is held until the StoreLock is destroyed (or moved from). The operating
// system releases it when the process dies, so a killed command never leaves the store
// locked. Locks belong to open descriptors, not to processes: two StoreLocks in one process
// exclude each other exactly as two processes would.
//
// Read-only stores: a shared lock never writes the lock file, so it works on a store that can
// be read but not written. If the lock file is missing there and cannot be created, only the
// directory is locked.
//
// Waiting: acquire() never blocks in the operating system. It polls, sleeping in short steps,
// until options.wait has passed; this is the one place in freezeframe that sleeps.
//
// Errors: kBusy when another holder keeps the lock past the wait (the message names the
// holders' pids where the operating system tells them); kNotFound when the directory does not
// exist; kBadState from verify() when the lock file or directory was removed or replaced; every
// other operating-system failure is kIoError naming the path and the reason.
//
// Thread-safety: a StoreLock is a value; distinct objects may be used from different threads.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "freezeframe/status.h"

namespace freezeframe {

enum class LockMode { kShared, kExclusive };

struct StoreLockOptions {
  LockMode mode = LockMode::kExclusive;
  // How long to wait for a conflicting holder; 0 = fail at once.
  std::chrono::milliseconds wait{0};
  // Called once, when the lock is found held and waiting begins (wait > 0), with the holders'
  // pids (may be empty if unknown). May be an empty function. It runs on the calling thread,
  // inside acquire(), so it may print a "waiting for ..." notice.
  std::function<void(const std::vector<long>& holder_pids)> on_wait{};
};

// Movable, not copyable; releases the lock on destruction.
class StoreLock {
 public:
  // Locks directory `dir` (which must exist) and the file `dir/lock` (created if missing,
  // unless the mode is shared and the directory is not writable: then only the directory is
  // locked). An exclusive holder writes its pid into the lock file, for humans to read.
  // Fails with kBusy if a conflicting holder keeps the lock past options.wait, kNotFound if
  // `dir` does not exist, kIoError for other failures (including a directory or lock file
  // that keeps being replaced while it is being locked).
  static Result<StoreLock> acquire(const std::filesystem::path& dir,
                                   const StoreLockOptions& options);

  StoreLock(StoreLock&& other) noexcept;
  StoreLock& operator=(StoreLock&& other) noexcept;
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;
  ~StoreLock();

  LockMode mode() const { return mode_; }

  // Re-checks that `dir` and `dir/lock` are still the very objects this lock holds (same
  // device and inode as the held descriptors). A command calls it before it commits a change,
  // so that a store swapped out from under it is refused rather than silently written.
  // Returns kBadState naming the path if the lock file or directory was removed or replaced,
  // kIoError if they cannot be examined, kBadState if this StoreLock was moved from.
  Status verify() const;
  // The directory alone: what keeps other commands out. A replaced lock file does not let
  // anyone in while the directory is held, so a command checks this before each change it
  // commits, and fails (kBadState naming the directory) rather than write into a store that
  // was renamed or replaced under it.
  Status verify_directory() const;

 private:
  struct Handle;  // the open descriptors; defined by the OS backend
  StoreLock(std::unique_ptr<Handle> handle, LockMode mode);

  std::unique_ptr<Handle> handle_;
  LockMode mode_ = LockMode::kExclusive;
};

// The pids holding a flock on `path` (Linux: parsed from /proc/locks by device
// major:minor:inode; empty elsewhere or on failure). Processes in another pid namespace, whose
// pids the kernel does not show, are left out.
std::vector<long> lock_holders(const std::filesystem::path& path);

}  // namespace freezeframe

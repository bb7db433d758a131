// The FUSE file system of `freezeframe serve --fuse DIR` (libfuse3): each export of the
// Daemon appears as a regular file in DIR, a live volume read-write ("NAME", mode 0644) and
// each snapshot read-only ("NAME@ID", mode 0444). `losetup` turns a file into a block
// device.
//
// Every file is opened with direct I/O (no page cache in between), so reads and writes reach
// the volume's provider as the kernel issues them, and O_DIRECT opens (losetup
// --direct-io=on) work. fsync and flush call the provider's flush; fallocate with
// FALLOC_FL_PUNCH_HOLE discards, FALLOC_FL_ZERO_RANGE zeroes. The file size is the volume's
// size and never changes (truncate to another size fails with EPERM, a write past the end
// with ENOSPC); st_blksize is the volume's optimal I/O size.
//
// The file system is served by a multithreaded loop: the Daemon's I/O is thread-safe.
//
// Thread-safety: run() on one thread; stop() from another.
#pragma once

#include <pthread.h>

#include <filesystem>
#include <memory>

#include "daemon.h"

namespace freezeframe::serve {

class FuseExport {
 public:
  // Mounts the file system on `mountpoint` (an existing directory) showing every export; or,
  // given `only`, on `mountpoint` an existing regular file which then shows that export alone
  // (how `shadow expose` presents a snapshot at a path of its own).
  static Result<std::unique_ptr<FuseExport>> mount(Daemon& daemon,
                                                   const std::filesystem::path& mountpoint,
                                                   const std::string& only = {});
  // Unmounts (lazily: a loop device still open on a file keeps its connection until then)
  // if stop() did not.
  ~FuseExport();
  FuseExport(const FuseExport&) = delete;
  FuseExport& operator=(const FuseExport&) = delete;

  // Serves requests until stop() or an unmount from outside.
  void run();
  // Makes run() return (from any thread other than run()'s) and waits until it has.
  void stop();
  // Unmounts now (lazily), without waiting for run(): the loop then ends by itself or at
  // stop(). Safe while another thread holds the Daemon's exports.
  void unmount();

  struct Impl;

 private:
  explicit FuseExport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace freezeframe::serve

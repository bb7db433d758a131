// Snapshots the daemon presents at paths of their own (`shadow expose ID --to PATH` through
// the daemon): one single-file FUSE mount per exposure, over the empty placeholder file that
// Store::expose_in_place() created there. Reads go to the snapshot; nothing is copied.
//
// A presentation is withdrawn by `shadow unexpose`, when its snapshot stops being exported
// (deleted, reverted over), and when the daemon stops; the store keeps the record of the
// exposure, so the next daemon presents it again at start.
//
// Thread-safety: every method may be called from any thread; present() and withdraw() run
// inside a command (the Daemon's exports held), settle() after it.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon.h"
#include "fuse_export.h"

namespace freezeframe::serve {

class FileExposures {
 public:
  // Installs itself as the daemon's file hooks (Daemon::set_file_hooks).
  explicit FileExposures(Daemon& daemon);
  // Withdraws every presentation.
  ~FileExposures();
  FileExposures(const FileExposures&) = delete;
  FileExposures& operator=(const FileExposures&) = delete;

  Status present(const std::string& export_name, const std::filesystem::path& path);
  // kNotFound when nothing is presented at `path`.
  Status withdraw(const std::filesystem::path& path);
  // Presents every exposure the store records (at daemon start); failures go to `log`.
  void restore(std::ostream& log);
  // Finishes withdrawals (waits for their loops) and withdraws presentations whose export
  // is gone, removing their placeholder when it is still the empty file.
  void settle();

 private:
  struct Presented {
    std::string export_name;
    std::unique_ptr<FuseExport> fuse;
    std::thread thread;
  };
  void finish(Presented& presented);

  Daemon& daemon_;
  std::mutex mutex_;
  std::map<std::filesystem::path, Presented> presented_;
  std::vector<Presented> retired_;  // unmounted, loop still to be joined
};

}  // namespace freezeframe::serve

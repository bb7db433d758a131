// The few operating-system services the command needs beyond Volume: the store's lock,
// crash-safe file replacement, terminal detection and running a shell command (diskshadow's
// exec). POSIX only for now; every OS call of the command lives in os.cpp.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "freezeframe/status.h"

namespace freezeframe::cli {

// An exclusive advisory lock (flock) on a file, held until destruction. The operating system
// releases it when the process dies, so a killed command never leaves the store locked.
class FileLock {
 public:
  // Never waits: kBusy at once if another process holds the lock; the message names the file.
  static Result<FileLock> acquire(const std::filesystem::path& path);
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Replaces `path` with `content` so that after a crash the file holds either the old or the
// new content, whole: writes a temporary file next to it, fsyncs it, renames it over `path`
// and fsyncs the directory.
Status replace_file(const std::filesystem::path& path, std::string_view content);

// Reads a whole (small) file.
Result<std::string> read_file(const std::filesystem::path& path);

bool stderr_is_terminal();
bool stdin_is_terminal();

// Runs `command` through /bin/sh and waits for it. Returns its exit status (128 + signal
// number when a signal ended it).
Result<int> run_shell_command(const std::string& command);

// Sets an environment variable for this process and the commands it runs.
void set_environment(const std::string& name, const std::string& value);

}  // namespace freezeframe::cli

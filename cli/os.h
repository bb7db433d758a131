// The few operating-system services the command needs beyond Volume and StoreLock: crash-safe
// file replacement, durable output files, terminal detection and running a shell command
// (diskshadow's exec). POSIX only for now; every OS call of the command lives in os.cpp.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "freezeframe/status.h"

namespace freezeframe::cli {

// Replaces `path` with `content` so that after a crash the file holds either the old or the
// new content, whole: writes a temporary file next to it, fsyncs it, renames it over `path`
// and fsyncs the directory.
Status replace_file(const std::filesystem::path& path, std::string_view content);

// Makes the creation and removal of entries in `dir` durable (fsync of the directory).
Status sync_directory(const std::filesystem::path& dir);

// A file the command writes (an export, an exposure, `volume read --to`), made durable by
// finish(): fsync of the file and of its directory. Move-only; closes on destruction.
class OutputFile {
 public:
  // `exclusive`: refuse (kAlreadyExists) when anything exists at `path`, a symbolic link
  // included, so nothing is ever written over. Otherwise an existing file is truncated.
  static Result<OutputFile> create(const std::filesystem::path& path, bool exclusive);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&& other) noexcept;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();

  const std::filesystem::path& path() const { return path_; }
  Status write(std::span<const std::byte> data);
  // fsync the file, close it, fsync its directory.
  Status finish();

 private:
  OutputFile(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::filesystem::path path_;
};

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

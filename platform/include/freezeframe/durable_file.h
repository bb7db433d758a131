// Durable files: what a program needs beyond Volume to keep its own small files (a catalog,
// an exported image) safe across a crash. Implemented per operating system (posix/ now).
//
// Durability: a change is durable once the call that makes it returns OK: replace_file(),
// OutputFile::finish() and sync_directory() flush the data and the directory entry to stable
// storage (fsync on POSIX) before they return.
//
// Errors: kNoSpace when the file system is full, kNotFound when a directory on the path does
// not exist, kAlreadyExists for an exclusive create over something, kIoError otherwise; each
// message names the path and the operating system's reason.
//
// Thread-safety: the functions are safe to call from any thread on different paths; an
// OutputFile is used from one thread at a time.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "freezeframe/status.h"

namespace freezeframe {

// Replaces `path` with `content` so that after a crash the file holds either the old or the
// new content, whole: writes a temporary file next to it (`path` + ".tmp"), flushes it,
// renames it over `path` and flushes the directory.
Status replace_file(const std::filesystem::path& path, std::string_view content);

// Makes the creation and removal of entries in `dir` durable (an empty path is the current
// directory).
Status sync_directory(const std::filesystem::path& dir);

// Space kept in reserve for a full file system: makes `path` a regular file of `bytes` bytes
// whose storage is allocated (fallocate), creating it if needed, and flushes it. Refuses
// (kInvalidArgument) to follow a symbolic link or to use anything but a regular file with no
// other name (a hard link), so nothing outside the reserve is ever changed.
// kNoSpace when the file system lacks the room; the file may then hold part of it.
Status reserve_space(const std::filesystem::path& path, std::uint64_t bytes);
// Gives the space reserved in `path` back to the file system by truncating it to zero bytes
// (same refusals as reserve_space; kNotFound if there is no such file).
Status release_reserved_space(const std::filesystem::path& path);

// Reads a whole (small) file. kNotFound when it cannot be opened.
Result<std::string> read_file(const std::filesystem::path& path);

// A file a program writes (an export, an exposure), made durable by finish(): the file and
// then its directory are flushed. Move-only; closes (without flushing) on destruction.
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
  // Flushes the file, closes it, flushes its directory.
  Status finish();
  // Flushes the file and closes it, without flushing its directory: for a caller that
  // renames the file and then flushes the directory once for several files.
  Status finish_file();

 private:
  struct Handle;  // the open file; defined by the OS backend
  OutputFile(std::unique_ptr<Handle> handle, std::filesystem::path path);

  std::unique_ptr<Handle> handle_;
  std::filesystem::path path_;
};

}  // namespace freezeframe

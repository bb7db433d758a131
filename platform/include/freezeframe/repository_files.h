// Repository files: what a backup repository needs from the file system beyond durable_file.h,
// behind an OS-neutral interface (implemented in posix/ now): random-access reads of an
// immutable file, directory listing, creation, renaming and removal of entries.
//
// Durability: rename_file() and remove_file() change a directory entry; the change is durable
// only after sync_directory() (durable_file.h) on the directory has returned OK, so a caller
// can batch several removals behind one directory flush. make_directory() flushes the new
// directory and its parent before it returns.
//
// Errors: kNotFound when the file or directory does not exist, kAlreadyExists when
// make_directory() finds something at the path, kNoSpace for a full file system, kIoError
// otherwise; each message names the path and the operating system's reason.
//
// Thread-safety: the functions may be called from any thread. A RandomAccessFile may be read
// from several threads at once (reads are positioned and do not share a file offset).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "freezeframe/status.h"

namespace freezeframe {

// A file opened for positioned reads. Move-only through its unique_ptr; closes on
// destruction.
class RandomAccessFile {
 public:
  // kNotFound when `path` does not exist; kInvalidArgument when it is not a regular file.
  static Result<std::unique_ptr<RandomAccessFile>> open(const std::filesystem::path& path);
  ~RandomAccessFile();
  RandomAccessFile(const RandomAccessFile&) = delete;
  RandomAccessFile& operator=(const RandomAccessFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The size when the file was opened.
  std::uint64_t size_bytes() const { return size_bytes_; }
  // Reads up to out.size() bytes at `offset`; returns how many were read, fewer only at the
  // end of the file (0 at or past it). Retries interrupted and short reads.
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) const;

 private:
  struct Handle;  // the open file; defined by the OS backend
  RandomAccessFile(std::unique_ptr<Handle> handle, std::filesystem::path path,
                   std::uint64_t size_bytes);

  std::unique_ptr<Handle> handle_;
  std::filesystem::path path_;
  std::uint64_t size_bytes_ = 0;
};

// The names of the regular files in `dir` (no "." or "..", no subdirectories), sorted
// bytewise so callers iterate in a deterministic order. kNotFound if `dir` does not exist.
Result<std::vector<std::string>> list_directory(const std::filesystem::path& dir);

// Creates directory `dir` (its parent must exist) and flushes it and its parent.
Status make_directory(const std::filesystem::path& dir);

// Creates a new directory with a unique name, `prefix` followed by random characters, inside
// `parent` (which must exist), readable only by its owner where the system has such modes
// (mkdtemp on POSIX), and returns its path. The caller removes it.
Result<std::filesystem::path> make_unique_directory(const std::filesystem::path& parent,
                                                    const std::string& prefix);
// Renames `from` to `to`, replacing `to` atomically if it exists.
Status rename_file(const std::filesystem::path& from, const std::filesystem::path& to);

// Removes the file `path`. kNotFound if there is none.
Status remove_file(const std::filesystem::path& path);

// The size of the regular file `path`. kNotFound if there is none.
Result<std::uint64_t> file_bytes(const std::filesystem::path& path);

}  // namespace freezeframe

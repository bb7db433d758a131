// What the Windows backends share: UTF-8 to UTF-16 at the API's edge, handles that close
// themselves, and Windows errors in words and in freezeframe's codes. Private to
// platform/windows.
#pragma once

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <filesystem>
#include <string>
#include <utility>

#include "freezeframe/status.h"

namespace freezeframe::windows {

// UTF-8 (freezeframe's strings) to UTF-16 (the W calls) and back. Invalid UTF-8 becomes
// U+FFFD, so a bad name fails at the Windows call that cannot find it, never earlier.
std::wstring widen(const std::string& utf8);
std::string narrow(const std::wstring& utf16);
// A path as the W calls take it; std::filesystem::path holds UTF-16 on Windows already.
inline std::wstring wide_path(const std::filesystem::path& path) {
  return path.wstring();
}
// A path in UTF-8, for messages.
std::string utf8_path(const std::filesystem::path& path);

// "The system cannot find the file specified. (Windows error 2)": FormatMessageW's text.
std::string error_reason(DWORD error);

// freezeframe's code for a Windows error: kNotFound for a missing file or path, kAlreadyExists
// for an existing one, kNoSpace for a full disk or quota, kUnsupported for a request the
// device or file system does not support, kIoError otherwise.
ErrorCode error_code(DWORD error);
// A Status of error_code(error), `message`, and the reason.
Status error_status(DWORD error, const std::string& message);

// Owns one HANDLE (closes it on destruction) until release() hands it on.
class UniqueHandle {
 public:
  explicit UniqueHandle(HANDLE handle = INVALID_HANDLE_VALUE) noexcept : handle_(handle) {}
  UniqueHandle(UniqueHandle&& other) noexcept : handle_(other.release()) {}
  UniqueHandle& operator=(UniqueHandle&& other) noexcept;
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  ~UniqueHandle();

  HANDLE get() const noexcept { return handle_; }
  bool valid() const noexcept { return handle_ != INVALID_HANDLE_VALUE && handle_ != nullptr; }
  HANDLE release() noexcept { return std::exchange(handle_, INVALID_HANDLE_VALUE); }

 private:
  HANDLE handle_ = INVALID_HANDLE_VALUE;
};

// Every share mode: freezeframe's files may be read, written, renamed and deleted while
// another handle has them open, as on POSIX.
inline constexpr DWORD kShareAll = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

// CreateFileW of a UTF-16 path with every share mode; an invalid handle with
// GetLastError() set on failure.
UniqueHandle open_file(const std::wstring& path, DWORD access, DWORD disposition,
                       DWORD flags = FILE_ATTRIBUTE_NORMAL);

// Reads or writes exactly `length` bytes at `offset` (positioned, through an OVERLAPPED
// offset on a synchronous handle), retrying short transfers. False with GetLastError() set
// on failure; a read that finds the end of the file first fails with ERROR_HANDLE_EOF.
bool read_exactly(HANDLE handle, std::uint64_t offset, void* data, std::size_t length);
bool write_exactly(HANDLE handle, std::uint64_t offset, const void* data, std::size_t length);

// The file's volume serial number and file index: which file a handle has open.
struct FileIndex {
  std::uint64_t volume = 0;
  std::uint64_t index = 0;
  std::uint32_t links = 0;
  bool directory = false;
  bool reparse_point = false;
  friend bool operator==(const FileIndex& a, const FileIndex& b) {
    return a.volume == b.volume && a.index == b.index;
  }
};
bool file_index(HANDLE handle, FileIndex& out);

}  // namespace freezeframe::windows

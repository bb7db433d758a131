// Durable files on Windows: WriteFile, FlushFileBuffers of the file, and MoveFileExW with
// MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH for atomic replacement. A directory is
// flushed with FlushFileBuffers on a handle opened with backup semantics where the file system
// allows it (NTFS does); where it refuses, MOVEFILE_WRITE_THROUGH has made the rename durable
// already and there is nothing more to do (docs/windows.md).
#include <algorithm>
#include <utility>

#include "freezeframe/durable_file.h"
#include "windows_io.h"

namespace freezeframe {

struct OutputFile::Handle {
  explicit Handle(windows::UniqueHandle h) : file(std::move(h)) {}
  windows::UniqueHandle file;
  std::uint64_t offset = 0;
};

namespace {

using windows::error_status;
using windows::UniqueHandle;
using windows::utf8_path;

std::string quoted(const std::filesystem::path& path) {
  return "'" + utf8_path(path) + "'";
}

Status write_all(HANDLE file, std::uint64_t offset, std::string_view content,
                 const std::filesystem::path& path) {
  if (!windows::write_exactly(file, offset, content.data(), content.size()))
    return error_status(GetLastError(), "cannot write " + quoted(path));
  return Status();
}

// Opens the reserve file, refusing a symbolic link (a reparse point), a directory, or a file
// with other names.
Result<UniqueHandle> open_reserve(const std::filesystem::path& path, DWORD disposition) {
  UniqueHandle file = windows::open_file(windows::wide_path(path), GENERIC_READ | GENERIC_WRITE,
                                         disposition, FILE_FLAG_OPEN_REPARSE_POINT);
  if (!file.valid())
    return error_status(GetLastError(), "cannot open reserve file " + quoted(path));
  windows::FileIndex index;
  if (!windows::file_index(file.get(), index))
    return error_status(GetLastError(), "cannot examine " + quoted(path));
  if (index.reparse_point)
    return invalid_argument(quoted(path) + " is a symbolic link, not a reserve file");
  if (index.directory)
    return invalid_argument(quoted(path) + " is not a regular file");
  if (index.links != 1)
    return invalid_argument(quoted(path) + " has other names (hard links)");
  return file;
}

Status set_end(HANDLE file, std::uint64_t bytes, const std::filesystem::path& path) {
  FILE_END_OF_FILE_INFO end{};
  end.EndOfFile.QuadPart = static_cast<LONGLONG>(bytes);
  if (!SetFileInformationByHandle(file, FileEndOfFileInfo, &end, sizeof(end))) {
    return error_status(GetLastError(),
                        "cannot set the size of " + quoted(path) + " to " + std::to_string(bytes));
  }
  return Status();
}

}  // namespace

Status reserve_space(const std::filesystem::path& path, std::uint64_t bytes) {
  FF_ASSIGN_OR_RETURN(UniqueHandle file, open_reserve(path, OPEN_ALWAYS));
  if (bytes > 0) {
    // The allocation first (it fails with ERROR_DISK_FULL where there is no room), then the
    // end of file over it.
    FILE_ALLOCATION_INFO allocation{};
    allocation.AllocationSize.QuadPart = static_cast<LONGLONG>(bytes);
    if (SetFileInformationByHandle(file.get(), FileAllocationInfo, &allocation,
                                   sizeof(allocation))) {
      FF_TRY(set_end(file.get(), bytes, path));
    } else {
      const DWORD error = GetLastError();
      if (windows::error_code(error) == ErrorCode::kNoSpace)
        return error_status(
            error, "cannot reserve " + std::to_string(bytes) + " bytes in " + quoted(path));
      // Where the file system cannot preallocate (Wine), writing the zeros allocates them.
      FF_TRY(set_end(file.get(), 0, path));
      const std::string zeros(std::size_t{1} << 20, '\0');
      for (std::uint64_t done = 0; done < bytes;) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(bytes - done, zeros.size()));
        FF_TRY(write_all(file.get(), done, std::string_view(zeros.data(), n), path));
        done += n;
      }
    }
  }
  if (!FlushFileBuffers(file.get()))
    return error_status(GetLastError(), "cannot flush " + quoted(path));
  return Status();
}

Status release_reserved_space(const std::filesystem::path& path) {
  FF_ASSIGN_OR_RETURN(UniqueHandle file, open_reserve(path, OPEN_EXISTING));
  return set_end(file.get(), 0, path);
}

Status sync_directory(const std::filesystem::path& given) {
  std::filesystem::path dir = given.empty() ? std::filesystem::path(".") : given;
  UniqueHandle handle = windows::open_file(windows::wide_path(dir), GENERIC_READ | GENERIC_WRITE,
                                           OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS);
  if (!handle.valid()) {
    const DWORD error = GetLastError();
    if (error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND)
      return io_error("cannot open directory " + quoted(dir) + ": " + windows::error_reason(error));
    // Opening a directory for writing needs rights some directories withhold; the entries were
    // written through (MOVEFILE_WRITE_THROUGH) already.
    return Status();
  }
  if (!FlushFileBuffers(handle.get())) {
    const DWORD error = GetLastError();
    if (error == ERROR_ACCESS_DENIED || error == ERROR_INVALID_FUNCTION ||
        error == ERROR_INVALID_PARAMETER || error == ERROR_NOT_SUPPORTED)
      return Status();
    return error_status(error, "cannot flush directory " + quoted(dir));
  }
  return Status();
}

Result<std::string> read_file(const std::filesystem::path& path) {
  UniqueHandle file = windows::open_file(windows::wide_path(path), GENERIC_READ, OPEN_EXISTING);
  if (!file.valid()) {
    const DWORD error = GetLastError();
    return Status(ErrorCode::kNotFound,
                  "cannot open " + quoted(path) + ": " + windows::error_reason(error));
  }
  LARGE_INTEGER size{};
  if (!GetFileSizeEx(file.get(), &size))
    return error_status(GetLastError(), "cannot read the size of " + quoted(path));
  std::string content(static_cast<std::size_t>(size.QuadPart), '\0');
  if (!content.empty() && !windows::read_exactly(file.get(), 0, content.data(), content.size()))
    return io_error("cannot read " + quoted(path) + ": " + windows::error_reason(GetLastError()));
  return content;
}

Result<OutputFile> OutputFile::create(const std::filesystem::path& path, bool exclusive) {
  UniqueHandle file = windows::open_file(
      windows::wide_path(path), GENERIC_WRITE, exclusive ? CREATE_NEW : CREATE_ALWAYS,
      FILE_ATTRIBUTE_NORMAL | (exclusive ? FILE_FLAG_OPEN_REPARSE_POINT : 0));
  if (!file.valid()) {
    const DWORD error = GetLastError();
    if (error == ERROR_FILE_EXISTS || error == ERROR_ALREADY_EXISTS) {
      return Status(
          ErrorCode::kAlreadyExists,
          quoted(path) + " already exists; it is left as it is (choose a path where nothing is)");
    }
    return error_status(error, "cannot create " + quoted(path));
  }
  return OutputFile(std::make_unique<Handle>(std::move(file)), path);
}

OutputFile::OutputFile(std::unique_ptr<Handle> handle, std::filesystem::path path)
    : handle_(std::move(handle)), path_(std::move(path)) {}
OutputFile::OutputFile(OutputFile&& other) noexcept = default;
OutputFile& OutputFile::operator=(OutputFile&& other) noexcept = default;
OutputFile::~OutputFile() = default;

Status OutputFile::write(std::span<const std::byte> data) {
  if (!handle_ || !handle_->file.valid())
    return io_error(quoted(path_) + " is closed");
  FF_TRY(write_all(handle_->file.get(), handle_->offset,
                   std::string_view(reinterpret_cast<const char*>(data.data()), data.size()),
                   path_));
  handle_->offset += data.size();
  return Status();
}

Status OutputFile::finish() {
  FF_TRY(finish_file());
  return sync_directory(path_.parent_path());
}

Status OutputFile::finish_file() {
  if (!handle_ || !handle_->file.valid())
    return io_error(quoted(path_) + " is closed");
  UniqueHandle file(handle_->file.release());
  if (!FlushFileBuffers(file.get()))
    return error_status(GetLastError(), "cannot flush " + quoted(path_));
  HANDLE raw = file.release();
  if (!CloseHandle(raw))
    return error_status(GetLastError(), "cannot close " + quoted(path_));
  return Status();
}

Status replace_file(const std::filesystem::path& path, std::string_view content) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  const std::wstring wide_temp = windows::wide_path(temp);
  Status status;
  {
    UniqueHandle file = windows::open_file(wide_temp, GENERIC_WRITE, CREATE_ALWAYS,
                                           FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT);
    if (!file.valid()) {
      // As on POSIX: a full disk, or an I/O error (a missing directory among them).
      const DWORD error = GetLastError();
      return Status(windows::error_code(error) == ErrorCode::kNoSpace ? ErrorCode::kNoSpace
                                                                      : ErrorCode::kIoError,
                    "cannot create " + quoted(temp) + ": " + windows::error_reason(error));
    }
    status = write_all(file.get(), 0, content, temp);
    if (status.ok() && !FlushFileBuffers(file.get()))
      status = error_status(GetLastError(), "cannot flush " + quoted(temp));
  }
  if (!status.ok()) {
    DeleteFileW(wide_temp.c_str());
    return status;
  }
  if (!MoveFileExW(wide_temp.c_str(), windows::wide_path(path).c_str(),
                   MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    const DWORD error = GetLastError();
    DeleteFileW(wide_temp.c_str());
    return io_error("cannot rename " + quoted(temp) + " to " + quoted(path) + ": " +
                    windows::error_reason(error));
  }
  return sync_directory(path.parent_path());
}

}  // namespace freezeframe

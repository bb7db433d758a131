// Repository files on Windows: positioned ReadFile, FindFirstFileW, CreateDirectoryW,
// MoveFileExW and DeleteFileW. Files are opened with every share mode, so a pack being read
// can still be renamed or removed by prune, as on POSIX.
#include <algorithm>
#include <utility>

#include "freezeframe/durable_file.h"
#include "freezeframe/repository_files.h"
#include "freezeframe/uuid.h"
#include "windows_io.h"

namespace freezeframe {

struct RandomAccessFile::Handle {
  explicit Handle(windows::UniqueHandle h) : file(std::move(h)) {}
  windows::UniqueHandle file;
};

namespace {

using windows::utf8_path;

Status failure(DWORD error, const std::string& what, const std::filesystem::path& path) {
  return windows::error_status(error, what + " '" + utf8_path(path) + "'");
}

constexpr std::size_t kDirectoryEntriesMax = std::size_t{1} << 24;

}  // namespace

RandomAccessFile::RandomAccessFile(std::unique_ptr<Handle> handle, std::filesystem::path path,
                                   std::uint64_t size_bytes)
    : handle_(std::move(handle)), path_(std::move(path)), size_bytes_(size_bytes) {}
RandomAccessFile::~RandomAccessFile() = default;

Result<std::unique_ptr<RandomAccessFile>> RandomAccessFile::open(
    const std::filesystem::path& path) {
  windows::UniqueHandle file = windows::open_file(windows::wide_path(path), GENERIC_READ,
                                                  OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT);
  if (!file.valid()) {
    const DWORD error = GetLastError();
    if (error == ERROR_ACCESS_DENIED &&
        (GetFileAttributesW(windows::wide_path(path).c_str()) & FILE_ATTRIBUTE_DIRECTORY) != 0 &&
        GetFileAttributesW(windows::wide_path(path).c_str()) != INVALID_FILE_ATTRIBUTES)
      return invalid_argument("'" + utf8_path(path) + "' is not a regular file");
    return failure(error, "cannot open", path);
  }
  windows::FileIndex index;
  if (!windows::file_index(file.get(), index))
    return failure(GetLastError(), "cannot examine", path);
  if (index.directory || index.reparse_point)
    return invalid_argument("'" + utf8_path(path) + "' is not a regular file");
  LARGE_INTEGER size{};
  if (!GetFileSizeEx(file.get(), &size))
    return failure(GetLastError(), "cannot examine", path);
  return std::unique_ptr<RandomAccessFile>(new RandomAccessFile(
      std::make_unique<Handle>(std::move(file)), path, static_cast<std::uint64_t>(size.QuadPart)));
}

Result<std::size_t> RandomAccessFile::read_at(std::uint64_t offset,
                                              std::span<std::byte> out) const {
  std::size_t done = 0;
  while (done < out.size()) {
    OVERLAPPED overlapped{};
    const std::uint64_t at = offset + done;
    overlapped.Offset = static_cast<DWORD>(at & 0xffffffffU);
    overlapped.OffsetHigh = static_cast<DWORD>(at >> 32);
    DWORD moved = 0;
    const auto chunk = static_cast<DWORD>(std::min<std::size_t>(out.size() - done, 1U << 30));
    if (!ReadFile(handle_->file.get(), out.data() + done, chunk, &moved, &overlapped)) {
      const DWORD error = GetLastError();
      if (error == ERROR_HANDLE_EOF)
        break;
      return io_error("cannot read '" + utf8_path(path_) + "' at offset " + std::to_string(at) +
                      ": " + windows::error_reason(error));
    }
    if (moved == 0)
      break;
    done += moved;
  }
  return done;
}

Result<std::vector<std::string>> list_directory(const std::filesystem::path& dir) {
  WIN32_FIND_DATAW entry{};
  const std::wstring pattern = windows::wide_path(dir / L"*");
  HANDLE search = FindFirstFileW(pattern.c_str(), &entry);
  if (search == INVALID_HANDLE_VALUE) {
    const DWORD error = GetLastError();
    if (error == ERROR_FILE_NOT_FOUND)  // an empty directory (not even "." is reported)
      return std::vector<std::string>();
    return failure(error, "cannot list directory", dir);
  }
  std::vector<std::string> names;
  Status status;
  do {
    if ((entry.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) != 0)
      continue;
    if (names.size() >= kDirectoryEntriesMax) {
      status = io_error("directory '" + utf8_path(dir) + "' holds more than " +
                        std::to_string(kDirectoryEntriesMax) + " files");
      break;
    }
    names.push_back(windows::narrow(entry.cFileName));
  } while (FindNextFileW(search, &entry));
  const DWORD error = GetLastError();
  FindClose(search);
  if (!status.ok())
    return status;
  if (error != ERROR_NO_MORE_FILES && error != ERROR_SUCCESS)
    return failure(error, "cannot list directory", dir);
  std::sort(names.begin(), names.end());
  return names;
}

Status make_directory(const std::filesystem::path& dir) {
  if (!CreateDirectoryW(windows::wide_path(dir).c_str(), nullptr))
    return failure(GetLastError(), "cannot create directory", dir);
  FF_TRY(sync_directory(dir));
  return sync_directory(dir.parent_path());
}

Result<std::filesystem::path> make_unique_directory(const std::filesystem::path& parent,
                                                    const std::string& prefix) {
  // Random names until one is free (CreateDirectoryW is the atomic test), a bounded number of
  // times.
  constexpr int kAttemptsMax = 100;
  constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  for (int attempt = 0; attempt < kAttemptsMax; ++attempt) {
    std::string name = prefix;
    Uuid random = Uuid::generate();
    for (std::size_t i = 0; i < 6; ++i)
      name += kAlphabet[static_cast<unsigned>(random.bytes()[i]) % (sizeof(kAlphabet) - 1)];
    const std::filesystem::path dir = parent / windows::widen(name);
    if (CreateDirectoryW(dir.wstring().c_str(), nullptr))
      return dir;
    const DWORD error = GetLastError();
    if (error != ERROR_ALREADY_EXISTS)
      return failure(error, "cannot create a directory in", parent);
  }
  return io_error("cannot create a directory in '" + utf8_path(parent) +
                  "': " + std::to_string(kAttemptsMax) + " random names were all taken");
}

Status rename_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (!MoveFileExW(windows::wide_path(from).c_str(), windows::wide_path(to).c_str(),
                   MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    const DWORD error = GetLastError();
    return Status(windows::error_code(error), "cannot rename '" + utf8_path(from) + "' to '" +
                                                  utf8_path(to) +
                                                  "': " + windows::error_reason(error));
  }
  return Status();
}

Status remove_file(const std::filesystem::path& path) {
  if (!DeleteFileW(windows::wide_path(path).c_str()))
    return failure(GetLastError(), "cannot remove", path);
  return Status();
}

Result<std::uint64_t> file_bytes(const std::filesystem::path& path) {
  WIN32_FILE_ATTRIBUTE_DATA info{};
  if (!GetFileAttributesExW(windows::wide_path(path).c_str(), GetFileExInfoStandard, &info))
    return failure(GetLastError(), "cannot examine", path);
  if ((info.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) != 0)
    return invalid_argument("'" + utf8_path(path) + "' is not a regular file");
  return (static_cast<std::uint64_t>(info.nFileSizeHigh) << 32) | info.nFileSizeLow;
}

}  // namespace freezeframe

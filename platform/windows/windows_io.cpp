#include "windows_io.h"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace freezeframe::windows {

std::wstring widen(const std::string& utf8) {
  if (utf8.empty())
    return std::wstring();
  const int size = static_cast<int>(std::min<std::size_t>(utf8.size(), INT_MAX));
  const int wide = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), size, nullptr, 0);
  std::wstring out(static_cast<std::size_t>(std::max(wide, 0)), L'\0');
  if (wide > 0)
    MultiByteToWideChar(CP_UTF8, 0, utf8.data(), size, out.data(), wide);
  return out;
}

std::string narrow(const std::wstring& utf16) {
  if (utf16.empty())
    return std::string();
  const int size = static_cast<int>(std::min<std::size_t>(utf16.size(), INT_MAX));
  const int bytes =
      WideCharToMultiByte(CP_UTF8, 0, utf16.data(), size, nullptr, 0, nullptr, nullptr);
  std::string out(static_cast<std::size_t>(std::max(bytes, 0)), '\0');
  if (bytes > 0)
    WideCharToMultiByte(CP_UTF8, 0, utf16.data(), size, out.data(), bytes, nullptr, nullptr);
  return out;
}

std::string utf8_path(const std::filesystem::path& path) {
  return narrow(path.wstring());
}

std::string error_reason(DWORD error) {
  wchar_t* text = nullptr;
  const DWORD length = FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, error, 0, reinterpret_cast<wchar_t*>(&text), 0, nullptr);
  std::string reason;
  if (length > 0 && text != nullptr) {
    reason = narrow(std::wstring(text, length));
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == '\r' ||
                               reason.back() == ' ' || reason.back() == '.'))
      reason.pop_back();
  }
  if (text != nullptr)
    LocalFree(text);
  if (reason.empty())
    reason = "unknown error";
  return reason + " (Windows error " + std::to_string(error) + ")";
}

namespace {
// ERROR_DISK_QUOTA_EXCEEDED, which mingw-w64's headers lack.
constexpr DWORD kDiskQuotaExceeded = 1295;
}  // namespace

ErrorCode error_code(DWORD error) {
  switch (error) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH:
      return ErrorCode::kNotFound;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
      return ErrorCode::kAlreadyExists;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
    case kDiskQuotaExceeded:
      return ErrorCode::kNoSpace;
    case ERROR_NOT_SUPPORTED:
    case ERROR_INVALID_FUNCTION:
      return ErrorCode::kUnsupported;
    default:
      return ErrorCode::kIoError;
  }
}

Status error_status(DWORD error, const std::string& message) {
  return Status(error_code(error), message + ": " + error_reason(error));
}

UniqueHandle& UniqueHandle::operator=(UniqueHandle&& other) noexcept {
  if (this != &other) {
    if (valid())
      CloseHandle(handle_);
    handle_ = other.release();
  }
  return *this;
}

UniqueHandle::~UniqueHandle() {
  if (valid())
    CloseHandle(handle_);
}

UniqueHandle open_file(const std::wstring& path, DWORD access, DWORD disposition, DWORD flags) {
  return UniqueHandle(
      CreateFileW(path.c_str(), access, kShareAll, nullptr, disposition, flags, nullptr));
}

namespace {

OVERLAPPED at(std::uint64_t offset) {
  OVERLAPPED overlapped{};
  overlapped.Offset = static_cast<DWORD>(offset & 0xffffffffU);
  overlapped.OffsetHigh = static_cast<DWORD>(offset >> 32);
  return overlapped;
}

// One call moves at most this much (ReadFile and WriteFile take a DWORD).
constexpr std::size_t kCallBytesMax = std::size_t{1} << 30;

}  // namespace

bool read_exactly(HANDLE handle, std::uint64_t offset, void* data, std::size_t length) {
  auto* bytes = static_cast<unsigned char*>(data);
  for (std::size_t done = 0; done < length;) {
    OVERLAPPED overlapped = at(offset + done);
    DWORD moved = 0;
    const auto chunk = static_cast<DWORD>(std::min(length - done, kCallBytesMax));
    if (!ReadFile(handle, bytes + done, chunk, &moved, &overlapped))
      return false;
    if (moved == 0) {
      SetLastError(ERROR_HANDLE_EOF);
      return false;
    }
    done += moved;
  }
  return true;
}

bool write_exactly(HANDLE handle, std::uint64_t offset, const void* data, std::size_t length) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t done = 0; done < length;) {
    OVERLAPPED overlapped = at(offset + done);
    DWORD moved = 0;
    const auto chunk = static_cast<DWORD>(std::min(length - done, kCallBytesMax));
    if (!WriteFile(handle, bytes + done, chunk, &moved, &overlapped))
      return false;
    if (moved == 0) {
      SetLastError(ERROR_WRITE_FAULT);
      return false;
    }
    done += moved;
  }
  return true;
}

bool file_index(HANDLE handle, FileIndex& out) {
  BY_HANDLE_FILE_INFORMATION info{};
  if (!GetFileInformationByHandle(handle, &info))
    return false;
  out.volume = info.dwVolumeSerialNumber;
  out.index = (static_cast<std::uint64_t>(info.nFileIndexHigh) << 32) | info.nFileIndexLow;
  out.links = info.nNumberOfLinks;
  out.directory = (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
  out.reparse_point = (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
  return true;
}

}  // namespace freezeframe::windows

// StoreLock on Windows: LockFileEx on the store's lock file, and a handle on the store
// directory and one on the lock file that refuse deletion (no FILE_SHARE_DELETE) while they
// are held.
//
// Windows cannot lock a directory as flock(2) does, and it needs not: where POSIX lets a held
// directory or lock file be renamed or removed, and so must detect it (verify()), Windows
// refuses the rename or removal for as long as the handles are open. verify() still compares
// the held objects with what the paths name, so a store reached through a path that now leads
// elsewhere (a junction changed under it) is refused too. The byte-range lock is placed far
// past the lock file's end, so that the holder's pid written at its start stays readable.
#include <algorithm>
#include <utility>

#include "../common/lock_waiter.h"
#include "freezeframe/store_lock.h"
#include "windows_io.h"

namespace freezeframe {

struct StoreLock::Handle {
  std::filesystem::path dir;
  windows::UniqueHandle dir_handle;
  // Invalid when only the directory is held: a shared lock on a read-only store that has no
  // lock file.
  windows::UniqueHandle file_handle;
};

namespace {

using platform_detail::quoted_path;
using platform_detail::Waiter;

constexpr wchar_t kLockFileName[] = L"lock";
constexpr DWORD kLockOffsetHigh = 0x7fffffffU;  // the locked byte: offset 0x7fffffff00000000
// Everyone may read and write alongside; nobody may delete or rename.
constexpr DWORD kShareNoDelete = FILE_SHARE_READ | FILE_SHARE_WRITE;

Result<windows::UniqueHandle> open_directory(const std::filesystem::path& dir) {
  windows::UniqueHandle handle(CreateFileW(dir.wstring().c_str(), GENERIC_READ, kShareNoDelete,
                                           nullptr, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS,
                                           nullptr));
  if (handle.valid()) {
    windows::FileIndex index;
    if (windows::file_index(handle.get(), index) && !index.directory)
      return invalid_argument("store directory " + quoted_path(dir) + " is not a directory");
    return handle;
  }
  const DWORD error = GetLastError();
  if (error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND)
    return not_found("store directory " + quoted_path(dir) + " does not exist");
  if (error == ERROR_DIRECTORY)
    return invalid_argument("store directory " + quoted_path(dir) + " is not a directory");
  return io_error("cannot open store directory " + quoted_path(dir) + ": " +
                  windows::error_reason(error));
}

// Shared holders open the file for reading only, so a read-only store can still be locked
// shared; a lock file that is missing and cannot be created leaves the directory alone held.
Result<windows::UniqueHandle> open_lock_file(const std::filesystem::path& path, LockMode mode) {
  const DWORD access = mode == LockMode::kShared ? GENERIC_READ : GENERIC_READ | GENERIC_WRITE;
  windows::UniqueHandle handle(CreateFileW(path.wstring().c_str(), access, kShareNoDelete, nullptr,
                                           OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!handle.valid() && mode == LockMode::kShared) {
    const DWORD error = GetLastError();
    if (error == ERROR_ACCESS_DENIED || error == ERROR_WRITE_PROTECT) {
      handle = windows::UniqueHandle(CreateFileW(path.wstring().c_str(), GENERIC_READ,
                                                 kShareNoDelete, nullptr, OPEN_EXISTING,
                                                 FILE_ATTRIBUTE_NORMAL, nullptr));
      if (!handle.valid())
        return windows::UniqueHandle();
    }
  }
  if (!handle.valid()) {
    const DWORD error = GetLastError();
    if (error == ERROR_SHARING_VIOLATION) {
      return io_error("cannot open lock file " + quoted_path(path) +
                      ": another program has it open for deletion");
    }
    return io_error("cannot open lock file " + quoted_path(path) + ": " +
                    windows::error_reason(error));
  }
  return handle;
}

// Whether `path` names the object `held` has open now.
Result<bool> same_object(HANDLE held, const std::filesystem::path& path) {
  windows::FileIndex held_index;
  if (!windows::file_index(held, held_index))
    return io_error("cannot examine the open " + quoted_path(path) + ": " +
                    windows::error_reason(GetLastError()));
  windows::UniqueHandle named(CreateFileW(path.wstring().c_str(), 0, windows::kShareAll, nullptr,
                                          OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, nullptr));
  if (!named.valid()) {
    const DWORD error = GetLastError();
    if (error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND)
      return false;
    return io_error("cannot examine " + quoted_path(path) + ": " + windows::error_reason(error));
  }
  windows::FileIndex named_index;
  if (!windows::file_index(named.get(), named_index))
    return io_error("cannot examine " + quoted_path(path) + ": " +
                    windows::error_reason(GetLastError()));
  return held_index == named_index;
}

void write_pid(HANDLE file) {
  const std::string text = std::to_string(GetCurrentProcessId()) + "\n";
  FILE_END_OF_FILE_INFO end{};
  SetFileInformationByHandle(file, FileEndOfFileInfo, &end, sizeof(end));
  windows::write_exactly(file, 0, text.data(), text.size());  // best effort, as on POSIX
}

}  // namespace

Result<StoreLock> StoreLock::acquire(const std::filesystem::path& dir,
                                     const StoreLockOptions& options) {
  auto handle = std::make_unique<Handle>();
  handle->dir = dir;
  FF_ASSIGN_OR_RETURN(handle->dir_handle, open_directory(dir));
  FF_ASSIGN_OR_RETURN(handle->file_handle, open_lock_file(dir / kLockFileName, options.mode));
  if (handle->file_handle.valid()) {
    Waiter waiter(dir, options);
    const DWORD flags = LOCKFILE_FAIL_IMMEDIATELY |
                        (options.mode == LockMode::kExclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0);
    for (;;) {
      OVERLAPPED at{};
      at.OffsetHigh = kLockOffsetHigh;
      if (LockFileEx(handle->file_handle.get(), flags, 0, 1, 0, &at))
        break;
      const DWORD error = GetLastError();
      if (error != ERROR_LOCK_VIOLATION && error != ERROR_IO_PENDING) {
        return io_error("cannot lock " + quoted_path(dir / kLockFileName) + ": " +
                        windows::error_reason(error));
      }
      FF_TRY(waiter.pause([] { return std::vector<long>(); }));
    }
    if (options.mode == LockMode::kExclusive)
      write_pid(handle->file_handle.get());
  }
  return StoreLock(std::move(handle), options.mode);
}

StoreLock::StoreLock(std::unique_ptr<Handle> handle, LockMode mode)
    : handle_(std::move(handle)), mode_(mode) {}
StoreLock::StoreLock(StoreLock&& other) noexcept = default;
StoreLock& StoreLock::operator=(StoreLock&& other) noexcept = default;
StoreLock::~StoreLock() = default;

Status StoreLock::verify() const {
  if (handle_ == nullptr)
    return bad_state("store lock: not held (this StoreLock was moved from)");
  FF_TRY(verify_directory());
  if (!handle_->file_handle.valid())
    return Status();
  const std::filesystem::path path = handle_->dir / kLockFileName;
  FF_ASSIGN_OR_RETURN(bool same, same_object(handle_->file_handle.get(), path));
  if (same)
    return Status();
  return bad_state("store lock lost: the lock file " + quoted_path(path) +
                   " was removed or replaced while this command held the lock; another command "
                   "may be using the store now");
}

Status StoreLock::verify_directory() const {
  if (handle_ == nullptr)
    return bad_state("store lock: not held (this StoreLock was moved from)");
  FF_ASSIGN_OR_RETURN(bool same, same_object(handle_->dir_handle.get(), handle_->dir));
  if (same)
    return Status();
  return bad_state("store lock lost: the store directory " + quoted_path(handle_->dir) +
                   " was removed, renamed or replaced while this command held it; nothing more "
                   "is written there");
}

// Windows does not say who holds a byte-range lock.
std::vector<long> lock_holders(const std::filesystem::path& /*path*/) {
  return {};
}

}  // namespace freezeframe

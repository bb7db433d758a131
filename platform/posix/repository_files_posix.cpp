// Repository files on POSIX systems: pread(2) retried on EINTR and short reads, readdir(3),
// mkdir(2), rename(2), unlink(2).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "freezeframe/durable_file.h"
#include "freezeframe/repository_files.h"
#include "posix_io.h"

namespace freezeframe {

struct RandomAccessFile::Handle {
  explicit Handle(int descriptor) : fd(descriptor) {}
  posix::UniqueFd fd;
};

namespace {

ErrorCode code_of(int error) {
  return error == ENOSPC || error == EDQUOT ? ErrorCode::kNoSpace
         : error == ENOENT                  ? ErrorCode::kNotFound
         : error == EEXIST                  ? ErrorCode::kAlreadyExists
                                            : ErrorCode::kIoError;
}

Status failure(int error, const std::string& what, const std::filesystem::path& path) {
  return Status(code_of(error), what + " '" + path.string() + "': " + posix::errno_reason(error));
}

// Directory entries read before listing gives up: a bound, not a hope.
constexpr std::size_t kDirectoryEntriesMax = std::size_t{1} << 24;

}  // namespace

RandomAccessFile::RandomAccessFile(std::unique_ptr<Handle> handle, std::filesystem::path path,
                                   std::uint64_t size_bytes)
    : handle_(std::move(handle)), path_(std::move(path)), size_bytes_(size_bytes) {}
RandomAccessFile::~RandomAccessFile() = default;

Result<std::unique_ptr<RandomAccessFile>> RandomAccessFile::open(
    const std::filesystem::path& path) {
  auto handle = std::make_unique<Handle>(
      posix::open_retrying(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (handle->fd.get() < 0)
    return failure(errno, "cannot open", path);
  struct stat info {};
  if (::fstat(handle->fd.get(), &info) != 0)
    return failure(errno, "cannot examine", path);
  if (!S_ISREG(info.st_mode))
    return invalid_argument("'" + path.string() + "' is not a regular file");
  return std::unique_ptr<RandomAccessFile>(
      new RandomAccessFile(std::move(handle), path, static_cast<std::uint64_t>(info.st_size)));
}

Result<std::size_t> RandomAccessFile::read_at(std::uint64_t offset,
                                              std::span<std::byte> out) const {
  std::size_t done = 0;
  int interrupted = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(handle_->fd.get(), out.data() + done, out.size() - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR && ++interrupted < posix::kInterruptedRetriesMax)
        continue;
      return io_error("cannot read '" + path_.string() + "' at offset " +
                      std::to_string(offset + done) + ": " + posix::errno_reason(errno));
    }
    if (n == 0)
      break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Result<std::vector<std::string>> list_directory(const std::filesystem::path& dir) {
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr)
    return failure(errno, "cannot list directory", dir);
  std::vector<std::string> names;
  Status status;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(stream);
    if (entry == nullptr) {
      if (errno != 0)
        status = failure(errno, "cannot list directory", dir);
      break;
    }
    std::string name = entry->d_name;
    if (name == "." || name == "..")
      continue;
    struct stat info {};
    if (::fstatat(::dirfd(stream), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(info.st_mode))
      continue;
    if (names.size() >= kDirectoryEntriesMax) {
      status = io_error("directory '" + dir.string() + "' holds more than " +
                        std::to_string(kDirectoryEntriesMax) + " files");
      break;
    }
    names.push_back(std::move(name));
  }
  ::closedir(stream);
  if (!status.ok())
    return status;
  std::sort(names.begin(), names.end());
  return names;
}

Status make_directory(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0)
    return failure(errno, "cannot create directory", dir);
  FF_TRY(sync_directory(dir));
  return sync_directory(dir.parent_path());
}

Result<std::filesystem::path> make_unique_directory(const std::filesystem::path& parent,
                                                    const std::string& prefix) {
  std::string pattern = (parent / (prefix + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return failure(errno, "cannot create a directory in", parent);
  return std::filesystem::path(pattern);
}

Status rename_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    int error = errno;
    return Status(code_of(error), "cannot rename '" + from.string() + "' to '" + to.string() +
                                      "': " + posix::errno_reason(error));
  }
  return Status();
}

Status remove_file(const std::filesystem::path& path) {
  if (::unlink(path.c_str()) != 0)
    return failure(errno, "cannot remove", path);
  return Status();
}

Result<std::uint64_t> file_bytes(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    return failure(errno, "cannot examine", path);
  if (!S_ISREG(info.st_mode))
    return invalid_argument("'" + path.string() + "' is not a regular file");
  return static_cast<std::uint64_t>(info.st_size);
}

}  // namespace freezeframe

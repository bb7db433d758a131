// Durable files on POSIX systems: write(2) retried on EINTR and short writes, fsync(2) of the
// file and of its directory, rename(2) for atomic replacement.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <utility>

#include "freezeframe/durable_file.h"
#include "posix_io.h"

namespace freezeframe {

struct OutputFile::Handle {
  explicit Handle(int descriptor) : fd(descriptor) {}
  posix::UniqueFd fd;
};

namespace {

Status write_all(int fd, std::string_view content, const std::string& path) {
  std::size_t done = 0;
  int interrupted = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR && ++interrupted < posix::kInterruptedRetriesMax)
        continue;
      return Status(errno == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIoError,
                    "cannot write '" + path + "': " + posix::errno_reason(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return Status();
}

// kNoSpace for a full file system (or quota), kIoError for anything else.
ErrorCode space_or_io(int error) {
  return error == ENOSPC || error == EDQUOT ? ErrorCode::kNoSpace : ErrorCode::kIoError;
}

// As space_or_io(), and kNotFound for a missing file or directory.
ErrorCode code_of(int error) {
  return error == ENOSPC || error == EDQUOT ? ErrorCode::kNoSpace
         : error == ENOENT                  ? ErrorCode::kNotFound
                                            : ErrorCode::kIoError;
}

// Opens the reserve file at `path` for writing, refusing a symbolic link, a non-file or a file
// with other names. The caller owns the descriptor.
Result<int> open_reserve(const std::filesystem::path& path, int create) {
  posix::UniqueFd fd(
      posix::open_retrying(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW | create, 0600));
  if (fd.get() < 0) {
    int error = errno;
    if (error == ELOOP)
      return invalid_argument("'" + path.string() + "' is a symbolic link, not a reserve file");
    return Status(code_of(error), "cannot open reserve file '" + path.string() +
                                      "': " + posix::errno_reason(error));
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode))
    return invalid_argument("'" + path.string() + "' is not a regular file");
  // A second name would make truncating it destroy a file that is someone else's.
  if (info.st_nlink != 1)
    return invalid_argument("'" + path.string() + "' has other names (hard links)");
  return fd.release();
}

}  // namespace

Status reserve_space(const std::filesystem::path& path, std::uint64_t bytes) {
  FF_ASSIGN_OR_RETURN(int opened, open_reserve(path, O_CREAT));
  posix::UniqueFd fd(opened);
  if (bytes > 0) {
    int error = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(bytes));
    if (error != 0)
      return Status(code_of(error), "cannot reserve " + std::to_string(bytes) + " bytes in '" +
                                        path.string() + "': " + posix::errno_reason(error));
  }
  if (::fsync(fd.get()) != 0) {
    int error = errno;
    return Status(code_of(error),
                  "cannot fsync '" + path.string() + "': " + posix::errno_reason(error));
  }
  return Status();
}

Status release_reserved_space(const std::filesystem::path& path) {
  FF_ASSIGN_OR_RETURN(int opened, open_reserve(path, 0));
  posix::UniqueFd fd(opened);
  if (::ftruncate(fd.get(), 0) != 0) {
    int error = errno;
    return Status(code_of(error),
                  "cannot truncate '" + path.string() + "': " + posix::errno_reason(error));
  }
  return Status();
}

Status sync_directory(const std::filesystem::path& given) {
  std::filesystem::path dir = given.empty() ? std::filesystem::path(".") : given;
  posix::UniqueFd fd(posix::open_retrying(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0)
    return io_error("cannot open directory '" + dir.string() + "': " + posix::errno_reason(errno));
  if (::fsync(fd.get()) != 0)
    return io_error("cannot fsync directory '" + dir.string() + "': " + posix::errno_reason(errno));
  return Status();
}

Result<OutputFile> OutputFile::create(const std::filesystem::path& path, bool exclusive) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL | O_NOFOLLOW : O_TRUNC);
  int fd = posix::open_retrying(path.c_str(), flags, 0644);
  if (fd < 0) {
    int error = errno;
    if (error == EEXIST)
      return Status(ErrorCode::kAlreadyExists,
                    "'" + path.string() +
                        "' already exists; it is left as it is (choose a "
                        "path where nothing is)");
    return Status(error == ENOSPC   ? ErrorCode::kNoSpace
                  : error == ENOENT ? ErrorCode::kNotFound
                                    : ErrorCode::kIoError,
                  "cannot create '" + path.string() + "': " + posix::errno_reason(error));
  }
  return OutputFile(std::make_unique<Handle>(fd), path);
}

OutputFile::OutputFile(std::unique_ptr<Handle> handle, std::filesystem::path path)
    : handle_(std::move(handle)), path_(std::move(path)) {}
OutputFile::OutputFile(OutputFile&& other) noexcept = default;
OutputFile& OutputFile::operator=(OutputFile&& other) noexcept = default;
OutputFile::~OutputFile() = default;

Status OutputFile::write(std::span<const std::byte> data) {
  if (!handle_ || handle_->fd.get() < 0)
    return io_error("'" + path_.string() + "' is closed");
  return write_all(handle_->fd.get(),
                   std::string_view(reinterpret_cast<const char*>(data.data()), data.size()),
                   path_.string());
}

Status OutputFile::finish() {
  FF_TRY(finish_file());
  return sync_directory(path_.parent_path());
}

Status OutputFile::finish_file() {
  if (!handle_ || handle_->fd.get() < 0)
    return io_error("'" + path_.string() + "' is closed");
  int fd = handle_->fd.release();
  int rc = ::fsync(fd);
  int error = errno;
  int closed = ::close(fd);
  if (rc != 0)
    return io_error("cannot fsync '" + path_.string() + "': " + posix::errno_reason(error));
  if (closed != 0)
    return io_error("cannot close '" + path_.string() + "': " + posix::errno_reason(errno));
  return Status();
}

Status replace_file(const std::filesystem::path& path, std::string_view content) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  posix::UniqueFd fd(posix::open_retrying(
      temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (fd.get() < 0) {
    int error = errno;
    return Status(space_or_io(error),
                  "cannot create '" + temp.string() + "': " + posix::errno_reason(error));
  }
  Status status = write_all(fd.get(), content, temp.string());
  if (status.ok() && ::fsync(fd.get()) != 0) {
    int error = errno;
    status = Status(space_or_io(error),
                    "cannot fsync '" + temp.string() + "': " + posix::errno_reason(error));
  }
  ::close(fd.release());
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(temp.c_str());
    return io_error("cannot rename '" + temp.string() + "' to '" + path.string() +
                    "': " + posix::errno_reason(error));
  }
  return sync_directory(path.parent_path());
}

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return not_found("cannot open '" + path.string() + "': " + posix::errno_reason(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad())
    return io_error("cannot read '" + path.string() + "'");
  return buffer.str();
}

}  // namespace freezeframe

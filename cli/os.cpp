#include "os.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

namespace freezeframe::cli {
namespace {

std::string os_error(int error) {
  return std::strerror(error);
}

Status write_all(int fd, std::string_view content, const std::string& path) {
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return Status(errno == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIoError,
                    "cannot write '" + path + "': " + os_error(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return Status();
}

}  // namespace

Status sync_directory(const std::filesystem::path& given) {
  std::filesystem::path dir = given.empty() ? std::filesystem::path(".") : given;
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return io_error("cannot open directory '" + dir.string() + "': " + os_error(errno));
  int rc = ::fsync(fd);
  int error = errno;
  ::close(fd);
  if (rc != 0)
    return io_error("cannot fsync directory '" + dir.string() + "': " + os_error(error));
  return Status();
}

Result<OutputFile> OutputFile::create(const std::filesystem::path& path, bool exclusive) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL | O_NOFOLLOW : O_TRUNC);
  int fd = ::open(path.c_str(), flags, 0644);
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
                  "cannot create '" + path.string() + "': " + os_error(error));
  }
  return OutputFile(fd, path);
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

OutputFile& OutputFile::operator=(OutputFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

OutputFile::~OutputFile() {
  if (fd_ >= 0)
    ::close(fd_);
}

Status OutputFile::write(std::span<const std::byte> data) {
  if (fd_ < 0)
    return io_error("'" + path_.string() + "' is closed");
  return write_all(fd_, std::string_view(reinterpret_cast<const char*>(data.data()), data.size()),
                   path_.string());
}

Status OutputFile::finish() {
  if (fd_ < 0)
    return io_error("'" + path_.string() + "' is closed");
  int rc = ::fsync(fd_);
  int error = errno;
  int closed = ::close(std::exchange(fd_, -1));
  if (rc != 0)
    return io_error("cannot fsync '" + path_.string() + "': " + os_error(error));
  if (closed != 0)
    return io_error("cannot close '" + path_.string() + "': " + os_error(errno));
  return sync_directory(path_.parent_path());
}

Status replace_file(const std::filesystem::path& path, std::string_view content) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return io_error("cannot create '" + temp.string() + "': " + os_error(errno));
  Status status = write_all(fd, content, temp.string());
  if (status.ok() && ::fsync(fd) != 0)
    status = io_error("cannot fsync '" + temp.string() + "': " + os_error(errno));
  ::close(fd);
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(temp.c_str());
    return io_error("cannot rename '" + temp.string() + "' to '" + path.string() +
                    "': " + os_error(error));
  }
  return sync_directory(path.parent_path());
}

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return not_found("cannot open '" + path.string() + "': " + os_error(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad())
    return io_error("cannot read '" + path.string() + "'");
  return buffer.str();
}

bool stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}
bool stdin_is_terminal() {
  return ::isatty(STDIN_FILENO) == 1;
}

Result<int> run_shell_command(const std::string& command) {
  int status = std::system(command.c_str());  // NOLINT(cert-env33-c): exec is the point
  if (status == -1)
    return io_error("cannot run '" + command + "': " + os_error(errno));
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 1;
}

void set_environment(const std::string& name, const std::string& value) {
  ::setenv(name.c_str(), value.c_str(), 1);
}

}  // namespace freezeframe::cli

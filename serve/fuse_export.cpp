// The FUSE file system of the serve daemon (fuse_export.h), on libfuse3's high-level API.
#define FUSE_USE_VERSION 312
#include "fuse_export.h"

#include <fcntl.h>
#include <fuse.h>
#include <linux/falloc.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>

namespace freezeframe::serve {

struct FuseExport::Impl {
  Daemon& daemon;
  std::filesystem::path mountpoint;
  std::string only;  // the one export shown at the mount point itself; empty: a directory
  struct fuse* fuse = nullptr;
  bool mounted = false;
  std::atomic<bool> running{false};
  std::atomic<bool> stop_requested{false};
  pthread_t loop_thread{};
  std::timespec started{};

  Impl(Daemon& d, std::filesystem::path m) : daemon(d), mountpoint(std::move(m)) {}
};

namespace {

// run()'s thread is woken from the loop's wait by this signal; its handler does nothing.
constexpr int kWakeSignal = SIGUSR1;
constexpr int kWakeAttemptsMax = 1000;
// st_blksize: the providers' chunk, the unit in which I/O costs least.
constexpr blksize_t kBlockBytes = blksize_t{64} * 1024;

extern "C" void wake_handler(int) {}

FuseExport::Impl& impl() {
  return *static_cast<FuseExport::Impl*>(fuse_get_context()->private_data);
}

int errno_of(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk:
      return 0;
    case ErrorCode::kNotFound:
      return ENOENT;
    case ErrorCode::kReadOnly:
      return EROFS;
    case ErrorCode::kInvalidArgument:
      return EINVAL;
    case ErrorCode::kNoSpace:
      return ENOSPC;
    case ErrorCode::kBusy:
      return EBUSY;
    default:
      return EIO;
  }
}

// "/NAME" -> "NAME"; empty for the root directory. A single-file mount: its export at the root.
std::string export_of(const char* path) {
  const FuseExport::Impl& self = impl();
  if (!self.only.empty())
    return std::strcmp(path, "/") == 0 ? self.only : std::string();
  return path[0] == '/' ? std::string(path + 1) : std::string(path);
}

void* op_init(struct fuse_conn_info* /*connection*/, struct fuse_config* config) {
  config->direct_io = 1;
  config->kernel_cache = 0;
  config->use_ino = 0;
  // Snapshots come and go with commands: names are looked up afresh.
  config->entry_timeout = 0;
  config->negative_timeout = 0;
  config->attr_timeout = 1;
  return fuse_get_context()->private_data;
}

int op_getattr(const char* path, struct stat* st, struct fuse_file_info* /*file*/) {
  std::memset(st, 0, sizeof(*st));
  FuseExport::Impl& self = impl();
  st->st_uid = ::getuid();
  st->st_gid = ::getgid();
  st->st_atim = st->st_mtim = st->st_ctim = self.started;
  std::string name = export_of(path);
  if (name.empty()) {
    if (!self.only.empty())
      return -ENOENT;
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return 0;
  }
  auto info = self.daemon.export_info(name);
  if (!info.ok())
    return -ENOENT;
  st->st_mode = S_IFREG | (info->read_only ? 0444 : 0644);
  st->st_nlink = 1;
  st->st_size = static_cast<off_t>(info->size_bytes);
  st->st_blksize = kBlockBytes;
  st->st_blocks = static_cast<blkcnt_t>((info->size_bytes + 511) / 512);
  return 0;
}

int op_readdir(const char* path, void* buffer, fuse_fill_dir_t fill, off_t /*offset*/,
               struct fuse_file_info* /*file*/, enum fuse_readdir_flags /*flags*/) {
  if (!export_of(path).empty() || !impl().only.empty())
    return -ENOTDIR;
  fill(buffer, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  fill(buffer, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  for (const ExportInfo& info : impl().daemon.exports())
    if (fill(buffer, info.name.c_str(), nullptr, 0, static_cast<fuse_fill_dir_flags>(0)) != 0)
      break;
  return 0;
}

int op_open(const char* path, struct fuse_file_info* file) {
  auto info = impl().daemon.export_info(export_of(path));
  if (!info.ok())
    return -ENOENT;
  if (info->read_only && (file->flags & O_ACCMODE) != O_RDONLY)
    return -EROFS;
  file->direct_io = 1;
  file->keep_cache = 0;
  file->nonseekable = 0;
  return 0;
}

int op_read(const char* path, char* buffer, size_t size, off_t offset,
            struct fuse_file_info* /*file*/) {
  FuseExport::Impl& self = impl();
  std::string name = export_of(path);
  auto info = self.daemon.export_info(name);
  if (!info.ok())
    return -ENOENT;
  auto start = static_cast<std::uint64_t>(offset);
  if (offset < 0)
    return -EINVAL;
  if (start >= info->size_bytes)
    return 0;
  std::size_t length =
      static_cast<std::size_t>(std::min<std::uint64_t>(size, info->size_bytes - start));
  Status status = self.daemon.read(name, start, std::as_writable_bytes(std::span(buffer, length)));
  return status.ok() ? static_cast<int>(length) : -errno_of(status);
}

int op_write(const char* path, const char* buffer, size_t size, off_t offset,
             struct fuse_file_info* /*file*/) {
  FuseExport::Impl& self = impl();
  std::string name = export_of(path);
  auto info = self.daemon.export_info(name);
  if (!info.ok())
    return -ENOENT;
  if (info->read_only)
    return -EROFS;
  if (offset < 0)
    return -EINVAL;
  auto start = static_cast<std::uint64_t>(offset);
  if (start > info->size_bytes || size > info->size_bytes - start)
    return -ENOSPC;
  Status status = self.daemon.write(name, start, std::as_bytes(std::span(buffer, size)));
  return status.ok() ? static_cast<int>(size) : -errno_of(status);
}

int op_flush(const char* path, struct fuse_file_info* file) {
  if ((file->flags & O_ACCMODE) == O_RDONLY)
    return 0;
  return -errno_of(impl().daemon.flush(export_of(path)));
}

int op_fsync(const char* path, int /*data_only*/, struct fuse_file_info* /*file*/) {
  return -errno_of(impl().daemon.flush(export_of(path)));
}

int op_fallocate(const char* path, int mode, off_t offset, off_t length,
                 struct fuse_file_info* /*file*/) {
  if (offset < 0 || length <= 0)
    return -EINVAL;
  FuseExport::Impl& self = impl();
  std::string name = export_of(path);
  auto info = self.daemon.export_info(name);
  if (!info.ok())
    return -ENOENT;
  if (info->read_only)
    return -EROFS;
  auto start = static_cast<std::uint64_t>(offset);
  auto bytes = static_cast<std::uint64_t>(length);
  if (mode & FALLOC_FL_PUNCH_HOLE) {
    if (!(mode & FALLOC_FL_KEEP_SIZE))
      return -EINVAL;
    // Past the end there is nothing to punch.
    if (start >= info->size_bytes)
      return 0;
    bytes = std::min(bytes, info->size_bytes - start);
    return -errno_of(self.daemon.trim(name, start, bytes));
  }
  if (mode & FALLOC_FL_ZERO_RANGE) {
    if (start > info->size_bytes || bytes > info->size_bytes - start)
      return -ENOSPC;
    return -errno_of(self.daemon.zero(name, start, bytes));
  }
  if ((mode & ~FALLOC_FL_KEEP_SIZE) != 0)
    return -EOPNOTSUPP;
  // Plain allocation: the volume is already whole; growing it is not possible.
  if (start > info->size_bytes || bytes > info->size_bytes - start)
    return (mode & FALLOC_FL_KEEP_SIZE) ? 0 : -ENOSPC;
  return 0;
}

int op_truncate(const char* path, off_t size, struct fuse_file_info* /*file*/) {
  auto info = impl().daemon.export_info(export_of(path));
  if (!info.ok())
    return -ENOENT;
  if (info->read_only)
    return -EROFS;
  return size >= 0 && static_cast<std::uint64_t>(size) == info->size_bytes ? 0 : -EPERM;
}

struct fuse_operations make_operations() {
  struct fuse_operations ops {};
  ops.init = op_init;
  ops.getattr = op_getattr;
  ops.readdir = op_readdir;
  ops.open = op_open;
  ops.read = op_read;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.fsync = op_fsync;
  ops.fallocate = op_fallocate;
  ops.truncate = op_truncate;
  return ops;
}

}  // namespace

FuseExport::FuseExport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<FuseExport>> FuseExport::mount(Daemon& daemon,
                                                      const std::filesystem::path& mountpoint,
                                                      const std::string& only) {
  std::error_code error;
  if (only.empty() && !std::filesystem::is_directory(mountpoint, error))
    return invalid_argument("--fuse '" + mountpoint.string() + "' is not a directory");
  if (!only.empty() && !std::filesystem::is_regular_file(mountpoint, error))
    return invalid_argument("'" + mountpoint.string() + "' is not a regular file to mount on");
  auto self = std::make_unique<Impl>(daemon, std::filesystem::absolute(mountpoint));
  self->only = only;
  std::timespec_get(&self->started, TIME_UTC);
  // Default permissions: the kernel checks the modes above (snapshots read-only for all).
  const char* argv[] = {
      "freezeframe-serve",   "-o",   "default_permissions,fsname=freezeframe", "-o",
      "subtype=freezeframe", nullptr};
  struct fuse_args args = FUSE_ARGS_INIT(5, const_cast<char**>(argv));
  struct fuse_operations ops = make_operations();
  self->fuse = fuse_new(&args, &ops, sizeof(ops), self.get());
  if (self->fuse == nullptr)
    return io_error("cannot set up the FUSE file system (fuse_new failed; is /dev/fuse there?)");
  if (fuse_mount(self->fuse, self->mountpoint.c_str()) != 0) {
    fuse_destroy(self->fuse);
    self->fuse = nullptr;
    return io_error("cannot mount the FUSE file system on '" + self->mountpoint.string() +
                    "' (see the message above; /dev/fuse and permission to mount are needed)");
  }
  self->mounted = true;
  return std::unique_ptr<FuseExport>(new FuseExport(std::move(self)));
}

FuseExport::~FuseExport() {
  if (impl_->fuse == nullptr)
    return;
  if (impl_->mounted)
    fuse_unmount(impl_->fuse);
  fuse_destroy(impl_->fuse);
}

void FuseExport::run() {
  impl_->loop_thread = pthread_self();
  struct sigaction action {};
  action.sa_handler = wake_handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: the loop's wait returns EINTR
  sigaction(kWakeSignal, &action, nullptr);
  sigset_t wake;
  sigemptyset(&wake);
  sigaddset(&wake, kWakeSignal);
  pthread_sigmask(SIG_UNBLOCK, &wake, nullptr);
  impl_->running = true;
  if (!impl_->stop_requested) {
    struct fuse_loop_config* config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(config, 16);
    fuse_loop_cfg_set_idle_threads(config, 4);
    fuse_loop_mt(impl_->fuse, config);
    fuse_loop_cfg_destroy(config);
  }
  impl_->running = false;
}

void FuseExport::unmount() {
  if (!impl_->mounted)
    return;
  impl_->mounted = false;
  fuse_exit(impl_->fuse);
  fuse_unmount(impl_->fuse);
}

void FuseExport::stop() {
  impl_->stop_requested = true;
  fuse_exit(impl_->fuse);
  // The signal can land just before the loop starts waiting: repeat it, a bounded number of
  // times, until the loop has returned.
  for (int attempt = 0; attempt < kWakeAttemptsMax && impl_->running; ++attempt) {
    pthread_kill(impl_->loop_thread, kWakeSignal);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace freezeframe::serve

// FileVolume on POSIX systems (Linux first): positioned I/O on a file descriptor.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <new>
#include <optional>
#include <system_error>

#include "freezeframe/file_volume.h"
#include "posix_io.h"

#if defined(__linux__)
#include <linux/fs.h>  // BLKGETSIZE64, BLKSSZGET, BLKPBSZGET, BLKIOOPT
#include <sys/xattr.h>
#endif

namespace freezeframe {

struct FileVolume::Handle {
  explicit Handle(int descriptor) : owned(descriptor), fd(descriptor) {}

  posix::UniqueFd owned;
  const int fd;
  // Set once the file system has refused to punch holes, so later discards write zeros
  // without asking again.
  std::atomic<bool> punch_hole_unsupported{false};
};

namespace {

constexpr char kUuidAttribute[] = "user.freezeframe.uuid";
// Memory alignment for direct I/O buffers: enough for every logical block size we accept.
constexpr std::size_t kDirectAlignment = 4096;
// Bounce and zero buffers are at most this large; longer requests go in pieces.
constexpr std::size_t kBufferBytesMax = 1 << 20;
// A signal storm must not keep a transfer spinning forever.

using posix::errno_reason;
using posix::kInterruptedRetriesMax;
using posix::open_retrying;

// Disk full is the one device condition a caller reacts to differently (free space, or give
// up on the snapshot set); everything else is an I/O error.
Status errno_status(int error, std::string message) {
  if (error == ENOSPC || error == EDQUOT)
    return Status(ErrorCode::kNoSpace, std::move(message));
  return Status(ErrorCode::kIoError, std::move(message));
}

std::string prefix(const std::string& path) {
  return "file volume '" + path + "'";
}

struct AlignedDelete {
  void operator()(std::byte* p) const {
    ::operator delete[](p, std::align_val_t{kDirectAlignment});
  }
};
using AlignedBuffer = std::unique_ptr<std::byte[], AlignedDelete>;

AlignedBuffer make_aligned(std::size_t bytes) {
  auto* p = static_cast<std::byte*>(::operator new[](bytes, std::align_val_t{kDirectAlignment}));
  std::memset(p, 0, bytes);
  return AlignedBuffer(p);
}

bool is_aligned(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % kDirectAlignment == 0;
}

std::string canonical_path(const std::string& path) {
  std::error_code error;
  auto canonical = std::filesystem::canonical(path, error);
  return error ? path : canonical.string();
}

// Switches `fd` to direct I/O and proves with one read that the file system accepts
// `sector_bytes`-aligned direct transfers.
Status enable_direct_io(int fd, const std::string& path, std::uint32_t sector_bytes) {
#if defined(O_DIRECT)
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_DIRECT) != 0) {
    int error = errno;
    if (error == EINVAL) {
      return Status(ErrorCode::kUnsupported,
                    prefix(path) + ": the file system does not support direct I/O (O_DIRECT)");
    }
    return errno_status(error, prefix(path) + ": cannot enable direct I/O: " + errno_reason(error));
  }
  AlignedBuffer probe = make_aligned(sector_bytes);
  ssize_t n = -1;
  for (int attempt = 0; attempt <= kInterruptedRetriesMax; ++attempt) {
    n = ::pread(fd, probe.get(), sector_bytes, 0);
    if (n >= 0 || errno != EINTR)
      break;
  }
  if (n < 0) {
    int error = errno;
    if (error == EINVAL) {
      return Status(ErrorCode::kUnsupported,
                    prefix(path) + ": direct I/O refused for " + std::to_string(sector_bytes) +
                        "-byte sectors (the file system or device needs a larger alignment)");
    }
    return errno_status(error,
                        prefix(path) + ": direct I/O probe read failed: " + errno_reason(error));
  }
  return Status();
#else
  (void)fd;
  (void)sector_bytes;
  return Status(ErrorCode::kUnsupported,
                prefix(path) + ": direct I/O is not supported on this platform");
#endif
}

// Stores `uuid` in the file's extended attribute. False if the file system cannot.
bool store_uuid(int fd, const Uuid& uuid) {
#if defined(__linux__)
  std::string text = uuid.to_string();
  return ::fsetxattr(fd, kUuidAttribute, text.data(), text.size(), 0) == 0;
#else
  (void)fd;
  (void)uuid;
  return false;
#endif
}

void remove_stored_uuid(int fd) {
#if defined(__linux__)
  ::fremovexattr(fd, kUuidAttribute);  // best effort: nothing useful to do on failure
#else
  (void)fd;
#endif
}

// The UUID stored in the file's extended attribute; nullopt when it has none (or the file
// system keeps no attributes).
Result<std::optional<Uuid>> stored_uuid(int fd, const std::string& path) {
#if defined(__linux__)
  char text[128];
  ssize_t n = ::fgetxattr(fd, kUuidAttribute, text, sizeof(text));
  if (n >= 0) {
    auto parsed = Uuid::parse(std::string_view(text, static_cast<std::size_t>(n)));
    if (!parsed.ok() || parsed->is_nil()) {
      return corrupt(prefix(path) + ": extended attribute " + kUuidAttribute +
                     " does not hold a valid UUID");
    }
    return std::optional<Uuid>(*parsed);
  }
  int error = errno;
  if (error == ERANGE) {
    return corrupt(prefix(path) + ": extended attribute " + kUuidAttribute +
                   " is too long to be a UUID");
  }
  if (error != ENODATA && error != ENOTSUP && error != EOPNOTSUPP && error != EPERM &&
      error != EACCES) {
    return errno_status(error, prefix(path) + ": cannot read extended attribute " + kUuidAttribute +
                                   ": " + errno_reason(error));
  }
#else
  (void)fd;
  (void)path;
#endif
  return std::optional<Uuid>();
}

// The file's identity: its stored UUID, else the one the caller recorded, else the UUID
// derived from its canonical path. A stored UUID that differs from the recorded one means the
// path now names another image.
Result<Uuid> load_uuid(int fd, const std::string& path, const Uuid& expected) {
  FF_ASSIGN_OR_RETURN(std::optional<Uuid> stored, stored_uuid(fd, path));
  if (stored) {
    if (!expected.is_nil() && *stored != expected) {
      return invalid_argument(prefix(path) + ": holds the image with UUID " + stored->to_string() +
                              ", not the expected " + expected.to_string() +
                              " (the file was replaced by another image)");
    }
    return *stored;
  }
  if (!expected.is_nil())
    return expected;
  return Uuid::from_name(canonical_path(path));
}

Status check_size(const std::string& path, std::uint64_t size_bytes, std::uint32_t sector_bytes) {
  if (size_bytes == 0 || size_bytes % sector_bytes != 0) {
    return invalid_argument(prefix(path) + ": size " + std::to_string(size_bytes) +
                            " bytes is not a non-zero multiple of the sector size " +
                            std::to_string(sector_bytes));
  }
  if (size_bytes > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max())) {
    return invalid_argument(prefix(path) + ": size " + std::to_string(size_bytes) +
                            " bytes is larger than the platform's file offsets allow");
  }
  return Status();
}

Status check_sector_size(const std::string& path, std::uint32_t sector_bytes) {
  if (!is_supported_sector_size(sector_bytes)) {
    return invalid_argument(prefix(path) + ": sector size " + std::to_string(sector_bytes) +
                            " is not supported (512 or 4096)");
  }
  return Status();
}

bool is_power_of_two_within(std::uint64_t value, std::uint64_t low, std::uint64_t high) {
  return value != 0 && (value & (value - 1)) == 0 && value >= low && value <= high;
}

// The properties the caller asked for (non-zero `requested` fields), else what the operating
// system reports for the open file or device where that satisfies volume.h's invariants, else
// volume.h's defaults.
Result<DeviceProperties> resolve_properties(int fd, const std::string& path,
                                            const struct stat& info, bool block_device,
                                            std::uint32_t sector_bytes,
                                            const DeviceProperties& requested) {
  std::uint64_t system_physical = 0;
  std::uint64_t system_optimal = 0;
  if (block_device) {
#if defined(__linux__)
    unsigned int value = 0;
    if (::ioctl(fd, BLKPBSZGET, &value) == 0)
      system_physical = value;
    value = 0;
    if (::ioctl(fd, BLKIOOPT, &value) == 0)
      system_optimal = value;
#endif
  } else if (info.st_blksize > 0) {
    system_physical = static_cast<std::uint64_t>(info.st_blksize);
  }
  (void)fd;
  DeviceProperties properties;
  properties.logical_sector_bytes = sector_bytes;
  properties.physical_sector_bytes =
      requested.physical_sector_bytes != 0 ? requested.physical_sector_bytes
      : is_power_of_two_within(system_physical, sector_bytes, kPhysicalSectorBytesMax)
          ? static_cast<std::uint32_t>(system_physical)
          : sector_bytes;
  properties.atomic_write_bytes =
      requested.atomic_write_bytes != 0 ? requested.atomic_write_bytes : sector_bytes;
  properties.optimal_io_bytes =
      requested.optimal_io_bytes != 0 ? requested.optimal_io_bytes
      : is_power_of_two_within(system_optimal, properties.physical_sector_bytes, kOptimalIoBytesMax)
          ? static_cast<std::uint32_t>(system_optimal)
          : std::max(kOptimalIoBytesDefault, properties.physical_sector_bytes);
  if (Status valid = validate_device_properties(properties); !valid.ok())
    return invalid_argument(prefix(path) + ": " + valid.message());
  return properties;
}

}  // namespace

FileVolume::FileVolume(std::unique_ptr<Handle> handle, std::string path, VolumeIdentity identity,
                       std::uint64_t size_bytes, const DeviceProperties& properties, bool read_only,
                       bool direct_io, bool block_device)
    : handle_(std::move(handle)),
      path_(std::move(path)),
      identity_(std::move(identity)),
      size_bytes_(size_bytes),
      sector_bytes_(properties.logical_sector_bytes),
      properties_(properties),
      read_only_(read_only),
      direct_io_(direct_io),
      block_device_(block_device) {}

FileVolume::~FileVolume() = default;

Result<std::unique_ptr<FileVolume>> FileVolume::create(const std::string& path,
                                                       const FileVolumeCreateOptions& options) {
  if (path.empty())
    return invalid_argument("file volume: the path is empty");
  FF_TRY(check_sector_size(path, options.sector_bytes));
  FF_TRY(check_size(path, options.size_bytes, options.sector_bytes));

  if (options.overwrite) {
    struct stat existing {};
    if (::stat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode)) {
      return invalid_argument(prefix(path) +
                              ": exists and is not a regular file; overwrite replaces only "
                              "image files");
    }
  }
  int flags = O_RDWR | O_CREAT | O_CLOEXEC | (options.overwrite ? 0 : O_EXCL);
  int fd = open_retrying(path.c_str(), flags, 0644);
  if (fd < 0) {
    int error = errno;
    if (error == EEXIST) {
      return Status(ErrorCode::kAlreadyExists,
                    prefix(path) + ": the file exists already (set overwrite to replace it)");
    }
    if (error == ENOENT)
      return not_found(prefix(path) + ": the directory does not exist");
    return errno_status(error, prefix(path) + ": cannot create: " + errno_reason(error));
  }
  auto handle = std::make_unique<Handle>(fd);
  // From here on, a failure removes the file again: a half-made image must not be mistaken
  // for a volume later.
  auto fail = [&](Status status) -> Result<std::unique_ptr<FileVolume>> {
    handle.reset();
    ::unlink(path.c_str());
    return status;
  };

  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    int error = errno;
    return fail(errno_status(error, prefix(path) + ": cannot stat: " + errno_reason(error)));
  }
  if (!S_ISREG(info.st_mode))
    return fail(invalid_argument(prefix(path) + ": is not a regular file"));
  auto properties = resolve_properties(fd, path, info, /*block_device=*/false, options.sector_bytes,
                                       {.physical_sector_bytes = options.physical_sector_bytes,
                                        .atomic_write_bytes = options.atomic_write_bytes,
                                        .optimal_io_bytes = options.optimal_io_bytes});
  if (!properties.ok())
    return fail(properties.status());
  // Truncating to zero first drops any old content, so the whole image starts as a hole.
  if (::ftruncate(fd, 0) != 0 || ::ftruncate(fd, static_cast<off_t>(options.size_bytes)) != 0) {
    int error = errno;
    return fail(errno_status(error, prefix(path) + ": cannot set the size to " +
                                        std::to_string(options.size_bytes) +
                                        " bytes: " + errno_reason(error)));
  }

  Uuid uuid = options.uuid.is_nil() ? Uuid::generate() : options.uuid;
  if (!store_uuid(fd, uuid)) {
    if (!options.uuid.is_nil()) {
      return fail(Status(ErrorCode::kUnsupported,
                         prefix(path) + ": cannot store the given UUID " + uuid.to_string() +
                             " (the file system keeps no extended attribute " + kUuidAttribute +
                             "), so it would not survive a reopen"));
    }
    // An overwritten file may still carry the old image's attribute.
    remove_stored_uuid(fd);
    uuid = Uuid::from_name(canonical_path(path));
  }

  if (options.direct_io) {
    if (Status status = enable_direct_io(fd, path, options.sector_bytes); !status.ok())
      return fail(std::move(status));
  }

  VolumeIdentity identity{options.name.empty() ? path : options.name, uuid};
  return std::unique_ptr<FileVolume>(new FileVolume(std::move(handle), path, std::move(identity),
                                                    options.size_bytes, properties.value(),
                                                    /*read_only=*/false, options.direct_io,
                                                    /*block_device=*/false));
}

Result<std::unique_ptr<FileVolume>> FileVolume::open(const std::string& path,
                                                     const FileVolumeOpenOptions& options) {
  if (path.empty())
    return invalid_argument("file volume: the path is empty");
  if (options.sector_bytes != 0)
    FF_TRY(check_sector_size(path, options.sector_bytes));

  int fd = open_retrying(path.c_str(), (options.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0);
  if (fd < 0) {
    int error = errno;
    if (error == ENOENT)
      return not_found(prefix(path) + ": no such file or device");
    if (error == EISDIR)
      return invalid_argument(prefix(path) + ": is a directory, not a file or block device");
    return errno_status(error, prefix(path) + ": cannot open: " + errno_reason(error));
  }
  auto handle = std::make_unique<Handle>(fd);

  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    int error = errno;
    return errno_status(error, prefix(path) + ": cannot stat: " + errno_reason(error));
  }
  std::uint64_t size_bytes = 0;
  std::uint32_t sector_bytes = options.sector_bytes != 0 ? options.sector_bytes : 512;
  bool block_device = false;
  if (S_ISREG(info.st_mode)) {
    size_bytes = static_cast<std::uint64_t>(info.st_size);
  } else if (S_ISBLK(info.st_mode)) {
#if defined(__linux__)
    block_device = true;
    std::uint64_t device_bytes = 0;
    int logical_sector_bytes = 0;
    if (::ioctl(fd, BLKGETSIZE64, &device_bytes) != 0 ||
        ::ioctl(fd, BLKSSZGET, &logical_sector_bytes) != 0) {
      int error = errno;
      return errno_status(
          error, prefix(path) + ": cannot query the block device's size: " + errno_reason(error));
    }
    size_bytes = device_bytes;
    if (options.sector_bytes == 0) {
      sector_bytes = static_cast<std::uint32_t>(logical_sector_bytes);
      if (!is_supported_sector_size(sector_bytes)) {
        return Status(ErrorCode::kUnsupported,
                      prefix(path) + ": the device's logical sector size " +
                          std::to_string(logical_sector_bytes) + " is not supported (512 or 4096)");
      }
    }
#else
    return Status(ErrorCode::kUnsupported,
                  prefix(path) + ": block devices are not supported on this platform");
#endif
  } else {
    return invalid_argument(prefix(path) + ": is neither a regular file nor a block device");
  }
  FF_TRY(check_size(path, size_bytes, sector_bytes));
  FF_ASSIGN_OR_RETURN(DeviceProperties properties,
                      resolve_properties(fd, path, info, block_device, sector_bytes,
                                         {.physical_sector_bytes = options.physical_sector_bytes,
                                          .atomic_write_bytes = options.atomic_write_bytes,
                                          .optimal_io_bytes = options.optimal_io_bytes}));

  Uuid uuid;
  if (block_device) {
    uuid = options.uuid.is_nil() ? Uuid::from_name(canonical_path(path)) : options.uuid;
  } else {
    FF_ASSIGN_OR_RETURN(uuid, load_uuid(fd, path, options.uuid));
  }
  if (options.direct_io)
    FF_TRY(enable_direct_io(fd, path, sector_bytes));

  VolumeIdentity identity{options.name.empty() ? path : options.name, uuid};
  return std::unique_ptr<FileVolume>(new FileVolume(std::move(handle), path, std::move(identity),
                                                    size_bytes, properties, options.read_only,
                                                    options.direct_io, block_device));
}

Result<FileId> FileVolume::file_id(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    int error = errno;
    if (error == ENOENT)
      return not_found(prefix(path) + ": no such file or device");
    return errno_status(error, prefix(path) + ": cannot stat: " + errno_reason(error));
  }
  return FileId{static_cast<std::uint64_t>(info.st_dev), static_cast<std::uint64_t>(info.st_ino)};
}

bool FileVolume::discard_releases_space() const noexcept {
#if defined(__linux__) && defined(FALLOC_FL_PUNCH_HOLE)
  return !block_device_ && !handle_->punch_hole_unsupported.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

Result<std::uint64_t> FileVolume::allocated_bytes() const {
  if (block_device_)
    return size_bytes_;
  struct stat info {};
  if (::fstat(handle_->fd, &info) != 0) {
    int error = errno;
    return errno_status(error, prefix(path_) + ": cannot stat: " + errno_reason(error));
  }
  // st_blocks counts 512-byte units whatever the file system's block size.
  return static_cast<std::uint64_t>(info.st_blocks) * 512;
}

namespace {

// Moves [offset, offset + length) with as many calls of `call` (pread or pwrite: bytes done,
// 0, or -1 with errno) as it takes, retrying EINTR a bounded number of times. `describe`
// turns a detail into the error message; `at_zero` says why a call that moved nothing stops.
template <typename Call, typename Describe, typename AtZero>
Status transfer(std::uint64_t offset, std::size_t length, const char* call_name, Call&& call,
                Describe&& describe, AtZero&& at_zero) {
  std::size_t done = 0;
  int interrupted = 0;
  while (done < length) {
    const std::uint64_t position = offset + done;
    const ssize_t n = call(done, length - done, static_cast<off_t>(position));
    if (n < 0) {
      const int error = errno;
      if (error == EINTR && ++interrupted <= kInterruptedRetriesMax)
        continue;
      return errno_status(error, describe(std::string(call_name) + " at byte " +
                                          std::to_string(position) + ": " + errno_reason(error)));
    }
    if (n == 0)
      return io_error(describe(at_zero(position)));
    done += static_cast<std::size_t>(n);
  }
  return Status();
}

}  // namespace

Status FileVolume::read_at(std::uint64_t offset, std::byte* data, std::size_t length) {
  return transfer(
      offset, length, "pread",
      [&](std::size_t done, std::size_t left, off_t at) {
        return ::pread(handle_->fd, data + done, left, at);
      },
      [&](const std::string& detail) {
        return describe("read", offset, length, "'" + path_ + "': " + detail);
      },
      [&](std::uint64_t position) {
        return "it ends at byte " + std::to_string(position) + ", before the volume's end at " +
               std::to_string(size_bytes_) + " (was the file truncated?)";
      });
}

Status FileVolume::write_at(std::uint64_t offset, const std::byte* data, std::size_t length) {
  return transfer(
      offset, length, "pwrite",
      [&](std::size_t done, std::size_t left, off_t at) {
        return ::pwrite(handle_->fd, data + done, left, at);
      },
      [&](const std::string& detail) {
        return describe("write", offset, length, "'" + path_ + "': " + detail);
      },
      [&](std::uint64_t position) {
        return "pwrite at byte " + std::to_string(position) + " wrote nothing";
      });
}

Status FileVolume::do_read(std::uint64_t offset, std::span<std::byte> out) {
  if (!direct_io_ || is_aligned(out.data()))
    return read_at(offset, out.data(), out.size());
  // Direct I/O needs an aligned buffer; the request itself is sector-aligned already.
  AlignedBuffer bounce = make_aligned(std::min(out.size(), kBufferBytesMax));
  for (std::size_t done = 0; done < out.size();) {
    std::size_t n = std::min(out.size() - done, kBufferBytesMax);
    FF_TRY(read_at(offset + done, bounce.get(), n));
    std::memcpy(out.data() + done, bounce.get(), n);
    done += n;
  }
  return Status();
}

Status FileVolume::do_write(std::uint64_t offset, std::span<const std::byte> data) {
  if (!direct_io_ || is_aligned(data.data()))
    return write_at(offset, data.data(), data.size());
  AlignedBuffer bounce = make_aligned(std::min(data.size(), kBufferBytesMax));
  for (std::size_t done = 0; done < data.size();) {
    std::size_t n = std::min(data.size() - done, kBufferBytesMax);
    std::memcpy(bounce.get(), data.data() + done, n);
    FF_TRY(write_at(offset + done, bounce.get(), n));
    done += n;
  }
  return Status();
}

Status FileVolume::do_flush() {
  // A read-only volume has nothing to make durable.
  if (read_only_)
    return Status();
  for (int interrupted = 0;; ++interrupted) {
    if (::fdatasync(handle_->fd) == 0)
      return Status();
    int error = errno;
    if (error == EINTR && interrupted < kInterruptedRetriesMax)
      continue;
    return errno_status(error, describe("flush", 0, size_bytes_,
                                        "fdatasync of '" + path_ + "': " + errno_reason(error)));
  }
}

Status FileVolume::do_discard(std::uint64_t offset, std::uint64_t length) {
#if defined(__linux__) && defined(FALLOC_FL_PUNCH_HOLE)
  // Devices get zeros written: a device discard may or may not zero, and we promise zeros.
  if (!block_device_ && !handle_->punch_hole_unsupported.load(std::memory_order_relaxed)) {
    for (int interrupted = 0;; ++interrupted) {
      if (::fallocate(handle_->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      static_cast<off_t>(offset), static_cast<off_t>(length)) == 0) {
        return Status();
      }
      int error = errno;
      if (error == EINTR && interrupted < kInterruptedRetriesMax)
        continue;
      if (error == EOPNOTSUPP || error == ENOSYS) {
        handle_->punch_hole_unsupported.store(true, std::memory_order_relaxed);
        break;
      }
      return errno_status(error,
                          describe("discard", offset, length,
                                   "punching a hole in '" + path_ + "': " + errno_reason(error)));
    }
  }
#endif
  return write_zeros(offset, length);
}

Status FileVolume::do_allocate(std::uint64_t offset, std::uint64_t length) {
  if (block_device_)
    return Status();  // a device's blocks are all there
  for (int interrupted = 0;; ++interrupted) {
#if defined(__linux__)
    const int error =
        ::fallocate(handle_->fd, 0, static_cast<off_t>(offset), static_cast<off_t>(length)) == 0
            ? 0
            : errno;
#else
    const int error =
        ::posix_fallocate(handle_->fd, static_cast<off_t>(offset), static_cast<off_t>(length));
#endif
    if (error == 0)
      return Status();
    if (error == EINTR && interrupted < kInterruptedRetriesMax)
      continue;
    // Nothing to reserve where the file system cannot preallocate (see the header).
    if (error == EOPNOTSUPP || error == ENOSYS)
      return Status();
    return errno_status(error,
                        describe("allocate", offset, length,
                                 "reserving space in '" + path_ + "': " +
                                     (error == ENOSPC || error == EDQUOT
                                          ? "the file system is full (" + errno_reason(error) + ")"
                                          : errno_reason(error))));
  }
}

Status FileVolume::write_zeros(std::uint64_t offset, std::uint64_t length) {
  const std::size_t buffer_bytes =
      static_cast<std::size_t>(std::min<std::uint64_t>(length, kBufferBytesMax));
  AlignedBuffer zeros = make_aligned(buffer_bytes);
  for (std::uint64_t done = 0; done < length;) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(length - done, buffer_bytes));
    FF_TRY(write_at(offset + done, zeros.get(), n));
    done += n;
  }
  return Status();
}

}  // namespace freezeframe

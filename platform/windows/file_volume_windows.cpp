// FileVolume on Windows: positioned I/O on a file handle opened with CreateFileW.
//
// Image files are created sparse (FSCTL_SET_SPARSE) and discarded with FSCTL_SET_ZERO_DATA.
// Where the file system (or Wine) supports neither, the image is a plain file and a discard
// writes zeros: the same bytes, without the space saving. Volumes (\\.\C:) and disks
// (\\.\PhysicalDriveN) are sized with IOCTL_DISK_GET_LENGTH_INFO, with their logical and
// physical sector sizes from IOCTL_STORAGE_QUERY_PROPERTY. Direct I/O is
// FILE_FLAG_NO_BUFFERING; flush() is FlushFileBuffers. The identity of an image file is kept
// in its alternate data stream `freezeframe.uuid` where the file system has streams (NTFS),
// else it comes from the caller or the path, as file_volume.h says.
// windows.h (through windows_io.h) first: winioctl.h uses its types.
// clang-format off
#include "windows_io.h"
#include <winioctl.h>
// clang-format on

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <new>
#include <optional>
#include <vector>

#include "freezeframe/file_volume.h"

namespace freezeframe {

struct FileVolume::Handle {
  explicit Handle(windows::UniqueHandle h) : owned(std::move(h)), handle(owned.get()) {}

  windows::UniqueHandle owned;
  const HANDLE handle;
  // Set once the file system has refused FSCTL_SET_ZERO_DATA, so later discards write zeros
  // without asking again.
  std::atomic<bool> zero_data_unsupported{false};
};

namespace {

using windows::error_reason;
using windows::error_status;
using windows::UniqueHandle;
using windows::widen;

constexpr wchar_t kUuidStream[] = L":freezeframe.uuid";
constexpr std::size_t kDirectAlignment = 4096;
constexpr std::size_t kBufferBytesMax = 1 << 20;

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

// \\.\X: and \\.\PhysicalDriveN (and any other \\.\ device name).
bool is_device_path(const std::string& path) {
  return path.size() > 4 && (path.rfind("\\\\.\\", 0) == 0 || path.rfind("//./", 0) == 0);
}

std::string canonical_path(const std::string& path) {
  std::error_code error;
  auto canonical = std::filesystem::weakly_canonical(std::filesystem::path(widen(path)), error);
  return error ? path : windows::utf8_path(canonical);
}

Status check_sector_size(const std::string& path, std::uint32_t sector_bytes) {
  if (!is_supported_sector_size(sector_bytes)) {
    return invalid_argument(prefix(path) + ": sector size " + std::to_string(sector_bytes) +
                            " is not supported (512 or 4096)");
  }
  return Status();
}

Status check_size(const std::string& path, std::uint64_t size_bytes, std::uint32_t sector_bytes) {
  if (size_bytes == 0 || size_bytes % sector_bytes != 0 ||
      size_bytes > static_cast<std::uint64_t>(std::numeric_limits<LONGLONG>::max())) {
    return invalid_argument(prefix(path) + ": size " + std::to_string(size_bytes) +
                            " bytes is not a non-zero multiple of the sector size " +
                            std::to_string(sector_bytes));
  }
  return Status();
}

bool is_power_of_two_within(std::uint64_t value, std::uint64_t low, std::uint64_t high) {
  return value != 0 && (value & (value - 1)) == 0 && value >= low && value <= high;
}

// The logical and physical sector sizes a device reports (IOCTL_STORAGE_QUERY_PROPERTY with
// StorageAccessAlignmentProperty); zeros where it reports none.
void device_sectors(HANDLE handle, std::uint32_t& logical, std::uint32_t& physical) {
  STORAGE_PROPERTY_QUERY query{};
  query.PropertyId = StorageAccessAlignmentProperty;
  query.QueryType = PropertyStandardQuery;
  STORAGE_ACCESS_ALIGNMENT_DESCRIPTOR alignment{};
  DWORD returned = 0;
  if (DeviceIoControl(handle, IOCTL_STORAGE_QUERY_PROPERTY, &query, sizeof(query), &alignment,
                      sizeof(alignment), &returned, nullptr) &&
      returned >= sizeof(alignment)) {
    logical = alignment.BytesPerLogicalSector;
    physical = alignment.BytesPerPhysicalSector;
    return;
  }
  DISK_GEOMETRY geometry{};
  if (DeviceIoControl(handle, IOCTL_DISK_GET_DRIVE_GEOMETRY, nullptr, 0, &geometry,
                      sizeof(geometry), &returned, nullptr)) {
    logical = geometry.BytesPerSector;
  }
}

Result<DeviceProperties> resolve_properties(const std::string& path, std::uint32_t sector_bytes,
                                            std::uint64_t system_physical,
                                            const DeviceProperties& requested) {
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
      requested.optimal_io_bytes != 0
          ? requested.optimal_io_bytes
          : std::max(kOptimalIoBytesDefault, properties.physical_sector_bytes);
  if (Status valid = validate_device_properties(properties); !valid.ok())
    return invalid_argument(prefix(path) + ": " + valid.message());
  return properties;
}

// The cluster size of the file system holding `path`: an image file's physical sector
// (a smaller write rewrites the cluster).
std::uint64_t cluster_bytes(const std::string& path) {
  std::wstring wide = std::filesystem::absolute(std::filesystem::path(widen(path))).wstring();
  std::wstring root = std::filesystem::path(wide).root_path().wstring();
  DWORD sectors_per_cluster = 0;
  DWORD bytes_per_sector = 0;
  DWORD free_clusters = 0;
  DWORD total_clusters = 0;
  if (root.empty() || !GetDiskFreeSpaceW(root.c_str(), &sectors_per_cluster, &bytes_per_sector,
                                         &free_clusters, &total_clusters))
    return 0;
  return static_cast<std::uint64_t>(sectors_per_cluster) * bytes_per_sector;
}

// The UUID kept in the image's stream; nullopt when it has none or the file system keeps no
// streams.
Result<std::optional<Uuid>> stored_uuid(const std::string& path) {
  UniqueHandle stream = windows::open_file(widen(path) + kUuidStream, GENERIC_READ, OPEN_EXISTING);
  if (!stream.valid())
    return std::optional<Uuid>();
  char text[128];
  DWORD n = 0;
  if (!ReadFile(stream.get(), text, sizeof(text), &n, nullptr))
    return std::optional<Uuid>();
  auto parsed = Uuid::parse(std::string_view(text, n));
  if (!parsed.ok() || parsed->is_nil()) {
    return corrupt(prefix(path) + ": stream freezeframe.uuid does not hold a valid UUID");
  }
  return std::optional<Uuid>(*parsed);
}

bool store_uuid(const std::string& path, const Uuid& uuid) {
  UniqueHandle stream = windows::open_file(widen(path) + kUuidStream, GENERIC_WRITE, CREATE_ALWAYS);
  if (!stream.valid())
    return false;
  std::string text = uuid.to_string();
  DWORD n = 0;
  return WriteFile(stream.get(), text.data(), static_cast<DWORD>(text.size()), &n, nullptr) &&
         n == text.size();
}

void remove_stored_uuid(const std::string& path) {
  DeleteFileW((widen(path) + kUuidStream).c_str());  // best effort, as on POSIX
}

Result<Uuid> load_uuid(const std::string& path, const Uuid& expected) {
  FF_ASSIGN_OR_RETURN(std::optional<Uuid> stored, stored_uuid(path));
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

// A read of one sector proves that the file system accepts `sector_bytes`-aligned direct I/O.
Status probe_direct_io(HANDLE handle, const std::string& path, std::uint32_t sector_bytes) {
  AlignedBuffer probe = make_aligned(sector_bytes);
  if (windows::read_exactly(handle, 0, probe.get(), sector_bytes))
    return Status();
  const DWORD error = GetLastError();
  if (error == ERROR_INVALID_PARAMETER) {
    return Status(ErrorCode::kUnsupported,
                  prefix(path) + ": direct I/O refused for " + std::to_string(sector_bytes) +
                      "-byte sectors (the device needs a larger alignment)");
  }
  return error_status(error, prefix(path) + ": direct I/O probe read failed");
}

Status set_size(HANDLE handle, const std::string& path, std::uint64_t size_bytes) {
  FILE_END_OF_FILE_INFO end{};
  end.EndOfFile.QuadPart = static_cast<LONGLONG>(size_bytes);
  if (!SetFileInformationByHandle(handle, FileEndOfFileInfo, &end, sizeof(end))) {
    return error_status(GetLastError(), prefix(path) + ": cannot set the size to " +
                                            std::to_string(size_bytes) + " bytes");
  }
  return Status();
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
  const std::wstring wide = widen(path);
  if (is_device_path(path)) {
    return invalid_argument(prefix(path) +
                            ": is a device; create() makes image files (open a device instead)");
  }
  if (options.overwrite) {
    const DWORD attributes = GetFileAttributesW(wide.c_str());
    if (attributes != INVALID_FILE_ATTRIBUTES &&
        (attributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) != 0) {
      return invalid_argument(prefix(path) +
                              ": exists and is not a regular file; overwrite replaces only "
                              "image files");
    }
  }
  const DWORD flags = FILE_ATTRIBUTE_NORMAL | (options.direct_io ? FILE_FLAG_NO_BUFFERING : 0);
  UniqueHandle file = windows::open_file(wide, GENERIC_READ | GENERIC_WRITE,
                                         options.overwrite ? CREATE_ALWAYS : CREATE_NEW, flags);
  if (!file.valid()) {
    const DWORD error = GetLastError();
    if (error == ERROR_FILE_EXISTS || error == ERROR_ALREADY_EXISTS) {
      return Status(ErrorCode::kAlreadyExists,
                    prefix(path) + ": the file exists already (set overwrite to replace it)");
    }
    if (error == ERROR_PATH_NOT_FOUND)
      return not_found(prefix(path) + ": the directory does not exist");
    return error_status(error, prefix(path) + ": cannot create");
  }
  auto handle = std::make_unique<Handle>(std::move(file));
  auto fail = [&](Status status) -> Result<std::unique_ptr<FileVolume>> {
    handle.reset();
    DeleteFileW(wide.c_str());
    return status;
  };
  // Sparse where the file system can (the image then costs only what is written); a plain
  // file otherwise.
  DWORD returned = 0;
  DeviceIoControl(handle->handle, FSCTL_SET_SPARSE, nullptr, 0, nullptr, 0, &returned, nullptr);
  if (Status sized = set_size(handle->handle, path, 0); !sized.ok())
    return fail(sized);
  if (Status sized = set_size(handle->handle, path, options.size_bytes); !sized.ok())
    return fail(sized);
  auto properties = resolve_properties(path, options.sector_bytes, cluster_bytes(path),
                                       {.physical_sector_bytes = options.physical_sector_bytes,
                                        .atomic_write_bytes = options.atomic_write_bytes,
                                        .optimal_io_bytes = options.optimal_io_bytes});
  if (!properties.ok())
    return fail(properties.status());

  Uuid uuid = options.uuid.is_nil() ? Uuid::generate() : options.uuid;
  if (!store_uuid(path, uuid)) {
    if (!options.uuid.is_nil()) {
      return fail(Status(ErrorCode::kUnsupported,
                         prefix(path) + ": cannot store the given UUID " + uuid.to_string() +
                             " (the file system keeps no stream freezeframe.uuid), so it would "
                             "not survive a reopen"));
    }
    remove_stored_uuid(path);
    uuid = Uuid::from_name(canonical_path(path));
  }
  if (options.direct_io) {
    if (Status status = probe_direct_io(handle->handle, path, options.sector_bytes); !status.ok())
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
  const std::wstring wide = widen(path);
  const bool device = is_device_path(path);
  if (!device) {
    const DWORD attributes = GetFileAttributesW(wide.c_str());
    if (attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY) != 0)
      return invalid_argument(prefix(path) + ": is a directory, not a file or device");
  }
  const DWORD access = GENERIC_READ | (options.read_only ? 0 : GENERIC_WRITE);
  const DWORD flags = FILE_ATTRIBUTE_NORMAL | (options.direct_io ? FILE_FLAG_NO_BUFFERING : 0);
  UniqueHandle file = windows::open_file(wide, access, OPEN_EXISTING, flags);
  if (!file.valid()) {
    const DWORD error = GetLastError();
    if (error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND)
      return not_found(prefix(path) + ": no such file or device");
    if (error == ERROR_ACCESS_DENIED && device) {
      return Status(ErrorCode::kIoError,
                    prefix(path) +
                        ": opening a volume or disk needs an elevated (administrator) "
                        "process: " +
                        error_reason(error));
    }
    return error_status(error, prefix(path) + ": cannot open");
  }
  auto handle = std::make_unique<Handle>(std::move(file));
  std::uint64_t size_bytes = 0;
  std::uint32_t sector_bytes = options.sector_bytes != 0 ? options.sector_bytes : 512;
  std::uint64_t system_physical = 0;
  if (device) {
    GET_LENGTH_INFORMATION length{};
    DWORD returned = 0;
    if (!DeviceIoControl(handle->handle, IOCTL_DISK_GET_LENGTH_INFO, nullptr, 0, &length,
                         sizeof(length), &returned, nullptr)) {
      return error_status(GetLastError(), prefix(path) + ": cannot query the device's size");
    }
    size_bytes = static_cast<std::uint64_t>(length.Length.QuadPart);
    std::uint32_t logical = 0;
    std::uint32_t physical = 0;
    device_sectors(handle->handle, logical, physical);
    system_physical = physical;
    if (options.sector_bytes == 0 && logical != 0) {
      sector_bytes = logical;
      if (!is_supported_sector_size(sector_bytes)) {
        return Status(ErrorCode::kUnsupported,
                      prefix(path) + ": the device's logical sector size " +
                          std::to_string(logical) + " is not supported (512 or 4096)");
      }
    }
  } else {
    LARGE_INTEGER size{};
    if (!GetFileSizeEx(handle->handle, &size))
      return error_status(GetLastError(), prefix(path) + ": cannot read the size");
    size_bytes = static_cast<std::uint64_t>(size.QuadPart);
    system_physical = cluster_bytes(path);
  }
  FF_TRY(check_size(path, size_bytes, sector_bytes));
  FF_ASSIGN_OR_RETURN(DeviceProperties properties,
                      resolve_properties(path, sector_bytes, system_physical,
                                         {.physical_sector_bytes = options.physical_sector_bytes,
                                          .atomic_write_bytes = options.atomic_write_bytes,
                                          .optimal_io_bytes = options.optimal_io_bytes}));
  Uuid uuid;
  if (device) {
    uuid = options.uuid.is_nil() ? Uuid::from_name(path) : options.uuid;
  } else {
    FF_ASSIGN_OR_RETURN(uuid, load_uuid(path, options.uuid));
  }
  if (options.direct_io)
    FF_TRY(probe_direct_io(handle->handle, path, sector_bytes));
  VolumeIdentity identity{options.name.empty() ? path : options.name, uuid};
  return std::unique_ptr<FileVolume>(new FileVolume(std::move(handle), path, std::move(identity),
                                                    size_bytes, properties, options.read_only,
                                                    options.direct_io, device));
}

Result<FileId> FileVolume::file_id(const std::string& path) {
  // No access rights: enough to ask which file it is. Directories need backup semantics.
  UniqueHandle file = windows::open_file(widen(path), 0, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS);
  if (!file.valid()) {
    const DWORD error = GetLastError();
    if (error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND)
      return not_found(prefix(path) + ": no such file or device");
    return error_status(error, prefix(path) + ": cannot open");
  }
  windows::FileIndex index;
  if (!windows::file_index(file.get(), index))
    return error_status(GetLastError(), prefix(path) + ": cannot read its file index");
  return FileId{index.volume, index.index};
}

bool FileVolume::discard_releases_space() const noexcept {
  return !block_device_ && !handle_->zero_data_unsupported.load(std::memory_order_relaxed);
}

Result<std::uint64_t> FileVolume::allocated_bytes() const {
  if (block_device_)
    return size_bytes_;
  FILE_STANDARD_INFO info{};
  if (!GetFileInformationByHandleEx(handle_->handle, FileStandardInfo, &info, sizeof(info)))
    return error_status(GetLastError(), prefix(path_) + ": cannot read the allocation size");
  return static_cast<std::uint64_t>(info.AllocationSize.QuadPart);
}

Status FileVolume::read_at(std::uint64_t offset, std::byte* data, std::size_t length) {
  if (windows::read_exactly(handle_->handle, offset, data, length))
    return Status();
  const DWORD error = GetLastError();
  if (error == ERROR_HANDLE_EOF) {
    LARGE_INTEGER size{};
    const std::string end =
        GetFileSizeEx(handle_->handle, &size) ? std::to_string(size.QuadPart) : "an unknown byte";
    return io_error(describe("read", offset, length,
                             "'" + path_ + "': it ends at byte " + end +
                                 ", before the volume's end at " + std::to_string(size_bytes_) +
                                 " (was the file truncated?)"));
  }
  return error_status(error, describe("read", offset, length, "ReadFile of '" + path_ + "'"));
}

Status FileVolume::write_at(std::uint64_t offset, const std::byte* data, std::size_t length) {
  if (windows::write_exactly(handle_->handle, offset, data, length))
    return Status();
  return error_status(GetLastError(),
                      describe("write", offset, length, "WriteFile of '" + path_ + "'"));
}

Status FileVolume::do_read(std::uint64_t offset, std::span<std::byte> out) {
  if (!direct_io_ || is_aligned(out.data()))
    return read_at(offset, out.data(), out.size());
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
  if (read_only_)
    return Status();
  if (FlushFileBuffers(handle_->handle))
    return Status();
  return error_status(GetLastError(),
                      describe("flush", 0, size_bytes_, "FlushFileBuffers of '" + path_ + "'"));
}

Status FileVolume::do_discard(std::uint64_t offset, std::uint64_t length) {
  // A device gets zeros written: a device's trim may or may not zero, and we promise zeros.
  if (!block_device_ && !handle_->zero_data_unsupported.load(std::memory_order_relaxed)) {
    FILE_ZERO_DATA_INFORMATION zero{};
    zero.FileOffset.QuadPart = static_cast<LONGLONG>(offset);
    zero.BeyondFinalZero.QuadPart = static_cast<LONGLONG>(offset + length);
    DWORD returned = 0;
    if (DeviceIoControl(handle_->handle, FSCTL_SET_ZERO_DATA, &zero, sizeof(zero), nullptr, 0,
                        &returned, nullptr)) {
      return Status();
    }
    const DWORD error = GetLastError();
    if (error != ERROR_INVALID_FUNCTION && error != ERROR_NOT_SUPPORTED &&
        error != ERROR_INVALID_PARAMETER && error != ERROR_CALL_NOT_IMPLEMENTED) {
      return error_status(
          error, describe("discard", offset, length, "FSCTL_SET_ZERO_DATA on '" + path_ + "'"));
    }
    // The documented fallback (docs/windows.md): zeros written instead of a hole.
    handle_->zero_data_unsupported.store(true, std::memory_order_relaxed);
  }
  return write_zeros(offset, length);
}

Status FileVolume::do_allocate(std::uint64_t offset, std::uint64_t length) {
  if (block_device_)
    return Status();
  // Windows reserves no range of a sparse file: the holes in the range are filled with zeros
  // (which is what they read as), so later writes there cannot find the disk full. Where the
  // file system cannot list allocated ranges, the file is not sparse and all is there.
  FILE_ALLOCATED_RANGE_BUFFER query{};
  query.FileOffset.QuadPart = static_cast<LONGLONG>(offset);
  query.Length.QuadPart = static_cast<LONGLONG>(length);
  std::vector<FILE_ALLOCATED_RANGE_BUFFER> ranges(64);
  std::uint64_t at = offset;
  const std::uint64_t end = offset + length;
  while (at < end) {
    query.FileOffset.QuadPart = static_cast<LONGLONG>(at);
    query.Length.QuadPart = static_cast<LONGLONG>(end - at);
    DWORD returned = 0;
    const BOOL complete = DeviceIoControl(
        handle_->handle, FSCTL_QUERY_ALLOCATED_RANGES, &query, sizeof(query), ranges.data(),
        static_cast<DWORD>(ranges.size() * sizeof(ranges[0])), &returned, nullptr);
    const DWORD error = complete ? ERROR_SUCCESS : GetLastError();
    if (!complete && error != ERROR_MORE_DATA)
      return Status();
    const std::size_t count = returned / sizeof(ranges[0]);
    for (std::size_t i = 0; i < count; ++i) {
      const auto start = static_cast<std::uint64_t>(ranges[i].FileOffset.QuadPart);
      const auto stop = start + static_cast<std::uint64_t>(ranges[i].Length.QuadPart);
      if (start > at)
        FF_TRY(write_zeros(at, std::min(start, end) - at));
      at = std::max(at, stop);
    }
    if (complete) {
      if (at < end)
        FF_TRY(write_zeros(at, end - at));
      break;
    }
    if (count == 0)
      break;
  }
  return Status();
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

// FileVolume: a volume backed by an image file or a block device of the host.
//
// An image file is created sparse: create() sets its length without writing data, so a large,
// mostly empty volume costs little disk space; discard() punches holes where the file system
// allows it. A block device (Linux) is opened as it is: its size and logical sector size come
// from the device.
//
// Durability: as Volume. Writes go to the operating system's page cache (or, with direct I/O,
// to the device's cache); flush() asks the operating system to make every completed write and
// discard durable (fdatasync on POSIX) and returns OK only if it did.
//
// Direct I/O: with `direct_io`, reads and writes bypass the page cache. The caller's buffer
// may have any alignment: an unaligned buffer goes through an aligned bounce buffer. If the
// file system or device refuses direct I/O (tmpfs on older kernels, or a sector size smaller
// than the device's), create() and open() fail with kUnsupported and say so.
//
// Identity: the name defaults to the path as given. The UUID of an image file is stored in
// the file's extended attribute `user.freezeframe.uuid` at create() and read back by open(),
// so it is stable across close and reopen. Where extended attributes are unavailable (some
// file systems, block devices, a copy made without them), the UUID is the one the caller
// recorded and passes in FileVolumeOpenOptions::uuid, else it is derived from the file's
// canonical path (Uuid::from_name), which is stable only as long as the file is not moved. A
// caller that must find its volumes again after a copy or a move records the UUID itself.
//
// Device properties: the options may set the physical sector, atomic write unit and optimal
// I/O size; create() and open() fail with kInvalidArgument if the result breaks volume.h's
// invariants. Unset (0), they come from the operating system where its answer satisfies
// those invariants: for a block device (Linux), its physical sector and optimal I/O size; for
// an image file, the file system's preferred block size (st_blksize) as the physical sector
// (a smaller write is a read-modify-write of that block). Otherwise, and for the atomic write
// unit always, the defaults of volume.h apply.
//
// Size: the size must be a non-zero multiple of the sector size; create() and open() fail
// with kInvalidArgument naming the path otherwise. If the file shrinks underneath an open
// volume, reads beyond its new end fail with kIoError.
//
// Allocation: allocate() reserves the file's blocks for a range (fallocate(2) mode 0, or
// posix_fallocate where there is no fallocate), so that writes there cannot fail with kNoSpace
// later. kNoSpace, naming the file, when the file system has not that much room. A block
// device, or a file system that cannot preallocate (EOPNOTSUPP), has nothing to reserve:
// allocate() returns OK and writes there may still find the file system full.
//
// Errors: device failures are kIoError (kNoSpace when the file system is full), with messages
// that name the volume, the offset, the length and the operating system's reason.
//
// Thread-safety: as Volume. Reads, writes, discards and flushes may run concurrently; the
// volume holds no lock of its own (positioned I/O needs none).
//
// Lifetime: the volume owns its open file and closes it on destruction. It never deletes the
// file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "freezeframe/volume.h"

namespace freezeframe {

struct FileVolumeCreateOptions {
  std::uint64_t size_bytes = 0;
  // 512 or 4096.
  std::uint32_t sector_bytes = 512;
  bool direct_io = false;
  // Empty: the path.
  std::string name{};
  // Nil: a fresh random UUID. A UUID given here must be storable in the file's extended
  // attributes (kUnsupported otherwise), or it could not be kept across reopen.
  Uuid uuid{};
  // Replace an existing regular file instead of failing with kAlreadyExists.
  bool overwrite = false;
  // Device properties to report; 0: from the operating system, else volume.h's default.
  std::uint32_t physical_sector_bytes = 0;
  std::uint32_t atomic_write_bytes = 0;
  std::uint32_t optimal_io_bytes = 0;
};

struct FileVolumeOpenOptions {
  bool read_only = false;
  // 0: 512 for an image file, the device's logical sector size for a block device.
  // Otherwise 512 or 4096.
  std::uint32_t sector_bytes = 0;
  bool direct_io = false;
  // Empty: the path.
  std::string name{};
  // Nil: the identity is the UUID in the file's extended attribute, else derived from the
  // path. Otherwise the UUID the caller recorded for this image: used when the file carries
  // none, and open() fails with kInvalidArgument when the file carries a different one.
  Uuid uuid{};
  // Device properties to report; 0: from the operating system, else volume.h's default.
  std::uint32_t physical_sector_bytes = 0;
  std::uint32_t atomic_write_bytes = 0;
  std::uint32_t optimal_io_bytes = 0;
};

// Which file a path names, as the operating system tells files apart (device and inode on
// POSIX). Two paths with equal FileIds are one file, whatever links or directories lead there.
struct FileId {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  friend bool operator==(const FileId&, const FileId&) = default;
};

class FileVolume final : public Volume {
 public:
  // Creates a new sparse image file of options.size_bytes at `path`. Fails with
  // kAlreadyExists if `path` exists (unless options.overwrite and it is a regular file),
  // kInvalidArgument for a bad size or sector size, kUnsupported if direct I/O is refused,
  // kIoError or kNoSpace if the file cannot be created. A file this call created (or replaced)
  // is removed again if the call fails.
  static Result<std::unique_ptr<FileVolume>> create(const std::string& path,
                                                    const FileVolumeCreateOptions& options);
  // Opens an existing image file or block device. Fails with kNotFound if `path` does not
  // exist, kInvalidArgument if it is neither a regular file nor a block device or its size is
  // not a non-zero multiple of the sector size, kCorrupt if its stored UUID is malformed,
  // kUnsupported if direct I/O is refused, kIoError otherwise; kInvalidArgument also when
  // options.uuid is given and the file's stored UUID differs.
  static Result<std::unique_ptr<FileVolume>> open(const std::string& path,
                                                  const FileVolumeOpenOptions& options);
  // The FileId of the file or device `path` names (following symbolic links). kNotFound if
  // there is none.
  static Result<FileId> file_id(const std::string& path);
  ~FileVolume() override;

  const VolumeIdentity& identity() const noexcept override { return identity_; }
  std::uint64_t size_bytes() const noexcept override { return size_bytes_; }
  std::uint32_t sector_bytes() const noexcept override { return sector_bytes_; }
  bool read_only() const noexcept override { return read_only_; }
  DeviceProperties properties() const noexcept override { return properties_; }

  const std::string& path() const noexcept { return path_; }
  bool direct_io() const noexcept { return direct_io_; }
  bool is_block_device() const noexcept { return block_device_; }
  // Bytes of storage the file occupies on its file system (less than size_bytes() while it is
  // sparse). For a block device, its size.
  Result<std::uint64_t> allocated_bytes() const;
  // Whether discard() gives the space back (punches holes): false for a block device, and once
  // the file system has refused, after which discards write zeros (docs/windows.md: Wine, and
  // Windows file systems without FSCTL_SET_ZERO_DATA).
  bool discard_releases_space() const noexcept;

 protected:
  Status do_read(std::uint64_t offset, std::span<std::byte> out) override;
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override;
  Status do_flush() override;
  Status do_discard(std::uint64_t offset, std::uint64_t length) override;
  Status do_allocate(std::uint64_t offset, std::uint64_t length) override;

 private:
  // The operating system's handle; defined by the platform's source file.
  struct Handle;

  FileVolume(std::unique_ptr<Handle> handle, std::string path, VolumeIdentity identity,
             std::uint64_t size_bytes, const DeviceProperties& properties, bool read_only,
             bool direct_io, bool block_device);

  // Positioned transfers of exactly `length` bytes that retry short transfers and EINTR.
  Status read_at(std::uint64_t offset, std::byte* data, std::size_t length);
  Status write_at(std::uint64_t offset, const std::byte* data, std::size_t length);
  Status write_zeros(std::uint64_t offset, std::uint64_t length);

  std::unique_ptr<Handle> handle_;
  std::string path_;
  VolumeIdentity identity_;
  std::uint64_t size_bytes_;
  std::uint32_t sector_bytes_;
  DeviceProperties properties_;
  bool read_only_;
  bool direct_io_;
  bool block_device_;
};

}  // namespace freezeframe

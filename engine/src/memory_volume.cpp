#include "freezeframe/memory_volume.h"

#include <algorithm>
#include <cstring>
#include <mutex>

namespace freezeframe {

Result<std::unique_ptr<MemoryVolume>> MemoryVolume::create(const MemoryVolumeOptions& options) {
  if (!is_supported_sector_size(options.sector_bytes)) {
    return invalid_argument("memory volume '" + options.name + "': sector size " +
                            std::to_string(options.sector_bytes) +
                            " is not supported (512 or 4096)");
  }
  if (options.size_bytes == 0 || options.size_bytes % options.sector_bytes != 0) {
    return invalid_argument(
        "memory volume '" + options.name + "': size " + std::to_string(options.size_bytes) +
        " must be a non-zero multiple of the sector size " + std::to_string(options.sector_bytes));
  }
  DeviceProperties properties;
  properties.logical_sector_bytes = options.sector_bytes;
  properties.physical_sector_bytes =
      options.physical_sector_bytes != 0 ? options.physical_sector_bytes : options.sector_bytes;
  properties.atomic_write_bytes =
      options.atomic_write_bytes != 0 ? options.atomic_write_bytes : options.sector_bytes;
  properties.optimal_io_bytes =
      options.optimal_io_bytes != 0
          ? options.optimal_io_bytes
          : std::max(kOptimalIoBytesDefault, properties.physical_sector_bytes);
  if (Status valid = validate_device_properties(properties); !valid.ok())
    return invalid_argument("memory volume '" + options.name + "': " + valid.message());
  Uuid uuid = options.uuid.is_nil() ? Uuid::generate() : options.uuid;
  return std::unique_ptr<MemoryVolume>(new MemoryVolume(options, uuid, properties));
}

MemoryVolume::MemoryVolume(const MemoryVolumeOptions& options, Uuid uuid,
                           const DeviceProperties& properties)
    : identity_{options.name, uuid},
      size_bytes_(options.size_bytes),
      sector_bytes_(options.sector_bytes),
      read_only_(options.read_only),
      properties_(properties),
      pages_((options.size_bytes + kPageBytes - 1) / kPageBytes) {}

std::uint64_t MemoryVolume::allocated_bytes() const {
  std::shared_lock lock(mutex_);
  std::uint64_t pages = 0;
  for (const auto& page : pages_)
    pages += page != nullptr;
  return pages * kPageBytes;
}

namespace {

// Calls fn(page, offset_in_page, done, n) for each page piece of [offset, offset + length),
// where `done` bytes of the range come before the piece and `n` is its length.
template <typename Fn>
void for_each_page_piece(std::uint64_t offset, std::uint64_t length, std::uint64_t page_bytes,
                         Fn&& fn) {
  std::uint64_t done = 0;
  while (done < length) {
    const std::uint64_t position = offset + done;
    const std::uint64_t in_page = position % page_bytes;
    const std::uint64_t n = std::min<std::uint64_t>(page_bytes - in_page, length - done);
    fn(position / page_bytes, static_cast<std::size_t>(in_page), static_cast<std::size_t>(done),
       static_cast<std::size_t>(n));
    done += n;
  }
}

}  // namespace

Status MemoryVolume::do_read(std::uint64_t offset, std::span<std::byte> out) {
  std::shared_lock lock(mutex_);
  for_each_page_piece(
      offset, out.size(), kPageBytes,
      [&](std::uint64_t page, std::size_t in_page, std::size_t done, std::size_t n) {
        if (pages_[page]) {
          std::memcpy(out.data() + done, pages_[page].get() + in_page, n);
        } else {
          std::memset(out.data() + done, 0, n);
        }
      });
  return Status();
}

Status MemoryVolume::do_write(std::uint64_t offset, std::span<const std::byte> data) {
  std::unique_lock lock(mutex_);
  for_each_page_piece(
      offset, data.size(), kPageBytes,
      [&](std::uint64_t page, std::size_t in_page, std::size_t done, std::size_t n) {
        if (!pages_[page])  // value-initialised: zeros
          pages_[page] = std::make_unique<std::byte[]>(kPageBytes);
        std::memcpy(pages_[page].get() + in_page, data.data() + done, n);
      });
  return Status();
}

Status MemoryVolume::do_flush() {
  return Status();
}

Status MemoryVolume::do_discard(std::uint64_t offset, std::uint64_t length) {
  std::unique_lock lock(mutex_);
  for_each_page_piece(offset, length, kPageBytes,
                      [&](std::uint64_t page, std::size_t in_page, std::size_t, std::size_t n) {
                        if (!pages_[page])
                          return;
                        if (n == kPageBytes) {
                          pages_[page].reset();
                        } else {
                          std::memset(pages_[page].get() + in_page, 0, n);
                        }
                      });
  return Status();
}

}  // namespace freezeframe

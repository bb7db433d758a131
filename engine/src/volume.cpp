#include "freezeframe/volume.h"

#include <algorithm>

namespace freezeframe {

bool is_supported_sector_size(std::uint32_t sector_bytes) noexcept {
  return sector_bytes == 512 || sector_bytes == 4096;
}

namespace {

bool is_power_of_two(std::uint64_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

}  // namespace

Status validate_device_properties(const DeviceProperties& properties) {
  const DeviceProperties& p = properties;
  auto fail = [&](const std::string& rule) {
    return invalid_argument("device properties (logical " + std::to_string(p.logical_sector_bytes) +
                            ", physical " + std::to_string(p.physical_sector_bytes) +
                            ", atomic write " + std::to_string(p.atomic_write_bytes) +
                            ", optimal I/O " + std::to_string(p.optimal_io_bytes) +
                            " bytes): " + rule);
  };
  if (!is_supported_sector_size(p.logical_sector_bytes))
    return fail("the logical sector must be 512 or 4096 bytes");
  if (!is_power_of_two(p.physical_sector_bytes) ||
      p.physical_sector_bytes < p.logical_sector_bytes ||
      p.physical_sector_bytes > kPhysicalSectorBytesMax) {
    return fail("the physical sector must be a power of two from the logical sector to " +
                std::to_string(kPhysicalSectorBytesMax) + " bytes");
  }
  if (!is_power_of_two(p.atomic_write_bytes) || p.atomic_write_bytes < 512 ||
      p.atomic_write_bytes > p.physical_sector_bytes) {
    return fail(
        "the atomic write unit must be a power of two from 512 bytes to the physical "
        "sector");
  }
  if (!is_power_of_two(p.optimal_io_bytes) || p.optimal_io_bytes < p.physical_sector_bytes ||
      p.optimal_io_bytes > kOptimalIoBytesMax) {
    return fail("the optimal I/O size must be a power of two from the physical sector to " +
                std::to_string(kOptimalIoBytesMax) + " bytes");
  }
  return Status();
}

DeviceProperties Volume::properties() const noexcept {
  const std::uint32_t sector = sector_bytes();
  return DeviceProperties{.logical_sector_bytes = sector,
                          .physical_sector_bytes = sector,
                          .atomic_write_bytes = sector,
                          .optimal_io_bytes = std::max(kOptimalIoBytesDefault, sector)};
}

std::string Volume::describe(const char* operation, std::uint64_t offset, std::uint64_t length,
                             std::string_view detail) const {
  std::string out = "volume '" + name() + "' (" + uuid().to_string() + ") " + operation +
                    " offset " + std::to_string(offset) + " length " + std::to_string(length);
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

Status Volume::check_range(const char* operation, std::uint64_t offset,
                           std::uint64_t length) const {
  const std::uint64_t sector = sector_bytes();
  if (offset % sector != 0 || length % sector != 0) {
    return invalid_argument(describe(
        operation, offset, length,
        "misaligned: not a multiple of the " + std::to_string(sector) + "-byte sector size"));
  }
  const std::uint64_t size = size_bytes();
  if (offset > size || length > size - offset) {
    return invalid_argument(describe(
        operation, offset, length,
        "out of range: beyond the end of the volume (" + std::to_string(size) + " bytes)"));
  }
  return Status();
}

Status Volume::read(std::uint64_t offset, std::span<std::byte> out) {
  FF_TRY(check_range("read", offset, out.size()));
  if (out.empty())
    return Status();
  return do_read(offset, out);
}

Status Volume::write(std::uint64_t offset, std::span<const std::byte> data) {
  FF_TRY(check_range("write", offset, data.size()));
  if (read_only()) {
    return Status(ErrorCode::kReadOnly, describe("write", offset, data.size(), "read-only"));
  }
  if (data.empty())
    return Status();
  return do_write(offset, data);
}

Status Volume::flush() {
  return do_flush();
}

Status Volume::discard(std::uint64_t offset, std::uint64_t length) {
  FF_TRY(check_range("discard", offset, length));
  if (read_only()) {
    return Status(ErrorCode::kReadOnly, describe("discard", offset, length, "read-only"));
  }
  if (length == 0)
    return Status();
  return do_discard(offset, length);
}

Status Volume::allocate(std::uint64_t offset, std::uint64_t length) {
  FF_TRY(check_range("allocate", offset, length));
  if (read_only()) {
    return Status(ErrorCode::kReadOnly, describe("allocate", offset, length, "read-only"));
  }
  if (length == 0)
    return Status();
  return do_allocate(offset, length);
}

Status Volume::do_allocate(std::uint64_t, std::uint64_t) {
  return Status();
}

}  // namespace freezeframe

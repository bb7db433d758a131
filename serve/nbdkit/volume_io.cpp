#include "volume_io.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

namespace freezeframe::nbd {

namespace {

// Zeros are written from one static buffer of this many bytes, a piece at a time.
constexpr std::size_t kZeroBufferBytes = 1 << 20;

std::span<const std::byte> zero_buffer() {
  static const std::vector<std::byte> buffer(kZeroBufferBytes);
  return buffer;
}

}  // namespace

bool all_zero(std::span<const std::byte> data) noexcept {
  // Compare in words where the buffer allows it; the tail byte by byte.
  std::size_t i = 0;
  for (; i + sizeof(std::uint64_t) <= data.size(); i += sizeof(std::uint64_t)) {
    std::uint64_t word;
    std::memcpy(&word, data.data() + i, sizeof word);
    if (word != 0)
      return false;
  }
  for (; i < data.size(); ++i)
    if (data[i] != std::byte{0})
      return false;
  return true;
}

Status VolumeIo::read(std::uint64_t offset, std::span<std::byte> out) {
  if (aligned(offset) && aligned(out.size()))
    return volume_.read(offset, out);
  const std::uint64_t sector = volume_.sector_bytes();
  const std::uint64_t first = offset / sector * sector;
  const std::uint64_t last = (offset + out.size() + sector - 1) / sector * sector;
  std::vector<std::byte> covering(last - first);
  FF_TRY(volume_.read(first, covering));
  std::memcpy(out.data(), covering.data() + (offset - first), out.size());
  return Status();
}

Status VolumeIo::write(std::uint64_t offset, std::span<const std::byte> data) {
  if (aligned(offset) && aligned(data.size())) {
    std::shared_lock lock(write_lock_);
    return volume_.write(offset, data);
  }
  return read_modify_write(offset, data);
}

Status VolumeIo::read_modify_write(std::uint64_t offset, std::span<const std::byte> data) {
  const std::uint64_t sector = volume_.sector_bytes();
  const std::uint64_t first = offset / sector * sector;
  const std::uint64_t last = (offset + data.size() + sector - 1) / sector * sector;
  std::unique_lock lock(write_lock_);
  // Only the first and last sectors need their old content; the rest is overwritten whole.
  std::vector<std::byte> covering(last - first);
  FF_TRY(volume_.read(first, std::span(covering).first(sector)));
  if (last - first > sector)
    FF_TRY(volume_.read(last - sector, std::span(covering).last(sector)));
  std::memcpy(covering.data() + (offset - first), data.data(), data.size());
  return volume_.write(first, covering);
}

Status VolumeIo::write_zeros(std::uint64_t offset, std::uint64_t length) {
  // Partial sectors go through write() (a read-modify-write); whole ones a piece at a time.
  while (length > 0) {
    const std::uint64_t piece = std::min<std::uint64_t>(length, kZeroBufferBytes);
    FF_TRY(write(offset, zero_buffer().first(piece)));
    offset += piece;
    length -= piece;
  }
  return Status();
}

Status VolumeIo::trim(std::uint64_t offset, std::uint64_t length) {
  const std::uint64_t sector = volume_.sector_bytes();
  const std::uint64_t first = (offset + sector - 1) / sector * sector;
  const std::uint64_t last = (offset + length) / sector * sector;
  if (first >= last)
    return Status();
  std::shared_lock lock(write_lock_);
  return volume_.discard(first, last - first);
}

Status VolumeIo::zero(std::uint64_t offset, std::uint64_t length, bool may_trim) {
  const std::uint64_t sector = volume_.sector_bytes();
  const std::uint64_t end = offset + length;
  const std::uint64_t first = (offset + sector - 1) / sector * sector;
  const std::uint64_t last = end / sector * sector;
  if (!may_trim || first >= last)
    return write_zeros(offset, length);
  if (offset < first)
    FF_TRY(write_zeros(offset, first - offset));
  {
    std::shared_lock lock(write_lock_);
    FF_TRY(volume_.discard(first, last - first));
  }
  if (last < end)
    FF_TRY(write_zeros(last, end - last));
  return Status();
}

}  // namespace freezeframe::nbd

// RequestFilter: a volume filter that looks at each request before passing it on unchanged,
// and may refuse it. FaultVolume (fails chosen requests) and LatencyVolume (charges simulated
// time) are request filters; a filter that changes data or holds it (CacheVolume) derives
// from VolumeWrapper directly.
//
// admit() sees every read, write, flush and discard with its offset and length (0 and 0 for a
// flush) after the Volume checks and before the base. A non-OK status fails the request,
// which then never reaches the base; OK passes it on.
//
// Thread-safety: as the filter's admit() and the base. Lifetime: as VolumeWrapper.
#pragma once

#include <cstdint>
#include <span>

#include "freezeframe/volume_wrapper.h"

namespace freezeframe::sim {

enum class IoOperation : std::uint8_t { kRead = 1, kWrite = 2, kFlush = 4, kDiscard = 8 };

// "read", "write", "flush", "discard".
const char* io_operation_name(IoOperation operation) noexcept;

// A set of IoOperation bits.
using IoOperationMask = std::uint8_t;
constexpr IoOperationMask kAllOperations = 0x0f;
constexpr IoOperationMask operation_bit(IoOperation operation) {
  return static_cast<IoOperationMask>(operation);
}

class RequestFilter : public VolumeWrapper {
 public:
  explicit RequestFilter(Volume& base) noexcept : VolumeWrapper(base) {}

 protected:
  virtual Status admit(IoOperation operation, std::uint64_t offset, std::uint64_t length) = 0;

  Status do_read(std::uint64_t offset, std::span<std::byte> out) final {
    FF_TRY(admit(IoOperation::kRead, offset, out.size()));
    return VolumeWrapper::do_read(offset, out);
  }
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) final {
    FF_TRY(admit(IoOperation::kWrite, offset, data.size()));
    return VolumeWrapper::do_write(offset, data);
  }
  Status do_flush() final {
    FF_TRY(admit(IoOperation::kFlush, 0, 0));
    return VolumeWrapper::do_flush();
  }
  Status do_discard(std::uint64_t offset, std::uint64_t length) final {
    FF_TRY(admit(IoOperation::kDiscard, offset, length));
    return VolumeWrapper::do_discard(offset, length);
  }
};

}  // namespace freezeframe::sim

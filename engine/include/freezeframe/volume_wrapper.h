// VolumeWrapper: a Volume that forwards every call to a base Volume.
//
// A filter stacked on a volume (hold, trace, latch, read-only view, fault, latency, cache)
// derives from VolumeWrapper and overrides only what it changes, as LevelDB's EnvWrapper lets
// a test double override three methods of an Env. The wrapper presents the base's identity,
// size, read-only flag and device properties (sector sizes, atomic write unit, optimal I/O
// size) unless the filter overrides them.
//
// Requests reach the base through its public read / write / flush / discard / allocate, so the base
// checks them again (alignment, range, read-only): a filter that changes a request cannot
// send the base something it would not accept from anyone else.
//
// Thread-safety: as the base; the wrapper itself holds no state.
// Lifetime: `base` must outlive the wrapper, unless the wrapper owns it: a filter's factory
// that takes a std::unique_ptr<Volume> builds the filter over it with owning(), and the
// wrapper then destroys the base after the filter's own members.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "freezeframe/volume.h"

namespace freezeframe {

class VolumeWrapper : public Volume {
 public:
  explicit VolumeWrapper(Volume& base) noexcept : base_(base) {}

  const VolumeIdentity& identity() const noexcept override { return base_.identity(); }
  std::uint64_t size_bytes() const noexcept override { return base_.size_bytes(); }
  std::uint32_t sector_bytes() const noexcept override { return base_.sector_bytes(); }
  bool read_only() const noexcept override { return base_.read_only(); }
  DeviceProperties properties() const noexcept override { return base_.properties(); }

  Volume& base() const noexcept { return base_; }

 protected:
  // For a filter's create(std::unique_ptr<Volume> base, ...): kInvalidArgument naming `what`
  // if `base` is null; otherwise `make(*base)` (a Result<std::unique_ptr<Filter>>) builds the
  // filter, which then owns `base`.
  template <typename Make>
  static auto owning(std::unique_ptr<Volume> base, const std::string& what, Make&& make)
      -> decltype(make(*base)) {
    if (!base)
      return invalid_argument(what + ": no base volume given");
    auto made = make(*base);
    if (made.ok())
      made.value()->owned_ = std::move(base);
    return made;
  }

  Status do_read(std::uint64_t offset, std::span<std::byte> out) override {
    return base_.read(offset, out);
  }
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override {
    return base_.write(offset, data);
  }
  Status do_flush() override { return base_.flush(); }
  Status do_discard(std::uint64_t offset, std::uint64_t length) override {
    return base_.discard(offset, length);
  }
  Status do_allocate(std::uint64_t offset, std::uint64_t length) override {
    return base_.allocate(offset, length);
  }

 private:
  Volume& base_;
  std::unique_ptr<Volume> owned_;  // `base_`, when the wrapper owns it
};

}  // namespace freezeframe

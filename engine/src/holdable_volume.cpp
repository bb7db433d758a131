#include "freezeframe/holdable_volume.h"

#include <utility>

#include "freezeframe/assert.h"

namespace freezeframe {

HoldableVolume::HoldableVolume(Volume& base, std::string name)
    : VolumeWrapper(base), identity_{name.empty() ? base.name() : std::move(name), base.uuid()} {}

void HoldableVolume::hold() {
  begin_hold();
  wait_drained();
}

void HoldableVolume::begin_hold() {
  std::lock_guard lock(mutex_);
  ++holds_;
}

bool HoldableVolume::wait_drained() {
  std::unique_lock lock(mutex_);
  drained_.wait(lock, [&] { return in_flight_ == 0 || holds_ == 0; });
  return in_flight_ == 0;
}

void HoldableVolume::release() {
  {
    std::lock_guard lock(mutex_);
    FF_ASSERT(holds_ > 0);
    --holds_;
    if (holds_ > 0)
      return;
  }
  released_.notify_all();
  drained_.notify_all();  // a wait_drained() of a hold released meanwhile has nothing to wait for
}

bool HoldableVolume::held() const {
  std::lock_guard lock(mutex_);
  return holds_ > 0;
}

std::uint64_t HoldableVolume::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_;
}

void HoldableVolume::enter() {
  std::unique_lock lock(mutex_);
  if (holds_ > 0) {
    ++waiting_;
    released_.wait(lock, [&] { return holds_ == 0; });
    --waiting_;
  }
  ++in_flight_;
}

void HoldableVolume::leave() {
  bool notify = false;
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
    notify = in_flight_ == 0 && holds_ > 0;
  }
  if (notify)
    drained_.notify_all();
}

Status HoldableVolume::do_write(std::uint64_t offset, std::span<const std::byte> data) {
  enter();
  Status status = VolumeWrapper::do_write(offset, data);
  leave();
  return status;
}

Status HoldableVolume::do_flush() {
  enter();
  Status status = VolumeWrapper::do_flush();
  leave();
  return status;
}

Status HoldableVolume::do_discard(std::uint64_t offset, std::uint64_t length) {
  enter();
  Status status = VolumeWrapper::do_discard(offset, length);
  leave();
  return status;
}

}  // namespace freezeframe

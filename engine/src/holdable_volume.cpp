#include "freezeframe/holdable_volume.h"

#include <condition_variable>
#include <mutex>
#include <utility>

#include "freezeframe/assert.h"

namespace freezeframe {

class HoldableVolume::Gate {
 public:
  std::mutex mutex;
  std::condition_variable released;
  std::condition_variable drained;
  std::uint32_t holds = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t waiting = 0;

  void enter() {
    std::unique_lock lock(mutex);
    if (holds > 0) {
      ++waiting;
      released.wait(lock, [&] { return holds == 0; });
      --waiting;
    }
    ++in_flight;
  }

  void leave() {
    bool notify = false;
    {
      std::lock_guard lock(mutex);
      --in_flight;
      notify = in_flight == 0 && holds > 0;
    }
    if (notify)
      drained.notify_all();
  }
};

HoldableVolume::HoldableVolume(Volume& base, std::string name)
    : VolumeWrapper(base),
      identity_{name.empty() ? std::string(base.name()) : std::move(name), base.uuid()},
      gate_(std::make_unique<Gate>()) {}

HoldableVolume::~HoldableVolume() = default;

void HoldableVolume::hold() {
  begin_hold();
  wait_drained();
}

void HoldableVolume::begin_hold() {
  std::lock_guard lock(gate_->mutex);
  ++gate_->holds;
}

bool HoldableVolume::wait_drained() {
  std::unique_lock lock(gate_->mutex);
  gate_->drained.wait(lock, [&] { return gate_->in_flight == 0 || gate_->holds == 0; });
  return gate_->in_flight == 0;
}

void HoldableVolume::release() {
  {
    std::lock_guard lock(gate_->mutex);
    FF_ASSERT(gate_->holds > 0);
    --gate_->holds;
    if (gate_->holds > 0)
      return;
  }
  gate_->released.notify_all();
  // A wait_drained() of a hold released meanwhile has nothing to wait for.
  gate_->drained.notify_all();
}

bool HoldableVolume::held() const {
  std::lock_guard lock(gate_->mutex);
  return gate_->holds > 0;
}

std::uint64_t HoldableVolume::waiting() const {
  std::lock_guard lock(gate_->mutex);
  return gate_->waiting;
}

template <typename Request>
Status HoldableVolume::through_gate(Request&& request) {
  gate_->enter();
  Status status = request();
  gate_->leave();
  return status;
}

Status HoldableVolume::do_write(std::uint64_t offset, std::span<const std::byte> data) {
  return through_gate([&] { return VolumeWrapper::do_write(offset, data); });
}

Status HoldableVolume::do_flush() {
  return through_gate([&] { return VolumeWrapper::do_flush(); });
}

Status HoldableVolume::do_discard(std::uint64_t offset, std::uint64_t length) {
  return through_gate([&] { return VolumeWrapper::do_discard(offset, length); });
}

}  // namespace freezeframe

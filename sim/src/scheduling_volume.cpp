#include "freezeframe/sim/scheduling_volume.h"

#include <utility>

namespace freezeframe::sim {

Result<std::unique_ptr<SchedulingVolume>> SchedulingVolume::create(
    Volume& base, Scheduler& scheduler, SchedulingVolumeOptions options) {
  return std::unique_ptr<SchedulingVolume>(
      new SchedulingVolume(base, scheduler, std::move(options)));
}

Result<std::unique_ptr<SchedulingVolume>> SchedulingVolume::create(
    std::unique_ptr<Volume> base, Scheduler& scheduler, SchedulingVolumeOptions options) {
  return owning(std::move(base), "scheduling volume",
                [&](Volume& borrowed) { return create(borrowed, scheduler, std::move(options)); });
}

SchedulingVolume::SchedulingVolume(Volume& base, Scheduler& scheduler,
                                   SchedulingVolumeOptions options)
    : VolumeWrapper(base), scheduler_(scheduler), options_(std::move(options)) {}

SchedulingVolume::~SchedulingVolume() = default;

Status SchedulingVolume::schedule(StepKind kind, std::uint64_t offset, std::uint64_t length) {
  Status status = scheduler_.schedule_point(kind, offset, length, options_.ready);
  if (status.ok())
    return status;
  return Status(status.code(), describe(step_kind_name(kind), offset, length, status.message()));
}

Status SchedulingVolume::do_read(std::uint64_t offset, std::span<std::byte> out) {
  FF_TRY(schedule(StepKind::kRead, offset, out.size()));
  return VolumeWrapper::do_read(offset, out);
}

Status SchedulingVolume::do_write(std::uint64_t offset, std::span<const std::byte> data) {
  FF_TRY(schedule(StepKind::kWrite, offset, data.size()));
  return VolumeWrapper::do_write(offset, data);
}

Status SchedulingVolume::do_flush() {
  FF_TRY(schedule(StepKind::kFlush, 0, 0));
  return VolumeWrapper::do_flush();
}

Status SchedulingVolume::do_discard(std::uint64_t offset, std::uint64_t length) {
  FF_TRY(schedule(StepKind::kDiscard, offset, length));
  return VolumeWrapper::do_discard(offset, length);
}

Status SchedulingVolume::do_allocate(std::uint64_t offset, std::uint64_t length) {
  FF_TRY(schedule(StepKind::kAllocate, offset, length));
  return VolumeWrapper::do_allocate(offset, length);
}

}  // namespace freezeframe::sim

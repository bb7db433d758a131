// SchedulingVolume: a volume filter that puts a scheduling point before every request, so
// that tasks of a Scheduler interleave at the granularity of whole Volume requests.
//
// Before each read, write, flush, discard and allocate (after the Volume checks, so an
// invalid request fails without one), the filter calls Scheduler::schedule_point() with the
// request's kind, offset and length (0 and 0 for a flush), then passes the request on
// unchanged. The request then runs alone: no other task of the scheduler moves until the
// calling task reaches its next scheduling point. When the scheduler has aborted the run
// (deadlock or step budget), the request fails with the abort's status (kBadState or
// kLimitExceeded), its message naming this volume, and never reaches the base. Outside a task
// of the scheduler the filter only forwards.
//
// Where it sits matters: above everything that takes locks (a provider, a write cache, the
// volumes an application writes through), never below a layer that can park a request while
// it holds a lock, or another task could block on that lock while the parked one holds the
// scheduler's only turn. Over a volume whose requests can block (a HoldableVolume during a
// commit window), give a `ready` predicate (for example "not held"): the task is not picked
// while it is false, so it never blocks inside the request.
//
// Device properties, identity and size: the base's.
//
// Thread-safety: as the base and the Scheduler. Lifetime: the scheduler and a borrowed base
// must outlive the SchedulingVolume; create() with a std::unique_ptr owns the base.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "freezeframe/sim/scheduler.h"
#include "freezeframe/volume_wrapper.h"

namespace freezeframe::sim {

struct SchedulingVolumeOptions {
  // While false, a task about to make a request here is not picked (see the file comment).
  // Evaluated by the scheduler with every task parked; empty: always ready.
  std::function<bool()> ready{};
};

class SchedulingVolume final : public VolumeWrapper {
 public:
  static Result<std::unique_ptr<SchedulingVolume>> create(Volume& base, Scheduler& scheduler,
                                                          SchedulingVolumeOptions options = {});
  // Also fails with kInvalidArgument if `base` is null.
  static Result<std::unique_ptr<SchedulingVolume>> create(std::unique_ptr<Volume> base,
                                                          Scheduler& scheduler,
                                                          SchedulingVolumeOptions options = {});
  ~SchedulingVolume() override;

 protected:
  Status do_read(std::uint64_t offset, std::span<std::byte> out) override;
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override;
  Status do_flush() override;
  Status do_discard(std::uint64_t offset, std::uint64_t length) override;
  Status do_allocate(std::uint64_t offset, std::uint64_t length) override;

 private:
  SchedulingVolume(Volume& base, Scheduler& scheduler, SchedulingVolumeOptions options);
  // The scheduling point before a request; its error names this volume and the request.
  Status schedule(StepKind kind, std::uint64_t offset, std::uint64_t length);

  Scheduler& scheduler_;
  SchedulingVolumeOptions options_;
};

}  // namespace freezeframe::sim

// OverflowGuard: the overflow policy in action. Before a write takes more diff-area space
// than the maximum allows, make_room() frees space: first by reclaiming what no snapshot
// needs (RoW consolidation, through the SpaceReclaimer the RoW write path hands down), then
// by the configured policy: delete the oldest snapshot, fail the write, or invalidate every
// snapshot. A diff volume whose file system fills up before the maximum is reached
// (on_write_failure()) gets the same treatment. What the policy did is logged (a journal record,
// committed before make_room() returns) and kept as a ProviderEvent (invariant 5: never silent).
// Private to the engine.
//
// Layering: above ProviderState and DiffArea, below the write paths. The guard never calls a
// write path directly; the one upward call, reclaiming space, goes through SpaceReclaimer.
//
// Thread-safety: none inside; the provider's exclusive lock guards every non-const call,
// events() runs under the shared lock. Lifetime: borrows the state, the diff area and the
// reclaimer, which must outlive it (set_reclaimer(nullptr) before the reclaimer goes).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "diff_area.h"
#include "freezeframe/diff_area_settings.h"
#include "provider_state.h"

namespace freezeframe::detail {

// The upward call of the overflow guard: reclaim diff-area space without giving up a
// snapshot or a write. Implemented by the RoW write path (consolidation).
class SpaceReclaimer {
 public:
  virtual ~SpaceReclaimer() = default;
  // Frees what it can; true if it freed anything (the caller then re-plans its write). The
  // records of what it did are committed when it returns OK.
  virtual Result<bool> reclaim_space() = 0;
};

class OverflowGuard {
 public:
  // ProviderEvents kept, most recent last (SnapshotProvider::kEventsMax).
  static constexpr std::size_t kEventsMax = 256;

  OverflowGuard(ProviderState& state, DiffArea& diff_area) : state_(state), diff_area_(diff_area) {}
  OverflowGuard(const OverflowGuard&) = delete;
  OverflowGuard& operator=(const OverflowGuard&) = delete;

  // nullptr: nothing to reclaim before the policy acts (CoW).
  void set_reclaimer(SpaceReclaimer* reclaimer) noexcept { reclaimer_ = reclaimer; }

  // Makes room for `slots` more slots holding `bytes` more bytes (default: whole chunks).
  // OK with `acted` false: there is room. OK with `acted` true: space was reclaimed, or the
  // policy deleted or invalidated snapshots (committed); the caller re-plans its write, since
  // what it must preserve or redirect may have changed. kNoSpace: the policy is fail-writes,
  // or nothing is left to give up.
  Status make_room(std::uint64_t slots, bool& acted);
  Status make_room(std::uint64_t slots, std::uint64_t bytes, bool& acted);

  // A chunk write into a data slot failed with `failure`. When that is kNoSpace (the file
  // system under the diff volume is full, though the diff area is within its maximum), frees
  // space as make_room() does when the maximum is reached: reclaims, else the policy deletes
  // the oldest snapshot or invalidates every snapshot (committed), and returns OK: the caller
  // gives the slot back, re-plans its write and tries again. Each OK gives up a snapshot or
  // reclaims slots, so a caller's retries are bounded. kNoSpace naming the diff area when the
  // policy is fail-writes or nothing is left to give up; any other failure comes back as is.
  Status on_write_failure(const Status& failure);

  // Changes the maximum (validated by the caller) and brings use under it: the policy acts
  // while snapshots remain, then RoW reclaims. kNoSpace, changing nothing, if the new maximum
  // is below current use and the policy is fail-writes.
  Status change_limit(const DiffAreaLimit& limit);
  // Changes the policy (validated by the caller), committed.
  Status change_policy(OverflowPolicy policy);

  std::vector<ProviderEvent> events() const { return {events_.begin(), events_.end()}; }

 private:
  void add_event(ProviderEventKind kind, const Uuid& id, std::string message);
  void invalidate(std::uint32_t tag, const std::string& why);
  // Reclaims, else runs the policy because of `why` (acted: true); kNoSpace saying `why`
  // when the policy is fail-writes or nothing was left to give up.
  Status free_space(const std::string& why, bool& acted);

  ProviderState& state_;
  DiffArea& diff_area_;
  SpaceReclaimer* reclaimer_ = nullptr;
  std::deque<ProviderEvent> events_;
};

}  // namespace freezeframe::detail

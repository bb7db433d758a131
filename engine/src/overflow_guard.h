// OverflowGuard: the overflow policy in action. Before a write takes more diff-area space
// than the maximum allows, make_room() frees space: first by reclaiming what no snapshot
// needs (RoW consolidation, through the SpaceReclaimer the RoW write path hands down), then
// by the configured policy: delete the oldest snapshot, fail the write, or invalidate every
// snapshot. A diff volume whose file system fills up before the maximum is reached
// (on_write_failure()) gets the same treatment. What the policy did is logged (a journal record,
// committed before make_room() returns) and kept as a ProviderEvent (invariant 5: never silent),
// which also goes to the listener, if one is set. make_room() also watches use against the
// usage warning fraction. Private to the engine.
//
// Layering: above ProviderState and DiffArea, below the write paths. The guard never calls a
// write path directly; the one upward call, reclaiming space, goes through SpaceReclaimer.
//
// Thread-safety: none inside; the provider's exclusive lock guards every non-const call,
// events() and deletion_cause() run under the shared lock; the listener is called with the
// exclusive lock held. Lifetime: borrows the state, the diff area and the reclaimer, which
// must outlive it (set_reclaimer(nullptr) before the reclaimer goes).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <utility>
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
  // Called with every event as it is kept (empty: none). It must not throw, nor call back
  // into the provider: the provider's lock is held.
  void set_listener(std::function<void(const ProviderEvent&)> listener) {
    listener_ = std::move(listener);
  }
  // kUsageAboveWarning is reported when a write will take use above `fraction` of the
  // maximum; 0 turns it off. REQUIRES: 0 <= fraction <= 1 (validated by the caller).
  void set_usage_warning(double fraction) noexcept {
    usage_warning_fraction_ = fraction;
    usage_warned_ = false;
  }

  // Makes room for `slots` more slots holding `bytes` more bytes (default: whole chunks).
  // OK with `acted` false: there is room (kUsageAboveWarning is reported if taking it crosses
  // the warning fraction). OK with `acted` true: space was reclaimed, or the policy deleted or
  // invalidated snapshots (committed); the caller re-plans its write, since what it must
  // preserve or redirect may have changed. kNoSpace: the policy is fail-writes, or nothing is
  // left to give up.
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
  // Keeps an event and delivers it to the listener, for the layers that find something to
  // report (kChangeTrackingReset from change tracking). `id`: the snapshot concerned, or nil.
  void report(ProviderEventKind kind, const Uuid& id, std::string message);
  // Why snapshot `id` is gone, if the policy deleted it for space since the provider was
  // opened (one of the last kEventsMax it deleted): "diff area of 'data' is full (...)".
  // nullptr otherwise.
  const std::string* deletion_cause(const Uuid& id) const;

 private:
  // An event about the diff area as it is now.
  void add_event(ProviderEventKind kind, const Uuid& id, std::string message);
  // Keeps `event` (dropping the oldest beyond kEventsMax) and delivers it to the listener.
  void keep(ProviderEvent event);
  // Reports kUsageAboveWarning if use, rising to `used_after`, crosses the warning fraction;
  // re-arms the warning while use is at or below it.
  void watch_usage(std::uint64_t used_after);
  void invalidate(std::uint32_t tag, const std::string& why);
  // Reclaims, else runs the policy because of `why` (acted: true); kNoSpace saying `why`
  // when the policy is fail-writes or nothing was left to give up.
  Status free_space(const std::string& why, bool& acted);

  ProviderState& state_;
  DiffArea& diff_area_;
  SpaceReclaimer* reclaimer_ = nullptr;
  std::deque<ProviderEvent> events_;
  std::function<void(const ProviderEvent&)> listener_;
  // Snapshots the policy deleted for space, and why; the kEventsMax most recent.
  std::deque<std::pair<Uuid, std::string>> deleted_for_space_;
  double usage_warning_fraction_ = 0;
  // kUsageAboveWarning was reported and use has not fallen to the fraction since.
  bool usage_warned_ = false;
};

}  // namespace freezeframe::detail

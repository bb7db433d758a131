#include "overflow_guard.h"

#include <cmath>

#include "byte_math.h"
#include "freezeframe/assert.h"

namespace freezeframe::detail {

using format::Record;
using format::RecordType;

void OverflowGuard::add_event(ProviderEventKind kind, const Uuid& id, std::string message) {
  keep(
      ProviderEvent{kind, id, std::move(message), diff_area_.used_bytes(), diff_area_.max_bytes()});
}

void OverflowGuard::keep(ProviderEvent event) {
  events_.push_back(std::move(event));
  while (events_.size() > kEventsMax)
    events_.pop_front();
  if (listener_)
    listener_(events_.back());
}

void OverflowGuard::report(ProviderEventKind kind, const Uuid& id, std::string message) {
  add_event(kind, id, std::move(message));
}

const std::string* OverflowGuard::deletion_cause(const Uuid& id) const {
  for (auto it = deleted_for_space_.rbegin(); it != deleted_for_space_.rend(); ++it) {
    if (it->first == id)
      return &it->second;
  }
  return nullptr;
}

void OverflowGuard::watch_usage(std::uint64_t used_after) {
  if (usage_warning_fraction_ == 0)
    return;
  const std::uint64_t max = diff_area_.max_bytes();
  const double warning_bytes = usage_warning_fraction_ * static_cast<double>(max);
  // Use that fell to the fraction (snapshots deleted, chunks consolidated) re-arms it.
  if (static_cast<double>(diff_area_.used_bytes()) <= warning_bytes)
    usage_warned_ = false;
  if (usage_warned_ || static_cast<double>(used_after) <= warning_bytes)
    return;
  usage_warned_ = true;
  keep(ProviderEvent{ProviderEventKind::kUsageAboveWarning, Uuid(),
                     diff_area_.name() + " is above its usage warning of " +
                         std::to_string(std::lround(usage_warning_fraction_ * 100)) +
                         "% of its maximum: " + bytes_text(used_after) + " of " + bytes_text(max) +
                         " in use",
                     used_after, max});
}

void OverflowGuard::invalidate(std::uint32_t tag, const std::string& why) {
  const Uuid id = state_.snapshots().at(tag).id;
  Record record;
  record.type = RecordType::kSnapshotInvalidate;
  record.tag = tag;
  record.reason = 1;
  state_.log(record);
  add_event(ProviderEventKind::kSnapshotInvalidated, id,
            "snapshot " + id.to_string() + " invalidated: " + why);
}

Status OverflowGuard::make_room(std::uint64_t slots, bool& acted) {
  return make_room(slots, slots * diff_area_.geometry().chunk_bytes, acted);
}

Status OverflowGuard::make_room(std::uint64_t slots, std::uint64_t bytes, bool& acted) {
  acted = false;
  if (diff_area_.fits(slots, bytes)) {
    watch_usage(diff_area_.used_bytes() + bytes);
    return Status();
  }
  const std::string why = diff_area_.name() + " is full (" + diff_area_.space_text() + ", " +
                          std::to_string(slots) + " more chunks needed)";
  return free_space(why, acted);
}

Status OverflowGuard::on_write_failure(const Status& failure) {
  if (failure.code() != ErrorCode::kNoSpace)
    return failure;
  const std::string why = diff_area_.name() + " is full: its volume has no space left (" +
                          diff_area_.space_text() + "): " + failure.message();
  bool acted = false;
  Status status = free_space(why, acted);
  FF_ASSERT(!status.ok() || acted);
  return status;
}

Status OverflowGuard::free_space(const std::string& why, bool& acted) {
  acted = false;
  // RoW: deleting a snapshot frees no slot by itself (the live volume still reads the
  // redirected chunks); it lets chunks nobody reads in the origin any more fold back. Fold
  // those first, so the policy gives up no more snapshots or writes than it must.
  if (reclaimer_ != nullptr) {
    FF_ASSIGN_OR_RETURN(bool reclaimed, reclaimer_->reclaim_space());
    if (reclaimed) {
      acted = true;
      return Status();
    }
  }
  switch (state_.policy()) {
    case OverflowPolicy::kFailWrites:
      add_event(ProviderEventKind::kWriteFailedNoSpace, Uuid(), why + "; write refused");
      return Status(ErrorCode::kNoSpace, why + "; overflow policy fail-writes refused the write");
    case OverflowPolicy::kDeleteOldest: {
      if (state_.active().empty())
        break;
      const std::uint32_t oldest = *state_.active().begin();
      const Uuid id = state_.snapshots().at(oldest).id;
      Record record;
      record.type = RecordType::kSnapshotDelete;
      record.tag = oldest;
      state_.log(record);
      deleted_for_space_.emplace_back(id, why);
      while (deleted_for_space_.size() > kEventsMax)
        deleted_for_space_.pop_front();
      add_event(ProviderEventKind::kSnapshotDeletedForSpace, id,
                "snapshot " + id.to_string() + " deleted by overflow policy delete-oldest: " + why);
      acted = true;
      break;
    }
    case OverflowPolicy::kInvalidateSnapshot: {
      if (state_.active().empty())
        break;
      const std::vector<std::uint32_t> tags(state_.active().begin(), state_.active().end());
      for (std::uint32_t tag : tags)
        invalidate(tag, "overflow policy invalidate-snapshot: " + why);
      acted = true;
      break;
    }
  }
  if (acted)
    return state_.commit();
  return Status(ErrorCode::kNoSpace, why);
}

Status OverflowGuard::change_limit(const DiffAreaLimit& limit) {
  const std::uint64_t new_max = diff_area_.max_bytes_for(limit);
  if (diff_area_.used_bytes() > new_max && state_.policy() == OverflowPolicy::kFailWrites) {
    return Status(ErrorCode::kNoSpace, diff_area_.name() + ": cannot shrink the maximum to " +
                                           limit.to_string() + " (" + bytes_text(new_max) +
                                           "): " + bytes_text(diff_area_.used_bytes()) +
                                           " are in use and the overflow policy is fail-writes");
  }
  state_.log(format::limit_record(limit, state_.policy()));
  while (diff_area_.used_bytes() > diff_area_.max_bytes() && !state_.active().empty()) {
    bool acted = false;
    Status status = make_room(0, acted);
    if (!status.ok() && status.code() != ErrorCode::kNoSpace)
      return status;
  }
  FF_TRY(state_.commit());
  // RoW: with no snapshot left, the live volume's own chunks fold back into the origin.
  if (diff_area_.used_bytes() > diff_area_.max_bytes() && reclaimer_ != nullptr)
    FF_TRY(reclaimer_->reclaim_space().status());
  return Status();
}

Status OverflowGuard::change_policy(OverflowPolicy policy) {
  state_.log(format::limit_record(diff_area_.limit(), policy));
  return state_.commit();
}

}  // namespace freezeframe::detail

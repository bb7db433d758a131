// FaultVolume: a volume filter that fails chosen requests with kIoError, as a failing disk
// or link does (or with another code a rule names: kNoSpace, as a full file system does).
//
// FaultRule objects pick the requests to fail: the Nth matching operation, every matching
// operation from the Nth on, operations touching an offset range, or each matching operation
// with a probability (drawn from the seeded generator). Rules are checked in the order they
// were added; the first that fires fails the request, which then never reaches the base: a
// failed write or discard changes nothing, a failed flush makes nothing more durable. Every
// other request goes to the base unchanged. Requests are counted where this filter sits in
// a stack: over a write cache it sees every write, under one it sees only what the cache
// writes back and flushes.
//
// Determinism: probabilistic rules draw from Random(seed).fork("sim-volume/faults"), and only
// when a request matches them; the same seed and the same sequence of requests fail the same
// requests. (SimVolume draws from the same stream, so a SimVolume and a FaultVolume with one
// seed inject the same faults.)
//
// Device properties and size: the base's. Identity: the base's unless the options name
// another (a composition such as SimVolume passes its own, so injected errors name the volume
// the caller used).
//
// Thread-safety: all methods may be called concurrently; one mutex guards the rules and the
// statistics (it is not held while the base works). For deterministic runs, drive it from one
// thread.
//
// Lifetime: create(Volume&, ...) borrows the base, which must outlive the FaultVolume;
// create(std::unique_ptr<Volume>, ...) owns it and destroys it with the FaultVolume.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "freezeframe/random.h"
#include "freezeframe/sim/request_filter.h"

namespace freezeframe::sim {

struct FaultRule {
  enum class Trigger : std::uint8_t {
    // Fail the `n`-th matching operation counted from when the rule was added (1-based).
    kNth,
    // Fail every matching operation from the `n`-th on.
    kFromNth,
    // Fail matching operations that overlap [offset, offset + length). Flushes never match.
    kRange,
    // Fail each matching operation with `probability`.
    kProbability,
  };
  Trigger trigger = Trigger::kNth;
  IoOperationMask operations = kAllOperations;
  std::uint64_t n = 1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  double probability = 0.0;
  // Stop firing after this many failures; 0 = no limit.
  std::uint64_t failures_max = 0;
  // What a fired rule fails the request with: kIoError (a failing disk) or kNoSpace (a full
  // file system under the volume).
  ErrorCode code = ErrorCode::kIoError;
};

using FaultId = std::uint64_t;

struct FaultVolumeOptions {
  // Seeds probabilistic rules.
  std::uint64_t seed = 0;
  // Non-null: probabilistic rules draw from this tape first (random.h, ChoiceTape).
  ChoiceTape* choices = nullptr;
  // Identity to present; empty / nil: the base's name / UUID.
  std::string name{};
  Uuid uuid{};
};

struct FaultVolumeStats {
  // Requests failed by a rule.
  std::uint64_t injected_failures = 0;
  // Requests passed to the base (whatever the base then answered).
  std::uint64_t requests_passed = 0;
};

class FaultVolume final : public RequestFilter {
 public:
  static Result<std::unique_ptr<FaultVolume>> create(Volume& base,
                                                     const FaultVolumeOptions& options = {});
  // Fails with kInvalidArgument if `base` is null.
  static Result<std::unique_ptr<FaultVolume>> create(std::unique_ptr<Volume> base,
                                                     const FaultVolumeOptions& options = {});
  ~FaultVolume() override;

  const VolumeIdentity& identity() const noexcept override { return identity_; }

  FaultId add_fault(const FaultRule& rule);
  // False if no rule has that id.
  bool remove_fault(FaultId id);
  void clear_faults();

  FaultVolumeStats stats() const;
  void reset_stats();

 protected:
  // Fails the request if a rule fires.
  Status admit(IoOperation operation, std::uint64_t offset, std::uint64_t length) override;

 private:
  struct ActiveFault {
    FaultRule rule{};
    std::uint64_t matched = 0;
    std::uint64_t fired = 0;
  };

  FaultVolume(Volume& base, const FaultVolumeOptions& options);

  VolumeIdentity identity_;
  mutable std::mutex mutex_;
  Random random_;
  std::map<FaultId, ActiveFault> faults_;  // ordered by id: rules fire in the order added
  FaultId next_fault_id_ = 1;
  FaultVolumeStats stats_;
};

}  // namespace freezeframe::sim

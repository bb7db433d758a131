// WorldDatabase: the simulator's transactional writer under load. A TransactionalApp (a
// write-ahead-logging database that is also a Writer) keeps its data and log volumes on two
// providers of one kind, each over a simulated origin and diff volume (SimVolume: a crash
// keeps an arbitrary subset of the unflushed sectors). The world runs its transactions
// between other steps, adds its volumes and the app itself to snapshot sets, and cuts its
// power with everything else. Private to sim/.
//
// Checks (the world reports each failure as a finding):
// - a snapshot set that included the app shows both volumes application-consistent
//   (ConsistencyChecker: kConsistent), since the app froze for it;
// - after a set, whatever its outcome, the app is not frozen and no snapshot of its volumes is
//   left (the world deletes the set's after checking them);
// - after a power loss, the live volumes are at least crash-consistent (kRecoverable: the
//   log replays), never kCorrupt; the world then recovers them and starts the app afresh.
//
// Thread-safety: one thread at a time (the world's).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "freezeframe/holdable_volume.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/sim_volume.h"
#include "freezeframe/sim/transactional_app.h"
#include "freezeframe/snapshot_provider.h"
#include "freezeframe/snapshot_set.h"

namespace freezeframe::sim::detail {

class WorldDatabase {
 public:
  // The names its volumes take in snapshot sets.
  static constexpr const char* kDataName = "db-data";
  static constexpr const char* kLogName = "db-log";

  static Result<std::unique_ptr<WorldDatabase>> create(std::uint64_t seed, ProviderKind kind);

  // Runs `steps` I/Os of the app's transactions.
  Status run(std::uint64_t steps);

  ProviderKind kind() const noexcept { return kind_; }
  SnapshotProvider& data_provider() { return *data_.provider; }
  SnapshotProvider& log_provider() { return *log_.provider; }
  HoldableVolume& data_volume() { return *data_.holdable; }
  HoldableVolume& log_volume() { return *log_.holdable; }
  TransactionalApp& app() { return *app_; }
  std::uint64_t transactions() const;

  // After a set that took snapshots `data_id` and `log_id` of the app's volumes: both must
  // check kConsistent; then they are deleted. Empty, or what failed.
  Result<std::string> check_set(const Uuid& data_id, const Uuid& log_id);
  // After any set: the app is not frozen and its providers hold no snapshot. Empty, or what
  // is wrong.
  std::string check_clean();
  // Power loss on both volumes, reopen: the live pair must not check kCorrupt. Then recovers
  // it and starts the app afresh. Empty, or what failed.
  Result<std::string> crash();

 private:
  struct Disk {
    std::unique_ptr<MemoryVolume> origin_base{};
    std::unique_ptr<MemoryVolume> diff_base{};
    std::unique_ptr<SimVolume> origin{};
    std::unique_ptr<SimVolume> diff{};
    std::unique_ptr<SnapshotProvider> provider{};
    std::unique_ptr<HoldableVolume> holdable{};
  };

  WorldDatabase(std::uint64_t seed, ProviderKind kind);
  Status make_disk(Disk& disk, const std::string& name, std::uint64_t bytes);
  Status start_app();

  std::uint64_t seed_;
  ProviderKind kind_;
  Random uuids_;
  std::uint64_t generation_ = 0;  // apps started, for their seeds
  Disk data_;
  Disk log_;
  std::unique_ptr<TransactionalApp> app_;
};

}  // namespace freezeframe::sim::detail

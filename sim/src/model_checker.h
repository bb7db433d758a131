// ModelChecker: the driver behind run_model_check() (model_check.h), one world of a provider
// and its reference model, exposed to the rest of sim/ so that the simulator (world.h) can
// run several of them side by side and step each one operation at a time. Private to sim/.
//
// Each step method runs one operation against the provider and the model and returns false
// at the first divergence, which divergence() then holds (it keeps the first one only).
// Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/model_check.h"
#include "freezeframe/sim/reference_model.h"
#include "freezeframe/sim/sim_volume.h"
#include "freezeframe/snapshot_provider.h"

namespace freezeframe::sim::detail {

using Bytes = std::vector<std::byte>;
using Operation = ModelOperation;

// Up to 16 bytes from `at`, in hex.
std::string hex_at(std::span<const std::byte> bytes, std::size_t at);

class ModelChecker {
 public:
  explicit ModelChecker(const ModelCheckOptions& options)
      : options_(options),
        random_(options.seed, options.choices),
        uuids_(Random(options.seed).fork("uuids")),
        model_(options.origin_bytes) {}

  Status build();
  ModelCheckReport run();

  // One step: draws an operation from the mix (with this checker's own Random) and runs it.
  bool step();
  // Runs `operation` (it must be available()).
  bool run_operation(Operation operation);
  // The checks after the last step: everything compared, the catalog, the space accounting.
  bool final_checks();
  // The provider's catalog lists exactly the model's snapshots, oldest first.
  bool check_catalog();
  // Labels what a divergence found from now on reports.
  void set_position(std::uint64_t step, std::string operation) {
    step_ = step;
    operation_ = std::move(operation);
  }
  // Records a divergence found by a caller (for example a world-level check).
  bool diverged(std::string subject, std::uint64_t offset, std::uint64_t length,
                std::string expected, std::string actual);
  bool available(Operation operation) const;
  // Makes the model follow what the provider's events reported since the last call
  // (snapshots the overflow policy deleted for space). Every step does it first.
  void apply_events();
  // Adds a snapshot taken of the live volume by other means (a snapshot set).
  void snapshot_taken(const Uuid& id) { model_.snapshot_created(id); }

  SnapshotProvider& provider() { return *provider_; }
  const ReferenceModel& model() const { return model_; }
  // For a caller that drives the provider itself (the simulator's concurrent steps) and
  // keeps the model in step.
  ReferenceModel& mutable_model() { return model_; }
  const ModelCheckOptions& options() const { return options_; }
  const ModelCheckCounts& counts() const { return counts_; }
  const std::optional<Divergence>& divergence() const { return divergence_; }
  Random& random() { return random_; }
  Random& uuids() { return uuids_; }
  std::string snapshot_subject(std::size_t index) const;

 private:
  bool write();
  bool discard();
  bool read_snapshot();
  bool create_snapshot();
  bool delete_snapshot();
  bool revert();
  bool consolidate();
  bool flush();
  bool reopen();
  bool crash();
  bool check_all();
  bool integrity();
  bool changed_extents();
  bool io_fault();
  ProviderOpenOptions open_options();
  void record_event(const ProviderEvent& event);

  Operation draw();
  std::pair<std::uint64_t, std::uint64_t> random_range(std::uint64_t max_bytes);
  bool check_read(Volume& volume, const Bytes& image, const std::string& subject);
  ModelCheckWorld world();

  // Each records the first divergence and returns false, or returns true.
  bool expect_ok(const Status& status, std::string subject, std::uint64_t offset = 0,
                 std::uint64_t length = 0);
  bool expect_code(const Status& status, ErrorCode code, std::string subject);
  bool expect_same(std::span<const std::byte> expected, std::span<const std::byte> actual,
                   std::uint64_t offset, std::string subject);

  ModelCheckOptions options_;
  Random random_;
  Random uuids_;
  ReferenceModel model_;
  std::unique_ptr<MemoryVolume> origin_base_;
  std::unique_ptr<MemoryVolume> diff_base_;
  std::unique_ptr<SimVolume> origin_sim_;  // crash mode only
  std::unique_ptr<SimVolume> diff_sim_;
  Volume* origin_ = nullptr;  // what the provider stands on
  Volume* diff_ = nullptr;
  std::unique_ptr<SnapshotProvider> provider_;
  std::uint64_t step_ = 0;
  std::string operation_{};
  ModelCheckCounts counts_{};
  std::optional<Divergence> divergence_{};
  // Events the provider reported and the model has not followed yet.
  std::mutex events_mutex_;
  std::vector<ProviderEvent> events_;
};

}  // namespace freezeframe::sim::detail

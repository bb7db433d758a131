// VssProvider: the `vss` ProtocolProvider (freezeframe/vss.h says what each protocol call
// does with VSS). One VssBackend per snapshot set: made at end_prepare, driven to
// DoSnapshotSet at pre_commit, then kept for an auto-release set (its shadow copies live as
// long as the object) or completed and released for a persistent one. create_vss_provider()
// builds it over the real VSS; tests build it over a fake object. Private to platform/windows.
//
// Thread-safety: every method may be called from any thread; abort() during a VSS step
// running on another thread makes that step fail at its next poll (VssBackend::abort).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "freezeframe/protocol_provider.h"
#include "vss_backend.h"

namespace freezeframe::windows {

class VssProvider final : public ProtocolProvider {
 public:
  // kUnsupported where VSS is not available: one object is made and released to find out.
  // options.on_release runs when the provider is destroyed (not per object).
  static Result<std::unique_ptr<VssProvider>> create(VssApi api, VssBackendOptions options);
  ~VssProvider() override;
  VssProvider(const VssProvider&) = delete;
  VssProvider& operator=(const VssProvider&) = delete;

  const Uuid& id() const noexcept override { return id_; }
  const std::string& name() const noexcept override { return name_; }
  ProviderKind kind() const noexcept override { return ProviderKind::kCopyOnWrite; }
  // Names VSS takes: a drive ("C:", "C:\"), a volume GUID path ("\\?\Volume{...}\") or a
  // mounted folder ("C:\mount\").
  bool is_volume_supported(std::string_view volume) const override;
  bool holds_io_itself() const noexcept override { return true; }

  Status begin_prepare(const Uuid& set_id, std::string_view volume,
                       std::uint32_t attributes) override;
  Status end_prepare(const Uuid& set_id) override;
  Status pre_commit(const Uuid& set_id) override;
  Status commit(const Uuid& set_id) override;
  Status post_commit(const Uuid& set_id) override;
  Status abort(const Uuid& set_id) override;

  Status delete_snapshot(const Uuid& snapshot_id) override;
  std::vector<SnapshotInfo> query() const override;
  Result<std::unique_ptr<Volume>> open_snapshot(const Uuid& snapshot_id) override;

 private:
  struct Snapshot {
    SnapshotInfo info;  // id: VSS's; set_id: the coordinator's
    std::wstring device;
  };
  struct Set {
    Uuid set_id;
    std::uint32_t attributes = 0;
    std::vector<std::string> volumes;
    // Shared: abort() may reach it while a step runs on another thread.
    std::shared_ptr<VssBackend> backend;
    bool created = false;  // DoSnapshotSet succeeded
    std::vector<Snapshot> snapshots;
  };

  VssProvider(VssApi api, VssBackendOptions options);
  bool auto_release(const Set& set) const { return (set.attributes & kAttrNoAutoRelease) == 0; }
  // The prepared set `set_id`'s backend, or an error naming the call.
  Result<std::shared_ptr<VssBackend>> pending_backend(const Uuid& set_id, const char* call) const;
  // Ends a set that failed or was aborted: its backend aborted (shadow copies deleted by it),
  // or, once released, each shadow copy deleted by id.
  Status discard(Set set);

  VssApi api_;
  VssBackendOptions options_;
  Uuid id_;
  std::string name_;

  mutable std::mutex mutex_;
  std::optional<Set> pending_;  // begin_prepare to post_commit
  std::vector<Set> held_;       // committed sets with snapshots left
};

}  // namespace freezeframe::windows

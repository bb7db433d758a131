// Providers as the coordinator sees them, and the registry that selects one per volume.
//
// A Provider takes the snapshots of a snapshot set, in the VSS call order (see
// docs/protocol.md):
//
//   begin_prepare(set, volume, attributes)   once per volume of the set it was chosen for
//   end_prepare(set)                          rendezvous; may be long
//   pre_commit(set)                           writers are frozen: make commit instant
//   commit(set)                               I/O is held on every volume: must be fast
//   post_commit(set)                          I/O released, writers not yet thawed
//   abort(set)                                the set failed: discard everything of it
//
// abort() may come at any point after begin_prepare, also while another call of the same
// set is still running on a stalled thread; whatever that call creates afterwards must be
// discarded too. A begin_prepare() with a new set id discards any half-prepared state of an
// earlier set that was never committed (the coordinator does not tell a provider about a
// creation that failed before do_snapshot_set).
//
// BlockSnapshotProvider implements the interface over SnapshotProviders (CoW or RoW), one
// per volume: commit() is create_snapshot(set_id, attributes) on each prepared volume, with
// kAttrDifferential added for copy-on-write.
//
// Thread-safety: every method may be called from any thread.
// Lifetime: volumes added to a BlockSnapshotProvider and providers added to a registry are
// borrowed and must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "freezeframe/snapshot_provider.h"
#include "freezeframe/status.h"
#include "freezeframe/uuid.h"

namespace freezeframe {

class Provider {
 public:
  virtual ~Provider() = default;

  virtual const Uuid& id() const noexcept = 0;
  virtual const std::string& name() const noexcept = 0;
  virtual ProviderKind kind() const noexcept = 0;
  virtual bool is_volume_supported(std::string_view volume) const = 0;

  // `attributes`: the context's bits (writer.h kAttr*); the provider adds its own.
  virtual Status begin_prepare(const Uuid& set_id, std::string_view volume,
                               std::uint32_t attributes) = 0;
  virtual Status end_prepare(const Uuid& set_id) = 0;
  virtual Status pre_commit(const Uuid& set_id) = 0;
  virtual Status commit(const Uuid& set_id) = 0;
  virtual Status post_commit(const Uuid& set_id) = 0;
  // Discards every snapshot and every bit of state of `set_id`. Idempotent.
  virtual Status abort(const Uuid& set_id) = 0;

  virtual Status delete_snapshot(const Uuid& snapshot_id) = 0;
  // Every snapshot the provider holds, on every volume it serves.
  virtual std::vector<SnapshotInfo> query() const = 0;
};

class BlockSnapshotProvider final : public Provider {
 public:
  // `id` nil: derived from the name (Uuid::from_name), so it is stable across runs.
  BlockSnapshotProvider(std::string name, ProviderKind kind, Uuid id = Uuid());

  // Serves the volume `volume` through `provider` (whose kind must match). `volume` empty:
  // the provider's own name. kAlreadyExists if the name is taken.
  Status add_volume(SnapshotProvider& provider, std::string volume = {});

  const Uuid& id() const noexcept override { return id_; }
  const std::string& name() const noexcept override { return name_; }
  ProviderKind kind() const noexcept override { return kind_; }
  bool is_volume_supported(std::string_view volume) const override;

  Status begin_prepare(const Uuid& set_id, std::string_view volume,
                       std::uint32_t attributes) override;
  Status end_prepare(const Uuid& set_id) override;
  Status pre_commit(const Uuid& set_id) override;
  Status commit(const Uuid& set_id) override;
  Status post_commit(const Uuid& set_id) override;
  Status abort(const Uuid& set_id) override;
  Status delete_snapshot(const Uuid& snapshot_id) override;
  std::vector<SnapshotInfo> query() const override;

 private:
  struct PreparedVolume {
    std::string volume{};
    std::uint32_t attributes = 0;
  };
  struct SetState {
    std::vector<PreparedVolume> volumes{};
    std::vector<std::pair<std::string, Uuid>> created{};
    bool aborted = false;
  };
  static constexpr std::size_t kAbortedSetsMax = 16;

  SnapshotProvider* volume_provider(std::string_view volume) const;
  Status discard_snapshots_of(const Uuid& set_id);

  std::string name_;
  ProviderKind kind_;
  Uuid id_;
  mutable std::mutex mutex_;
  std::map<std::string, SnapshotProvider*, std::less<>> volumes_;
  std::map<Uuid, SetState> sets_;
  std::vector<Uuid> aborted_order_;
};

class ProviderRegistry {
 public:
  // kAlreadyExists if a provider with the same id or name is registered.
  Status add(Provider& provider);
  Status remove(const Uuid& provider_id);
  // The provider chosen for `volume` when the requestor names none. kNotFound for an
  // unknown provider; kUnsupported if it refuses the volume.
  Status set_default(std::string volume, const Uuid& provider_id);

  Result<Provider*> find(const Uuid& provider_id) const;
  Result<Provider*> find(std::string_view provider_name) const;
  // `provider_id` nil: the volume's default, else the first registered provider that
  // supports it (kUnsupported if none). Otherwise that provider (kNotFound if unknown),
  // which must support the volume (kUnsupported naming both otherwise).
  Result<Provider*> select(std::string_view volume, const Uuid& provider_id = Uuid()) const;
  std::vector<Provider*> providers() const;

 private:
  mutable std::mutex mutex_;
  std::vector<Provider*> providers_;
  std::map<std::string, Uuid, std::less<>> defaults_;
};

}  // namespace freezeframe

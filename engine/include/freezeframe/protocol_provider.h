// The protocol's provider: what the coordinator calls to take the snapshots of a set, an
// adapter that serves it from the block snapshot engine, and the registry that selects one
// per volume. Three names for three things:
//
//   ProtocolProvider       the interface (a VSS software provider)
//   BlockSnapshotAdapter   a ProtocolProvider over SnapshotProviders (the CoW/RoW engine of
//                          snapshot_provider.h), one per volume
//   ProviderRegistry       the ProtocolProviders a Coordinator knows, and each volume's default
//
// A ProtocolProvider takes the snapshots of a snapshot set, in the VSS call order (see
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
// BlockSnapshotAdapter: commit() is create_snapshot(set_id, attributes) on each prepared
// volume's SnapshotProvider, with kAttrDifferential added for copy-on-write.
//
// Thread-safety: every method may be called from any thread.
// Lifetime: SnapshotProviders added to an adapter and providers added to a registry are
// borrowed and must outlive it. A volume from open_snapshot() must not outlive the provider.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "freezeframe/snapshot_provider.h"
#include "freezeframe/status.h"
#include "freezeframe/uuid.h"
#include "freezeframe/volume.h"

namespace freezeframe {

class ProtocolProvider {
 public:
  virtual ~ProtocolProvider() = default;

  virtual const Uuid& id() const noexcept = 0;
  virtual const std::string& name() const noexcept = 0;
  virtual ProviderKind kind() const noexcept = 0;
  virtual bool is_volume_supported(std::string_view volume) const = 0;
  // True for a provider that holds its volumes' I/O itself while it commits, as VSS does
  // through the volume's driver (the vss provider of freezeframe/vss.h). The coordinator then
  // needs no HoldableVolume for a volume this provider takes (Coordinator::add_volume), and
  // holds none: the provider's commit is the point in time, taken while the writers are
  // frozen. False for the block engine's adapter, whose volumes the coordinator holds.
  virtual bool holds_io_itself() const noexcept { return false; }

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
  // Every snapshot the provider holds, on every volume it serves; each names its origin
  // (SnapshotInfo::origin_name) by the volume name the protocol uses for it.
  virtual std::vector<SnapshotInfo> query() const = 0;
  // Snapshot `snapshot_id` as a read-only Volume. kNotFound if the provider holds none.
  virtual Result<std::unique_ptr<Volume>> open_snapshot(const Uuid& snapshot_id) = 0;
  // Change tracking: the chunks of the snapshot's volume written between change id
  // `since_change_id` and the snapshot (SnapshotProvider::changed_extents). kNotFound if the
  // provider holds no such snapshot; kUnsupported from a provider that does not track.
  virtual Result<ChangedExtents> changed_extents(const Uuid& snapshot_id,
                                                 std::string_view since_change_id) const {
    (void)since_change_id;
    return Status(ErrorCode::kUnsupported, "provider '" + name() +
                                               "' does not track changes (snapshot " +
                                               snapshot_id.to_string() + ")");
  }
};

class BlockSnapshotAdapter : public ProtocolProvider {
 public:
  // `id` nil: derived from the name (Uuid::from_name), so it is stable across runs.
  static std::unique_ptr<BlockSnapshotAdapter> create(std::string name, ProviderKind kind,
                                                      Uuid id = Uuid());

  // Serves the volume `volume` through `engine` (whose kind must match). `volume` empty:
  // the engine's own name. kAlreadyExists if the name is taken.
  Status add_volume(SnapshotProvider& engine, std::string volume = {}) {
    return add_engine(engine, std::move(volume));
  }

 protected:
  BlockSnapshotAdapter() = default;
  virtual Status add_engine(SnapshotProvider& engine, std::string volume) = 0;
};

class ProviderRegistry {
 public:
  ProviderRegistry();
  ~ProviderRegistry();
  ProviderRegistry(const ProviderRegistry&) = delete;
  ProviderRegistry& operator=(const ProviderRegistry&) = delete;

  // kAlreadyExists if a provider with the same id or name is registered.
  Status add(ProtocolProvider& provider);
  Status remove(const Uuid& provider_id);
  // The provider chosen for `volume` when the requestor names none. kNotFound for an
  // unknown provider; kUnsupported if it refuses the volume.
  Status set_default(std::string volume, const Uuid& provider_id);

  Result<ProtocolProvider*> find(const Uuid& provider_id) const;
  Result<ProtocolProvider*> find(std::string_view provider_name) const;
  // `provider_id` nil: the volume's default, else the first registered provider that
  // supports it (kUnsupported if none). Otherwise that provider (kNotFound if unknown),
  // which must support the volume (kUnsupported naming both otherwise).
  Result<ProtocolProvider*> select(std::string_view volume, const Uuid& provider_id = Uuid()) const;
  std::vector<ProtocolProvider*> providers() const;

 private:
  class Entries;  // defined in protocol_provider.cpp
  std::unique_ptr<Entries> entries_;
};

}  // namespace freezeframe

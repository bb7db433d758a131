// SnapshotSet: the snapshots of several volumes taken at one instant, as a BackupSession
// returns it, and the options for taking one in a single call.
//
// A SnapshotSet is plain data: it names the snapshots, it does not own them. Whether they
// outlive the session depends on the context (auto-release contexts are deleted when the
// session ends; see backup_session.h). Read a snapshot through the session that took it
// (BackupSession::open_snapshot) or through its provider (ProtocolProvider::open_snapshot).
#pragma once

#include <vector>

#include "freezeframe/snapshot_provider.h"
#include "freezeframe/uuid.h"
#include "freezeframe/writer.h"

namespace freezeframe {

struct SnapshotSet {
  Uuid id{};
  SnapshotContext context = SnapshotContext::kBackup;
  // One per volume, in the order the volumes were added.
  std::vector<SnapshotInfo> snapshots{};
};

// For Coordinator::take_snapshot_set.
struct SnapshotSetOptions {
  SnapshotContext context = SnapshotContext::kBackup;
  BackupType backup_type = BackupType::kFull;
  // Nil: each volume's default provider.
  Uuid provider_id{};
};

}  // namespace freezeframe

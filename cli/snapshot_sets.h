// Snapshot-set creation for the command: the one place that takes snapshots, so that every
// command and script creates sets the same way, through the writers the store knows.
//
// A SetEngine lives for one command (or one script or shell session). Snapshots of an
// auto-release context (backup, filesharebackup) it creates are deleted when it is released
// or destroyed, as VSS deletes them when the requestor exits; persistent ones stay.
//
// The store's writer: every store has one built-in writer, "freezeframe volume writer",
// whose components are the store's volumes; at freeze it flushes the volumes of the set, so
// every write a command completed is in the snapshot and durable.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "freezeframe/writer.h"
#include "store.h"

namespace freezeframe::cli {

struct SetRequest {
  std::vector<std::string> volumes;  // store volume names
  SnapshotContext context = SnapshotContext::kClientAccessible;
  BackupType backup_type = BackupType::kCopy;
  // Writers by name or class id: left out of the set, or required to succeed.
  std::vector<std::string> writers_excluded;
  std::vector<std::string> writers_verified;
};

struct CreatedSet {
  Uuid id;
  SnapshotContext context = SnapshotContext::kBackup;
  std::vector<ShadowRef> shadows;  // one per volume, in request order
};

struct WriterRow {
  std::string name;
  Uuid class_id;
  Uuid instance_id;
  WriterState state = WriterState::kStable;
  WriterFailure failure = WriterFailure::kNone;
  std::string message;
};

struct ProviderRow {
  std::string name;
  ProviderKind kind = ProviderKind::kCopyOnWrite;
  Uuid id;
  std::string version;
};

// The providers every store offers (one per kind).
std::vector<ProviderRow> store_providers();
// A provider named by kind ("cow"), display name or id.
Result<ProviderKind> find_provider(std::string_view text);

class SetEngine {
 public:
  // `log`: where progress of the protocol is reported in verbose mode; nullptr for none.
  static Result<std::unique_ptr<SetEngine>> open(Store& store, std::ostream* log = nullptr);
  ~SetEngine();
  SetEngine(const SetEngine&) = delete;
  SetEngine& operator=(const SetEngine&) = delete;

  // Takes one snapshot set across request.volumes (each must have shadow storage). On
  // failure nothing of the set is left; the Status names the volume, writer or provider.
  Result<CreatedSet> create(const SetRequest& request);
  // backup_complete to the writers of every set created with a backup type other than copy.
  Status backup_complete();
  // Deletes every auto-release snapshot this engine created and not yet released.
  Status release();
  void forget(const Uuid& shadow_id);
  std::vector<WriterRow> writers();
  // kNotFound unless a writer has this name or class id.
  Status check_writer(std::string_view name_or_id);
  // kNotFound unless that writer has the component: its name, or its logical path and name
  // joined by '\' (diskshadow's "writer:\path\name" after the "writer:\").
  Status check_component(std::string_view writer_name_or_id, std::string_view component);

  struct Impl;

 private:
  explicit SetEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace freezeframe::cli

// The steps of the snapshot protocol, one enum for all of them: the writer events (the
// first group; writer.h calls a value of it a WriterEvent), the provider calls, the I/O
// hold, and the requestor's calls. The event log (protocol_log.h) and SetFailure
// (backup_session.h) name phases with it; protocol_phase_name() gives the stable name the
// JSON log and the messages use. The numeric values are not stable; the names are.
#pragma once

#include <cstdint>
#include <string_view>

namespace freezeframe {

enum class ProtocolPhase : std::uint8_t {
  // Writer events, in the order of their failed-at states (WriterState): writer.cpp maps
  // one to the other by position. Abort, which cannot fail, comes last.
  kIdentify,
  kPrepareBackup,
  kPrepareSnapshot,
  kFreeze,
  kThaw,
  kPostSnapshot,
  kBackupComplete,
  kPreRestore,
  kPostRestore,
  kBackupShutdown,
  kAbort,  // a writer's abort event, or a provider's abort(set)
  // Provider calls.
  kBeginPrepare,
  kEndPrepare,
  kPreCommit,
  kCommit,
  kPostCommit,
  kDeleteSnapshot,
  kAutoRelease,  // register_provider() deleting what a dead process left
  kQuery,
  // Volumes.
  kHoldIo,
  kReleaseIo,
  // The requestor's calls, and the set as a whole.
  kInitial,  // nothing called yet
  kStartSnapshotSet,
  kPrepareForBackup,
  kDoSnapshotSet,
  kSnapshotSet,  // the outcome of the set
  kBackup,       // after the set was created, while the requestor copies
};

// "identify", "prepare-backup", "begin-prepare", "hold-io", "snapshot-set", ...
std::string_view protocol_phase_name(ProtocolPhase phase) noexcept;
// Whether `phase` is a writer event (kIdentify to kAbort).
constexpr bool is_writer_event(ProtocolPhase phase) noexcept {
  return phase <= ProtocolPhase::kAbort;
}

}  // namespace freezeframe

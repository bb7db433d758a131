// LocalStoreBackend: an export served from a store this process opens itself, with the store's
// lock, through the volume's provider stack (so every write to a live volume is preserved or
// redirected and tracked, as a write through the freezeframe command is).
//
// What is exported (ExportSpec):
//   volume            the live volume, read-write; the store is locked exclusively
//   snapshot          a snapshot, read-only; the store is locked shared, so reading commands
//                     (`shadow list`, `shadow export`) still run while it is served
//   changes_since     with either: the same data, but the map (extents()) lists only what
//                     changed since that point: a change id (`ffcbt1:...`) or a snapshot of
//                     the volume. Unchanged runs are reported as holes that read as zeros, so
//                     that a copy onto an image of the earlier point skips them.
//
// The map of a volume or snapshot export: a run is a hole (reading as zeros) where the
// volume's image file has a hole and the view reads zeros there: for a CoW view, directly
// where no write since the view's point could have placed data elsewhere (change tracking),
// and otherwise after reading the run through the view and finding zeros. Everything else is
// data. The map never reports zeros that do not read as zeros.
//
// Errors at open name the store, the volume and the snapshot, and say what to do: a missing
// store, an unknown volume or snapshot, a store locked by another process (its pid), a change
// id that can no longer be answered (its reason).
//
// Thread-safety: as ExportBackend. The store itself is used only while opening.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "export_backend.h"

namespace freezeframe::nbd {

struct ExportSpec {
  std::filesystem::path store;
  // At least one of the two. With both, the snapshot must be one of the volume's.
  std::string volume;
  std::string snapshot;
  // Empty: the map is the allocation map.
  std::string changes_since;
};

// Opens the store and the export that `spec` names.
Result<std::unique_ptr<ExportBackend>> open_local_store_backend(const ExportSpec& spec);

}  // namespace freezeframe::nbd

// Upgrading a version 1 diff area to version 2 in place, and filling the chunk checksum table
// (after an upgrade, or when a repair rebuilds it). Private to the engine.
//
// Crash safety: the upgrade never overwrites anything the version 1 state on disk still
// reads until the version 2 superblock is durable, and the table is filled after that under
// a superblock flag (kSumTableRebuilding) that the next writable open acts on. So a crash at
// any point leaves a version 1 area that opens as before, or a version 2 one whose table
// rebuild is finished by the next writable open. See docs/formats/diff-area.md, "Upgrade".
#pragma once

#include "diff_area.h"
#include "freezeframe/status.h"
#include "freezeframe/volume.h"
#include "metadata_journal.h"
#include "provider_state.h"

namespace freezeframe::detail {

// Upgrades the version 1 diff area whose state `state` has just recovered:
//   1. the checksum table takes the last data slots: chunks stored there are copied into
//      free slots below them (the index is changed in memory only) and flushed;
//   2. the inactive journal area is zeroed, a version 2 checkpoint of the state is written
//      into it, and the version 2 superblock (table rebuilding) switches to it;
//   3. rebuild_sum_table() fills the table.
// kNoSpace, with nothing written, if there are not enough free slots to move the chunks out
// of the table's place.
Status upgrade_diff_area(Volume& diff, DiffArea& area, MetadataJournal& journal,
                         ProviderState& state);

// Zeroes the inactive journal area, writes the checksum of every stored chunk into the
// table, flushes, and marks the table valid in the superblock. Reads verify from then on.
Status rebuild_sum_table(Volume& diff, DiffArea& area, MetadataJournal& journal,
                         ProviderState& state);

// Writes zeros over [offset, offset + length) of `volume` (the space stays allocated).
Status write_zeros(Volume& volume, std::uint64_t offset, std::uint64_t length);

}  // namespace freezeframe::detail

// Checking and repairing a diff area, in the manner of `qemu-img check` and SQLite's
// `PRAGMA integrity_check`: every on-disk structure is verified (superblock, journal,
// checkpoint, every chunk's checksum, space accounting), and each snapshot and the live
// volume are reported OK or damaged, naming the damaged chunks.
//
// check_diff_area() never writes. repair_diff_area() changes only what is damaged: it drops
// damaged snapshots (naming each), rebuilds the space accounting and the journal from the
// state that is intact, and never rewrites a chunk's data.
//
// Thread-safety: both calls open the diff area themselves; no provider may have it open.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "freezeframe/status.h"
#include "freezeframe/uuid.h"
#include "freezeframe/volume.h"

namespace freezeframe {

// One chunk version whose stored bytes fail their checksum (or cannot be read).
struct ChunkDamage {
  std::uint64_t chunk = 0;        // chunk number on the origin
  std::uint64_t offset = 0;       // its byte offset on the origin
  std::uint32_t slot = 0;         // data slot on the diff volume
  std::uint64_t slot_offset = 0;  // byte offset of that slot on the diff volume
  // Snapshots (by id) that read this version; the live volume (RoW) too when `live`.
  std::vector<Uuid> snapshots;
  bool live = false;
  std::string detail;  // e.g. "checksum mismatch (stored 0x…, computed 0x…)"
};

struct SnapshotCheck {
  Uuid id{};
  std::uint32_t sequence = 0;  // creation order, as SnapshotInfo::sequence
  bool damaged = false;
  std::uint64_t damaged_chunks = 0;
  std::string detail;  // empty when OK; otherwise what is wrong, e.g. "3 damaged chunks"
};

struct DiffAreaCheck {
  // Not OK when the diff area cannot be opened at all (damage to the superblock or the
  // checkpoint, a newer format): then nothing below is filled in, and for a CoW diff area
  // the origin is still readable on its own.
  Status fatal;
  std::uint32_t format_version = 0;
  // Not OK when a journal commit is damaged: the area then opens read-only and every
  // snapshot (and the RoW live volume) is reported damaged, since the lost commit may have
  // held any of their records.
  Status journal;
  // RoW: the live volume cannot be trusted (journal damage, or a damaged chunk it reads).
  bool live_damaged = false;
  std::vector<SnapshotCheck> snapshots;
  std::vector<ChunkDamage> chunks;
  std::uint64_t chunks_checked = 0;
  // Space-accounting discrepancies (slots mapped twice, counts that disagree), one line each.
  std::vector<std::string> accounting;
  // Free-text notes that are not damage (e.g. "format version 1, upgraded on the next
  // writable open").
  std::vector<std::string> notes;

  bool ok() const {
    return fatal.ok() && journal.ok() && !live_damaged && chunks.empty() && accounting.empty();
  }
};

// Verifies the diff area on `diff` for `origin` without writing to either volume.
// The Result fails only when the volumes cannot be read at all (kIoError); damage is reported in
// the DiffAreaCheck, never as the Result's status.
Result<DiffAreaCheck> check_diff_area(Volume& origin, Volume& diff);

struct DiffAreaRepair {
  // Snapshots removed because they were damaged.
  std::vector<Uuid> dropped;
  // What else was done, one line each ("rewrote the journal from the intact state", ...).
  std::vector<std::string> actions;
  // The check after the repair.
  DiffAreaCheck after;
};

// Repairs the diff area: drops every damaged snapshot, rebuilds the space accounting and
// writes a fresh checkpoint from the intact state. Undamaged snapshots and chunks are left
// as they are. kCorrupt when the area cannot be opened at all (nothing to repair from: the
// superblock or the checkpoint is damaged); kReadOnly over a read-only volume.
Result<DiffAreaRepair> repair_diff_area(Volume& origin, Volume& diff);

}  // namespace freezeframe

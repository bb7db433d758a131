// A tiny key-value log, the vendor code of the harness example (docs/testing.md, "The vendor
// harness"). It keeps its data on one freezeframe Volume:
//
//   sector 0        commit record: magic, count of committed entries, checksum
//   sector 1 + i    entry i: magic, sequence number i, key, value, checksum
//
// An entry counts only once the commit record says so. Putting an entry writes the entry,
// makes it durable (flush), then writes the commit record that counts it and flushes again.
// The order matters: a commit record durable before its entry could, after a power loss,
// count an entry that never reached the disk.
//
// Two shapes of the same log:
//   KvLogApp     a HarnessApplication: every put is committed at once.
//   KvLogWriter  a HarnessWriter: puts are acknowledged from a memory buffer and committed
//                in groups; freeze() commits the buffer, then holds new puts until thaw.
// Each has a `buggy` mode with one ordering bug:
//   KvLogApp     writes the commit record before its entry is durable (no flush between).
//   KvLogWriter  acknowledges freeze before committing its buffer, so a snapshot misses
//                entries acknowledged before the freeze.
//
// Thread-safety: none; the harness calls one method at a time.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "freezeframe/sim/harness.h"

namespace kv_log {

// What the log's sectors hold, decoded and verified.
struct Image {
  std::uint64_t committed = 0;                      // entries the commit record counts
  std::map<std::uint64_t, std::uint64_t> values{};  // key -> value of the committed entries
};

// Reads and verifies the commit record and every entry it counts. kCorrupt, naming the
// entry, when an entry it counts is missing or damaged.
freezeframe::Result<Image> read_image(freezeframe::Volume& volume);

class KvLogApp final : public freezeframe::sim::HarnessApplication {
 public:
  explicit KvLogApp(bool buggy) : buggy_(buggy) {}

  freezeframe::Status recover(freezeframe::Volume& volume) override;
  // One to three puts of random keys and values.
  freezeframe::Status step(freezeframe::Volume& volume, freezeframe::Random& random) override;
  freezeframe::Status check(freezeframe::Volume& volume) override;

 private:
  bool buggy_;
  Image state_{};
};

class KvLogWriter final : public freezeframe::sim::HarnessWriter {
 public:
  KvLogWriter(std::size_t index, freezeframe::Volume& volume, bool buggy)
      : index_(index), volume_(volume), buggy_(buggy) {}

  // One put, acknowledged from the buffer; now and then a group commit.
  freezeframe::Status step(freezeframe::Random& random) override;
  // The snapshot's log must verify and hold every entry acknowledged before the freeze.
  freezeframe::Status check(freezeframe::Volume& snapshot) override;

  freezeframe::Result<freezeframe::WriterMetadata> identify() override;
  freezeframe::WriterResult prepare_snapshot(const freezeframe::WriterSessionInfo&) override;
  freezeframe::WriterResult freeze(const freezeframe::WriterSessionInfo&) override;
  freezeframe::WriterResult thaw(const freezeframe::WriterSessionInfo&) override;
  void abort(const freezeframe::WriterSessionInfo&) override;

 private:
  freezeframe::Status commit_buffer();

  std::size_t index_;
  freezeframe::Volume& volume_;
  bool buggy_;
  bool frozen_ = false;
  // Acknowledged puts not yet on the volume (key, value), in order: entry committed_ + i.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> buffer_{};
  std::uint64_t committed_ = 0;
  // Entries acknowledged when the last freeze returned: a snapshot must hold them all.
  std::uint64_t acknowledged_at_freeze_ = 0;
};

}  // namespace kv_log

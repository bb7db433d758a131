// The lower layers of a provider built by hand over a memory diff volume, for tests that drive
// one layer through its own interface: a diff-area layout small enough to reason about slot
// by slot, a volume wrapper that logs and fails operations, and the layers stacked as the
// provider stacks them (DiffArea, MetadataJournal, ProviderState). White-box: uses
// engine/src headers.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "diff_area.h"
#include "diff_area_format.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/volume_wrapper.h"
#include "metadata_journal.h"
#include "provider_state.h"

namespace freezeframe::testing {

inline constexpr std::uint32_t kRigChunkBytes = 4096;

struct RigLayout {
  std::uint64_t origin_bytes = 16 * kRigChunkBytes;
  std::uint64_t data_slots = 8;
  // Blocks of each journal area; a checkpoint needs its own blocks plus 32 spare.
  std::uint64_t log_area_blocks = 40;
  ProviderKind kind = ProviderKind::kCopyOnWrite;
  OverflowPolicy policy = OverflowPolicy::kFailWrites;
  DiffAreaLimit limit = DiffAreaLimit::unbounded();
};

// A superblock as SnapshotProvider::create() lays one out (before its first checkpoint):
// superblock, journal areas 0 and 1, data slots.
inline format::Superblock rig_superblock(const RigLayout& layout) {
  format::Superblock sb;
  sb.generation = 1;
  sb.provider_kind = static_cast<std::uint8_t>(layout.kind);
  sb.overflow_policy = static_cast<std::uint8_t>(layout.policy);
  sb.chunk_bytes = kRigChunkBytes;
  sb.sector_bytes = 512;
  sb.snapshots_max = 64;
  sb.limit_kind = static_cast<std::uint8_t>(layout.limit.kind);
  sb.limit_value = layout.limit.value;
  sb.origin_bytes = layout.origin_bytes;
  sb.origin_uuid = Uuid::generate();
  sb.diff_area_uuid = Uuid::generate();
  sb.log_area_bytes = layout.log_area_blocks * format::kLogBlockBytes;
  sb.log_offset = {format::kLogBlockBytes, format::kLogBlockBytes + sb.log_area_bytes};
  sb.sum_offset = sb.log_offset[1] + sb.log_area_bytes;
  sb.sum_bytes = format::sum_table_bytes(layout.data_slots);
  sb.data_offset = sb.sum_offset + sb.sum_bytes;
  sb.data_slots = layout.data_slots;
  sb.volume_bytes = sb.data_offset + layout.data_slots * kRigChunkBytes;
  sb.active_log = 1;  // the first checkpoint switches to area 0
  return sb;
}

inline std::unique_ptr<MemoryVolume> rig_volume(std::uint64_t bytes, std::string name) {
  auto volume = MemoryVolume::create({.name = std::move(name), .size_bytes = bytes});
  EXPECT_TRUE(volume.ok()) << volume.status().to_string();
  return std::move(volume).value();
}

// Reads the superblock back as an open would.
inline format::Superblock read_superblock(Volume& diff) {
  std::vector<std::byte> bytes(format::kSuperblockBytes);
  EXPECT_TRUE(diff.read(0, bytes).ok());
  auto decoded = format::decode_superblock(bytes, diff.size_bytes());
  EXPECT_TRUE(decoded.ok()) << decoded.status().to_string();
  return decoded.ok() ? decoded.value() : format::Superblock{};
}

// Logs every write, flush and discard as "write OFFSET LENGTH" / "flush" / "discard O L",
// and fails the next flush or write when asked.
class LoggingVolume final : public VolumeWrapper {
 public:
  explicit LoggingVolume(Volume& base) : VolumeWrapper(base) {}

  std::vector<std::string> log;
  std::optional<Status> fail_next_flush;
  std::optional<Status> fail_next_write;

 protected:
  Status do_write(std::uint64_t offset, std::span<const std::byte> data) override {
    log.push_back("write " + std::to_string(offset) + " " + std::to_string(data.size()));
    if (fail_next_write) {
      Status status = *fail_next_write;
      fail_next_write.reset();
      return status;
    }
    return VolumeWrapper::do_write(offset, data);
  }
  Status do_flush() override {
    log.push_back("flush");
    if (fail_next_flush) {
      Status status = *fail_next_flush;
      fail_next_flush.reset();
      return status;
    }
    return VolumeWrapper::do_flush();
  }
  Status do_discard(std::uint64_t offset, std::uint64_t length) override {
    log.push_back("discard " + std::to_string(offset) + " " + std::to_string(length));
    return VolumeWrapper::do_discard(offset, length);
  }
};

// DiffArea, MetadataJournal and ProviderState over `diff`, stacked as the provider stacks
// them. `superblock`: as formatted (then format() writes the first checkpoint) or as read
// back (then recover()).
struct Layers {
  Layers(Volume& diff, const format::Superblock& superblock)
      : diff_area(diff, detail::DiffAreaGeometry::of(superblock),
                  DiffAreaLimit{static_cast<DiffAreaLimit::Kind>(superblock.limit_kind),
                                superblock.limit_value},
                  "diff area of 'rig'"),
        journal(diff, superblock, diff_area.name()),
        state(static_cast<ProviderKind>(superblock.provider_kind), diff_area, journal,
              static_cast<OverflowPolicy>(superblock.overflow_policy)) {}

  detail::DiffArea diff_area;
  detail::MetadataJournal journal;
  detail::ProviderState state;
};

inline format::Record snapshot_create(std::uint32_t tag) {
  format::Record record;
  record.type = format::RecordType::kSnapshotCreate;
  record.tag = tag;
  record.id = Uuid::generate();
  record.set_id = Uuid::generate();
  record.created_ns = 1000 * tag;
  return record;
}

inline format::Record tagged(format::RecordType type, std::uint32_t tag) {
  format::Record record;
  record.type = type;
  record.tag = tag;
  return record;
}

inline format::Record map_add(std::uint64_t chunk, std::uint32_t tag, std::uint32_t slot,
                              std::uint32_t stored_bytes = kRigChunkBytes) {
  format::Record record;
  record.type = format::RecordType::kMapAdd;
  record.chunk = chunk;
  record.tag = tag;
  record.slot = slot;
  record.stored_bytes = stored_bytes;
  return record;
}

}  // namespace freezeframe::testing

#include "kv_log.h"

#include <array>
#include <cstring>

namespace kv_log {
namespace {

using freezeframe::ErrorCode;
using freezeframe::Random;
using freezeframe::Result;
using freezeframe::Status;
using freezeframe::Volume;

constexpr std::uint64_t kSectorBytes = 512;
constexpr std::uint64_t kCommitMagic = 0x74696d6d6f43764b;  // "KvCommit"
constexpr std::uint64_t kEntryMagic = 0x7972746e4576764b;   // "KvEntry"
constexpr std::uint64_t kKeys = 64;
// Entries per group commit of the writer, at most.
constexpr std::size_t kBufferMax = 8;

// One sector: up to five 64-bit fields, then an FNV-1a checksum of them.
struct Sector {
  std::array<std::byte, kSectorBytes> bytes{};

  void put(std::size_t field, std::uint64_t value) {
    std::memcpy(bytes.data() + field * 8, &value, 8);
  }
  std::uint64_t get(std::size_t field) const {
    std::uint64_t value = 0;
    std::memcpy(&value, bytes.data() + field * 8, 8);
    return value;
  }
  std::uint64_t checksum() const {
    std::uint64_t hash = 0xcbf29ce484222325;
    for (std::size_t i = 0; i < 40; ++i) {
      hash ^= static_cast<std::uint64_t>(bytes[i]);
      hash *= 0x100000001b3;
    }
    return hash;
  }
  void seal() { put(5, checksum()); }
  bool sealed() const { return get(5) == checksum(); }
};

Sector commit_sector(std::uint64_t count) {
  Sector sector;
  sector.put(0, kCommitMagic);
  sector.put(1, count);
  sector.seal();
  return sector;
}

Sector entry_sector(std::uint64_t seq, std::uint64_t key, std::uint64_t value) {
  Sector sector;
  sector.put(0, kEntryMagic);
  sector.put(1, seq);
  sector.put(2, key);
  sector.put(3, value);
  sector.seal();
  return sector;
}

Result<Sector> read_sector(Volume& volume, std::uint64_t index) {
  Sector sector;
  FF_TRY(volume.read(index * kSectorBytes, sector.bytes));
  return sector;
}

Status write_sector(Volume& volume, std::uint64_t index, const Sector& sector) {
  return volume.write(index * kSectorBytes, sector.bytes);
}

std::uint64_t capacity(const Volume& volume) {
  return volume.size_bytes() / kSectorBytes - 1;
}

}  // namespace

Result<Image> read_image(Volume& volume) {
  Image image;
  FF_ASSIGN_OR_RETURN(Sector commit, read_sector(volume, 0));
  if (commit.get(0) == 0 && commit.get(5) == 0)
    return image;  // a fresh volume: an empty log
  if (commit.get(0) != kCommitMagic || !commit.sealed())
    return Status(ErrorCode::kCorrupt, "kv log: the commit record is damaged");
  image.committed = commit.get(1);
  if (image.committed > capacity(volume))
    return Status(ErrorCode::kCorrupt, "kv log: the commit record counts " +
                                           std::to_string(image.committed) +
                                           " entries, more than fit");
  for (std::uint64_t seq = 0; seq < image.committed; ++seq) {
    FF_ASSIGN_OR_RETURN(Sector entry, read_sector(volume, 1 + seq));
    if (entry.get(0) != kEntryMagic || !entry.sealed() || entry.get(1) != seq)
      return Status(ErrorCode::kCorrupt,
                    "kv log: the commit record counts " + std::to_string(image.committed) +
                        " entries but entry " + std::to_string(seq) + " is missing or damaged");
    image.values[entry.get(2)] = entry.get(3);
  }
  return image;
}

// ----- KvLogApp

Status KvLogApp::recover(Volume& volume) {
  FF_ASSIGN_OR_RETURN(state_, read_image(volume));
  return Status();
}

Status KvLogApp::step(Volume& volume, Random& random) {
  const std::uint64_t puts = 1 + random.uniform(3);
  for (std::uint64_t n = 0; n < puts && state_.committed < capacity(volume); ++n) {
    const std::uint64_t key = random.uniform(kKeys);
    const std::uint64_t value = random.next_u64();
    FF_TRY(write_sector(volume, 1 + state_.committed, entry_sector(state_.committed, key, value)));
    if (!buggy_)
      FF_TRY(volume.flush());  // the entry is durable before the commit record counts it
    FF_TRY(write_sector(volume, 0, commit_sector(state_.committed + 1)));
    FF_TRY(volume.flush());
    ++state_.committed;
    state_.values[key] = value;
  }
  return Status();
}

// After recover(): every entry the commit record counts is there and whole.
Status KvLogApp::check(Volume& volume) {
  return read_image(volume).status();
}

// ----- KvLogWriter

Status KvLogWriter::commit_buffer() {
  if (buffer_.empty())
    return Status();
  for (std::size_t i = 0; i < buffer_.size(); ++i) {
    const std::uint64_t seq = committed_ + i;
    FF_TRY(write_sector(volume_, 1 + seq, entry_sector(seq, buffer_[i].first, buffer_[i].second)));
  }
  FF_TRY(volume_.flush());
  FF_TRY(write_sector(volume_, 0, commit_sector(committed_ + buffer_.size())));
  FF_TRY(volume_.flush());
  committed_ += buffer_.size();
  buffer_.clear();
  return Status();
}

Status KvLogWriter::step(Random& random) {
  if (frozen_)
    return Status(ErrorCode::kBusy, "kv log writer: frozen, puts wait for the thaw");
  if (committed_ + buffer_.size() < capacity(volume_))
    buffer_.emplace_back(random.uniform(kKeys), random.next_u64());  // acknowledged
  // A failed group commit keeps the buffer: the next one writes it again.
  if (buffer_.size() >= kBufferMax || random.chance(0.2))
    return commit_buffer();
  return Status();
}

Status KvLogWriter::check(Volume& snapshot) {
  FF_ASSIGN_OR_RETURN(Image image, read_image(snapshot));
  if (image.committed < acknowledged_at_freeze_)
    return Status(ErrorCode::kCorrupt, "kv log writer: the snapshot holds " +
                                           std::to_string(image.committed) + " entries but " +
                                           std::to_string(acknowledged_at_freeze_) +
                                           " were acknowledged before the freeze");
  return Status();
}

freezeframe::Result<freezeframe::WriterMetadata> KvLogWriter::identify() {
  freezeframe::WriterMetadata metadata;
  metadata.name = "kv-log-" + std::to_string(index_);
  metadata.class_id = freezeframe::Uuid::from_name("freezeframe-example/kv-log");
  metadata.instance_id = freezeframe::Uuid::from_name(metadata.name);
  metadata.source = freezeframe::WriterSource::kTransactedDatabase;
  freezeframe::WriterComponent component;
  component.type = freezeframe::ComponentType::kDatabase;
  component.name = "log";
  component.volumes = {volume_.name()};
  metadata.components.push_back(component);
  return metadata;
}

freezeframe::WriterResult KvLogWriter::prepare_snapshot(const freezeframe::WriterSessionInfo&) {
  return freezeframe::WriterResult::success();
}

freezeframe::WriterResult KvLogWriter::freeze(const freezeframe::WriterSessionInfo&) {
  if (!buggy_) {
    // Everything acknowledged so far goes into the snapshot.
    if (Status status = commit_buffer(); !status.ok())
      return freezeframe::WriterResult::fail(freezeframe::WriterFailure::kRetryable,
                                             status.to_string());
  }
  frozen_ = true;
  acknowledged_at_freeze_ = committed_ + buffer_.size();
  return freezeframe::WriterResult::success();
}

freezeframe::WriterResult KvLogWriter::thaw(const freezeframe::WriterSessionInfo&) {
  frozen_ = false;
  return freezeframe::WriterResult::success();
}

void KvLogWriter::abort(const freezeframe::WriterSessionInfo&) {
  frozen_ = false;
}

}  // namespace kv_log

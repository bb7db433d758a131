// The corruption matrix: a diff area of known content (CoW, RoW, compressed RoW and CoW) is
// damaged one byte at a time in each of its structures (superblock, both journal areas, the
// checkpoint, the commit groups after it, the chunk checksum table, raw data slots,
// compressed frames) and truncated at several lengths. For every damaged image each snapshot
// and the live volume are read in full and chunk by chunk: a read returns the exact bytes or
// fails, never wrong bytes with success. Damage to one data slot (or its checksum) stays
// confined to that chunk, and check_diff_area() names every damage that reads can meet.
// Prints one table of the outcomes. White-box: finds the structures with the engine's format
// code and the slots in use by replaying the journal into the state layers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crash_rig.h"
#include "diff_area_format.h"
#include "freezeframe/integrity.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/sim/sim_volume.h"
#include "freezeframe/snapshot_provider.h"
#include "layer_rig.h"
#include "seed.h"
#include "volume_image.h"

namespace freezeframe {
namespace {

using testing::Bytes;

constexpr std::uint64_t kOriginBytes = 1 << 20;
constexpr std::uint64_t kDiffBytes = 4 << 20;
constexpr std::uint32_t kChunkBytes = 4096;
constexpr std::uint64_t kChunks = kOriginBytes / kChunkBytes;
constexpr int kSamples = 30;  // seeded offsets per structure, besides the boundaries

struct Variant {
  const char* name;
  ProviderKind kind;
  bool compress;
};

// A snapshot (or, with a nil id, the live volume) and the bytes it must read back as.
struct Image {
  std::string name;
  Uuid id;
  Bytes bytes;
};

// A data slot the state references: the chunk whose version it holds, and the frame length
// (0: a raw chunk).
struct SlotUse {
  std::uint64_t chunk;
  std::uint32_t slot;
  std::uint32_t frame;
};

// Bytes of chunk `c`: random, or (every chunk not a multiple of 3) a repeated random
// 512-byte pattern that zstd shrinks to a frame of a few sectors.
Bytes chunk_bytes_for(Random& random, std::uint64_t c) {
  Bytes data(kChunkBytes);
  if (c % 3 == 0) {
    random.fill(data);
    return data;
  }
  Bytes pattern(512);
  random.fill(pattern);
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = pattern[i % pattern.size()];
  return data;
}

std::unique_ptr<MemoryVolume> memory(const char* name, std::uint64_t bytes, const Uuid& uuid) {
  auto volume = MemoryVolume::create({.name = name, .size_bytes = bytes, .uuid = uuid});
  EXPECT_TRUE(volume.ok()) << volume.status().to_string();
  return volume.ok() ? std::move(volume).value() : nullptr;
}

// The diff area under test, what each image must read as, and where its structures lie.
struct Fixture {
  Variant variant{};
  Random uuids{1};
  std::unique_ptr<MemoryVolume> origin;
  std::unique_ptr<MemoryVolume> diff;
  Bytes origin_pristine;
  Bytes diff_pristine;
  std::vector<Image> images;  // snapshots, oldest first, then the live volume
  format::Superblock sb;
  std::uint64_t log_end = 0;  // blocks of the active journal area in use
  std::vector<SlotUse> slots;

  std::uint64_t area_offset(int area) const { return sb.log_offset[area]; }
  std::uint64_t active_offset() const { return sb.log_offset[sb.active_log]; }
};

// Builds the history: snapshot 1 of the origin, 48 chunk writes, snapshot 2, 40 writes, then
// one commit per write until the journal switches areas, snapshot 3, and 6 more commits.
void build(Fixture& f, const Variant& variant, Random& random) {
  f.variant = variant;
  f.uuids = Random(derive_seed(random.seed(), variant.name));
  f.origin = memory("origin", kOriginBytes, Uuid::from_name("corruption-matrix-origin"));
  f.diff = memory("diff", kDiffBytes, Uuid::from_name("corruption-matrix-diff"));
  ASSERT_TRUE(f.origin && f.diff);
  Bytes live(kOriginBytes);
  for (std::uint64_t c = 0; c < kChunks; ++c) {
    Bytes data = chunk_bytes_for(random, c);
    std::memcpy(live.data() + c * kChunkBytes, data.data(), kChunkBytes);
  }
  ASSERT_TRUE(f.origin->write(0, live).ok());
  ProviderOptions options;
  options.chunk_bytes = kChunkBytes;
  options.limit = DiffAreaLimit::unbounded();
  options.compress = variant.compress;
  options.random = &f.uuids;
  auto created = SnapshotProvider::create(variant.kind, *f.origin, *f.diff, options);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  auto& provider = created.value();
  auto write_chunk = [&](std::uint64_t c) {
    Bytes data = chunk_bytes_for(random, c);
    ASSERT_TRUE(provider->write(c * kChunkBytes, data).ok());
    std::memcpy(live.data() + c * kChunkBytes, data.data(), kChunkBytes);
  };
  auto snapshot = [&] {
    auto info = provider->create_snapshot();
    ASSERT_TRUE(info.ok()) << info.status().to_string();
    f.images.push_back({"snapshot " + std::to_string(f.images.size() + 1), info.value().id, live});
  };
  snapshot();
  for (std::uint64_t i = 0; i < 48; ++i)
    write_chunk(i * 5 % kChunks);
  ASSERT_TRUE(provider->flush().ok());
  snapshot();
  for (std::uint64_t i = 0; i < 40; ++i)
    write_chunk((i * 7 + 3) % kChunks);
  ASSERT_TRUE(provider->flush().ok());
  const std::uint64_t checkpoints = provider->stats().checkpoints;
  int after = -1;
  for (std::uint64_t i = 0; i < 1000 && after != 0; ++i) {
    write_chunk((i * 11 + 1) % kChunks);
    ASSERT_TRUE(provider->flush().ok());
    if (after > 0) {
      --after;
    } else if (after < 0 && provider->stats().checkpoints > checkpoints) {
      snapshot();
      after = 6;
    }
  }
  ASSERT_EQ(after, 0) << "the journal never switched areas";
  ASSERT_TRUE(provider->flush().ok());
  provider.reset();
  f.images.push_back({"live", Uuid(), live});
  f.origin_pristine = testing::read_all(*f.origin);
  f.diff_pristine = testing::read_all(*f.diff);

  auto sb = format::decode_superblock(f.diff_pristine, f.diff_pristine.size());
  ASSERT_TRUE(sb.ok()) << sb.status().to_string();
  f.sb = sb.value();
  const std::uint64_t area_blocks = f.sb.log_area_bytes / format::kLogBlockBytes;
  for (std::uint64_t b = 0; b < area_blocks; ++b) {
    auto block = format::decode_log_block(
        std::span<const std::byte>(f.diff_pristine)
            .subspan(f.active_offset() + b * format::kLogBlockBytes, format::kLogBlockBytes));
    if (!block.ok() || block.value().header.sequence != f.sb.log_start_sequence + b)
      break;
    f.log_end = b + 1;
  }
  ASSERT_GE(f.sb.checkpoint_blocks, 1u);
  ASSERT_GE(f.log_end, f.sb.checkpoint_blocks + 3) << "commit groups after the checkpoint";

  // The slots in use, by replaying the journal of a scratch copy into the state layers.
  auto scratch = memory("scratch", kDiffBytes, Uuid());
  ASSERT_TRUE(scratch->write(0, f.diff_pristine).ok());
  testing::Layers layers(*scratch, f.sb);
  Status recovered = layers.state.recover();
  ASSERT_TRUE(recovered.ok()) << recovered.to_string();
  layers.state.index().for_each([&](std::uint64_t chunk, std::span<const detail::IndexEntry> vs) {
    for (const detail::IndexEntry& entry : vs) {
      if (entry.slot != format::kOriginSlot)
        f.slots.push_back({chunk, entry.slot, layers.diff_area.frame_length(entry.slot)});
    }
  });
  ASSERT_GE(f.slots.size(), 100u);
}

enum class Outcome { kExact, kRefused, kWrong };

// What a trial must show: no damage reached (kHarmless: every read exact), damage the area
// cannot be opened with (kFatal), a damaged journal commit (kJournal), a damaged chunk
// (kChunk), or either harmless or refused (kAny: a blank block at the end of the log).
enum class Expect { kHarmless, kAny, kFatal, kJournal, kChunk };

struct Tally {
  std::uint64_t trials = 0, exact = 0, refused = 0, wrong = 0, open_failed = 0;
};

struct Reads {
  bool opened = false;
  bool read_only = false;
  Status open_status;
  std::vector<Outcome> full;                 // per image
  std::vector<std::vector<Outcome>> chunks;  // per image, per chunk
  std::vector<Status> first_refusal;         // per image
  std::vector<bool> known;                   // per image: listed by the provider
};

class Matrix {
 public:
  Matrix(Fixture& f, std::vector<std::pair<std::string, Tally>>& table) : f_(f), table_(table) {}

  Outcome compare(const Status& status, std::span<const std::byte> got,
                  std::span<const std::byte> want) {
    if (!status.ok())
      return Outcome::kRefused;
    return std::memcmp(got.data(), want.data(), want.size()) == 0 ? Outcome::kExact
                                                                  : Outcome::kWrong;
  }

  Reads read_everything(Volume& diff) {
    Reads r;
    auto opened = SnapshotProvider::open(*f_.origin, diff);
    if (!opened.ok()) {
      r.open_status = opened.status();
      return r;
    }
    r.opened = true;
    r.read_only = opened.value()->read_only();
    Bytes all(kOriginBytes);
    Bytes one(kChunkBytes);
    for (const Image& image : f_.images) {
      r.known.push_back(image.id.is_nil() || opened.value()->snapshot_info(image.id).ok());
      std::vector<Outcome> chunks(kChunks, Outcome::kRefused);
      Status refusal;
      std::unique_ptr<Volume> snapshot;
      Volume* volume = opened.value().get();
      if (!image.id.is_nil()) {
        auto snap = opened.value()->open_snapshot(image.id);
        if (!snap.ok()) {
          r.full.push_back(Outcome::kRefused);
          r.chunks.push_back(chunks);
          r.first_refusal.push_back(snap.status());
          continue;
        }
        snapshot = std::move(snap).value();
        volume = snapshot.get();
      }
      Status status = volume->read(0, all);
      if (!status.ok())
        refusal = status;
      r.full.push_back(compare(status, all, image.bytes));
      for (std::uint64_t c = 0; c < kChunks; ++c) {
        status = volume->read(c * kChunkBytes, one);
        if (!status.ok() && refusal.ok())
          refusal = status;
        chunks[c] =
            compare(status, one,
                    std::span<const std::byte>(image.bytes).subspan(c * kChunkBytes, kChunkBytes));
      }
      r.chunks.push_back(std::move(chunks));
      r.first_refusal.push_back(refusal);
    }
    return r;
  }

  void restore() {
    ASSERT_TRUE(f_.origin->write(0, f_.origin_pristine).ok());
    ASSERT_TRUE(f_.diff->write(0, f_.diff_pristine).ok());
  }

  void flip(std::uint64_t offset, std::uint8_t mask) {
    Bytes sector(512);
    const std::uint64_t first = offset / 512 * 512;
    ASSERT_TRUE(f_.diff->read(first, sector).ok());
    sector[offset - first] ^= std::byte{mask};
    ASSERT_TRUE(f_.diff->write(first, sector).ok());
  }

  // One damaged image on `diff`: check it, open it and read everything, tally the outcome.
  void judge(const std::string& structure, const std::string& where, Volume& diff, Expect expect,
             const SlotUse* slot) {
    SCOPED_TRACE(std::string(f_.variant.name) + " " + structure + " " + where);
    Tally& tally = row(structure);
    ++tally.trials;
    auto check = check_diff_area(*f_.origin, diff);
    ASSERT_TRUE(check.ok()) << check.status().to_string();
    const DiffAreaCheck& c = check.value();
    switch (expect) {
      case Expect::kFatal:
        EXPECT_FALSE(c.fatal.ok()) << "check did not name the damage";
        break;
      case Expect::kJournal:
        EXPECT_FALSE(c.journal.ok()) << "check did not name the damaged commit";
        break;
      case Expect::kChunk: {
        EXPECT_FALSE(c.ok());
        bool named = std::any_of(c.chunks.begin(), c.chunks.end(),
                                 [&](const ChunkDamage& d) { return d.slot == slot->slot; });
        EXPECT_TRUE(named) << "check did not name data slot " << slot->slot;
        break;
      }
      case Expect::kHarmless:
      case Expect::kAny:
        break;
    }
    Reads r = read_everything(diff);
    if (!r.opened) {
      ++tally.open_failed;
      EXPECT_TRUE(expect == Expect::kFatal || expect == Expect::kAny)
          << "the whole area was refused: " << r.open_status.to_string();
      return;
    }
    EXPECT_NE(expect, Expect::kFatal) << "a damaged area opened";
    for (std::size_t i = 0; i < f_.images.size(); ++i) {
      for (Outcome o : r.chunks[i]) {
        tally.exact += o == Outcome::kExact;
        tally.refused += o == Outcome::kRefused;
        tally.wrong += o == Outcome::kWrong;
      }
      tally.exact += r.full[i] == Outcome::kExact;
      tally.refused += r.full[i] == Outcome::kRefused;
      tally.wrong += r.full[i] == Outcome::kWrong;
      const bool live = f_.images[i].id.is_nil();
      SCOPED_TRACE(f_.images[i].name);
      EXPECT_NE(r.full[i], Outcome::kWrong) << "wrong bytes read with success";
      for (std::uint64_t k = 0; k < kChunks; ++k) {
        EXPECT_NE(r.chunks[i][k], Outcome::kWrong) << "chunk " << k << ": wrong bytes";
        const bool must_be_exact =
            expect == Expect::kHarmless || (expect == Expect::kChunk && k != slot->chunk) ||
            (expect == Expect::kJournal && live && f_.variant.kind == ProviderKind::kCopyOnWrite);
        if (must_be_exact) {
          EXPECT_EQ(r.chunks[i][k], Outcome::kExact)
              << "chunk " << k << ": " << r.first_refusal[i].to_string();
        }
      }
      if (expect == Expect::kJournal && !(live && f_.variant.kind == ProviderKind::kCopyOnWrite)) {
        EXPECT_EQ(r.full[i], Outcome::kRefused) << "read despite a damaged commit";
        // Every snapshot is refused with the damage, a snapshot created in the lost commit
        // (unknown to the provider now) included.
        EXPECT_EQ(r.first_refusal[i].code(), ErrorCode::kCorrupt) << r.first_refusal[i].to_string();
        EXPECT_THAT(r.first_refusal[i].message(), ::testing::HasSubstr("journal area"))
            << (r.known[i] ? "known snapshot" : "snapshot lost with the commit");
      }
    }
    if (expect == Expect::kJournal) {
      EXPECT_TRUE(r.read_only);
    }
  }

  void flip_trial(const std::string& structure, std::uint64_t offset, Expect expect,
                  const SlotUse* slot = nullptr) {
    restore();
    const auto mask = static_cast<std::uint8_t>(1 + random_.uniform(255));
    flip(offset, mask);
    judge(structure, "offset " + std::to_string(offset), *f_.diff, expect, slot);
  }

  void truncate_trial(std::uint64_t length) {
    restore();
    auto shorter = memory("diff", length, f_.diff->uuid());
    ASSERT_TRUE(shorter->write(0, std::span<const std::byte>(f_.diff_pristine).first(length)).ok());
    judge("truncation", "to " + std::to_string(length), *shorter,
          length < f_.sb.volume_bytes ? Expect::kFatal : Expect::kHarmless, nullptr);
  }

  // Offsets in [begin, end): the two bytes at each end and kSamples seeded ones.
  std::vector<std::uint64_t> sample(std::uint64_t begin, std::uint64_t end) {
    std::vector<std::uint64_t> offsets = {begin, begin + 1, end - 2, end - 1};
    for (int i = 0; i < kSamples; ++i)
      offsets.push_back(begin + random_.uniform(end - begin));
    return offsets;
  }

  Expect journal_expect(int area, std::uint64_t offset) const {
    if (area != f_.sb.active_log)
      return Expect::kHarmless;  // the inactive area is never read
    const std::uint64_t block = (offset - f_.area_offset(area)) / format::kLogBlockBytes;
    if (block < f_.sb.checkpoint_blocks)
      return Expect::kFatal;
    if (block < f_.log_end)
      return Expect::kJournal;
    return block == f_.log_end ? Expect::kAny : Expect::kHarmless;
  }

  void run() {
    const format::Superblock& sb = f_.sb;
    restore();
    judge("intact", "", *f_.diff, Expect::kHarmless, nullptr);
    for (std::uint64_t offset : sample(0, format::kSuperblockBytes))
      flip_trial("superblock", offset, Expect::kFatal);
    for (int area = 0; area < 2; ++area) {
      const std::uint64_t begin = f_.area_offset(area);
      std::vector<std::uint64_t> offsets = sample(begin, begin + sb.log_area_bytes);
      if (area == sb.active_log) {
        for (std::uint64_t block : {std::uint64_t{sb.checkpoint_blocks}, f_.log_end}) {
          offsets.push_back(begin + block * format::kLogBlockBytes - 1);
          offsets.push_back(begin + block * format::kLogBlockBytes);
        }
      }
      for (std::uint64_t offset : offsets) {
        flip_trial("journal area " + std::to_string(area), offset, journal_expect(area, offset));
      }
    }
    const std::uint64_t cp_end = f_.active_offset() + sb.checkpoint_blocks * format::kLogBlockBytes;
    for (std::uint64_t offset : sample(f_.active_offset(), cp_end))
      flip_trial("checkpoint", offset, Expect::kFatal);
    for (std::uint64_t offset :
         sample(cp_end, f_.active_offset() + f_.log_end * format::kLogBlockBytes)) {
      flip_trial("map records", offset, Expect::kJournal);
    }
    // The checksum table: entries of slots in use, and a few of slots never used.
    for (int i = 0; i < kSamples + 4; ++i) {
      const SlotUse& use = f_.slots[random_.uniform(f_.slots.size())];
      const std::uint64_t byte = i < 4 ? (i % 2 == 0 ? 0 : 7) : random_.uniform(8);
      flip_trial("checksum table", sb.sum_offset + use.slot * format::kChunkSumBytes + byte,
                 Expect::kChunk, &use);
    }
    for (std::uint64_t slot : {sb.data_slots - 1, sb.data_slots - 2}) {
      flip_trial("checksum table", sb.sum_offset + slot * format::kChunkSumBytes + 3,
                 Expect::kHarmless);
    }
    slot_trials("data slots", false);
    if (f_.variant.compress)
      slot_trials("compressed frames", true);
    for (std::uint64_t length :
         {std::uint64_t{512}, sb.log_offset[1], sb.sum_offset, sb.data_offset,
          sb.data_offset + 10 * kChunkBytes, kDiffBytes - 512}) {
      truncate_trial(length);
    }
  }

  // Flips in the stored bytes of slots in use (raw chunks, or frames), and in the unused
  // tail of frames, which no read looks at.
  void slot_trials(const std::string& structure, bool frames) {
    std::vector<const SlotUse*> uses;
    for (const SlotUse& use : f_.slots) {
      if ((use.frame != 0) == frames)
        uses.push_back(&use);
    }
    ASSERT_FALSE(uses.empty()) << structure;
    for (int i = 0; i < kSamples + 4; ++i) {
      const SlotUse& use = *uses[random_.uniform(uses.size())];
      const std::uint64_t stored = frames ? use.frame : kChunkBytes;
      const std::uint64_t within = i < 4 ? (i % 2 == 0 ? 0 : stored - 1) : random_.uniform(stored);
      flip_trial(structure, f_.sb.data_offset + std::uint64_t{use.slot} * kChunkBytes + within,
                 Expect::kChunk, &use);
    }
    if (frames) {
      for (int i = 0; i < 6; ++i) {
        const SlotUse& use = *uses[random_.uniform(uses.size())];
        const std::uint64_t within = use.frame + random_.uniform(kChunkBytes - use.frame);
        flip_trial(structure, f_.sb.data_offset + std::uint64_t{use.slot} * kChunkBytes + within,
                   Expect::kHarmless);
      }
    }
  }

  Random& random() { return random_; }

 private:
  Tally& row(const std::string& structure) {
    const std::string name = std::string(f_.variant.name) + " / " + structure;
    for (auto& [key, tally] : table_) {
      if (key == name)
        return tally;
    }
    table_.emplace_back(name, Tally{});
    return table_.back().second;
  }

  Fixture& f_;
  std::vector<std::pair<std::string, Tally>>& table_;
  Random random_{derive_seed(testing::test_seed(20261202), f_.variant.name)};
};

constexpr Variant kVariants[] = {
    {"CoW", ProviderKind::kCopyOnWrite, false},
    {"RoW", ProviderKind::kRedirectOnWrite, false},
    {"RoW-compressed", ProviderKind::kRedirectOnWrite, true},
    {"CoW-compressed", ProviderKind::kCopyOnWrite, true},
};

TEST(CorruptionMatrixTest, EveryReadIsExactOrRefused) {
  testing::TracedRandom random(20261202);
  std::vector<std::pair<std::string, Tally>> table;
  for (const Variant& variant : kVariants) {
    if (variant.compress && !compression_available()) {
      std::printf("%s: not run, this build has no zstd (FREEZEFRAME_WITH_ZSTD=OFF)\n",
                  variant.name);
      continue;
    }
    Fixture f;
    build(f, variant, random);
    if (HasFatalFailure())
      return;
    Matrix(f, table).run();
  }
  std::printf("%-36s %7s %11s %11s %6s %13s\n", "structure", "trials", "reads exact", "refused",
              "wrong", "area refused");
  for (const auto& [name, t] : table) {
    std::printf("%-36s %7llu %11llu %11llu %6llu %13llu\n", name.c_str(),
                static_cast<unsigned long long>(t.trials), static_cast<unsigned long long>(t.exact),
                static_cast<unsigned long long>(t.refused),
                static_cast<unsigned long long>(t.wrong),
                static_cast<unsigned long long>(t.open_failed));
    EXPECT_EQ(t.wrong, 0u) << name;
    const bool confined = name.ends_with("data slots") || name.ends_with("checksum table") ||
                          name.ends_with("compressed frames");
    if (confined) {
      EXPECT_EQ(t.open_failed, 0u) << name;
    }
  }
  std::fflush(stdout);
}

// A flip in the last journal commit is damage, not a torn write: every sector of a block has
// its own checksum, and a torn write leaves whole sectors. The area opens read-only; snapshot
// reads fail with kCorrupt naming the journal block; RoW live reads fail too, while the CoW
// live volume (the origin) reads exactly.
TEST(CorruptionMatrixTest, AFlipInTheLastCommitIsDamage) {
  testing::TracedRandom random(20261203);
  for (const Variant& variant : {kVariants[0], kVariants[1]}) {
    SCOPED_TRACE(variant.name);
    Fixture f;
    build(f, variant, random);
    if (HasFatalFailure())
      return;
    const std::uint64_t last = f.log_end - 1;
    Bytes sector(512);
    const std::uint64_t at = f.active_offset() + last * format::kLogBlockBytes + 3 * 512;
    ASSERT_TRUE(f.diff->read(at, sector).ok());
    sector[100] ^= std::byte{0x20};
    ASSERT_TRUE(f.diff->write(at, sector).ok());
    const std::string where =
        "journal area " + std::to_string(f.sb.active_log) + " block " + std::to_string(last);

    auto check = check_diff_area(*f.origin, *f.diff);
    ASSERT_TRUE(check.ok()) << check.status().to_string();
    EXPECT_FALSE(check.value().journal.ok());
    EXPECT_FALSE(check.value().ok());

    auto opened = SnapshotProvider::open(*f.origin, *f.diff);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    SnapshotProvider& provider = *opened.value();
    EXPECT_TRUE(provider.read_only());
    Bytes all(kOriginBytes);
    for (const Image& image : f.images) {
      SCOPED_TRACE(image.name);
      Status status;
      if (image.id.is_nil()) {
        status = provider.read(0, all);
      } else {
        auto snapshot = provider.open_snapshot(image.id);
        status = snapshot.ok() ? snapshot.value()->read(0, all) : snapshot.status();
      }
      if (image.id.is_nil() && variant.kind == ProviderKind::kCopyOnWrite) {
        ASSERT_TRUE(status.ok()) << status.to_string();
        EXPECT_TRUE(all == image.bytes) << "the CoW live volume is the origin";
        continue;
      }
      EXPECT_EQ(status.code(), ErrorCode::kCorrupt) << status.to_string();
      EXPECT_THAT(status.message(), ::testing::HasSubstr(where));
    }
  }
}

// A last commit torn by a power loss (the crash model: some sectors of its journal block
// reached the medium, the others did not) is dropped silently: the area opens writable, with
// no damage, and reads as before that commit (or after it, if every sector survived).
TEST(CorruptionMatrixTest, ATornLastCommitIsRecoveredSilently) {
  const testing::TracedSeed seed(20261204);
  constexpr std::uint64_t kSmallOrigin = 256 * 1024;
  int torn = 0;
  for (ProviderKind kind : {ProviderKind::kCopyOnWrite, ProviderKind::kRedirectOnWrite}) {
    for (std::uint64_t attempt = 0; attempt < 24; ++attempt) {
      for (std::uint64_t nth = 1; nth <= 3; ++nth) {
        SCOPED_TRACE(std::string(provider_kind_name(kind)) + " attempt " + std::to_string(attempt) +
                     " failing diff flush " + std::to_string(nth));
        const std::uint64_t run_seed = derive_seed(seed.value(), std::to_string(attempt));
        testing::CrashRig rig(memory("origin", kSmallOrigin, Uuid::from_name("torn-origin")),
                              memory("diff", 2 << 20, Uuid()), run_seed, 0.5);
        Random data(run_seed);
        Random uuids(run_seed + 1);
        ProviderOptions options;
        options.chunk_bytes = kChunkBytes;
        options.limit = DiffAreaLimit::unbounded();
        options.random = &uuids;
        auto created = SnapshotProvider::create(kind, *rig.origin, *rig.diff, options);
        ASSERT_TRUE(created.ok()) << created.status().to_string();
        Bytes live(kSmallOrigin);
        data.fill(live);
        ASSERT_TRUE(created.value()->write(0, live).ok());
        ASSERT_TRUE(created.value()->flush().ok());
        auto info = created.value()->create_snapshot();
        ASSERT_TRUE(info.ok());
        const Bytes before = live;
        Bytes chunk(kChunkBytes);
        data.fill(chunk);
        ASSERT_TRUE(created.value()->write(5 * kChunkBytes, chunk).ok());
        Bytes after = live;
        std::memcpy(after.data() + 5 * kChunkBytes, chunk.data(), kChunkBytes);
        sim::FaultRule rule;
        rule.trigger = sim::FaultRule::Trigger::kNth;
        rule.operations = sim::operation_bit(sim::IoOperation::kFlush);
        rule.n = nth;
        rig.diff_sim->add_fault(rule);
        (void)created.value()->flush();
        rig.power_loss();
        created.value().reset();  // its writes after the crash are lost with the cache
        rig.power_loss();

        // Torn: the block at the end of the log holds some, not all, sectors of the commit.
        Bytes image = testing::read_all(*rig.diff_sim);
        auto sb = format::decode_superblock(image, image.size());
        ASSERT_TRUE(sb.ok());
        const std::uint64_t area = sb.value().log_offset[sb.value().active_log];
        std::uint64_t end = 0;
        while (format::decode_log_block(
                   std::span<const std::byte>(image).subspan(area + end * format::kLogBlockBytes,
                                                             format::kLogBlockBytes))
                   .ok())
          ++end;
        const auto sectors = format::inspect_log_sectors(std::span<const std::byte>(image).subspan(
            area + end * format::kLogBlockBytes, format::kLogBlockBytes));
        const auto fresh = std::count_if(sectors.begin(), sectors.end(), [&](const auto& s) {
          return s.kind == format::LogSector::kIntact &&
                 s.sequence == sb.value().log_start_sequence + end;
        });
        if (fresh == 0)
          continue;  // the interrupted commit left nothing to judge
        ++torn;
        auto check = check_diff_area(*rig.origin, *rig.diff);
        ASSERT_TRUE(check.ok());
        EXPECT_TRUE(check.value().ok()) << check.value().journal.to_string();
        auto opened = SnapshotProvider::open(*rig.origin, *rig.diff);
        ASSERT_TRUE(opened.ok()) << opened.status().to_string();
        EXPECT_FALSE(opened.value()->read_only());
        Bytes back(kSmallOrigin);
        ASSERT_TRUE(opened.value()->read(0, back).ok());
        EXPECT_TRUE(back == before || back == after);
        auto snapshot = opened.value()->open_snapshot(info.value().id);
        ASSERT_TRUE(snapshot.ok()) << snapshot.status().to_string();
        ASSERT_TRUE(snapshot.value()->read(0, back).ok());
        EXPECT_TRUE(back == before);
        EXPECT_TRUE(opened.value()->create_snapshot().ok());
        if (HasFailure())
          return;
      }
    }
  }
  EXPECT_GE(torn, 4) << "the crash model never tore the last commit";
}

}  // namespace
}  // namespace freezeframe

// Cost of writes and of snapshot creation, proven by counters rather than timings:
// invariant 7 (a write costs the same with 1 or 64 snapshots) and invariant 4 (creating a
// snapshot copies no data, whatever the size of the origin).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "provider_rig.h"
#include "seed.h"

namespace freezeframe {
namespace {

using namespace testing;  // the provider rig

class ProviderCostTest : public ::testing::TestWithParam<ProviderKind> {};

struct WriteOp {
  std::uint64_t offset;
  Bytes data;
};

// Random 4 KiB and 16 KiB writes at 4 KiB-aligned offsets over the whole volume.
std::vector<WriteOp> random_writes(std::uint64_t seed, std::uint64_t volume_bytes, int count) {
  Random random(seed);
  std::vector<WriteOp> ops;
  for (int i = 0; i < count; ++i) {
    std::uint64_t length = random.chance(0.5) ? 4096 : 16384;
    std::uint64_t offset = 4096 * random.uniform((volume_bytes - length) / 4096 + 1);
    ops.push_back({offset, testing::random_bytes(random, length)});
  }
  return ops;
}

struct Cost {
  ProviderStats stats;
  std::uint64_t diff_bytes_written = 0;
  std::uint64_t origin_bytes_written = 0;
};

Cost measure(testing::ProviderRig& rig, const std::vector<WriteOp>& ops) {
  ProviderStats before = rig.provider->stats();
  rig.diff->reset_stats();
  rig.origin->reset_stats();
  for (const WriteOp& op : ops) {
    Status status = rig.provider->write(op.offset, op.data);
    EXPECT_TRUE(status.ok()) << status.to_string();
  }
  ProviderStats after = rig.provider->stats();
  Cost cost;
  cost.stats.chunks_preserved = after.chunks_preserved - before.chunks_preserved;
  cost.stats.chunks_redirected = after.chunks_redirected - before.chunks_redirected;
  cost.stats.read_modify_writes = after.read_modify_writes - before.read_modify_writes;
  cost.stats.diff_data_bytes_written =
      after.diff_data_bytes_written - before.diff_data_bytes_written;
  cost.stats.metadata_commits = after.metadata_commits - before.metadata_commits;
  cost.stats.checkpoints = after.checkpoints - before.checkpoints;
  cost.diff_bytes_written = rig.diff->stats().bytes_written;
  cost.origin_bytes_written = rig.origin->stats().bytes_written;
  return cost;
}

enum class History { kOneSnapshot, kManyBackToBack, kManyInterleaved };

// The same origin content and the same measured workload after different snapshot histories.
Cost cost_after(ProviderKind kind, History history, std::uint64_t seed) {
  ProviderOptions options;  // 16 KiB chunks
  options.limit = DiffAreaLimit::unbounded();
  // A large (sparse) diff volume gives a journal area that no history here fills, so no
  // checkpoint falls inside the measured window.
  auto rig = make_rig(kind, options, {.origin_bytes = 4 << 20, .diff_bytes = 1ull << 30});
  EXPECT_NE(rig, nullptr);
  if (rig == nullptr)
    return {};
  Random random(seed);
  Bytes initial = testing::random_bytes(random, rig->provider->size_bytes());
  EXPECT_TRUE(rig->provider->write(0, initial).ok());
  const int snapshots = history == History::kOneSnapshot ? 1 : 64;
  auto between = random_writes(seed + 1, rig->provider->size_bytes(), 4 * snapshots);
  for (int i = 0; i < snapshots; ++i) {
    EXPECT_TRUE(rig->provider->create_snapshot().ok());
    if (history == History::kManyInterleaved && i + 1 < snapshots) {
      for (int j = 0; j < 4; ++j) {
        const WriteOp& op = between[static_cast<std::size_t>(4 * i + j)];
        EXPECT_TRUE(rig->provider->write(op.offset, op.data).ok());
      }
    }
  }
  EXPECT_TRUE(rig->provider->flush().ok());
  Cost cost = measure(*rig, random_writes(seed + 2, rig->provider->size_bytes(), 200));
  EXPECT_EQ(cost.stats.checkpoints, 0u) << "a checkpoint in the window makes costs incomparable";
  return cost;
}

TEST_P(ProviderCostTest, WriteCostDoesNotGrowWithSnapshotCount) {
  const std::uint64_t seed = testing::test_seed(71);
  SCOPED_TRACE(testing::replay_command(seed));
  const ProviderKind kind = GetParam();
  Cost one = cost_after(kind, History::kOneSnapshot, seed);
  for (History history : {History::kManyBackToBack, History::kManyInterleaved}) {
    SCOPED_TRACE(history == History::kManyBackToBack ? "64 snapshots back to back"
                                                     : "64 snapshots interleaved with writes");
    Cost many = cost_after(kind, history, seed);
    if (kind == ProviderKind::kCopyOnWrite) {
      EXPECT_GT(one.stats.chunks_preserved, 0u);
      EXPECT_EQ(many.stats.chunks_preserved, one.stats.chunks_preserved);
      EXPECT_EQ(many.stats.chunks_redirected, 0u);
    } else {
      EXPECT_GT(one.stats.chunks_redirected, 0u);
      EXPECT_EQ(many.stats.chunks_redirected, one.stats.chunks_redirected);
      EXPECT_EQ(many.stats.read_modify_writes, one.stats.read_modify_writes);
      EXPECT_EQ(many.stats.chunks_preserved, 0u);
    }
    EXPECT_EQ(many.stats.diff_data_bytes_written, one.stats.diff_data_bytes_written);
    EXPECT_EQ(many.stats.metadata_commits, one.stats.metadata_commits);
    // Besides the data, the diff volume takes the checksum table sectors of the slots
    // written, which group differently with other slots in use: a few sectors either way.
    constexpr std::uint64_t kTableSlack = 16 * 512;
    EXPECT_LE(many.diff_bytes_written, one.diff_bytes_written + kTableSlack);
    EXPECT_GE(many.diff_bytes_written + kTableSlack, one.diff_bytes_written);
    EXPECT_EQ(many.origin_bytes_written, one.origin_bytes_written);
  }
}

TEST_P(ProviderCostTest, ChunkWrittenTwiceAfterASnapshotIsCopiedOnce) {
  const ProviderKind kind = GetParam();
  ProviderOptions options;
  options.chunk_bytes = 16384;
  auto rig = make_rig(kind, options);
  ASSERT_NE(rig, nullptr);
  Random random(72);
  ASSERT_TRUE(rig->provider->write(0, testing::random_bytes(random, 1 << 20)).ok());
  ASSERT_TRUE(rig->provider->create_snapshot().ok());
  Bytes snapshot_image = read_all(*rig->provider);

  Cost first = measure(*rig, {{16384, testing::random_bytes(random, 4096)}});
  EXPECT_EQ(rig->provider->usage().used_bytes, 16384u);
  // Two rewrites of the same chunk: a partial one, then a whole one.
  Cost partial = measure(*rig, {{16384 + 4096, testing::random_bytes(random, 8192)}});
  EXPECT_EQ(rig->provider->usage().used_bytes, 16384u);
  Cost whole = measure(*rig, {{16384, testing::random_bytes(random, 16384)}});
  EXPECT_EQ(rig->provider->usage().used_bytes, 16384u);
  if (kind == ProviderKind::kCopyOnWrite) {
    EXPECT_EQ(first.stats.chunks_preserved, 1u);
    for (const Cost* again : {&partial, &whole}) {
      EXPECT_EQ(again->stats.chunks_preserved, 0u);
      // A rewrite touches the diff volume not at all.
      EXPECT_EQ(again->stats.diff_data_bytes_written, 0u);
      EXPECT_EQ(again->diff_bytes_written, 0u);
      EXPECT_EQ(again->stats.metadata_commits, 0u);
    }
  } else {
    EXPECT_EQ(first.stats.chunks_redirected, 1u);
    EXPECT_EQ(first.stats.read_modify_writes, 1u);
    EXPECT_EQ(first.stats.diff_data_bytes_written, 16384u);
    // A chunk already redirected is never rewritten in place: each rewrite writes the whole
    // chunk into a fresh slot (with its checksum) and frees the old one, so it is not a new
    // redirect and the diff area does not grow (checked above). The partial rewrite reads
    // the rest of the chunk from its slot.
    for (const Cost* again : {&partial, &whole}) {
      EXPECT_EQ(again->stats.chunks_redirected, 0u);
      EXPECT_EQ(again->stats.diff_data_bytes_written, 16384u);
      // Data bytes, then metadata (checksum entry, journal): at most a journal block more.
      EXPECT_GE(again->diff_bytes_written, 16384u);
      EXPECT_LE(again->diff_bytes_written, 16384u + 512u + 4096u);
    }
    EXPECT_EQ(partial.stats.read_modify_writes, 1u);
    EXPECT_EQ(whole.stats.read_modify_writes, 0u);
  }
  EXPECT_EQ(rig->provider->usage().used_bytes, 16384u);
  auto snapshot = rig->provider->open_snapshot(rig->provider->snapshots()[0].id);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_TRUE(read_all(*snapshot.value()) == snapshot_image);
}

struct CreationCost {
  std::uint64_t diff_bytes_written = 0;
  std::uint64_t origin_bytes_written = 0;
  std::uint64_t diff_data_bytes_written = 0;
};

// Creates two snapshots on a sparse origin of `origin_bytes` with some data on it, and
// returns what the second creation wrote.
CreationCost creation_cost(ProviderKind kind, std::uint64_t origin_bytes) {
  ProviderOptions options;
  options.limit = DiffAreaLimit::unbounded();
  auto rig = make_rig(kind, options, {.origin_bytes = origin_bytes, .diff_bytes = 64 << 20});
  EXPECT_NE(rig, nullptr);
  if (rig == nullptr)
    return {};
  Random random(73);
  SnapshotProvider& provider = *rig->provider;
  auto write_spread = [&] {
    for (std::uint64_t i = 0; i < 32; ++i) {
      Status status = provider.write(i * (origin_bytes / 32), testing::random_bytes(random, 65536));
      EXPECT_TRUE(status.ok()) << status.to_string();
    }
  };
  write_spread();
  EXPECT_TRUE(provider.create_snapshot().ok());
  write_spread();
  EXPECT_TRUE(provider.flush().ok());
  ProviderStats before = provider.stats();
  rig->diff->reset_stats();
  rig->origin->reset_stats();
  auto created = provider.create_snapshot();
  EXPECT_TRUE(created.ok()) << created.status().to_string();
  CreationCost cost;
  cost.diff_bytes_written = rig->diff->stats().bytes_written;
  cost.origin_bytes_written = rig->origin->stats().bytes_written;
  cost.diff_data_bytes_written =
      provider.stats().diff_data_bytes_written - before.diff_data_bytes_written;
  return cost;
}

TEST_P(ProviderCostTest, SnapshotCreationCopiesNoDataWhateverTheOriginSize) {
  CreationCost small = creation_cost(GetParam(), 1ull << 30);
  CreationCost large = creation_cost(GetParam(), 64ull << 30);
  EXPECT_EQ(small.diff_bytes_written, large.diff_bytes_written);
  EXPECT_EQ(small.origin_bytes_written, large.origin_bytes_written);
  EXPECT_EQ(large.origin_bytes_written, 0u);
  EXPECT_EQ(large.diff_data_bytes_written, 0u);
  // One metadata commit: a journal block or two, never a chunk's worth per changed chunk.
  EXPECT_GT(large.diff_bytes_written, 0u);
  EXPECT_LE(large.diff_bytes_written, 8192u);
}

INSTANTIATE_TEST_SUITE_P(Providers, ProviderCostTest,
                         ::testing::Values(ProviderKind::kCopyOnWrite,
                                           ProviderKind::kRedirectOnWrite),
                         testing::kind_param_name);

}  // namespace
}  // namespace freezeframe

namespace freezeframe {
namespace {

// Invariant: the version index holds at most 16 bytes of memory per changed chunk.
TEST_P(ProviderCostTest, IndexHoldsAtMostSixteenBytesPerChangedChunk) {
  const ProviderKind kind = GetParam();
  ProviderOptions options;
  options.chunk_bytes = 4096;
  options.limit = DiffAreaLimit::unbounded();
  constexpr std::uint64_t kChunks = 8192;
  auto rig =
      make_rig(kind, options, {.origin_bytes = 2 * kChunks * 4096, .diff_bytes = 64ull << 20});
  ASSERT_NE(rig, nullptr);
  ASSERT_TRUE(rig->provider->create_snapshot().ok());
  // Every other chunk, in a scrambled order, one 512-byte write each.
  Random random(74);
  std::vector<std::uint64_t> chunks(kChunks);
  for (std::uint64_t i = 0; i < kChunks; ++i)
    chunks[i] = 2 * i;
  for (std::uint64_t i = kChunks - 1; i > 0; --i)
    std::swap(chunks[i], chunks[random.uniform(i + 1)]);
  Bytes data = testing::random_bytes(random, 512);
  for (std::uint64_t chunk : chunks)
    ASSERT_TRUE(rig->provider->write(chunk * 4096 + 1024, data).ok());
  ASSERT_TRUE(rig->provider->flush().ok());
  const ProviderStats stats = rig->provider->stats();
  EXPECT_EQ(stats.chunks_preserved + stats.chunks_redirected, kChunks);
  const double per_chunk = static_cast<double>(rig->provider->index_memory_bytes()) / kChunks;
  EXPECT_LE(per_chunk, 16.0);
  EXPECT_GE(per_chunk, 12.0) << "the index cannot hold a version in fewer than 12 bytes";
}

// A volume of any size that reads zeros and accepts nothing else; for geometry checks.
class HugeVolume final : public Volume {
 public:
  explicit HugeVolume(std::uint64_t size) : size_(size) {}
  const VolumeIdentity& identity() const noexcept override { return identity_; }
  std::uint64_t size_bytes() const noexcept override { return size_; }
  std::uint32_t sector_bytes() const noexcept override { return 512; }
  bool read_only() const noexcept override { return false; }

 protected:
  Status do_read(std::uint64_t, std::span<std::byte> out) override {
    std::fill(out.begin(), out.end(), std::byte{0});
    return Status();
  }
  Status do_write(std::uint64_t, std::span<const std::byte>) override {
    return Status(ErrorCode::kIoError, "HugeVolume takes no writes");
  }
  Status do_flush() override { return Status(); }
  Status do_discard(std::uint64_t, std::uint64_t) override { return Status(); }

 private:
  VolumeIdentity identity_{"huge", Uuid::from_name("huge-volume")};
  std::uint64_t size_;
};

TEST_P(ProviderCostTest, OriginWithMoreChunksThanTheIndexCanNumberIsRefused) {
  HugeVolume origin(std::uint64_t{1} << 44);  // 16 TiB: 2^32 chunks of 4 KiB
  auto diff = MemoryVolume::create({.name = "diff", .size_bytes = 8 << 20});
  ASSERT_TRUE(diff.ok());
  ProviderOptions options;
  options.chunk_bytes = 4096;
  auto refused = SnapshotProvider::create(GetParam(), origin, *diff.value(), options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("choose a larger chunk size"), std::string::npos)
      << refused.status().to_string();
  EXPECT_EQ(diff.value()->allocated_bytes(), 0u) << "nothing was written";
  options.chunk_bytes = 16384;  // 2^30 chunks: accepted
  auto accepted = SnapshotProvider::create(GetParam(), origin, *diff.value(), options);
  EXPECT_TRUE(accepted.ok()) << accepted.status().to_string();
}

}  // namespace
}  // namespace freezeframe

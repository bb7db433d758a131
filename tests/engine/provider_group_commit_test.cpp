// CoW group commit: first writes after a snapshot hold their new content in memory until one
// group commit has made every displaced copy durable; only then do they reach the origin
// (invariant 1), and reads see them at once. Proven by counters of the simulated volumes.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "provider_rig.h"

namespace freezeframe {
namespace {

using namespace testing;  // the provider rig

constexpr std::uint64_t kChunk = 16384;
constexpr std::uint64_t kOriginBytes = 2 << 20;  // 128 chunks

struct Bed {
  std::unique_ptr<testing::ProviderRig> rig;
  Bytes snapshot_image;  // the origin as the snapshot shows it
  Bytes live;            // what the live volume must read
  Uuid snapshot;
};

// A filled origin, one snapshot, everything flushed and the volumes' counters reset.
Bed make_bed(std::uint64_t write_back_bytes, std::uint64_t seed = 91) {
  ProviderOptions options;
  options.chunk_bytes = kChunk;
  options.limit = DiffAreaLimit::unbounded();
  options.write_back_bytes = write_back_bytes;
  Bed s;
  s.rig = make_rig(ProviderKind::kCopyOnWrite, options,
                   {.origin_bytes = kOriginBytes, .diff_bytes = 8 << 20});
  EXPECT_NE(s.rig, nullptr);
  if (s.rig == nullptr)
    return s;
  Random random(seed);
  s.live = testing::random_bytes(random, kOriginBytes);
  EXPECT_TRUE(s.rig->provider->write(0, s.live).ok());
  auto created = s.rig->provider->create_snapshot();
  EXPECT_TRUE(created.ok()) << created.status().to_string();
  s.snapshot = created.value().id;
  s.snapshot_image = s.live;
  EXPECT_TRUE(s.rig->provider->flush().ok());
  s.rig->origin->reset_stats();
  s.rig->diff->reset_stats();
  return s;
}

// Writes `length` random bytes at `offset` through the provider and into `model`.
void write(Bed& s, std::uint64_t offset, std::uint64_t length, Random& random) {
  Bytes data = testing::random_bytes(random, length);
  Status status = testing::write_both(*s.rig->provider, s.live, offset, data);
  ASSERT_TRUE(status.ok()) << status.to_string();
}

void expect_views(Bed& s, const char* when) {
  SCOPED_TRACE(when);
  EXPECT_TRUE(read_all(*s.rig->provider) == s.live) << "live volume";
  auto snapshot = s.rig->provider->open_snapshot(s.snapshot);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().to_string();
  EXPECT_TRUE(read_all(*snapshot.value()) == s.snapshot_image) << "snapshot";
}

TEST(ProviderGroupCommitTest, FirstWritesShareOneGroupCommitAtTheFlush) {
  Bed s = make_bed(ProviderOptions::kWriteBackBytesDefault);
  ASSERT_NE(s.rig, nullptr);
  SnapshotProvider& provider = *s.rig->provider;
  const ProviderStats before = provider.stats();
  Random random(92);
  // 48 first writes of 4 KiB, each into its own chunk, and a rewrite of some of them.
  for (std::uint64_t i = 0; i < 48; ++i)
    write(s, (2 * i + 1) * kChunk + 4096, 4096, random);
  for (std::uint64_t i = 0; i < 8; ++i)
    write(s, (2 * i + 1) * kChunk, 8192, random);
  // A discard inside a held chunk reads back as zeros.
  ASSERT_TRUE(provider.discard(3 * kChunk, 4096).ok());
  std::memset(s.live.data() + 3 * kChunk, 0, 4096);

  // Nothing was made durable and nothing reached the origin yet; reads see the writes.
  EXPECT_EQ(provider.stats().metadata_commits, before.metadata_commits);
  EXPECT_EQ(s.rig->diff->stats().flushes, 0u);
  EXPECT_EQ(s.rig->origin->stats().bytes_written, 0u);
  EXPECT_EQ(s.rig->origin->stats().bytes_discarded, 0u);
  EXPECT_EQ(provider.stats().chunks_held - before.chunks_held, 48u);
  EXPECT_EQ(provider.stats().chunks_preserved - before.chunks_preserved, 48u);
  expect_views(s, "before the flush");

  ASSERT_TRUE(provider.flush().ok());
  // One group: a data barrier and a journal barrier on the diff volume, then the origin.
  EXPECT_EQ(provider.stats().metadata_commits - before.metadata_commits, 1u);
  EXPECT_EQ(provider.stats().write_backs - before.write_backs, 1u);
  EXPECT_EQ(s.rig->diff->stats().flushes, 2u);
  EXPECT_EQ(s.rig->origin->stats().bytes_written, 48 * kChunk);
  expect_views(s, "after the flush");

  ASSERT_TRUE(s.rig->reopen().ok());
  expect_views(s, "after a reopen");
}

TEST(ProviderGroupCommitTest, WithoutAWriteBackBufferEveryFirstWriteCommitsBeforeItReturns) {
  Bed s = make_bed(0);
  ASSERT_NE(s.rig, nullptr);
  const ProviderStats before = s.rig->provider->stats();
  Random random(93);
  for (std::uint64_t i = 0; i < 10; ++i) {
    write(s, i * kChunk, kChunk, random);
    // The copy is durable (data and journal barriers) before the origin sees the write.
    EXPECT_EQ(s.rig->diff->stats().flushes, 2 * (i + 1));
    EXPECT_EQ(s.rig->origin->stats().bytes_written, (i + 1) * kChunk);
  }
  EXPECT_EQ(s.rig->provider->stats().metadata_commits - before.metadata_commits, 10u);
  EXPECT_EQ(s.rig->provider->stats().chunks_held, 0u);
  expect_views(s, "synchronous first writes");
}

TEST(ProviderGroupCommitTest, AFullBufferIsWrittenBackAndWritesGoOn) {
  Bed s = make_bed(4 * kChunk);
  ASSERT_NE(s.rig, nullptr);
  const ProviderStats before = s.rig->provider->stats();
  Random random(94);
  for (std::uint64_t i = 0; i < 10; ++i)
    write(s, i * 3 * kChunk, kChunk, random);
  // 10 chunks through a 4-chunk buffer: written back when the 5th and the 9th arrive.
  EXPECT_EQ(s.rig->provider->stats().write_backs - before.write_backs, 2u);
  EXPECT_EQ(s.rig->origin->stats().bytes_written, 8 * kChunk);
  EXPECT_EQ(s.rig->provider->stats().metadata_commits - before.metadata_commits, 2u);
  expect_views(s, "before the flush");
  ASSERT_TRUE(s.rig->provider->flush().ok());
  expect_views(s, "after the flush");
}

TEST(ProviderGroupCommitTest, AWriteLargerThanTheBufferCommitsItsCopiesBeforeTheOrigin) {
  Bed s = make_bed(2 * kChunk);
  ASSERT_NE(s.rig, nullptr);
  SnapshotProvider& provider = *s.rig->provider;
  Random random(95);
  // One held chunk, then one write over it and 7 more chunks: too many to hold.
  write(s, 4 * kChunk, 4096, random);
  EXPECT_EQ(provider.stats().chunks_held, 1u);
  const ProviderStats before = provider.stats();
  write(s, 4 * kChunk, 8 * kChunk, random);
  EXPECT_EQ(provider.stats().chunks_held, 1u) << "the large write holds nothing";
  EXPECT_EQ(provider.stats().chunks_preserved - before.chunks_preserved, 7u);
  // The held chunk went back after one group commit; the large write's copies after a
  // second; then the write reached the origin.
  EXPECT_EQ(provider.stats().metadata_commits - before.metadata_commits, 2u);
  EXPECT_EQ(s.rig->origin->stats().bytes_written, kChunk + 8 * kChunk);
  expect_views(s, "after the large write");
  ASSERT_TRUE(s.rig->reopen().ok());
  expect_views(s, "after a reopen");
}

TEST(ProviderGroupCommitTest, SnapshotCreationWritesHeldChunksBackFirst) {
  Bed s = make_bed(ProviderOptions::kWriteBackBytesDefault);
  ASSERT_NE(s.rig, nullptr);
  Random random(96);
  write(s, 0, 3 * kChunk, random);
  auto second = s.rig->provider->create_snapshot();
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_EQ(s.rig->origin->stats().bytes_written, 3 * kChunk);
  Bytes second_image = s.live;
  write(s, kChunk, kChunk, random);  // preserved again, for the second snapshot
  expect_views(s, "first snapshot");
  auto view = s.rig->provider->open_snapshot(second.value().id);
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(read_all(*view.value()) == second_image) << "second snapshot";
}

TEST(ProviderGroupCommitTest, DestroyingTheProviderWritesHeldChunksBack) {
  Bed s = make_bed(ProviderOptions::kWriteBackBytesDefault);
  ASSERT_NE(s.rig, nullptr);
  Random random(97);
  write(s, 5 * kChunk, 2 * kChunk, random);
  EXPECT_EQ(s.rig->origin->stats().bytes_written, 0u);
  s.rig->provider.reset();
  EXPECT_EQ(s.rig->origin->stats().bytes_written, 2 * kChunk);
  auto opened = SnapshotProvider::open(*s.rig->origin, *s.rig->diff);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  s.rig->provider = std::move(opened).value();
  expect_views(s, "after closing without a flush");
}

// A copy that fails part-way leaves the chunks copied before it with queued map records. A
// later write to such a chunk finds it preserved and goes to the origin, so those records
// must be durable first (invariant 1), with or without the write-back buffer.
void partial_copy_failure(std::uint64_t write_back_bytes, std::uint64_t chunks) {
  Bed s = make_bed(write_back_bytes);
  ASSERT_NE(s.rig, nullptr);
  sim::FaultRule rule;
  rule.trigger = sim::FaultRule::Trigger::kNth;
  rule.operations = sim::operation_bit(sim::IoOperation::kWrite);
  rule.n = 2;  // the copy of the second chunk
  s.rig->diff->add_fault(rule);
  Random random(98);
  Bytes big = testing::random_bytes(random, chunks * kChunk);
  ASSERT_FALSE(s.rig->provider->write(0, big).ok()) << "the injected fault did not fire";
  s.rig->diff->clear_faults();
  // A write to the first chunk only; the origin's cache may reach its disk at any moment
  // (here: now), and then the power fails.
  Bytes small = testing::random_bytes(random, 4096);
  ASSERT_TRUE(s.rig->provider->write(0, small).ok());
  ASSERT_TRUE(s.rig->origin->flush().ok());
  s.rig->provider.reset();
  s.rig->origin->crash();
  s.rig->diff->crash();
  auto opened = SnapshotProvider::open(*s.rig->origin, *s.rig->diff);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  s.rig->provider = std::move(opened).value();
  auto view = s.rig->provider->open_snapshot(s.snapshot);
  ASSERT_TRUE(view.ok()) << view.status().to_string();
  EXPECT_TRUE(read_all(*view.value()) == s.snapshot_image)
      << "the snapshot changed: the origin was overwritten before a copy was durable";
}

TEST(ProviderGroupCommitTest, CopyFailingPartWayWithoutBuffer) {
  partial_copy_failure(0, 2);
}
TEST(ProviderGroupCommitTest, CopyFailingPartWayInAWriteLargerThanTheBuffer) {
  partial_copy_failure(2 * kChunk, 4);
}
TEST(ProviderGroupCommitTest, CopyFailingPartWayWhileHolding) {
  partial_copy_failure(8 * kChunk, 2);
}

// An origin write failing in the write-back: flush() reports it and names the step; the
// chunks not written stay held (reads still see them), and a later flush() writes them.
TEST(ProviderGroupCommitTest, AFailedWriteBackKeepsTheChunksHeldForTheNextFlush) {
  Bed s = make_bed(ProviderOptions::kWriteBackBytesDefault);
  ASSERT_NE(s.rig, nullptr);
  Random random(99);
  for (std::uint64_t i = 0; i < 6; ++i)
    write(s, i * 5 * kChunk, kChunk, random);  // six held chunks, none adjacent
  sim::FaultRule rule;
  rule.trigger = sim::FaultRule::Trigger::kNth;
  rule.operations = sim::operation_bit(sim::IoOperation::kWrite);
  rule.n = 3;  // the third chunk written back
  s.rig->origin->add_fault(rule);
  Status failed = s.rig->provider->flush();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.message().find("writing held chunks back"), std::string::npos)
      << failed.to_string();
  EXPECT_EQ(s.rig->origin->stats().bytes_written, 2 * kChunk);
  expect_views(s, "after the failed write-back");
  s.rig->origin->clear_faults();
  const ProviderStats before = s.rig->provider->stats();
  ASSERT_TRUE(s.rig->provider->flush().ok());
  EXPECT_EQ(s.rig->provider->stats().write_backs, before.write_backs + 1);
  EXPECT_EQ(s.rig->origin->stats().bytes_written, 6 * kChunk);
  ASSERT_TRUE(s.rig->reopen().ok());
  expect_views(s, "after a reopen");
}

TEST(ProviderGroupCommitTest, WriteBackBufferSizeIsChecked) {
  auto origin = MemoryVolume::create({.name = "origin", .size_bytes = 1 << 20});
  auto diff = MemoryVolume::create({.name = "diff", .size_bytes = 8 << 20});
  ASSERT_TRUE(origin.ok() && diff.ok());
  ProviderOptions options;
  options.chunk_bytes = kChunk;
  for (std::uint64_t bytes : {kChunk / 2, ProviderOptions::kWriteBackBytesMax + 1}) {
    options.write_back_bytes = bytes;
    auto refused = SnapshotProvider::create(ProviderKind::kCopyOnWrite, *origin.value(),
                                            *diff.value(), options);
    ASSERT_FALSE(refused.ok()) << bytes;
    EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(refused.status().message().find("write-back buffer"), std::string::npos)
        << refused.status().to_string();
    EXPECT_EQ(diff.value()->allocated_bytes(), 0u) << "nothing was written";
  }
}

}  // namespace
}  // namespace freezeframe

// Change tracking (SnapshotProvider::changed_extents, new_change_id): what is listed since a
// change id, across reopens, after its snapshot is gone, between snapshots, after a revert,
// and when an id can no longer be answered. The crash case is in provider_crash_test.cpp.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "change_tracker.h"
#include "freezeframe/snapshot_provider.h"
#include "provider_rig.h"

namespace freezeframe {
namespace {

using testing::Bytes;
using testing::make_rig;

constexpr std::uint32_t kChunk = 4096;
constexpr std::uint64_t kOriginBytes = 64 * kChunk;

ProviderOptions options_with(std::uint32_t change_ids_max = 4) {
  ProviderOptions options;
  options.chunk_bytes = kChunk;
  options.limit = DiffAreaLimit::unbounded();
  options.change_ids_max = change_ids_max;
  return options;
}

std::unique_ptr<testing::ProviderRig> rig_for(ProviderKind kind, std::uint32_t ids = 4,
                                              std::uint64_t seed = 1) {
  return make_rig(kind, options_with(ids),
                  {.origin_bytes = kOriginBytes, .diff_bytes = 4 << 20, .seed = seed});
}

// The chunks an answer lists.
std::set<std::uint64_t> chunks_of(const ChangedExtents& changed) {
  std::set<std::uint64_t> chunks;
  for (const Extent& extent : changed.extents) {
    EXPECT_EQ(extent.offset % kChunk, 0u);
    for (std::uint64_t at = extent.offset; at < extent.end(); at += kChunk)
      chunks.insert(at / kChunk);
  }
  return chunks;
}

std::set<std::uint64_t> listed_since(SnapshotProvider& provider, const std::string& id,
                                     const std::string& until = {}) {
  auto changed = provider.changed_extents(id, until);
  EXPECT_TRUE(changed.ok()) << changed.status().to_string();
  if (!changed.ok())
    return {};
  EXPECT_FALSE(changed->reset) << changed->reset_reason;
  EXPECT_EQ(changed->chunk_bytes, kChunk);
  return chunks_of(*changed);
}

// Writes `length` random bytes at `offset` and records the chunks it reaches.
void write(SnapshotProvider& provider, std::uint64_t offset, std::uint64_t length,
           std::set<std::uint64_t>& chunks, Random& random) {
  Bytes data = testing::random_bytes(random, length);
  ASSERT_TRUE(provider.write(offset, data).ok());
  for (std::uint64_t chunk = offset / kChunk; chunk <= (offset + length - 1) / kChunk; ++chunk)
    chunks.insert(chunk);
}

class ChangeTrackingTest : public ::testing::TestWithParam<ProviderKind> {};

TEST_P(ChangeTrackingTest, ListsExactlyTheChunksWrittenSinceASnapshot) {
  auto rig = rig_for(GetParam());
  ASSERT_NE(rig, nullptr);
  SnapshotProvider& provider = *rig->provider;
  Random random(11);
  std::set<std::uint64_t> ignored;
  write(provider, 0, 8 * kChunk, ignored, random);
  auto snapshot = provider.create_snapshot();
  ASSERT_TRUE(snapshot.ok());
  ASSERT_FALSE(snapshot->change_id.empty());
  EXPECT_TRUE(listed_since(provider, snapshot->change_id).empty());

  std::set<std::uint64_t> written;
  write(provider, 3 * kChunk, kChunk, written, random);         // a whole chunk
  write(provider, 10 * kChunk + 512, 512, written, random);     // part of one
  write(provider, 20 * kChunk - 1024, 2048, written, random);   // across a boundary
  write(provider, 3 * kChunk + 1024, 512, written, random);     // again
  ASSERT_TRUE(provider.discard(40 * kChunk, 2 * kChunk).ok());  // a discard changes too
  written.insert({40, 41});
  EXPECT_EQ(listed_since(provider, snapshot->change_id), written);

  // Reopened after a flush, and again: the same answer.
  ASSERT_TRUE(rig->reopen().ok());
  EXPECT_EQ(listed_since(*rig->provider, snapshot->change_id), written);
  ASSERT_TRUE(rig->reopen().ok());
  EXPECT_EQ(listed_since(*rig->provider, snapshot->change_id), written);
}

TEST_P(ChangeTrackingTest, OutlivesTheSnapshotItWasTakenWith) {
  auto rig = rig_for(GetParam());
  ASSERT_NE(rig, nullptr);
  Random random(12);
  auto snapshot = rig->provider->create_snapshot();
  ASSERT_TRUE(snapshot.ok());
  std::set<std::uint64_t> written;
  write(*rig->provider, 5 * kChunk, kChunk, written, random);
  // A backup that released its snapshot: later writes go straight to the origin.
  ASSERT_TRUE(rig->provider->delete_snapshot(snapshot->id).ok());
  write(*rig->provider, 30 * kChunk, 3 * kChunk, written, random);
  write(*rig->provider, 63 * kChunk + 3584, 512, written, random);
  EXPECT_EQ(listed_since(*rig->provider, snapshot->change_id), written);
  ASSERT_TRUE(rig->reopen().ok());
  EXPECT_EQ(listed_since(*rig->provider, snapshot->change_id), written);
}

TEST_P(ChangeTrackingTest, UntilAnIdListsOnlyTheGenerationsBetween) {
  auto rig = rig_for(GetParam());
  ASSERT_NE(rig, nullptr);
  SnapshotProvider& provider = *rig->provider;
  Random random(13);
  auto first = provider.new_change_id();
  ASSERT_TRUE(first.ok());
  std::set<std::uint64_t> before;
  write(provider, 0, kChunk, before, random);
  auto second = provider.create_snapshot();
  ASSERT_TRUE(second.ok());
  std::set<std::uint64_t> after;
  write(provider, 9 * kChunk, kChunk, after, random);
  EXPECT_EQ(listed_since(provider, *first, second->change_id), before);
  EXPECT_EQ(listed_since(provider, second->change_id), after);
  std::set<std::uint64_t> both = before;
  both.insert(after.begin(), after.end());
  EXPECT_EQ(listed_since(provider, *first), both);
  // Between two snapshots: by their ids while kept, and from the index once they are not.
  auto third = provider.create_snapshot();
  ASSERT_TRUE(third.ok());
  auto between = provider.changed_extents(second->id, third->id);
  ASSERT_TRUE(between.ok()) << between.status().to_string();
  EXPECT_EQ(chunks_of(*between), after);
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(provider.new_change_id().ok());
  EXPECT_TRUE(provider.changed_extents(second->change_id)->reset);
  between = provider.changed_extents(third->id, second->id);  // either order
  ASSERT_TRUE(between.ok()) << between.status().to_string();
  EXPECT_FALSE(between->reset);
  EXPECT_EQ(chunks_of(*between), after);
}

TEST_P(ChangeTrackingTest, AnIdOlderThanTheKeptOnesIsAResetThatSaysWhy) {
  auto rig = rig_for(GetParam(), 2);
  ASSERT_NE(rig, nullptr);
  auto a = rig->provider->create_snapshot();
  auto b = rig->provider->create_snapshot();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(rig->provider->changed_extents(a->change_id)->reset);
  auto c = rig->provider->create_snapshot();
  ASSERT_TRUE(c.ok());
  auto answer = rig->provider->changed_extents(a->change_id);
  ASSERT_TRUE(answer.ok());
  EXPECT_TRUE(answer->reset);
  EXPECT_TRUE(answer->extents.empty());
  EXPECT_NE(answer->reset_reason.find("older than the oldest kept"), std::string::npos)
      << answer->reset_reason;
  EXPECT_FALSE(rig->provider->changed_extents(b->change_id)->reset);
  // The number kept is stored in the diff area.
  ASSERT_TRUE(rig->reopen().ok());
  EXPECT_TRUE(rig->provider->changed_extents(a->change_id)->reset);
  EXPECT_FALSE(rig->provider->changed_extents(b->change_id)->reset);
}

TEST_P(ChangeTrackingTest, RevertMarksTheChunksItChanges) {
  auto rig = rig_for(GetParam());
  ASSERT_NE(rig, nullptr);
  SnapshotProvider& provider = *rig->provider;
  Random random(14);
  auto target = provider.create_snapshot();
  ASSERT_TRUE(target.ok());
  std::set<std::uint64_t> written;
  write(provider, 2 * kChunk, kChunk, written, random);
  write(provider, 50 * kChunk, 2 * kChunk, written, random);
  ASSERT_TRUE(provider.flush().ok());
  auto id = provider.new_change_id();
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(provider.revert_to_snapshot(target->id).ok());
  // The revert put those chunks back: they changed since `id`.
  EXPECT_EQ(listed_since(provider, *id), written);
  ASSERT_TRUE(rig->reopen().ok());
  EXPECT_EQ(listed_since(*rig->provider, *id), written);
}

TEST_P(ChangeTrackingTest, BadIdsAreRefusedOrReset) {
  auto rig = rig_for(GetParam());
  ASSERT_NE(rig, nullptr);
  SnapshotProvider& provider = *rig->provider;
  auto id = provider.new_change_id();
  ASSERT_TRUE(id.ok());
  for (const char* text : {"", "ffcbt1:", "nonsense", "ffcbt1:not-a-uuid:0000000000000001:1"}) {
    auto answer = provider.changed_extents(text);
    EXPECT_EQ(answer.status().code(), ErrorCode::kInvalidArgument) << text;
  }
  // A generation never handed out.
  std::string future = id->substr(0, id->rfind(':') + 1) + "999";
  EXPECT_EQ(provider.changed_extents(future).status().code(), ErrorCode::kInvalidArgument);
  // An id of another diff area: a reset, not an error (the caller reads everything).
  auto other = rig_for(GetParam(), 4, 2);
  ASSERT_NE(other, nullptr);
  auto foreign = other->provider->new_change_id();
  ASSERT_TRUE(foreign.ok());
  auto answer = provider.changed_extents(*foreign);
  ASSERT_TRUE(answer.ok());
  EXPECT_TRUE(answer->reset);
  EXPECT_NE(answer->reset_reason.find("of diff area"), std::string::npos);
  // `until` before `since`.
  auto later = provider.new_change_id();
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(provider.changed_extents(*later, *id).status().code(), ErrorCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Providers, ChangeTrackingTest,
                         ::testing::Values(ProviderKind::kCopyOnWrite,
                                           ProviderKind::kRedirectOnWrite),
                         testing::kind_param_name);

// A checkpoint with less room than the marks need merges nearby runs: a superset, never a
// lost chunk.
TEST(ChangeTracker, CheckpointRunsOverTheirRoomMergeIntoASuperset) {
  detail::ChangeTracker tracker(10000, Uuid::from_name("tracker"));
  tracker.begin_generation(7, 1, 4);
  std::set<std::uint64_t> marked;
  Random random(15);
  for (int i = 0; i < 500; ++i) {
    const std::uint64_t chunk = random.uniform(10000);
    tracker.mark(chunk, 1);
    marked.insert(chunk);
  }
  tracker.begin_generation(7, 2, 4);
  tracker.mark(9990, 10);
  for (std::uint64_t runs_max : {100000u, 200u, 20u, 2u, 0u}) {
    SCOPED_TRACE(runs_max);
    const auto generations = tracker.checkpoint_runs(runs_max);
    ASSERT_EQ(generations.size(), 2u);
    std::uint64_t runs = 0;
    for (const auto& generation : generations)
      runs += generation.runs.size();
    EXPECT_LE(runs, std::max<std::uint64_t>(runs_max, 2));
    for (std::uint64_t chunk : marked) {
      bool covered = false;
      for (const Extent& run : generations[0].runs)
        covered = covered || (chunk >= run.offset && chunk < run.end());
      ASSERT_TRUE(covered) << "chunk " << chunk << " dropped";
    }
  }
}

TEST(ChangeTracker, TokensRoundTripAndRejectDamage) {
  detail::ChangeTracker tracker(64, Uuid::from_name("tokens"));
  const std::string token = tracker.token(0x0123456789abcdefull, 42);
  auto parsed = detail::ChangeTracker::parse_token(token);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->diff_area, Uuid::from_name("tokens"));
  EXPECT_EQ(parsed->epoch, 0x0123456789abcdefull);
  EXPECT_EQ(parsed->number, 42u);
  // Cut anywhere up to the generation's first digit: no longer an id.
  for (std::size_t cut = 0; cut <= token.rfind(':') + 1; ++cut) {
    auto truncated = detail::ChangeTracker::parse_token(token.substr(0, cut));
    EXPECT_FALSE(truncated.ok()) << token.substr(0, cut);
  }
  EXPECT_FALSE(detail::ChangeTracker::parse_token(token + "x").ok());
  EXPECT_FALSE(detail::ChangeTracker::parse_token(token.substr(0, token.size() - 2) + "0").ok());
}

}  // namespace
}  // namespace freezeframe

// Snapshot lifecycle for both providers: deleting the oldest, a middle or the newest snapshot,
// reverting, and (RoW) consolidating, each checked bit-exact before and after a reopen, with
// the space accounting that goes with it.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "freezeframe/volume_wrapper.h"
#include "provider_rig.h"
#include "seed.h"

namespace freezeframe {
namespace {

using namespace testing;  // the provider rig

constexpr std::uint32_t kChunk = 4096;
constexpr std::uint64_t kChunkA = 2;
constexpr std::uint64_t kChunkB = 5;
constexpr std::uint64_t kChunkC = 9;

// S1; write A; S2; write B; S3; write A, B and C. CoW then holds 5 preserved chunks:
// A0 (S1), B0 (S2), A1, B1, C0 (S3). RoW holds 5 redirected ones: A1, B1, and A2, B2, C1
// for the live volume.
RigHistory make_history(ProviderKind kind, std::uint64_t default_seed) {
  ProviderOptions options;
  options.chunk_bytes = kChunk;
  options.limit = DiffAreaLimit::unbounded();
  RigHistory history = testing::start_history(kind, options, default_seed);
  EXPECT_NE(history.rig, nullptr);
  if (history.rig == nullptr)
    return history;
  SnapshotProvider& provider = *history.rig->provider;
  Random& random = *history.random;
  auto snapshot = [&] {
    auto info = provider.create_snapshot();
    EXPECT_TRUE(info.ok()) << info.status().to_string();
    history.taken.push_back({info.value().id, history.live});
  };
  auto write_chunk = [&](std::uint64_t chunk) {
    Status status = testing::write_both(provider, history.live, chunk * kChunk,
                                        testing::random_bytes(random, kChunk));
    EXPECT_TRUE(status.ok()) << status.to_string();
  };
  snapshot();
  write_chunk(kChunkA);
  snapshot();
  write_chunk(kChunkB);
  snapshot();
  write_chunk(kChunkA);
  write_chunk(kChunkB);
  write_chunk(kChunkC);
  EXPECT_EQ(provider.usage().used_bytes, 5 * kChunk);
  return history;
}

void expect_reads(SnapshotProvider& provider, const std::vector<Taken>& taken, const Bytes& live,
                  const std::string& when) {
  EXPECT_TRUE(read_all(provider) == live) << "live volume differs " << when;
  for (std::size_t i = 0; i < taken.size(); ++i) {
    auto volume = provider.open_snapshot(taken[i].id);
    ASSERT_TRUE(volume.ok()) << when << ": " << volume.status().to_string();
    EXPECT_TRUE(read_all(*volume.value()) == taken[i].image)
        << "snapshot " << i << " differs " << when;
  }
}

using DeleteParam = std::tuple<ProviderKind, int>;

class ProviderDeleteTest : public ::testing::TestWithParam<DeleteParam> {};

TEST_P(ProviderDeleteTest, DeletingOneSnapshotKeepsTheOthersExact) {
  const auto [kind, victim] = GetParam();
  RigHistory history = make_history(kind, /*default_seed=*/51);
  ASSERT_NE(history.rig, nullptr);
  ASSERT_FALSE(HasFailure());
  SnapshotProvider& provider = *history.rig->provider;
  const Uuid victim_id = history.taken[static_cast<std::size_t>(victim)].id;
  auto victim_volume = provider.open_snapshot(victim_id);
  ASSERT_TRUE(victim_volume.ok());

  ASSERT_TRUE(provider.delete_snapshot(victim_id).ok());
  std::vector<Taken> kept = history.taken;
  kept.erase(kept.begin() + victim);

  Bytes buffer(kChunk);
  Status status = victim_volume.value()->read(0, buffer);
  EXPECT_EQ(status.code(), ErrorCode::kNotFound) << status.to_string();
  EXPECT_EQ(provider.open_snapshot(victim_id).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(provider.snapshot_info(victim_id).status().code(), ErrorCode::kNotFound);
  ASSERT_EQ(provider.snapshots().size(), 2u);
  expect_reads(provider, kept, history.live, "after the delete");

  if (kind == ProviderKind::kCopyOnWrite) {
    // Oldest: A0 is needed by nobody. Middle: S1 still reads B0, which S2 preserved.
    // Newest: S2 still reads A1 and C0 from S3's copies; only B1 is needed by nobody.
    const std::uint64_t expected_chunks[] = {4, 5, 4};
    EXPECT_EQ(provider.usage().used_bytes, expected_chunks[victim] * kChunk);
    // Every preserved chunk belongs to exactly one snapshot, re-homed ones included.
    std::uint64_t held = 0;
    for (const SnapshotInfo& info : provider.snapshots())
      held += info.diff_area_bytes;
    EXPECT_EQ(held, provider.usage().used_bytes);
  }
  const std::uint64_t used = provider.usage().used_bytes;

  victim_volume.value().reset();
  ASSERT_TRUE(history.rig->reopen().ok());
  SnapshotProvider& reopened = *history.rig->provider;
  expect_reads(reopened, kept, history.live, "after reopen");
  EXPECT_EQ(reopened.usage().used_bytes, used);
  EXPECT_EQ(reopened.open_snapshot(victim_id).status().code(), ErrorCode::kNotFound);

  // Deleting the rest frees everything (RoW: once the live chunks are folded back).
  for (const Taken& snapshot : kept)
    ASSERT_TRUE(reopened.delete_snapshot(snapshot.id).ok());
  if (kind == ProviderKind::kRedirectOnWrite) {
    ASSERT_TRUE(reopened.as_row()->consolidate().ok());
  }
  EXPECT_EQ(reopened.usage().used_bytes, 0u);
  EXPECT_TRUE(read_all(reopened) == history.live);
}

std::string delete_param_name(const ::testing::TestParamInfo<DeleteParam>& info) {
  static const char* const kVictims[] = {"Oldest", "Middle", "Newest"};
  return std::string(provider_kind_name(std::get<0>(info.param))) + "_" +
         kVictims[std::get<1>(info.param)];
}

INSTANTIATE_TEST_SUITE_P(Providers, ProviderDeleteTest,
                         ::testing::Combine(::testing::Values(ProviderKind::kCopyOnWrite,
                                                              ProviderKind::kRedirectOnWrite),
                                            ::testing::Values(0, 1, 2)),
                         delete_param_name);

class ProviderLifecycleTest : public ::testing::TestWithParam<ProviderKind> {};

TEST_P(ProviderLifecycleTest, RevertMakesTheLiveVolumeReadAsTheSnapshot) {
  RigHistory history = make_history(GetParam(), /*default_seed=*/52);
  ASSERT_NE(history.rig, nullptr);
  ASSERT_FALSE(HasFailure());
  SnapshotProvider& provider = *history.rig->provider;
  auto newest_volume = provider.open_snapshot(history.taken[2].id);
  ASSERT_TRUE(newest_volume.ok());

  Status status = provider.revert_to_snapshot(history.taken[1].id);
  ASSERT_TRUE(status.ok()) << status.to_string();
  Bytes live = history.taken[1].image;
  std::vector<Taken> kept(history.taken.begin(), history.taken.begin() + 2);
  // The target stays, older snapshots stay, newer ones are gone.
  auto listed = provider.snapshots();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, history.taken[0].id);
  EXPECT_EQ(listed[1].id, history.taken[1].id);
  expect_reads(provider, kept, live, "after the revert");
  Bytes buffer(kChunk);
  EXPECT_EQ(newest_volume.value()->read(0, buffer).code(), ErrorCode::kNotFound);
  EXPECT_EQ(provider.open_snapshot(history.taken[2].id).status().code(), ErrorCode::kNotFound);

  // Writes after the revert leave the snapshots as they were.
  Random random(history.random->seed() + 1);
  ASSERT_TRUE(
      testing::write_both(provider, live, kChunkA * kChunk, testing::random_bytes(random, kChunk))
          .ok());
  ASSERT_TRUE(
      testing::write_both(provider, live, 20 * kChunk, testing::random_bytes(random, 512)).ok());
  expect_reads(provider, kept, live, "after writes following the revert");
  newest_volume.value().reset();
  ASSERT_TRUE(history.rig->reopen().ok());
  expect_reads(*history.rig->provider, kept, live, "after reopen");
}

TEST_P(ProviderLifecycleTest, ConsolidateFoldsEverythingBackWhenNoSnapshotIsLeft) {
  RigHistory history = make_history(GetParam(), /*default_seed=*/53);
  ASSERT_NE(history.rig, nullptr);
  ASSERT_FALSE(HasFailure());
  SnapshotProvider& provider = *history.rig->provider;
  if (GetParam() == ProviderKind::kCopyOnWrite) {
    // Consolidation belongs to RowProvider: a CoW provider has no such call.
    EXPECT_EQ(provider.as_row(), nullptr);
    EXPECT_EQ(provider.as_cow(), &provider);
    return;
  }
  ASSERT_EQ(provider.as_cow(), nullptr);
  ASSERT_EQ(provider.as_row(), &provider);
  for (const Taken& snapshot : history.taken)
    ASSERT_TRUE(provider.delete_snapshot(snapshot.id).ok());
  EXPECT_GT(provider.usage().used_bytes, 0u) << "the live volume's chunks are still redirected";
  const std::uint64_t consolidated_before = provider.stats().chunks_consolidated;
  EXPECT_EQ(provider.as_row()->consolidatable_chunks(), 3u);  // A2, B2, C1
  ASSERT_TRUE(provider.as_row()->consolidate().ok());
  EXPECT_EQ(provider.as_row()->consolidatable_chunks(), 0u);
  EXPECT_EQ(provider.usage().used_bytes, 0u);
  EXPECT_EQ(provider.stats().chunks_consolidated - consolidated_before, 3u);  // A2, B2, C1
  // The origin itself, read underneath the provider, holds the live data.
  EXPECT_TRUE(read_all(*history.rig->origin_base) == history.live);
  EXPECT_TRUE(read_all(provider) == history.live);
  ASSERT_TRUE(history.rig->reopen().ok());
  EXPECT_TRUE(read_all(*history.rig->provider) == history.live);
  EXPECT_EQ(history.rig->provider->usage().used_bytes, 0u);
}

// A read-only window onto a volume: reads pass through, everything else is refused (the
// Volume base class refuses writes and discards of a read-only volume before do_write).
class ReadOnlyView final : public VolumeWrapper {
 public:
  using VolumeWrapper::VolumeWrapper;
  bool read_only() const noexcept override { return true; }

 protected:
  Status do_flush() override { return Status(); }
};

TEST_P(ProviderLifecycleTest, ReadOnlyOpenReadsEverythingAndChangesNothing) {
  const ProviderKind kind = GetParam();
  RigHistory history = make_history(kind, /*default_seed=*/53);
  ASSERT_NE(history.rig, nullptr);
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(history.rig->provider->flush().ok());
  history.rig->provider.reset();
  const Bytes origin_before = read_all(*history.rig->origin);
  const Bytes diff_before = read_all(*history.rig->diff);

  ReadOnlyView origin(*history.rig->origin);
  ReadOnlyView diff(*history.rig->diff);
  auto opened = SnapshotProvider::open(origin, diff);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  SnapshotProvider& provider = *opened.value();
  EXPECT_TRUE(provider.read_only());
  expect_reads(provider, history.taken, history.live, "through a read-only open");

  Bytes chunk(kChunk, std::byte{0x5a});
  EXPECT_EQ(provider.write(0, chunk).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(provider.create_snapshot().status().code(), ErrorCode::kReadOnly);
  EXPECT_EQ(provider.delete_snapshot(history.taken[0].id).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(provider.revert_to_snapshot(history.taken[0].id).code(), ErrorCode::kReadOnly);
  EXPECT_EQ(provider.set_limit(DiffAreaLimit::bytes(kChunk * 64)).code(), ErrorCode::kReadOnly);
  EXPECT_TRUE(provider.flush().ok());
  opened.value().reset();
  EXPECT_TRUE(read_all(*history.rig->origin) == origin_before);
  EXPECT_TRUE(read_all(*history.rig->diff) == diff_before);
  ASSERT_TRUE(history.rig->reopen().ok());
  expect_reads(*history.rig->provider, history.taken, history.live, "after a writable reopen");
}

TEST(RowProviderConsolidate, KeepsWhatASnapshotNeeds) {
  RigHistory history = make_history(ProviderKind::kRedirectOnWrite, /*default_seed=*/54);
  ASSERT_NE(history.rig, nullptr);
  ASSERT_FALSE(HasFailure());
  SnapshotProvider& provider = *history.rig->provider;
  ASSERT_TRUE(provider.delete_snapshot(history.taken[0].id).ok());
  ASSERT_TRUE(provider.delete_snapshot(history.taken[2].id).ok());
  std::vector<Taken> kept = {history.taken[1]};
  // Left: A1 (S2 reads it), A2, B2, C1 (live). S2 reads B0 and C0 in the origin, so only
  // A2 may fold back.
  EXPECT_EQ(provider.usage().used_bytes, 4 * kChunk);
  ASSERT_TRUE(provider.as_row()->consolidate().ok());
  EXPECT_EQ(provider.usage().used_bytes, 3 * kChunk);
  expect_reads(provider, kept, history.live, "after consolidate");
  Bytes origin = read_all(*history.rig->origin_base);
  const Bytes& snapshot = kept[0].image;
  for (std::uint64_t chunk = 0; chunk < origin.size() / kChunk; ++chunk) {
    const std::size_t at = chunk * kChunk;
    bool as_live = std::memcmp(origin.data() + at, history.live.data() + at, kChunk) == 0;
    bool as_snapshot = std::memcmp(origin.data() + at, snapshot.data() + at, kChunk) == 0;
    EXPECT_TRUE(as_live || as_snapshot) << "origin chunk " << chunk << " holds neither view";
    if (chunk == kChunkA) {
      EXPECT_TRUE(as_live) << "chunk A was not folded back";
    }
  }
  ASSERT_TRUE(history.rig->reopen().ok());
  expect_reads(*history.rig->provider, kept, history.live, "after reopen");
}

// CowProvider::open and RowProvider::open each refuse the other kind's diff area, naming
// both kinds, and leave it as it was; SnapshotProvider::open takes either, as its kind's class.
TEST(ProviderClassesTest, TypedOpenRefusesTheOtherKindAndWritesNothing) {
  for (ProviderKind kind : {ProviderKind::kCopyOnWrite, ProviderKind::kRedirectOnWrite}) {
    SCOPED_TRACE(std::string(provider_kind_name(kind)));
    auto rig = make_rig(kind, {});
    ASSERT_NE(rig, nullptr);
    ASSERT_TRUE(rig->provider->create_snapshot().ok());
    ASSERT_TRUE(rig->provider->flush().ok());
    rig->provider.reset();
    const Bytes diff_before = read_all(*rig->diff_base);
    const Bytes origin_before = read_all(*rig->origin_base);
    const bool cow = kind == ProviderKind::kCopyOnWrite;
    Status refused = cow ? RowProvider::open(*rig->origin, *rig->diff).status()
                         : CowProvider::open(*rig->origin, *rig->diff).status();
    EXPECT_EQ(refused.code(), ErrorCode::kInvalidArgument) << refused.to_string();
    EXPECT_NE(
        refused.message().find(cow ? "holds a copy-on-write diff area, not a redirect-on-write"
                                   : "holds a redirect-on-write diff area, not a copy-on-write"),
        std::string::npos)
        << refused.message();
    ASSERT_TRUE(rig->diff->flush().ok());
    EXPECT_TRUE(read_all(*rig->diff_base) == diff_before) << "a refused open wrote the diff area";
    EXPECT_TRUE(read_all(*rig->origin_base) == origin_before) << "a refused open wrote the origin";

    if (cow) {
      auto typed = CowProvider::open(*rig->origin, *rig->diff);
      ASSERT_TRUE(typed.ok()) << typed.status().to_string();
      EXPECT_EQ(typed.value()->as_cow(), typed.value().get());
      EXPECT_EQ(typed.value()->as_row(), nullptr);
    } else {
      auto typed = RowProvider::open(*rig->origin, *rig->diff);
      ASSERT_TRUE(typed.ok()) << typed.status().to_string();
      EXPECT_EQ(typed.value()->as_row(), typed.value().get());
      EXPECT_EQ(typed.value()->as_cow(), nullptr);
    }
  }
}

// CowProvider::held_chunks() counts the chunks waiting in the write-back buffer: the first
// overwrite of each chunk after a snapshot holds it until flush() writes it back.
TEST(ProviderClassesTest, CowHeldChunksCountTheWriteBackBuffer) {
  auto rig = make_rig(ProviderKind::kCopyOnWrite, {});
  ASSERT_NE(rig, nullptr);
  CowProvider* cow = rig->provider->as_cow();
  ASSERT_NE(cow, nullptr);
  const std::uint64_t chunk = rig->provider->usage().chunk_bytes;
  Bytes data(chunk, std::byte{0x5a});
  ASSERT_TRUE(cow->write(0, data).ok());
  EXPECT_EQ(cow->held_chunks(), 0u) << "no snapshot yet: nothing to preserve, nothing held";
  ASSERT_TRUE(cow->create_snapshot().ok());
  ASSERT_TRUE(cow->write(0, data).ok());
  ASSERT_TRUE(cow->write(3 * chunk, data).ok());
  ASSERT_TRUE(cow->write(3 * chunk, data).ok());
  EXPECT_EQ(cow->held_chunks(), 2u);
  ASSERT_TRUE(cow->flush().ok());
  EXPECT_EQ(cow->held_chunks(), 0u);

  auto unbuffered = make_rig(ProviderKind::kCopyOnWrite, {.write_back_bytes = 0});
  ASSERT_NE(unbuffered, nullptr);
  ASSERT_TRUE(unbuffered->provider->create_snapshot().ok());
  ASSERT_TRUE(unbuffered->provider->write(0, data).ok());
  EXPECT_EQ(unbuffered->provider->as_cow()->held_chunks(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Providers, ProviderLifecycleTest,
                         ::testing::Values(ProviderKind::kCopyOnWrite,
                                           ProviderKind::kRedirectOnWrite),
                         testing::kind_param_name);

}  // namespace
}  // namespace freezeframe

// Overflow policies and online resizing of the diff area (invariant 5), for both providers:
// the diff area never exceeds its maximum; when it would, the configured policy acts, the act
// is recorded in events(), and it is visible through the API.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "provider_rig.h"
#include "seed.h"

namespace freezeframe {
namespace {

using namespace testing;  // the provider rig

constexpr std::uint32_t kChunk = 4096;
constexpr std::uint64_t kLimitChunks = 16;

class ProviderPolicyTest : public ::testing::TestWithParam<ProviderKind> {
 protected:
  ProviderOptions options(OverflowPolicy policy) const {
    ProviderOptions options;
    options.chunk_bytes = kChunk;
    options.limit = DiffAreaLimit::bytes(kLimitChunks * kChunk);
    options.snapshots_max = 16;
    options.overflow_policy = policy;
    // Only the policy's events (the usage warning: provider_events_test.cpp).
    options.usage_warning_fraction = 0;
    return options;
  }

  // A rig under `policy` whose provider holds three snapshots, each followed by writes to 4
  // chunks of its own: 12 chunks in use. Drawn from test_seed(default_seed); on error the test
  // has failed.
  RigHistory three_snapshots(OverflowPolicy policy, std::uint64_t default_seed) const {
    RigHistory setup = start_history(GetParam(), options(policy), default_seed);
    EXPECT_NE(setup.rig, nullptr);
    if (setup.rig == nullptr)
      return setup;
    SnapshotProvider& provider = *setup.rig->provider;
    Random& random = *setup.random;
    for (int round = 0; round < 3; ++round) {
      auto info = provider.create_snapshot();
      EXPECT_TRUE(info.ok());
      setup.taken.push_back({info.value().id, setup.live});
      for (int i = 0; i < 4; ++i) {
        std::uint64_t chunk = static_cast<std::uint64_t>(round) * 4 + i;
        EXPECT_TRUE(testing::write_both(provider, setup.live, chunk * kChunk,
                                        testing::random_bytes(random, kChunk))
                        .ok());
      }
    }
    EXPECT_EQ(provider.usage().used_bytes, 12 * kChunk);
    return setup;
  }
};

void expect_usage_within_max(const SnapshotProvider& provider, const std::string& when) {
  DiffAreaUsage usage = provider.usage();
  EXPECT_LE(usage.used_bytes, usage.max_bytes) << when;
}

void expect_snapshots_read(SnapshotProvider& provider, const std::vector<Taken>& taken,
                           const std::string& when) {
  for (std::size_t i = 0; i < taken.size(); ++i) {
    auto volume = provider.open_snapshot(taken[i].id);
    ASSERT_TRUE(volume.ok()) << when << ": snapshot " << i << ": " << volume.status().to_string();
    EXPECT_TRUE(read_all(*volume.value()) == taken[i].image)
        << when << ": snapshot " << i << " differs";
  }
}

// Takes a snapshot, then writes `chunks` single-chunk writes to distinct chunks (each
// preserves or redirects one chunk), which must fill the diff area to exactly its maximum.
void fill_diff_area(SnapshotProvider& provider, Bytes& live, Random& random,
                    std::vector<Taken>& taken, std::uint64_t chunks = kLimitChunks) {
  auto info = provider.create_snapshot();
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  taken.push_back({info.value().id, live});
  for (std::uint64_t chunk = 0; chunk < chunks; ++chunk) {
    Bytes data = testing::random_bytes(random, kChunk);
    ASSERT_TRUE(testing::write_both(provider, live, chunk * kChunk, data).ok());
  }
  ASSERT_EQ(provider.usage().used_bytes, kLimitChunks * kChunk);
  ASSERT_EQ(provider.usage().max_bytes, kLimitChunks * kChunk);
}

// As above, on a history's provider, live image, random source and snapshots.
void fill_diff_area(RigHistory& history, std::uint64_t chunks = kLimitChunks) {
  fill_diff_area(*history.rig->provider, history.live, *history.random, history.taken, chunks);
}

TEST_P(ProviderPolicyTest, DeleteOldestDeletesOldestFirstAndKeepsTheRestExact) {
  testing::TracedRandom random(31);
  auto rig = make_rig(GetParam(), options(OverflowPolicy::kDeleteOldest));
  ASSERT_NE(rig, nullptr);
  SnapshotProvider& provider = *rig->provider;
  Bytes live = read_all(provider);
  std::vector<Taken> taken;  // every snapshot ever taken, oldest first
  const std::uint64_t chunks = provider.size_bytes() / kChunk;

  for (int round = 0; round < 12; ++round) {
    auto info = provider.create_snapshot();
    ASSERT_TRUE(info.ok()) << info.status().to_string();
    taken.push_back({info.value().id, live});
    for (int i = 0; i < 6; ++i) {
      std::uint64_t chunk = random.uniform(chunks);
      // A write across two chunks now and then.
      std::uint64_t length = (i % 3 == 0 && chunk + 1 < chunks) ? 2 * kChunk : kChunk;
      Bytes data = testing::random_bytes(random, length);
      Status status = testing::write_both(provider, live, chunk * kChunk, data);
      ASSERT_TRUE(status.ok()) << status.to_string();
      expect_usage_within_max(provider, "round " + std::to_string(round));
    }
  }

  // The policy deleted some snapshots, oldest first: the survivors are a suffix of `taken`.
  std::vector<SnapshotInfo> listed = provider.snapshots();
  ASSERT_LT(listed.size(), taken.size()) << "the workload should have overflowed the diff area";
  ASSERT_FALSE(listed.empty());
  std::size_t first_kept = taken.size() - listed.size();
  for (std::size_t i = 0; i < listed.size(); ++i) {
    EXPECT_EQ(listed[i].id, taken[first_kept + i].id) << "survivor " << i;
    EXPECT_EQ(listed[i].state, SnapshotState::kActive);
  }
  // Each deletion is an event naming the snapshot.
  std::set<Uuid> deleted_by_event;
  for (const ProviderEvent& event : provider.events()) {
    EXPECT_EQ(event.kind, ProviderEventKind::kSnapshotDeletedForSpace) << event.message;
    deleted_by_event.insert(event.snapshot_id);
    EXPECT_NE(event.message.find(event.snapshot_id.to_string()), std::string::npos)
        << event.message;
    EXPECT_NE(event.message.find("delete-oldest"), std::string::npos) << event.message;
  }
  std::set<Uuid> expected_deleted;
  for (std::size_t i = 0; i < first_kept; ++i)
    expected_deleted.insert(taken[i].id);
  EXPECT_EQ(deleted_by_event, expected_deleted);
  for (std::size_t i = 0; i < first_kept; ++i) {
    EXPECT_EQ(provider.open_snapshot(taken[i].id).status().code(), ErrorCode::kNotFound);
  }

  std::vector<Taken> kept(taken.begin() + static_cast<std::ptrdiff_t>(first_kept), taken.end());
  EXPECT_TRUE(read_all(provider) == live);
  expect_snapshots_read(provider, kept, "before reopen");
  ASSERT_TRUE(rig->reopen().ok());
  EXPECT_TRUE(read_all(*rig->provider) == live);
  expect_snapshots_read(*rig->provider, kept, "after reopen");
  expect_usage_within_max(*rig->provider, "after reopen");
}

TEST_P(ProviderPolicyTest, FailWritesRefusesTheWriteAndChangesNothing) {
  RigHistory history = start_history(GetParam(), options(OverflowPolicy::kFailWrites), 32);
  ASSERT_FALSE(HasFailure());
  fill_diff_area(history);
  ASSERT_FALSE(HasFatalFailure());
  auto& [random_source, rig, taken, live] = history;
  Random& random = *random_source;
  SnapshotProvider& provider = *rig->provider;
  ASSERT_TRUE(provider.flush().ok());

  // A write to a chunk that already has its own copy needs no space and succeeds.
  Bytes again = testing::random_bytes(random, kChunk);
  ASSERT_TRUE(testing::write_both(provider, live, 3 * kChunk, again).ok());

  // A single new chunk, and a write spanning a chunk that fits and one that does not: both
  // refused, and neither changes any byte of the live volume.
  const std::uint64_t new_chunk = kLimitChunks + 5;
  for (auto [offset, length] : {std::pair{new_chunk * kChunk, std::uint64_t{kChunk}},
                                std::pair{(kLimitChunks - 1) * kChunk, 2 * std::uint64_t{kChunk}},
                                std::pair{new_chunk * kChunk + 512, std::uint64_t{1024}}}) {
    SCOPED_TRACE("write at " + std::to_string(offset) + " of " + std::to_string(length));
    Bytes data = testing::random_bytes(random, length);
    Status status = provider.write(offset, data);
    ASSERT_EQ(status.code(), ErrorCode::kNoSpace) << status.to_string();
    EXPECT_NE(status.message().find("fail-writes"), std::string::npos) << status.message();
    EXPECT_TRUE(read_all(provider) == live) << "the refused write changed the live volume";
    expect_usage_within_max(provider, "after the refused write");
  }
  // Discards need space too, and are refused the same way.
  EXPECT_EQ(provider.discard(new_chunk * kChunk, kChunk).code(), ErrorCode::kNoSpace);
  EXPECT_TRUE(read_all(provider) == live);

  auto events = provider.events();
  ASSERT_FALSE(events.empty());
  for (const ProviderEvent& event : events) {
    EXPECT_EQ(event.kind, ProviderEventKind::kWriteFailedNoSpace) << event.message;
    EXPECT_TRUE(event.snapshot_id.is_nil());
  }
  ASSERT_EQ(provider.snapshots().size(), 1u);
  EXPECT_EQ(provider.snapshots()[0].state, SnapshotState::kActive);
  expect_snapshots_read(provider, taken, "after refused writes");

  // Deleting the snapshot makes room again.
  ASSERT_TRUE(provider.delete_snapshot(taken[0].id).ok());
  if (GetParam() == ProviderKind::kRedirectOnWrite) {
    ASSERT_TRUE(provider.as_row()->consolidate().ok());
  }
  Bytes data = testing::random_bytes(random, kChunk);
  Status status = testing::write_both(provider, live, new_chunk * kChunk, data);
  EXPECT_TRUE(status.ok()) << status.to_string();
  EXPECT_TRUE(read_all(provider) == live);
}

TEST_P(ProviderPolicyTest, InvalidateSnapshotLetsTheWriteThroughAndInvalidates) {
  RigHistory history = start_history(GetParam(), options(OverflowPolicy::kInvalidateSnapshot), 33);
  ASSERT_FALSE(HasFailure());
  auto& [random_source, rig, taken, live] = history;
  Random& random = *random_source;
  SnapshotProvider& provider = *rig->provider;
  auto first = provider.create_snapshot();
  ASSERT_TRUE(first.ok());
  taken.push_back({first.value().id, live});
  ASSERT_TRUE(provider.write(20 * kChunk, testing::random_bytes(random, kChunk)).ok());
  live = read_all(provider);
  fill_diff_area(history, kLimitChunks - 1);
  ASSERT_FALSE(HasFatalFailure());
  auto open_volume = provider.open_snapshot(taken.back().id);
  ASSERT_TRUE(open_volume.ok());

  Bytes data = testing::random_bytes(random, kChunk);
  const std::uint64_t offset = (kLimitChunks + 30) * kChunk;
  Status status = testing::write_both(provider, live, offset, data);
  ASSERT_TRUE(status.ok()) << status.to_string();
  EXPECT_TRUE(read_all(provider) == live);
  expect_usage_within_max(provider, "after the overflowing write");

  std::vector<SnapshotInfo> listed = provider.snapshots();
  ASSERT_EQ(listed.size(), taken.size()) << "invalidated snapshots stay listed";
  std::set<Uuid> invalidated;
  for (const SnapshotInfo& info : listed) {
    if (info.state == SnapshotState::kInvalidated)
      invalidated.insert(info.id);
  }
  ASSERT_FALSE(invalidated.empty());
  // The newest snapshot needed the space, so it is among the invalidated.
  EXPECT_TRUE(invalidated.contains(taken.back().id));
  std::set<Uuid> from_events;
  for (const ProviderEvent& event : provider.events()) {
    EXPECT_EQ(event.kind, ProviderEventKind::kSnapshotInvalidated) << event.message;
    EXPECT_NE(event.message.find("invalidate-snapshot"), std::string::npos) << event.message;
    from_events.insert(event.snapshot_id);
  }
  EXPECT_EQ(from_events, invalidated);

  for (const Taken& snapshot : taken) {
    auto opened = provider.open_snapshot(snapshot.id);
    if (invalidated.contains(snapshot.id)) {
      EXPECT_EQ(opened.status().code(), ErrorCode::kInvalidated);
    } else {
      ASSERT_TRUE(opened.ok());
      EXPECT_TRUE(read_all(*opened.value()) == snapshot.image);
    }
  }
  Bytes buffer(kChunk);
  EXPECT_EQ(open_volume.value()->read(0, buffer).code(), ErrorCode::kInvalidated);
  EXPECT_EQ(provider.revert_to_snapshot(taken.back().id).code(), ErrorCode::kInvalidated);

  // The state survives a reopen, and new snapshots work.
  open_volume.value().reset();
  ASSERT_TRUE(rig->reopen().ok());
  SnapshotProvider& reopened = *rig->provider;
  for (const SnapshotInfo& info : reopened.snapshots()) {
    EXPECT_EQ(info.state == SnapshotState::kInvalidated, invalidated.contains(info.id));
  }
  EXPECT_TRUE(read_all(reopened) == live);
  // RoW: the live volume's redirected chunks still fill the diff area; fold them back.
  if (GetParam() == ProviderKind::kRedirectOnWrite) {
    ASSERT_TRUE(reopened.as_row()->consolidate().ok());
  }
  auto fresh = reopened.create_snapshot();
  ASSERT_TRUE(fresh.ok()) << fresh.status().to_string();
  Bytes fresh_image = live;
  ASSERT_TRUE(testing::write_both(reopened, live, 0, testing::random_bytes(random, kChunk)).ok());
  expect_snapshots_read(reopened, {{fresh.value().id, fresh_image}}, "fresh snapshot");
}

TEST_P(ProviderPolicyTest, PolicySurvivesReopen) {
  testing::TracedRandom random(34);
  auto rig = make_rig(GetParam(), options(OverflowPolicy::kDeleteOldest));
  ASSERT_NE(rig, nullptr);
  ASSERT_TRUE(rig->provider->set_overflow_policy(OverflowPolicy::kFailWrites).ok());
  ASSERT_TRUE(rig->reopen().ok());
  SnapshotProvider& provider = *rig->provider;
  Bytes live = read_all(provider);
  std::vector<Taken> taken;
  fill_diff_area(provider, live, random, taken);
  Status status =
      provider.write((kLimitChunks + 1) * kChunk, testing::random_bytes(random, kChunk));
  EXPECT_EQ(status.code(), ErrorCode::kNoSpace) << "fail-writes was lost by the reopen";
  EXPECT_EQ(provider.snapshots().size(), 1u);

  ASSERT_TRUE(provider.set_overflow_policy(OverflowPolicy::kInvalidateSnapshot).ok());
  ASSERT_TRUE(rig->reopen().ok());
  status = rig->provider->write((kLimitChunks + 1) * kChunk, testing::random_bytes(random, kChunk));
  EXPECT_TRUE(status.ok()) << status.to_string();
  ASSERT_EQ(rig->provider->snapshots().size(), 1u);
  EXPECT_EQ(rig->provider->snapshots()[0].state, SnapshotState::kInvalidated);
}

// Invalidated snapshots stay in the catalog until deleted, so they count toward the maximum:
// otherwise repeated overflows would grow the catalog (and every journal checkpoint) without
// bound.
TEST_P(ProviderPolicyTest, InvalidatedSnapshotsCountTowardTheMaximum) {
  Random random(38);
  std::vector<Uuid> ids;
  auto rig =
      make_rig_with_full_catalog(GetParam(), options(OverflowPolicy::kInvalidateSnapshot), 3, ids);
  ASSERT_NE(rig, nullptr);
  ASSERT_EQ(ids.size(), 3u);
  SnapshotProvider& provider = *rig->provider;
  // Overflow: all three are invalidated.
  for (std::uint64_t chunk = 0; chunk <= kLimitChunks; ++chunk) {
    ASSERT_TRUE(provider.write(chunk * kChunk, testing::random_bytes(random, kChunk)).ok());
  }
  for (const SnapshotInfo& info : provider.snapshots())
    ASSERT_EQ(info.state, SnapshotState::kInvalidated);
  auto fourth = provider.create_snapshot();
  ASSERT_EQ(fourth.status().code(), ErrorCode::kLimitExceeded) << fourth.status().to_string();
  EXPECT_EQ(provider.snapshots().size(), 3u);
  // Deleting an invalidated snapshot makes room.
  ASSERT_TRUE(provider.delete_snapshot(ids[0]).ok());
  auto created = provider.create_snapshot();
  EXPECT_TRUE(created.ok()) << created.status().to_string();
  EXPECT_LE(provider.snapshots().size(), 3u);
}

// ----- online resize

TEST_P(ProviderPolicyTest, ResizeUpAndDownWithDeleteOldest) {
  RigHistory setup = three_snapshots(OverflowPolicy::kDeleteOldest, /*default_seed=*/35);
  ASSERT_FALSE(HasFailure());
  SnapshotProvider& provider = *setup.rig->provider;

  // Growing deletes nothing and is reported at once.
  ASSERT_TRUE(provider.set_limit(DiffAreaLimit::bytes(64 * kChunk)).ok());
  EXPECT_EQ(provider.usage().max_bytes, 64 * kChunk);
  EXPECT_EQ(provider.usage().limit.kind, DiffAreaLimit::Kind::kBytes);
  EXPECT_EQ(provider.usage().limit.value, 64 * kChunk);
  EXPECT_EQ(provider.snapshots().size(), 3u);
  // A limit beyond the diff volume is capped by it.
  ASSERT_TRUE(provider.set_limit(DiffAreaLimit::bytes(1ull << 40)).ok());
  EXPECT_LE(provider.usage().max_bytes,
            setup.rig->diff->size_bytes() - provider.usage().metadata_bytes);
  EXPECT_GT(provider.usage().max_bytes, 64 * kChunk);
  // Shrinking, still above use: nothing deleted.
  ASSERT_TRUE(provider.set_limit(DiffAreaLimit::bytes(12 * kChunk)).ok());
  EXPECT_EQ(provider.snapshots().size(), 3u);
  expect_snapshots_read(provider, setup.taken, "after shrinking to use");

  // Shrinking below use deletes the oldest snapshots until it fits.
  ASSERT_TRUE(provider.set_limit(DiffAreaLimit::bytes(8 * kChunk)).ok());
  DiffAreaUsage usage = provider.usage();
  EXPECT_EQ(usage.max_bytes, 8 * kChunk);
  EXPECT_LE(usage.used_bytes, usage.max_bytes);
  std::vector<SnapshotInfo> listed = provider.snapshots();
  ASSERT_LT(listed.size(), 3u);
  std::size_t first_kept = 3 - listed.size();
  for (std::size_t i = 0; i < listed.size(); ++i)
    EXPECT_EQ(listed[i].id, setup.taken[first_kept + i].id);
  // Deleting the oldest snapshot frees (CoW) or lets the provider fold back (RoW) 4 chunks;
  // that is enough.
  EXPECT_EQ(listed.size(), 2u) << "delete-oldest deleted more snapshots than needed";
  std::size_t deleted_events = 0;
  for (const ProviderEvent& event : provider.events()) {
    EXPECT_EQ(event.kind, ProviderEventKind::kSnapshotDeletedForSpace);
    ++deleted_events;
  }
  EXPECT_EQ(deleted_events, first_kept);
  std::vector<Taken> kept(setup.taken.begin() + static_cast<std::ptrdiff_t>(first_kept),
                          setup.taken.end());
  expect_snapshots_read(provider, kept, "after shrinking below use");
  EXPECT_TRUE(read_all(provider) == setup.live);

  // The limit persists across a reopen.
  ASSERT_TRUE(setup.rig->reopen().ok());
  usage = setup.rig->provider->usage();
  EXPECT_EQ(usage.limit.kind, DiffAreaLimit::Kind::kBytes);
  EXPECT_EQ(usage.limit.value, 8 * kChunk);
  EXPECT_EQ(usage.max_bytes, 8 * kChunk);
  expect_snapshots_read(*setup.rig->provider, kept, "after reopen");
  EXPECT_TRUE(read_all(*setup.rig->provider) == setup.live);

  ASSERT_TRUE(setup.rig->provider->set_limit(DiffAreaLimit::percent_of_origin(50)).ok());
  ASSERT_TRUE(setup.rig->reopen().ok());
  usage = setup.rig->provider->usage();
  EXPECT_EQ(usage.limit.kind, DiffAreaLimit::Kind::kPercentOfOrigin);
  EXPECT_EQ(usage.limit.value, 50u);
  EXPECT_EQ(usage.max_bytes, setup.rig->provider->size_bytes() / 2);
}

TEST_P(ProviderPolicyTest, ShrinkBelowUseIsRefusedUnderFailWrites) {
  RigHistory setup = three_snapshots(OverflowPolicy::kFailWrites, /*default_seed=*/36);
  ASSERT_FALSE(HasFailure());
  SnapshotProvider& provider = *setup.rig->provider;
  DiffAreaUsage before = provider.usage();

  Status status = provider.set_limit(DiffAreaLimit::bytes(8 * kChunk));
  ASSERT_EQ(status.code(), ErrorCode::kNoSpace) << status.to_string();
  EXPECT_NE(status.message().find("fail-writes"), std::string::npos) << status.message();
  DiffAreaUsage after = provider.usage();
  EXPECT_EQ(after.max_bytes, before.max_bytes);
  EXPECT_EQ(after.used_bytes, before.used_bytes);
  EXPECT_EQ(after.limit.value, before.limit.value);
  EXPECT_EQ(provider.snapshots().size(), 3u);
  expect_snapshots_read(provider, setup.taken, "after the refused shrink");
  // Nothing was recorded either: a reopen shows the old limit.
  ASSERT_TRUE(setup.rig->reopen().ok());
  EXPECT_EQ(setup.rig->provider->usage().max_bytes, before.max_bytes);
  EXPECT_EQ(setup.rig->provider->usage().limit.value, before.limit.value);

  // Growing still works under fail-writes.
  ASSERT_TRUE(setup.rig->provider->set_limit(DiffAreaLimit::bytes(32 * kChunk)).ok());
  EXPECT_EQ(setup.rig->provider->usage().max_bytes, 32 * kChunk);
  // And an invalid limit is refused by name.
  status = setup.rig->provider->set_limit(DiffAreaLimit::percent_of_origin(0));
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(status.message().find("0%"), std::string::npos) << status.message();
}

TEST_P(ProviderPolicyTest, ShrinkBelowUseInvalidatesUnderInvalidateSnapshot) {
  RigHistory setup = three_snapshots(OverflowPolicy::kInvalidateSnapshot, /*default_seed=*/37);
  ASSERT_FALSE(HasFailure());
  SnapshotProvider& provider = *setup.rig->provider;
  ASSERT_TRUE(provider.set_limit(DiffAreaLimit::bytes(8 * kChunk)).ok());
  DiffAreaUsage usage = provider.usage();
  EXPECT_LE(usage.used_bytes, usage.max_bytes);
  bool any_invalidated = false;
  for (const SnapshotInfo& info : provider.snapshots())
    any_invalidated |= info.state == SnapshotState::kInvalidated;
  EXPECT_TRUE(any_invalidated);
  EXPECT_FALSE(provider.events().empty());
  EXPECT_TRUE(read_all(provider) == setup.live);
}

// A seeded random workload against a small diff area, under each policy: after every step
// the diff area is within its maximum, the policy's effects match what it may do, and every
// surviving snapshot reads back exactly.
using RandomPolicyParam = std::tuple<ProviderKind, OverflowPolicy>;

class ProviderPolicyRandomTest : public ::testing::TestWithParam<RandomPolicyParam> {};

TEST_P(ProviderPolicyRandomTest, RandomWorkloadKeepsThePolicyContract) {
  const auto [kind, policy] = GetParam();
  testing::TracedRandom random(39 + static_cast<std::uint64_t>(policy));
  ProviderOptions options;
  options.chunk_bytes = kChunk;
  options.limit = DiffAreaLimit::bytes(24 * kChunk);
  options.snapshots_max = 6;
  options.overflow_policy = policy;
  auto rig = make_rig(kind, options, {.origin_bytes = 512 << 10, .seed = random.seed()});
  ASSERT_NE(rig, nullptr);
  Bytes live(rig->provider->size_bytes());
  std::vector<Taken> model;  // snapshots the model believes active, oldest first
  std::set<Uuid> invalidated;
  const std::uint64_t sectors = live.size() / 512;
  bool policy_acted = false;

  for (int step = 0; step < 400; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    SnapshotProvider& provider = *rig->provider;
    std::uint64_t dice = random.uniform(100);
    if (dice < 55) {
      std::uint64_t length = 512 * random.uniform_range(1, 3 * kChunk / 512);
      std::uint64_t offset = 512 * random.uniform(sectors - length / 512 + 1);
      Bytes data = testing::random_bytes(random, length);
      Status status = testing::write_both(provider, live, offset, data);
      if (policy == OverflowPolicy::kFailWrites && status.code() == ErrorCode::kNoSpace) {
        EXPECT_NE(status.message().find("fail-writes"), std::string::npos);
      } else {
        ASSERT_TRUE(status.ok()) << status.to_string();
      }
    } else if (dice < 70) {
      auto info = provider.create_snapshot();
      if (info.ok()) {
        model.push_back({info.value().id, live});
      } else {
        ASSERT_EQ(info.status().code(), ErrorCode::kLimitExceeded) << info.status().to_string();
        ASSERT_GE(provider.snapshots().size(), options.snapshots_max);
      }
    } else if (dice < 78) {
      auto listed = provider.snapshots();
      if (!listed.empty()) {
        Uuid id = listed[random.uniform(listed.size())].id;
        ASSERT_TRUE(provider.delete_snapshot(id).ok());
        std::erase_if(model, [&](const Taken& t) { return t.id == id; });
        invalidated.erase(id);
      }
    } else if (dice < 82 && kind == ProviderKind::kRedirectOnWrite) {
      ASSERT_TRUE(provider.as_row()->consolidate().ok());
    } else if (dice < 88) {
      ASSERT_TRUE(provider.flush().ok());
    } else if (dice < 92) {
      ASSERT_TRUE(rig->reopen().ok());
    } else {
      ASSERT_TRUE(read_all(provider) == live);
      for (const Taken& snapshot : model) {
        auto volume = provider.open_snapshot(snapshot.id);
        ASSERT_TRUE(volume.ok()) << volume.status().to_string();
        ASSERT_TRUE(read_all(*volume.value()) == snapshot.image);
      }
    }
    SnapshotProvider& now = *rig->provider;
    for (const ProviderEvent& event : now.events())
      policy_acted |= event.kind != ProviderEventKind::kUsageAboveWarning;
    DiffAreaUsage usage = now.usage();
    ASSERT_LE(usage.used_bytes, usage.max_bytes);
    // Reconcile the model with what the policy did.
    std::vector<SnapshotInfo> listed = now.snapshots();
    std::vector<Taken> still_active;
    std::size_t position = 0;
    for (const Taken& snapshot : model) {
      auto found = std::find_if(listed.begin(), listed.end(),
                                [&](const SnapshotInfo& info) { return info.id == snapshot.id; });
      if (found == listed.end()) {
        ASSERT_EQ(policy, OverflowPolicy::kDeleteOldest) << "a snapshot vanished";
        // Deleted for space: only ever the oldest.
        ASSERT_EQ(position, 0u) << "delete-oldest deleted a snapshot while an older one stayed";
      } else if (found->state == SnapshotState::kInvalidated) {
        ASSERT_EQ(policy, OverflowPolicy::kInvalidateSnapshot) << "a snapshot was invalidated";
        invalidated.insert(snapshot.id);
      } else {
        still_active.push_back(snapshot);
        ++position;
      }
    }
    model = std::move(still_active);
    for (const Uuid& id : invalidated) {
      ASSERT_EQ(now.open_snapshot(id).status().code(), ErrorCode::kInvalidated);
    }
  }
  EXPECT_TRUE(policy_acted) << "the workload never overflowed the diff area";
  ASSERT_TRUE(read_all(*rig->provider) == live);
  for (const Taken& snapshot : model) {
    auto volume = rig->provider->open_snapshot(snapshot.id);
    ASSERT_TRUE(volume.ok());
    EXPECT_TRUE(read_all(*volume.value()) == snapshot.image);
  }
}

INSTANTIATE_TEST_SUITE_P(Providers, ProviderPolicyRandomTest,
                         ::testing::Combine(::testing::Values(ProviderKind::kCopyOnWrite,
                                                              ProviderKind::kRedirectOnWrite),
                                            ::testing::Values(OverflowPolicy::kDeleteOldest,
                                                              OverflowPolicy::kFailWrites,
                                                              OverflowPolicy::kInvalidateSnapshot)),
                         [](const ::testing::TestParamInfo<RandomPolicyParam>& param_info) {
                           std::string name =
                               std::string(provider_kind_name(std::get<0>(param_info.param))) +
                               "_" +
                               std::string(overflow_policy_name(std::get<1>(param_info.param)));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

INSTANTIATE_TEST_SUITE_P(Providers, ProviderPolicyTest,
                         ::testing::Values(ProviderKind::kCopyOnWrite,
                                           ProviderKind::kRedirectOnWrite),
                         testing::kind_param_name);

}  // namespace
}  // namespace freezeframe

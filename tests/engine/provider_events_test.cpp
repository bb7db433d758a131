// Provider events as they are told: the on_event callback receives every event events()
// keeps, in order, with the snapshot and the cause; the usage warning fires once per crossing
// of its fraction; a kNotFound for a snapshot the overflow policy deleted for space says so.
// For both providers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "freezeframe/diff_area_settings.h"
#include "layer_rig.h"
#include "overflow_guard.h"
#include "provider_rig.h"

namespace freezeframe {
namespace {

using namespace testing;  // the provider rig
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::uint32_t kChunk = 4096;
constexpr ProviderKind kKinds[] = {ProviderKind::kCopyOnWrite, ProviderKind::kRedirectOnWrite};

std::string kind_text(ProviderKind kind) {
  return std::string(provider_kind_name(kind));
}

// Options with a maximum of `limit_chunks` chunks and the usage warning at `fraction`; the
// events the callback receives go to `told`.
ProviderOptions options_with(std::uint64_t limit_chunks, double fraction,
                             std::vector<ProviderEvent>* told,
                             OverflowPolicy policy = OverflowPolicy::kDeleteOldest) {
  ProviderOptions options;
  options.chunk_bytes = kChunk;
  options.limit = DiffAreaLimit::bytes(limit_chunks * kChunk);
  options.snapshots_max = 16;
  options.overflow_policy = policy;
  options.usage_warning_fraction = fraction;
  if (told != nullptr)
    options.on_event = [told](const ProviderEvent& event) { told->push_back(event); };
  return options;
}

// Writes `count` chunks of a pattern from chunk `first`, one write call.
Status write_chunks(Volume& volume, std::uint64_t first, std::uint64_t count, int pattern) {
  Bytes data(count * kChunk, static_cast<std::byte>(pattern));
  return volume.write(first * kChunk, data);
}

// Writes `count` chunks from chunk `first`, one write call per chunk.
Status write_chunks_one_by_one(Volume& volume, std::uint64_t first, std::uint64_t count,
                               int pattern) {
  for (std::uint64_t chunk = first; chunk < first + count; ++chunk) {
    if (Status status = write_chunks(volume, chunk, 1, pattern); !status.ok())
      return status;
  }
  return Status();
}

void expect_same_events(const std::vector<ProviderEvent>& told,
                        const std::vector<ProviderEvent>& kept, const std::string& when) {
  ASSERT_EQ(told.size(), kept.size()) << when;
  for (std::size_t i = 0; i < told.size(); ++i) {
    EXPECT_EQ(told[i].kind, kept[i].kind) << when << ": event " << i;
    EXPECT_EQ(told[i].snapshot_id, kept[i].snapshot_id) << when << ": event " << i;
    EXPECT_EQ(told[i].message, kept[i].message) << when << ": event " << i;
    EXPECT_EQ(told[i].used_bytes, kept[i].used_bytes) << when << ": event " << i;
    EXPECT_EQ(told[i].max_bytes, kept[i].max_bytes) << when << ": event " << i;
  }
}

std::size_t count_of(const std::vector<ProviderEvent>& events, ProviderEventKind kind) {
  std::size_t count = 0;
  for (const ProviderEvent& event : events)
    count += event.kind == kind;
  return count;
}

// Two snapshots, each followed by writes to 4 chunks of its own, in a diff area of 8 chunks:
// full. Then a third snapshot. Their ids, oldest first.
std::vector<Uuid> fill_with_two_snapshots(SnapshotProvider& provider) {
  std::vector<Uuid> ids;
  for (int round = 0; round < 2; ++round) {
    auto info = provider.create_snapshot();
    EXPECT_TRUE(info.ok()) << info.status().to_string();
    if (!info.ok())
      return ids;
    ids.push_back(info.value().id);
    Status status = write_chunks(provider, static_cast<std::uint64_t>(round) * 4, 4, round + 1);
    EXPECT_TRUE(status.ok()) << status.to_string();
  }
  EXPECT_EQ(provider.usage().used_bytes, 8 * kChunk);
  auto third = provider.create_snapshot();
  EXPECT_TRUE(third.ok()) << third.status().to_string();
  if (third.ok())
    ids.push_back(third.value().id);
  return ids;
}

// Deletes snapshot `id` and, for RoW, folds the live volume's chunks back: the diff area is
// empty again.
void delete_and_empty(SnapshotProvider& provider, const Uuid& id) {
  ASSERT_TRUE(provider.delete_snapshot(id).ok());
  if (provider.as_row() != nullptr) {
    ASSERT_TRUE(provider.as_row()->consolidate().ok());
  }
  ASSERT_EQ(provider.usage().used_bytes, 0u);
}

TEST(ProviderEvents, CallbackReceivesDeletionsForSpaceInOrderWithTheSnapshotAndCause) {
  for (ProviderKind kind : kKinds) {
    SCOPED_TRACE(kind_text(kind));
    std::vector<ProviderEvent> told;
    auto rig = make_rig(kind, options_with(8, 0, &told));
    ASSERT_NE(rig, nullptr);
    SnapshotProvider& provider = *rig->provider;
    std::vector<Uuid> ids = fill_with_two_snapshots(provider);
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_TRUE(told.empty());

    // 5 more chunks: the two oldest snapshots go, oldest first.
    ASSERT_TRUE(write_chunks(provider, 8, 5, 3).ok());
    ASSERT_EQ(told.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(told[i].kind, ProviderEventKind::kSnapshotDeletedForSpace);
      EXPECT_EQ(told[i].snapshot_id, ids[i]);
      EXPECT_THAT(told[i].message, HasSubstr(ids[i].to_string()));
      EXPECT_THAT(told[i].message, HasSubstr("delete-oldest"));
      EXPECT_THAT(told[i].message, HasSubstr("is full"));
      EXPECT_EQ(told[i].max_bytes, 8 * kChunk);
      EXPECT_LE(told[i].used_bytes, told[i].max_bytes);
    }
    expect_same_events(told, provider.events(), "after the deletions");
    ASSERT_EQ(provider.snapshots().size(), 1u);
    EXPECT_EQ(provider.snapshots()[0].id, ids[2]);
  }
}

TEST(ProviderEvents, CallbackReceivesInvalidationsInOrderWithTheSnapshotAndCause) {
  for (ProviderKind kind : kKinds) {
    SCOPED_TRACE(kind_text(kind));
    std::vector<ProviderEvent> told;
    auto rig = make_rig(kind, options_with(8, 0, &told, OverflowPolicy::kInvalidateSnapshot));
    ASSERT_NE(rig, nullptr);
    SnapshotProvider& provider = *rig->provider;
    std::vector<Uuid> ids = fill_with_two_snapshots(provider);
    ASSERT_EQ(ids.size(), 3u);

    ASSERT_TRUE(write_chunks(provider, 8, 1, 3).ok());
    ASSERT_EQ(told.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(told[i].kind, ProviderEventKind::kSnapshotInvalidated);
      EXPECT_EQ(told[i].snapshot_id, ids[i]);
      EXPECT_THAT(told[i].message, HasSubstr(ids[i].to_string()));
      EXPECT_THAT(told[i].message, HasSubstr("invalidate-snapshot"));
      EXPECT_THAT(told[i].message, HasSubstr("is full"));
      EXPECT_EQ(told[i].max_bytes, 8 * kChunk);
    }
    expect_same_events(told, provider.events(), "after the invalidations");
  }
}

TEST(ProviderEvents, FailedWriteIsToldWithoutASnapshot) {
  std::vector<ProviderEvent> told;
  auto rig =
      make_rig(ProviderKind::kCopyOnWrite, options_with(8, 0, &told, OverflowPolicy::kFailWrites));
  ASSERT_NE(rig, nullptr);
  SnapshotProvider& provider = *rig->provider;
  ASSERT_EQ(fill_with_two_snapshots(provider).size(), 3u);
  EXPECT_EQ(write_chunks(provider, 8, 1, 3).code(), ErrorCode::kNoSpace);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].kind, ProviderEventKind::kWriteFailedNoSpace);
  EXPECT_TRUE(told[0].snapshot_id.is_nil());
  EXPECT_EQ(told[0].used_bytes, 8 * kChunk);
  expect_same_events(told, provider.events(), "after the refused write");
}

TEST(ProviderEvents, UsageWarningFiresOnceWhenCrossingItsFractionAndAgainAfterFallingBelow) {
  for (ProviderKind kind : kKinds) {
    SCOPED_TRACE(kind_text(kind));
    std::vector<ProviderEvent> told;
    auto rig = make_rig(kind, options_with(10, 0.8, &told));
    ASSERT_NE(rig, nullptr);
    SnapshotProvider& provider = *rig->provider;
    auto first = provider.create_snapshot();
    ASSERT_TRUE(first.ok());

    // 7 of 10 chunks: below 80%.
    ASSERT_TRUE(write_chunks_one_by_one(provider, 0, 7, 1).ok());
    EXPECT_TRUE(told.empty());
    // 9 of 10: above, told once, with the use the write took the diff area to.
    ASSERT_TRUE(write_chunks_one_by_one(provider, 7, 2, 1).ok());
    ASSERT_EQ(told.size(), 1u);
    EXPECT_EQ(told[0].kind, ProviderEventKind::kUsageAboveWarning);
    EXPECT_TRUE(told[0].snapshot_id.is_nil());
    EXPECT_EQ(told[0].used_bytes, 9 * kChunk);
    EXPECT_EQ(told[0].max_bytes, 10 * kChunk);
    EXPECT_THAT(told[0].message, HasSubstr("80%"));
    EXPECT_EQ(provider.usage().used_bytes, 9 * kChunk);
    // Still above: not told again.
    ASSERT_TRUE(write_chunks(provider, 9, 1, 1).ok());
    EXPECT_EQ(count_of(told, ProviderEventKind::kUsageAboveWarning), 1u);

    // Use falls below the fraction, then rises above it again: told again.
    delete_and_empty(provider, first.value().id);
    ASSERT_TRUE(provider.create_snapshot().ok());
    ASSERT_TRUE(write_chunks_one_by_one(provider, 20, 7, 2).ok());
    EXPECT_EQ(count_of(told, ProviderEventKind::kUsageAboveWarning), 1u);
    ASSERT_TRUE(write_chunks(provider, 27, 2, 2).ok());
    EXPECT_EQ(count_of(told, ProviderEventKind::kUsageAboveWarning), 2u);
    EXPECT_EQ(told.back().used_bytes, 9 * kChunk);
    expect_same_events(told, provider.events(), "after two crossings");
  }
}

TEST(ProviderEvents, UsageWarningAtZeroIsOff) {
  for (ProviderKind kind : kKinds) {
    SCOPED_TRACE(kind_text(kind));
    std::vector<ProviderEvent> told;
    auto rig = make_rig(kind, options_with(10, 0, &told));
    ASSERT_NE(rig, nullptr);
    SnapshotProvider& provider = *rig->provider;
    ASSERT_TRUE(provider.create_snapshot().ok());
    ASSERT_TRUE(write_chunks_one_by_one(provider, 0, 10, 1).ok());
    EXPECT_EQ(provider.usage().used_bytes, provider.usage().max_bytes);
    EXPECT_TRUE(told.empty());
    EXPECT_TRUE(provider.events().empty());
  }
}

TEST(ProviderEvents, UsageWarningIsOnByDefault) {
  std::vector<ProviderEvent> told;
  ProviderOptions options = options_with(10, 0.8, &told);
  options.usage_warning_fraction = ProviderOptions{}.usage_warning_fraction;
  EXPECT_EQ(options.usage_warning_fraction, 0.8);
  auto rig = make_rig(ProviderKind::kCopyOnWrite, options);
  ASSERT_NE(rig, nullptr);
  ASSERT_TRUE(rig->provider->create_snapshot().ok());
  ASSERT_TRUE(write_chunks(*rig->provider, 0, 9, 1).ok());
  EXPECT_EQ(count_of(told, ProviderEventKind::kUsageAboveWarning), 1u);
}

TEST(ProviderEvents, UsageWarningFractionOutsideZeroToOneIsRefused) {
  const double bad[] = {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN(),
                        std::numeric_limits<double>::infinity()};
  for (double fraction : bad) {
    SCOPED_TRACE(fraction);
    auto origin = MemoryVolume::create({.name = "origin", .size_bytes = 1 << 20});
    auto diff = MemoryVolume::create({.name = "diff", .size_bytes = 8 << 20});
    ASSERT_TRUE(origin.ok() && diff.ok());
    ProviderOptions options = options_with(10, fraction, nullptr);
    auto created = SnapshotProvider::create(ProviderKind::kCopyOnWrite, *origin.value(),
                                            *diff.value(), options);
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(created.status().message(), HasSubstr("usage warning fraction"));
  }
  // 1 is allowed (warns only beyond the maximum: never); so is open() with a good one, and an
  // open() with a bad one is refused.
  auto origin = MemoryVolume::create({.name = "origin", .size_bytes = 1 << 20});
  auto diff = MemoryVolume::create({.name = "diff", .size_bytes = 8 << 20});
  ASSERT_TRUE(origin.ok() && diff.ok());
  auto created = SnapshotProvider::create(ProviderKind::kCopyOnWrite, *origin.value(),
                                          *diff.value(), options_with(10, 1.0, nullptr));
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  created.value().reset();
  auto refused =
      SnapshotProvider::open(*origin.value(), *diff.value(), {.usage_warning_fraction = 2.0});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(
      SnapshotProvider::open(*origin.value(), *diff.value(), {.usage_warning_fraction = 0.5}).ok());
}

TEST(ProviderEvents, NotFoundAfterDeletionForSpaceNamesTheOverflowPolicyAndCause) {
  for (ProviderKind kind : kKinds) {
    SCOPED_TRACE(kind_text(kind));
    auto rig = make_rig(kind, options_with(8, 0, nullptr));
    ASSERT_NE(rig, nullptr);
    SnapshotProvider& provider = *rig->provider;
    std::vector<Uuid> ids = fill_with_two_snapshots(provider);
    ASSERT_EQ(ids.size(), 3u);
    auto open_oldest = provider.open_snapshot(ids[0]);
    ASSERT_TRUE(open_oldest.ok());
    ASSERT_TRUE(write_chunks(provider, 8, 1, 3).ok());
    ASSERT_EQ(provider.snapshots().size(), 2u);

    auto info = provider.snapshot_info(ids[0]);
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), ErrorCode::kNotFound);
    const std::string message = info.status().message();
    EXPECT_THAT(message, HasSubstr("snapshot " + ids[0].to_string() + " not found on '"));
    EXPECT_THAT(message, HasSubstr("it was deleted by the overflow policy to make room"));
    EXPECT_THAT(message, HasSubstr("is full"));
    auto reopened_view = provider.open_snapshot(ids[0]);
    ASSERT_FALSE(reopened_view.ok());
    EXPECT_EQ(reopened_view.status().code(), ErrorCode::kNotFound);
    EXPECT_THAT(reopened_view.status().message(), HasSubstr("deleted by the overflow policy"));

    // The view opened before the deletion says the same.
    Bytes sector(open_oldest.value()->sector_bytes());
    Status read = open_oldest.value()->read(0, sector);
    EXPECT_EQ(read.code(), ErrorCode::kNotFound);
    EXPECT_THAT(read.message(), HasSubstr("deleted by the overflow policy to make room"));
    EXPECT_THAT(read.message(), HasSubstr("is full"));

    // A snapshot its user deleted is just not found.
    auto view = provider.open_snapshot(ids[1]);
    ASSERT_TRUE(view.ok());
    ASSERT_TRUE(provider.delete_snapshot(ids[1]).ok());
    auto gone = provider.snapshot_info(ids[1]);
    ASSERT_FALSE(gone.ok());
    EXPECT_EQ(gone.status().code(), ErrorCode::kNotFound);
    EXPECT_THAT(gone.status().message(), Not(HasSubstr("overflow policy")));
    read = view.value()->read(0, sector);
    EXPECT_EQ(read.code(), ErrorCode::kNotFound);
    EXPECT_THAT(read.message(), Not(HasSubstr("overflow policy")));
  }
}

TEST(ProviderEvents, OpenWithCallbackDeliversEventsAfterReopen) {
  for (ProviderKind kind : kKinds) {
    SCOPED_TRACE(kind_text(kind));
    std::vector<ProviderEvent> told_before;
    std::vector<ProviderEvent> told;
    auto rig = make_rig(kind, options_with(8, 0, &told_before));
    ASSERT_NE(rig, nullptr);
    std::vector<Uuid> ids = fill_with_two_snapshots(*rig->provider);
    ASSERT_EQ(ids.size(), 3u);
    ASSERT_TRUE(rig->provider->flush().ok());
    rig->provider.reset();
    EXPECT_TRUE(told_before.empty());

    auto opened = SnapshotProvider::open(
        *rig->origin, *rig->diff,
        {.random = rig->uuids.get(),
         .on_event = [&told](const ProviderEvent& event) { told.push_back(event); },
         .usage_warning_fraction = 0});
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    rig->provider = std::move(opened).value();
    EXPECT_TRUE(told.empty());
    ASSERT_TRUE(write_chunks(*rig->provider, 8, 1, 3).ok());
    ASSERT_EQ(told.size(), 1u);
    EXPECT_EQ(told[0].kind, ProviderEventKind::kSnapshotDeletedForSpace);
    EXPECT_EQ(told[0].snapshot_id, ids[0]);
    expect_same_events(told, rig->provider->events(), "after reopen");
    EXPECT_TRUE(told_before.empty());
  }
}

TEST(ProviderEvents, OpenWarnsOfUseAlreadyAboveTheFractionAtTheNextWrite) {
  auto rig = make_rig(ProviderKind::kCopyOnWrite, options_with(10, 0, nullptr));
  ASSERT_NE(rig, nullptr);
  ASSERT_TRUE(rig->provider->create_snapshot().ok());
  ASSERT_TRUE(write_chunks(*rig->provider, 0, 9, 1).ok());
  ASSERT_TRUE(rig->provider->flush().ok());
  rig->provider.reset();

  std::vector<ProviderEvent> told;
  auto opened = SnapshotProvider::open(
      *rig->origin, *rig->diff,
      {.random = rig->uuids.get(),
       .on_event = [&told](const ProviderEvent& event) { told.push_back(event); }});
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  ASSERT_TRUE(write_chunks(*opened.value(), 9, 1, 1).ok());
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].kind, ProviderEventKind::kUsageAboveWarning);
  EXPECT_EQ(told[0].used_bytes, 10 * kChunk);
}

TEST(ProviderEvents, ReportedChangeTrackingResetIsKeptAndDelivered) {
  RigLayout layout;
  format::Superblock formatted = rig_superblock(layout);
  auto volume = rig_volume(formatted.volume_bytes, "diff");
  Layers layers(*volume, formatted);
  ASSERT_TRUE(layers.state.write_checkpoint().ok());
  detail::OverflowGuard guard(layers.state, layers.diff_area);
  std::vector<ProviderEvent> told;
  guard.set_listener([&told](const ProviderEvent& event) { told.push_back(event); });

  guard.report(ProviderEventKind::kChangeTrackingReset, Uuid(),
               "change tracking of 'data' restarted: its log was lost");
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].kind, ProviderEventKind::kChangeTrackingReset);
  EXPECT_EQ(told[0].message, "change tracking of 'data' restarted: its log was lost");
  expect_same_events(told, guard.events(), "after the report");
}

TEST(ProviderEvents, EveryKindHasAName) {
  EXPECT_EQ(provider_event_kind_name(ProviderEventKind::kSnapshotDeletedForSpace),
            "snapshot-deleted-for-space");
  EXPECT_EQ(provider_event_kind_name(ProviderEventKind::kSnapshotInvalidated),
            "snapshot-invalidated");
  EXPECT_EQ(provider_event_kind_name(ProviderEventKind::kWriteFailedNoSpace),
            "write-failed-no-space");
  EXPECT_EQ(provider_event_kind_name(ProviderEventKind::kUsageAboveWarning), "usage-above-warning");
  EXPECT_EQ(provider_event_kind_name(ProviderEventKind::kChangeTrackingReset),
            "change-tracking-reset");
  EXPECT_EQ(provider_event_kind_name(static_cast<ProviderEventKind>(99)), "unknown");
}

}  // namespace
}  // namespace freezeframe

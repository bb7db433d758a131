// Bad requests to the providers get a clear error naming what is wrong, and write nothing;
// SnapshotInfo reports what the snapshot is.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "freezeframe/sim/sim_clock.h"
#include "provider_rig.h"

namespace freezeframe {
namespace {

using namespace testing;  // the provider rig

class ProviderErrorTest : public ::testing::TestWithParam<ProviderKind> {};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_P(ProviderErrorTest, UnknownSnapshotIsNotFoundByItsId) {
  auto rig = make_rig(GetParam(), {});
  ASSERT_NE(rig, nullptr);
  SnapshotProvider& provider = *rig->provider;
  ASSERT_TRUE(provider.create_snapshot().ok());
  Random random(61);
  const Uuid unknown = Uuid::generate(random);
  const std::string id = unknown.to_string();
  std::vector<Status> statuses = {
      provider.open_snapshot(unknown).status(), provider.snapshot_info(unknown).status(),
      provider.delete_snapshot(unknown), provider.revert_to_snapshot(unknown)};
  for (const Status& status : statuses) {
    EXPECT_EQ(status.code(), ErrorCode::kNotFound) << status.to_string();
    EXPECT_TRUE(contains(status.message(), id)) << status.message();
  }
  EXPECT_EQ(provider.snapshots().size(), 1u);
}

TEST_P(ProviderErrorTest, SnapshotsBeyondTheMaximumAreRefused) {
  std::vector<Uuid> ids;
  auto rig = make_rig_with_full_catalog(GetParam(), {}, 3, ids);
  ASSERT_NE(rig, nullptr);
  ASSERT_EQ(ids.size(), 3u);
  SnapshotProvider& provider = *rig->provider;
  auto fourth = provider.create_snapshot();
  ASSERT_EQ(fourth.status().code(), ErrorCode::kLimitExceeded) << fourth.status().to_string();
  EXPECT_TRUE(contains(fourth.status().message(), "3")) << fourth.status().message();
  EXPECT_EQ(provider.snapshots().size(), 3u);
  // The maximum survives a reopen, and deleting one makes room.
  ASSERT_TRUE(rig->reopen().ok());
  EXPECT_EQ(rig->provider->create_snapshot().status().code(), ErrorCode::kLimitExceeded);
  ASSERT_TRUE(rig->provider->delete_snapshot(ids[1]).ok());
  EXPECT_TRUE(rig->provider->create_snapshot().ok());
}

TEST_P(ProviderErrorTest, InvalidOptionsAreRefusedByValue) {
  struct Case {
    std::string what;
    ProviderOptions options;
    std::string named;
  };
  std::vector<Case> cases;
  auto with = [](auto change) {
    ProviderOptions options;
    change(options);
    return options;
  };
  cases.push_back({"chunk 3000", with([](ProviderOptions& o) { o.chunk_bytes = 3000; }), "3000"});
  cases.push_back(
      {"chunk 2 MiB", with([](ProviderOptions& o) { o.chunk_bytes = 2 << 20; }), "2097152"});
  cases.push_back({"snapshots_max 0", with([](ProviderOptions& o) { o.snapshots_max = 0; }),
                   "snapshot count 0"});
  cases.push_back(
      {"snapshots_max 513", with([](ProviderOptions& o) { o.snapshots_max = 513; }), "513"});
  cases.push_back({"0 percent",
                   with([](ProviderOptions& o) { o.limit = DiffAreaLimit::percent_of_origin(0); }),
                   "0%"});
  cases.push_back(
      {"101 percent",
       with([](ProviderOptions& o) { o.limit = DiffAreaLimit::percent_of_origin(101); }), "101%"});
  cases.push_back({"unknown limit kind", with([](ProviderOptions& o) {
                     o.limit = DiffAreaLimit{static_cast<DiffAreaLimit::Kind>(7), 5};
                   }),
                   "limit kind"});
  cases.push_back({"unknown overflow policy", with([](ProviderOptions& o) {
                     o.overflow_policy = static_cast<OverflowPolicy>(9);
                   }),
                   "overflow policy"});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto rig = make_rig(GetParam(), {});  // only for its volumes
    ASSERT_NE(rig, nullptr);
    auto diff = MemoryVolume::create({.name = "fresh-diff", .size_bytes = 8 << 20});
    ASSERT_TRUE(diff.ok());
    auto diff_sim = sim::SimVolume::create(*diff.value(), {});
    ASSERT_TRUE(diff_sim.ok());
    auto created = SnapshotProvider::create(GetParam(), *rig->origin, *diff_sim.value(), c.options);
    ASSERT_EQ(created.status().code(), ErrorCode::kInvalidArgument) << created.status().to_string();
    EXPECT_TRUE(contains(created.status().message(), c.named)) << created.status().message();
    EXPECT_EQ(diff_sim.value()->stats().bytes_written, 0u) << "a refused create wrote";
  }
}

TEST_P(ProviderErrorTest, DiffVolumeTooSmallIsRefusedWithItsSize) {
  auto origin = MemoryVolume::create({.name = "origin", .size_bytes = 1 << 20});
  auto diff = MemoryVolume::create({.name = "tiny", .size_bytes = 64 << 10});
  ASSERT_TRUE(origin.ok() && diff.ok());
  auto created = SnapshotProvider::create(GetParam(), *origin.value(), *diff.value(), {});
  ASSERT_EQ(created.status().code(), ErrorCode::kInvalidArgument) << created.status().to_string();
  EXPECT_TRUE(contains(created.status().message(), "tiny")) << created.status().message();
  EXPECT_TRUE(contains(created.status().message(), "64 KiB")) << created.status().message();
  EXPECT_TRUE(contains(created.status().message(), "too small")) << created.status().message();
}

TEST_P(ProviderErrorTest, DiffAreaOnTheOriginItselfIsRefused) {
  auto origin = MemoryVolume::create({.name = "origin", .size_bytes = 16 << 20});
  ASSERT_TRUE(origin.ok());
  auto created = SnapshotProvider::create(GetParam(), *origin.value(), *origin.value(), {});
  ASSERT_EQ(created.status().code(), ErrorCode::kInvalidArgument) << created.status().to_string();
  EXPECT_TRUE(contains(created.status().message(), "origin")) << created.status().message();
  Bytes first(4096);
  ASSERT_TRUE(origin.value()->read(0, first).ok());
  EXPECT_TRUE(first == Bytes(4096)) << "the refused create wrote to the origin";

  // Another Volume object over the same volume (it reports the origin's UUID) is the same
  // volume too: formatting it would write over the origin's data.
  ASSERT_TRUE(origin.value()->write(0, Bytes(4096, std::byte{0x5a})).ok());
  auto alias = sim::SimVolume::create(*origin.value(), {});
  ASSERT_TRUE(alias.ok());
  ASSERT_EQ(alias.value()->uuid(), origin.value()->uuid());
  created = SnapshotProvider::create(GetParam(), *origin.value(), *alias.value(), {});
  ASSERT_EQ(created.status().code(), ErrorCode::kInvalidArgument) << created.status().to_string();
  EXPECT_TRUE(contains(created.status().message(), origin.value()->uuid().to_string()))
      << created.status().message();
  ASSERT_TRUE(alias.value()->read(0, first).ok());
  EXPECT_TRUE(first == Bytes(4096, std::byte{0x5a})) << "the refused create wrote to the origin";
  EXPECT_EQ(alias.value()->stats().bytes_written, 0u);
}

TEST_P(ProviderErrorTest, OpenWithAnotherOriginIsRefused) {
  auto rig = make_rig(GetParam(), {});
  ASSERT_NE(rig, nullptr);
  ASSERT_TRUE(rig->provider->create_snapshot().ok());
  ASSERT_TRUE(rig->provider->flush().ok());
  rig->provider.reset();
  // Same size, another volume.
  auto other = MemoryVolume::create({.name = "other", .size_bytes = rig->origin->size_bytes()});
  ASSERT_TRUE(other.ok());
  rig->diff->reset_stats();
  auto opened = SnapshotProvider::open(*other.value(), *rig->diff);
  ASSERT_EQ(opened.status().code(), ErrorCode::kInvalidArgument) << opened.status().to_string();
  EXPECT_TRUE(contains(opened.status().message(), "other")) << opened.status().message();
  EXPECT_EQ(rig->diff->stats().bytes_written, 0u);
  // Same volume, another size.
  auto smaller = MemoryVolume::create({.name = "smaller",
                                       .size_bytes = rig->origin->size_bytes() / 2,
                                       .uuid = rig->origin->uuid()});
  ASSERT_TRUE(smaller.ok());
  EXPECT_EQ(SnapshotProvider::open(*smaller.value(), *rig->diff).status().code(),
            ErrorCode::kInvalidArgument);
  // The right origin still opens.
  EXPECT_TRUE(rig->reopen().ok());
  EXPECT_EQ(rig->provider->snapshots().size(), 1u);
}

TEST_P(ProviderErrorTest, SnapshotVolumesAreReadOnly) {
  auto rig = make_rig(GetParam(), {});
  ASSERT_NE(rig, nullptr);
  auto info = rig->provider->create_snapshot();
  ASSERT_TRUE(info.ok());
  auto volume = rig->provider->open_snapshot(info.value().id);
  ASSERT_TRUE(volume.ok());
  EXPECT_TRUE(volume.value()->read_only());
  EXPECT_EQ(volume.value()->uuid(), info.value().id);
  Bytes data(4096, std::byte{7});
  Status status = volume.value()->write(0, data);
  EXPECT_EQ(status.code(), ErrorCode::kReadOnly) << status.to_string();
  EXPECT_EQ(volume.value()->discard(0, 4096).code(), ErrorCode::kReadOnly);
  EXPECT_TRUE(volume.value()->flush().ok());
  Bytes got(4096);
  ASSERT_TRUE(volume.value()->read(0, got).ok());
  EXPECT_TRUE(got == Bytes(4096));
}

TEST_P(ProviderErrorTest, SnapshotInfoDescribesTheSnapshot) {
  sim::SimClock clock;
  clock.advance(std::chrono::hours(5));
  ProviderOptions options;
  options.clock = &clock;
  options.chunk_bytes = 4096;
  auto rig = make_rig(GetParam(), options);
  ASSERT_NE(rig, nullptr);
  SnapshotProvider& provider = *rig->provider;
  Random random(62);
  const Uuid set_id = Uuid::generate(random);

  std::vector<SnapshotInfo> infos;
  for (int i = 0; i < 3; ++i) {
    const Nanoseconds expected_created = clock.wall_time();
    auto info = provider.create_snapshot(set_id, 0xA0u + static_cast<std::uint32_t>(i));
    ASSERT_TRUE(info.ok()) << info.status().to_string();
    EXPECT_EQ(info.value().created, expected_created);
    infos.push_back(info.value());
    ASSERT_TRUE(
        provider.write(4096 * static_cast<std::uint64_t>(i), Bytes(8192, std::byte{1})).ok());
    clock.advance(std::chrono::seconds(90));
  }
  ASSERT_TRUE(rig->reopen().ok());
  std::vector<SnapshotInfo> listed = rig->provider->snapshots();
  ASSERT_EQ(listed.size(), 3u);
  std::uint64_t diff_area_bytes = 0;
  for (std::size_t i = 0; i < listed.size(); ++i) {
    SCOPED_TRACE("snapshot " + std::to_string(i));
    const SnapshotInfo& info = listed[i];
    EXPECT_EQ(info.id, infos[i].id);
    EXPECT_FALSE(info.id.is_nil());
    EXPECT_EQ(info.set_id, set_id);
    EXPECT_EQ(info.created, infos[i].created);
    EXPECT_EQ(info.origin_id, rig->origin->uuid());
    EXPECT_EQ(info.origin_name, rig->origin->name());
    EXPECT_EQ(info.provider, GetParam());
    EXPECT_EQ(info.state, SnapshotState::kActive);
    EXPECT_EQ(info.attributes, 0xA0u + i);
    if (i > 0) {
      EXPECT_GT(info.sequence, listed[i - 1].sequence);
      EXPECT_GT(info.created, listed[i - 1].created);
    }
    auto single = rig->provider->snapshot_info(info.id);
    ASSERT_TRUE(single.ok());
    EXPECT_EQ(single.value().sequence, info.sequence);
    diff_area_bytes += info.diff_area_bytes;
  }
  EXPECT_EQ(listed[0].sequence, 1u);
  // CoW: each snapshot holds the chunks preserved after it. RoW: each snapshot after the
  // first holds the chunks written between it and the one before.
  if (GetParam() == ProviderKind::kCopyOnWrite) {
    EXPECT_GT(listed[0].diff_area_bytes, 0u);
  } else {
    EXPECT_GT(listed[1].diff_area_bytes, 0u);
  }
  EXPECT_GT(diff_area_bytes, 0u);
  EXPECT_LE(diff_area_bytes, rig->provider->usage().used_bytes);
  // A sequence number is never reused, even after the newest snapshot is deleted.
  ASSERT_TRUE(rig->provider->delete_snapshot(listed[2].id).ok());
  ASSERT_TRUE(rig->reopen().ok());
  auto next = rig->provider->create_snapshot();
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next.value().sequence, listed[2].sequence);
  EXPECT_EQ(rig->provider->kind(), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Providers, ProviderErrorTest,
                         ::testing::Values(ProviderKind::kCopyOnWrite,
                                           ProviderKind::kRedirectOnWrite),
                         testing::kind_param_name);

}  // namespace
}  // namespace freezeframe

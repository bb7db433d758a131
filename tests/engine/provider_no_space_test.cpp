// A diff volume whose file system fills up before the diff area reaches its maximum: a chunk
// write into a data slot that fails with kNoSpace runs the overflow policy, as reaching the
// maximum does (invariant 5). The full file system is a FaultVolume failing data-slot writes
// with kNoSpace; tests/platform/file_volume_full_test.cpp does the same on a real one.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/fault_volume.h"
#include "freezeframe/snapshot_provider.h"
#include "volume_image.h"

namespace freezeframe {
namespace {

constexpr std::uint64_t kChunk = 4096;

struct NoSpaceRig {
  std::unique_ptr<MemoryVolume> origin;
  std::unique_ptr<MemoryVolume> diff_base;
  std::unique_ptr<sim::FaultVolume> diff;
  std::unique_ptr<SnapshotProvider> provider;

  // The next `failures` chunk writes into data slots fail with kNoSpace.
  void fill_file_system(std::uint64_t failures) {
    sim::FaultRule rule;
    rule.trigger = sim::FaultRule::Trigger::kRange;
    rule.operations = sim::operation_bit(sim::IoOperation::kWrite);
    rule.offset = provider->usage().metadata_bytes;
    rule.length = diff->size_bytes() - rule.offset;
    rule.failures_max = failures;
    rule.code = ErrorCode::kNoSpace;
    diff->add_fault(rule);
  }
};

std::unique_ptr<NoSpaceRig> make_no_space_rig(ProviderKind kind, OverflowPolicy policy) {
  auto rig = std::make_unique<NoSpaceRig>();
  auto origin = MemoryVolume::create({.name = "data", .size_bytes = 256 * kChunk});
  auto diff = MemoryVolume::create({.name = "diff", .size_bytes = 2 << 20});
  EXPECT_TRUE(origin.ok() && diff.ok());
  if (!origin.ok() || !diff.ok())
    return nullptr;
  rig->origin = std::move(origin).value();
  rig->diff_base = std::move(diff).value();
  auto faults = sim::FaultVolume::create(*rig->diff_base);
  EXPECT_TRUE(faults.ok());
  if (!faults.ok())
    return nullptr;
  rig->diff = std::move(faults).value();
  ProviderOptions options;
  options.chunk_bytes = static_cast<std::uint32_t>(kChunk);
  options.overflow_policy = policy;
  options.limit = DiffAreaLimit::unbounded();
  auto provider = SnapshotProvider::create(kind, *rig->origin, *rig->diff, options);
  EXPECT_TRUE(provider.ok()) << provider.status().to_string();
  if (!provider.ok())
    return nullptr;
  rig->provider = std::move(provider).value();
  return rig;
}

std::vector<std::byte> pattern(std::uint8_t seed, std::size_t bytes) {
  std::vector<std::byte> data(bytes);
  for (std::size_t i = 0; i < bytes; ++i)
    data[i] = static_cast<std::byte>(seed + i * 7);
  return data;
}

bool has_event(const SnapshotProvider& provider, ProviderEventKind kind) {
  auto events = provider.events();
  return std::any_of(events.begin(), events.end(),
                     [&](const ProviderEvent& event) { return event.kind == kind; });
}

// Two snapshots, each followed by a write to chunk 0 and 1 (so the oldest holds data).
// Returns the newest snapshot's id and image.
struct Newest {
  Uuid id;
  std::vector<std::byte> image;
};
Newest two_snapshots(SnapshotProvider& provider) {
  Newest newest;
  for (std::uint8_t round = 0; round < 2; ++round) {
    if (round == 1)
      newest.image = testing::read_all(provider);
    auto info = provider.create_snapshot();
    EXPECT_TRUE(info.ok()) << info.status().to_string();
    if (info.ok())
      newest.id = info.value().id;
    EXPECT_TRUE(provider.write(round * kChunk, pattern(round, kChunk)).ok());
    EXPECT_TRUE(provider.flush().ok());
  }
  return newest;
}

class ProviderNoSpaceTest : public ::testing::TestWithParam<ProviderKind> {};

TEST_P(ProviderNoSpaceTest, FullVolumeUnderDeleteOldestDeletesTheOldestAndTheWriteSucceeds) {
  auto rig = make_no_space_rig(GetParam(), OverflowPolicy::kDeleteOldest);
  ASSERT_NE(rig, nullptr);
  SnapshotProvider& provider = *rig->provider;
  Newest newest = two_snapshots(provider);
  ASSERT_EQ(provider.snapshots().size(), 2u);

  rig->fill_file_system(1);
  const std::vector<std::byte> data = pattern(9, kChunk);
  Status written = provider.write(8 * kChunk, data);
  ASSERT_TRUE(written.ok()) << written.to_string();
  EXPECT_EQ(rig->diff->stats().injected_failures, 1u);

  auto left = provider.snapshots();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, newest.id);
  EXPECT_TRUE(has_event(provider, ProviderEventKind::kSnapshotDeletedForSpace));
  std::vector<std::byte> back(kChunk);
  ASSERT_TRUE(provider.read(8 * kChunk, back).ok());
  EXPECT_TRUE(back == data);
  auto snapshot = provider.open_snapshot(newest.id);
  ASSERT_TRUE(snapshot.ok());
  EXPECT_TRUE(testing::read_all(*snapshot.value()) == newest.image);
}

TEST_P(ProviderNoSpaceTest, FullVolumeUnderFailWritesFailsTheWriteNamingTheDiffArea) {
  auto rig = make_no_space_rig(GetParam(), OverflowPolicy::kFailWrites);
  ASSERT_NE(rig, nullptr);
  SnapshotProvider& provider = *rig->provider;
  two_snapshots(provider);
  rig->fill_file_system(0);

  Status written = provider.write(8 * kChunk, pattern(9, kChunk));
  EXPECT_EQ(written.code(), ErrorCode::kNoSpace) << written.to_string();
  EXPECT_NE(written.message().find("diff area of 'data'"), std::string::npos) << written.message();
  EXPECT_NE(written.message().find("fail-writes"), std::string::npos) << written.message();
  EXPECT_EQ(provider.snapshots().size(), 2u);
  EXPECT_TRUE(has_event(provider, ProviderEventKind::kWriteFailedNoSpace));
}

TEST_P(ProviderNoSpaceTest, FullVolumeUnderInvalidateSnapshotInvalidatesAndTheWriteSucceeds) {
  auto rig = make_no_space_rig(GetParam(), OverflowPolicy::kInvalidateSnapshot);
  ASSERT_NE(rig, nullptr);
  SnapshotProvider& provider = *rig->provider;
  two_snapshots(provider);
  rig->fill_file_system(1);

  Status written = provider.write(8 * kChunk, pattern(9, kChunk));
  ASSERT_TRUE(written.ok()) << written.to_string();
  for (const SnapshotInfo& info : provider.snapshots())
    EXPECT_EQ(info.state, SnapshotState::kInvalidated);
  EXPECT_TRUE(has_event(provider, ProviderEventKind::kSnapshotInvalidated));
}

TEST_P(ProviderNoSpaceTest, OtherWriteErrorsDoNotRunThePolicy) {
  auto rig = make_no_space_rig(GetParam(), OverflowPolicy::kDeleteOldest);
  ASSERT_NE(rig, nullptr);
  SnapshotProvider& provider = *rig->provider;
  two_snapshots(provider);
  sim::FaultRule rule;
  rule.trigger = sim::FaultRule::Trigger::kRange;
  rule.operations = sim::operation_bit(sim::IoOperation::kWrite);
  rule.offset = provider.usage().metadata_bytes;
  rule.length = rig->diff->size_bytes() - rule.offset;
  rule.failures_max = 1;
  rig->diff->add_fault(rule);

  Status written = provider.write(8 * kChunk, pattern(9, kChunk));
  EXPECT_EQ(written.code(), ErrorCode::kIoError) << written.to_string();
  EXPECT_EQ(provider.snapshots().size(), 2u);
  EXPECT_FALSE(has_event(provider, ProviderEventKind::kSnapshotDeletedForSpace));
}

INSTANTIATE_TEST_SUITE_P(BothKinds, ProviderNoSpaceTest,
                         ::testing::Values(ProviderKind::kCopyOnWrite,
                                           ProviderKind::kRedirectOnWrite),
                         [](const auto& param_info) {
                           return std::string(
                               param_info.param == ProviderKind::kCopyOnWrite ? "Cow" : "Row");
                         });

}  // namespace
}  // namespace freezeframe

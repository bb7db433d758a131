// The protocol check (sim/protocol_check.h): seeded snapshot sets with injected provider and
// writer failures and deadlines, and the cleanup invariant checked after every set. Here it
// runs without any plant: every seed of the budget must pass, and a run must be a function of
// its options. (tests/sim/planted_bug_test.cpp shows that it catches a cleanup that skips the
// writers' thaw.)
#include "freezeframe/sim/protocol_check.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "seed.h"

namespace freezeframe {
namespace {

constexpr std::uint64_t kSeeds = 200;

TEST(ProtocolCheck, InjectedFailuresAreCleanedUpOnEverySeedOfTheBudget) {
  for (ProviderKind kind : {ProviderKind::kCopyOnWrite, ProviderKind::kRedirectOnWrite}) {
    SCOPED_TRACE(provider_kind_name(kind));
    const std::uint64_t first = testing::test_seed(1);
    sim::ProtocolCheckCounts total;
    for (std::uint64_t seed = first; seed < first + kSeeds; ++seed) {
      auto report = sim::run_protocol_check({.kind = kind, .seed = seed});
      ASSERT_TRUE(report.ok()) << report.status().to_string();
      ASSERT_TRUE(report->ok()) << report->violation->to_string() << "; "
                                << testing::replay_command(seed);
      total.sets += report->counts.sets;
      total.sets_succeeded += report->counts.sets_succeeded;
      total.sets_failed += report->counts.sets_failed;
      total.faults += report->counts.faults;
      total.freezes += report->counts.freezes;
      total.checks += report->counts.checks;
    }
    std::printf(
        "protocol check %s: %llu seeds, %llu sets (%llu succeeded, %llu failed), %llu "
        "faults, %llu freezes, %llu invariant checks\n",
        std::string(provider_kind_name(kind)).c_str(), static_cast<unsigned long long>(kSeeds),
        static_cast<unsigned long long>(total.sets),
        static_cast<unsigned long long>(total.sets_succeeded),
        static_cast<unsigned long long>(total.sets_failed),
        static_cast<unsigned long long>(total.faults),
        static_cast<unsigned long long>(total.freezes),
        static_cast<unsigned long long>(total.checks));
    EXPECT_EQ(total.sets, kSeeds * 20);
    EXPECT_EQ(total.checks, total.sets);
    // Every injected failure failed its set, and only those did.
    EXPECT_EQ(total.sets_failed, total.faults);
    EXPECT_GT(total.sets_succeeded, 0u);
    EXPECT_GT(total.faults, total.sets / 2);
    EXPECT_GT(total.freezes, total.sets);
  }
}

TEST(ProtocolCheck, SameOptionsGiveTheSameReport) {
  const testing::TracedSeed seed(20261203);
  auto first = sim::run_protocol_check({.seed = seed.value(), .sets = 50});
  auto second = sim::run_protocol_check({.seed = seed.value(), .sets = 50});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->counts.sets_failed, second->counts.sets_failed);
  EXPECT_EQ(first->counts.faults, second->counts.faults);
  EXPECT_EQ(first->counts.freezes, second->counts.freezes);
  auto other = sim::run_protocol_check({.seed = seed.value() + 1, .sets = 50});
  ASSERT_TRUE(other.ok());
  EXPECT_NE(first->counts.freezes * 1000 + first->counts.faults,
            other->counts.freezes * 1000 + other->counts.faults)
      << "two seeds drew the same failures";
}

TEST(ProtocolCheck, OptionsOutOfRangeAreRefused) {
  for (sim::ProtocolCheckOptions options :
       {sim::ProtocolCheckOptions{.sets = 0}, sim::ProtocolCheckOptions{.volumes = 9},
        sim::ProtocolCheckOptions{.writers = 0}, sim::ProtocolCheckOptions{.fault_percent = 101}}) {
    auto report = sim::run_protocol_check(options);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace freezeframe

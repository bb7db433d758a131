// Concurrency: writer threads write through the provider while reader threads read an open
// snapshot and the main thread takes snapshots. Every snapshot must show a state the writers
// actually passed through, and no read may fail. Kept small: CI runs it under ASan.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "provider_rig.h"

namespace freezeframe {
namespace {

using namespace testing;  // the provider rig

constexpr int kWriters = 4;
constexpr int kReaders = 2;
constexpr std::uint64_t kSector = 512;
// A write unit spans 12 sectors, so units straddle 4 KiB chunks and neighbouring writers'
// regions share a chunk.
constexpr std::uint64_t kUnitBytes = 12 * kSector;
constexpr std::uint64_t kUnitsPerWriter = 7;
constexpr std::uint64_t kRegionBytes = kUnitsPerWriter * kUnitBytes;
constexpr int kSnapshots = 12;
constexpr std::uint64_t kGenerationsMax = 100000;

std::uint64_t unit_offset(int writer, std::uint64_t unit) {
  return static_cast<std::uint64_t>(writer) * kRegionBytes + unit * kUnitBytes;
}

// Each sector of a unit carries (writer, unit, generation, sector) and a filler derived from
// them, so a torn or mixed unit is detected.
Bytes unit_content(int writer, std::uint64_t unit, std::uint64_t generation) {
  Bytes data(kUnitBytes);
  for (std::uint64_t sector = 0; sector < kUnitBytes / kSector; ++sector) {
    std::byte* at = data.data() + sector * kSector;
    const std::uint64_t header[4] = {static_cast<std::uint64_t>(writer), unit, generation, sector};
    std::memcpy(at, header, sizeof(header));
    for (std::uint64_t i = sizeof(header); i < kSector; ++i) {
      at[i] = static_cast<std::byte>(generation * 131 + static_cast<std::uint64_t>(writer) * 17 +
                                     unit * 7 + sector * 3 + i);
    }
  }
  return data;
}

// The generation a unit of `image` holds, or nothing if the unit is not one whole write.
std::optional<std::uint64_t> unit_generation(const Bytes& image, int writer, std::uint64_t unit) {
  const std::byte* at = image.data() + unit_offset(writer, unit);
  std::uint64_t header[4];
  std::memcpy(header, at, sizeof(header));
  Bytes expected = unit_content(writer, unit, header[2]);
  if (std::memcmp(at, expected.data(), kUnitBytes) != 0)
    return std::nullopt;
  return header[2];
}

struct ConcurrencyParam {
  ProviderKind kind;
  // The main thread also deletes older snapshots as it goes and (RoW) consolidates.
  bool churn;
};

class ProviderConcurrencyTest : public ::testing::TestWithParam<ConcurrencyParam> {};

TEST_P(ProviderConcurrencyTest, SnapshotsTakenDuringWritesShowStatesTheWritersPassedThrough) {
  ProviderOptions options;
  options.chunk_bytes = 4096;
  options.limit = DiffAreaLimit::unbounded();
  const ConcurrencyParam param = GetParam();
  auto rig = make_rig(param.kind, options, {.origin_bytes = 1 << 20, .diff_bytes = 32 << 20});
  ASSERT_NE(rig, nullptr);
  SnapshotProvider& provider = *rig->provider;
  for (int writer = 0; writer < kWriters; ++writer) {
    for (std::uint64_t unit = 0; unit < kUnitsPerWriter; ++unit)
      ASSERT_TRUE(provider.write(unit_offset(writer, unit), unit_content(writer, unit, 0)).ok());
  }
  auto first = provider.create_snapshot();
  ASSERT_TRUE(first.ok());
  auto first_volume = provider.open_snapshot(first.value().id);
  ASSERT_TRUE(first_volume.ok());
  const Bytes first_image = read_all(*first_volume.value());

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> writes_done{0};
  std::atomic<int> write_failures{0};
  std::atomic<int> read_failures{0};
  std::atomic<int> read_mismatches{0};
  std::atomic<std::uint64_t> reads_done{0};
  std::vector<std::uint64_t> last_generation(kWriters, 0);
  std::vector<std::string> first_errors(kWriters + kReaders);

  std::vector<std::thread> threads;
  for (int writer = 0; writer < kWriters; ++writer) {
    threads.emplace_back([&, writer] {
      for (std::uint64_t generation = 1; generation <= kGenerationsMax && !stop; ++generation) {
        for (std::uint64_t unit = 0; unit < kUnitsPerWriter; ++unit) {
          Status status =
              provider.write(unit_offset(writer, unit), unit_content(writer, unit, generation));
          if (!status.ok()) {
            if (write_failures++ == 0)
              first_errors[static_cast<std::size_t>(writer)] = status.to_string();
            return;
          }
          ++writes_done;
        }
        if (writer == 0 && !provider.flush().ok())
          ++write_failures;
        last_generation[static_cast<std::size_t>(writer)] = generation;
      }
    });
  }
  for (int reader = 0; reader < kReaders; ++reader) {
    threads.emplace_back([&, reader] {
      Bytes got(kWriters * kRegionBytes);
      while (!stop) {
        Status status = first_volume.value()->read(0, got);
        if (!status.ok()) {
          if (read_failures++ == 0)
            first_errors[static_cast<std::size_t>(kWriters + reader)] = status.to_string();
          return;
        }
        if (std::memcmp(got.data(), first_image.data(), got.size()) != 0)
          ++read_mismatches;
        ++reads_done;
      }
    });
  }

  std::vector<Uuid> ids = {first.value().id};
  for (int i = 1; i < kSnapshots; ++i) {
    // Let some writes happen between snapshots, but never wait unboundedly.
    const std::uint64_t target = writes_done + 5;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (writes_done < target && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    auto info = provider.create_snapshot();
    EXPECT_TRUE(info.ok()) << info.status().to_string();
    if (info.ok())
      ids.push_back(info.value().id);
    if (param.churn && ids.size() > 3) {
      // Keep the first snapshot (the readers use it); delete the next oldest.
      Status status = provider.delete_snapshot(ids[1]);
      EXPECT_TRUE(status.ok()) << status.to_string();
      ids.erase(ids.begin() + 1);
      if (param.kind == ProviderKind::kRedirectOnWrite) {
        status = provider.as_row()->consolidate();
        EXPECT_TRUE(status.ok()) << status.to_string();
      }
    }
  }
  const auto reads_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (reads_done < 2 && std::chrono::steady_clock::now() < reads_deadline)
    std::this_thread::yield();
  stop = true;
  for (std::thread& thread : threads)
    thread.join();

  for (const std::string& error : first_errors)
    EXPECT_TRUE(error.empty()) << error;
  EXPECT_EQ(write_failures.load(), 0);
  EXPECT_EQ(read_failures.load(), 0);
  EXPECT_EQ(read_mismatches.load(), 0) << "the open snapshot changed while being read";
  EXPECT_GT(reads_done.load(), 0u);
  RecordProperty("writes", std::to_string(writes_done.load()));
  RecordProperty("snapshot_reads", std::to_string(reads_done.load()));

  // Each snapshot shows, per writer, a point of its sequence of writes: units [0, k) at
  // generation g and [k, n) at g - 1; and no unit is older than in an older snapshot.
  std::vector<std::vector<std::uint64_t>> previous(kWriters,
                                                   std::vector<std::uint64_t>(kUnitsPerWriter, 0));
  auto check_image = [&](const Bytes& image, const std::string& what) {
    for (int writer = 0; writer < kWriters; ++writer) {
      std::vector<std::uint64_t> generations;
      for (std::uint64_t unit = 0; unit < kUnitsPerWriter; ++unit) {
        auto generation = unit_generation(image, writer, unit);
        ASSERT_TRUE(generation.has_value())
            << what << ": writer " << writer << " unit " << unit << " is not one whole write";
        generations.push_back(*generation);
      }
      for (std::uint64_t unit = 1; unit < kUnitsPerWriter; ++unit) {
        EXPECT_TRUE(generations[unit] == generations[0] || generations[unit] + 1 == generations[0])
            << what << ": writer " << writer << " unit " << unit << " at generation "
            << generations[unit] << " while unit 0 is at " << generations[0];
        EXPECT_LE(generations[unit], generations[unit - 1]) << what << ": writer " << writer;
      }
      auto& before = previous[static_cast<std::size_t>(writer)];
      for (std::uint64_t unit = 0; unit < kUnitsPerWriter; ++unit) {
        EXPECT_GE(generations[unit], before[unit])
            << what << ": writer " << writer << " unit " << unit << " went back in time";
      }
      before = generations;
    }
  };
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto volume = provider.open_snapshot(ids[i]);
    ASSERT_TRUE(volume.ok()) << volume.status().to_string();
    check_image(read_all(*volume.value()), "snapshot " + std::to_string(i));
    if (HasFatalFailure())
      return;
  }
  Bytes live = read_all(provider);
  check_image(live, "live volume");
  for (int writer = 0; writer < kWriters; ++writer) {
    EXPECT_EQ(unit_generation(live, writer, kUnitsPerWriter - 1),
              last_generation[static_cast<std::size_t>(writer)])
        << "the live volume lost writer " << writer << "'s last generation";
  }
  // The first snapshot, still open, reads as it did before all of this.
  EXPECT_TRUE(read_all(*first_volume.value()) == first_image);
}

INSTANTIATE_TEST_SUITE_P(Providers, ProviderConcurrencyTest,
                         ::testing::Values(ConcurrencyParam{ProviderKind::kCopyOnWrite, false},
                                           ConcurrencyParam{ProviderKind::kCopyOnWrite, true},
                                           ConcurrencyParam{ProviderKind::kRedirectOnWrite, false},
                                           ConcurrencyParam{ProviderKind::kRedirectOnWrite, true}),
                         [](const ::testing::TestParamInfo<ConcurrencyParam>& param_info) {
                           return std::string(provider_kind_name(param_info.param.kind)) +
                                  (param_info.param.churn ? "_WithDeletes" : "");
                         });

}  // namespace
}  // namespace freezeframe

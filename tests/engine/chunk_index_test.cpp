// ChunkIndex, the provider's version index: a seeded model test against std::map, edge cases,
// and the memory bound (16 bytes per changed chunk) under several insertion orders.
// White-box: it includes the engine's internal header.
#include "chunk_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <span>
#include <vector>

#include "freezeframe/random.h"
#include "seed.h"

namespace freezeframe::detail {
namespace {

using Versions = std::vector<ChunkVersion>;
using Model = std::map<std::uint64_t, Versions>;

constexpr std::size_t kBoundChunksMin = 4096;
constexpr std::size_t kBytesPerChunkMax = 16;

bool same(std::span<const IndexEntry> entries, std::uint64_t chunk,
          const std::vector<ChunkVersion>& versions) {
  if (entries.size() != versions.size())
    return false;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].chunk != chunk || entries[i].tag != versions[i].tag ||
        entries[i].slot != versions[i].slot) {
      return false;
    }
  }
  return true;
}

void expect_find(const ChunkIndex& index, const Model& model, std::uint64_t chunk) {
  auto found = index.find(chunk);
  auto it = model.find(chunk);
  if (it == model.end()) {
    EXPECT_TRUE(found.empty()) << "chunk " << chunk << " should have no versions";
  } else {
    EXPECT_TRUE(same(found, chunk, it->second)) << "versions of chunk " << chunk;
  }
}

void expect_equal(const ChunkIndex& index, const Model& model) {
  std::size_t versions = 0;
  for (const auto& [chunk, list] : model)
    versions += list.size();
  EXPECT_EQ(index.chunks(), model.size());
  EXPECT_EQ(index.versions(), versions);
  EXPECT_EQ(index.empty(), model.empty());
  auto it = model.begin();
  std::size_t visited = 0;
  index.for_each([&](std::uint64_t chunk, std::span<const IndexEntry> entries) {
    ++visited;
    ASSERT_NE(it, model.end()) << "for_each visits chunk " << chunk << " beyond the model";
    EXPECT_EQ(chunk, it->first);
    EXPECT_TRUE(same(entries, it->first, it->second)) << "for_each versions of chunk " << chunk;
    ++it;
  });
  EXPECT_EQ(visited, model.size());
}

// Random versions for one chunk: usually one, sometimes a few, tags sorted and distinct.
std::vector<ChunkVersion> random_versions(Random& random, std::size_t count_max) {
  std::size_t count = random.chance(0.7) ? 1 : random.uniform_range(1, count_max);
  std::vector<ChunkVersion> versions;
  std::uint32_t tag = 0;
  for (std::size_t i = 0; i < count; ++i) {
    tag += static_cast<std::uint32_t>(random.uniform_range(1, 5));
    versions.push_back(ChunkVersion{tag, static_cast<std::uint32_t>(random.next_u64())});
  }
  return versions;
}

std::uint64_t random_chunk(Random& random) {
  // Mostly a dense range, so chunks are reassigned often; sometimes anywhere, ends included.
  if (random.chance(0.9))
    return random.uniform(20000);
  if (random.chance(0.5))
    return random.chance(0.5) ? 0 : ChunkIndex::kChunksMax - 1;
  return random.uniform(ChunkIndex::kChunksMax);
}

void assign(ChunkIndex& index, Model& model, std::uint64_t chunk,
            const std::vector<ChunkVersion>& versions) {
  index.assign(chunk, versions);
  if (versions.empty()) {
    model.erase(chunk);
  } else {
    model[chunk] = versions;
  }
}

// Changes every chunk the same way in the index and in the model: each chunk's new versions
// are drawn from `random` in ascending chunk order, which update_all must follow.
void update_all(ChunkIndex& index, Model& model, Random& random) {
  auto it = model.begin();
  index.update_all([&](std::uint64_t chunk, ChunkIndex::VersionList& versions) {
    ASSERT_NE(it, model.end()) << "update_all visits chunk " << chunk << " beyond the model";
    ASSERT_EQ(chunk, it->first);
    ASSERT_EQ(versions.size(), it->second.size());
    for (std::size_t i = 0; i < versions.size(); ++i) {
      EXPECT_EQ(versions[i].tag, it->second[i].tag);
      EXPECT_EQ(versions[i].slot, it->second[i].slot);
    }
    std::uint64_t action = random.uniform(10);
    if (action < 2) {
      versions.clear();
    } else if (action < 4) {
      versions.erase(versions.begin());
    } else if (action < 6) {
      versions.push_back(ChunkVersion{versions.back().tag + 1, 7});
    } else if (action < 7) {
      versions.assign(1 + random.uniform(6), ChunkVersion{});
      for (std::size_t i = 0; i < versions.size(); ++i)
        versions[i] = ChunkVersion{static_cast<std::uint32_t>(2 * i + 1), 3};
    } else {
      for (ChunkVersion& version : versions)
        ++version.slot;
    }
    it->second.assign(versions.begin(), versions.end());
    ++it;
  });
  EXPECT_EQ(it, model.end());
  std::erase_if(model, [](const auto& item) { return item.second.empty(); });
}

TEST(ChunkIndex, MatchesAMapModelOverRandomOperations) {
  testing::TracedRandom random(0xc4a7c1d3);
  ChunkIndex index;
  Model model;
  constexpr int kOperations = 200000;
  for (int step = 0; step < kOperations; ++step) {
    std::uint64_t chunk = random_chunk(random);
    std::uint64_t action = random.uniform(1000);
    if (action < 700) {
      assign(index, model, chunk, random_versions(random, 6));
    } else if (action < 950) {
      // Erase a chunk that has versions, or one that has none.
      if (!model.empty() && random.chance(0.8)) {
        auto it = model.lower_bound(chunk);
        if (it == model.end())
          it = model.begin();
        chunk = it->first;
      }
      assign(index, model, chunk, {});
    } else if (action < 951) {
      update_all(index, model, random);
    } else if (action < 952) {
      expect_equal(index, model);
    }
    expect_find(index, model, chunk);
    expect_find(index, model, random_chunk(random));
    if (step % 1000 == 0)
      expect_equal(index, model);
    if (::testing::Test::HasFailure())
      FAIL() << "first difference at step " << step;
  }
  expect_equal(index, model);
}

TEST(ChunkIndex, EmptyIndexHasNoChunksAndHoldsNoHeapMemory) {
  ChunkIndex index;
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.chunks(), 0u);
  EXPECT_EQ(index.versions(), 0u);
  EXPECT_TRUE(index.find(0).empty());
  EXPECT_TRUE(index.find(ChunkIndex::kChunksMax).empty());
  EXPECT_EQ(index.memory_bytes(), sizeof(ChunkIndex));
  int calls = 0;
  index.for_each([&](std::uint64_t, std::span<const IndexEntry>) { ++calls; });
  index.update_all([&](std::uint64_t, ChunkIndex::VersionList&) { ++calls; });
  EXPECT_EQ(calls, 0);
  // Erasing a chunk that has no versions changes nothing.
  index.assign(5, {});
  EXPECT_TRUE(index.empty());
}

TEST(ChunkIndex, ClearReleasesTheMemory) {
  ChunkIndex index;
  for (std::uint64_t chunk = 0; chunk < 10000; ++chunk)
    index.assign(chunk * 7 % 10007, Versions{{1, 1}});
  EXPECT_GT(index.memory_bytes(), sizeof(ChunkIndex));
  index.clear();
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.versions(), 0u);
  EXPECT_TRUE(index.find(7).empty());
  EXPECT_EQ(index.memory_bytes(), sizeof(ChunkIndex));
}

TEST(ChunkIndex, KeepsChunkZeroAndTheLastChunkApartFromLargerNumbers) {
  ChunkIndex index;
  const std::vector<ChunkVersion> first = {{1, 10}};
  const std::vector<ChunkVersion> last = {{2, 20}, {3, 30}};
  index.assign(ChunkIndex::kChunksMax - 1, last);
  index.assign(0, first);
  Model model = {{0, first}, {ChunkIndex::kChunksMax - 1, last}};
  expect_equal(index, model);
  expect_find(index, model, 0);
  expect_find(index, model, ChunkIndex::kChunksMax - 1);
  // Numbers that would alias stored chunks if truncated to 32 bits.
  EXPECT_TRUE(index.find(ChunkIndex::kChunksMax).empty());
  EXPECT_TRUE(index.find(std::uint64_t{1} << 32).empty());
  EXPECT_TRUE(index.find((std::uint64_t{1} << 32) + ChunkIndex::kChunksMax - 1).empty());
  index.update_all([](std::uint64_t, ChunkIndex::VersionList&) {});
  expect_equal(index, model);
}

TEST(ChunkIndex, HoldsManyVersionsOfOneChunk) {
  ChunkIndex index;
  Model model;
  // Neighbours on both sides, so the long run sits between other chunks.
  for (std::uint64_t chunk = 0; chunk < 2000; chunk += 2)
    assign(index, model, chunk, {{1, static_cast<std::uint32_t>(chunk)}});
  std::vector<ChunkVersion> many(10000);
  for (std::size_t i = 0; i < many.size(); ++i)
    many[i] = ChunkVersion{static_cast<std::uint32_t>(i + 1), static_cast<std::uint32_t>(i)};
  assign(index, model, 1001, many);
  expect_equal(index, model);
  expect_find(index, model, 1001);
  // Fewer, more, and the same number of versions again; then none.
  assign(index, model, 1001, std::vector<ChunkVersion>(many.begin(), many.begin() + 3));
  expect_find(index, model, 1001);
  assign(index, model, 1001, many);
  expect_find(index, model, 1001);
  for (ChunkVersion& version : many)
    version.slot += 1;
  assign(index, model, 1001, many);
  expect_equal(index, model);
  assign(index, model, 1001, {});
  expect_equal(index, model);
}

TEST(ChunkIndex, UpdateAllThatEmptiesEverythingLeavesAnEmptyIndex) {
  ChunkIndex index;
  Random random(7);
  for (int i = 0; i < 50000; ++i)
    index.assign(random.uniform(1000000), Versions{{1, 1}, {2, 2}});
  index.update_all([](std::uint64_t, ChunkIndex::VersionList& versions) { versions.clear(); });
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.versions(), 0u);
  int calls = 0;
  index.for_each([&](std::uint64_t, std::span<const IndexEntry>) { ++calls; });
  EXPECT_EQ(calls, 0);
  // The storage is released.
  EXPECT_EQ(index.memory_bytes(), sizeof(ChunkIndex));
  index.assign(3, Versions{{4, 4}});
  expect_equal(index, Model{{3, {{4, 4}}}});
}

TEST(ChunkIndex, UpdateAllThatGrowsChunksKeepsThemInOrder) {
  ChunkIndex index;
  Model model;
  Random random(11);
  for (int i = 0; i < 20000; ++i)
    assign(index, model, random.uniform(100000), {{1, static_cast<std::uint32_t>(i)}});
  // Every chunk grows by four versions, so no result fits where the old one was.
  index.update_all([](std::uint64_t chunk, ChunkIndex::VersionList& versions) {
    for (std::uint32_t tag = 2; tag <= 5; ++tag)
      versions.push_back(ChunkVersion{tag, static_cast<std::uint32_t>(chunk)});
  });
  for (auto& [chunk, versions] : model) {
    for (std::uint32_t tag = 2; tag <= 5; ++tag)
      versions.push_back(ChunkVersion{tag, static_cast<std::uint32_t>(chunk)});
  }
  expect_equal(index, model);
  // Only some chunks grow, others shrink.
  index.update_all([](std::uint64_t chunk, ChunkIndex::VersionList& versions) {
    if (chunk % 3 == 0) {
      versions.erase(versions.begin() + 1, versions.end());
    } else if (chunk % 3 == 1) {
      versions.push_back(ChunkVersion{versions.back().tag + 1, 0});
    }
  });
  for (auto& [chunk, versions] : model) {
    if (chunk % 3 == 0) {
      versions.resize(1);
    } else if (chunk % 3 == 1) {
      versions.push_back(ChunkVersion{versions.back().tag + 1, 0});
    }
  }
  expect_equal(index, model);
  EXPECT_LE(index.memory_bytes(), sizeof(ChunkIndex) + index.versions() * 13);
}

// memory_bytes() per chunk after every assign, once the index tracks enough chunks.
void expect_bound(const ChunkIndex& index, const char* order, std::size_t step) {
  if (index.chunks() < kBoundChunksMin)
    return;
  ASSERT_LE(index.memory_bytes(), kBytesPerChunkMax * index.chunks())
      << order << " order, step " << step << ": " << index.memory_bytes() << " bytes for "
      << index.chunks() << " chunks";
}

TEST(ChunkIndex, UsesAtMost16BytesPerChunkInAnyInsertionOrder) {
  testing::TracedRandom random(0x16b7e5);
  constexpr std::size_t kChunks = 200000;
  std::vector<std::uint64_t> ascending(kChunks);
  std::iota(ascending.begin(), ascending.end(), std::uint64_t{0});
  std::vector<std::uint64_t> descending(ascending.rbegin(), ascending.rend());
  std::vector<std::uint64_t> shuffled = ascending;
  for (std::size_t i = shuffled.size(); i > 1; --i)
    std::swap(shuffled[i - 1], shuffled[random.uniform(i)]);
  for (const auto& [order, chunks] :
       {std::pair{"ascending", &ascending}, std::pair{"descending", &descending},
        std::pair{"random", &shuffled}}) {
    ChunkIndex index;
    for (std::size_t i = 0; i < chunks->size(); ++i) {
      index.assign((*chunks)[i], Versions{{1, static_cast<std::uint32_t>(i)}});
      ASSERT_NO_FATAL_FAILURE(expect_bound(index, order, i));
    }
    EXPECT_EQ(index.chunks(), kChunks);
  }
}

TEST(ChunkIndex, UsesAtMost16BytesPerChunkAfterManyReassigns) {
  testing::TracedRandom random(0x4ea551);
  constexpr std::uint64_t kChunkSpace = 100000;
  ChunkIndex index;
  Model model;
  for (std::uint64_t chunk = 0; chunk < kChunkSpace; chunk += 2)
    assign(index, model, chunk, {{1, 1}});
  for (std::size_t step = 0; step < 300000; ++step) {
    std::uint64_t chunk = random.uniform(kChunkSpace);
    std::uint64_t action = random.uniform(4);
    if (action == 0) {
      // Same shape: overwritten in place.
      index.assign(chunk, Versions{{1, static_cast<std::uint32_t>(step)}});
    } else if (action == 1) {
      // Two versions, then one again: the chunk's block grows and shrinks.
      index.assign(chunk, Versions{{1, 2}, {3, 4}});
      index.assign(chunk, Versions{{5, 6}});
    } else {
      // Erase one chunk, add another: blocks shrink, join, grow and split; same chunk count.
      index.assign(chunk, {});
      index.assign(random.uniform(kChunkSpace), Versions{{1, 1}});
    }
    ASSERT_NO_FATAL_FAILURE(expect_bound(index, "reassign", step));
  }
  // Chunks of several versions: the bound holds per version.
  for (std::uint64_t chunk = 0; chunk < kChunkSpace; ++chunk) {
    if (random.chance(0.5))
      index.assign(chunk, Versions{{1, 2}, {3, 4}, {5, 6}});
    if (index.versions() >= kBoundChunksMin) {
      ASSERT_LE(index.memory_bytes(), kBytesPerChunkMax * index.versions()) << "chunk " << chunk;
    }
  }
}

TEST(ChunkIndexDeathTest, AssignBeyondTheLastChunkIsAProgrammingError) {
  ChunkIndex index;
  EXPECT_DEATH(index.assign(ChunkIndex::kChunksMax, Versions{{1, 1}}), "kChunksMax");
  EXPECT_DEATH(index.assign(0, Versions{{2, 1}, {1, 1}}), "sorted");
  EXPECT_DEATH(index.assign(0, Versions{{0, 1}}), "tag 0");
}

}  // namespace
}  // namespace freezeframe::detail

// Backup and restore: a full backup and a chain of incremental ones, each restored exactly;
// incremental backups read only the chunks their changed extents touch; the output does
// not depend on thread timing; sets of volumes; progress; bad requests.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "backup_rig.h"
#include "seed.h"

namespace freezeframe {
namespace {

using testing::Bytes;
using testing::RepoRig;
using testing::ScratchDir;

constexpr std::uint32_t kChunk = 16 * 1024;
// Not a multiple of the chunk size: the last chunk is short.
constexpr std::uint64_t kVolumeBytes = (4 << 20) + 3 * 4096;

// Random data in some places, a repeated pattern in others, zeros elsewhere.
void fill_initial(Volume& volume, Random& random) {
  for (int i = 0; i < 24; ++i) {
    std::uint64_t offset = random.uniform(kVolumeBytes / 512) * 512;
    std::uint64_t length =
        std::min<std::uint64_t>((1 + random.uniform(128)) * 512, kVolumeBytes - offset);
    testing::write_bytes(volume, offset, testing::random_bytes(random, length));
  }
  Bytes pattern(kChunk, std::byte{0x5a});
  for (std::uint64_t chunk = 100; chunk < 110; ++chunk)
    testing::write_bytes(volume, chunk * kChunk, pattern);
}

// Writes random bytes (or zeros) at a few places and returns exactly the ranges written.
std::vector<Extent> change(Volume& volume, Random& random) {
  std::vector<Extent> changed;
  int writes = 1 + static_cast<int>(random.uniform(6));
  for (int i = 0; i < writes; ++i) {
    std::uint64_t offset = random.uniform(kVolumeBytes / 512) * 512;
    std::uint64_t length =
        std::min<std::uint64_t>((1 + random.uniform(64)) * 512, kVolumeBytes - offset);
    Bytes data = random.uniform(4) == 0 ? Bytes(length) : testing::random_bytes(random, length);
    testing::write_bytes(volume, offset, data);
    changed.push_back(Extent{offset, length});
  }
  return changed;
}

// Repository chunks that `changed` overlaps.
std::uint64_t chunks_touched(const std::vector<Extent>& changed) {
  std::set<std::uint64_t> chunks;
  for (const Extent& extent : changed) {
    for (std::uint64_t c = extent.offset / kChunk; c * kChunk < extent.end(); ++c)
      chunks.insert(c);
  }
  return chunks.size();
}

TEST(BackupRoundTrip, FullThenIncrementalChainRestoresEveryGeneration) {
  testing::TracedSeed seed(11);
  Random random(seed.value());
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto volume = testing::memory_volume(kVolumeBytes);
  fill_initial(*volume, random);

  std::vector<std::pair<std::string, Bytes>> generations;
  generations.emplace_back(rig.backup_one(*volume), testing::read_all(*volume));
  for (int generation = 1; generation <= 6; ++generation) {
    std::vector<Extent> changed = change(*volume, random);
    testing::CountingVolume counting(*volume);
    std::string id = rig.backup_one(counting, generations.back().first, changed);
    ASSERT_FALSE(id.empty());
    // Only the repository chunks the changes touch are read, nothing else.
    EXPECT_GT(counting.bytes_read(), 0u);
    EXPECT_LE(counting.bytes_read(), chunks_touched(changed) * kChunk)
        << "generation " << generation;
    EXPECT_EQ(rig.last_result().bytes_read, counting.bytes_read());
    generations.emplace_back(id, testing::read_all(*volume));
  }

  for (std::size_t g = 0; g < generations.size(); ++g) {
    auto image = rig.restore_image(generations[g].first, kVolumeBytes);
    ASSERT_TRUE(image.ok()) << image.status().to_string();
    EXPECT_TRUE(*image == generations[g].second) << "generation " << g << " differs";
    auto report = verify(rig.repo(), generations[g].first);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_TRUE(report->ok()) << report->first_problem.to_string();
  }
  auto info = rig.repo().find(generations.back().first);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->parent_id, generations[generations.size() - 2].first);
  EXPECT_EQ(info->change_id, "change-7");
  EXPECT_EQ(info->volume_bytes, kVolumeBytes);
  EXPECT_EQ(info->chunk_bytes, kChunk);
}

TEST(BackupRoundTrip, ChangedExtentsAtChunkGranularityOfTheProviderAreWidened) {
  ScratchDir dir;
  RepoRig rig(dir.repo(), {.chunk_bytes = 64 * 1024});
  auto volume = testing::memory_volume(1 << 20);
  Random random(3);
  testing::write_bytes(*volume, 0, testing::random_bytes(random, 1 << 20));
  std::string base = rig.backup_one(*volume);
  // A 16 KiB provider chunk in the middle of a 64 KiB repository chunk.
  testing::write_bytes(*volume, 3 * 65536 + 16384, testing::random_bytes(random, 16384));
  testing::CountingVolume counting(*volume);
  std::string next =
      rig.backup_one(counting, base, std::vector<Extent>{{3 * 65536 + 16384, 16384}});
  EXPECT_EQ(counting.bytes_read(), 65536u);
  auto image = rig.restore_image(next, 1 << 20);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_TRUE(*image == testing::read_all(*volume));
}

TEST(BackupRoundTrip, OutputDoesNotDependOnThreadCount) {
  ScratchDir dir;
  auto volume = testing::memory_volume(kVolumeBytes);
  Random random(5);
  fill_initial(*volume, random);
  std::map<unsigned, std::vector<std::string>> names;
  for (unsigned threads : {1u, 4u}) {
    RepoRig rig(dir.path() / ("repo" + std::to_string(threads)));
    auto one = rig.request(*volume);
    auto result = rig.backup(std::span(&one, 1), {.threads = threads, .memory_bytes_max = 8 << 20});
    ASSERT_TRUE(result.ok()) << result.status().to_string();
    for (const char* sub : {"packs", "index", "manifests", "sets"}) {
      for (const auto& file :
           testing::files_in(dir.path() / ("repo" + std::to_string(threads)) / sub))
        names[threads].push_back(std::string(sub) + "/" + file.filename().string());
    }
  }
  // File names are the XXH3-128 of the content: equal names, equal bytes.
  EXPECT_EQ(names[1], names[4]);
  EXPECT_FALSE(names[1].empty());
}

TEST(BackupRoundTrip, VolumesOfOneSetAreCommittedAndRestoredTogether) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto first = testing::memory_volume(1 << 20, "first");
  auto second = testing::memory_volume(2 << 20, "second");
  Random random(9);
  Bytes shared = testing::random_bytes(random, std::uint64_t{256} << 10);
  testing::write_bytes(*first, 0, shared);
  testing::write_bytes(*second, std::uint64_t{512} << 10, shared);  // same chunks, another offset
  testing::write_bytes(*second, 0, testing::random_bytes(random, std::uint64_t{64} << 10));
  std::vector<VolumeBackupRequest> requests{rig.request(*first), rig.request(*second)};
  requests[1].set_id = requests[0].set_id;
  auto result = rig.backup(requests);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  // The shared 256 KiB is stored once: 16 + 4 new chunks.
  EXPECT_EQ(result->new_chunks, 20u);

  auto sets = rig.repo().list();
  ASSERT_TRUE(sets.ok()) << sets.status().to_string();
  ASSERT_EQ(sets->size(), 1u);
  ASSERT_EQ(sets->at(0).volumes.size(), 2u);
  EXPECT_EQ(sets->at(0).set_id, requests[0].set_id);
  std::vector<Volume*> sources{first.get(), second.get()};
  for (std::size_t i = 0; i < 2; ++i) {
    const BackupInfo& info = sets->at(0).volumes[i];
    EXPECT_EQ(info.volume_name, sources[i]->name());
    auto image = rig.restore_image(info.id, sources[i]->size_bytes());
    ASSERT_TRUE(image.ok()) << image.status().to_string();
    EXPECT_TRUE(*image == testing::read_all(*sources[i]));
  }
}

TEST(BackupRoundTrip, ProgressIsReportedUpToTheTotal) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto volume = testing::memory_volume(2 << 20);
  std::vector<BackupProgress> reports;
  auto one = rig.request(*volume);
  auto result = rig.backup(std::span(&one, 1),
                           {.on_progress = [&](const BackupProgress& p) { reports.push_back(p); },
                            .progress_interval = std::chrono::milliseconds(0)});
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back().bytes_total, 2u << 20);
  EXPECT_EQ(reports.back().bytes_done, 2u << 20);
  for (std::size_t i = 1; i < reports.size(); ++i)
    EXPECT_LE(reports[i - 1].bytes_done, reports[i].bytes_done);
}

TEST(BackupRoundTrip, ZeroPoliciesBringZeroChunksToTheTarget) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto volume = testing::memory_volume(1 << 20);
  Random random(4);
  Bytes data = testing::random_bytes(random, std::uint64_t{64} << 10);
  testing::write_bytes(*volume, 0, data);
  std::string id = rig.backup_one(*volume);
  for (ZeroPolicy policy : {ZeroPolicy::kDiscard, ZeroPolicy::kWrite, ZeroPolicy::kSkip}) {
    auto target = testing::memory_volume(1 << 20, "target");
    testing::write_bytes(*target, 0, Bytes(1 << 20, std::byte{0xee}));
    ASSERT_TRUE(restore(rig.repo(), id, *target, {.zeros = policy}).ok());
    Bytes image = testing::read_all(*target);
    EXPECT_TRUE(std::equal(data.begin(), data.end(), image.begin()));
    // Skip leaves what the target held; the others make it zero.
    std::byte expected = policy == ZeroPolicy::kSkip ? std::byte{0xee} : std::byte{0};
    EXPECT_TRUE(std::all_of(image.begin() + 65536, image.end(),
                            [&](std::byte b) { return b == expected; }));
  }
}

TEST(BackupRoundTrip, EveryPackIsUnderItsFinalNameWhenTheBackupReturns) {
  // Packs are flushed and renamed in the background while the next is written: with 1 MiB
  // packs, 6 MiB of random data makes several, and all are final, indexed and read back.
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto volume = testing::memory_volume(6 << 20);
  Random random(11);
  testing::write_bytes(*volume, 0, testing::random_bytes(random, 6 << 20));
  std::string id = rig.backup_one(*volume);
  ASSERT_FALSE(id.empty());
  std::vector<testing::fs::path> packs = testing::files_in(dir.repo() / "packs");
  EXPECT_GE(packs.size(), 5u);
  for (const testing::fs::path& pack : packs)
    EXPECT_EQ(pack.extension(), ".pack") << pack;
  auto image = rig.restore_image(id, 6 << 20);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_TRUE(*image == testing::read_all(*volume));
}

TEST(BackupRoundTrip, FindTakesAPrefixAndAgreesWithList) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto first = testing::memory_volume(1 << 20, "first");
  auto second = testing::memory_volume(1 << 20, "second");
  testing::write_bytes(*second, 0, Bytes(4096, std::byte{0x42}));
  rig.backup_one(*first);
  std::string id = rig.backup_one(*second);
  auto sets = rig.repo().list();
  ASSERT_TRUE(sets.ok());
  ASSERT_EQ(sets->size(), 2u);
  auto found = rig.repo().find(id.substr(0, 6));
  ASSERT_TRUE(found.ok()) << found.status().to_string();
  EXPECT_EQ(found->id, id);
  EXPECT_EQ(found->set_record_id, sets->back().volumes.at(0).set_record_id);
  EXPECT_EQ(found->volume_name, "second");
  std::string other = id;
  other.back() = other.back() == '0' ? '1' : '0';
  EXPECT_EQ(rig.repo().find(other).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(rig.repo().find("abc").status().code(), ErrorCode::kInvalidArgument);
}

TEST(BackupRoundTrip, MalformedRequestsAreRefused) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto volume = testing::memory_volume(1 << 20);
  auto bigger = testing::memory_volume(2 << 20);
  std::string base = rig.backup_one(*volume);

  auto changed_without_parent = rig.request(*volume, std::nullopt, std::vector<Extent>{{0, 512}});
  EXPECT_EQ(rig.backup(std::span(&changed_without_parent, 1)).status().code(),
            ErrorCode::kInvalidArgument);
  auto other_size = rig.request(*bigger, base, std::vector<Extent>{{0, 512}});
  EXPECT_EQ(rig.backup(std::span(&other_size, 1)).status().code(), ErrorCode::kInvalidArgument);
  auto outside = rig.request(*volume, base, std::vector<Extent>{{(1 << 20) - 512, 1024}});
  EXPECT_EQ(rig.backup(std::span(&outside, 1)).status().code(), ErrorCode::kInvalidArgument);
  auto unknown_parent = rig.request(*volume, std::string("0123456789abcdef"));
  EXPECT_EQ(rig.backup(std::span(&unknown_parent, 1)).status().code(), ErrorCode::kNotFound);
  auto no_source = rig.request(*volume);
  no_source.source = nullptr;
  EXPECT_EQ(rig.backup(std::span(&no_source, 1)).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(rig.backup({}).status().code(), ErrorCode::kInvalidArgument);

  auto small = testing::memory_volume(std::uint64_t{512} << 10, "small");
  EXPECT_EQ(restore(rig.repo(), base, *small).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(restore(rig.repo(), "zz", *volume).code(), ErrorCode::kInvalidArgument);
  // Nothing was committed by the refused requests.
  auto sets = rig.repo().list();
  ASSERT_TRUE(sets.ok());
  EXPECT_EQ(sets->size(), 1u);
}

TEST(BackupRoundTrip, EachBackupRecordsWhetherItIsFullIncrementalOrDifferential) {
  ScratchDir dir;
  RepoRig rig(dir.repo());
  auto volume = testing::memory_volume(1 << 20);
  Random random(5);
  testing::write_bytes(*volume, 0, testing::random_bytes(random, 1 << 19));
  const std::string full = rig.backup_one(*volume);
  testing::write_bytes(*volume, 0, testing::random_bytes(random, 4096));
  const std::string incremental = rig.backup_one(*volume, full, std::vector<Extent>{{0, 4096}});
  testing::write_bytes(*volume, 65536, testing::random_bytes(random, 4096));
  auto request = rig.request(*volume, full, std::vector<Extent>{{0, 4096}, {65536, 4096}});
  request.differential = true;
  auto made = rig.backup(std::span(&request, 1));
  ASSERT_TRUE(made.ok()) << made.status().to_string();
  const std::string differential = made->set.volumes.at(0).id;
  EXPECT_EQ(made->set.volumes.at(0).kind, BackupKind::kDifferential);

  // The kind is read back from each manifest, by find() and by list().
  const std::pair<std::string, BackupKind> expected[] = {{full, BackupKind::kFull},
                                                         {incremental, BackupKind::kIncremental},
                                                         {differential, BackupKind::kDifferential}};
  for (const auto& [id, kind] : expected) {
    auto info = rig.repo().find(id);
    ASSERT_TRUE(info.ok()) << info.status().to_string();
    EXPECT_EQ(info->kind, kind) << id;
    EXPECT_STREQ(backup_kind_name(info->kind), backup_kind_name(kind));
  }
  auto sets = rig.repo().list();
  ASSERT_TRUE(sets.ok()) << sets.status().to_string();
  ASSERT_EQ(sets->size(), 3u);
  EXPECT_EQ(sets->at(2).volumes.at(0).kind, BackupKind::kDifferential);
  EXPECT_EQ(sets->at(2).volumes.at(0).parent_id, full);
  auto image = rig.restore_image(differential, 1 << 20);
  ASSERT_TRUE(image.ok()) << image.status().to_string();
  EXPECT_TRUE(*image == testing::read_all(*volume));

  // A differential backup counts from a full one, and needs a parent at all.
  auto on_incremental = rig.request(*volume, incremental, std::vector<Extent>{{0, 4096}});
  on_incremental.differential = true;
  EXPECT_EQ(rig.backup(std::span(&on_incremental, 1)).status().code(), ErrorCode::kInvalidArgument);
  auto without_parent = rig.request(*volume);
  without_parent.differential = true;
  EXPECT_EQ(rig.backup(std::span(&without_parent, 1)).status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace freezeframe

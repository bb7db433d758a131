// The corruption matrix of the repository: one byte flipped at many offsets of each file (a
// pack, the index file, the manifest, the set record), files truncated, a pack removed. For
// every damaged repository, restore gives the exact bytes or an error naming the damaged
// file and an offset, never wrong bytes with success; verify finds every damage to the
// pack and the index.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>

#include "backup_rig.h"
#include "seed.h"

namespace freezeframe {
namespace {

using testing::Bytes;
using testing::RepoRig;
using testing::ScratchDir;
namespace fs = std::filesystem;

constexpr std::uint64_t kVolumeBytes = std::uint64_t{256} * 1024;

struct Outcome {
  int exact = 0;    // restore succeeded with the right bytes
  int refused = 0;  // restore failed naming the file
  int verify_found = 0;
  int check_found = 0;  // by the whole-repository check
};

class BackupCorruption : public ::testing::Test {
 protected:
  void SetUp() override {
    rig_ = std::make_unique<RepoRig>(
        dir_.repo(), RepositoryOptions{.chunk_bytes = 4096, .pack_bytes_target = 1 << 20});
    volume_ = testing::memory_volume(kVolumeBytes);
    Random random(41);
    // Compressible data, so frames are small and hold several chunks.
    for (std::uint64_t offset = 0; offset < kVolumeBytes / 2; offset += 4096) {
      Bytes chunk(4096, std::byte{static_cast<unsigned char>(offset >> 12)});
      Bytes noise = testing::random_bytes(random, 64);
      std::copy(noise.begin(), noise.end(), chunk.begin());
      testing::write_bytes(*volume_, offset, chunk);
    }
    id_ = rig_->backup_one(*volume_);
    expected_ = testing::read_all(*volume_);
    rig_->close();
  }

  fs::path only_file(const char* sub) {
    auto files = testing::files_in(dir_.repo() / sub);
    EXPECT_EQ(files.size(), 1u) << sub;
    return files.at(0);
  }

  // Restores and verifies the damaged repository; checks the outcome and counts it.
  void check(const fs::path& damaged, std::uint64_t offset, Outcome& outcome) {
    SCOPED_TRACE(damaged.filename().string() + " offset " + std::to_string(offset));
    auto repo = Repository::open(dir_.repo(), {.mode = LockMode::kShared});
    ASSERT_TRUE(repo.ok()) << repo.status().to_string();
    auto target = testing::memory_volume(kVolumeBytes, "target");
    Status restored = restore(**repo, id_, *target, {.zeros = ZeroPolicy::kWrite});
    if (restored.ok()) {
      EXPECT_TRUE(testing::read_all(*target) == expected_) << "wrong bytes restored with success";
      ++outcome.exact;
    } else {
      EXPECT_TRUE(restored.code() == ErrorCode::kCorrupt || restored.code() == ErrorCode::kNotFound)
          << restored.to_string();
      EXPECT_NE(restored.message().find(damaged.filename().string()), std::string::npos)
          << restored.to_string();
      EXPECT_NE(restored.message().find("offset"), std::string::npos) << restored.to_string();
      ++outcome.refused;
    }
    auto report = verify(**repo, id_);
    if (!report.ok()) {
      EXPECT_NE(report.status().message().find(damaged.filename().string()), std::string::npos)
          << report.status().to_string();
      ++outcome.verify_found;
    } else if (!report->ok()) {
      EXPECT_GT(report->bad_chunks + report->bad_packs, 0u);
      EXPECT_NE(report->first_problem.message().find(damaged.filename().string()),
                std::string::npos)
          << report->first_problem.to_string();
      ++outcome.verify_found;
    } else {
      EXPECT_TRUE(restored.ok()) << "verify passed a backup that restore refused";
    }
    // The whole-repository check finds every damage, whichever file it is in: every byte of
    // every file is covered by a checksum or by the file's name.
    auto whole = check_repository(**repo);
    ASSERT_TRUE(whole.ok()) << whole.status().to_string();
    EXPECT_FALSE(whole->ok()) << "the repository check passed a damaged repository";
    if (!whole->ok()) {
      EXPECT_EQ(whole->problems_total, whole->problems.size());
      bool named = false;
      for (const Status& problem : whole->problems) {
        // A pack header's version byte damaged reads as a newer format.
        EXPECT_TRUE(problem.code() == ErrorCode::kCorrupt ||
                    problem.code() == ErrorCode::kNotFound ||
                    problem.code() == ErrorCode::kUnsupportedVersion)
            << problem.to_string();
        named = named || problem.message().find(damaged.filename().string()) != std::string::npos;
      }
      EXPECT_TRUE(named) << "no problem names " << damaged.filename()
                         << "; first: " << whole->problems.front().to_string();
      EXPECT_GT(whole->damaged_backups + whole->damaged_set_records, 0u);
      ++outcome.check_found;
    }
  }

  // Flips one byte at each of `offsets` of `file` in turn (restoring it after each).
  Outcome flip_matrix(const fs::path& file, std::uint64_t samples) {
    Bytes pristine = testing::file_bytes_of(file);
    Outcome outcome;
    std::vector<std::uint64_t> offsets;
    for (std::uint64_t i = 0; i < std::min<std::uint64_t>(pristine.size(), 48); ++i) {
      offsets.push_back(i);
      offsets.push_back(pristine.size() - 1 - i);
    }
    Random random(testing::test_seed(42));
    for (std::uint64_t i = 0; i < samples; ++i)
      offsets.push_back(random.uniform(pristine.size()));
    for (std::uint64_t offset : offsets) {
      Bytes damaged = pristine;
      damaged[offset] ^= std::byte{0x40};
      testing::write_file_bytes(file, damaged);
      check(file, offset, outcome);
      if (::testing::Test::HasFailure())
        break;
    }
    testing::write_file_bytes(file, pristine);
    std::printf("%-10s %7zu bytes: %3d exact, %3d refused, verify found %3d, check found %3d\n",
                file.parent_path().filename().c_str(), pristine.size(), outcome.exact,
                outcome.refused, outcome.verify_found, outcome.check_found);
    return outcome;
  }

  ScratchDir dir_;
  std::unique_ptr<RepoRig> rig_;
  std::unique_ptr<MemoryVolume> volume_;
  std::string id_;
  Bytes expected_;
};

TEST_F(BackupCorruption, FlippedPackBytesAreFoundByVerifyAndNeverRestoredWrong) {
  Outcome outcome = flip_matrix(only_file("packs"), 200);
  // Every byte of a pack is covered by a checksum verify reads: header, frames, trailer.
  EXPECT_EQ(outcome.verify_found, outcome.exact + outcome.refused);
  EXPECT_EQ(outcome.check_found, outcome.exact + outcome.refused);
  EXPECT_GT(outcome.refused, 0);
}

TEST_F(BackupCorruption, FlippedIndexBytesAreRefused) {
  Outcome outcome = flip_matrix(only_file("index"), 100);
  EXPECT_EQ(outcome.exact, 0);
  EXPECT_EQ(outcome.verify_found, outcome.refused);
  EXPECT_EQ(outcome.check_found, outcome.refused);
}

TEST_F(BackupCorruption, FlippedManifestBytesAreRefused) {
  Outcome outcome = flip_matrix(only_file("manifests"), 100);
  EXPECT_EQ(outcome.exact, 0);
  EXPECT_EQ(outcome.check_found, outcome.refused);
}

TEST_F(BackupCorruption, FlippedSetRecordBytesAreRefused) {
  Outcome outcome = flip_matrix(only_file("sets"), 50);
  EXPECT_EQ(outcome.exact, 0);
  EXPECT_EQ(outcome.check_found, outcome.refused);
}

TEST_F(BackupCorruption, TruncatedFilesAreRefused) {
  for (const char* sub : {"packs", "index", "manifests", "sets"}) {
    fs::path file = only_file(sub);
    Bytes pristine = testing::file_bytes_of(file);
    Outcome outcome;
    for (std::uint64_t keep : {std::uint64_t{0}, std::uint64_t{7}, pristine.size() / 2,
                               pristine.size() - 40, pristine.size() - 1}) {
      testing::write_file_bytes(
          file, Bytes(pristine.begin(), pristine.begin() + static_cast<std::ptrdiff_t>(keep)));
      check(file, keep, outcome);
    }
    testing::write_file_bytes(file, pristine);
    EXPECT_EQ(outcome.verify_found, 5) << sub;
    EXPECT_EQ(outcome.check_found, 5) << sub;
  }
}

TEST_F(BackupCorruption, MissingPackIsNotFoundNamingIt) {
  fs::path pack = only_file("packs");
  fs::remove(pack);
  auto repo = Repository::open(dir_.repo(), {.mode = LockMode::kShared});
  ASSERT_TRUE(repo.ok());
  auto target = testing::memory_volume(kVolumeBytes, "target");
  Status restored = restore(**repo, id_, *target);
  EXPECT_EQ(restored.code(), ErrorCode::kNotFound) << restored.to_string();
  EXPECT_NE(restored.message().find(pack.filename().string()), std::string::npos);
  auto report = verify(**repo, id_);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->first_problem.code(), ErrorCode::kNotFound);
  EXPECT_EQ(report->bad_chunks, kVolumeBytes / 2 / 4096);
  EXPECT_NE(report->first_problem.message().find(pack.filename().string()), std::string::npos);
}

TEST_F(BackupCorruption, MissingManifestIsNotFound) {
  fs::remove(only_file("manifests"));
  auto repo = Repository::open(dir_.repo(), {.mode = LockMode::kShared});
  ASSERT_TRUE(repo.ok());
  auto target = testing::memory_volume(kVolumeBytes, "target");
  EXPECT_EQ(restore(**repo, id_, *target).code(), ErrorCode::kNotFound);
  EXPECT_EQ(verify(**repo, id_).status().code(), ErrorCode::kNotFound);
}

TEST_F(BackupCorruption, DamagedConfigIsRefusedAtOpen) {
  fs::path config = dir_.repo() / "config";
  Bytes pristine = testing::file_bytes_of(config);
  for (std::size_t offset = 0; offset < pristine.size(); ++offset) {
    Bytes damaged = pristine;
    damaged[offset] ^= std::byte{0x01};
    testing::write_file_bytes(config, damaged);
    auto repo = Repository::open(dir_.repo(), {.mode = LockMode::kShared});
    ASSERT_FALSE(repo.ok()) << "offset " << offset;
    EXPECT_TRUE(repo.status().code() == ErrorCode::kCorrupt ||
                repo.status().code() == ErrorCode::kUnsupportedVersion)
        << repo.status().to_string();
  }
}

}  // namespace
}  // namespace freezeframe

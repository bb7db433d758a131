// The repository format: settings and versions at init and open, and the parsers of outside
// bytes (config, pack trailer, index, manifest, set record): encode and parse round trips,
// every truncation refused, arbitrary bytes never crash a parser and never parse as a
// different record. White-box: uses the format code of backup/src.
#include <gtest/gtest.h>

#include <boost/endian/conversion.hpp>

#include "backup_rig.h"
#include "chunk_hash.h"
#include "repository_format.h"
#include "seed.h"

namespace freezeframe {
namespace {

using backup_detail::ChunkHash;
using testing::Bytes;
using testing::ScratchDir;
namespace fs = std::filesystem;

ChunkHash hash_of(int n) {
  Bytes bytes(8);
  std::memcpy(bytes.data(), &n, sizeof(n));
  return backup_detail::hash_bytes(bytes);
}

TEST(BackupFormat, NewerRepositoryVersionIsRefusedNamingIt) {
  ScratchDir dir;
  ASSERT_TRUE(Repository::init(dir.repo(), {}).ok());
  fs::path config = dir.repo() / "config";
  Bytes bytes = testing::file_bytes_of(config);
  boost::endian::store_little_u32(reinterpret_cast<unsigned char*>(bytes.data()) + 8, 2);
  boost::endian::store_little_u64(reinterpret_cast<unsigned char*>(bytes.data()) + 56,
                                  backup_detail::checksum64(std::span(bytes).first(56)));
  testing::write_file_bytes(config, bytes);
  auto opened = Repository::open(dir.repo(), {});
  EXPECT_EQ(opened.status().code(), ErrorCode::kUnsupportedVersion);
  EXPECT_NE(opened.status().message().find("version 2"), std::string::npos)
      << opened.status().to_string();
}

TEST(BackupFormat, InitChecksSettingsAndRefusesNonEmptyDirectories) {
  ScratchDir dir;
  for (std::uint32_t chunk : {0u, 2048u, 3u * 4096, 8u << 20})
    EXPECT_EQ(Repository::init(dir.path() / "bad", {.chunk_bytes = chunk}).status().code(),
              ErrorCode::kInvalidArgument)
        << chunk;
  EXPECT_EQ(Repository::init(dir.path() / "bad", {.compression_level = 0}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir.path() / "bad"));

  auto made = Repository::init(dir.repo(), {.chunk_bytes = 4 << 20, .compression_level = 3});
  ASSERT_TRUE(made.ok()) << made.status().to_string();
  EXPECT_EQ((*made)->chunk_bytes(), 4u << 20);
  EXPECT_EQ((*made)->compression_level(), 3);
  made = Status(ErrorCode::kAborted, "closed");
  EXPECT_EQ(Repository::init(dir.repo(), {}).status().code(), ErrorCode::kAlreadyExists);
  fs::create_directories(dir.path() / "empty");
  EXPECT_TRUE(Repository::init(dir.path() / "empty", {}).ok());

  auto opened = Repository::open(dir.repo(), {});
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ((*opened)->chunk_bytes(), 4u << 20);
  EXPECT_EQ((*opened)->lock_mode(), LockMode::kShared);
  EXPECT_EQ(Repository::open(dir.path() / "nothing", {}).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(Repository::open(dir.path(), {}).status().code(), ErrorCode::kNotFound);
}

backup_detail::Manifest sample_manifest() {
  backup_detail::Manifest manifest;
  manifest.volume_name = "C:";
  manifest.volume_id = Uuid::from_name("volume");
  manifest.snapshot_id = Uuid::from_name("snapshot");
  manifest.set_id = Uuid::from_name("set");
  manifest.time_ns = 1234567890123;
  manifest.change_id = "cbt:7:42";
  manifest.volume_bytes = 100 * 4096 + 512;
  manifest.chunk_bytes = 4096;
  manifest.parent = hash_of(99);
  manifest.chunks.assign(101, ChunkHash{});
  for (int i = 10; i < 20; ++i)
    manifest.chunks[i] = hash_of(i);
  for (int i = 30; i < 60; ++i)
    manifest.chunks[i] = hash_of(1000);
  manifest.chunks[100] = hash_of(5);
  return manifest;
}

TEST(BackupFormat, ManifestRoundTripsRunLengthEncoded) {
  backup_detail::Manifest manifest = sample_manifest();
  Bytes bytes = backup_detail::encode_manifest(manifest);
  // Header, two texts, 6 runs: 10 + 1 literal hashes, 1 repeated hash.
  EXPECT_LT(bytes.size(), 160u + 12 * 16 + 6 * 9);
  auto parsed = backup_detail::parse_manifest(bytes, "m");
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->chunks, manifest.chunks);
  EXPECT_EQ(parsed->volume_name, manifest.volume_name);
  EXPECT_EQ(parsed->change_id, manifest.change_id);
  EXPECT_EQ(parsed->parent, manifest.parent);
  EXPECT_EQ(parsed->volume_bytes, manifest.volume_bytes);
  EXPECT_EQ(parsed->time_ns, manifest.time_ns);
  EXPECT_EQ(parsed->snapshot_id, manifest.snapshot_id);
}

// Every proper prefix of a record is refused with kCorrupt.
template <typename Parse>
void expect_truncations_refused(const Bytes& bytes, Parse parse) {
  for (std::size_t keep = 0; keep < bytes.size(); ++keep) {
    Status status = parse(std::span(bytes).first(keep));
    EXPECT_EQ(status.code(), ErrorCode::kCorrupt) << "prefix of " << keep << " bytes";
  }
}

TEST(BackupFormat, EveryTruncationOfEveryRecordIsRefused) {
  expect_truncations_refused(backup_detail::encode_manifest(sample_manifest()), [](auto bytes) {
    return backup_detail::parse_manifest(bytes, "m").status();
  });
  backup_detail::IndexFile index;
  index.packs = {hash_of(1), hash_of(2)};
  for (int i = 0; i < 5; ++i)
    index.entries.push_back(
        {hash_of(10 + i), static_cast<std::uint32_t>(i % 2), {16, 100, 0, 4096}});
  std::sort(index.entries.begin(), index.entries.end(),
            [](const auto& a, const auto& b) { return a.hash < b.hash; });
  Bytes index_bytes = backup_detail::encode_index(index);
  auto parsed_index = backup_detail::parse_index(index_bytes, "i");
  ASSERT_TRUE(parsed_index.ok()) << parsed_index.status().to_string();
  EXPECT_EQ(parsed_index->entries.size(), 5u);
  expect_truncations_refused(
      index_bytes, [](auto bytes) { return backup_detail::parse_index(bytes, "i").status(); });
  backup_detail::SetRecord record{Uuid::from_name("s"), 5, {hash_of(1), hash_of(2)}};
  expect_truncations_refused(backup_detail::encode_set_record(record), [](auto bytes) {
    return backup_detail::parse_set_record(bytes, "s").status();
  });
  backup_detail::RepositoryConfig config{65536, 1, 16 << 20, 1 << 20, Uuid::from_name("r")};
  Bytes config_bytes = backup_detail::encode_config(config);
  ASSERT_TRUE(backup_detail::parse_config(config_bytes, "c").ok());
  expect_truncations_refused(
      config_bytes, [](auto bytes) { return backup_detail::parse_config(bytes, "c").status(); });
  std::vector<backup_detail::PackEntry> entries{{hash_of(1), {16, 200, 0, 4096}},
                                                {hash_of(2), {16, 200, 4096, 4096}}};
  Bytes trailer = backup_detail::encode_pack_trailer(entries);
  std::uint64_t pack_bytes = 16 + 200 + trailer.size();
  ASSERT_TRUE(backup_detail::parse_pack_trailer(trailer, pack_bytes, "p").ok());
  for (std::size_t drop = 1; drop < trailer.size(); ++drop) {
    auto tail = std::span(trailer).subspan(drop);
    EXPECT_EQ(backup_detail::parse_pack_trailer(tail, pack_bytes - drop, "p").status().code(),
              ErrorCode::kCorrupt);
  }
}

TEST(BackupFormat, ArbitraryBytesNeverCrashAParser) {
  Random random(testing::test_seed(61));
  Bytes manifest = backup_detail::encode_manifest(sample_manifest());
  for (int round = 0; round < 2000; ++round) {
    // Random bytes, and a valid manifest with random bytes changed (checksum left stale).
    Bytes bytes = testing::random_bytes(random, random.uniform(300));
    Bytes mutated = manifest;
    for (int i = 0; i < 3; ++i)
      mutated[random.uniform(mutated.size())] = static_cast<std::byte>(random.uniform(256));
    for (const Bytes* input : {&bytes, &mutated}) {
      backup_detail::parse_manifest(*input, "m").ignore_error();
      backup_detail::parse_index(*input, "i").ignore_error();
      backup_detail::parse_set_record(*input, "s").ignore_error();
      backup_detail::parse_config(*input, "c").ignore_error();
      backup_detail::parse_pack_trailer(*input, input->size() + 16, "p").ignore_error();
      backup_detail::parse_frame(*input, 0, "p", 0).ignore_error();
    }
    if (mutated != manifest) {
      EXPECT_FALSE(backup_detail::parse_manifest(mutated, "m").ok());
    }
  }
}

}  // namespace
}  // namespace freezeframe

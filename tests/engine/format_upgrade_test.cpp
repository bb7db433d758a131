// Diff areas written by format version 1 open with the current code, read back bit-exact, and
// are upgraded in place by a writable open, also when a crash interrupts the upgrade.
//
// The fixtures in tests/data/format_v1 (written by make_fixtures.cpp there; see its README)
// hold, per case (CoW, RoW, RoW with compressed chunks), an origin image and a version-1 diff
// image, zstd-compressed, and manifest.json says what the live volume and every snapshot read
// as: the XXH3-64 of the whole volume and a few literal 16-byte spot checks.
//
// While the engine writes version 1 (format::kFormatVersion == 1) there is nothing to upgrade:
// the checks that the superblock carries kFormatVersion after a writable open hold trivially,
// and a writable open may issue no write or flush at all, so the crash test has no crash point.
// Both become meaningful once a newer format version lands.
//
// A missing or unreadable fixture file is a failure naming the file, never a skip.
// White-box: it includes the engine's format header for kFormatVersion.
#include <gtest/gtest.h>
#include <xxhash.h>
#include <zstd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "crash_rig.h"
#include "diff_area_format.h"
#include "freezeframe/file_volume.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/snapshot_provider.h"
#include "temp_path.h"

#ifndef FREEZEFRAME_FORMAT_V1_DIR
#error "FREEZEFRAME_FORMAT_V1_DIR must name tests/data/format_v1"
#endif

namespace freezeframe {
namespace {

using Bytes = std::vector<std::byte>;
using testing::TempPath;

const std::filesystem::path kFixtureDirectory = FREEZEFRAME_FORMAT_V1_DIR;

struct SpotCheck {
  std::uint64_t offset = 0;
  Bytes bytes;
};

// What one volume (the live volume or a snapshot) reads back as.
struct ExpectedVolume {
  std::string name;
  std::optional<Uuid> id;  // snapshots only
  std::uint64_t xxh3 = 0;
  std::vector<SpotCheck> spot_checks;
};

struct FixtureCase {
  std::string name;
  ProviderKind kind = ProviderKind::kCopyOnWrite;
  std::uint32_t chunk_bytes = 0;
  bool compress = false;
  std::uint64_t origin_bytes = 0;
  std::uint64_t diff_bytes = 0;
  Uuid origin_uuid;
  std::string origin_file;
  std::string diff_file;
  std::vector<Uuid> snapshots;  // oldest first
  std::vector<ExpectedVolume> volumes;
};

// The whole file, or nullopt after a failure naming it.
std::optional<Bytes> read_fixture_file(const std::string& name) {
  const std::filesystem::path path = kFixtureDirectory / name;
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    ADD_FAILURE() << "fixture file missing: " << path.string();
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  Bytes bytes(std::filesystem::file_size(path, error));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (error || !in.good()) {
    ADD_FAILURE() << "fixture file unreadable: " << path.string();
    return std::nullopt;
  }
  return bytes;
}

Bytes hex_bytes(const std::string& text) {
  Bytes bytes;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2)
    bytes.push_back(static_cast<std::byte>(std::stoul(text.substr(i, 2), nullptr, 16)));
  return bytes;
}

std::uint64_t hex_u64(const std::string& text) {
  return std::stoull(text, nullptr, 16);
}

Uuid uuid_of(const std::string& text) {
  auto parsed = Uuid::parse(text);
  EXPECT_TRUE(parsed.ok()) << "manifest: bad uuid " << text;
  return parsed.ok() ? parsed.value() : Uuid();
}

// The case `name` of manifest.json, or nullopt after a failure that says what is missing.
std::optional<FixtureCase> load_case(const std::string& name) {
  std::optional<Bytes> text = read_fixture_file("manifest.json");
  if (!text.has_value())
    return std::nullopt;
  const auto manifest = nlohmann::json::parse(
      reinterpret_cast<const char*>(text->data()),
      reinterpret_cast<const char*>(text->data() + text->size()), nullptr, false);
  if (manifest.is_discarded() || !manifest.contains("cases")) {
    ADD_FAILURE() << "fixture file malformed: " << (kFixtureDirectory / "manifest.json").string();
    return std::nullopt;
  }
  for (const auto& entry : manifest["cases"]) {
    if (entry.value("name", "") != name)
      continue;
    try {
      FixtureCase c;
      c.name = name;
      c.kind = entry.at("provider").get<std::string>() == "cow" ? ProviderKind::kCopyOnWrite
                                                                : ProviderKind::kRedirectOnWrite;
      c.chunk_bytes = entry.at("chunk_bytes").get<std::uint32_t>();
      c.compress = entry.at("compress").get<bool>();
      c.origin_bytes = entry.at("origin_bytes").get<std::uint64_t>();
      c.diff_bytes = entry.at("diff_bytes").get<std::uint64_t>();
      c.origin_uuid = uuid_of(entry.at("origin_uuid").get<std::string>());
      c.origin_file = entry.at("origin_file").get<std::string>();
      c.diff_file = entry.at("diff_file").get<std::string>();
      for (const auto& id : entry.at("snapshots"))
        c.snapshots.push_back(uuid_of(id.get<std::string>()));
      for (const auto& volume : entry.at("volumes")) {
        ExpectedVolume expected;
        expected.name = volume.at("volume").get<std::string>();
        if (volume.contains("id"))
          expected.id = uuid_of(volume.at("id").get<std::string>());
        expected.xxh3 = hex_u64(volume.at("xxh3_64").get<std::string>());
        for (const auto& spot : volume.at("spot_checks")) {
          expected.spot_checks.push_back(
              {spot.at("offset").get<std::uint64_t>(), hex_bytes(spot.at("bytes"))});
        }
        c.volumes.push_back(std::move(expected));
      }
      return c;
    } catch (const nlohmann::json::exception& e) {
      ADD_FAILURE() << "manifest.json, case " << name << ": " << e.what();
      return std::nullopt;
    }
  }
  ADD_FAILURE() << "manifest.json has no case " << name;
  return std::nullopt;
}

// The decompressed fixture image, or nullopt after a failure naming the file.
std::optional<Bytes> load_image(const std::string& file, std::uint64_t size) {
  std::optional<Bytes> compressed = read_fixture_file(file);
  if (!compressed.has_value())
    return std::nullopt;
  Bytes image(size);
  const std::size_t length =
      ZSTD_decompress(image.data(), image.size(), compressed->data(), compressed->size());
  if (ZSTD_isError(length) || length != size) {
    ADD_FAILURE() << "fixture file " << (kFixtureDirectory / file).string()
                  << " does not decompress to " << size << " bytes"
                  << (ZSTD_isError(length) ? std::string(": ") + ZSTD_getErrorName(length) : "");
    return std::nullopt;
  }
  return image;
}

// bytes 8..12 of a superblock, little-endian.
std::uint32_t superblock_version(const Bytes& superblock) {
  return static_cast<std::uint32_t>(superblock[8]) |
         static_cast<std::uint32_t>(superblock[9]) << 8 |
         static_cast<std::uint32_t>(superblock[10]) << 16 |
         static_cast<std::uint32_t>(superblock[11]) << 24;
}

Bytes file_contents(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  Bytes bytes(std::filesystem::file_size(path));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  EXPECT_TRUE(in.good()) << path.string();
  return bytes;
}

void write_file(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path.string();
}

std::uint32_t volume_format_version(Volume& diff) {
  Bytes superblock(format::kSuperblockBytes);
  EXPECT_TRUE(diff.read(0, superblock).ok());
  return superblock_version(superblock);
}

// `volume` reads back as `expected` says.
void expect_reads_as(Volume& volume, const ExpectedVolume& expected, const std::string& when) {
  Bytes bytes(volume.size_bytes());
  Status status = volume.read(0, bytes);
  ASSERT_TRUE(status.ok()) << when << ", " << expected.name << ": " << status.to_string();
  EXPECT_EQ(XXH3_64bits(bytes.data(), bytes.size()), expected.xxh3)
      << when << ": " << expected.name << " does not read back as it did in version 1";
  for (const SpotCheck& spot : expected.spot_checks) {
    ASSERT_LE(spot.offset + spot.bytes.size(), bytes.size());
    const Bytes got(bytes.begin() + static_cast<std::ptrdiff_t>(spot.offset),
                    bytes.begin() + static_cast<std::ptrdiff_t>(spot.offset + spot.bytes.size()));
    EXPECT_EQ(got, spot.bytes) << when << ": " << expected.name << " at offset " << spot.offset;
  }
}

// The provider lists exactly the manifest's snapshots, and every volume reads back exactly.
void expect_fixture_content(SnapshotProvider& provider, const FixtureCase& c,
                            const std::string& when) {
  EXPECT_EQ(provider.kind(), c.kind) << when;
  EXPECT_EQ(provider.usage().chunk_bytes, c.chunk_bytes) << when;
  std::vector<Uuid> listed;
  for (const SnapshotInfo& info : provider.snapshots())
    listed.push_back(info.id);
  ASSERT_EQ(listed, c.snapshots) << when << ": the snapshots are not the version-1 ones";
  for (const ExpectedVolume& expected : c.volumes) {
    if (!expected.id.has_value()) {
      expect_reads_as(provider, expected, when);
      continue;
    }
    auto snapshot = provider.open_snapshot(*expected.id);
    ASSERT_TRUE(snapshot.ok()) << when << ", " << expected.name << ": "
                               << snapshot.status().to_string();
    expect_reads_as(*snapshot.value(), expected, when);
  }
}

class FormatUpgradeTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    auto loaded = load_case(GetParam());
    ASSERT_TRUE(loaded.has_value());
    case_ = std::move(*loaded);
    ASSERT_EQ(case_.volumes.size(), case_.snapshots.size() + 1) << "manifest.json: volumes";
    auto origin = load_image(case_.origin_file, case_.origin_bytes);
    auto diff = load_image(case_.diff_file, case_.diff_bytes);
    ASSERT_TRUE(origin.has_value() && diff.has_value());
    origin_image_ = std::move(*origin);
    diff_image_ = std::move(*diff);
    ASSERT_EQ(superblock_version(diff_image_), 1u) << case_.diff_file << " is not of version 1";
  }

  // The images as files, and FileVolumes on them.
  void write_images() {
    write_file(origin_path_.path(), origin_image_);
    write_file(diff_path_.path(), diff_image_);
  }
  Result<std::unique_ptr<SnapshotProvider>> open(bool read_only) {
    FF_ASSIGN_OR_RETURN(origin_, FileVolume::open(origin_path_.str(), {.read_only = read_only,
                                                                       .uuid = case_.origin_uuid}));
    FF_ASSIGN_OR_RETURN(diff_, FileVolume::open(diff_path_.str(), {.read_only = read_only}));
    return SnapshotProvider::open(*origin_, *diff_);
  }
  void close(std::unique_ptr<SnapshotProvider>& provider) {
    provider.reset();
    diff_.reset();
    origin_.reset();
  }
  std::uint32_t disk_format_version() {
    return superblock_version(file_contents(diff_path_.path()));
  }

  FixtureCase case_;
  Bytes origin_image_;
  Bytes diff_image_;
  TempPath origin_path_{"origin"};
  TempPath diff_path_{"diff"};
  std::unique_ptr<FileVolume> origin_;
  std::unique_ptr<FileVolume> diff_;
};

TEST_P(FormatUpgradeTest, WritableOpenUpgradesInPlaceAndReadsBackExactly) {
  write_images();
  auto opened = open(false);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  std::unique_ptr<SnapshotProvider> provider = std::move(opened).value();
  EXPECT_FALSE(provider->read_only());
  EXPECT_EQ(disk_format_version(), format::kFormatVersion) << "after a writable open";
  expect_fixture_content(*provider, case_, "after the upgrading open");
  ASSERT_FALSE(HasFatalFailure());
  close(provider);
  EXPECT_EQ(disk_format_version(), format::kFormatVersion) << "after close";

  opened = open(false);
  ASSERT_TRUE(opened.ok()) << "reopen: " << opened.status().to_string();
  provider = std::move(opened).value();
  expect_fixture_content(*provider, case_, "after a reopen");
  ASSERT_FALSE(HasFatalFailure());
  close(provider);
  EXPECT_EQ(disk_format_version(), format::kFormatVersion) << "after the second close";
}

TEST_P(FormatUpgradeTest, ReadOnlyOpenReadsTheSameAndLeavesTheImagesUntouched) {
  write_images();
  auto opened = open(true);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  std::unique_ptr<SnapshotProvider> provider = std::move(opened).value();
  EXPECT_TRUE(provider->read_only());
  expect_fixture_content(*provider, case_, "read-only open");
  ASSERT_FALSE(HasFatalFailure());
  close(provider);
  EXPECT_TRUE(file_contents(diff_path_.path()) == diff_image_)
      << "a read-only open changed the diff image";
  EXPECT_TRUE(file_contents(origin_path_.path()) == origin_image_)
      << "a read-only open changed the origin image";
}

std::string case_name(const ::testing::TestParamInfo<const char*>& info) {
  return info.param;
}

INSTANTIATE_TEST_SUITE_P(FormatV1, FormatUpgradeTest,
                         ::testing::Values("cow", "row", "row_compressed"), case_name);

// The upgrade crashes at every write or flush it issues: a fault-free writable open of the
// version-1 images over simulated volumes records which volume each write and flush goes to;
// then, for k = 1, 2, ..., a fresh copy of the images is opened with the k-th of those
// operations failed, both volumes lose power (unflushed writes are kept or dropped per sector,
// seeded), and a writable reopen must succeed and read every volume exactly as the manifest
// says, with the superblock at the current version. The fault-free open is the last step: the
// first k at which the open completes without reaching a crash point.
struct CrashParam {
  const char* fixture;
  double survival;
};

class FormatUpgradeCrashTest : public ::testing::TestWithParam<CrashParam> {};

constexpr sim::IoOperationMask kWritesAndFlushes =
    sim::operation_bit(sim::IoOperation::kWrite) | sim::operation_bit(sim::IoOperation::kFlush);

std::unique_ptr<Volume> memory_image(const char* name, const Bytes& image, const Uuid& uuid) {
  auto volume = MemoryVolume::create({.name = name, .size_bytes = image.size(), .uuid = uuid});
  FF_ASSERT(volume.ok());
  FF_ASSERT(volume.value()->write(0, image).ok());
  return std::move(volume).value();
}

TEST_P(FormatUpgradeCrashTest, SurvivesACrashAtEveryOperationOfTheUpgrade) {
  const CrashParam param = GetParam();
  auto loaded = load_case(param.fixture);
  ASSERT_TRUE(loaded.has_value());
  const FixtureCase c = std::move(*loaded);
  auto origin_image = load_image(c.origin_file, c.origin_bytes);
  auto diff_image = load_image(c.diff_file, c.diff_bytes);
  ASSERT_TRUE(origin_image.has_value() && diff_image.has_value());
  const std::uint64_t seed = derive_seed(20261202, param.fixture);
  auto make_rig = [&](std::uint64_t rig_seed) {
    return std::make_unique<testing::CrashRig>(memory_image("origin", *origin_image, c.origin_uuid),
                                               memory_image("diff", *diff_image, Uuid()), rig_seed,
                                               param.survival);
  };

  // The fault-free open: which volume each of its writes and flushes goes to.
  std::vector<char> volume_of;
  {
    auto rig = make_rig(seed);
    auto opened = SnapshotProvider::open(*rig->origin, *rig->diff);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    volume_of = rig->volumes_of(kWritesAndFlushes);
    std::unique_ptr<SnapshotProvider> provider = std::move(opened).value();
    expect_fixture_content(*provider, c, "after a fault-free open");
    ASSERT_FALSE(HasFatalFailure());
    provider.reset();
    EXPECT_EQ(volume_format_version(*rig->diff), format::kFormatVersion);
  }
  RecordProperty("crash_points", static_cast<int>(volume_of.size()));

  for (std::size_t k = 1; k <= volume_of.size(); ++k) {
    const std::string where = "crash at operation " + std::to_string(k) + " of " +
                              std::to_string(volume_of.size()) + " (on the " +
                              (volume_of[k - 1] == 'o' ? "origin" : "diff volume") + ")";
    SCOPED_TRACE(where);
    auto rig = make_rig(derive_seed(seed, "crash " + std::to_string(k)));
    rig->crash_at(volume_of, k, kWritesAndFlushes);
    {
      // Whatever the open answers, the power goes with the fault: the provider is dropped
      // without a flush.
      auto interrupted = SnapshotProvider::open(*rig->origin, *rig->diff);
      ASSERT_EQ(rig->injected_failures(), 1u) << "the injected fault never fired";
    }
    rig->power_loss();

    auto reopened = SnapshotProvider::open(*rig->origin, *rig->diff);
    ASSERT_TRUE(reopened.ok()) << reopened.status().to_string();
    std::unique_ptr<SnapshotProvider> provider = std::move(reopened).value();
    expect_fixture_content(*provider, c, "after the crash and a reopen");
    ASSERT_FALSE(HasFatalFailure());
    provider.reset();
    EXPECT_EQ(volume_format_version(*rig->diff), format::kFormatVersion)
        << "after the reopen that finished the upgrade";
  }
}

std::string crash_name(const ::testing::TestParamInfo<CrashParam>& info) {
  return std::string(info.param.fixture) + "_survive" +
         std::to_string(static_cast<int>(info.param.survival * 100));
}

INSTANTIATE_TEST_SUITE_P(FormatV1, FormatUpgradeCrashTest,
                         ::testing::Values(CrashParam{"cow", 0.5}, CrashParam{"cow", 0.0},
                                           CrashParam{"cow", 1.0}, CrashParam{"row", 0.5},
                                           CrashParam{"row", 0.0}, CrashParam{"row", 1.0},
                                           CrashParam{"row_compressed", 0.5},
                                           CrashParam{"row_compressed", 0.0},
                                           CrashParam{"row_compressed", 1.0}),
                         crash_name);

}  // namespace
}  // namespace freezeframe

// Writes the version-1 diff-area fixtures of tests/data/format_v1 (see README.md there): for
// each case, a provider over in-memory volumes runs a fixed history (a patterned origin, two
// snapshots, whole- and partial-chunk overwrites, a journal that has switched areas and holds
// commit groups after its checkpoint), and the origin and diff images are saved
// zstd-compressed with a manifest of what every volume must read back as.
//
// Deterministic: snapshot UUIDs come from a seeded Random, timestamps from a SimClock, data
// from a fixed pattern. Every volume read through the provider is checked against a model of
// the history before anything is written.
//
// Usage: make_format_v1_fixtures OUTPUT_DIRECTORY
#include <xxhash.h>
#include <zstd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "diff_area_format.h"
#include "freezeframe/memory_volume.h"
#include "freezeframe/random.h"
#include "freezeframe/sim/sim_clock.h"
#include "freezeframe/snapshot_provider.h"

namespace freezeframe {
namespace {

using Bytes = std::vector<std::byte>;

constexpr std::uint64_t kOriginBytes = 1 << 20;
constexpr std::uint32_t kChunkBytes = 4096;
constexpr std::uint64_t kSector = 512;
// The smallest diff volume create() accepts for 4 KiB chunks is the superblock, two journal
// areas of 128 blocks and 4 data slots; the history needs about 30 slots, so 40 are given.
constexpr std::uint64_t kDiffSlots = 40;
constexpr std::uint64_t kDiffBytes = 4096 + 2 * 128 * 4096 + kDiffSlots * kChunkBytes;
constexpr int kZstdLevel = 19;

struct Case {
  const char* name;
  ProviderKind kind;
  bool compress;
  std::uint64_t seed;
};

constexpr Case kCases[] = {
    {"cow", ProviderKind::kCopyOnWrite, false, 0xf1f0'0001},
    {"row", ProviderKind::kRedirectOnWrite, false, 0xf1f0'0002},
    {"row_compressed", ProviderKind::kRedirectOnWrite, true, 0xf1f0'0003},
};

// Offsets the manifest records 16 literal bytes of, for every volume: whole-chunk and
// partial-chunk overwrites of both generations, a discard, the zero tail and the last bytes.
constexpr std::uint64_t kSpotOffsets[] = {
    0,
    2 * kChunkBytes + 16,
    5 * kChunkBytes + kSector,
    5 * kChunkBytes + 4 * kSector + 32,
    10 * kChunkBytes,
    22 * kChunkBytes + 64,
    100 * kChunkBytes + 496,
    130 * kChunkBytes + 2 * kSector,
    kOriginBytes - 16,
};

[[noreturn]] void die(const std::string& message) {
  std::cerr << "make_format_v1_fixtures: " << message << "\n";
  std::exit(1);
}

void check(const Status& status, const std::string& what) {
  if (!status.ok())
    die(what + ": " + status.to_string());
}

// Generation `generation`'s content of [offset, offset + length): every 512-byte sector
// repeats one 16-byte line naming the generation and the sector ("g2 s000a3 ------\n"), so a
// sector read from the wrong place or the wrong time is told apart, and the images compress
// well.
Bytes pattern(unsigned generation, std::uint64_t offset, std::uint64_t length) {
  Bytes data(length);
  for (std::uint64_t at = 0; at < length; at += kSector) {
    static const char digits[] = "0123456789abcdef";
    const std::uint64_t sector = (offset + at) / kSector;
    char line[17] = "g0 s00000 ------";
    line[1] = static_cast<char>('0' + generation % 10);
    for (int i = 0; i < 5; ++i)
      line[4 + i] = digits[(sector >> (4 * (4 - i))) & 15];
    line[15] = '\n';
    for (std::uint64_t i = 0; i < kSector; i += 16)
      std::memcpy(data.data() + at + i, line, 16);
  }
  return data;
}

// The provider under construction and a model of what its live volume holds.
class History {
 public:
  History(SnapshotProvider& provider, sim::SimClock& clock)
      : provider_(provider), clock_(clock), live_(kOriginBytes) {}

  void write(unsigned generation, std::uint64_t offset, std::uint64_t length) {
    Bytes data = pattern(generation, offset, length);
    check(provider_.write(offset, data), "write at " + std::to_string(offset));
    std::memcpy(live_.data() + offset, data.data(), data.size());
  }
  void discard(std::uint64_t offset, std::uint64_t length) {
    check(provider_.discard(offset, length), "discard at " + std::to_string(offset));
    std::memset(live_.data() + offset, 0, length);
  }
  void flush() { check(provider_.flush(), "flush"); }
  void snapshot() {
    clock_.advance(std::chrono::seconds(60));
    auto info = provider_.create_snapshot();
    check(info.status(), "create snapshot");
    ids_.push_back(info.value().id);
    images_.push_back(live_);
  }
  // Commits until the journal has written a new checkpoint into its other area, so that the
  // active area starts with a checkpoint holding real state.
  void fill_journal_until_checkpoint() {
    const std::uint64_t before = provider_.stats().checkpoints;
    int commits = 0;
    while (provider_.stats().checkpoints == before) {
      check(provider_.set_overflow_policy(OverflowPolicy::kDeleteOldest), "commit");
      if (++commits > 1000)
        die("the journal never wrote a checkpoint");
    }
  }

  const Bytes& live() const { return live_; }
  const std::vector<Uuid>& ids() const { return ids_; }
  const std::vector<Bytes>& images() const { return images_; }

 private:
  SnapshotProvider& provider_;
  sim::SimClock& clock_;
  Bytes live_;
  std::vector<Uuid> ids_;
  std::vector<Bytes> images_;
};

// The fixed history of every case.
void run_history(History& h) {
  const std::uint64_t c = kChunkBytes;
  const std::uint64_t s = kSector;
  h.write(1, 0, 64 * c);
  h.flush();
  h.snapshot();
  // Whole chunks, partial chunks, a write across a chunk boundary, chunks that were zero.
  h.write(2, 0, 4 * c);
  h.write(2, 5 * c + s, 2 * s);
  h.write(2, 9 * c + 3584, 1024);
  h.write(2, 20 * c, 8 * c);
  h.write(2, 100 * c, c);
  h.write(2, 130 * c + 2 * s, s);
  h.flush();
  h.fill_journal_until_checkpoint();
  h.snapshot();
  // After the checkpoint: commit groups the replay needs.
  h.write(3, 2 * c, 2 * c);
  h.write(3, 5 * c + 4 * s, s);
  h.flush();
  h.write(3, 21 * c, s);
  h.write(3, 40 * c, 4 * c);
  h.discard(22 * c, c);
  h.flush();
  h.write(4, 101 * c, c);
  h.write(4, 60 * c + 3 * s, 2 * s);
  h.write(4, 10 * c, s);
  h.flush();
}

Bytes read_volume(Volume& volume) {
  Bytes bytes(volume.size_bytes());
  check(volume.read(0, bytes), "read " + volume.name());
  return bytes;
}

std::string hex(const std::byte* data, std::size_t length) {
  static const char digits[] = "0123456789abcdef";
  std::string text;
  for (std::size_t i = 0; i < length; ++i) {
    const auto b = static_cast<unsigned>(data[i]);
    text += digits[b >> 4];
    text += digits[b & 15];
  }
  return text;
}

std::string hash_text(const Bytes& bytes) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(bytes.data(), bytes.size())));
  return text;
}

nlohmann::ordered_json describe_volume(const std::string& name, const Bytes& bytes) {
  nlohmann::ordered_json volume;
  volume["volume"] = name;
  volume["xxh3_64"] = hash_text(bytes);
  nlohmann::ordered_json spots = nlohmann::ordered_json::array();
  for (std::uint64_t offset : kSpotOffsets)
    spots.push_back({{"offset", offset}, {"bytes", hex(bytes.data() + offset, 16)}});
  volume["spot_checks"] = spots;
  return volume;
}

std::unique_ptr<MemoryVolume> memory(const std::string& name, std::uint64_t size,
                                     const Uuid& uuid) {
  auto volume = MemoryVolume::create({.name = name, .size_bytes = size, .uuid = uuid});
  check(volume.status(), "memory volume " + name);
  return std::move(volume).value();
}

// A fresh volume holding `image`.
std::unique_ptr<MemoryVolume> loaded(const std::string& name, const Bytes& image,
                                     const Uuid& uuid) {
  auto volume = memory(name, image.size(), uuid);
  check(volume->write(0, image), "load " + name);
  return volume;
}

void write_file(const std::filesystem::path& path, const Bytes& image) {
  Bytes compressed(ZSTD_compressBound(image.size()));
  const std::size_t size =
      ZSTD_compress(compressed.data(), compressed.size(), image.data(), image.size(), kZstdLevel);
  if (ZSTD_isError(size))
    die(path.string() + ": " + ZSTD_getErrorName(size));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(compressed.data()), static_cast<std::streamsize>(size));
  if (!out.good())
    die("cannot write " + path.string());
}

nlohmann::ordered_json make_case(const Case& test_case, const std::filesystem::path& directory) {
  const std::string name = test_case.name;
  const Uuid origin_uuid = Uuid::from_name("freezeframe-format-v1-" + name + "-origin");
  const Uuid diff_uuid = Uuid::from_name("freezeframe-format-v1-" + name + "-diff");
  auto origin = memory("origin", kOriginBytes, origin_uuid);
  auto diff = memory("diff", kDiffBytes, diff_uuid);
  sim::SimClock clock;
  Random random(test_case.seed);

  ProviderOptions options;
  options.chunk_bytes = kChunkBytes;
  options.limit = DiffAreaLimit::unbounded();
  options.snapshots_max = 8;
  options.compress = test_case.compress;
  options.usage_warning_fraction = 0;  // any event is the overflow policy's
  options.clock = &clock;
  options.random = &random;
  auto created = SnapshotProvider::create(test_case.kind, *origin, *diff, options);
  check(created.status(), name + ": create");
  std::unique_ptr<SnapshotProvider> provider = std::move(created).value();
  History history(*provider, clock);
  run_history(history);
  if (!provider->events().empty())
    die(name + ": the overflow policy acted; give the diff volume more slots");
  const ProviderStats stats = provider->stats();
  provider.reset();

  const Bytes origin_image = read_volume(*origin);
  const Bytes diff_image = read_volume(*diff);

  // Read everything back through a provider opened on copies of the images, and check it
  // against the model; the images must not change.
  auto origin_copy = loaded("origin", origin_image, origin_uuid);
  auto diff_copy = loaded("diff", diff_image, diff_uuid);
  auto opened = SnapshotProvider::open(*origin_copy, *diff_copy, {.clock = &clock});
  check(opened.status(), name + ": reopen");
  provider = std::move(opened).value();
  nlohmann::ordered_json volumes = nlohmann::ordered_json::array();
  const Bytes live = read_volume(*provider);
  if (live != history.live())
    die(name + ": the live volume does not read back as written");
  volumes.push_back(describe_volume("live", live));
  nlohmann::ordered_json snapshot_ids = nlohmann::ordered_json::array();
  if (provider->snapshots().size() != history.ids().size())
    die(name + ": snapshots missing after reopen");
  for (std::size_t i = 0; i < history.ids().size(); ++i) {
    auto snapshot = provider->open_snapshot(history.ids()[i]);
    check(snapshot.status(), name + ": open snapshot");
    const Bytes image = read_volume(*snapshot.value());
    if (image != history.images()[i])
      die(name + ": snapshot " + std::to_string(i + 1) + " does not read as at its creation");
    nlohmann::ordered_json described = describe_volume("snapshot" + std::to_string(i + 1), image);
    described["id"] = history.ids()[i].to_string();
    volumes.push_back(described);
    snapshot_ids.push_back(history.ids()[i].to_string());
  }
  provider.reset();
  if (read_volume(*origin_copy) != origin_image || read_volume(*diff_copy) != diff_image)
    die(name + ": opening the images changed them");

  std::uint32_t version = 0;
  std::memcpy(&version, diff_image.data() + 8, 4);
  if (version != format::kFormatVersion || version != 1)
    die(name + ": the diff image is not of format version 1");

  write_file(directory / (name + ".origin.zst"), origin_image);
  write_file(directory / (name + ".diff.zst"), diff_image);

  nlohmann::ordered_json entry;
  entry["name"] = name;
  entry["provider"] = std::string(provider_kind_name(test_case.kind));
  entry["chunk_bytes"] = kChunkBytes;
  entry["compress"] = test_case.compress;
  entry["format_version"] = version;
  entry["origin_file"] = name + ".origin.zst";
  entry["diff_file"] = name + ".diff.zst";
  entry["origin_bytes"] = kOriginBytes;
  entry["diff_bytes"] = kDiffBytes;
  entry["sector_bytes"] = kSector;
  entry["origin_uuid"] = origin_uuid.to_string();
  entry["origin_xxh3_64"] = hash_text(origin_image);
  entry["diff_xxh3_64"] = hash_text(diff_image);
  entry["journal_commits"] = stats.metadata_commits;
  entry["journal_checkpoints"] = stats.checkpoints;
  entry["snapshots"] = snapshot_ids;
  entry["volumes"] = volumes;
  return entry;
}

}  // namespace
}  // namespace freezeframe

int main(int argc, char** argv) {
  using namespace freezeframe;
  if (argc != 2) {
    std::cerr << "usage: make_format_v1_fixtures OUTPUT_DIRECTORY\n";
    return 2;
  }
  const std::filesystem::path directory = argv[1];
  nlohmann::ordered_json manifest;
  manifest["description"] =
      "Diff areas of format version 1 and what every volume reads back as; written by "
      "make_fixtures.cpp, checked by tests/engine/format_upgrade_test.cpp.";
  manifest["format_version"] = 1;
  nlohmann::ordered_json cases = nlohmann::ordered_json::array();
  for (const Case& test_case : kCases)
    cases.push_back(make_case(test_case, directory));
  manifest["cases"] = cases;
  // One line per spot check keeps the manifest short and readable.
  const std::regex spot(R"(\{\s+"offset": (\d+),\s+"bytes": ("[0-9a-f]+")\s+\})");
  std::ofstream out(directory / "manifest.json", std::ios::trunc);
  out << std::regex_replace(manifest.dump(2), spot, R"({"offset": $1, "bytes": $2})") << "\n";
  if (!out.good())
    die("cannot write the manifest");
  return 0;
}

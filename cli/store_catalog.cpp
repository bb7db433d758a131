// The store's catalog: reading it (every entry checked, a bad one damaging only its volume),
// writing it crash-safely, and the rules for volume names.
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "output.h"
#include "parse.h"
#include "store.h"
#include "store_detail.h"

namespace freezeframe::cli {
namespace {

using nlohmann::json;
using namespace store_detail;  // NOLINT(google-build-using-namespace)
namespace fs = std::filesystem;

constexpr std::string_view kCatalogFormat = "freezeframe-store-catalog";
// 2: volume and diff-area UUIDs, exposures as absolute paths with their file's identity, and a
// checksum in every volume and exposure entry.
constexpr int kCatalogVersion = 2;
constexpr std::size_t kVolumeNameBytesMax = 255;

json limit_to_json(const DiffAreaLimit& limit) {
  switch (limit.kind) {
    case DiffAreaLimit::Kind::kBytes:
      return {{"kind", "bytes"}, {"value", limit.value}};
    case DiffAreaLimit::Kind::kPercentOfOrigin:
      return {{"kind", "percent"}, {"value", limit.value}};
    case DiffAreaLimit::Kind::kUnbounded:
      break;
  }
  return {{"kind", "unbounded"}, {"value", 0}};
}

// The JSON value at `key` as an unsigned integer; a negative, fractional or missing value is
// refused (nlohmann would convert -1 to 2^64 - 1).
std::uint64_t unsigned_field(const json& j, const char* key) {
  const json& value = j.at(key);
  if (!value.is_number_unsigned())
    throw std::invalid_argument(std::string(key) + " must be a non-negative integer, not " +
                                value.dump());
  return value.get<std::uint64_t>();
}

DiffAreaLimit limit_from_json(const json& j) {
  std::string kind = j.at("kind").get<std::string>();
  std::uint64_t value = unsigned_field(j, "value");
  if (kind == "bytes")
    return DiffAreaLimit::bytes(value);
  if (kind == "percent")
    return DiffAreaLimit::percent_of_origin(value);
  if (kind == "unbounded")
    return DiffAreaLimit::unbounded();
  throw std::invalid_argument("maxsize.kind '" + kind + "' is unknown");
}

// XXH3-64 of the entry's canonical text without its "checksum" member (nlohmann keeps object
// members sorted, so the text does not depend on how the file was formatted).
std::string entry_checksum(const json& entry) {
  json copy = entry;
  copy.erase("checksum");
  std::string text = copy.dump();
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(text.data(), text.size())));
  return hex;
}

json with_checksum(json entry) {
  entry["checksum"] = entry_checksum(entry);
  return entry;
}

// Throws naming the problem when an entry's checksum is wrong, or missing from a version-2
// catalog. A checksum is checked whenever it is there, so a damaged version number cannot
// turn the checks off.
void check_checksum(const json& entry, std::int64_t version) {
  if (!entry.contains("checksum")) {
    if (version < 2)
      return;  // written before entries carried checksums
    throw std::invalid_argument("it has no checksum");
  }
  if (!entry.at("checksum").is_string())
    throw std::invalid_argument("its checksum is not a string");
  std::string expected = entry_checksum(entry);
  if (entry.at("checksum").get<std::string>() != expected)
    throw std::invalid_argument("its checksum " + entry.at("checksum").dump() +
                                " does not match its content (" + expected +
                                "): the entry was damaged");
}

Uuid uuid_field(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null())
    return Uuid();
  auto parsed = Uuid::parse(j.at(key).get<std::string>());
  if (!parsed.ok())
    throw std::invalid_argument(std::string(key) + ": " + parsed.status().message());
  return *parsed;
}

std::optional<std::vector<char32_t>> decode_utf8(std::string_view text) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < text.size();) {
    auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = byte < 0x80           ? 1
                         : (byte >> 5) == 0x6  ? 2
                         : (byte >> 4) == 0xe  ? 3
                         : (byte >> 3) == 0x1e ? 4
                                               : 0;
    if (length == 0 || i + length > text.size())
      return std::nullopt;
    char32_t point = length == 1 ? byte : byte & (0x7f >> length);
    for (std::size_t k = 1; k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80)
        return std::nullopt;
      point = (point << 6) | (next & 0x3f);
    }
    const char32_t shortest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (point < shortest[length] || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff))
      return std::nullopt;
    out.push_back(point);
    i += length;
  }
  return out;
}

}  // namespace

Status validate_utf8_path(const std::filesystem::path& path) {
  if (!decode_utf8(path.string()))
    return invalid_argument("path '" + path.string() +
                            "' is not valid UTF-8; the store records paths as UTF-8 text");
  return Status();
}

Status validate_volume_name(std::string_view name) {
  if (name.empty())
    return invalid_argument("a volume name cannot be empty");
  auto points = decode_utf8(name);
  if (!points)
    return invalid_argument("volume name '" + std::string(name) + "' is not valid UTF-8");
  for (char32_t point : *points) {
    // C1 controls, and the bidirectional overrides that make a name display as another.
    bool hidden = (point >= 0x80 && point <= 0x9f) || (point >= 0x202a && point <= 0x202e) ||
                  (point >= 0x2066 && point <= 0x2069);
    if (hidden)
      return invalid_argument(
          "volume name '" + std::string(name) + "' contains an invisible control character (U+" +
          std::to_string(static_cast<unsigned>(point)) + " decimal); names must be printable");
  }
  if (name.size() > kVolumeNameBytesMax)
    return invalid_argument("volume name of " + std::to_string(name.size()) +
                            " bytes is longer than the maximum of " +
                            std::to_string(kVolumeNameBytesMax));
  bool blank = true;
  for (char c : name) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f)
      return invalid_argument("volume name '" + std::string(name) +
                              "' contains a control character (code " + std::to_string(byte) +
                              "); names must be printable");
    if (c == ',' || c == '/')
      return invalid_argument("volume name '" + std::string(name) + "' contains '" +
                              std::string(1, c) +
                              "', which the command syntax uses (',' separates names, '/' "
                              "paths)");
    if (c != ' ')
      blank = false;
  }
  if (blank)
    return invalid_argument("a volume name cannot be blank");
  return Status();
}

Status Store::load() {
  fs::path path = dir_ / "catalog.json";
  std::error_code error;
  bool exists = fs::exists(path, error);
  if (error)
    return io_error("cannot examine catalog '" + path.string() + "': " + error.message());
  if (!exists)
    return Status();
  FF_ASSIGN_OR_RETURN(std::string text, read_file(path));
  json j;
  std::int64_t version = 0;
  try {
    j = json::parse(text);
    if (!j.is_object() || j.at("format").get<std::string>() != kCatalogFormat)
      return corrupt("catalog '" + path.string() + "': not a freezeframe store catalog");
    const json& version_field = j.at("version");
    if (!version_field.is_number_integer() || version_field.get<std::int64_t>() < 1)
      return corrupt("catalog '" + path.string() + "': version " + version_field.dump() +
                     " is not a format version");
    version = version_field.get<std::int64_t>();
    if (version > kCatalogVersion)
      return Status(ErrorCode::kUnsupportedVersion,
                    "catalog '" + path.string() + "' has format version " +
                        std::to_string(version) + "; this freezeframe reads up to " +
                        std::to_string(kCatalogVersion));
    if (!j.at("volumes").is_array() || !j.at("exposures").is_array())
      return corrupt("catalog '" + path.string() + "': volumes and exposures must be arrays");
  } catch (const std::exception& e) {
    return corrupt("catalog '" + path.string() + "' is malformed: " + e.what());
  }
  std::set<std::string> names;
  std::size_t index = 0;
  for (const json& v : j.at("volumes")) {
    VolumeEntry entry;
    ++index;
    try {
      entry.name = v.at("name").get<std::string>();
    } catch (const std::exception&) {
      // Without a name the entry cannot even be reported; it is kept under a made-up one
      // so that it is listed as damaged and can be removed.
      entry.name = "#" + std::to_string(index) + " (unnamed)";
    }
    if (!names.insert(to_lower(entry.name)).second)
      entry.name += " #" + std::to_string(index);
    // Anything wrong with the rest of the entry damages this volume only.
    auto damage = [&](const std::string& why) {
      entry.damage = "catalog entry: " + why;
      entry.catalog_damaged = true;
      entry.damaged_part = VolumeEntry::Damage::kCatalog;
      entry.damage_code = ErrorCode::kCorrupt;
      entry.raw_entry = v.dump();
      entry.storage.reset();  // nothing it records is used
    };
    try {
      check_checksum(v, version);
      if (Status s = validate_volume_name(entry.name); !s.ok())
        throw std::invalid_argument(s.message());
      entry.image = v.at("image").get<std::string>();
      entry.owned = v.at("owned").get<bool>();
      entry.uuid = uuid_field(v, "uuid");
      entry.size_bytes = unsigned_field(v, "size_bytes");
      std::uint64_t sector = unsigned_field(v, "sector_bytes");
      if (sector != 512 && sector != 4096)
        throw std::invalid_argument("sector_bytes " + std::to_string(sector) +
                                    " is not 512 or 4096");
      entry.sector_bytes = static_cast<std::uint32_t>(sector);
      if (entry.size_bytes == 0 || entry.size_bytes % entry.sector_bytes != 0)
        throw std::invalid_argument("size_bytes " + std::to_string(entry.size_bytes) +
                                    " is not a non-zero multiple of the sector size");
      auto kind = parse_provider_kind(v.at("provider").get<std::string>());
      if (!kind.ok())
        throw std::invalid_argument(kind.status().message());
      entry.provider = *kind;
      if (entry.owned && !plain_store_path(entry.image, kVolumesDir))
        throw std::invalid_argument("image '" + entry.image +
                                    "' of a volume the store created must be a path under "
                                    "volumes/ inside the store");
      if (!entry.owned && !fs::path(entry.image).is_absolute())
        throw std::invalid_argument("attached image '" + entry.image +
                                    "' must be an absolute path");
      if (v.contains("storage") && !v.at("storage").is_null()) {
        const json& s = v.at("storage");
        ShadowStorage storage{s.at("on").get<std::string>(), s.at("diff_image").get<std::string>(),
                              uuid_field(s, "diff_uuid"), limit_from_json(s.at("maxsize"))};
        if (!plain_store_path(storage.diff_image, kDiffDir))
          throw std::invalid_argument("diff image '" + storage.diff_image +
                                      "' must be a path under diff/ inside the store");
        entry.storage = std::move(storage);
      }
    } catch (const std::exception& e) {
      damage(e.what());
    }
    catalog_.volumes.push_back(std::move(entry));
  }
  if (j.contains("pending")) {
    for (const json& p : j.at("pending")) {
      if (p.is_string() && (plain_store_path(p.get<std::string>(), kVolumesDir) ||
                            plain_store_path(p.get<std::string>(), kDiffDir)))
        catalog_.pending.push_back(p.get<std::string>());
      else
        notice("catalog '" + path.string() + "': pending entry " + p.dump() +
               " is not an image path of the store; ignored");
    }
  }
  for (const json& e : j.at("exposures")) {
    try {
      auto id = Uuid::parse(e.at("shadow").get<std::string>());
      if (!id.ok())
        throw std::invalid_argument(id.status().message());
      Exposure exposure{*id, e.at("path").get<std::string>(), std::nullopt};
      if (Status s =
              [&] {
                try {
                  check_checksum(e, version);
                } catch (const std::exception& bad) {
                  return corrupt(bad.what());
                }
                return Status();
              }();
          !s.ok()) {
        // Which file it names is not to be trusted: it is kept, but never unlinked.
        catalog_.damaged_exposures.push_back("exposure '" + exposure.path + "': " + s.message() +
                                             "; its file will not be deleted");
        notice("exposure '" + exposure.path + "' in catalog '" + path.string() +
               "': " + s.message() + "; its file will not be deleted");
        catalog_.exposures.push_back(std::move(exposure));
        continue;
      }
      if (e.contains("file") && !e.at("file").is_null()) {
        const json& f = e.at("file");
        if (!f.at("modified_ns").is_number_integer())
          throw std::invalid_argument("file.modified_ns must be an integer");
        exposure.file = ExposedFile{{unsigned_field(f, "device"), unsigned_field(f, "inode")},
                                    unsigned_field(f, "size_bytes"),
                                    f.at("modified_ns").get<std::int64_t>()};
      }
      if (!fs::path(exposure.path).is_absolute()) {
        // Written relative to some earlier working directory: which file it named is unknown,
        // so it is never unlinked.
        exposure.file.reset();
      }
      catalog_.exposures.push_back(std::move(exposure));
    } catch (const std::exception& ex) {
      // Unreadable: dropped from the catalog at the next save, and nothing is deleted for it.
      catalog_.damaged_exposures.push_back(
          std::string("an exposure is malformed and is ignored: ") + ex.what());
      notice("catalog '" + path.string() +
             "': an exposure is malformed and is ignored: " + ex.what());
    }
  }
  return Status();
}

Status Store::save() {
  FF_TRY(check_writable());
  if (lock_)
    FF_TRY(lock_->verify_directory());
  std::string text;
  try {
    text = catalog_text();
  } catch (const std::exception& e) {
    return invalid_argument("cannot write the catalog of '" + dir_.string() + "': " + e.what());
  }
  Status saved = replace_file(dir_ / "catalog.json", text);
  if (saved.code() != ErrorCode::kNoSpace)
    return saved;
  // A full file system: the reserve gives its space to this save (see "Full file system").
  if (!release_reserved_space(dir_ / kReserveFile).ok())
    return saved;
  saved = replace_file(dir_ / "catalog.json", text);
  keep_reserve();
  return saved;
}

void Store::keep_reserve() {
  const fs::path path = dir_ / kReserveFile;
  std::error_code error;
  if (fs::is_regular_file(fs::symlink_status(path, error)) &&
      fs::file_size(path, error) == kReserveBytes && !error)
    return;
  if (Status reserved = reserve_space(path, kReserveBytes); !reserved.ok()) {
    // What a failed reservation took goes back: the command needs it more.
    (void)release_reserved_space(path);
  }
}

std::string Store::catalog_text() const {
  json volumes = json::array();
  for (const VolumeEntry& entry : catalog_.volumes) {
    if (entry.catalog_damaged) {
      volumes.push_back(json::parse(entry.raw_entry));  // kept as it was, never used
      continue;
    }
    json v = {{"name", entry.name},
              {"image", entry.image},
              {"owned", entry.owned},
              {"uuid", entry.uuid.is_nil() ? json(nullptr) : json(entry.uuid.to_string())},
              {"size_bytes", entry.size_bytes},
              {"sector_bytes", entry.sector_bytes},
              {"provider", provider_kind_name(entry.provider)},
              {"storage", nullptr}};
    if (entry.storage)
      v["storage"] = {{"on", entry.storage->on},
                      {"diff_image", entry.storage->diff_image},
                      {"diff_uuid", entry.storage->diff_uuid.is_nil()
                                        ? json(nullptr)
                                        : json(entry.storage->diff_uuid.to_string())},
                      {"maxsize", limit_to_json(entry.storage->limit)}};
    volumes.push_back(with_checksum(std::move(v)));
  }
  json exposures = json::array();
  for (const Exposure& exposure : catalog_.exposures) {
    json e = {{"shadow", exposure.shadow.to_string()}, {"path", exposure.path}, {"file", nullptr}};
    if (exposure.file)
      e["file"] = {{"device", exposure.file->id.device},
                   {"inode", exposure.file->id.inode},
                   {"size_bytes", exposure.file->size_bytes},
                   {"modified_ns", exposure.file->modified_ns}};
    exposures.push_back(with_checksum(std::move(e)));
  }
  json j = {{"format", kCatalogFormat},
            {"version", kCatalogVersion},
            {"volumes", std::move(volumes)},
            {"exposures", std::move(exposures)},
            {"pending", catalog_.pending}};
  return j.dump(2) + "\n";
}

}  // namespace freezeframe::cli

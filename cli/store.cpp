#include "store.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "output.h"
#include "parse.h"

namespace freezeframe::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::string_view kCatalogFormat = "freezeframe-store-catalog";
// 2: volume and diff-area UUIDs, exposures as absolute paths with their file's identity, and a
// checksum in every volume and exposure entry.
constexpr int kCatalogVersion = 2;
constexpr std::uint32_t kChunkBytes = 16 * 1024;
constexpr std::size_t kVolumeNameBytesMax = 255;
constexpr char kVolumesDir[] = "volumes";
constexpr char kDiffDir[] = "diff";

std::string safe_file_name(std::string_view name) {
  std::string out;
  for (char c : name) {
    bool plain = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    out += plain ? c : '_';
  }
  if (out.size() > 40)
    out.resize(40);
  return out;
}

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

std::string strip_volume_suffix(std::string_view name) {
  std::string out(name);
  while (out.size() > 1 && (out.back() == '\\' || out.back() == '/'))
    out.pop_back();
  return out;
}

// `relative` is a plain relative path whose first component is `subdir` and which has no
// "." or ".." component: it cannot name anything outside DIR/subdir without a symbolic link.
bool plain_store_path(const std::string& relative, std::string_view subdir) {
  fs::path path(relative);
  if (relative.empty() || path.is_absolute() || path.has_root_name())
    return false;
  auto it = path.begin();
  if (it == path.end() || *it != subdir)
    return false;
  std::size_t parts = 0;
  for (const fs::path& part : path) {
    if (part == ".." || part == "." || part.empty())
      return false;
    ++parts;
  }
  return parts >= 2;
}

// `path` resolved through symbolic links stays inside `root` (both canonical where they exist).
bool resolves_inside(const fs::path& path, const fs::path& root) {
  std::error_code error;
  fs::path real = fs::weakly_canonical(path, error);
  if (error)
    return false;
  fs::path base = fs::weakly_canonical(root, error);
  if (error)
    return false;
  auto [root_end, ignored] = std::mismatch(base.begin(), base.end(), real.begin(), real.end());
  return root_end == base.end();
}

// What is at `path` now, or nullopt if nothing (or it cannot be examined).
std::optional<ExposedFile> exposed_file_at(const fs::path& path) {
  auto id = FileVolume::file_id(path.string());
  if (!id.ok())
    return std::nullopt;
  std::error_code error;
  std::uint64_t size = fs::file_size(path, error);
  if (error)
    return std::nullopt;
  auto modified = fs::last_write_time(path, error);
  if (error)
    return std::nullopt;
  return ExposedFile{
      *id, size,
      std::chrono::duration_cast<std::chrono::nanoseconds>(modified.time_since_epoch()).count()};
}

bool is_image_name(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".img") == 0;
}

// The code points of `text` if it is valid UTF-8 (shortest forms, no surrogates).
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

std::uint64_t diff_image_bytes(std::uint64_t origin_bytes, const DiffAreaLimit& limit) {
  std::uint64_t data = std::max<std::uint64_t>(4 * origin_bytes, limit.resolve(origin_bytes));
  if (limit.kind == DiffAreaLimit::Kind::kUnbounded)
    data = 4 * origin_bytes;
  data = std::max<std::uint64_t>(data, 16 * kChunkBytes);
  std::uint64_t slots = data / kChunkBytes;
  std::uint64_t checkpoint_blocks = (slots * 22 + 512 * 57 + 64) / 3990 + 1;
  std::uint64_t area_blocks = std::max<std::uint64_t>(128, 2 * checkpoint_blocks + 64);
  std::uint64_t metadata = 4096 + 2 * area_blocks * 4096 + kChunkBytes;
  std::uint64_t total = data + metadata;
  return (total + kChunkBytes - 1) / kChunkBytes * kChunkBytes;
}

fs::path Store::resolve_dir(const std::optional<std::string>& flag) {
  if (flag)
    return *flag;
  if (const char* env = std::getenv("FREEZEFRAME_STORE"); env != nullptr && *env != '\0')
    return env;
  return ".freezeframe";
}

Result<std::unique_ptr<Store>> Store::open(const fs::path& given, const StoreOpenOptions& options) {
  std::error_code error;
  fs::path dir = fs::absolute(given, error);
  if (error)
    return io_error("cannot resolve store directory '" + given.string() + "': " + error.message());
  if (options.access == StoreAccess::kRead && !fs::exists(dir, error)) {
    // Nothing to read, and a reading command creates nothing.
    return std::unique_ptr<Store>(new Store(dir, options.access, std::nullopt, options.notices));
  }
  if (options.access == StoreAccess::kWrite) {
    fs::create_directories(dir / kVolumesDir, error);
    if (!error)
      fs::create_directories(dir / kDiffDir, error);
    if (error)
      return io_error("cannot create store directory '" + dir.string() + "': " + error.message());
  }
  StoreLockOptions lock_options;
  lock_options.mode =
      options.access == StoreAccess::kRead ? LockMode::kShared : LockMode::kExclusive;
  lock_options.wait = options.wait;
  lock_options.on_wait = options.on_wait;
  FF_ASSIGN_OR_RETURN(StoreLock lock, StoreLock::acquire(dir, lock_options));
  std::unique_ptr<Store> store(new Store(dir, options.access, std::move(lock), options.notices));
  FF_TRY(store->load());
  if (options.access == StoreAccess::kWrite) {
    fs::remove(dir / "catalog.json.tmp", error);  // a save a crash interrupted; ours
    // Housekeeping: a failure here must not stop the command the user asked for.
    auto released = store->release_orphans();
    if (!released.ok())
      store->notice(
          "could not release auto-release shadow copies left by a command that did "
          "not finish: " +
          released.status().message());
    else if (*released > 0)
      store->notice("released " + std::to_string(*released) +
                    " auto-release shadow copies left by a command that did not finish");
  }
  store->handle_pending();
  return store;
}

Store::~Store() {
  // Close providers before the volumes beneath them (members of OpenVolume do that), and
  // flush nothing more: every command flushes what it wrote.
  open_.clear();
}

void Store::notice(const std::string& text) {
  if (notices_ != nullptr)
    *notices_ << "freezeframe: note: " << text << "\n";
}

Status Store::check_writable() const {
  if (access_ != StoreAccess::kWrite)
    return Status(ErrorCode::kReadOnly,
                  "store '" + dir_.string() + "' is open for reading only; this is a bug");
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
  return replace_file(dir_ / "catalog.json", text);
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

VolumeEntry* Store::find_volume(std::string_view name) {
  std::string wanted = strip_volume_suffix(name);
  for (VolumeEntry& entry : catalog_.volumes)
    if (entry.name == wanted)
      return &entry;
  VolumeEntry* match = nullptr;
  for (VolumeEntry& entry : catalog_.volumes) {
    if (equals_ignore_case(entry.name, wanted)) {
      if (match != nullptr)
        return nullptr;  // ambiguous: names differ only in case
      match = &entry;
    }
  }
  return match;
}

Result<VolumeEntry*> Store::volume(std::string_view name) {
  VolumeEntry* entry = find_volume(name);
  if (entry == nullptr)
    return not_found("volume '" + std::string(name) + "' is not in the store '" + dir_.string() +
                     "' (see 'freezeframe volume list')");
  return entry;
}

Result<fs::path> Store::image_path(const VolumeEntry& entry) const {
  if (entry.catalog_damaged)
    return corrupt("volume '" + entry.name + "' is damaged: " + entry.damage);
  if (!entry.owned)
    return fs::path(entry.image);
  fs::path path = dir_ / entry.image;
  if (!resolves_inside(path, dir_ / kVolumesDir))
    return corrupt("volume '" + entry.name + "': image '" + entry.image +
                   "' resolves outside the store's volumes/ directory");
  return path;
}

Result<fs::path> Store::diff_path(const VolumeEntry& entry) const {
  if (entry.catalog_damaged)
    return corrupt("volume '" + entry.name + "' is damaged: " + entry.damage);
  if (!entry.storage)
    return not_found("volume '" + entry.name + "' has no shadow storage");
  fs::path path = dir_ / entry.storage->diff_image;
  if (!resolves_inside(path, dir_ / kDiffDir))
    return corrupt("volume '" + entry.name + "': diff image '" + entry.storage->diff_image +
                   "' resolves outside the store's diff/ directory");
  return path;
}

Result<OpenVolume*> Store::open_volume(std::string_view name) {
  FF_ASSIGN_OR_RETURN(VolumeEntry * entry, volume(name));
  return open_volume(*entry);
}

Result<OpenVolume*> Store::open_volume(VolumeEntry& entry) {
  if (auto it = open_.find(entry.name); it != open_.end())
    return it->second.get();
  if (!entry.damage.empty())
    return Status(entry.damage_code == ErrorCode::kOk ? ErrorCode::kCorrupt : entry.damage_code,
                  "volume '" + entry.name + "' is damaged: " + entry.damage);
  const bool read_only = access_ == StoreAccess::kRead;
  auto fail = [&](const Status& status, VolumeEntry::Damage part) -> Status {
    entry.damage =
        (part == VolumeEntry::Damage::kImage ? "image: " : "shadow storage: ") + status.message();
    entry.damaged_part = part;
    entry.damage_code = status.code();
    return Status(status.code(), "volume '" + entry.name + "' is damaged: " + entry.damage);
  };
  constexpr auto kImage = VolumeEntry::Damage::kImage;
  constexpr auto kDiffArea = VolumeEntry::Damage::kDiffArea;
  auto opened = std::make_unique<OpenVolume>();
  opened->entry = &entry;
  auto image = image_path(entry);
  if (!image.ok())
    return fail(image.status(), kImage);
  auto origin = FileVolume::open(image->string(), {.read_only = read_only,
                                                   .sector_bytes = entry.sector_bytes,
                                                   .name = entry.name,
                                                   .uuid = entry.uuid});
  if (!origin.ok())
    return fail(origin.status(), kImage);
  opened->origin = std::move(origin).value();
  if (opened->origin->size_bytes() != entry.size_bytes)
    return fail(
        corrupt("'" + image->string() + "' is " + std::to_string(opened->origin->size_bytes()) +
                " bytes, the catalog records " + std::to_string(entry.size_bytes)),
        kImage);
  bool learned = entry.uuid.is_nil();
  entry.uuid = opened->origin->uuid();
  if (entry.storage) {
    auto diff_file = diff_path(entry);
    if (!diff_file.ok())
      return fail(diff_file.status(), kDiffArea);
    auto diff = FileVolume::open(diff_file->string(), {.read_only = read_only,
                                                       .name = entry.name + " (diff area)",
                                                       .uuid = entry.storage->diff_uuid});
    if (!diff.ok())
      return fail(diff.status(), kDiffArea);
    opened->diff = std::move(diff).value();
    learned = learned || entry.storage->diff_uuid.is_nil();
    entry.storage->diff_uuid = opened->diff->uuid();
    auto provider = SnapshotProvider::open(*opened->origin, *opened->diff, {.name = entry.name});
    if (!provider.ok())
      return fail(provider.status(), kDiffArea);
    opened->provider = std::move(provider).value();
  }
  OpenVolume* result = opened.get();
  open_[entry.name] = std::move(opened);
  if (learned && access_ == StoreAccess::kWrite)
    FF_TRY(save());  // record identities a catalog of format version 1 did not have
  return result;
}

Result<std::unique_ptr<FileVolume>> Store::open_origin_read_only(VolumeEntry& entry) {
  FF_ASSIGN_OR_RETURN(fs::path image, image_path(entry));
  auto origin = FileVolume::open(image.string(), {.read_only = true,
                                                  .sector_bytes = entry.sector_bytes,
                                                  .name = entry.name,
                                                  .uuid = entry.uuid});
  if (!origin.ok())
    return origin.status().with_context("volume '" + entry.name + "'");
  return std::move(origin).value();
}

void Store::close_volume(const std::string& name) {
  open_.erase(name);
}

std::vector<VolumeEntry*> Store::check_volumes() {
  std::vector<VolumeEntry*> damaged;
  for (VolumeEntry& entry : catalog_.volumes) {
    if (!open_volume(entry).ok())
      damaged.push_back(&entry);
  }
  return damaged;
}

std::vector<std::pair<std::string, FileId>> Store::named_files() {
  std::vector<std::pair<std::string, FileId>> files;
  for (const VolumeEntry& entry : catalog_.volumes) {
    if (auto path = image_path(entry); path.ok()) {
      if (auto id = FileVolume::file_id(path->string()); id.ok())
        files.emplace_back("the image of volume '" + entry.name + "'", *id);
    }
    if (auto path = diff_path(entry); path.ok()) {
      if (auto id = FileVolume::file_id(path->string()); id.ok())
        files.emplace_back("the diff area of volume '" + entry.name + "'", *id);
    }
  }
  return files;
}

Status Store::check_output_path(const fs::path& given) {
  std::error_code error;
  fs::path path = fs::absolute(given, error);
  if (error)
    return invalid_argument("cannot resolve '" + given.string() + "': " + error.message());
  if (resolves_inside(path, dir_))
    return invalid_argument("'" + path.string() + "' is inside the store '" + dir_.string() +
                            "'; write it somewhere else");
  auto id = FileVolume::file_id(path.string());
  if (!id.ok())
    return Status();  // nothing there yet (or nothing the store knows)
  for (const auto& [what, other] : named_files())
    if (*id == other)
      return invalid_argument("'" + path.string() + "' is " + what +
                              "; writing it would destroy it");
  return Status();
}

Status Store::check_not_in_store(const std::string& name, const fs::path& image, const Uuid& uuid) {
  if (resolves_inside(image, dir_))
    return invalid_argument("'" + image.string() + "' is inside the store '" + dir_.string() +
                            "'; attach images from outside it (use 'volume create' for a "
                            "volume the store keeps)");
  auto id = FileVolume::file_id(image.string());
  if (id.ok()) {
    for (const auto& [what, other] : named_files())
      if (*id == other)
        return Status(ErrorCode::kAlreadyExists, "cannot attach '" + image.string() + "' as '" +
                                                     name + "': it is already " + what +
                                                     " (the same file)");
    for (const Exposure& exposure : catalog_.exposures)
      if (exposure.file && exposure.file->id == *id)
        return Status(ErrorCode::kAlreadyExists,
                      "cannot attach '" + image.string() + "' as '" + name +
                          "': it is the exposure of shadow copy " + exposure.shadow.to_string() +
                          ", which the store deletes with it (unexpose it first)");
  }
  for (const VolumeEntry& other : catalog_.volumes) {
    bool same_image = !other.uuid.is_nil() && other.uuid == uuid;
    bool same_diff =
        other.storage && !other.storage->diff_uuid.is_nil() && other.storage->diff_uuid == uuid;
    if (same_image || same_diff)
      return Status(ErrorCode::kAlreadyExists,
                    "cannot attach '" + image.string() + "' as '" + name +
                        "': it has the identity " + uuid.to_string() + " of " +
                        (same_image ? "volume '" + other.name + "'"
                                    : "the diff area of volume '" + other.name + "'") +
                        " (a copy of it); writing one would corrupt the other's shadow copies");
  }
  return Status();
}

Status Store::mark_pending(const std::string& relative) {
  catalog_.pending.push_back(relative);
  if (Status s = save(); !s.ok()) {
    catalog_.pending.pop_back();
    return s;
  }
  return Status();
}

Status Store::clear_pending(const std::string& relative) {
  auto it = std::find(catalog_.pending.begin(), catalog_.pending.end(), relative);
  if (it == catalog_.pending.end())
    return Status();
  catalog_.pending.erase(it);
  return save();
}

Status Store::remove_unnamed_image(const std::string& relative) {
  FF_TRY(remove_store_file(relative));
  return clear_pending(relative);
}

Status Store::create_volume(const std::string& name, std::uint64_t size_bytes,
                            std::uint32_t sector_bytes, ProviderKind kind) {
  FF_TRY(check_writable());
  FF_TRY(validate_volume_name(name));
  if (VolumeEntry* other = find_volume(name); other != nullptr)
    return Status(ErrorCode::kAlreadyExists, "volume '" + name + "' already exists in the store");
  for (const VolumeEntry& other : catalog_.volumes)
    if (equals_ignore_case(other.name, name))
      return Status(ErrorCode::kAlreadyExists, "volume '" + name + "' clashes with '" + other.name +
                                                   "' (names are case-insensitive)");
  Uuid uuid = Uuid::generate();
  std::string relative = std::string(kVolumesDir) + "/" + uuid.to_string() + ".img";
  // Recorded as pending first: a crash before the entry is saved leaves an image the next
  // writing command knows to remove.
  FF_TRY(mark_pending(relative));
  auto volume = FileVolume::create(
      (dir_ / relative).string(),
      {.size_bytes = size_bytes, .sector_bytes = sector_bytes, .name = name, .uuid = {}});
  if (!volume.ok()) {
    (void)clear_pending(relative);
    return volume.status().with_context("creating volume '" + name + "'");
  }
  Status synced = volume.value()->flush();
  VolumeEntry entry;
  entry.name = name;
  entry.image = relative;
  entry.owned = true;
  entry.uuid = volume.value()->uuid();
  entry.size_bytes = size_bytes;
  entry.sector_bytes = sector_bytes;
  entry.provider = kind;
  volume.value().reset();
  if (synced.ok())
    synced = sync_directory(dir_ / kVolumesDir);
  if (!synced.ok()) {
    (void)remove_unnamed_image(relative);
    return synced.with_context("creating volume '" + name + "'");
  }
  catalog_.volumes.push_back(std::move(entry));
  catalog_.pending.erase(std::find(catalog_.pending.begin(), catalog_.pending.end(), relative));
  if (Status s = save(); !s.ok()) {
    catalog_.volumes.pop_back();
    catalog_.pending.push_back(relative);
    (void)remove_unnamed_image(relative);
    return s;
  }
  return Status();
}

Status Store::attach_volume(const std::string& name, const std::string& image,
                            std::uint32_t sector_bytes, ProviderKind kind) {
  FF_TRY(check_writable());
  FF_TRY(validate_volume_name(name));
  if (find_volume(name) != nullptr)
    return Status(ErrorCode::kAlreadyExists, "volume '" + name + "' already exists in the store");
  for (const VolumeEntry& other : catalog_.volumes)
    if (equals_ignore_case(other.name, name))
      return Status(ErrorCode::kAlreadyExists, "volume '" + name + "' clashes with '" + other.name +
                                                   "' (names are case-insensitive)");
  std::error_code error;
  fs::path path = fs::absolute(image, error);
  if (error)
    return invalid_argument("cannot resolve image path '" + image + "': " + error.message());
  FF_TRY(validate_utf8_path(path));
  auto volume = FileVolume::open(path.string(), {.sector_bytes = sector_bytes, .name = name});
  if (!volume.ok())
    return volume.status().with_context("attaching volume '" + name + "'");
  FF_TRY(check_not_in_store(name, path, volume.value()->uuid()));
  VolumeEntry entry;
  entry.name = name;
  entry.image = path.string();
  entry.owned = false;
  entry.uuid = volume.value()->uuid();
  entry.size_bytes = volume.value()->size_bytes();
  entry.sector_bytes = sector_bytes;
  entry.provider = kind;
  volume.value().reset();
  catalog_.volumes.push_back(std::move(entry));
  if (Status s = save(); !s.ok()) {
    catalog_.volumes.pop_back();
    return s;
  }
  return Status();
}

Status Store::remove_volume(const std::string& name) {
  FF_TRY(check_writable());
  FF_ASSIGN_OR_RETURN(VolumeEntry * entry, volume(name));
  for (const VolumeEntry& other : catalog_.volumes)
    if (other.storage && other.name != entry->name && other.storage->on == entry->name)
      return Status(ErrorCode::kBadState, "volume '" + entry->name +
                                              "' holds the shadow storage of '" + other.name +
                                              "'; delete that shadow storage first");
  std::string entry_name = entry->name;
  if (entry->catalog_damaged) {
    // Its recorded paths are not trusted: forget the entry and delete nothing. The files it
    // meant are not pending, so no later command deletes them either.
    close_volume(entry_name);
    catalog_.volumes.remove_if([&](const VolumeEntry& e) { return e.name == entry_name; });
    FF_TRY(save());
    notice("volume '" + entry_name +
           "' had a damaged catalog entry; it was forgotten, and no file it may have named was "
           "deleted (images in volumes/ and diff/ that no entry names are left for you to "
           "inspect)");
    return Status();
  }
  if (entry->storage) {
    auto removed = delete_storage(*entry);
    if (!removed.ok())
      return removed.status();
  }
  std::string image = entry->image;
  bool owned = entry->owned;
  close_volume(entry_name);
  catalog_.volumes.remove_if([&](const VolumeEntry& e) { return e.name == entry_name; });
  if (owned)
    catalog_.pending.push_back(image);
  FF_TRY(save());
  if (owned)
    FF_TRY(remove_unnamed_image(image));
  return Status();
}

Status Store::remove_store_file(const std::string& relative) {
  bool plain = plain_store_path(relative, kVolumesDir) || plain_store_path(relative, kDiffDir);
  fs::path path = dir_ / relative;
  if (!plain || !resolves_inside(path, dir_))
    return corrupt("refusing to delete '" + relative + "': it is not a file of the store '" +
                   dir_.string() + "'");
  if (lock_)
    FF_TRY(lock_->verify_directory());
  std::error_code error;
  fs::remove(path, error);
  if (error)
    return io_error("cannot delete '" + path.string() + "': " + error.message());
  return sync_directory(path.parent_path());
}

Status Store::create_storage(VolumeEntry& entry, const std::string& on, const DiffAreaLimit& limit,
                             ProviderKind kind) {
  FF_TRY(check_writable());
  if (entry.storage)
    return Status(ErrorCode::kAlreadyExists,
                  "volume '" + entry.name + "' already has shadow storage on '" +
                      entry.storage->on + "' (use 'shadowstorage resize' to change it)");
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, open_volume(entry));
  std::string relative = std::string(kDiffDir) + "/" + safe_file_name(entry.name) + "-" +
                         opened->origin->uuid().to_string() + ".img";
  FF_TRY(mark_pending(relative));
  // Never over anything: a pending image of ours was removed when the store was opened, so
  // a file here is someone else's.
  auto diff = FileVolume::create((dir_ / relative).string(),
                                 {.size_bytes = diff_image_bytes(entry.size_bytes, limit),
                                  .sector_bytes = 512,
                                  .name = entry.name + " (diff area)",
                                  .uuid = {},
                                  .overwrite = false});
  if (!diff.ok()) {
    (void)clear_pending(relative);
    return diff.status().with_context("shadow storage of volume '" + entry.name + "'");
  }
  ProviderOptions options;
  options.chunk_bytes = kChunkBytes;
  options.limit = limit;
  options.name = entry.name;
  auto provider = SnapshotProvider::create(kind, *opened->origin, *diff.value(), options);
  Status status = provider.status();
  if (status.ok())
    status = sync_directory(dir_ / kDiffDir);
  auto undo = [&](const Status& why) {
    provider = Status(ErrorCode::kAborted, "dropped");
    diff.value().reset();
    (void)remove_unnamed_image(relative);
    return why;
  };
  if (!status.ok())
    return undo(status.with_context("shadow storage of volume '" + entry.name + "'"));
  entry.provider = kind;
  entry.storage = ShadowStorage{on, relative, diff.value()->uuid(), limit};
  catalog_.pending.erase(std::find(catalog_.pending.begin(), catalog_.pending.end(), relative));
  if (Status s = save(); !s.ok()) {
    entry.storage.reset();
    catalog_.pending.push_back(relative);
    return undo(s);
  }
  opened->diff = std::move(diff).value();
  opened->provider = std::move(provider).value();
  return Status();
}

Result<StorageRemoval> Store::delete_storage(VolumeEntry& entry, bool force) {
  FF_TRY(check_writable());
  if (!entry.storage)
    return not_found("volume '" + entry.name + "' has no shadow storage");
  StorageRemoval removal;
  removal.kind = entry.provider;
  auto opened = open_volume(entry);
  FF_ASSIGN_OR_RETURN(fs::path diff_file, diff_path(entry));
  removal.diff_image = diff_file.string();
  if (!opened.ok()) {
    if (entry.damaged_part != VolumeEntry::Damage::kDiffArea)
      return Status(opened.status().code(),
                    opened.status().message() +
                        "; its diff area is not known to be damaged and is kept (bring the "
                        "image back first)");
    if (!force)
      return Status(opened.status().code(),
                    opened.status().message() + "; 'shadowstorage delete --for " + entry.name +
                        " --force' removes the damaged diff area and every shadow copy in it");
    removal.damaged = true;
  } else {
    SnapshotProvider& provider = *(*opened)->provider;
    for (const SnapshotInfo& info : provider.snapshots()) {
      if (exposure_of(info.id))
        FF_TRY(unexpose(info.id).status());
      if (Status s = provider.delete_snapshot(info.id); !s.ok())
        return s.with_context("deleting shadow " + info.id.to_string());
      removal.shadows.push_back(info.id);
    }
    if (provider.kind() == ProviderKind::kRedirectOnWrite) {
      // The live data of a RoW volume partly lives in the diff area: fold it back first.
      FF_TRY(provider.consolidate());
      if (provider.usage().used_bytes != 0)
        return Status(ErrorCode::kBadState,
                      "volume '" + entry.name + "': " + format_bytes(provider.usage().used_bytes) +
                          " of live data still in the diff area after consolidation; "
                          "the shadow storage was kept");
    }
    FF_TRY(provider.flush());
  }
  std::string diff_image = entry.storage->diff_image;
  close_volume(entry.name);
  entry.storage.reset();
  entry.damage.clear();  // found again at the next open if it was not in the diff area
  entry.damaged_part = VolumeEntry::Damage::kNone;
  entry.damage_code = ErrorCode::kOk;
  catalog_.pending.push_back(diff_image);
  FF_TRY(save());
  FF_TRY(remove_unnamed_image(diff_image));
  if (removal.damaged)
    drop_stale_exposures();  // the lost shadow copies' ids are unknown
  return removal;
}

Status Store::resize_storage(VolumeEntry& entry, const DiffAreaLimit& limit) {
  FF_TRY(check_writable());
  if (!entry.storage)
    return not_found("volume '" + entry.name + "' has no shadow storage (use 'shadowstorage add')");
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, open_volume(entry));
  // Record the new limit first: if the catalog cannot be written, nothing is deleted.
  DiffAreaLimit old = entry.storage->limit;
  entry.storage->limit = limit;
  if (Status s = save(); !s.ok()) {
    entry.storage->limit = old;
    return s;
  }
  if (Status s = opened->provider->set_limit(limit); !s.ok()) {
    entry.storage->limit = old;
    (void)save();  // the diff area kept its old limit; so does the catalog where it can
    return s;
  }
  drop_stale_exposures();
  return Status();
}

Result<std::vector<ShadowRef>> Store::shadows() {
  std::vector<ShadowRef> out;
  for (VolumeEntry& entry : catalog_.volumes) {
    if (!entry.storage)
      continue;
    auto opened = open_volume(entry);
    if (!opened.ok())
      continue;  // damaged: reported by check_volumes(), never taking the others down
    for (SnapshotInfo& info : (*opened)->provider->snapshots())
      out.push_back({&entry, std::move(info)});
  }
  return out;
}

Result<ShadowRef> Store::find_shadow(const Uuid& id) {
  FF_ASSIGN_OR_RETURN(std::vector<ShadowRef> all, shadows());
  for (ShadowRef& shadow : all)
    if (shadow.info.id == id)
      return shadow;
  std::string damaged;
  for (const VolumeEntry& entry : catalog_.volumes)
    if (!entry.damage.empty())
      damaged += (damaged.empty() ? "" : ", ") + ("'" + entry.name + "'");
  return not_found("shadow copy " + id.to_string() + " does not exist (see 'shadow list')" +
                   (damaged.empty() ? std::string() : "; it may be on damaged volume " + damaged));
}

Result<ShadowRef> Store::find_shadow(std::string_view id_text) {
  auto id = Uuid::parse(id_text);
  if (!id.ok())
    return invalid_argument("'" + std::string(id_text) + "' is not a shadow copy id (a GUID)");
  return find_shadow(*id);
}

Status Store::delete_shadow(const ShadowRef& shadow) {
  FF_TRY(check_writable());
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, open_volume(*shadow.volume));
  // Unexposed first: if that fails, the shadow copy is still there and still exposed.
  if (exposure_of(shadow.info.id))
    FF_TRY(unexpose(shadow.info.id).status());
  if (Status s = opened->provider->delete_snapshot(shadow.info.id); !s.ok())
    return s.with_context("deleting shadow copy " + shadow.info.id.to_string() + " of volume '" +
                          shadow.volume->name + "'");
  return Status();
}

Result<std::size_t> Store::release_orphans() {
  if (access_ != StoreAccess::kWrite)
    return std::size_t{0};
  FF_ASSIGN_OR_RETURN(std::vector<ShadowRef> all, shadows());
  std::size_t released = 0;
  for (const ShadowRef& shadow : all) {
    if ((shadow.info.attributes & kAttrNoAutoRelease) != 0)
      continue;
    FF_TRY(delete_shadow(shadow));
    ++released;
  }
  return released;
}

std::optional<std::string> Store::exposure_of(const Uuid& shadow) const {
  for (const Exposure& exposure : catalog_.exposures)
    if (exposure.shadow == shadow)
      return exposure.path;
  return std::nullopt;
}

Status Store::expose(const ShadowRef& shadow, const fs::path& given) {
  FF_TRY(check_writable());
  std::error_code error;
  fs::path path = fs::absolute(given, error);
  if (error)
    return invalid_argument("cannot resolve '" + given.string() + "': " + error.message());
  FF_TRY(validate_utf8_path(path));
  if (auto exposed = exposure_of(shadow.info.id))
    return Status(ErrorCode::kAlreadyExists, "shadow copy " + shadow.info.id.to_string() +
                                                 " is already exposed as '" + *exposed + "'");
  for (const Exposure& e : catalog_.exposures)
    if (fs::path(e.path) == path)
      return Status(ErrorCode::kAlreadyExists,
                    "'" + path.string() + "' already exposes shadow copy " + e.shadow.to_string());
  FF_TRY(check_output_path(path));
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, open_volume(*shadow.volume));
  auto volume = opened->provider->open_snapshot(shadow.info.id);
  if (!volume.ok())
    return volume.status().with_context("shadow copy " + shadow.info.id.to_string());
  FF_ASSIGN_OR_RETURN(OutputFile file, OutputFile::create(path, /*exclusive=*/true));
  Status status = copy_volume_to(*volume.value(), 0, volume.value()->size_bytes(), file,
                                 "exposing " + shadow.info.id.to_string().substr(0, 8));
  std::optional<ExposedFile> written = exposed_file_at(path);
  if (status.ok() && !written)
    status = io_error("cannot examine '" + path.string() + "' after writing it");
  if (status.ok()) {
    catalog_.exposures.push_back({shadow.info.id, path.string(), written});
    status = save();
    if (!status.ok())
      catalog_.exposures.pop_back();
  }
  if (!status.ok()) {
    // The file is ours (created exclusively just now) and unrecorded: remove it.
    std::error_code ignored;
    if (written && exposed_file_at(path) == written)
      fs::remove(path, ignored);
    return status.with_context("exposing shadow copy " + shadow.info.id.to_string());
  }
  return Status();
}

Result<std::string> Store::unexpose(const Uuid& shadow) {
  FF_TRY(check_writable());
  auto it = std::find_if(catalog_.exposures.begin(), catalog_.exposures.end(),
                         [&](const Exposure& e) { return e.shadow == shadow; });
  if (it == catalog_.exposures.end())
    return not_found("shadow copy " + shadow.to_string() + " is not exposed");
  Exposure exposure = *it;
  catalog_.exposures.erase(it);
  FF_TRY(save());
  std::optional<ExposedFile> now = exposed_file_at(exposure.path);
  bool ours = exposure.file && now && *now == *exposure.file;
  if (ours) {
    for (const auto& [what, id] : named_files())
      if (id == now->id)
        ours = false;  // it became a volume's image since: never the export's to delete
  }
  if (!ours) {
    if (now)
      notice("'" + exposure.path + "' is no longer the file this store exposed there; it was " +
             "left in place");
    return exposure.path;
  }
  std::error_code error;
  fs::remove(exposure.path, error);
  if (error)
    return io_error("cannot delete exposure '" + exposure.path + "': " + error.message());
  (void)sync_directory(fs::path(exposure.path).parent_path());
  return exposure.path;
}

void Store::drop_stale_exposures() {
  if (access_ != StoreAccess::kWrite || catalog_.exposures.empty())
    return;
  std::set<Uuid> alive;
  for (VolumeEntry& entry : catalog_.volumes) {
    if (!entry.storage && !entry.catalog_damaged)
      continue;
    auto opened = open_volume(entry);
    if (!opened.ok())
      return;  // a damaged volume may hold them: decide nothing
    for (const SnapshotInfo& info : (*opened)->provider->snapshots())
      alive.insert(info.id);
  }
  std::vector<Uuid> stale;
  for (const Exposure& exposure : catalog_.exposures)
    if (alive.count(exposure.shadow) == 0)
      stale.push_back(exposure.shadow);
  for (const Uuid& id : stale) {
    auto path = unexpose(id);
    if (path.ok())
      notice("unexposed '" + *path + "': its shadow copy " + id.to_string() + " no longer exists");
  }
}

void Store::handle_pending() {
  std::set<fs::path> named;
  for (const VolumeEntry& entry : catalog_.volumes) {
    if (entry.catalog_damaged)
      continue;
    if (entry.owned)
      named.insert((dir_ / entry.image).lexically_normal());
    if (entry.storage)
      named.insert((dir_ / entry.storage->diff_image).lexically_normal());
  }
  const bool writing = access_ == StoreAccess::kWrite;
  std::vector<std::string> pending = catalog_.pending;
  for (const std::string& relative : pending) {
    fs::path path = (dir_ / relative).lexically_normal();
    std::error_code error;
    bool exists = fs::exists(fs::symlink_status(path, error));
    if (named.count(path) != 0 || !exists) {
      if (writing)
        (void)clear_pending(relative);  // finished, or never created
      continue;
    }
    if (!writing) {
      notice("image '" + relative +
             "' was left by a command that did not finish; the next writing command removes it");
      continue;
    }
    if (Status s = remove_unnamed_image(relative); s.ok())
      notice("removed image '" + relative + "', left by a command that did not finish");
    else
      notice("could not remove image '" + relative + "', left by a command that did not " +
             "finish: " + s.message());
  }
  // Images the catalog does not know at all: made by someone else, or named by a catalog that
  // was lost or damaged. Reported, never deleted.
  for (const char* subdir : {kVolumesDir, kDiffDir}) {
    std::error_code error;
    fs::directory_iterator it(dir_ / subdir, error);
    if (error)
      continue;
    for (const fs::directory_entry& file : it) {
      std::string name = file.path().filename().string();
      fs::path path = file.path().lexically_normal();
      std::string relative = std::string(subdir) + "/" + name;
      bool is_pending = std::find(catalog_.pending.begin(), catalog_.pending.end(), relative) !=
                        catalog_.pending.end();
      if (!is_image_name(name) || named.count(path) != 0 || is_pending)
        continue;
      notice("image '" + relative +
             "' is not named by the catalog; it is left alone (remove it by hand if it is not "
             "needed)");
    }
  }
  if (writing)
    drop_stale_exposures();
}

Status copy_volume_to(Volume& volume, std::uint64_t offset, std::uint64_t length, OutputFile& file,
                      const std::string& label) {
  constexpr std::uint64_t kCopyBytes = 1 << 20;
  std::uint64_t sector = volume.sector_bytes();
  std::uint64_t first = offset / sector * sector;
  std::uint64_t end = (offset + length + sector - 1) / sector * sector;
  Progress progress(label, end - first);
  std::vector<std::byte> buffer;
  for (std::uint64_t at = first; at < end;) {
    std::uint64_t piece = std::min<std::uint64_t>(kCopyBytes, end - at);
    buffer.resize(piece);
    FF_TRY(volume.read(at, buffer));
    std::uint64_t skip = at < offset ? offset - at : 0;
    std::uint64_t keep = std::min(piece, offset + length - at) - skip;
    FF_TRY(file.write(std::span<const std::byte>(buffer).subspan(skip, keep)));
    at += piece;
    progress.update(at - first);
  }
  FF_TRY(file.finish());
  progress.finish();
  return Status();
}

}  // namespace freezeframe::cli

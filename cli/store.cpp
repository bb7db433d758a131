#include "store.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <system_error>

#include "parse.h"

namespace freezeframe::cli {
namespace {

using nlohmann::json;

constexpr std::string_view kCatalogFormat = "freezeframe-store-catalog";
constexpr int kCatalogVersion = 1;
constexpr std::uint32_t kChunkBytes = 16 * 1024;

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

DiffAreaLimit limit_from_json(const json& j) {
  std::string kind = j.at("kind").get<std::string>();
  std::uint64_t value = j.at("value").get<std::uint64_t>();
  if (kind == "bytes")
    return DiffAreaLimit::bytes(value);
  if (kind == "percent")
    return DiffAreaLimit::percent_of_origin(value);
  if (kind == "unbounded")
    return DiffAreaLimit::unbounded();
  throw std::invalid_argument("maxsize.kind '" + kind + "' is unknown");
}

std::string strip_volume_suffix(std::string_view name) {
  std::string out(name);
  while (out.size() > 1 && (out.back() == '\\' || out.back() == '/'))
    out.pop_back();
  return out;
}

}  // namespace

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

std::filesystem::path Store::resolve_dir(const std::optional<std::string>& flag) {
  if (flag)
    return *flag;
  if (const char* env = std::getenv("FREEZEFRAME_STORE"); env != nullptr && *env != '\0')
    return env;
  return ".freezeframe";
}

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir / "volumes", error);
  if (!error)
    std::filesystem::create_directories(dir / "diff", error);
  if (error)
    return io_error("cannot create store directory '" + dir.string() + "': " + error.message());
  FF_ASSIGN_OR_RETURN(FileLock lock, FileLock::acquire(dir / "lock"));
  std::unique_ptr<Store> store(new Store(dir, std::move(lock)));
  FF_TRY(store->load());
  return store;
}

Store::~Store() {
  // Close providers before the volumes beneath them (members of OpenVolume do that), and
  // flush nothing more: every command flushes what it wrote.
  open_.clear();
}

Status Store::load() {
  std::filesystem::path path = dir_ / "catalog.json";
  if (!std::filesystem::exists(path))
    return Status();
  FF_ASSIGN_OR_RETURN(std::string text, read_file(path));
  try {
    json j = json::parse(text);
    if (j.at("format").get<std::string>() != kCatalogFormat)
      return corrupt("catalog '" + path.string() + "': not a freezeframe store catalog");
    int version = j.at("version").get<int>();
    if (version > kCatalogVersion)
      return Status(ErrorCode::kUnsupportedVersion,
                    "catalog '" + path.string() + "' has format version " +
                        std::to_string(version) + "; this freezeframe reads up to " +
                        std::to_string(kCatalogVersion));
    for (const json& v : j.at("volumes")) {
      VolumeEntry entry;
      entry.name = v.at("name").get<std::string>();
      entry.image = v.at("image").get<std::string>();
      entry.owned = v.at("owned").get<bool>();
      entry.size_bytes = v.at("size_bytes").get<std::uint64_t>();
      entry.sector_bytes = v.at("sector_bytes").get<std::uint32_t>();
      auto kind = parse_provider_kind(v.at("provider").get<std::string>());
      if (!kind.ok())
        return corrupt("catalog '" + path.string() + "': volume '" + entry.name +
                       "': " + kind.status().message());
      entry.provider = *kind;
      if (v.contains("storage") && !v.at("storage").is_null()) {
        const json& s = v.at("storage");
        entry.storage =
            ShadowStorage{s.at("on").get<std::string>(), s.at("diff_image").get<std::string>(),
                          limit_from_json(s.at("maxsize"))};
      }
      catalog_.volumes.push_back(std::move(entry));
    }
    for (const json& e : j.at("exposures")) {
      auto id = Uuid::parse(e.at("shadow").get<std::string>());
      if (!id.ok())
        return corrupt("catalog '" + path.string() + "': " + id.status().message());
      catalog_.exposures.push_back({*id, e.at("path").get<std::string>()});
    }
  } catch (const std::exception& e) {
    return corrupt("catalog '" + path.string() + "' is malformed: " + e.what());
  }
  return Status();
}

Status Store::save() {
  json volumes = json::array();
  for (const VolumeEntry& entry : catalog_.volumes) {
    json v = {{"name", entry.name},
              {"image", entry.image},
              {"owned", entry.owned},
              {"size_bytes", entry.size_bytes},
              {"sector_bytes", entry.sector_bytes},
              {"provider", provider_kind_name(entry.provider)},
              {"storage", nullptr}};
    if (entry.storage)
      v["storage"] = {{"on", entry.storage->on},
                      {"diff_image", entry.storage->diff_image},
                      {"maxsize", limit_to_json(entry.storage->limit)}};
    volumes.push_back(std::move(v));
  }
  json exposures = json::array();
  for (const Exposure& exposure : catalog_.exposures)
    exposures.push_back({{"shadow", exposure.shadow.to_string()}, {"path", exposure.path}});
  json j = {{"format", kCatalogFormat},
            {"version", kCatalogVersion},
            {"volumes", std::move(volumes)},
            {"exposures", std::move(exposures)}};
  return replace_file(dir_ / "catalog.json", j.dump(2) + "\n");
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

Result<OpenVolume*> Store::open_volume(std::string_view name) {
  FF_ASSIGN_OR_RETURN(VolumeEntry * entry, volume(name));
  return open_volume(*entry);
}

Result<OpenVolume*> Store::open_volume(VolumeEntry& entry) {
  if (auto it = open_.find(entry.name); it != open_.end())
    return it->second.get();
  auto opened = std::make_unique<OpenVolume>();
  opened->entry = &entry;
  std::filesystem::path image = dir_ / entry.image;  // absolute image paths stay absolute
  auto origin =
      FileVolume::open(image.string(), {.sector_bytes = entry.sector_bytes, .name = entry.name});
  if (!origin.ok())
    return origin.status().with_context("volume '" + entry.name + "'");
  opened->origin = std::move(origin).value();
  if (entry.storage) {
    std::filesystem::path diff_path = dir_ / entry.storage->diff_image;
    auto diff = FileVolume::open(diff_path.string(), {.name = entry.name + " (diff area)"});
    if (!diff.ok())
      return diff.status().with_context("shadow storage of volume '" + entry.name + "'");
    opened->diff = std::move(diff).value();
    auto provider = SnapshotProvider::open(*opened->origin, *opened->diff, {.name = entry.name});
    if (!provider.ok())
      return provider.status().with_context("shadow storage of volume '" + entry.name + "'");
    opened->provider = std::move(provider).value();
  }
  OpenVolume* result = opened.get();
  open_[entry.name] = std::move(opened);
  return result;
}

void Store::close_volume(const std::string& name) {
  open_.erase(name);
}

Status Store::add_volume(VolumeEntry entry) {
  if (find_volume(entry.name) != nullptr && find_volume(entry.name)->name == entry.name)
    return Status(ErrorCode::kAlreadyExists,
                  "volume '" + entry.name + "' already exists in the store");
  for (const VolumeEntry& other : catalog_.volumes)
    if (equals_ignore_case(other.name, entry.name))
      return Status(ErrorCode::kAlreadyExists, "volume '" + entry.name + "' clashes with '" +
                                                   other.name + "' (names are case-insensitive)");
  catalog_.volumes.push_back(std::move(entry));
  return save();
}

Status Store::remove_volume(const std::string& name) {
  FF_ASSIGN_OR_RETURN(VolumeEntry * entry, volume(name));
  for (const VolumeEntry& other : catalog_.volumes)
    if (other.storage && other.name != entry->name && other.storage->on == entry->name)
      return Status(ErrorCode::kBadState, "volume '" + entry->name +
                                              "' holds the shadow storage of '" + other.name +
                                              "'; delete that shadow storage first");
  if (entry->storage)
    FF_TRY(delete_storage(*entry));
  std::string image = entry->image;
  bool owned = entry->owned;
  std::string entry_name = entry->name;
  close_volume(entry_name);
  catalog_.volumes.remove_if([&](const VolumeEntry& e) { return e.name == entry_name; });
  FF_TRY(save());
  if (owned) {
    std::error_code error;
    std::filesystem::remove(dir_ / image, error);
  }
  return Status();
}

Status Store::create_storage(VolumeEntry& entry, const std::string& on, const DiffAreaLimit& limit,
                             ProviderKind kind) {
  if (entry.storage)
    return Status(ErrorCode::kAlreadyExists,
                  "volume '" + entry.name + "' already has shadow storage on '" +
                      entry.storage->on + "' (use 'shadowstorage resize' to change it)");
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, open_volume(entry));
  std::string relative =
      "diff/" + safe_file_name(entry.name) + "-" + opened->origin->uuid().to_string() + ".img";
  auto diff = FileVolume::create((dir_ / relative).string(),
                                 {.size_bytes = diff_image_bytes(entry.size_bytes, limit),
                                  .sector_bytes = 512,
                                  .name = entry.name + " (diff area)",
                                  .overwrite = true});
  if (!diff.ok())
    return diff.status().with_context("shadow storage of volume '" + entry.name + "'");
  ProviderOptions options;
  options.chunk_bytes = kChunkBytes;
  options.limit = limit;
  options.name = entry.name;
  auto provider = SnapshotProvider::create(kind, *opened->origin, *diff.value(), options);
  if (!provider.ok())
    return provider.status().with_context("shadow storage of volume '" + entry.name + "'");
  entry.provider = kind;
  entry.storage = ShadowStorage{on, relative, limit};
  if (Status s = save(); !s.ok()) {
    entry.storage.reset();
    return s;
  }
  opened->diff = std::move(diff).value();
  opened->provider = std::move(provider).value();
  return Status();
}

Status Store::delete_storage(VolumeEntry& entry) {
  if (!entry.storage)
    return not_found("volume '" + entry.name + "' has no shadow storage");
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, open_volume(entry));
  SnapshotProvider& provider = *opened->provider;
  for (const SnapshotInfo& info : provider.snapshots()) {
    if (Status s = provider.delete_snapshot(info.id); !s.ok())
      return s.with_context("deleting shadow " + info.id.to_string());
    catalog_.exposures.erase(std::remove_if(catalog_.exposures.begin(), catalog_.exposures.end(),
                                            [&](const Exposure& e) { return e.shadow == info.id; }),
                             catalog_.exposures.end());
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
  std::string diff_image = entry.storage->diff_image;
  opened->provider.reset();
  opened->diff.reset();
  entry.storage.reset();
  FF_TRY(save());
  std::error_code error;
  std::filesystem::remove(dir_ / diff_image, error);
  return Status();
}

Status Store::resize_storage(VolumeEntry& entry, const DiffAreaLimit& limit) {
  if (!entry.storage)
    return not_found("volume '" + entry.name + "' has no shadow storage (use 'shadowstorage add')");
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, open_volume(entry));
  FF_TRY(opened->provider->set_limit(limit));
  entry.storage->limit = limit;
  return save();
}

Result<std::vector<ShadowRef>> Store::shadows() {
  std::vector<ShadowRef> out;
  for (VolumeEntry& entry : catalog_.volumes) {
    if (!entry.storage)
      continue;
    FF_ASSIGN_OR_RETURN(OpenVolume * opened, open_volume(entry));
    for (SnapshotInfo& info : opened->provider->snapshots())
      out.push_back({&entry, std::move(info)});
  }
  return out;
}

Result<ShadowRef> Store::find_shadow(const Uuid& id) {
  FF_ASSIGN_OR_RETURN(std::vector<ShadowRef> all, shadows());
  for (ShadowRef& shadow : all)
    if (shadow.info.id == id)
      return shadow;
  return not_found("shadow copy " + id.to_string() + " does not exist (see 'shadow list')");
}

Result<ShadowRef> Store::find_shadow(std::string_view id_text) {
  auto id = Uuid::parse(id_text);
  if (!id.ok())
    return invalid_argument("'" + std::string(id_text) + "' is not a shadow copy id (a GUID)");
  return find_shadow(*id);
}

Status Store::delete_shadow(const ShadowRef& shadow) {
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, open_volume(*shadow.volume));
  if (Status s = opened->provider->delete_snapshot(shadow.info.id); !s.ok())
    return s.with_context("deleting shadow copy " + shadow.info.id.to_string() + " of volume '" +
                          shadow.volume->name + "'");
  auto exposed = exposure_of(shadow.info.id);
  if (exposed) {
    catalog_.exposures.erase(
        std::remove_if(catalog_.exposures.begin(), catalog_.exposures.end(),
                       [&](const Exposure& e) { return e.shadow == shadow.info.id; }),
        catalog_.exposures.end());
    FF_TRY(save());
    std::error_code error;
    std::filesystem::remove(*exposed, error);
  }
  return Status();
}

Result<std::size_t> Store::release_orphans() {
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

}  // namespace freezeframe::cli

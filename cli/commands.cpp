#include "commands.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>

#include "freezeframe/clock.h"
#include "freezeframe/file_volume.h"
#include "output.h"
#include "parse.h"
#include "script.h"
#include "snapshot_sets.h"

namespace freezeframe::cli {
namespace {

using nlohmann::json;

constexpr std::uint64_t kCopyBytes = 1 << 20;
// --wait: a day at most; a longer wait is a mistake, not a plan.
constexpr double kWaitSecondsMax = 86400;

struct Context {
  std::ostream& out;
  std::ostream& err;
  bool json = false;
  std::filesystem::path store_dir;
  Options options;
  std::string command;
  // --wait SECONDS: how long to wait for another command's store lock.
  std::chrono::milliseconds wait{0};
};

struct Command {
  std::string words;  // "volume create"
  Options::Spec spec;
  std::string usage;
  std::function<Status(Context&)> run;
};

Status usage_error(const Context& ctx, const std::string& message) {
  return invalid_argument(ctx.command + ": " + message);
}

Result<std::string> required(const Context& ctx, const std::string& name) {
  auto value = ctx.options.get(name);
  if (!value || value->empty())
    return usage_error(ctx, "option '--" + name + "' is required");
  return *value;
}

Result<std::string> one_positional(const Context& ctx, const std::string& what) {
  const auto& args = ctx.options.positionals();
  if (args.empty())
    return usage_error(ctx, what + " is required");
  if (args.size() > 1)
    return usage_error(ctx, "unexpected argument '" + args[1] + "'");
  return args[0];
}

Status no_positionals(const Context& ctx) {
  if (!ctx.options.positionals().empty())
    return usage_error(ctx, "unexpected argument '" + ctx.options.positionals()[0] + "'");
  return Status();
}

// Reading commands take the store's lock shared and change nothing; writing ones take it
// exclusively.
Result<std::unique_ptr<Store>> open_store(const Context& ctx,
                                          StoreAccess access = StoreAccess::kWrite) {
  StoreOpenOptions options;
  options.access = access;
  options.wait = ctx.wait;
  options.notices = &ctx.err;
  std::ostream& err = ctx.err;
  options.on_wait = [&err](const std::vector<long>& holders) {
    err << "freezeframe: waiting for the store lock";
    if (!holders.empty()) {
      err << " (held by pid";
      for (long pid : holders)
        err << " " << pid;
      err << ")";
    }
    err << "...\n" << std::flush;
  };
  return Store::open(ctx.store_dir, options);
}

std::string braced(const Uuid& id) {
  return "{" + id.to_string() + "}";
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string::npos)
      comma = text.size();
    std::string item = text.substr(start, comma - start);
    if (!item.empty())
      out.push_back(item);
    start = comma + 1;
  }
  return out;
}

Result<std::uint64_t> bytes_option(const Context& ctx, const std::string& name,
                                   std::optional<std::uint64_t> fallback = std::nullopt) {
  auto value = ctx.options.get(name);
  if (!value) {
    if (fallback)
      return *fallback;
    return usage_error(ctx, "option '--" + name + "' is required");
  }
  return parse_bytes(*value, ctx.command + " --" + name);
}

// Shadow copies a listing shows: auto-release ones exist only while the command that made
// them runs, and that command holds the store exclusively, so one seen from another command
// was left by a command that died (the next writing command releases it).
bool listed(const SnapshotInfo& info) {
  return (info.attributes & kAttrNoAutoRelease) != 0;
}

json volume_json(Store& store, VolumeEntry& entry) {
  auto opened = store.open_volume(entry);
  auto image = store.image_path(entry);
  json v = {{"name", entry.name},
            {"status", opened.ok() ? "ok" : "damaged"},
            {"damage", opened.ok() ? json(nullptr) : json(entry.damage)},
            {"uuid", entry.uuid.is_nil() ? json(nullptr) : json(entry.uuid.to_string())},
            {"size_bytes", entry.size_bytes},
            {"sector_bytes", entry.sector_bytes},
            {"provider", provider_kind_name(entry.provider)},
            {"image", image.ok() ? image->string() : entry.image},
            {"attached", !entry.owned},
            {"shadow_storage", nullptr},
            {"shadows", 0}};
  if (entry.storage) {
    v["shadow_storage"] = {{"on", entry.storage->on},
                           {"maxsize", limit_text(entry.storage->limit)}};
    if (opened.ok()) {
      auto snapshots = (*opened)->provider->snapshots();
      v["shadows"] = std::count_if(snapshots.begin(), snapshots.end(), listed);
    } else {
      v["shadows"] = nullptr;
    }
  }
  return v;
}

// ---- volume ----

// --sector (512 or 4096, default 512) and --provider (default cow) of volume create/attach.
struct VolumeFormat {
  std::uint32_t sector = 512;
  ProviderKind kind = ProviderKind::kCopyOnWrite;
};

Result<VolumeFormat> volume_format(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::uint64_t sector, bytes_option(ctx, "sector", 512));
  if (sector != 512 && sector != 4096)
    return usage_error(ctx, "--sector must be 512 or 4096, got " + std::to_string(sector));
  VolumeFormat format;
  format.sector = static_cast<std::uint32_t>(sector);
  if (auto p = ctx.options.get("provider")) {
    auto parsed = parse_provider_kind(*p);
    if (!parsed.ok())
      return usage_error(ctx, parsed.status().message());
    format.kind = *parsed;
  }
  return format;
}

Status volume_create(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string name, one_positional(ctx, "a volume NAME"));
  FF_ASSIGN_OR_RETURN(std::uint64_t size, bytes_option(ctx, "size"));
  FF_ASSIGN_OR_RETURN(VolumeFormat format, volume_format(ctx));
  const auto [sector, kind] = format;
  if (size == 0 || size % sector != 0)
    return usage_error(ctx, "--size " + std::to_string(size) +
                                " must be a non-zero multiple of the sector size " +
                                std::to_string(sector));
  if (Status s = validate_volume_name(name); !s.ok())
    return usage_error(ctx, s.message());
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_TRY(store->create_volume(name, size, sector, kind));
  if (ctx.json)
    ctx.out << volume_json(*store, *store->find_volume(name)).dump(2) << "\n";
  else
    ctx.out << "Created volume '" << name << "': " << format_bytes(size) << ", " << sector
            << "-byte sectors, provider " << provider_kind_name(kind) << ".\n";
  return Status();
}

Status volume_attach(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string name, one_positional(ctx, "a volume NAME"));
  FF_ASSIGN_OR_RETURN(std::string image, required(ctx, "image"));
  FF_ASSIGN_OR_RETURN(VolumeFormat format, volume_format(ctx));
  const auto [sector, kind] = format;
  if (Status s = validate_volume_name(name); !s.ok())
    return usage_error(ctx, s.message());
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_TRY(store->attach_volume(name, image, sector, kind));
  VolumeEntry& entry = *store->find_volume(name);
  if (ctx.json)
    ctx.out << volume_json(*store, entry).dump(2) << "\n";
  else
    ctx.out << "Attached volume '" << name << "': " << entry.image << ", "
            << format_bytes(entry.size_bytes) << ".\n";
  return Status();
}

// Lists every volume with its status; a damaged one makes the command fail (exit 1) after the
// whole list is printed, so scripts notice while the healthy volumes are still shown.
Status volume_list(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx, StoreAccess::kRead));
  json all = json::array();
  Table table({"NAME", "STATUS", "SIZE", "SECTOR", "PROVIDER", "SHADOW STORAGE", "MAXSIZE",
               "SHADOWS", "IMAGE"});
  std::vector<std::string> damaged;
  for (VolumeEntry& entry : store->catalog().volumes) {
    json v = volume_json(*store, entry);
    bool ok = v["status"] == "ok";
    if (!ok)
      damaged.push_back("'" + entry.name + "': " + entry.damage);
    table.add({entry.name, ok ? "ok" : "DAMAGED", format_bytes(entry.size_bytes),
               std::to_string(entry.sector_bytes), std::string(provider_kind_name(entry.provider)),
               entry.storage ? "on " + entry.storage->on : "-",
               entry.storage ? limit_text(entry.storage->limit) : "-",
               v["shadows"].is_null() ? "?" : std::to_string(v["shadows"].get<std::size_t>()),
               v["image"].get<std::string>()});
    all.push_back(std::move(v));
  }
  if (ctx.json)
    ctx.out << all.dump(2) << "\n";
  else if (table.empty())
    ctx.out << "No volumes in the store.\n";
  else
    table.print(ctx.out);
  if (!damaged.empty()) {
    std::string text =
        std::to_string(damaged.size()) + " damaged volume" + (damaged.size() == 1 ? "" : "s") + ":";
    for (const std::string& d : damaged)
      text += "\n  " + d;
    return corrupt(text);
  }
  return Status();
}

Status volume_remove(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string name, one_positional(ctx, "a volume NAME"));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_ASSIGN_OR_RETURN(VolumeEntry * entry, store->volume(name));
  std::string canonical = entry->name;
  FF_TRY(store->remove_volume(canonical));
  if (ctx.json)
    ctx.out << json{{"removed", canonical}}.dump() << "\n";
  else if (!ctx.options.has("quiet"))
    ctx.out << "Removed volume '" << canonical << "' and its shadow copies.\n";
  return Status();
}

// The overflow policy's deletions since `before` (ids of snapshots that are gone).
std::vector<Uuid> deleted_since(const std::vector<SnapshotInfo>& before,
                                const SnapshotProvider& provider) {
  std::vector<Uuid> gone;
  std::vector<SnapshotInfo> now = provider.snapshots();
  for (const SnapshotInfo& info : before)
    if (listed(info) && std::none_of(now.begin(), now.end(),
                                     [&](const SnapshotInfo& n) { return n.id == info.id; }))
      gone.push_back(info.id);
  return gone;
}

Status volume_write(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string name, one_positional(ctx, "a volume NAME"));
  FF_ASSIGN_OR_RETURN(std::uint64_t offset, bytes_option(ctx, "offset", 0));
  FF_ASSIGN_OR_RETURN(std::string from, required(ctx, "from"));
  std::optional<std::uint64_t> length_option;
  if (ctx.options.has("length")) {
    FF_ASSIGN_OR_RETURN(length_option, bytes_option(ctx, "length"));
  }
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, store->open_volume(name));
  Volume& volume = opened->live();
  const std::string& volume_name = opened->entry->name;
  std::uint64_t sector = volume.sector_bytes();
  if (offset % sector != 0)
    return usage_error(ctx, "--offset " + std::to_string(offset) +
                                " is not a multiple of the sector size " + std::to_string(sector) +
                                " of volume '" + volume_name + "'");
  if (offset > volume.size_bytes())
    return out_of_range("volume '" + volume_name + "': --offset " + std::to_string(offset) +
                        " is past its end (" + std::to_string(volume.size_bytes()) + " bytes)");
  const std::uint64_t room = volume.size_bytes() - offset;
  std::ifstream in(from, std::ios::binary);
  if (!in)
    return not_found("cannot open --from file '" + from + "': " + std::strerror(errno));
  // A regular file's length is known before anything is written; a pipe or a device is read
  // until its end (or --length), and refused as soon as it gives more than fits.
  std::error_code error;
  bool regular = std::filesystem::is_regular_file(from, error);
  std::optional<std::uint64_t> known;
  if (regular) {
    std::uint64_t file_bytes = std::filesystem::file_size(from, error);
    if (error)
      return io_error("cannot size --from file '" + from + "': " + error.message());
    if (length_option && *length_option > file_bytes)
      return out_of_range("--length " + std::to_string(*length_option) + " is more than the " +
                          std::to_string(file_bytes) + " bytes of '" + from + "'");
    known = length_option.value_or(file_bytes);
  } else if (length_option) {
    known = length_option;
  }
  if (known && *known > room)
    return out_of_range("volume '" + volume_name + "': writing " + std::to_string(*known) +
                        " bytes at offset " + std::to_string(offset) + " passes its end (" +
                        std::to_string(volume.size_bytes()) + " bytes)");
  std::vector<SnapshotInfo> before;
  if (opened->provider)
    before = opened->provider->snapshots();
  Progress progress("writing " + volume_name, known.value_or(room));
  std::vector<std::byte> buffer;
  std::uint64_t done = 0;
  const std::uint64_t limit = known.value_or(room);
  while (done < limit) {
    std::uint64_t want = std::min<std::uint64_t>(kCopyBytes, limit - done);
    buffer.assign((want + sector - 1) / sector * sector, std::byte{0});
    in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(want));
    auto piece = static_cast<std::uint64_t>(in.gcount());
    if (in.bad())
      return io_error("cannot read --from file '" + from + "' at offset " + std::to_string(done));
    if (piece == 0)
      break;
    if (known && piece < want && in.eof())
      return io_error("--from '" + from + "' ended after " + std::to_string(done + piece) +
                      " of the " + std::to_string(*known) + " bytes expected; " +
                      std::to_string(done) + " bytes were written");
    std::uint64_t padded = (piece + sector - 1) / sector * sector;
    buffer.resize(padded);
    if (padded != piece) {
      // The data ends inside a sector: keep the rest of that sector as it is.
      std::vector<std::byte> tail(sector);
      FF_TRY(volume.read(offset + done + padded - sector, tail));
      std::copy(tail.begin() + static_cast<std::ptrdiff_t>(piece % sector), tail.end(),
                buffer.begin() + static_cast<std::ptrdiff_t>(piece));
    }
    FF_TRY(volume.write(offset + done, buffer));
    done += piece;
    progress.update(done);
    if (piece < want)
      break;
  }
  FF_TRY(volume.flush());
  progress.finish();
  std::vector<Uuid> deleted;
  if (opened->provider)
    deleted = deleted_since(before, *opened->provider);
  if (!known && done == room && in.peek() != std::char_traits<char>::eof()) {
    // Data was written, so this is a failure (exit 1), not a usage error.
    std::string text = "volume '" + volume_name + "': --from '" + from + "' gives more than the " +
                       std::to_string(room) + " bytes from offset " + std::to_string(offset) +
                       " to the end of the volume; the first " + std::to_string(done) +
                       " bytes were written (pass --length to write " + "part of it)";
    for (const Uuid& id : deleted)
      text += "; shadow copy " + braced(id) + " was deleted to make room";
    return limit_exceeded(text);
  }
  if (ctx.json) {
    json ids = json::array();
    for (const Uuid& id : deleted)
      ids.push_back(id.to_string());
    ctx.out << json{{"volume", volume_name},
                    {"offset", offset},
                    {"bytes", done},
                    {"shadows_deleted_for_space", ids}}
                   .dump()
            << "\n";
  } else {
    ctx.out << "Wrote " << done << " bytes to '" << volume_name << "' at offset " << offset
            << ".\n";
    for (const Uuid& id : deleted)
      ctx.out << "The shadow storage of '" << volume_name << "' was full: shadow copy "
              << braced(id) << " was deleted to make room.\n";
  }
  return Status();
}

Status copy_volume_to_file(Volume& volume, std::uint64_t offset, std::uint64_t length,
                           const std::filesystem::path& to, const std::string& label) {
  FF_ASSIGN_OR_RETURN(OutputFile file, OutputFile::create(to, /*exclusive=*/false));
  return copy_volume_to(volume, offset, length, file, label);
}

Status volume_read(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string name, one_positional(ctx, "a volume NAME"));
  FF_ASSIGN_OR_RETURN(std::uint64_t offset, bytes_option(ctx, "offset", 0));
  FF_ASSIGN_OR_RETURN(std::string to, required(ctx, "to"));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx, StoreAccess::kRead));
  FF_ASSIGN_OR_RETURN(VolumeEntry * entry, store->volume(name));
  auto opened = store->open_volume(*entry);
  std::unique_ptr<FileVolume> origin_only;
  if (!opened.ok()) {
    // CoW keeps the live data in the origin: with its diff area damaged, the origin alone
    // still reads right. RoW keeps part of it in the diff area, so it cannot.
    // Only damage found in the diff area itself; an interrupted revert (kReadOnly here) leaves
    // the origin half copied back, and then it is not the live data.
    if (!entry->storage || entry->provider != ProviderKind::kCopyOnWrite ||
        entry->damaged_part != VolumeEntry::Damage::kDiffArea ||
        entry->damage_code == ErrorCode::kReadOnly)
      return opened.status();
    auto origin = store->open_origin_read_only(*entry);
    if (!origin.ok())
      return opened.status();
    origin_only = std::move(origin).value();
    ctx.err << "freezeframe: warning: " << opened.status().message()
            << "\nfreezeframe: warning: reading the copy-on-write origin image directly "
               "(read-only)\n";
  }
  Volume& volume = origin_only ? static_cast<Volume&>(*origin_only) : (*opened)->live();
  std::uint64_t fallback = offset < volume.size_bytes() ? volume.size_bytes() - offset : 0;
  FF_ASSIGN_OR_RETURN(std::uint64_t length, bytes_option(ctx, "length", fallback));
  if (offset + length > volume.size_bytes() || offset + length < offset)
    return out_of_range("volume '" + entry->name + "': reading " + std::to_string(length) +
                        " bytes at offset " + std::to_string(offset) + " passes its end (" +
                        std::to_string(volume.size_bytes()) + " bytes)");
  FF_TRY(store->check_output_path(to));
  FF_TRY(copy_volume_to_file(volume, offset, length, to, "reading " + entry->name));
  if (ctx.json)
    ctx.out << json{{"volume", entry->name}, {"offset", offset}, {"bytes", length}}.dump() << "\n";
  else
    ctx.out << "Read " << length << " bytes of '" << entry->name << "' into '" << to << "'.\n";
  return Status();
}

Status volume_consolidate(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string name, one_positional(ctx, "a volume NAME"));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, store->open_volume(name));
  if (!opened->provider)
    return Status(ErrorCode::kBadState, "volume '" + opened->entry->name +
                                            "' has no shadow storage: nothing to consolidate");
  Progress progress("consolidating " + opened->entry->name, 1);
  std::uint64_t before = opened->provider->stats().chunks_consolidated;
  FF_TRY(opened->provider->consolidate().with_context("volume '" + opened->entry->name + "'"));
  FF_TRY(opened->provider->flush());
  progress.finish();
  std::uint64_t chunks = opened->provider->stats().chunks_consolidated - before;
  if (ctx.json)
    ctx.out << json{{"volume", opened->entry->name}, {"chunks_consolidated", chunks}}.dump()
            << "\n";
  else
    ctx.out << "Consolidated " << chunks << " chunks of '" << opened->entry->name << "'.\n";
  return Status();
}

// ---- shadow ----

Status shadow_create(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(std::string names, required(ctx, "for"));
  std::optional<ProviderKind> kind;
  if (auto p = ctx.options.get("provider")) {
    auto parsed = find_provider(*p);
    if (!parsed.ok())
      return parsed.status();
    kind = *parsed;
  }
  SetRequest request;
  if (auto c = ctx.options.get("context")) {
    auto parsed = parse_context(*c);
    if (!parsed.ok())
      return usage_error(ctx, parsed.status().message());
    request.context = *parsed;
  }
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  for (const std::string& name : split_commas(names)) {
    FF_ASSIGN_OR_RETURN(VolumeEntry * entry, store->volume(name));
    if (std::find(request.volumes.begin(), request.volumes.end(), entry->name) !=
        request.volumes.end())
      return usage_error(ctx, "volume '" + entry->name + "' is named twice in --for");
    FF_TRY(ensure_storage(*store, *entry, kind));
    request.volumes.push_back(entry->name);
  }
  if (request.volumes.empty())
    return usage_error(ctx, "--for names no volume");
  FF_ASSIGN_OR_RETURN(auto engine, SetEngine::open(*store));
  FF_ASSIGN_OR_RETURN(CreatedSet set, engine->create(request));
  bool auto_release = !context_has(set.context, kAttrNoAutoRelease);
  if (ctx.json) {
    json shadows = json::array();
    for (const ShadowRef& shadow : set.shadows)
      shadows.push_back(shadow_json(*store, shadow));
    ctx.out << json{{"set_id", set.id.to_string()},
                    {"context", context_name(set.context)},
                    {"released_at_exit", auto_release},
                    {"shadows", shadows}}
                   .dump(2)
            << "\n";
  } else {
    ctx.out << "Successfully created shadow copy set " << braced(set.id) << "\n";
    for (const ShadowRef& shadow : set.shadows)
      ctx.out << "    Shadow Copy ID: " << braced(shadow.info.id) << " for '" << shadow.volume->name
              << "'\n";
    if (auto_release)
      ctx.out << "Context '" << context_name(set.context)
              << "' is auto-release: these shadow copies are deleted when this command ends.\n";
  }
  return Status();
}

Result<std::vector<ShadowRef>> filtered_shadows(Context& ctx, Store& store) {
  FF_ASSIGN_OR_RETURN(std::vector<ShadowRef> all, store.shadows());
  std::vector<ShadowRef> out;
  VolumeEntry* volume = nullptr;
  if (auto f = ctx.options.get("for")) {
    FF_ASSIGN_OR_RETURN(volume, store.volume(*f));
  }
  std::optional<Uuid> set_id;
  std::optional<Uuid> shadow_id;
  if (auto s = ctx.options.get("set")) {
    auto id = Uuid::parse(*s);
    if (!id.ok())
      return usage_error(ctx, "--set '" + *s + "' is not a set id (a GUID)");
    set_id = *id;
  }
  if (auto s = ctx.options.get("shadow")) {
    auto id = Uuid::parse(*s);
    if (!id.ok())
      return usage_error(ctx, "--shadow '" + *s + "' is not a shadow copy id (a GUID)");
    shadow_id = *id;
  }
  if (volume != nullptr && !volume->damage.empty())
    return Status(ErrorCode::kCorrupt,
                  "volume '" + volume->name + "' is damaged: " + volume->damage);
  for (ShadowRef& shadow : all) {
    if (!listed(shadow.info))
      continue;
    if (volume != nullptr && shadow.volume != volume)
      continue;
    if (set_id && shadow.info.set_id != *set_id)
      continue;
    if (shadow_id && shadow.info.id != *shadow_id)
      continue;
    out.push_back(std::move(shadow));
  }
  return out;
}

// Damaged volumes are told on stderr: their shadow copies cannot be listed, the others can.
void warn_damaged(Context& ctx, Store& store) {
  for (VolumeEntry* entry : store.check_volumes())
    if (entry->storage || entry->catalog_damaged)
      ctx.err << "freezeframe: warning: volume '" << entry->name
              << "' is damaged and its shadow copies are not listed: " << entry->damage << "\n";
}

Status shadow_list(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx, StoreAccess::kRead));
  FF_ASSIGN_OR_RETURN(std::vector<ShadowRef> shadows, filtered_shadows(ctx, *store));
  warn_damaged(ctx, *store);
  if (ctx.json) {
    json all = json::array();
    for (const ShadowRef& shadow : shadows)
      all.push_back(shadow_json(*store, shadow));
    ctx.out << all.dump(2) << "\n";
    return Status();
  }
  if (shadows.empty()) {
    ctx.out << "No items found that satisfy the query.\n";
    return Status();
  }
  // Grouped by set, in order of first appearance, as vssadmin prints them.
  std::vector<Uuid> sets;
  for (const ShadowRef& shadow : shadows)
    if (std::find(sets.begin(), sets.end(), shadow.info.set_id) == sets.end())
      sets.push_back(shadow.info.set_id);
  for (const Uuid& set : sets) {
    std::vector<const ShadowRef*> members;
    for (const ShadowRef& shadow : shadows)
      if (shadow.info.set_id == set)
        members.push_back(&shadow);
    ctx.out << "Contents of shadow copy set ID: " << braced(set) << "\n"
            << "   Contained " << members.size()
            << " shadow copies at creation time: " << format_iso8601_utc(members[0]->info.created)
            << "\n";
    for (const ShadowRef* shadow : members) {
      const SnapshotInfo& info = shadow->info;
      ctx.out << "      Shadow Copy ID: " << braced(info.id) << "\n"
              << "         Original Volume: (" << shadow->volume->name << ")\n"
              << "         Provider: '" << provider_kind_name(info.provider) << "'\n"
              << "         Type: " << context_of_attributes(info.attributes) << "\n"
              << "         Attributes: " << attribute_words(info.attributes) << "\n"
              << "         State: "
              << (info.state == SnapshotState::kActive ? "active" : "invalidated") << "\n"
              << "         Diff area: " << format_bytes(info.diff_area_bytes) << "\n";
      if (auto exposed = store->exposure_of(info.id))
        ctx.out << "         Exposed as: " << *exposed << "\n";
    }
    ctx.out << "\n";
  }
  return Status();
}

bool confirm(Context& ctx, std::size_t count) {
  if (ctx.options.has("quiet") || ctx.json || !stdin_is_terminal())
    return true;
  ctx.out << "Do you really want to delete " << count << " shadow copies (Y/N): [N]? "
          << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return !answer.empty() && (answer[0] == 'y' || answer[0] == 'Y');
}

Status shadow_delete(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  bool oldest = ctx.options.has("oldest");
  bool all = ctx.options.has("all");
  int selectors = ctx.options.has("shadow") + ctx.options.has("set") + oldest +
                  (all && !ctx.options.has("for"));
  if (ctx.options.has("for") && all)
    selectors += 1;
  if (selectors == 0 && !ctx.options.has("for"))
    return usage_error(ctx,
                       "say what to delete: --shadow ID, --set ID, --for NAME "
                       "[--oldest | --all], or --all");
  if (oldest && all)
    return usage_error(ctx, "--oldest and --all exclude each other");
  if (oldest && !ctx.options.has("for"))
    return usage_error(ctx, "--oldest needs --for NAME");
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_ASSIGN_OR_RETURN(std::vector<ShadowRef> shadows, filtered_shadows(ctx, *store));
  if (shadows.empty()) {
    if (ctx.options.has("shadow") || ctx.options.has("set"))
      return not_found("no shadow copy matches " +
                       std::string(ctx.options.has("shadow") ? "--shadow " : "--set ") +
                       *ctx.options.get(ctx.options.has("shadow") ? "shadow" : "set"));
  }
  if (oldest && !shadows.empty()) {
    auto first = std::min_element(shadows.begin(), shadows.end(), [](const auto& a, const auto& b) {
      return a.info.sequence < b.info.sequence;
    });
    shadows = {*first};
  }
  if (!shadows.empty() && !confirm(ctx, shadows.size())) {
    ctx.out << "Nothing deleted.\n";
    return Status();
  }
  json deleted = json::array();
  for (const ShadowRef& shadow : shadows) {
    FF_TRY(store->delete_shadow(shadow));
    deleted.push_back(shadow.info.id.to_string());
  }
  // --all also means the damaged volumes' shadow copies, which cannot be read or deleted: say
  // so and fail once the others are done.
  std::string skipped;
  if (all && !ctx.options.has("for")) {
    for (VolumeEntry* entry : store->check_volumes())
      if (entry->storage || entry->catalog_damaged)
        skipped += "\n  '" + entry->name + "': " + entry->damage;
  }
  if (ctx.json)
    ctx.out << json{{"deleted", deleted}}.dump(2) << "\n";
  else if (shadows.empty())
    ctx.out << "No items found that satisfy the query.\n";
  else
    ctx.out << "Successfully deleted " << shadows.size() << " shadow copies.\n";
  if (!skipped.empty())
    return corrupt("shadow copies on damaged volumes were not deleted:" + skipped);
  return Status();
}

Status shadow_export(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string id, one_positional(ctx, "a shadow copy ID"));
  FF_ASSIGN_OR_RETURN(std::string to, required(ctx, "to"));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx, StoreAccess::kRead));
  FF_ASSIGN_OR_RETURN(ShadowRef shadow, store->find_shadow(id));
  FF_TRY(store->check_output_path(to));
  FF_TRY(export_shadow(*store, shadow, to));
  if (ctx.json)
    ctx.out << json{{"id", shadow.info.id.to_string()},
                    {"to", to},
                    {"bytes", shadow.volume->size_bytes}}
                   .dump()
            << "\n";
  else
    ctx.out << "Exported shadow copy " << braced(shadow.info.id) << " of '" << shadow.volume->name
            << "' to '" << to << "' (" << format_bytes(shadow.volume->size_bytes) << ").\n";
  return Status();
}

Status shadow_revert(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string id, one_positional(ctx, "a shadow copy ID"));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_ASSIGN_OR_RETURN(ShadowRef shadow, store->find_shadow(id));
  FF_TRY(revert_shadow(*store, shadow));
  if (ctx.json)
    ctx.out << json{{"reverted", shadow.volume->name}, {"to", shadow.info.id.to_string()}}.dump()
            << "\n";
  else
    ctx.out << "Reverted volume '" << shadow.volume->name << "' to shadow copy "
            << braced(shadow.info.id) << ".\n";
  return Status();
}

// ---- shadowstorage ----

Result<VolumeEntry*> storage_on(Context& ctx, Store& store, VolumeEntry& entry) {
  auto on = ctx.options.get("on");
  if (!on)
    return &entry;
  FF_ASSIGN_OR_RETURN(VolumeEntry * on_entry, store.volume(*on));
  return on_entry;
}

Status shadowstorage_add(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(std::string name, required(ctx, "for"));
  DiffAreaLimit limit = DiffAreaLimit::unbounded();
  if (auto m = ctx.options.get("maxsize")) {
    auto parsed = parse_limit(*m, ctx.command + " --maxsize");
    if (!parsed.ok())
      return parsed.status();
    limit = *parsed;
  }
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_ASSIGN_OR_RETURN(VolumeEntry * entry, store->volume(name));
  FF_ASSIGN_OR_RETURN(VolumeEntry * on, storage_on(ctx, *store, *entry));
  ProviderKind kind = entry->provider;
  if (auto p = ctx.options.get("provider")) {
    auto parsed = find_provider(*p);
    if (!parsed.ok())
      return parsed.status();
    kind = *parsed;
  }
  FF_TRY(store->create_storage(*entry, on->name, limit, kind));
  if (ctx.json)
    ctx.out << volume_json(*store, *entry).dump(2) << "\n";
  else
    ctx.out << "Successfully added the shadow copy storage association for '" << entry->name
            << "' on '" << on->name << "', maximum " << limit_text(limit) << ".\n";
  return Status();
}

Result<VolumeEntry*> association(Context& ctx, Store& store) {
  FF_ASSIGN_OR_RETURN(std::string name, required(ctx, "for"));
  FF_ASSIGN_OR_RETURN(VolumeEntry * entry, store.volume(name));
  if (!entry->storage)
    return not_found("volume '" + entry->name + "' has no shadow storage association");
  if (auto on = ctx.options.get("on")) {
    FF_ASSIGN_OR_RETURN(VolumeEntry * on_entry, store.volume(*on));
    if (on_entry->name != entry->storage->on)
      return not_found("volume '" + entry->name + "' has no shadow storage on '" + on_entry->name +
                       "' (its association is on '" + entry->storage->on + "')");
  }
  return entry;
}

Status shadowstorage_resize(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(std::string maxsize, required(ctx, "maxsize"));
  auto limit = parse_limit(maxsize, ctx.command + " --maxsize");
  if (!limit.ok())
    return limit.status();
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_ASSIGN_OR_RETURN(VolumeEntry * entry, association(ctx, *store));
  auto opened_before = store->open_volume(*entry);
  if (!opened_before.ok())
    return Status(opened_before.status().code(),
                  opened_before.status().message() +
                      "; a damaged shadow storage cannot be resized ('shadowstorage delete --for " +
                      entry->name + " --force' removes it)");
  std::size_t before = (*opened_before)->provider->snapshots().size();
  FF_TRY(store->resize_storage(*entry, *limit));
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, store->open_volume(*entry));
  std::size_t after = opened->provider->snapshots().size();
  if (ctx.json) {
    ctx.out << json{{"for", entry->name},
                    {"maxsize", limit_text(*limit)},
                    {"max_bytes", opened->provider->usage().max_bytes},
                    {"shadows_deleted", before - after}}
                   .dump()
            << "\n";
  } else {
    ctx.out << "Successfully resized the shadow copy storage association for '" << entry->name
            << "' to " << limit_text(*limit) << ".\n";
    if (before != after)
      ctx.out << (before - after) << " shadow copies were deleted to fit.\n";
  }
  return Status();
}

Status shadowstorage_delete(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  bool force = ctx.options.has("force");
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_ASSIGN_OR_RETURN(VolumeEntry * entry, association(ctx, *store));
  auto opened = store->open_volume(*entry);
  if (opened.ok()) {
    std::size_t count = (*opened)->provider->snapshots().size();
    if (count > 0 && !confirm(ctx, count)) {
      ctx.out << "Nothing deleted.\n";
      return Status();
    }
  }
  FF_ASSIGN_OR_RETURN(StorageRemoval removal, store->delete_storage(*entry, force));
  if (ctx.json) {
    json ids = json::array();
    for (const Uuid& id : removal.shadows)
      ids.push_back(id.to_string());
    ctx.out << json{{"for", entry->name},
                    {"shadows_deleted", removal.shadows.size()},
                    {"shadow_ids", ids},
                    {"diff_image", removal.diff_image},
                    {"damaged", removal.damaged}}
                   .dump()
            << "\n";
  } else if (removal.damaged) {
    ctx.out << "Removed the damaged shadow copy storage of '" << entry->name << "': diff area '"
            << removal.diff_image << "' and every shadow copy it held (they could not be read).\n";
    if (removal.kind == ProviderKind::kRedirectOnWrite)
      ctx.out << "Volume '" << entry->name
              << "' is redirect-on-write: live data that was redirected into that diff area is "
                 "lost; the volume now reads as its image alone.\n";
  } else {
    ctx.out << "Successfully deleted the shadow copy storage association for '" << entry->name
            << "' (" << removal.shadows.size() << " shadow copies deleted";
    for (const Uuid& id : removal.shadows)
      ctx.out << (id == removal.shadows.front() ? ": " : ", ") << braced(id);
    ctx.out << "; diff area '" << removal.diff_image << "' removed).\n";
  }
  return Status();
}

Status shadowstorage_list(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx, StoreAccess::kRead));
  VolumeEntry* for_volume = nullptr;
  if (auto f = ctx.options.get("for")) {
    FF_ASSIGN_OR_RETURN(for_volume, store->volume(*f));
  }
  VolumeEntry* on_volume = nullptr;
  if (auto o = ctx.options.get("on")) {
    FF_ASSIGN_OR_RETURN(on_volume, store->volume(*o));
  }
  json all = json::array();
  std::ostringstream text;
  for (VolumeEntry& entry : store->catalog().volumes) {
    if (!entry.storage || (for_volume && &entry != for_volume) ||
        (on_volume && entry.storage->on != on_volume->name))
      continue;
    auto opened_or = store->open_volume(entry);
    if (!opened_or.ok()) {
      all.push_back({{"for", entry.name},
                     {"on", entry.storage->on},
                     {"status", "damaged"},
                     {"damage", entry.damage}});
      text << "Shadow Copy Storage association\n"
           << "   For volume: (" << entry.name << ")\n"
           << "   Shadow Copy Storage volume: (" << entry.storage->on << ")\n"
           << "   DAMAGED: " << entry.damage << "\n\n";
      continue;
    }
    OpenVolume* opened = *opened_or;
    DiffAreaUsage usage = opened->provider->usage();
    auto percent = [&](std::uint64_t bytes) {
      return std::to_string(entry.size_bytes == 0 ? 0 : bytes * 100 / entry.size_bytes) + "%";
    };
    all.push_back({{"for", entry.name},
                   {"on", entry.storage->on},
                   {"status", "ok"},
                   {"provider", provider_kind_name(opened->provider->kind())},
                   {"used_bytes", usage.used_bytes},
                   {"allocated_bytes", usage.allocated_bytes},
                   {"max_bytes", usage.max_bytes},
                   {"maxsize", limit_text(entry.storage->limit)},
                   {"shadows", opened->provider->snapshots().size()}});
    text << "Shadow Copy Storage association\n"
         << "   For volume: (" << entry.name << ")\n"
         << "   Shadow Copy Storage volume: (" << entry.storage->on << ")\n"
         << "   Used Shadow Copy Storage space: " << format_bytes(usage.used_bytes) << " ("
         << percent(usage.used_bytes) << ")\n"
         << "   Allocated Shadow Copy Storage space: " << format_bytes(usage.allocated_bytes)
         << " (" << percent(usage.allocated_bytes) << ")\n"
         << "   Maximum Shadow Copy Storage space: "
         << (entry.storage->limit.kind == DiffAreaLimit::Kind::kUnbounded
                 ? "UNBOUNDED (" + format_bytes(usage.max_bytes) + " available)"
                 : format_bytes(usage.max_bytes) + " (" + percent(usage.max_bytes) + ")")
         << "\n\n";
  }
  if (ctx.json)
    ctx.out << all.dump(2) << "\n";
  else if (all.empty())
    ctx.out << "No items found that satisfy the query.\n";
  else
    ctx.out << text.str();
  return Status();
}

// ---- writers, providers ----

Status writers_list(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx, StoreAccess::kRead));
  FF_ASSIGN_OR_RETURN(auto engine, SetEngine::open(*store));
  json all = json::array();
  for (const WriterRow& w : engine->writers()) {
    all.push_back({{"name", w.name},
                   {"id", w.class_id.to_string()},
                   {"instance_id", w.instance_id.to_string()},
                   {"state", state_name(w.state)},
                   {"last_error", failure_name(w.failure)}});
    if (!ctx.json)
      ctx.out << "Writer name: '" << w.name << "'\n"
              << "   Writer Id: " << braced(w.class_id) << "\n"
              << "   Writer Instance Id: " << braced(w.instance_id) << "\n"
              << "   State: [" << static_cast<int>(w.state) << "] " << state_name(w.state) << "\n"
              << "   Last error: "
              << (w.failure == WriterFailure::kNone ? "No error"
                                                    : std::string(failure_name(w.failure)))
              << "\n\n";
  }
  if (ctx.json)
    ctx.out << all.dump(2) << "\n";
  return Status();
}

Status providers_list(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  json all = json::array();
  for (const ProviderRow& p : store_providers()) {
    all.push_back({{"name", p.name},
                   {"kind", provider_kind_name(p.kind)},
                   {"id", p.id.to_string()},
                   {"version", p.version}});
    if (!ctx.json)
      ctx.out << "Provider name: '" << p.name << "'\n"
              << "   Provider type: Software (" << provider_kind_name(p.kind) << ")\n"
              << "   Provider Id: " << braced(p.id) << "\n"
              << "   Version: " << p.version << "\n\n";
  }
  if (ctx.json)
    ctx.out << all.dump(2) << "\n";
  return Status();
}

// ---- script, shell ----

Status script_command(Context& ctx) {
  const auto& args = ctx.options.positionals();
  if (args.empty())
    return usage_error(ctx, "a script FILE is required");
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  std::vector<std::string> params(args.begin() + 1, args.end());
  return run_script_file(*store, args[0], params, ctx.out);
}

Status shell_command(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  return run_shell(*store, std::cin, ctx.out);
}

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {"volume create",
       {{"size", "sector", "provider"}, {}},
       "volume create NAME --size SIZE [--sector 512|4096] [--provider cow|row]\n"
       "  Creates a sparse volume image in the store. SIZE: 4096, 64M, 1G, 1GB...",
       volume_create},
      {"volume attach",
       {{"image", "sector", "provider"}, {}},
       "volume attach NAME --image PATH [--sector 512|4096] [--provider cow|row]\n"
       "  Adds an existing image file (or block device) as a volume; it is left in place "
       "when removed.",
       volume_attach},
      {"volume list", {{}, {}}, "volume list\n  Lists the volumes of the store.", volume_list},
      {"volume remove",
       {{}, {"quiet"}},
       "volume remove NAME [--quiet]\n"
       "  Deletes the volume's shadow copies and shadow storage, forgets the volume and deletes "
       "its image if the store created it.",
       volume_remove},
      {"volume write",
       {{"offset", "from", "length"}, {}},
       "volume write NAME --offset N --from FILE [--length L]\n"
       "  Writes FILE's bytes (the first L) at offset N through the snapshot provider (shadow "
       "copies keep\n  the old data). N: a multiple of the sector size. FILE may be a pipe or a "
       "device; what does not fit is refused.",
       volume_write},
      {"volume read",
       {{"offset", "length", "to"}, {}},
       "volume read NAME [--offset N] [--length L] --to FILE\n"
       "  Copies L bytes (default: to the end) of the live volume into FILE.",
       volume_read},
      {"volume consolidate",
       {{}, {}},
       "volume consolidate NAME\n"
       "  Redirect-on-write: folds redirected chunks that no shadow copy needs back into the "
       "volume image.",
       volume_consolidate},
      {"shadow create",
       {{"for", "provider", "context"}, {}},
       "shadow create --for NAME[,NAME...] [--provider cow|row|ID] [--context CONTEXT]\n"
       "  Takes one snapshot set across the volumes, through the protocol with every "
       "registered writer.\n"
       "  CONTEXT: clientaccessible (default, as vssadmin), persistent, "
       "approllback, nasrollback,\n"
       "  clientaccessiblewriters, backup, filesharebackup (auto-release: deleted when the "
       "command ends).",
       shadow_create},
      {"shadow list",
       {{"for", "set", "shadow"}, {}},
       "shadow list [--for NAME] [--set ID] [--shadow ID]\n"
       "  Lists shadow copies grouped by set; --json gives an array of objects.",
       shadow_list},
      {"shadow delete",
       {{"for", "set", "shadow"}, {"oldest", "all", "quiet"}},
       "shadow delete --shadow ID | --set ID | --for NAME [--oldest | --all] | --all [--quiet]\n"
       "  Deletes shadow copies (asks first on a terminal unless --quiet).",
       shadow_delete},
      {"shadow export",
       {{"to"}, {}},
       "shadow export ID --to FILE\n  Writes the shadow copy's full image to FILE.",
       shadow_export},
      {"shadow revert",
       {{}, {}},
       "shadow revert ID\n"
       "  Makes the volume read as the shadow copy did; newer shadow copies of the volume are "
       "deleted.",
       shadow_revert},
      {"shadowstorage add",
       {{"for", "on", "maxsize", "provider"}, {}},
       "shadowstorage add --for NAME [--on NAME] [--maxsize SIZE|N%|UNBOUNDED] "
       "[--provider cow|row]\n"
       "  Creates the diff area of a volume (default: on itself, UNBOUNDED).",
       shadowstorage_add},
      {"shadowstorage resize",
       {{"for", "on", "maxsize"}, {}},
       "shadowstorage resize --for NAME [--on NAME] --maxsize SIZE|N%|UNBOUNDED\n"
       "  Changes the maximum; shrinking below use deletes the oldest shadow copies.",
       shadowstorage_resize},
      {"shadowstorage delete",
       {{"for", "on"}, {"quiet", "force"}},
       "shadowstorage delete --for NAME [--on NAME] [--quiet] [--force]\n"
       "  Deletes the association and every shadow copy that uses it. --force also removes a "
       "damaged diff area\n  (its shadow copies are lost; so is a redirect-on-write volume's "
       "redirected live data).",
       shadowstorage_delete},
      {"shadowstorage list",
       {{"for", "on"}, {}},
       "shadowstorage list [--for NAME] [--on NAME]\n  Lists associations with their use.",
       shadowstorage_list},
      {"writers list", {{}, {}}, "writers list\n  Lists the registered writers.", writers_list},
      {"providers list",
       {{}, {}},
       "providers list\n  Lists the registered providers.",
       providers_list},
      {"script",
       {{}, {}},
       "script FILE [PARAM...]\n"
       "  Runs a diskshadow script; PARAMs become %DISKSH_PARAM_1%, %DISKSH_PARAM_2%, ...",
       script_command},
      {"shell",
       {{}, {}},
       "shell\n  Interactive diskshadow-style prompt (type 'help').",
       shell_command},
  };
  return kCommands;
}

std::string general_usage() {
  std::string text =
      "usage: freezeframe [--store DIR] [--wait SECONDS] [--json] <command> [options]\n"
      "\n"
      "The store is --store DIR, else $FREEZEFRAME_STORE, else ./.freezeframe.\n"
      "--json (anywhere on the line) prints JSON instead of tables.\n"
      "--wait SECONDS waits that long for another command holding the store (default: fail at "
      "once).\n"
      "\n"
      "commands:\n";
  for (const Command& command : commands())
    text += "  " + command.usage.substr(0, command.usage.find('\n')) + "\n";
  text +=
      "  demo [--seed N]\n"
      "  version\n"
      "\n"
      "'freezeframe COMMAND --help' describes one command.\n"
      "exit codes: 0 success, 1 the operation failed (or a volume is damaged), 2 bad usage,\n"
      "            3 store busy (the message names the holder's pid),\n"
      "            4 no such volume, shadow copy, set, writer or provider\n";
  return text;
}

}  // namespace

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk:
      return kExitOk;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kOutOfRange:
    case ErrorCode::kMisaligned:
      return kExitUsage;
    case ErrorCode::kBusy:
      return kExitBusy;
    case ErrorCode::kNotFound:
      return kExitNotFound;
    default:
      return kExitFailed;
  }
}

json shadow_json(Store& store, const ShadowRef& shadow) {
  const SnapshotInfo& info = shadow.info;
  json j = {{"id", info.id.to_string()},
            {"set_id", info.set_id.to_string()},
            {"volume", shadow.volume->name},
            {"provider", provider_kind_name(info.provider)},
            {"context", context_of_attributes(info.attributes)},
            {"created", format_iso8601_utc(info.created)},
            {"state", info.state == SnapshotState::kActive ? "active" : "invalidated"},
            {"sequence", info.sequence},
            {"attributes", attribute_words(info.attributes)},
            {"diff_area_bytes", info.diff_area_bytes},
            {"size_bytes", shadow.volume->size_bytes},
            {"exposed", nullptr}};
  if (auto exposed = store.exposure_of(info.id))
    j["exposed"] = *exposed;
  return j;
}

Status export_shadow(Store& store, const ShadowRef& shadow, const std::filesystem::path& to) {
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, store.open_volume(*shadow.volume));
  auto volume = opened->provider->open_snapshot(shadow.info.id);
  if (!volume.ok())
    return volume.status().with_context("shadow copy " + shadow.info.id.to_string());
  return copy_volume_to_file(*volume.value(), 0, volume.value()->size_bytes(), to,
                             "exporting " + shadow.info.id.to_string().substr(0, 8))
      .with_context("exporting shadow copy " + shadow.info.id.to_string());
}

Status revert_shadow(Store& store, const ShadowRef& shadow) {
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, store.open_volume(*shadow.volume));
  Progress progress("reverting " + shadow.volume->name, 1);
  FF_TRY(opened->provider->revert_to_snapshot(shadow.info.id)
             .with_context("reverting volume '" + shadow.volume->name + "' to shadow copy " +
                           shadow.info.id.to_string()));
  FF_TRY(opened->provider->flush());
  progress.finish();
  return Status();
}

Status ensure_storage(Store& store, VolumeEntry& entry, std::optional<ProviderKind> kind) {
  if (!entry.storage)
    return store.create_storage(entry, entry.name, DiffAreaLimit::unbounded(),
                                kind.value_or(entry.provider));
  if (!kind)
    return Status();
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, store.open_volume(entry));
  if (opened->provider->kind() == *kind)
    return Status();
  if (!opened->provider->snapshots().empty())
    return Status(ErrorCode::kBadState,
                  "volume '" + entry.name + "' has " +
                      std::to_string(opened->provider->snapshots().size()) + " " +
                      std::string(provider_kind_name(opened->provider->kind())) +
                      " shadow copies; the " + std::string(provider_kind_name(*kind)) +
                      " provider can take shadow copies of it only after they are deleted");
  ShadowStorage old = *entry.storage;
  FF_TRY(store.delete_storage(entry).status());
  return store.create_storage(entry, old.on, old.limit, *kind);
}

void print_shadow_details(Store& store, const std::vector<ShadowRef>& shadows, std::ostream& out) {
  for (const ShadowRef& shadow : shadows) {
    const SnapshotInfo& info = shadow.info;
    out << "\t* Shadow copy ID = " << braced(info.id) << "\n"
        << "\t\t- Shadow copy set: " << braced(info.set_id) << "\n"
        << "\t\t- Original volume name: " << shadow.volume->name << "\n"
        << "\t\t- Creation time: " << format_iso8601_utc(info.created) << "\n";
    if (auto exposed = store.exposure_of(info.id))
      out << "\t\t- Exposed as: " << *exposed << "\n";
    else
      out << "\t\t- Not exposed\n";
    out << "\t\t- Provider: " << provider_kind_name(info.provider) << "\n"
        << "\t\t- Attributes: " << attribute_words(info.attributes) << "\n"
        << "\t\t- State: " << (info.state == SnapshotState::kActive ? "active" : "invalidated")
        << "\n";
  }
  out << "\nNumber of shadow copies listed: " << shadows.size() << "\n";
}

int run_cli(const std::vector<std::string>& raw_args, std::ostream& out, std::ostream& err) {
  std::optional<std::string> store_flag;
  std::chrono::milliseconds wait{0};
  bool json_output = false;
  bool help = false;
  std::vector<std::string> args;
  for (std::size_t i = 0; i < raw_args.size(); ++i) {
    const std::string& arg = raw_args[i];
    if (arg == "--json") {
      json_output = true;
    } else if (arg == "--help" || arg == "-h") {
      help = true;
    } else if (arg == "--store") {
      if (i + 1 >= raw_args.size()) {
        err << "freezeframe: option '--store' needs a directory\n";
        return kExitUsage;
      }
      store_flag = raw_args[++i];
    } else if (arg.rfind("--store=", 0) == 0) {
      store_flag = arg.substr(8);
    } else if (arg == "--wait" || arg.rfind("--wait=", 0) == 0) {
      std::string text;
      if (arg == "--wait") {
        if (i + 1 >= raw_args.size()) {
          err << "freezeframe: option '--wait' needs a number of seconds\n";
          return kExitUsage;
        }
        text = raw_args[++i];
      } else {
        text = arg.substr(7);
      }
      char* end = nullptr;
      errno = 0;
      double seconds = std::strtod(text.c_str(), &end);
      if (text.empty() || end == nullptr || *end != '\0' || errno != 0 || !(seconds >= 0) ||
          seconds > kWaitSecondsMax) {
        err << "freezeframe: --wait '" << text << "' is not a number of seconds from 0 to "
            << kWaitSecondsMax << "\n";
        return kExitUsage;
      }
      wait = std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
    } else {
      args.push_back(arg);
    }
  }
  if (args.empty() || args[0] == "help") {
    if (args.size() > 1) {
      args.erase(args.begin());
      help = true;
    } else {
      (help || !args.empty() ? out : err) << general_usage();
      return help || !args.empty() ? kExitOk : kExitUsage;
    }
  }
  const Command* match = nullptr;
  std::size_t consumed = 0;
  for (const Command& command : commands()) {
    std::size_t space = command.words.find(' ');
    std::vector<std::string> words =
        space == std::string::npos ? std::vector<std::string>{command.words}
                                   : std::vector<std::string>{command.words.substr(0, space),
                                                              command.words.substr(space + 1)};
    if (args.size() >= words.size() && std::equal(words.begin(), words.end(), args.begin(),
                                                  [](const std::string& a, const std::string& b) {
                                                    return equals_ignore_case(a, b);
                                                  })) {
      match = &command;
      consumed = words.size();
      break;
    }
  }
  if (match == nullptr) {
    std::set<std::string> groups;
    for (const Command& command : commands())
      groups.insert(command.words.substr(0, command.words.find(' ')));
    if (groups.count(to_lower(args[0])) != 0) {
      std::string group = to_lower(args[0]);
      if (help) {
        for (const Command& command : commands())
          if (command.words.rfind(group + " ", 0) == 0)
            out << "freezeframe " << command.usage << "\n\n";
        return kExitOk;
      }
      err << "freezeframe: unknown " << group << " subcommand '"
          << (args.size() > 1 ? args[1] : std::string()) << "' (see 'freezeframe " << group
          << " --help')\n";
    } else {
      err << "freezeframe: unknown command '" << args[0] << "'\n" << general_usage();
    }
    return kExitUsage;
  }
  if (help) {
    out << "usage: freezeframe [--store DIR] [--json] " << match->usage << "\n";
    return kExitOk;
  }
  std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(consumed), args.end());
  auto options = Options::parse(rest, match->spec, match->words);
  if (!options.ok()) {
    err << "freezeframe: " << options.status().message() << "\n";
    return kExitUsage;
  }
  Context ctx{
      out,          err, json_output, Store::resolve_dir(store_flag), std::move(options).value(),
      match->words, wait};
  Status status = match->run(ctx);
  if (!status.ok()) {
    out.flush();
    err << "freezeframe " << match->words << ": error: " << status.message() << "\n";
    return exit_code_for(status);
  }
  return kExitOk;
}

}  // namespace freezeframe::cli

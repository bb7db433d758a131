// The shadowstorage group of the freezeframe command: add, resize, delete, list.
#include <sstream>
#include <vector>

#include "command_context.h"
#include "output.h"
#include "parse.h"
#include "snapshot_sets.h"

namespace freezeframe::cli::command {
namespace {

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

// --for NAME (with --on, which must then match), or every association on --on NAME (as
// vssadmin resize shadowstorage /on= without /for=).
Result<std::vector<VolumeEntry*>> associations(Context& ctx, Store& store) {
  if (ctx.options.has("for")) {
    FF_ASSIGN_OR_RETURN(VolumeEntry * entry, association(ctx, store));
    return std::vector<VolumeEntry*>{entry};
  }
  auto on = ctx.options.get("on");
  if (!on)
    return usage_error(ctx, "option '--for' (or '--on') is required");
  FF_ASSIGN_OR_RETURN(VolumeEntry * on_entry, store.volume(*on));
  std::vector<VolumeEntry*> entries;
  for (VolumeEntry& entry : store.catalog().volumes)
    if (entry.storage && entry.storage->on == on_entry->name)
      entries.push_back(&entry);
  if (entries.empty())
    return not_found("no shadow storage association is on volume '" + on_entry->name + "'");
  return entries;
}

Result<json> resize_association(Context& ctx, Store& store, VolumeEntry& entry,
                                const DiffAreaLimit& limit) {
  auto opened_before = store.open_volume(entry);
  if (!opened_before.ok())
    return Status(opened_before.status().code(),
                  opened_before.status().message() +
                      "; a damaged shadow storage cannot be resized ('shadowstorage delete --for " +
                      entry.name + " --force' removes it)");
  std::size_t before = (*opened_before)->provider->snapshots().size();
  FF_TRY(store.resize_storage(entry, limit));
  FF_ASSIGN_OR_RETURN(OpenVolume * opened, store.open_volume(entry));
  std::size_t after = opened->provider->snapshots().size();
  if (!ctx.json) {
    ctx.out << "Successfully resized the shadow copy storage association for '" << entry.name
            << "' to " << limit_text(limit) << ".\n";
    if (before != after)
      ctx.out << (before - after) << " shadow copies were deleted to fit.\n";
  }
  return json{{"for", entry.name},
              {"maxsize", limit_text(limit)},
              {"max_bytes", opened->provider->usage().max_bytes},
              {"shadows_deleted", before - after}};
}

Status shadowstorage_resize(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(std::string maxsize, required(ctx, "maxsize"));
  auto limit = parse_limit(maxsize, ctx.command + " --maxsize");
  if (!limit.ok())
    return limit.status();
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_ASSIGN_OR_RETURN(std::vector<VolumeEntry*> entries, associations(ctx, *store));
  json resized = json::array();
  for (VolumeEntry* entry : entries) {
    FF_ASSIGN_OR_RETURN(json done, resize_association(ctx, *store, *entry, *limit));
    resized.push_back(std::move(done));
  }
  // One association (--for): its object, as before --on alone was accepted; several: an array.
  if (ctx.json)
    ctx.out << (resized.size() == 1 ? resized[0] : resized).dump() << "\n";
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
    const VolumeEntry* on_entry = store->find_volume(entry.storage->on);
    text << "Shadow Copy Storage association\n"
         << "   For volume: " << volume_spec(entry) << "\n"
         << "   Shadow Copy Storage volume: "
         << (on_entry != nullptr ? volume_spec(*on_entry) : "(" + entry.storage->on + ")") << "\n";
    auto opened_or = store->open_volume(entry);
    if (!opened_or.ok()) {
      all.push_back({{"for", entry.name},
                     {"on", entry.storage->on},
                     {"status", "damaged"},
                     {"damage", entry.damage}});
      text << "   DAMAGED: " << entry.damage << "\n\n";
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
    text << "   Used Shadow Copy Storage space: " << format_bytes(usage.used_bytes) << " ("
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

}  // namespace

std::vector<CommandSpec> shadowstorage_commands() {
  const OptionSpec on{"on", "NAME", "the volume the diff area is accounted to"};
  const std::string maxsize_text = "SIZE (at least 1 MB), N% of the volume, or UNBOUNDED";
  return {
      {"shadowstorage add",
       "",
       "Creates the diff area of a volume (default: on itself, UNBOUNDED).",
       {{"for", "NAME", "the volume", true},
        {"on", "NAME", "the volume the diff area is accounted to (default: the volume itself)"},
        {"maxsize", "SIZE|N%|UNBOUNDED", maxsize_text},
        {"provider", "cow|row|ID", "the kind of diff area (default: the volume's)"}},
       shadowstorage_add},
      {"shadowstorage resize",
       "",
       "Changes the maximum of the --for volume's association, or of every association on "
       "--on; shrinking below use deletes the oldest shadow copies.",
       {{"for", "NAME", "the volume"}, on, {"maxsize", "SIZE|N%|UNBOUNDED", maxsize_text, true}},
       shadowstorage_resize},
      {"shadowstorage delete",
       "",
       "Deletes the association and every shadow copy that uses it.",
       {{"for", "NAME", "the volume", true},
        on,
        {"quiet", "", "do not ask"},
        {"force", "",
         "also remove a damaged diff area (its shadow copies are lost; so is a "
         "redirect-on-write volume's redirected live data)"}},
       shadowstorage_delete},
      {"shadowstorage list",
       "",
       "Lists associations with their used, allocated and maximum space.",
       {{"for", "NAME", "only this volume's association"},
        {"on", "NAME", "only the associations on this volume"}},
       shadowstorage_list},
  };
}

}  // namespace freezeframe::cli::command

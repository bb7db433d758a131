// The shadow group of the freezeframe command (create, list, delete, export, revert) and the
// shadow-copy operations the diskshadow-style interpreter (script.h) and the vssadmin syntax
// share with it.
#include <algorithm>

#include "command_context.h"
#include "commands.h"
#include "freezeframe/clock.h"
#include "output.h"
#include "parse.h"
#include "snapshot_sets.h"

namespace freezeframe::cli {
namespace command {

Result<TakenSet> take_set(Context& ctx, const std::string& names, std::optional<ProviderKind> kind,
                          SetRequest request) {
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
  return TakenSet{std::move(store), std::move(engine), std::move(set)};
}

json created_set_json(Store& store, const CreatedSet& set) {
  json shadows = json::array();
  for (const ShadowRef& shadow : set.shadows)
    shadows.push_back(shadow_json(store, shadow));
  return json{{"set_id", set.id.to_string()},
              {"context", context_name(set.context)},
              {"released_at_exit", !context_has(set.context, kAttrNoAutoRelease)},
              {"shadows", shadows}};
}

std::string volume_spec(const VolumeEntry& volume) {
  if (volume.uuid.is_nil())
    return "(" + volume.name + ")";
  return "(" + volume.name + ")\\\\?\\Volume" + braced(volume.uuid) + "\\";
}

std::string shadow_copy_volume(Store& store, const SnapshotInfo& info) {
  if (auto exposed = store.exposure_of(info.id))
    return *exposed;
  return "not exposed (shadow export " + braced(info.id) + " --to FILE reads it)";
}

namespace {

// Grouped by set, in order of first appearance, as vssadmin prints them.
void print_shadow_sets(Store& store, const std::vector<ShadowRef>& shadows, std::ostream& out) {
  std::vector<Uuid> sets;
  for (const ShadowRef& shadow : shadows)
    if (std::find(sets.begin(), sets.end(), shadow.info.set_id) == sets.end())
      sets.push_back(shadow.info.set_id);
  for (const Uuid& set : sets) {
    std::vector<const ShadowRef*> members;
    for (const ShadowRef& shadow : shadows)
      if (shadow.info.set_id == set)
        members.push_back(&shadow);
    out << "Contents of shadow copy set ID: " << braced(set) << "\n"
        << "   Contained " << members.size()
        << " shadow copies at creation time: " << format_iso8601_utc(members[0]->info.created)
        << "\n";
    for (const ShadowRef* shadow : members) {
      const SnapshotInfo& info = shadow->info;
      out << "      Shadow Copy ID: " << braced(info.id) << "\n"
          << "         Original Volume: " << volume_spec(*shadow->volume) << "\n"
          << "         Shadow Copy Volume: " << shadow_copy_volume(store, info) << "\n"
          << "         Provider: '" << provider_kind_name(info.provider) << "'\n"
          << "         Type: " << context_of_attributes(info.attributes) << "\n"
          << "         Attributes: " << attribute_words(info.attributes) << "\n"
          << "         State: " << (info.state == SnapshotState::kActive ? "active" : "invalidated")
          << "\n"
          << "         Diff area: " << format_bytes(info.diff_area_bytes) << "\n";
    }
    out << "\n";
  }
}

Status shadow_create(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(std::string names, required(ctx, "for"));
  SetRequest request;
  if (auto c = ctx.options.get("context")) {
    auto parsed = parse_context(*c);
    if (!parsed.ok())
      return usage_error(ctx, parsed.status().message());
    request.context = *parsed;
  }
  std::optional<ProviderKind> kind;
  if (auto p = ctx.options.get("provider")) {
    if (*p == "vss")
      return shadow_create_vss(ctx, names, request.context);
    auto parsed = find_provider(*p);
    if (!parsed.ok())
      return parsed.status();
    kind = *parsed;
  }
  FF_ASSIGN_OR_RETURN(TakenSet taken, take_set(ctx, names, kind, std::move(request)));
  const CreatedSet& set = taken.set;
  bool auto_release = !context_has(set.context, kAttrNoAutoRelease);
  if (ctx.json) {
    ctx.out << created_set_json(*taken.store, set).dump(2) << "\n";
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

// Inside the daemon: takes away the file presenting `id`, if any, before the snapshot goes,
// so that the store finds its placeholder again and removes it with the record.
void withdraw_exposure(Context& ctx, Store& store, const Uuid& id) {
  if (!ctx.withdraw_file)
    return;
  if (auto exposed = store.exposure_of(id))
    (void)ctx.withdraw_file(*exposed).ok();  // kNotFound: nothing presented there
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

// --provider on list and delete: only vss, Windows' shadow copies instead of the store's.
Result<bool> wants_vss(const Context& ctx, const char* command) {
  auto provider = ctx.options.get("provider");
  if (!provider)
    return false;
  if (*provider != "vss")
    return usage_error(ctx, concat(command,
                                   " --provider takes only vss (the store's shadow copies "
                                   "need no --provider)"));
  return true;
}

Status shadow_list(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(bool vss, wants_vss(ctx, "shadow list"));
  if (vss)
    return shadow_list_vss(ctx);
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
  print_shadow_sets(*store, shadows, ctx.out);
  return Status();
}

Status shadow_delete(Context& ctx) {
  FF_TRY(no_positionals(ctx));
  FF_ASSIGN_OR_RETURN(bool vss, wants_vss(ctx, "shadow delete"));
  if (vss)
    return shadow_delete_vss(ctx);
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
    withdraw_exposure(ctx, *store, shadow.info.id);
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

// Through a serve daemon: the snapshot appears as a file at --to (FUSE, no copy). Without
// one: a full copy is written there, as the script's `expose` does.
Status shadow_expose(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string id, one_positional(ctx, "a shadow copy ID"));
  if (ctx.options.has("nbd")) {
    // The export of a running `serve --nbd`: its URI, nothing recorded in the store.
    if (!ctx.nbd_uri)
      return invalid_argument(
          "shadow expose --nbd needs a running 'freezeframe serve --nbd' on the store (its "
          "nbdkit serves every snapshot)");
    FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
    FF_ASSIGN_OR_RETURN(ShadowRef shadow, store->find_shadow(id));
    const std::string uri = ctx.nbd_uri(shadow.volume->name + "@" + shadow.info.id.to_string());
    if (ctx.json)
      ctx.out << json{{"id", shadow.info.id.to_string()}, {"nbd", uri}}.dump() << "\n";
    else
      ctx.out << uri << "\n";
    return Status();
  }
  FF_ASSIGN_OR_RETURN(std::string to, required(ctx, "to"));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_ASSIGN_OR_RETURN(ShadowRef shadow, store->find_shadow(id));
  const bool copy = !ctx.present_file;
  if (copy) {
    FF_TRY(store->expose(shadow, to));
  } else {
    std::string name = shadow.volume->name + "@" + shadow.info.id.to_string();
    std::filesystem::path path = std::filesystem::absolute(to);
    FF_TRY(store->expose_in_place(shadow, path, [&] { return ctx.present_file(name, path); }));
  }
  std::string exposed = store->exposure_of(shadow.info.id).value_or(to);
  if (ctx.json)
    ctx.out << json{{"id", shadow.info.id.to_string()}, {"exposed", exposed}, {"copy", copy}}.dump()
            << "\n";
  else
    ctx.out << "The shadow copy was successfully exposed as " << exposed
            << (copy ? " (a copy).\n" : ".\n");
  return Status();
}

Status shadow_unexpose(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string id, one_positional(ctx, "a shadow copy ID"));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_ASSIGN_OR_RETURN(ShadowRef shadow, store->find_shadow(id));
  auto exposed = store->exposure_of(shadow.info.id);
  if (!exposed)
    return not_found("shadow copy " + braced(shadow.info.id) + " is not exposed");
  if (ctx.withdraw_file) {
    Status withdrawn = ctx.withdraw_file(*exposed);
    if (!withdrawn.ok() && withdrawn.code() != ErrorCode::kNotFound)
      return withdrawn;
  }
  FF_ASSIGN_OR_RETURN(std::string path, store->unexpose(shadow.info.id));
  if (ctx.json)
    ctx.out << json{{"id", shadow.info.id.to_string()}, {"unexposed", path}}.dump() << "\n";
  else
    ctx.out << "The shadow copy is no longer exposed as " << path << ".\n";
  return Status();
}

Status shadow_revert(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string id, one_positional(ctx, "a shadow copy ID"));
  FF_ASSIGN_OR_RETURN(auto store, open_store(ctx));
  FF_ASSIGN_OR_RETURN(ShadowRef shadow, store->find_shadow(id));
  // Revert deletes the newer shadow copies of the volume; their files go first. (The daemon
  // presents the remaining ones again after the command.)
  std::vector<Uuid> siblings;
  if (ctx.withdraw_file) {
    FF_ASSIGN_OR_RETURN(std::vector<ShadowRef> all, store->shadows());
    for (const ShadowRef& other : all)
      if (other.volume == shadow.volume) {
        withdraw_exposure(ctx, *store, other.info.id);
        siblings.push_back(other.info.id);
      }
  }
  FF_TRY(revert_shadow(*store, shadow));
  // The exposures of the shadow copies the revert deleted go with them.
  for (const Uuid& sibling : siblings)
    if (!store->find_shadow(sibling).ok() && store->exposure_of(sibling))
      (void)store->unexpose(sibling).ok();
  if (ctx.json)
    ctx.out << json{{"reverted", shadow.volume->name}, {"to", shadow.info.id.to_string()}}.dump()
            << "\n";
  else
    ctx.out << "Reverted volume '" << shadow.volume->name << "' to shadow copy "
            << braced(shadow.info.id) << ".\n";
  return Status();
}

}  // namespace

std::vector<CommandSpec> shadow_commands() {
  const OptionSpec for_volume{"for", "NAME", "only the shadow copies of this volume"};
  const OptionSpec set{"set", "ID", "only the shadow copies of this set"};
  const OptionSpec shadow{"shadow", "ID", "only this shadow copy"};
  return {
      {"shadow create",
       "",
       "Takes one snapshot set across the volumes, through the protocol with every registered "
       "writer.",
       {{"for", "NAME[,NAME...]", "the volumes of the set", true},
        {"provider", "cow|row|vss|ID",
         "the provider, by kind, name or id; vss: Windows' shadow copies (no store)"},
        {"context", "CONTEXT",
         "clientaccessible (default, as vssadmin), persistent, approllback, nasrollback, "
         "clientaccessiblewriters, backup, filesharebackup (auto-release: deleted when the "
         "command ends)"}},
       shadow_create},
      {"shadow list",
       "",
       "Lists shadow copies grouped by set; --json gives an array of objects.",
       {for_volume, set, shadow, {"provider", "vss", "the shadow copies Windows' VSS holds"}},
       shadow_list},
      {"shadow delete",
       "",
       "Deletes shadow copies: --shadow ID, --set ID, --for NAME [--oldest | --all], or --all "
       "(asks first on a terminal unless --quiet).",
       {{"for", "NAME", "the shadow copies of this volume (all of them, unless --oldest)"},
        set,
        shadow,
        {"oldest", "", "with --for: only the volume's oldest shadow copy"},
        {"all", "", "every shadow copy (of the --for volume, if given)"},
        {"quiet", "", "do not ask"},
        {"provider", "vss", "with --shadow ID: a shadow copy Windows' VSS holds"}},
       shadow_delete},
      {"shadow export",
       "ID",
       "Writes the shadow copy's full image to FILE.",
       {{"to", "FILE", "the file to write", true}},
       shadow_export},
      {"shadow expose",
       "ID",
       "Presents the shadow copy as the file PATH: through a running `serve`, a read-only "
       "FUSE file (no copy); without one, a full copy. With --nbd, prints its NBD URI.",
       {{"to", "PATH", "where the file appears (nothing may exist there)"},
        {"nbd", "", "prints the snapshot's NBD URI (needs a running `serve --nbd`)"}},
       shadow_expose},
      {"shadow unexpose",
       "ID",
       "Takes the shadow copy's exposed file away (a copy is deleted if unchanged).",
       {},
       shadow_unexpose},
      {"shadow revert",
       "ID",
       "Makes the volume read as the shadow copy did; newer shadow copies of the volume are "
       "deleted.",
       {},
       shadow_revert},
  };
}

}  // namespace command

using namespace command;  // NOLINT(google-build-using-namespace): the commands' own helpers

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

}  // namespace freezeframe::cli

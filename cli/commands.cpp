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

#include "command_context.h"
#include "freezeframe/clock.h"
#include "freezeframe/file_volume.h"
#include "output.h"
#include "parse.h"
#include "script.h"
#include "snapshot_sets.h"

namespace freezeframe::cli {

using namespace command;  // NOLINT(google-build-using-namespace): the commands' own helpers

namespace command {

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
Result<std::unique_ptr<Store>> open_store(const Context& ctx, StoreAccess access) {
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
                                   std::optional<std::uint64_t> fallback) {
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

bool confirm(Context& ctx, std::size_t count) {
  if (ctx.options.has("quiet") || ctx.json || !stdin_is_terminal())
    return true;
  ctx.out << "Do you really want to delete " << count << " shadow copies (Y/N): [N]? "
          << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return !answer.empty() && (answer[0] == 'y' || answer[0] == 'Y');
}

}  // namespace command

namespace {

// --wait: a day at most; a longer wait is a mistake, not a plan.
constexpr double kWaitSecondsMax = 86400;

struct Command {
  std::string words;  // "volume create"
  Options::Spec spec;
  std::string usage;
  std::function<Status(Context&)> run;
};

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

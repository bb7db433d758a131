// The helpers every command group shares, the writers, providers, script and shell commands,
// and exit codes. The command line itself is parsed in command_line.cpp.
#include "commands.h"

#include <algorithm>
#include <iostream>

#include "command_context.h"
#include "freezeframe/terminal.h"
#include "parse.h"
#include "script.h"
#include "snapshot_sets.h"

namespace freezeframe::cli {
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
bool forwarded_command(std::string_view words) {
  return words == "shadow create" || words == "shadow delete" || words == "shadow revert" ||
         words == "shadow list" || words == "shadow export" || words == "shadow expose" ||
         words == "shadow unexpose" || words == "volume list" || words == "shadowstorage list";
}

Result<StoreHandle> open_store(const Context& ctx, StoreAccess access) {
  if (ctx.served_store != nullptr)
    return StoreHandle(ctx.served_store, StoreRelease{false});
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
  FF_ASSIGN_OR_RETURN(auto store, Store::open(ctx.store_dir, options));
  return StoreHandle(store.release(), StoreRelease{true});
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
  // Inside the daemon the terminal, if any, is not the user's.
  if (ctx.options.has("quiet") || ctx.json || ctx.served_store != nullptr || !stdin_is_terminal())
    return true;
  ctx.out << "Do you really want to delete " << count << " shadow copies (Y/N): [N]? "
          << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return !answer.empty() && (answer[0] == 'y' || answer[0] == 'Y');
}

namespace {

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
  // A Windows build also offers VSS itself (shadow create --provider vss).
  if (vss_built_in()) {
    const Uuid id = Uuid::from_name(kVssProviderName);
    all.push_back(
        {{"name", kVssProviderName}, {"kind", "vss"}, {"id", id.to_string()}, {"version", "1.0"}});
    if (!ctx.json)
      ctx.out << "Provider name: '" << kVssProviderName << "'\n"
              << "   Provider type: System (Windows' Volume Shadow Copy Service, no store)\n"
              << "   Provider Id: " << braced(id) << "\n"
              << "   Version: 1.0\n\n";
  }
  if (ctx.json)
    ctx.out << all.dump(2) << "\n";
  return Status();
}

}  // namespace

std::vector<CommandSpec> other_commands() {
  return {
      {"writers list", "", "Lists the registered writers.", {}, writers_list},
      {"providers list", "", "Lists the registered providers.", {}, providers_list},
      {"script",
       "FILE [PARAM...]",
       "Runs a diskshadow script; PARAMs become %DISKSH_PARAM_1%, %DISKSH_PARAM_2%, ...",
       {},
       script_command},
      {"shell", "", "Interactive diskshadow-style prompt (type 'help').", {}, shell_command},
  };
}

}  // namespace command

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

}  // namespace freezeframe::cli

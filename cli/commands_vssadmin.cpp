// `freezeframe vssadmin VERB NOUN /Switch=value ...`: vssadmin's published command lines,
// translated into the native commands (shadow list, shadowstorage resize...) they mean.
// Verbs, nouns and switch names are case-insensitive, as on Windows.
#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "command_context.h"
#include "commands.h"
#include "parse.h"

namespace freezeframe::cli::command {
namespace {

// A switch: /Name=value, or /Name alone when it is a flag. `option` is the native option it
// becomes; empty: the native command's positional; "-": accepted and ignored.
struct SwitchSpec {
  std::string name;  // as Microsoft spells it: "For", "MaxSize"
  std::string value;
  std::string option;
  bool required = false;
};

struct VssadminSpec {
  std::string verb;
  std::string noun;
  std::string summary;
  std::vector<SwitchSpec> switches;
  // The native command the switches are handed to ("shadow list"); empty: `run`.
  std::string native;
  std::function<Status(Context&)> run;
};

// /AutoRetry: minutes to keep trying while another command holds the store; a day at most.
constexpr std::uint64_t kAutoRetryMinutesMax = 1440;

Status create_shadow(Context& ctx) {
  FF_ASSIGN_OR_RETURN(std::string names, required(ctx, "for"));
  if (auto retry = ctx.options.get("autoretry")) {
    char* end = nullptr;
    unsigned long long minutes = std::strtoull(retry->c_str(), &end, 10);
    if (retry->empty() || *end != '\0' || !std::isdigit(static_cast<unsigned char>((*retry)[0])) ||
        minutes > kAutoRetryMinutesMax)
      return usage_error(ctx, "/AutoRetry='" + *retry + "' is not a number of minutes from 0 to " +
                                  std::to_string(kAutoRetryMinutesMax));
    ctx.wait = std::max<std::chrono::milliseconds>(ctx.wait, std::chrono::minutes(minutes));
  }
  // vssadmin creates client-accessible shadow copies only.
  SetRequest request;
  request.context = SnapshotContext::kClientAccessible;
  FF_ASSIGN_OR_RETURN(TakenSet taken, take_set(ctx, names, std::nullopt, std::move(request)));
  if (ctx.json) {
    ctx.out << created_set_json(*taken.store, taken.set).dump(2) << "\n";
    return Status();
  }
  for (const ShadowRef& shadow : taken.set.shadows)
    ctx.out << "Successfully created shadow copy for '" << shadow.volume->name << "'\n"
            << "    Shadow Copy ID: " << braced(shadow.info.id) << "\n"
            << "    Shadow Copy Volume Name: " << shadow_copy_volume(*taken.store, shadow.info)
            << "\n";
  return Status();
}

const std::vector<VssadminSpec>& vssadmin_commands() {
  static const std::vector<VssadminSpec> kCommands = [] {
    const SwitchSpec for_volume{"For", "ForVolumeSpec", "for"};
    const SwitchSpec on_volume{"On", "OnVolumeSpec", "on"};
    const SwitchSpec quiet{"Quiet", "", "quiet"};
    return std::vector<VssadminSpec>{
        {"list",
         "shadows",
         "Lists shadow copies, grouped by set.",
         {for_volume, {"Shadow", "ShadowId", "shadow"}, {"Set", "ShadowSetId", "set"}},
         "shadow list"},
        {"list",
         "shadowstorage",
         "Lists shadow storage associations with their used, allocated and maximum space.",
         {for_volume, on_volume},
         "shadowstorage list"},
        {"list", "volumes", "Lists the volumes of the store.", {}, "volume list"},
        {"list", "writers", "Lists the writers.", {}, "writers list"},
        {"list", "providers", "Lists the providers.", {}, "providers list"},
        {"create",
         "shadow",
         "Takes a client-accessible shadow copy of the volume.",
         {{"For", "ForVolumeSpec", "for", true}, {"AutoRetry", "MaxRetryMinutes", "autoretry"}},
         "",
         create_shadow},
        {"delete",
         "shadows",
         "Deletes the volume's shadow copies: all of them, the oldest, or one; /All alone: "
         "every shadow copy.",
         {for_volume,
          {"Oldest", "", "oldest"},
          {"All", "", "all"},
          {"Shadow", "ShadowId", "shadow"},
          quiet},
         "shadow delete"},
        {"revert",
         "shadow",
         "Reverts the volume to the shadow copy.",
         {{"Shadow", "ShadowId", "", true}, {"ForceDismount", "", "-"}, quiet},
         "shadow revert"},
        {"add",
         "shadowstorage",
         "Adds a shadow storage association.",
         {{"For", "ForVolumeSpec", "for", true},
          {"On", "OnVolumeSpec", "on", true},
          {"MaxSize", "MaxSizeSpec", "maxsize"}},
         "shadowstorage add"},
        {"resize",
         "shadowstorage",
         "Resizes the association of /For=, or every association on /On=.",
         {for_volume, on_volume, {"MaxSize", "MaxSizeSpec", "maxsize", true}},
         "shadowstorage resize"},
        {"delete",
         "shadowstorage",
         "Deletes the association and the shadow copies that use it.",
         {{"For", "ForVolumeSpec", "for", true}, on_volume, quiet},
         "shadowstorage delete"},
    };
  }();
  return kCommands;
}

std::string switch_synopsis(const SwitchSpec& option) {
  std::string text = "/" + option.name + (option.value.empty() ? "" : "=" + option.value);
  return option.required ? text : "[" + text + "]";
}

std::string vssadmin_synopsis(const VssadminSpec& spec) {
  std::string text = "vssadmin " + spec.verb + " " + spec.noun;
  for (const SwitchSpec& option : spec.switches)
    text += " " + switch_synopsis(option);
  return text;
}

// What a line names, checked word by word so that a mistake is named precisely.
Result<const VssadminSpec*> find_spec(const Context& ctx, const std::vector<std::string>& args) {
  const auto& all = vssadmin_commands();
  std::vector<std::string> verbs;
  for (const VssadminSpec& spec : all)
    if (std::find(verbs.begin(), verbs.end(), spec.verb) == verbs.end())
      verbs.push_back(spec.verb);
  auto near = [](const std::string& word, const std::vector<std::string>& words) {
    auto close = closest_word(word, words);
    return close ? "; did you mean '" + *close + "'?" : std::string();
  };
  if (args.empty() || args[0].empty() || args[0][0] == '/')
    return usage_error(ctx,
                       "say what to do: vssadmin VERB NOUN [/Switch=value...] (see "
                       "'freezeframe vssadmin --help')");
  std::string verb = to_lower(args[0]);
  if (std::find(verbs.begin(), verbs.end(), verb) == verbs.end())
    return usage_error(ctx, "unknown vssadmin command '" + args[0] + "'" + near(verb, verbs) +
                                " (see 'freezeframe vssadmin --help')");
  std::vector<std::string> nouns;
  for (const VssadminSpec& spec : all)
    if (spec.verb == verb)
      nouns.push_back(spec.noun);
  if (args.size() < 2 || args[1].empty() || args[1][0] == '/') {
    std::string list;
    for (const std::string& noun : nouns)
      list += (list.empty() ? "" : ", ") + verb + " " + noun;
    return usage_error(ctx, "'" + verb + "' needs what to " + verb + ": " + list);
  }
  std::string noun = to_lower(args[1]);
  for (const VssadminSpec& spec : all)
    if (spec.verb == verb && spec.noun == noun)
      return &spec;
  return usage_error(ctx, "unknown vssadmin command '" + verb + " " + args[1] + "'" +
                              near(noun, nouns) + " (see 'freezeframe vssadmin --help')");
}

// The switches of the line, as the native options they stand for.
Result<Options> translate(const Context& ctx, const VssadminSpec& spec,
                          const std::vector<std::string>& args) {
  Options options;
  std::vector<std::string> seen;
  const std::string command = "'vssadmin " + spec.verb + " " + spec.noun + "'";
  for (std::size_t i = 2; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '/')
      return usage_error(ctx, "unexpected argument '" + arg + "' in " + command +
                                  " (switches are written /Name=value)");
    std::size_t eq = arg.find('=');
    std::string name = arg.substr(1, eq == std::string::npos ? std::string::npos : eq - 1);
    auto known = std::find_if(spec.switches.begin(), spec.switches.end(), [&](const SwitchSpec& s) {
      return equals_ignore_case(s.name, name);
    });
    if (known == spec.switches.end()) {
      std::vector<std::string> names;
      std::string list;
      for (const SwitchSpec& s : spec.switches) {
        names.push_back(s.name);
        list += (list.empty() ? "" : " ") + switch_synopsis(s);
      }
      auto close = closest_word(name, names);
      return usage_error(
          ctx, "unknown switch '/" + name + "' for " + command +
                   (close ? "; did you mean '/" + *close + "'?" : "") +
                   (list.empty() ? " (it takes no switches)" : " (it takes " + list + ")"));
    }
    if (std::find(seen.begin(), seen.end(), known->name) != seen.end())
      return usage_error(ctx, "switch '/" + known->name + "' given twice");
    seen.push_back(known->name);
    std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (known->value.empty() && eq != std::string::npos)
      return usage_error(ctx, "switch '/" + known->name + "' takes no value, got '" + arg + "'");
    if (!known->value.empty() && value.empty())
      return usage_error(
          ctx, "switch '/" + known->name + "' needs a value: /" + known->name + "=" + known->value);
    if (known->option == "-")
      continue;
    if (known->option.empty())
      options.add_positional(value);
    else
      options.set(known->option, value);
  }
  for (const SwitchSpec& s : spec.switches)
    if (s.required && std::find(seen.begin(), seen.end(), s.name) == seen.end())
      return usage_error(ctx, command + " needs " + switch_synopsis(s));
  return options;
}

Status vssadmin(Context& ctx) {
  const std::vector<std::string> args = ctx.options.positionals();
  FF_ASSIGN_OR_RETURN(const VssadminSpec* spec, find_spec(ctx, args));
  FF_ASSIGN_OR_RETURN(Options options, translate(ctx, *spec, args));
  Context translated{ctx.out,
                     ctx.err,
                     ctx.json,
                     ctx.store_dir,
                     std::move(options),
                     "vssadmin " + spec->verb + " " + spec->noun,
                     ctx.wait};
  if (spec->native.empty())
    return spec->run(translated);
  return native_command(spec->native).run(translated);
}

std::string vssadmin_details() {
  std::string text = "commands:\n";
  for (const VssadminSpec& spec : vssadmin_commands())
    text += "  " + vssadmin_synopsis(spec) + "\n      " + spec.summary + "\n";
  text +=
      "\nVerbs, nouns and switch names are case-insensitive. A volume spec is a volume's name "
      "in the store\n(C: and C:\\ are the same) or its GUID path \\\\?\\Volume{UUID}\\. "
      "MaxSizeSpec: a size with an\noptional KB, MB, GB, TB, PB or EB suffix (at least 1 MB), "
      "a percentage of the volume (20%),\nor UNBOUNDED.\n";
  return text;
}

}  // namespace

CommandSpec vssadmin_command() {
  return {"vssadmin",
          "VERB NOUN [/Switch=value...]",
          "vssadmin's command lines: list, create, delete, revert, add, resize.",
          {},
          vssadmin,
          vssadmin_details()};
}

}  // namespace freezeframe::cli::command

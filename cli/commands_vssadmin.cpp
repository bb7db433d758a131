// `freezeframe vssadmin VERB NOUN /Switch=value ...`: vssadmin's published command lines,
// translated into the native commands (shadow list, shadowstorage resize...) they mean.
// Verbs, nouns and switch names are case-insensitive, as on Windows.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "command_context.h"
#include "commands.h"
#include "parse.h"

namespace freezeframe::cli::command {
namespace {

// vssadmin's commands are CommandSpecs too: `words` is "VERB NOUN", each option is a switch
// spelled as Microsoft does ("For", "MaxSize"; a flag has no value), and the native option it
// becomes is its name in lower case.

// Runs the native command with these words on the translated switches.
std::function<Status(Context&)> native(std::string words) {
  return [words = std::move(words)](Context& ctx) { return native_command(words).run(ctx); };
}

// vssadmin names the shadow copy to revert with /Shadow=; shadow revert takes it as its ID.
Status revert_shadow_command(Context& ctx) {
  Options options;
  options.add_positional(ctx.options.get("shadow").value_or(""));
  Context translated{ctx.out,     ctx.err, ctx.json, ctx.store_dir, std::move(options),
                     ctx.command, ctx.wait};
  return native_command("shadow revert").run(translated);
}

// Without /MaxSize, vssadmin resize shadowstorage removes the limit.
Status resize_storage_command(Context& ctx) {
  if (!ctx.options.has("maxsize"))
    ctx.options.set("maxsize", "UNBOUNDED");
  return native_command("shadowstorage resize").run(ctx);
}

// vssadmin lists the shadow copies VSS holds. A Windows build lists the store's (when there is
// a store) and then VSS's; elsewhere there is only the store. --json: one array, VSS's entries
// with "provider": "vss". VSS missing (Wine) is a notice on stderr when the store was listed.
Status list_shadows(Context& ctx) {
  if (!vss_built_in())
    return native_command("shadow list").run(ctx);
  const bool store_exists = std::filesystem::exists(ctx.store_dir / "catalog.json");
  std::ostringstream store_out;
  if (store_exists) {
    Context store_ctx{ctx.json ? store_out : ctx.out,
                      ctx.err,
                      ctx.json,
                      ctx.store_dir,
                      ctx.options,
                      ctx.command,
                      ctx.wait};
    FF_TRY(native_command("shadow list").run(store_ctx));
  }
  Options vss_options = ctx.options;
  vss_options.set("provider", "vss");
  std::ostringstream vss_out;
  Context vss_ctx{ctx.json ? vss_out : ctx.out, ctx.err,     ctx.json, ctx.store_dir,
                  std::move(vss_options),       ctx.command, ctx.wait};
  if (store_exists && !ctx.json)
    ctx.out << "Shadow copies held by Windows' Volume Shadow Copy Service:\n";
  Status listed = shadow_list_vss(vss_ctx);
  if (!listed.ok()) {
    if (!store_exists)
      return listed;
    ctx.err << "freezeframe: VSS's shadow copies are not listed: " << listed.message() << "\n";
  }
  if (ctx.json) {
    json all = store_exists ? json::parse(store_out.str()) : json::array();
    if (listed.ok())
      for (json entry : json::parse(vss_out.str())) {
        entry["provider"] = "vss";
        all.push_back(std::move(entry));
      }
    ctx.out << all.dump(2) << "\n";
  }
  return Status();
}

// /AutoRetry: minutes to keep trying while another command holds the store; as --wait, a day
// at most.
constexpr auto kAutoRetryMinutesMax = static_cast<std::uint64_t>(kWaitSecondsMax / 60);

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

const std::vector<CommandSpec>& vssadmin_commands() {
  static const std::vector<CommandSpec> kCommands = [] {
    const OptionSpec for_volume{"For", "ForVolumeSpec", "the volume"};
    const OptionSpec on_volume{"On", "OnVolumeSpec", "the volume the storage is accounted to"};
    const OptionSpec shadow{"Shadow", "ShadowId", "the shadow copy"};
    const OptionSpec quiet{"Quiet", "", "do not ask"};
    const OptionSpec max_size{"MaxSize", "MaxSizeSpec", "the maximum (default UNBOUNDED)"};
    return std::vector<CommandSpec>{
        {"list shadows",
         "",
         "Lists shadow copies, grouped by set (in a Windows build, also the ones VSS holds).",
         {for_volume, shadow, {"Set", "ShadowSetId", "the set"}},
         list_shadows},
        {"list shadowstorage",
         "",
         "Lists shadow storage associations with their used, allocated and maximum space.",
         {for_volume, on_volume},
         native("shadowstorage list")},
        {"list volumes", "", "Lists the volumes of the store.", {}, native("volume list")},
        {"list writers", "", "Lists the writers.", {}, native("writers list")},
        {"list providers", "", "Lists the providers.", {}, native("providers list")},
        {"create shadow",
         "",
         "Takes a client-accessible shadow copy of the volume.",
         {{"For", "ForVolumeSpec", "the volume", true},
          {"AutoRetry", "MaxRetryMinutes", "how long to wait for a busy store"}},
         create_shadow},
        {"delete shadows",
         "",
         "Deletes the volume's shadow copies: all of them, the oldest, or one; /All alone: "
         "every shadow copy.",
         {for_volume, {"Oldest", "", "only the oldest"}, {"All", "", "all of them"}, shadow, quiet},
         native("shadow delete")},
        {"revert shadow",
         "",
         "Reverts the volume to the shadow copy.",
         {{"Shadow", "ShadowId", "the shadow copy", true},
          {"ForceDismount", "", "accepted; nothing to dismount"},
          quiet},
         revert_shadow_command},
        {"add shadowstorage",
         "",
         "Adds a shadow storage association.",
         {{"For", "ForVolumeSpec", "the volume", true},
          {"On", "OnVolumeSpec", "the volume the storage is accounted to", true},
          max_size},
         native("shadowstorage add")},
        {"resize shadowstorage",
         "",
         "Resizes the association of /For=, or every association on /On=; without /MaxSize, "
         "UNBOUNDED.",
         {for_volume, on_volume, max_size},
         resize_storage_command},
        {"delete shadowstorage",
         "",
         "Deletes the association and the shadow copies that use it.",
         {{"For", "ForVolumeSpec", "the volume", true}, on_volume, quiet},
         native("shadowstorage delete")},
    };
  }();
  return kCommands;
}

std::string switch_synopsis(const OptionSpec& option) {
  std::string text = "/" + option.name + (option.value.empty() ? "" : "=" + option.value);
  return option.required ? text : "[" + text + "]";
}

std::string vssadmin_synopsis(const CommandSpec& spec) {
  std::string text = "vssadmin " + spec.words;
  for (const OptionSpec& option : spec.options)
    text += " " + switch_synopsis(option);
  return text;
}

std::string verb_of(const CommandSpec& spec) {
  return spec.words.substr(0, spec.words.find(' '));
}
std::string noun_of(const CommandSpec& spec) {
  return spec.words.substr(spec.words.find(' ') + 1);
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& words,
                         const std::string& prefix = "") {
  auto close = closest_word(word, words);
  return close ? "; did you mean '" + prefix + *close + "'?" : std::string();
}

// What a line names, checked word by word so that a mistake is named precisely.
Result<const CommandSpec*> find_spec(const Context& ctx, const std::vector<std::string>& args) {
  const auto& all = vssadmin_commands();
  std::vector<std::string> verbs;
  for (const CommandSpec& spec : all)
    if (std::find(verbs.begin(), verbs.end(), verb_of(spec)) == verbs.end())
      verbs.push_back(verb_of(spec));
  if (args.empty() || args[0].empty() || args[0][0] == '/')
    return usage_error(ctx,
                       "say what to do: vssadmin VERB NOUN [/Switch=value...] (see "
                       "'freezeframe vssadmin --help')");
  std::string verb = to_lower(args[0]);
  if (std::find(verbs.begin(), verbs.end(), verb) == verbs.end())
    return usage_error(ctx, "unknown vssadmin command '" + args[0] + "'" +
                                did_you_mean(verb, verbs) + " (see 'freezeframe vssadmin --help')");
  std::vector<std::string> nouns;
  for (const CommandSpec& spec : all)
    if (verb_of(spec) == verb)
      nouns.push_back(noun_of(spec));
  if (args.size() < 2 || args[1].empty() || args[1][0] == '/') {
    std::vector<std::string> choices;
    choices.reserve(nouns.size());
    for (const std::string& noun : nouns)
      choices.push_back(concat(verb, " ", noun));
    return usage_error(ctx, concat("'", verb, "' needs what to ", verb, ": ", join(choices, ", ")));
  }
  std::string words = verb + " " + to_lower(args[1]);
  for (const CommandSpec& spec : all)
    if (spec.words == words)
      return &spec;
  return usage_error(ctx, "unknown vssadmin command '" + verb + " " + args[1] + "'" +
                              did_you_mean(args[1], nouns, verb + " ") +
                              " (see 'freezeframe vssadmin --help')");
}

// The switches of the line, as the native options they stand for (the switch's name in lower
// case; a flag's value is empty).
Result<Options> translate(const Context& ctx, const CommandSpec& spec,
                          const std::vector<std::string>& args) {
  Options options;
  std::vector<std::string> seen;
  const std::string command = "'vssadmin " + spec.words + "'";
  for (std::size_t i = 2; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '/')
      return usage_error(ctx, concat("unexpected argument '", arg, "' in ", command,
                                     " (switches are written /Name=value)"));
    std::size_t eq = arg.find('=');
    std::string name = arg.substr(1, eq == std::string::npos ? std::string::npos : eq - 1);
    auto known = std::find_if(spec.options.begin(), spec.options.end(), [&](const OptionSpec& o) {
      return equals_ignore_case(o.name, name);
    });
    if (known == spec.options.end()) {
      std::vector<std::string> names;
      std::vector<std::string> synopses;
      for (const OptionSpec& o : spec.options) {
        names.push_back(o.name);
        synopses.push_back(switch_synopsis(o));
      }
      const std::string list = join(synopses, " ");
      return usage_error(
          ctx, concat("unknown switch '/", name, "' for ", command, did_you_mean(name, names, "/"),
                      list.empty() ? " (it takes no switches)" : concat(" (it takes ", list, ")")));
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
    options.set(to_lower(known->name), value);
  }
  for (const OptionSpec& o : spec.options)
    if (o.required && std::find(seen.begin(), seen.end(), o.name) == seen.end())
      return usage_error(ctx, command + " needs " + switch_synopsis(o));
  return options;
}

std::string vssadmin_details();

Status vssadmin(Context& ctx) {
  const std::vector<std::string> args = ctx.options.positionals();
  if (std::find(args.begin(), args.end(), "/?") != args.end()) {
    ctx.out << "usage: freezeframe vssadmin VERB NOUN [/Switch=value...]\n\n" << vssadmin_details();
    return Status();
  }
  FF_ASSIGN_OR_RETURN(const CommandSpec* spec, find_spec(ctx, args));
  FF_ASSIGN_OR_RETURN(Options options, translate(ctx, *spec, args));
  Context translated{
      ctx.out, ctx.err, ctx.json, ctx.store_dir, std::move(options), "vssadmin " + spec->words,
      ctx.wait};
  return spec->run(translated);
}

std::string vssadmin_details() {
  std::string text = "commands:\n";
  for (const CommandSpec& spec : vssadmin_commands())
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

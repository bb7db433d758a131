// The command line: CLI11 parses it from the command tables (CommandSpec), the usage text is
// generated from the same tables, and what CLI11 refuses is explained in words: a mistyped
// command gets "did you mean", an unknown option is named, a vssadmin switch (/for=C:) given
// to the native syntax gets its --for equivalent.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <map>
#include <sstream>

#include "command_context.h"
#include "commands.h"
#include "freezeframe/assert.h"
#include "parse.h"

namespace freezeframe::cli {

using namespace command;  // NOLINT(google-build-using-namespace): the commands' own helpers

namespace command {

const std::vector<CommandSpec>& native_commands() {
  static const std::vector<CommandSpec> kCommands = [] {
    std::vector<CommandSpec> all;
    for (auto group : {volume_commands, shadow_commands, shadowstorage_commands, other_commands,
                       check_commands, backup_commands, sim_commands})
      for (CommandSpec& spec : group())
        all.push_back(std::move(spec));
    return all;
  }();
  return kCommands;
}

const CommandSpec& native_command(std::string_view words) {
  for (const CommandSpec& spec : native_commands())
    if (spec.words == words)
      return spec;
  FF_ASSERT_MSG(false, "native_command: no command with these words");
  return native_commands().front();
}

}  // namespace command

namespace {

constexpr std::string_view kGlobalSynopsis = "freezeframe [--store DIR] [--wait SECONDS] [--json]";

const std::map<std::string, std::string>& group_summaries() {
  static const std::map<std::string, std::string> kSummaries = {
      {"volume", "Volumes: images in the store, or attached files and devices."},
      {"shadow", "Shadow copies: snapshot sets, listing, deletion, export, revert."},
      {"shadowstorage", "Shadow storage: each volume's diff area and its maximum."},
      {"writers", "The writers that take part in every snapshot set."},
      {"providers", "The providers that take shadow copies."},
  };
  return kSummaries;
}

std::vector<std::string> split_words(const std::string& words) {
  std::vector<std::string> out;
  std::istringstream in(words);
  for (std::string word; in >> word;)
    out.push_back(word);
  return out;
}

// "--size SIZE", "[--sector 512|4096]", "[--quiet]".
std::string option_synopsis(const OptionSpec& option) {
  std::string text = "--" + option.name + (option.value.empty() ? "" : " " + option.value);
  return option.required ? text : "[" + text + "]";
}

std::string command_synopsis(const CommandSpec& spec) {
  std::string text = spec.words;
  if (!spec.positionals.empty())
    text += " " + spec.positionals;
  for (const OptionSpec& option : spec.options)
    text += " " + option_synopsis(option);
  return text;
}

// One leaf of the CLI11 tree: the command it runs and where its values land.
struct Leaf {
  const CommandSpec* spec = nullptr;
  CLI::App* app = nullptr;
  std::vector<std::pair<std::string, CLI::Option*>> options;
  std::vector<std::string> positionals;
};

// Usage text generated from the command tables the parser is built from.
class UsageFormatter : public CLI::Formatter {
 public:
  explicit UsageFormatter(const std::deque<Leaf>& leaves) : leaves_(leaves) {}

  std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const override {
    for (const Leaf& leaf : leaves_)
      if (leaf.app == app)
        return command_help(*leaf.spec);
    return group_help(path_of(app));
  }

  static std::string command_help(const CommandSpec& spec) {
    std::ostringstream out;
    out << "usage: " << kGlobalSynopsis << " " << command_synopsis(spec) << "\n\n"
        << spec.summary << "\n";
    if (!spec.options.empty())
      out << "\noptions:\n";
    for (const OptionSpec& option : spec.options)
      out << "  " << pad(option_synopsis(option)) << option.description << "\n";
    if (!spec.details.empty())
      out << "\n" << spec.details;
    return out.str();
  }

  // The root's usage (prefix empty) or a group's ("volume"): the commands under it.
  std::string group_help(const std::string& prefix) const {
    std::ostringstream out;
    out << "usage: " << kGlobalSynopsis << " " << (prefix.empty() ? "" : prefix + " ")
        << "<command> [options]\n\n";
    if (prefix.empty())
      out << "The store is --store DIR, else $FREEZEFRAME_STORE, else ./.freezeframe.\n"
             "--json (anywhere on the line) prints JSON instead of tables.\n"
             "--wait SECONDS waits that long for another command holding the store (default: "
             "fail at once).\n\n";
    else if (auto it = group_summaries().find(prefix); it != group_summaries().end())
      out << it->second << "\n\n";
    out << "commands:\n";
    for (const Leaf& leaf : leaves_) {
      if (!prefix.empty() && leaf.spec->words.rfind(prefix + " ", 0) != 0)
        continue;
      out << "  " << command_synopsis(*leaf.spec) << "\n      " << leaf.spec->summary << "\n";
    }
    out << "\n'freezeframe COMMAND --help' describes one command.\n";
    if (prefix.empty())
      out << "exit codes: 0 success, 1 the operation failed (or a volume is damaged), 2 bad "
             "usage,\n"
             "            3 store busy (the message names the holder's pid),\n"
             "            4 no such volume, shadow copy, set, writer or provider,\n"
             "            5 check or verify found damage\n";
    return out.str();
  }

  static std::string path_of(const CLI::App* app) {
    std::vector<std::string> names;
    for (; app != nullptr && app->get_parent() != nullptr; app = app->get_parent())
      names.push_back(app->get_name());
    std::reverse(names.begin(), names.end());
    return join(names, " ");
  }

 private:
  static std::string pad(std::string text) {
    constexpr std::size_t kColumn = 28;
    text += text.size() < kColumn ? std::string(kColumn - text.size(), ' ')
                                  : "\n" + std::string(kColumn + 2, ' ');
    return text;
  }

  const std::deque<Leaf>& leaves_;
};

// The CLI11 tree of every command, with the global options on the root.
class Parser {
 public:
  explicit Parser(const std::vector<CommandSpec>& specs) {
    // The same parsing on every system: CLI11 would read a Windows argument starting with '/'
    // as an option (`/For=C:`); vssadmin's own syntax is translated before it gets here.
    app_.allow_windows_style_options(false);
    app_.ignore_case();
    app_.fallthrough();
    app_.require_subcommand(0, 1);
    app_.formatter(std::make_shared<UsageFormatter>(leaves_));
    // Given twice, the last one counts (a wrapper script's default, then the user's).
    store_ = app_.add_option("--store")->type_name("DIR")->multi_option_policy(
        CLI::MultiOptionPolicy::TakeLast);
    wait_ = app_.add_option("--wait")->type_name("SECONDS")->multi_option_policy(
        CLI::MultiOptionPolicy::TakeLast);
    json_ = app_.add_flag("--json");
    version_ = app_.add_flag("--version");
    for (const CommandSpec& spec : specs)
      add(spec);
  }

  CLI::App& app() { return app_; }
  const std::deque<Leaf>& leaves() const { return leaves_; }

  // The leaf CLI11 chose; without one, --version is the command `version` (if there is one).
  Leaf* chosen() {
    // The deepest parsed leaf: "backup list" over "backup", whose app is also its group.
    Leaf* deepest_leaf = nullptr;
    for (Leaf& leaf : leaves_)
      if (leaf.app->parsed() &&
          (deepest_leaf == nullptr ||
           split_words(leaf.spec->words).size() > split_words(deepest_leaf->spec->words).size()))
        deepest_leaf = &leaf;
    if (deepest_leaf != nullptr)
      return deepest_leaf;
    if (version_->count() != 0)
      for (Leaf& leaf : leaves_)
        if (leaf.spec->words == "version")
          return &leaf;
    return nullptr;
  }
  // The deepest command or group CLI11 chose (for --help).
  const CLI::App* deepest() const {
    const CLI::App* app = &app_;
    for (bool descended = true; descended;) {
      descended = false;
      for (const CLI::App* sub : app->get_subcommands())
        if (sub->parsed()) {
          app = sub;
          descended = true;
          break;
        }
    }
    return app;
  }

  std::optional<std::string> store() const {
    return store_->count() ? std::optional(store_->as<std::string>()) : std::nullopt;
  }
  std::optional<std::string> wait() const {
    return wait_->count() ? std::optional(wait_->as<std::string>()) : std::nullopt;
  }
  bool json() const { return json_->count() != 0; }

 private:
  void add(const CommandSpec& spec) {
    std::vector<std::string> words = split_words(spec.words);
    CLI::App* parent = &app_;
    std::string path;
    for (std::size_t i = 0; i + 1 < words.size(); ++i) {
      path += (path.empty() ? "" : " ") + words[i];
      CLI::App*& group = groups_[path];
      if (group == nullptr) {
        if (auto leaf_app = leaf_apps_.find(path); leaf_app != leaf_apps_.end()) {
          // A command that is also a group ("backup" and "backup list"): its own options, or
          // one of its subcommands.
          group = leaf_app->second;
          group->require_subcommand(0, 1);
        } else {
          auto summary = group_summaries().find(words[i]);
          group = parent->add_subcommand(
              words[i], summary == group_summaries().end() ? std::string() : summary->second);
          group->require_subcommand(1);
        }
      }
      parent = group;
    }
    Leaf& leaf = leaves_.emplace_back();
    leaf.spec = &spec;
    leaf.app = parent->add_subcommand(words.back(), spec.summary);
    leaf_apps_[spec.words] = leaf.app;
    for (const OptionSpec& option : spec.options) {
      CLI::Option* added = option.value.empty()
                               ? leaf.app->add_flag("--" + option.name)->disable_flag_override()
                               : leaf.app->add_option("--" + option.name)->type_name(option.value);
      added->description(option.description);
      if (option.required)
        added->required();
      leaf.options.emplace_back(option.name, added);
    }
    if (!spec.positionals.empty())
      leaf.app->add_option("arguments", leaf.positionals)->group("");
  }

  CLI::App app_{"freezeframe: volume snapshots, as vssadmin and diskshadow", "freezeframe"};
  std::deque<Leaf> leaves_;
  std::map<std::string, CLI::App*> groups_;
  std::map<std::string, CLI::App*> leaf_apps_;  // by words
  CLI::Option* store_ = nullptr;
  CLI::Option* wait_ = nullptr;
  CLI::Option* json_ = nullptr;
  CLI::Option* version_ = nullptr;
};

bool is_global_with_value(std::string_view arg) {
  return arg == "--store" || arg == "--wait";
}

// The words of the line that are not options (nor the values of the global options).
std::vector<std::string> words_of(const std::vector<std::string>& args) {
  std::vector<std::string> words;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (is_global_with_value(args[i]))
      ++i;
    else if (args[i].empty() || args[i][0] != '-')
      words.push_back(args[i]);
  }
  return words;
}

// The global options, which every command takes.
const std::vector<std::string>& global_options() {
  static const std::vector<std::string> kNames = {"store", "wait", "json", "help", "version"};
  return kNames;
}

// The first option of the line that is unknown, given without a value or given twice, named
// in words; empty if there is none. Option names are case-sensitive, as CLI11 matches them.
std::string option_problem(const std::vector<std::string>& args, const CommandSpec* spec) {
  std::map<std::string, int> seen;
  const auto& globals = global_options();
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0)
      continue;
    std::string name = arg.substr(2, arg.find('=') - 2);
    if (std::find(globals.begin(), globals.end(), name) != globals.end()) {
      if (is_global_with_value(arg))
        ++i;
      continue;
    }
    const OptionSpec* option = nullptr;
    std::vector<std::string> names = globals;
    if (spec != nullptr)
      for (const OptionSpec& candidate : spec->options) {
        names.push_back(candidate.name);
        if (candidate.name == name)
          option = &candidate;
      }
    if (option == nullptr) {
      auto near = closest_word(name, names);
      return "unknown option '--" + name + "'" +
             (near ? "; did you mean '--" + *near + "'?" : std::string());
    }
    if (option->value.empty()) {
      if (arg.find('=') != std::string::npos)
        return concat("option '--", name, "' takes no value, got '", arg, "'");
      continue;
    }
    if (++seen[name] > 1)
      return "option '--" + name + "' given twice";
    if (arg.find('=') == std::string::npos) {
      if (i + 1 >= args.size() || args[i + 1].rfind("--", 0) == 0)
        return "option '--" + name + "' needs a value";
      ++i;
    }
  }
  return "";
}

// A vssadmin switch (/for=C:, /Quiet) where the native syntax wants --for C:.
std::string switch_problem(const std::vector<std::string>& args, const CommandSpec& spec) {
  for (const std::string& arg : args) {
    if (arg.size() < 2 || arg[0] != '/')
      continue;
    std::size_t eq = arg.find('=');
    std::string name =
        to_lower(arg.substr(1, eq == std::string::npos ? std::string::npos : eq - 1));
    for (const OptionSpec& option : spec.options) {
      if (option.name != name)
        continue;
      std::string native = "--" + name;
      if (eq != std::string::npos)
        native += " " + arg.substr(eq + 1);
      return concat("'", arg, "' is vssadmin syntax; here it is '", native,
                    "' (or use 'freezeframe vssadmin ...')");
    }
  }
  return "";
}

struct Diagnosis {
  std::string where;  // "volume" for "freezeframe volume: ..."
  std::string message;
  bool general_usage = false;
};

// Why CLI11 refused the line, in words.
Diagnosis diagnose(Parser& parser, const std::vector<std::string>& args,
                   const CLI::ParseError& error) {
  std::vector<std::string> words = words_of(args);
  const CLI::App* level = &parser.app();
  std::string path;
  std::size_t used = 0;
  while (!level->get_subcommands({}).empty()) {
    std::vector<std::string> names;
    for (const CLI::App* sub : level->get_subcommands({}))
      names.push_back(sub->get_name());
    if (used >= words.size()) {
      if (path.empty())
        return {"", "", true};
      std::vector<std::string> choices;
      choices.reserve(names.size());
      for (const std::string& name : names)
        choices.push_back(concat(path, " ", name));
      return {path,
              concat("say which: ", join(choices, ", "), " (see 'freezeframe ", path, " --help')")};
    }
    const std::string& word = words[used++];
    const CLI::App* next = nullptr;
    for (const CLI::App* sub : level->get_subcommands({}))
      if (equals_ignore_case(sub->get_name(), word))
        next = sub;
    if (next == nullptr) {
      const std::string prefix = path.empty() ? "" : path + " ";
      std::string text = concat("unknown command '", prefix, word, "'");
      if (auto near = closest_word(word, names))
        text += concat("; did you mean '", prefix, *near, "'?");
      else
        text += concat(" (see 'freezeframe ", prefix, "--help')");
      return {path, text};
    }
    path += (path.empty() ? "" : " ") + next->get_name();
    level = next;
  }
  const CommandSpec* spec = nullptr;
  for (const Leaf& leaf : parser.leaves())
    if (leaf.app == level)
      spec = leaf.spec;
  if (spec != nullptr)
    if (std::string problem = switch_problem(args, *spec); !problem.empty())
      return {path, problem};
  if (std::string problem = option_problem(args, spec); !problem.empty())
    return {path, problem + " (see 'freezeframe " + path + " --help')"};
  return {path, std::string(error.what()) + " (see 'freezeframe " + path + " --help')"};
}

Result<std::chrono::milliseconds> wait_of(const std::optional<std::string>& text) {
  if (!text)
    return std::chrono::milliseconds(0);
  char* end = nullptr;
  errno = 0;
  double seconds = std::strtod(text->c_str(), &end);
  if (text->empty() || end == nullptr || *end != '\0' || errno != 0 || !(seconds >= 0) ||
      seconds > kWaitSecondsMax)
    return invalid_argument("--wait '" + *text + "' is not a number of seconds from 0 to " +
                            std::to_string(static_cast<int>(kWaitSecondsMax)));
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

Options options_of(const Leaf& leaf) {
  Options options;
  for (const auto& [name, option] : leaf.options)
    if (option->count() != 0)
      options.set(name, option->results().empty() ? std::string() : option->results().front());
  for (const std::string& value : leaf.positionals)
    options.add_positional(value);
  return options;
}

int parse_and_run(const std::vector<std::string>& given, std::ostream& out, std::ostream& err,
                  const std::vector<CommandSpec>& extra, const CommandHooks& hooks) {
  std::vector<CommandSpec> specs = native_commands();
  specs.push_back(vssadmin_command());
  specs.insert(specs.end(), extra.begin(), extra.end());
  Parser parser(specs);
  std::vector<std::string> args = given;
  // "help WORDS..." is "WORDS... --help".
  if (std::vector<std::string> words = words_of(args);
      !words.empty() && equals_ignore_case(words[0], "help")) {
    args.erase(std::find(args.begin(), args.end(), words[0]));
    args.emplace_back("--help");
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    parser.app().parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out << parser.app().get_formatter()->make_help(parser.deepest(), "",
                                                   CLI::AppFormatMode::Normal);
    return kExitOk;
  } catch (const CLI::ParseError& error) {
    Diagnosis why = diagnose(parser, args, error);
    if (why.general_usage) {
      err << parser.app().help();
      return kExitUsage;
    }
    err << "freezeframe" << (why.where.empty() ? "" : " " + why.where) << ": error: " << why.message
        << "\n";
    return kExitUsage;
  }
  Leaf* leaf = parser.chosen();
  if (leaf == nullptr) {
    err << parser.app().help();
    return kExitUsage;
  }
  const CommandSpec& spec = *leaf->spec;
  auto wait = wait_of(parser.wait());
  if (!wait.ok()) {
    err << "freezeframe: error: " << wait.status().message() << "\n";
    return kExitUsage;
  }
  if (std::string problem = switch_problem(leaf->positionals, spec); !problem.empty()) {
    err << "freezeframe " << spec.words << ": error: " << problem << "\n";
    return kExitUsage;
  }
  Context ctx{
      out,        err,  parser.json(), Store::resolve_dir(parser.store()), options_of(*leaf),
      spec.words, *wait};
  ctx.served_store = hooks.served_store;
  ctx.present_file = hooks.present_file;
  ctx.nbd_uri = hooks.nbd_uri;
  ctx.withdraw_file = hooks.withdraw_file;
  if (hooks.served_store != nullptr && !forwarded_command(spec.words)) {
    err << "freezeframe " << spec.words
        << ": error: the serve daemon runs only shadow create, delete, revert, list, export, "
           "expose and unexpose, volume list and shadowstorage list\n";
    return kExitUsage;
  }
  if (hooks.forward && hooks.served_store == nullptr && forwarded_command(spec.words))
    if (std::optional<int> code = hooks.forward(ctx, given))
      return *code;
  Status status = spec.run(ctx);
  if (!status.ok()) {
    out.flush();
    err << "freezeframe " << spec.words << ": error: " << status.message() << "\n";
    return exit_code_for(status);
  }
  return ctx.exit_code;
}

}  // namespace

namespace command {

int run_command_line(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     const std::vector<CommandSpec>& extra, const CommandHooks& hooks) {
  return parse_and_run(args, out, err, extra, hooks);
}

}  // namespace command

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return run_command_line(args, out, err, {});
}

Result<Options> Options::parse(const std::vector<std::string>& args, const Spec& spec,
                               std::string_view command) {
  CommandSpec command_spec;
  command_spec.words = std::string(command);
  for (const std::string& name : spec.with_value)
    command_spec.options.push_back({name, "VALUE", ""});
  for (const std::string& name : spec.flags)
    command_spec.options.push_back({name, "", ""});
  CLI::App app{"", std::string(command)};
  Leaf leaf;
  leaf.spec = &command_spec;
  leaf.app = &app;
  for (const OptionSpec& option : command_spec.options)
    leaf.options.emplace_back(option.name,
                              option.value.empty()
                                  ? app.add_flag("--" + option.name)->disable_flag_override()
                                  : app.add_option("--" + option.name));
  app.add_option("arguments", leaf.positionals);
  app.set_help_flag();
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& error) {
    std::string problem = option_problem(args, &command_spec);
    return invalid_argument(std::string(command) + ": " +
                            (problem.empty() ? std::string(error.what()) : problem));
  }
  return options_of(leaf);
}

}  // namespace freezeframe::cli

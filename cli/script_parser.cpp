#include "script_parser.h"

#include <array>
#include <cctype>
#include <utility>

#include "parse.h"

namespace freezeframe::cli::script {
namespace {

std::string line_prefix(std::size_t line) {
  return "line " + std::to_string(line) + ": ";
}

// The tokens of one line, with the checks every command needs; errors name the line.
class Line {
 public:
  Line(const std::vector<std::string>& tokens, std::size_t number)
      : tokens_(tokens), number_(number) {}

  std::size_t size() const { return tokens_.size(); }
  const std::string& operator[](std::size_t i) const { return tokens_.at(i); }
  bool is(std::size_t i, std::string_view word) const {
    return i < tokens_.size() && equals_ignore_case(tokens_[i], word);
  }

  Status malformed(const std::string& message) const {
    return invalid_argument(line_prefix(number_) + message);
  }
  Status unsupported(const std::string& what, const std::string& why) const {
    return Status(ErrorCode::kUnsupported,
                  line_prefix(number_) + "'" + what + "' is not supported: " + why);
  }
  // Malformed ("expected '<usage>'") unless the line has exactly `count` tokens.
  Status expect_size(std::size_t count, std::string_view usage) const {
    if (tokens_.size() == count)
      return Status();
    return malformed("expected '" + std::string(usage) + "'");
  }
  Result<Uuid> guid(std::size_t i) const {
    auto id = Uuid::parse(tokens_.at(i));
    if (!id.ok())
      return malformed("'" + tokens_[i] + "' is not a GUID");
    return *id;
  }
  // Tokens from `first` on, joined by one space.
  std::string joined(std::size_t first) const {
    if (first >= tokens_.size())
      return "";
    return join(std::span(tokens_).subspan(first), " ");
  }

 private:
  const std::vector<std::string>& tokens_;
  std::size_t number_;
};

Result<Command> parse_set_context(const Line& l) {
  if (l.size() < 3 || l.size() > 4) {
    return l.malformed(
        "expected 'set context clientaccessible | persistent [nowriters] | "
        "volatile [nowriters]'");
  }
  bool nowriters = l.size() == 4;
  if (nowriters && !l.is(3, "nowriters"))
    return l.malformed("unexpected '" + l[3] + "' after 'set context " + l[2] + "'");
  if (l.is(2, "persistent"))
    return Command(
        SetContext{nowriters ? SnapshotContext::kNasRollback : SnapshotContext::kAppRollback});
  if (l.is(2, "volatile"))
    return Command(
        SetContext{nowriters ? SnapshotContext::kFileShareBackup : SnapshotContext::kBackup});
  if (l.is(2, "clientaccessible") && !nowriters)
    return Command(SetContext{SnapshotContext::kClientAccessible});
  return l.malformed("unknown context '" + l.joined(2) +
                     "' (clientaccessible, persistent [nowriters], volatile [nowriters])");
}

Result<Command> parse_set_option(const Line& l) {
  if (l.size() < 3) {
    return l.malformed(
        "expected 'set option differential | plex | transportable | rollbackrecover | "
        "txfrecover | noautorecover'");
  }
  SetOption set;
  for (std::size_t i = 2; i < l.size(); ++i) {
    std::string option = to_lower(l[i]);
    if (option == "plex" || option == "transportable") {
      return l.unsupported("set option " + option,
                           "the software providers take differential shadow copies only");
    }
    if (option != "differential" && option != "rollbackrecover" && option != "txfrecover" &&
        option != "noautorecover")
      return l.malformed("unknown option '" + l[i] + "'");
    set.options.push_back(option);
  }
  return Command(std::move(set));
}

Result<Command> parse_set(const Line& l) {
  if (l.is(1, "context"))
    return parse_set_context(l);
  if (l.is(1, "option"))
    return parse_set_option(l);
  if (l.is(1, "verbose")) {
    if (l.size() != 3 || !(l.is(2, "on") || l.is(2, "off")))
      return l.malformed("expected 'set verbose on|off'");
    return Command(SetVerbose{l.is(2, "on")});
  }
  if (l.is(1, "metadata")) {
    FF_TRY(l.expect_size(3, "set metadata <file>"));
    return Command(SetMetadata{l[2]});
  }
  if (l.size() < 2)
    return l.malformed("expected 'set context|option|verbose|metadata ...'");
  return l.malformed("unknown 'set " + l[1] + "' (context, option, verbose, metadata)");
}

Result<Command> parse_add_volume(const Line& l) {
  if (l.size() < 3)
    return l.malformed("'add volume' needs a volume");
  AddVolume add{l[2], "", std::nullopt};
  for (std::size_t i = 3; i < l.size(); i += 2) {
    if (i + 1 >= l.size())
      return l.malformed("'" + l[i] + "' needs a value");
    if (l.is(i, "alias"))
      add.alias = l[i + 1];
    else if (l.is(i, "provider"))
      add.provider = l[i + 1];
    else
      return l.malformed("unexpected '" + l[i] + "' in 'add volume' (alias, provider)");
  }
  return Command(std::move(add));
}

Result<Command> parse_add(const Line& l) {
  if (l.size() == 1)
    return Command(ShowSet{});
  if (l.is(1, "alias")) {
    FF_TRY(l.expect_size(4, "add alias <name> <value>"));
    return Command(AddAlias{l[2], l[3]});
  }
  if (l.is(1, "shadow")) {
    if (l.size() < 3 || l.size() > 4)
      return l.malformed("expected 'add shadow <shadow id> [<its own volume>]'");
    AddShadow add{l[2], std::nullopt};
    if (l.size() == 4)
      add.destination = l[3];
    return Command(std::move(add));
  }
  if (!l.is(1, "volume"))
    return l.malformed("expected 'add volume <volume> [alias <name>] [provider <id>]'");
  return parse_add_volume(l);
}

Result<Command> parse_session(const Line& l) {
  bool begin = l.is(0, "begin");
  if (l.size() != 2)
    return l.malformed("'" + l[0] + "' takes one argument: backup or restore");
  Session session = Session::kBackup;
  if (l.is(1, "restore"))
    session = Session::kRestore;
  else if (!l.is(1, "backup"))
    return l.malformed("'" + l[0] + " " + l[1] + "': expected '" + l[0] + " backup' or '" + l[0] +
                       " restore'");
  if (begin)
    return Command(Begin{session});
  return Command(End{session});
}

Result<Command> parse_writer(const Line& l) {
  if (l.size() < 3 || !(l.is(1, "verify") || l.is(1, "exclude")))
    return l.malformed("expected 'writer verify|exclude <writer name or id>'");
  WriterSelect select;
  select.action = l.is(1, "verify") ? WriterAction::kVerify : WriterAction::kExclude;
  // diskshadow takes a writer name of several words with or without quotes.
  select.writer = l.joined(2);
  if (std::size_t split = select.writer.find(":\\"); split != std::string::npos) {
    select.component = select.writer.substr(split + 2);
    select.writer.resize(split);
    if (select.action == WriterAction::kVerify) {
      return l.unsupported("writer verify of a component",
                           "components are not selectable; name the whole writer");
    }
  }
  return Command(std::move(select));
}

Result<Command> parse_list(const Line& l) {
  if (l.is(1, "writers")) {
    if (l.size() == 2)
      return Command(ListWriters{WriterDetail::kSummary});
    if (l.size() == 3 && l.is(2, "metadata"))
      return Command(ListWriters{WriterDetail::kMetadata});
    if (l.size() == 3 && l.is(2, "detailed"))
      return Command(ListWriters{WriterDetail::kDetailed});
    if (l.size() == 3 && l.is(2, "status"))
      return Command(ListWriters{WriterDetail::kStatus});
    return l.malformed("expected 'list writers [metadata | detailed | status]'");
  }
  if (l.is(1, "providers"))
    return Command(ListProviders{});
  if (!l.is(1, "shadows")) {
    if (l.size() < 2)
      return l.malformed("expected 'list writers | shadows | providers'");
    return l.malformed("unknown 'list " + l[1] + "' (writers, shadows, providers)");
  }
  if (l.size() == 2 || (l.size() == 3 && l.is(2, "all")))
    return Command(ListShadows{ShadowFilter::kAll, Uuid()});
  if (l.size() == 4 && (l.is(2, "set") || l.is(2, "id"))) {
    FF_ASSIGN_OR_RETURN(Uuid id, l.guid(3));
    return Command(ListShadows{l.is(2, "set") ? ShadowFilter::kSet : ShadowFilter::kId, id});
  }
  return l.malformed("expected 'list shadows all | set <set id> | id <shadow id>'");
}

Result<Command> parse_delete(const Line& l) {
  if (l.size() < 3 || !l.is(1, "shadows")) {
    return l.malformed(
        "expected 'delete shadows all | volume <v> | oldest <v> | set <id> | id <id> | "
        "exposed <file>'");
  }
  if (l.is(2, "all")) {
    if (l.size() != 3)
      return l.malformed("'delete shadows all' takes nothing more");
    return Command(DeleteShadows{DeleteBy::kAll, "", Uuid()});
  }
  static constexpr std::array<std::pair<std::string_view, DeleteBy>, 5> kWays{{
      {"volume", DeleteBy::kVolume},
      {"oldest", DeleteBy::kOldest},
      {"set", DeleteBy::kSet},
      {"id", DeleteBy::kId},
      {"exposed", DeleteBy::kExposed},
  }};
  for (const auto& [word, by] : kWays) {
    if (!l.is(2, word))
      continue;
    if (l.size() != 4)
      return l.malformed("'delete shadows " + l[2] + "' takes one argument");
    DeleteShadows del{by, l[3], Uuid()};
    if (by == DeleteBy::kSet || by == DeleteBy::kId) {
      FF_ASSIGN_OR_RETURN(del.id, l.guid(3));
    }
    return Command(std::move(del));
  }
  return l.malformed("unknown 'delete shadows " + l[2] +
                     "' (all, volume, oldest, set, id, exposed)");
}

Result<Command> parse_resync(const Line& l) {
  Resync resync;
  for (std::size_t i = 1; i < l.size(); ++i) {
    bool* flag = l.is(i, "novolcheck")           ? &resync.no_volume_check
                 : l.is(i, "revert_originalsig") ? &resync.revert_original_signature
                                                 : nullptr;
    if (flag == nullptr) {
      return l.malformed("unexpected '" + l[i] +
                         "' (expected 'resync [novolcheck] [revert_originalsig]')");
    }
    if (*flag)
      return l.malformed("'" + l[i] + "' given twice");
    *flag = true;
  }
  return Command(resync);
}

Result<Command> parse_exec(const Line& l) {
  if (l.size() < 2)
    return l.malformed("expected 'exec <program> [arguments]'");
  Exec exec{l[1], {}};
  for (std::size_t i = 2; i < l.size(); ++i)
    exec.arguments.push_back(l[i]);
  return Command(std::move(exec));
}

Result<Command> parse_one_argument(const Line& l) {
  if (l.is(0, "unexpose")) {
    FF_TRY(l.expect_size(2, "unexpose <shadow id or image file>"));
    return Command(Unexpose{l[1]});
  }
  FF_TRY(l.expect_size(2, "revert <shadow id>"));
  return Command(Revert{l[1]});
}

// Commands that take no arguments.
Result<Command> parse_bare(const Line& l) {
  if (l.size() != 1)
    return l.malformed("'" + l[0] + "' takes no arguments");
  if (l.is(0, "create"))
    return Command(Create{});
  return Command(Reset{});
}

using CommandParser = Result<Command> (*)(const Line&);

struct Verb {
  std::string_view word;
  CommandParser parse;
};

constexpr std::array<Verb, 15> kVerbs{{
    {"set", parse_set},
    {"add", parse_add},
    {"create", parse_bare},
    {"begin", parse_session},
    {"end", parse_session},
    {"writer", parse_writer},
    {"list", parse_list},
    {"delete", parse_delete},
    {"expose",
     [](const Line& l) -> Result<Command> {
       FF_TRY(l.expect_size(3, "expose <shadow id> <image file>"));
       return Command(Expose{l[1], l[2]});
     }},
    {"unexpose", parse_one_argument},
    {"revert", parse_one_argument},
    {"resync", parse_resync},
    {"exec", parse_exec},
    {"reset", parse_bare},
    {"exit", [](const Line&) -> Result<Command> { return Command(Exit{}); }},
}};

}  // namespace

std::string trim(std::string_view text) {
  std::size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos)
    return {};
  std::size_t end = text.find_last_not_of(" \t");
  return std::string(text.substr(begin, end - begin + 1));
}

bool is_blank_or_comment(std::string_view line) {
  std::string trimmed = trim(line);
  return trimmed.empty() || trimmed[0] == '#';
}

std::vector<SourceLine> split_lines(std::string_view script) {
  std::vector<SourceLine> lines;
  std::size_t number = 0;
  std::size_t start = 0;
  while (start < script.size()) {
    std::size_t end = script.find('\n', start);
    if (end == std::string_view::npos)
      end = script.size();
    std::string_view text = script.substr(start, end - start);
    while (!text.empty() && text.back() == '\r')
      text.remove_suffix(1);
    ++number;
    if (!is_blank_or_comment(text))
      lines.push_back({number, trim(text)});
    start = end + 1;
  }
  return lines;
}

Result<Expansion> expand_aliases(std::string_view text, std::size_t line,
                                 const NameLookup& lookup) {
  Expansion expansion;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '%') {
      expansion.text += text[i++];
      continue;
    }
    std::size_t close = text.find('%', i + 1);
    std::string column = std::to_string(i + 1);
    if (close == std::string_view::npos)
      return invalid_argument(line_prefix(line) + "unmatched '%' at column " + column);
    std::string name(text.substr(i + 1, close - i - 1));
    if (name.empty())
      return invalid_argument(line_prefix(line) + "empty %% reference at column " + column);
    std::optional<std::string> value = lookup(name);
    if (!value)
      return not_found(line_prefix(line) + "unknown alias or environment variable %" + name + "%");
    expansion.used.emplace_back(name, *value);
    expansion.text += *value;
    i = close + 1;
  }
  return expansion;
}

Result<std::vector<std::string>> tokenize(std::string_view text, std::size_t line) {
  std::vector<std::string> tokens;
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && space(text[i]))
      ++i;
    if (i >= text.size())
      break;
    std::string token;
    if (text[i] == '"') {
      std::size_t close = text.find('"', i + 1);
      if (close == std::string_view::npos) {
        return invalid_argument(line_prefix(line) + "unterminated quoted string from column " +
                                std::to_string(i + 1));
      }
      token = text.substr(i + 1, close - i - 1);
      i = close + 1;
    } else {
      while (i < text.size() && !space(text[i]))
        token += text[i++];
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

Result<Command> parse_command(const std::vector<std::string>& tokens, std::size_t line) {
  if (tokens.empty())
    return Command(Remark{});
  Line l(tokens, line);
  for (const Verb& verb : kVerbs)
    if (l.is(0, verb.word))
      return verb.parse(l);
  if (l.is(0, "rem"))
    return Command(Remark{});
  if (l.is(0, "help") || l[0] == "?")
    return Command(Help{});
  for (std::string_view other : {"load", "import", "mask", "break", "simulate", "restore"})
    if (l.is(0, other))
      return l.unsupported(l[0], "freezeframe has no transportable or hardware shadow copies");
  return l.malformed("unknown command '" + l[0] + "' (type 'help' for the list)");
}

Result<Command> parse_line(std::string_view text, std::size_t line) {
  FF_ASSIGN_OR_RETURN(std::vector<std::string> tokens, tokenize(text, line));
  return parse_command(tokens, line);
}

}  // namespace freezeframe::cli::script

// The diskshadow-style script language, parsed: a script's text becomes numbered lines, a line
// becomes tokens, and tokens become one typed command. Nothing here has a side effect: no
// store is opened, no file is read, no program runs, so every function is a function of its
// arguments (the alias lookup of expand_aliases() included, which the caller supplies).
//
// %name% references are expanded before a line is tokenized, as diskshadow does, so an alias
// may hold several words. The session (script_session.h) therefore parses each line when it
// reaches it, after the lines before it have defined their aliases.
//
// Errors: every Status starts with "line N: ". kInvalidArgument for a malformed line (an
// unknown command, a missing or extra argument, a bad GUID or context); kUnsupported for a
// diskshadow command or option freezeframe does not have; kNotFound for an unknown %name%.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "freezeframe/status.h"
#include "freezeframe/uuid.h"
#include "freezeframe/writer.h"

namespace freezeframe::cli::script {

// A line as written, without its line ending and the spaces and tabs around it.
struct SourceLine {
  std::size_t number = 0;  // 1-based
  std::string text;
};

// Splits a script at LF (a CR before it is dropped) and keeps the lines that are neither
// blank nor `#` comments. Line numbers count every line.
std::vector<SourceLine> split_lines(std::string_view script);
// A blank or `#` comment line (after trimming).
bool is_blank_or_comment(std::string_view line);
std::string trim(std::string_view text);

// The value of an alias or environment variable, or nullopt when `name` is neither.
using NameLookup = std::function<std::optional<std::string>(const std::string& name)>;

struct Expansion {
  std::string text;
  // Each %name% replaced, in order: (name as written, value).
  std::vector<std::pair<std::string, std::string>> used;
};

// Replaces every %name% in `text` by lookup(name).
Result<Expansion> expand_aliases(std::string_view text, std::size_t line, const NameLookup& lookup);

// Splits at spaces and tabs. A double-quoted token keeps what it encloses as it is (spaces and
// backslashes included); a backslash outside quotes is an ordinary character.
Result<std::vector<std::string>> tokenize(std::string_view text, std::size_t line);

// The commands. Words are as typed (case kept) unless said otherwise.

struct Remark {};  // REM: nothing to do
struct SetContext {
  SnapshotContext context = SnapshotContext::kBackup;
};
struct SetOption {
  std::vector<std::string> options;  // lower case: differential, rollbackrecover, ...
};
struct SetVerbose {
  bool on = false;
};
struct SetMetadata {
  std::string file;
};
struct ShowSet {};  // `add` alone
struct AddVolume {
  std::string volume;
  std::string alias;                    // empty: none
  std::optional<std::string> provider;  // a kind, name or id, resolved when run
};
struct AddAlias {
  std::string name;
  std::string value;
};
struct AddShadow {
  std::string shadow;
  std::optional<std::string> destination;  // must be the shadow copy's own volume
};
struct Create {};
enum class Session { kBackup, kRestore };
struct Begin {
  Session session = Session::kBackup;
};
struct End {
  Session session = Session::kBackup;
};
enum class WriterAction { kVerify, kExclude };
struct WriterSelect {
  WriterAction action = WriterAction::kVerify;
  // A writer name (several words, quoted or not, joined by one space) or class id.
  std::string writer;
  // From "writer:\logical\path": the component's logical path.
  std::optional<std::string> component;
};
enum class WriterDetail { kSummary, kMetadata, kDetailed, kStatus };
struct ListWriters {
  WriterDetail detail = WriterDetail::kSummary;
};
struct ListProviders {};
enum class ShadowFilter { kAll, kSet, kId };
struct ListShadows {
  ShadowFilter filter = ShadowFilter::kAll;
  Uuid id;  // for kSet and kId
};
enum class DeleteBy { kAll, kVolume, kOldest, kSet, kId, kExposed };
struct DeleteShadows {
  DeleteBy by = DeleteBy::kAll;
  std::string argument;  // the volume, id or file as typed; empty for kAll
  Uuid id;               // for kSet and kId
};
struct Expose {
  std::string shadow;
  std::string file;
};
struct Unexpose {
  std::string shadow_or_file;
};
struct Revert {
  std::string shadow;
};
// diskshadow's options for a LUN resynchronisation; a software snapshot has no LUN, so they
// are accepted and change nothing.
struct Resync {
  bool no_volume_check = false;            // NOVOLCHECK
  bool revert_original_signature = false;  // REVERT_ORIGINALSIG
};
struct Exec {
  std::string program;
  std::vector<std::string> arguments;
};
struct Reset {};
struct Exit {};
struct Help {};

using Command = std::variant<Remark, SetContext, SetOption, SetVerbose, SetMetadata, ShowSet,
                             AddVolume, AddAlias, AddShadow, Create, Begin, End, WriterSelect,
                             ListWriters, ListProviders, ListShadows, DeleteShadows, Expose,
                             Unexpose, Revert, Resync, Exec, Reset, Exit, Help>;

// Tokens of one line (the first is the command word) to its command.
Result<Command> parse_command(const std::vector<std::string>& tokens, std::size_t line);
// tokenize(), then parse_command(); an empty line is a Remark.
Result<Command> parse_line(std::string_view text, std::size_t line);

}  // namespace freezeframe::cli::script

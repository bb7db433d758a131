// Parsing of command-line values: sizes as vssadmin users write them, byte counts, provider
// kinds and contexts, and a small option parser whose errors name the bad option or value.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "freezeframe/snapshot_provider.h"
#include "freezeframe/status.h"
#include "freezeframe/writer.h"

namespace freezeframe::cli {

// "4096", "64K", "64KB", "64M", "1G", "1.5GB" (binary units, case-insensitive, K M G T P E
// with or without B). kInvalidArgument naming `what` and the text otherwise.
Result<std::uint64_t> parse_bytes(std::string_view text, std::string_view what);
// A shadow-storage maximum: a byte count as above, "N%" of the volume, or "UNBOUNDED".
Result<DiffAreaLimit> parse_limit(std::string_view text, std::string_view what);
// "64 MiB", "512 B", "1.5 GiB".
std::string format_bytes(std::uint64_t bytes);
std::string limit_text(const DiffAreaLimit& limit);

Result<ProviderKind> parse_provider_kind(std::string_view text);
// persistent, backup, clientaccessible and the other names of snapshot_context_name().
Result<SnapshotContext> parse_context(std::string_view text);
// The context recorded in a snapshot's attribute bits.
std::string context_of_attributes(std::uint32_t attributes);
// "Persistent No_Auto_Release No_Writers Differential" style words.
std::string attribute_words(std::uint32_t attributes);

// Names of protocol values, as the engine spells them (writer.h).
std::string_view context_name(SnapshotContext context) noexcept;
Result<SnapshotContext> parse_context_name(std::string_view name);
std::string_view state_name(WriterState state) noexcept;
std::string_view failure_name(WriterFailure failure) noexcept;

std::string to_lower(std::string_view text);
bool equals_ignore_case(std::string_view a, std::string_view b);

// The parts appended into one string, with one allocation: for messages built inside loops,
// where `a + b + c` would make a temporary string per `+`.
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::string text;
  text.reserve((std::string_view(parts).size() + ... + 0));
  (text.append(std::string_view(parts)), ...);
  return text;
}
// `words` joined with `separator` between them.
std::string join(std::span<const std::string> words, std::string_view separator);

// Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`, ignoring
// case: "craete" is 1 from "create".
std::size_t edit_distance(std::string_view a, std::string_view b);
// The candidate a mistyped `word` most likely meant: the nearest by edit_distance when it is
// near enough (at most a third of the word, at least 1), else the only candidate `word` is a
// prefix of (3 letters at least). None when nothing is that close.
std::optional<std::string> closest_word(std::string_view word,
                                        const std::vector<std::string>& candidates);

// Parsed options of one command. Options are `--name value`, `--name=value` or flags.
class Options {
 public:
  struct Spec {
    std::set<std::string> with_value;
    std::set<std::string> flags;
  };
  // Parses `args` with CLI11 (command_line.cpp). `command` names the command in errors
  // ("shadow create"): an unknown option, a missing value or an option given twice is
  // kInvalidArgument naming the option.
  static Result<Options> parse(const std::vector<std::string>& args, const Spec& spec,
                               std::string_view command);

  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::optional<std::string> get(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

  // Filled by the parser, or by a translation such as vssadmin's switches. A flag's value is
  // empty.
  void set(const std::string& name, std::string value) { values_[name] = std::move(value); }
  void add_positional(std::string value) { positionals_.push_back(std::move(value)); }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positionals_;
};

}  // namespace freezeframe::cli

// The diskshadow-style script parser: lines, tokens, %alias% expansion and typed commands, and
// the errors it reports with their line numbers.
#include "script_parser.h"

#include <gtest/gtest.h>

#include <map>

namespace freezeframe::cli::script {
namespace {

// The command of type T parsed from `text` at `line`; fails the test when it is not one.
template <typename T>
T parsed_as(std::string_view text, std::size_t line = 1) {
  auto command = parse_line(text, line);
  EXPECT_TRUE(command.ok()) << text << ": " << command.status().message();
  if (!command.ok())
    return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*command)) << text << " parsed as another command";
  if (!std::holds_alternative<T>(*command))
    return T{};
  return std::get<T>(*command);
}

// The error of a line that must not parse.
Status error_of(std::string_view text, std::size_t line) {
  auto command = parse_line(text, line);
  EXPECT_FALSE(command.ok()) << text << " parsed";
  return command.ok() ? Status() : command.status();
}

TEST(ScriptLines, SplitAtLfOrCrlfKeepingLineNumbersAndDroppingBlanksAndComments) {
  auto lines = split_lines("REM first\r\n\r\n  # comment\nSeT   CoNtExT PeRsIsTeNt\t \r\ncreate");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].number, 1u);
  EXPECT_EQ(lines[0].text, "REM first");
  EXPECT_EQ(lines[1].number, 4u);
  EXPECT_EQ(lines[1].text, "SeT   CoNtExT PeRsIsTeNt");
  EXPECT_EQ(lines[2].number, 5u);
  EXPECT_EQ(lines[2].text, "create");
}

TEST(ScriptTokens, QuotesKeepSpacesAndBackslashesAndBareBackslashesStay) {
  auto tokens = tokenize("exec  C:\\tools\\copy.cmd \"two words\\x\" a\\\\b", 1);
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(*tokens,
            (std::vector<std::string>{"exec", "C:\\tools\\copy.cmd", "two words\\x", "a\\\\b"}));
}

TEST(ScriptTokens, AnUnterminatedQuoteNamesItsLineAndColumn) {
  auto tokens = tokenize("writer exclude \"System Writer", 7);
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(tokens.status().message(), "line 7: unterminated quoted string from column 16");
}

TEST(ScriptAliases, ExpandFromTheLookupAndReportEachUse) {
  std::map<std::string, std::string> known{{"one", "{1111}"}, {"PATH_PART", "a b"}};
  NameLookup lookup = [&](const std::string& name) -> std::optional<std::string> {
    auto it = known.find(name);
    if (it == known.end())
      return std::nullopt;
    return it->second;
  };
  auto expanded = expand_aliases("expose %one% %PATH_PART%/x", 2, lookup);
  ASSERT_TRUE(expanded.ok());
  EXPECT_EQ(expanded->text, "expose {1111} a b/x");
  ASSERT_EQ(expanded->used.size(), 2u);
  EXPECT_EQ(expanded->used[0], (std::pair<std::string, std::string>{"one", "{1111}"}));

  auto unknown = expand_aliases("expose %two% x", 4, lookup);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(unknown.status().message(), "line 4: unknown alias or environment variable %two%");

  auto unmatched = expand_aliases("expose %one", 9, lookup);
  ASSERT_FALSE(unmatched.ok());
  EXPECT_EQ(unmatched.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(unmatched.status().message(), "line 9: unmatched '%' at column 8");
}

TEST(ScriptCommands, SetCommandsCarryTheirValues) {
  EXPECT_EQ(parsed_as<SetContext>("SET CONTEXT PERSISTENT NOWRITERS").context,
            SnapshotContext::kNasRollback);
  EXPECT_EQ(parsed_as<SetContext>("set context volatile").context, SnapshotContext::kBackup);
  EXPECT_EQ(parsed_as<SetContext>("set context clientaccessible").context,
            SnapshotContext::kClientAccessible);
  EXPECT_EQ(parsed_as<SetOption>("set option Differential TXFRECOVER").options,
            (std::vector<std::string>{"differential", "txfrecover"}));
  EXPECT_TRUE(parsed_as<SetVerbose>("set verbose ON").on);
  EXPECT_EQ(parsed_as<SetMetadata>("set metadata \"C:\\meta data.cab\"").file, "C:\\meta data.cab");
}

TEST(ScriptCommands, AddVolumeAliasAndShadow) {
  auto volume = parsed_as<AddVolume>("add volume c:\\ alias System provider row");
  EXPECT_EQ(volume.volume, "c:\\");
  EXPECT_EQ(volume.alias, "System");
  EXPECT_EQ(volume.provider, std::optional<std::string>("row"));
  auto alias = parsed_as<AddAlias>("add alias Old {1234}");
  EXPECT_EQ(alias.name, "Old");
  EXPECT_EQ(alias.value, "{1234}");
  EXPECT_TRUE(std::holds_alternative<ShowSet>(*parse_line("ADD", 1)));
  auto shadow = parsed_as<AddShadow>("add shadow {1234} E:");
  EXPECT_EQ(shadow.shadow, "{1234}");
  EXPECT_EQ(shadow.destination, std::optional<std::string>("E:"));
  EXPECT_FALSE(parsed_as<AddShadow>("add shadow {1234}").destination.has_value());
}

TEST(ScriptCommands, WriterNamesOfSeveralWordsQuotedOrNotAndComponents) {
  auto unquoted = parsed_as<WriterSelect>("writer exclude Microsoft Exchange   Writer");
  EXPECT_EQ(unquoted.action, WriterAction::kExclude);
  EXPECT_EQ(unquoted.writer, "Microsoft Exchange Writer");
  EXPECT_FALSE(unquoted.component.has_value());
  auto quoted = parsed_as<WriterSelect>("WRITER VERIFY \"Microsoft Exchange Writer\"");
  EXPECT_EQ(quoted.action, WriterAction::kVerify);
  EXPECT_EQ(quoted.writer, "Microsoft Exchange Writer");
  auto component = parsed_as<WriterSelect>("writer exclude \"System Writer:\\Win32 Files\"");
  EXPECT_EQ(component.writer, "System Writer");
  EXPECT_EQ(component.component, std::optional<std::string>("Win32 Files"));
  auto bare_component = parsed_as<WriterSelect>("writer exclude System Writer:\\Win32 Files");
  EXPECT_EQ(bare_component.writer, "System Writer");
  EXPECT_EQ(bare_component.component, std::optional<std::string>("Win32 Files"));
}

TEST(ScriptCommands, ResyncTakesDiskshadowsOptionsInAnyOrderAndCase) {
  auto both = parsed_as<Resync>("resync REVERT_ORIGINALSIG novolcheck");
  EXPECT_TRUE(both.no_volume_check);
  EXPECT_TRUE(both.revert_original_signature);
  auto none = parsed_as<Resync>("RESYNC");
  EXPECT_FALSE(none.no_volume_check);
  EXPECT_FALSE(none.revert_original_signature);
}

TEST(ScriptCommands, ExecKeepsItsProgramAndArgumentsAsTokenized) {
  auto exec = parsed_as<Exec>("exec copy.sh C:\\data\\x \"a b\\c\"");
  EXPECT_EQ(exec.program, "copy.sh");
  EXPECT_EQ(exec.arguments, (std::vector<std::string>{"C:\\data\\x", "a b\\c"}));
}

TEST(ScriptCommands, ListsAndDeletesParseTheirGuids) {
  auto id = Uuid::parse("{6f1e0c9a-2b7d-4c1e-9a3f-0123456789ab}");
  ASSERT_TRUE(id.ok());
  auto by_set = parsed_as<ListShadows>("list shadows set {6f1e0c9a-2b7d-4c1e-9a3f-0123456789ab}");
  EXPECT_EQ(by_set.filter, ShadowFilter::kSet);
  EXPECT_EQ(by_set.id, *id);
  EXPECT_EQ(parsed_as<ListShadows>("list shadows").filter, ShadowFilter::kAll);
  EXPECT_EQ(parsed_as<ListWriters>("list writers status").detail, WriterDetail::kStatus);
  auto by_id = parsed_as<DeleteShadows>("delete shadows id {6f1e0c9a-2b7d-4c1e-9a3f-0123456789ab}");
  EXPECT_EQ(by_id.by, DeleteBy::kId);
  EXPECT_EQ(by_id.id, *id);
  auto oldest = parsed_as<DeleteShadows>("delete shadows oldest C:");
  EXPECT_EQ(oldest.by, DeleteBy::kOldest);
  EXPECT_EQ(oldest.argument, "C:");
  EXPECT_EQ(parsed_as<Begin>("begin restore").session, Session::kRestore);
  EXPECT_EQ(parsed_as<End>("END BACKUP").session, Session::kBackup);
  EXPECT_TRUE(std::holds_alternative<Remark>(*parse_line("rem anything at all", 1)));
}

// Each line of `script` fails to parse with `code`; the messages, in order, are `messages`
// after the "line N: " of the line's own number in the script.
void expect_each_line_fails(std::string_view script, ErrorCode code,
                            const std::vector<std::string_view>& messages) {
  std::vector<SourceLine> lines = split_lines(script);
  ASSERT_EQ(lines.size(), messages.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    Status status = error_of(lines[i].text, lines[i].number);
    EXPECT_EQ(status.code(), code) << lines[i].text;
    EXPECT_EQ(status.message(),
              "line " + std::to_string(lines[i].number) + ": " + std::string(messages[i]));
  }
}

TEST(ScriptErrors, MalformedLinesNameTheirLineAndTheProblem) {
  constexpr std::string_view kScript =
      "craete\n"
      "set context sometimes\n"
      "\n"
      "# a comment keeps its line number\n"
      "create now\n"
      "resync novolcheck fast\r\n"
      "resync NOVOLCHECK novolcheck\n"
      "add shadow {1} C: D:\n"
      "writer exclude\n"
      "list shadows id not-a-guid\n"
      "exec\n"
      "begin sideways\n";
  expect_each_line_fails(
      kScript, ErrorCode::kInvalidArgument,
      {"unknown command 'craete' (type 'help' for the list)",
       "unknown context 'sometimes' (clientaccessible, persistent [nowriters], volatile "
       "[nowriters])",
       "'create' takes no arguments",
       "unexpected 'fast' (expected 'resync [novolcheck] [revert_originalsig]')",
       "'novolcheck' given twice", "expected 'add shadow <shadow id> [<its own volume>]'",
       "expected 'writer verify|exclude <writer name or id>'", "'not-a-guid' is not a GUID",
       "expected 'exec <program> [arguments]'",
       "'begin sideways': expected 'begin backup' or 'begin restore'"});
}

TEST(ScriptErrors, DiskshadowFeaturesFreezeframeLacksAreUnsupported) {
  expect_each_line_fails(
      "writer verify \"System Writer:\\System Files\"\nset option plex\nimport\n",
      ErrorCode::kUnsupported,
      {"'writer verify of a component' is not supported: components are not selectable; name "
       "the whole writer",
       "'set option plex' is not supported: the software providers take differential shadow "
       "copies only",
       "'import' is not supported: freezeframe has no transportable or hardware shadow "
       "copies"});
}

}  // namespace
}  // namespace freezeframe::cli::script

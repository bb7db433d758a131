// Programs run through process.h: arguments passed as given (no shell re-reads them), exit
// statuses and signals, the environment, and where a program is found.
#include "freezeframe/process.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "temp_path.h"

namespace freezeframe {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// `script` run by /bin/sh with `out` as $0 and `arguments` as $1, $2, ...
ProgramLaunch shell_script(const std::string& script, const fs::path& out,
                           std::vector<std::string> arguments = {}) {
  ProgramLaunch launch{"/bin/sh", {"-c", script, out.string()}, {}};
  launch.arguments.insert(launch.arguments.end(), arguments.begin(), arguments.end());
  return launch;
}

void write_program(const fs::path& path, const std::string& body) {
  std::ofstream(path) << "#!/bin/sh\n" << body;
  fs::permissions(path, fs::perms::owner_all);
}

TEST(RunProgram, ArgumentsArriveAsGivenWithoutAShell) {
  testing::TempPath out("args");
  auto status = run_program(shell_script("printf '%s\\n' \"$@\" > \"$0\"", out.path(),
                                         {"C:\\backup\\dir", "$HOME", "two words", "\"q\""}));
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(*status, 0);
  EXPECT_EQ(read_all(out.path()), "C:\\backup\\dir\n$HOME\ntwo words\n\"q\"\n");
}

TEST(RunProgram, ReportsTheExitStatusAndASignalAs128PlusItsNumber) {
  testing::TempPath out("unused");
  auto exited = run_program(shell_script("exit 7", out.path()));
  ASSERT_TRUE(exited.ok()) << exited.status().message();
  EXPECT_EQ(*exited, 7);
  auto killed = run_program(shell_script("kill -9 $$", out.path()));
  ASSERT_TRUE(killed.ok()) << killed.status().message();
  EXPECT_EQ(*killed, 128 + 9);
}

TEST(RunProgram, SetsItsEnvironmentOnTopOfTheInheritedOneTheLaterValueWinning) {
  testing::TempPath out("env");
  ProgramLaunch launch =
      shell_script("printf '%s|%s' \"$FF_PROCESS_TEST\" \"$PATH\" > \"$0\"", out.path());
  launch.environment = {{"FF_PROCESS_TEST", "first"}, {"FF_PROCESS_TEST", "second"}};
  auto status = run_program(launch);
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(read_all(out.path()), "second|" + environment_variable("PATH").value_or(""));
  EXPECT_FALSE(environment_variable("FF_PROCESS_TEST").has_value());
}

TEST(FindProgram, ABareNameIsLookedForInTheWorkingDirectoryFirst) {
  testing::TempPath dir("dir");
  fs::create_directories(dir.path());
  write_program(dir.path() / "sh", "exit 0\n");
  {
    testing::WorkingDirectory here(dir.path());
    auto found = find_program("sh");
    ASSERT_TRUE(found.ok()) << found.status().message();
    EXPECT_EQ(*found, dir.path() / "sh");
  }
  // Elsewhere the same name comes from PATH.
  auto from_path = find_program("sh");
  ASSERT_TRUE(from_path.ok()) << from_path.status().message();
  EXPECT_NE(*from_path, dir.path() / "sh");
  fs::remove_all(dir.path());
}

TEST(FindProgram, AMissingOrNonExecutableProgramIsNotFoundAndNamed) {
  auto missing = run_program({"freezeframe-no-such-program", {}, {}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'freezeframe-no-such-program'"), std::string::npos);
  testing::TempPath plain("plain");
  std::ofstream(plain.path()) << "not a program\n";
  auto not_executable = find_program(plain.str());
  ASSERT_FALSE(not_executable.ok());
  EXPECT_EQ(not_executable.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(not_executable.status().message().find(plain.str()), std::string::npos);
}

}  // namespace
}  // namespace freezeframe

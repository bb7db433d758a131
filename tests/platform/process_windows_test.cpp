// Programs run through process.h on Windows: arguments quoted so that the program's C runtime
// splits them back as given, exit statuses, the environment, batch files through cmd.exe, and
// where a program is found (PATHEXT's extensions). process_test.cpp is the POSIX counterpart.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "freezeframe/process.h"
#include "temp_path.h"

#ifndef FREEZEFRAME_PRINT_ARGS
#error "FREEZEFRAME_PRINT_ARGS names the print_args program"
#endif

namespace freezeframe {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

ProgramLaunch print_args(const fs::path& out, std::vector<std::string> arguments = {}) {
  ProgramLaunch launch{FREEZEFRAME_PRINT_ARGS, {out.string()}, {}};
  launch.arguments.insert(launch.arguments.end(), arguments.begin(), arguments.end());
  return launch;
}

std::string env_line() {
  return "env=|" + environment_variable("PATH").value_or("") + "\n";
}

TEST(RunProgramWindows, ArgumentsArriveAsGivenThroughTheCommandLineQuoting) {
  testing::TempPath out("args");
  const std::vector<std::string> arguments = {"C:\\backup\\dir", "$HOME",  "two words", "\"q\"",
                                              "trailing\\",      "a\\\"b", "",          "%PATH%"};
  auto status = run_program(print_args(out.path(), arguments));
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(*status, 0);
  std::string expected;
  for (const std::string& argument : arguments)
    expected += argument + "\n";
  EXPECT_EQ(read_all(out.path()), expected + env_line());
}

TEST(RunProgramWindows, ReportsTheExitStatus) {
  testing::TempPath out("unused");
  ProgramLaunch launch = print_args(out.path());
  launch.environment = {{"FF_EXIT_CODE", "7"}};
  auto exited = run_program(launch);
  ASSERT_TRUE(exited.ok()) << exited.status().message();
  EXPECT_EQ(*exited, 7);
}

TEST(RunProgramWindows, SetsItsEnvironmentOnTopOfTheInheritedOneTheLaterValueWinning) {
  testing::TempPath out("env");
  ProgramLaunch launch = print_args(out.path());
  launch.environment = {{"FF_PROCESS_TEST", "first"}, {"FF_PROCESS_TEST", "second"}};
  auto status = run_program(launch);
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(read_all(out.path()), "env=second|" + environment_variable("PATH").value_or("") + "\n");
  EXPECT_FALSE(environment_variable("FF_PROCESS_TEST").has_value());
}

TEST(RunProgramWindows, ABatchFileRunsThroughCmdAndItsExitStatusComesBack) {
  testing::TempPath dir("batch");
  fs::create_directories(dir.path());
  std::ofstream(dir.path() / "five.cmd") << "@echo off\r\nexit /b 5\r\n";
  auto status = run_program({(dir.path() / "five.cmd").string(), {}, {}});
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(*status, 5);
  fs::remove_all(dir.path());
}

TEST(FindProgramWindows, ABareNameTakesPathextExtensionsInTheWorkingDirectoryFirst) {
  testing::TempPath dir("dir");
  fs::create_directories(dir.path());
  std::ofstream(dir.path() / "ff-tool.cmd") << "@exit /b 0\r\n";
  testing::WorkingDirectory here(dir.path());
  auto found = find_program("ff-tool");
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->filename(), fs::path("ff-tool.cmd"));
  // cmd.exe comes from PATH (the system directory).
  auto cmd = find_program("cmd");
  ASSERT_TRUE(cmd.ok()) << cmd.status().message();
}

TEST(FindProgramWindows, AMissingOrNonExecutableProgramIsNotFoundAndNamed) {
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

TEST(ProcessWindows, TheProcessIdIsTheOperatingSystemsOne) {
  EXPECT_GT(current_process_id(), 0);
}

}  // namespace
}  // namespace freezeframe

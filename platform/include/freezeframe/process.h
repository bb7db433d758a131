// Running another program and waiting for it, as diskshadow's `exec` does.
//
// The program gets its arguments exactly as given: no shell parses the command line again, so
// backslashes, quotes, `$` and spaces inside an argument arrive as they were written. It
// inherits this process's standard input, output and error and its working directory; its
// environment is this process's with `ProgramLaunch::environment` set on top.
//
// Finding the program: a name with a directory in it (`./copy.sh`, `/usr/bin/env`,
// `tools/copy`) is used as it is, relative to the working directory. A bare name is looked up
// in the working directory first and then in each directory of PATH, in order, as Windows
// finds a program started by name; the first regular file that may be executed wins.
//
// Output order: run_program() flushes this process's C stdio buffers before the program
// starts. A caller that writes through its own buffered stream (an std::ostream that is not
// synchronised with stdio) flushes it first.
//
// Errors: kNotFound when the program is not found (the message names it and where it was
// looked for); kIoError when it was found but could not be started or waited for (naming the
// program and the operating system's reason). A program that runs and fails is not an error:
// its exit status is the result.
//
// Thread-safety: run_program() blocks the calling thread until the program ends. It may be
// called from several threads; each call waits for its own program only.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "freezeframe/status.h"

namespace freezeframe {

struct ProgramLaunch {
  // A path or a bare name (see "Finding the program" above).
  std::string program;
  // The arguments after the program's name; the program sees its name as typed first.
  std::vector<std::string> arguments;
  // Variables set in the program's environment, replacing inherited ones of the same name;
  // when a name appears twice the later value wins.
  std::vector<std::pair<std::string, std::string>> environment;
};

// Where run_program() would find `program`, or kNotFound.
Result<std::filesystem::path> find_program(std::string_view program);

// Runs the program and waits for it to end. Returns its exit status, or 128 + the signal
// number when a signal ended it (as shells report it).
Result<int> run_program(const ProgramLaunch& launch);

// This process's id (getpid on POSIX, GetCurrentProcessId on Windows).
long current_process_id();

// The value of this process's environment variable `name`, if it is set.
std::optional<std::string> environment_variable(const std::string& name);

}  // namespace freezeframe

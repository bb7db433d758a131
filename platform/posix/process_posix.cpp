// Programs on POSIX systems: found as process.h says, started with posix_spawn(3) (no shell)
// and waited for with waitpid(2).
#include <spawn.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

#include "freezeframe/process.h"
#include "posix_io.h"

extern char** environ;  // POSIX leaves declaring it to the program

namespace freezeframe {
namespace {

// A regular file this process may execute.
bool is_executable_file(const std::filesystem::path& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

// NAME=VALUE strings: the inherited environment with `overrides` set on top.
std::vector<std::string> environment_block(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::map<std::string, std::string> set;
  for (const auto& [name, value] : overrides)
    set[name] = value;
  std::vector<std::string> block;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    if (set.count(std::string(text.substr(0, text.find('=')))) == 0)
      block.emplace_back(text);
  }
  for (const auto& [name, value] : set) {
    std::string entry = name;
    entry += '=';
    entry += value;
    block.push_back(std::move(entry));
  }
  return block;
}

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& text : strings)
    pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

Result<std::filesystem::path> find_program(std::string_view program) {
  if (program.empty())
    return invalid_argument("no program named (an empty name)");
  std::filesystem::path given(program);
  if (program.find('/') != std::string_view::npos) {
    if (is_executable_file(given))
      return given;
    return not_found("program '" + std::string(program) +
                     "' is not an executable file (checked that path only)");
  }
  std::error_code error;
  std::filesystem::path here = std::filesystem::current_path(error);
  if (!error && is_executable_file(here / given))
    return here / given;
  const char* search = std::getenv("PATH");
  std::istringstream dirs(search == nullptr ? "" : search);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    // An empty PATH entry means the working directory, which was looked in already.
    if (!dir.empty() && is_executable_file(std::filesystem::path(dir) / given))
      return std::filesystem::path(dir) / given;
  }
  return not_found("program '" + std::string(program) +
                   "' is neither in the current directory nor in a directory of PATH");
}

Result<int> run_program(const ProgramLaunch& launch) {
  FF_ASSIGN_OR_RETURN(std::filesystem::path path, find_program(launch.program));
  std::vector<std::string> argv_strings{launch.program};
  argv_strings.insert(argv_strings.end(), launch.arguments.begin(), launch.arguments.end());
  std::vector<std::string> env_strings = environment_block(launch.environment);
  std::vector<char*> argv = pointers_to(argv_strings);
  std::vector<char*> envp = pointers_to(env_strings);
  // Whatever this process printed so far comes before the program's output.
  std::fflush(nullptr);
  pid_t pid = -1;
  int spawned = ::posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv.data(), envp.data());
  if (spawned != 0) {
    return io_error("cannot start program '" + path.string() +
                    "': " + posix::errno_reason(spawned));
  }
  int status = 0;
  for (int attempt = 0;; ++attempt) {
    if (::waitpid(pid, &status, 0) == pid)
      break;
    if (errno != EINTR || attempt >= posix::kInterruptedRetriesMax) {
      return io_error("cannot wait for program '" + path.string() + "' (pid " +
                      std::to_string(pid) + "): " + posix::errno_reason(errno));
    }
  }
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return io_error("program '" + path.string() + "' ended in an unknown way (wait status " +
                  std::to_string(status) + ")");
}

long current_process_id() {
  return static_cast<long>(::getpid());
}

std::optional<std::string> environment_variable(const std::string& name) {
  const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe)
  if (value == nullptr)
    return std::nullopt;
  return std::string(value);
}

}  // namespace freezeframe

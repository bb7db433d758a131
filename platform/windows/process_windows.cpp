// Programs on Windows: found as process.h says (with PATHEXT's extensions tried for a name
// without one, as cmd does), started with CreateProcessW and waited for with
// WaitForSingleObject. The command line is quoted so that the program's C runtime splits it
// back into exactly the arguments given. A batch file (.bat, .cmd) runs through
// `cmd.exe /c`, which is how Windows runs one (CreateProcess cannot); its arguments are then
// parsed by cmd, which gives `%`, `^` and `&` meaning, so scripts pass such arguments to
// programs, not batch files (docs/windows.md).
#include <algorithm>
#include <cstdio>
#include <cwctype>
#include <map>
#include <sstream>

#include "freezeframe/process.h"
#include "windows_io.h"

namespace freezeframe {
namespace {

using windows::narrow;
using windows::widen;

bool is_file(const std::filesystem::path& path) {
  const DWORD attributes = GetFileAttributesW(path.wstring().c_str());
  return attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY) == 0;
}

std::wstring lower(std::wstring text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](wchar_t c) { return static_cast<wchar_t>(std::towlower(c)); });
  return text;
}

// The extensions a bare name may take: PATHEXT's, else the usual ones.
std::vector<std::wstring> executable_extensions() {
  std::optional<std::string> pathext = environment_variable("PATHEXT");
  std::vector<std::wstring> out;
  std::istringstream list(pathext.value_or(".COM;.EXE;.BAT;.CMD"));
  for (std::string ext; std::getline(list, ext, ';');) {
    if (!ext.empty())
      out.push_back(lower(widen(ext)));
  }
  return out;
}

// `candidate` itself if it names a file with an executable extension (one of PATHEXT's),
// else candidate + the first extension that names a file.
std::optional<std::filesystem::path> resolve(const std::filesystem::path& candidate) {
  const std::vector<std::wstring> extensions = executable_extensions();
  const std::wstring own = lower(candidate.extension().wstring());
  if (!own.empty() && std::find(extensions.begin(), extensions.end(), own) != extensions.end() &&
      is_file(candidate))
    return candidate;
  for (const std::wstring& ext : extensions) {
    std::filesystem::path with = candidate;
    with += ext;
    if (is_file(with))
      return with;
  }
  return std::nullopt;
}

// One argument quoted for CommandLineToArgvW and the C runtime: backslashes are literal
// except before a quote, where they and the quote are escaped.
void append_quoted(std::wstring& line, const std::wstring& argument) {
  if (!argument.empty() && argument.find_first_of(L" \t\n\v\"") == std::wstring::npos) {
    line += argument;
    return;
  }
  line += L'"';
  for (auto it = argument.begin();; ++it) {
    std::size_t backslashes = 0;
    while (it != argument.end() && *it == L'\\') {
      ++it;
      ++backslashes;
    }
    if (it == argument.end()) {
      line.append(backslashes * 2, L'\\');
      break;
    }
    if (*it == L'"') {
      line.append(backslashes * 2 + 1, L'\\');
      line += L'"';
    } else {
      line.append(backslashes, L'\\');
      line += *it;
    }
  }
  line += L'"';
}

// The environment block: this process's variables with `overrides` set on top, sorted as
// Windows expects (names compare case-insensitively).
std::wstring environment_block(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::map<std::wstring, std::pair<std::wstring, std::wstring>> entries;  // lower name -> pair
  wchar_t* inherited = GetEnvironmentStringsW();
  for (const wchar_t* entry = inherited; entry != nullptr && *entry != L'\0';
       entry += std::wcslen(entry) + 1) {
    std::wstring text(entry);
    // Entries such as "=C:=C:\\dir" start with '=': the name is up to the second '='.
    const std::size_t equals = text.find(L'=', 1);
    if (equals == std::wstring::npos)
      continue;
    std::wstring name = text.substr(0, equals);
    entries[lower(name)] = {name, text.substr(equals + 1)};
  }
  if (inherited != nullptr)
    FreeEnvironmentStringsW(inherited);
  for (const auto& [name, value] : overrides) {
    std::wstring wide_name = widen(name);
    entries[lower(wide_name)] = {wide_name, widen(value)};
  }
  std::wstring block;
  for (const auto& [key, entry] : entries) {
    block += entry.first + L"=" + entry.second;
    block += L'\0';
  }
  block += L'\0';
  return block;
}

}  // namespace

Result<std::filesystem::path> find_program(std::string_view program) {
  if (program.empty())
    return invalid_argument("no program named (an empty name)");
  std::filesystem::path given(widen(std::string(program)));
  if (program.find('/') != std::string_view::npos || program.find('\\') != std::string_view::npos ||
      given.has_root_name()) {
    if (auto found = resolve(given))
      return *found;
    return not_found("program '" + std::string(program) +
                     "' is not an executable file (checked that path only)");
  }
  std::error_code error;
  std::filesystem::path here = std::filesystem::current_path(error);
  if (!error) {
    if (auto found = resolve(here / given))
      return *found;
  }
  std::istringstream dirs(environment_variable("PATH").value_or(""));
  for (std::string dir; std::getline(dirs, dir, ';');) {
    if (dir.empty())
      continue;
    if (auto found = resolve(std::filesystem::path(widen(dir)) / given))
      return *found;
  }
  return not_found("program '" + std::string(program) +
                   "' is neither in the current directory nor in a directory of PATH");
}

Result<int> run_program(const ProgramLaunch& launch) {
  FF_ASSIGN_OR_RETURN(std::filesystem::path path, find_program(launch.program));
  const std::wstring extension = lower(path.extension().wstring());
  const bool batch = extension == L".bat" || extension == L".cmd";
  std::wstring application;
  std::wstring line;
  if (batch) {
    wchar_t system[MAX_PATH] = {};
    const UINT length = GetSystemDirectoryW(system, MAX_PATH);
    application = std::wstring(system, length) + L"\\cmd.exe";
    line = L"cmd.exe /d /c \"";
    append_quoted(line, path.wstring());
  } else {
    application = path.wstring();
    append_quoted(line, widen(launch.program));
  }
  for (const std::string& argument : launch.arguments) {
    line += L' ';
    append_quoted(line, widen(argument));
  }
  if (batch)
    line += L'"';
  std::wstring environment = environment_block(launch.environment);
  std::fflush(nullptr);
  STARTUPINFOW startup{};
  startup.cb = sizeof(startup);
  PROCESS_INFORMATION process{};
  if (!CreateProcessW(application.c_str(), line.data(), nullptr, nullptr, /*inherit=*/TRUE,
                      CREATE_UNICODE_ENVIRONMENT, environment.data(), nullptr, &startup,
                      &process)) {
    return io_error("cannot start program '" + windows::utf8_path(path) +
                    "': " + windows::error_reason(GetLastError()));
  }
  windows::UniqueHandle process_handle(process.hProcess);
  windows::UniqueHandle thread_handle(process.hThread);
  if (WaitForSingleObject(process.hProcess, INFINITE) != WAIT_OBJECT_0) {
    return io_error("cannot wait for program '" + windows::utf8_path(path) +
                    "': " + windows::error_reason(GetLastError()));
  }
  DWORD code = 0;
  if (!GetExitCodeProcess(process.hProcess, &code)) {
    return io_error("cannot read the exit code of program '" + windows::utf8_path(path) +
                    "': " + windows::error_reason(GetLastError()));
  }
  return static_cast<int>(code);
}

long current_process_id() {
  return static_cast<long>(GetCurrentProcessId());
}

std::optional<std::string> environment_variable(const std::string& name) {
  const std::wstring wide = widen(name);
  SetLastError(ERROR_SUCCESS);
  const DWORD needed = GetEnvironmentVariableW(wide.c_str(), nullptr, 0);
  if (needed == 0)
    return GetLastError() == ERROR_ENVVAR_NOT_FOUND ? std::nullopt
                                                    : std::optional<std::string>(std::string());
  std::wstring value(needed, L'\0');
  const DWORD written = GetEnvironmentVariableW(wide.c_str(), value.data(), needed);
  value.resize(written);
  return narrow(value);
}

}  // namespace freezeframe

// The diskshadow-style interpreter behind `freezeframe script FILE` and `freezeframe shell`.
//
// Commands have diskshadow's meaning (docs/cli.md lists them and what differs). Each line is
// parsed (script_parser.h) when it is reached and run by a ScriptSession (script_session.h).
// A script stops at the first failing line; the Status then starts with "line N: ". Whatever the
// session created in an auto-release (volatile) context is deleted when the script ends,
// however it ends, and when the shell exits or runs `reset`.
#pragma once

#include <filesystem>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "freezeframe/status.h"
#include "store.h"

namespace freezeframe::cli {

// `params` become %DISKSH_PARAM_1%, %DISKSH_PARAM_2%, ...
Status run_script_file(Store& store, const std::filesystem::path& path,
                       const std::vector<std::string>& params, std::ostream& out);
// Runs `script` (its text) as if read from a file named `name`.
Status run_script_text(Store& store, std::string_view script, const std::string& name,
                       const std::vector<std::string>& params, std::ostream& out);
// Interactive: reads lines from `in` until `exit` or end of input; a failing command is
// reported and the session goes on.
Status run_shell(Store& store, std::istream& in, std::ostream& out);

}  // namespace freezeframe::cli

// The operating-system services the command uses beyond Volume and StoreLock. Durable files
// (replace_file, sync_directory, read_file, OutputFile) and terminal detection are platform
// services (freezeframe/durable_file.h, freezeframe/terminal.h); running a shell command
// (diskshadow's exec) is still here. POSIX only for now.
#pragma once

#include <string>

#include "freezeframe/durable_file.h"
#include "freezeframe/status.h"
#include "freezeframe/terminal.h"

namespace freezeframe::cli {

// Runs `command` through /bin/sh and waits for it. Returns its exit status (128 + signal
// number when a signal ended it).
Result<int> run_shell_command(const std::string& command);

// Sets an environment variable for this process and the commands it runs.
void set_environment(const std::string& name, const std::string& value);

}  // namespace freezeframe::cli

#include "os.h"

#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace freezeframe::cli {

Result<int> run_shell_command(const std::string& command) {
  int status = std::system(command.c_str());  // NOLINT(cert-env33-c): exec is the point
  if (status == -1)
    return io_error("cannot run '" + command + "': " + std::strerror(errno));
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 1;
}

void set_environment(const std::string& name, const std::string& value) {
  ::setenv(name.c_str(), value.c_str(), 1);
}

}  // namespace freezeframe::cli

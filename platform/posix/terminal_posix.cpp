// Terminal detection on POSIX systems: isatty(3).
#include <unistd.h>

#include "freezeframe/terminal.h"

namespace freezeframe {

bool stdin_is_terminal() {
  return ::isatty(STDIN_FILENO) == 1;
}

bool stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}

}  // namespace freezeframe

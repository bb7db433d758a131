// Whether the program talks to a person: a terminal on stdin decides whether to ask before
// deleting, a terminal on stderr whether to draw progress bars. Implemented per operating
// system (posix/ now). Thread-safe.
#pragma once

namespace freezeframe {

bool stdin_is_terminal();
bool stderr_is_terminal();

}  // namespace freezeframe

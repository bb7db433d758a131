// Whether stdin and stderr are consoles (GetConsoleMode succeeds only on a console handle).
#include "freezeframe/terminal.h"
#include "windows_io.h"

namespace freezeframe {

namespace {
bool is_console(DWORD which) {
  DWORD mode = 0;
  HANDLE handle = GetStdHandle(which);
  return handle != nullptr && handle != INVALID_HANDLE_VALUE && GetConsoleMode(handle, &mode);
}
}  // namespace

bool stdin_is_terminal() {
  return is_console(STD_INPUT_HANDLE);
}
bool stderr_is_terminal() {
  return is_console(STD_ERROR_HANDLE);
}

}  // namespace freezeframe

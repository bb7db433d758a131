// `freezeframe serve` as a command of the freezeframe executable (Linux), and the hook that
// sends the commands a running daemon must run (command_context.h, forwarded_command()) to
// it over its socket.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "command_context.h"

namespace freezeframe::serve {

cli::command::CommandSpec serve_command();

// CommandHooks::forward: runs the command in the daemon that serves ctx.store_dir, if one
// listens on its socket (nullopt otherwise), writing its output to ctx.out and ctx.err. A
// relative --to is made absolute first, since the daemon runs elsewhere.
std::optional<int> forward_to_daemon(cli::command::Context& ctx,
                                     const std::vector<std::string>& args);

}  // namespace freezeframe::serve

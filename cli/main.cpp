// The freezeframe command.
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "command_context.h"
#include "demo.h"
#ifdef FREEZEFRAME_SERVE
#include "serve_command.h"
#endif

namespace {

using freezeframe::Status;
using freezeframe::cli::command::CommandSpec;
using freezeframe::cli::command::Context;

// The executable's own commands, which the library the tests link does not have.
std::vector<CommandSpec> program_commands() {
  return {
      {"version",
       "",
       "Prints the version.",
       {},
       [](Context& ctx) {
         ctx.out << "freezeframe " << FREEZEFRAME_VERSION << "\n";
         return Status();
       }},
      {"demo",
       "",
       "Runs the simulated end-to-end demonstration and checks its outcome.",
       {{"seed", "N", "the seed of the simulation (default 42)"}},
       [](Context& ctx) {
         std::uint64_t seed = 42;
         if (auto text = ctx.options.get("seed")) {
           char* end = nullptr;
           errno = 0;
           seed = std::strtoull(text->c_str(), &end, 0);
           if (text->empty() || *end != '\0' || errno != 0 || (*text)[0] == '-')
             return freezeframe::invalid_argument("--seed takes a number, got '" + *text + "'");
         }
         if (freezeframe::cli::run_demo(seed, ctx.out) != 0)
           return Status(freezeframe::ErrorCode::kCorrupt,
                         "the demo's checks failed (seed " + std::to_string(seed) + ")");
         return Status();
       }},
  };
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<CommandSpec> commands = program_commands();
  freezeframe::cli::command::CommandHooks hooks;
#ifdef FREEZEFRAME_SERVE
  // Linux: `serve`, and the commands a running daemon must run go to it.
  commands.push_back(freezeframe::serve::serve_command());
  hooks.forward = freezeframe::serve::forward_to_daemon;
#endif
  return freezeframe::cli::command::run_command_line(args, std::cout, std::cerr, commands, hooks);
}

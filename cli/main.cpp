// The freezeframe command.
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "demo.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "version" || args[0] == "--version")) {
    std::cout << "freezeframe " << FREEZEFRAME_VERSION << "\n";
    return 0;
  }
  if (!args.empty() && args[0] == "demo") {
    std::uint64_t seed = 42;
    for (std::size_t i = 1; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if (arg == "--seed" && i + 1 < args.size()) {
        char* end = nullptr;
        seed = std::strtoull(args[++i].c_str(), &end, 0);
        if (end == nullptr || *end != '\0') {
          std::cerr << "freezeframe demo: --seed takes a number, got '" << args[i] << "'\n";
          return 2;
        }
      } else if (arg == "--help" || arg == "-h") {
        std::cout << "usage: freezeframe demo [--seed N]\n";
        return 0;
      } else {
        std::cerr << "freezeframe demo: unknown option '" << arg << "'\n";
        return 2;
      }
    }
    return freezeframe::cli::run_demo(seed, std::cout);
  }
  return freezeframe::cli::run_cli(args, std::cout, std::cerr);
}

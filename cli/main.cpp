// The freezeframe command.
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "demo.h"

namespace {

constexpr std::string_view kUsage =
    "usage: freezeframe <command> [options]\n"
    "\n"
    "commands:\n"
    "  demo [--seed N]   simulated disk: writes, a power loss, and what survived\n"
    "  version           print the version\n"
    "\n"
    "exit codes: 0 success, 1 the operation failed, 2 bad usage\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "version" || command == "--version") {
    std::cout << "freezeframe " << FREEZEFRAME_VERSION << "\n";
    return 0;
  }
  if (command == "demo") {
    std::uint64_t seed = 42;
    for (int i = 2; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg == "--seed" && i + 1 < argc) {
        char* end = nullptr;
        seed = std::strtoull(argv[++i], &end, 0);
        if (end == nullptr || *end != '\0') {
          std::cerr << "freezeframe demo: --seed takes a number, got '" << argv[i] << "'\n";
          return 2;
        }
      } else if (arg == "--help" || arg == "-h") {
        std::cout << "usage: freezeframe demo [--seed N]\n";
        return 0;
      } else {
        std::cerr << "freezeframe demo: unknown option '" << arg << "'\n" << kUsage;
        return 2;
      }
    }
    return freezeframe::cli::run_demo(seed, std::cout);
  }
  std::cerr << "freezeframe: unknown command '" << command << "'\n" << kUsage;
  return 2;
}

// The vendor harness example: runs the kv log (kv_log.h) through the harness over a range of
// seeds, as an application or as a writer. Exits 0 when every seed passes, 1 at the first
// finding (printed with the command that replays it), 2 on bad usage.
//
//   vendor_harness --mode app|writer [--buggy] [--seed N | --seeds FIRST-LAST] [--steps K]
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include "freezeframe/sim/harness.h"
#include "kv_log.h"

namespace {

struct Arguments {
  bool writer = false;
  bool buggy = false;
  std::uint64_t first_seed = 1;
  std::uint64_t last_seed = 20;
  std::uint64_t steps = 0;  // 0: the harness's default
};

bool parse_number(std::string_view text, std::uint64_t& out) {
  if (text.empty())
    return false;
  char* end = nullptr;
  const std::string copy(text);
  out = std::strtoull(copy.c_str(), &end, 10);
  return end != nullptr && *end == '\0';
}

// Fails with a message on stderr.
bool parse(int argc, char** argv, Arguments& arguments) {
  bool mode_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view argument = argv[i];
    const bool has_value = i + 1 < argc;
    if (argument == "--buggy") {
      arguments.buggy = true;
    } else if (argument == "--mode" && has_value) {
      const std::string_view mode = argv[++i];
      if (mode != "app" && mode != "writer") {
        std::cerr << "vendor_harness: --mode is app or writer, not '" << mode << "'\n";
        return false;
      }
      arguments.writer = mode == "writer";
      mode_given = true;
    } else if (argument == "--seed" && has_value) {
      if (!parse_number(argv[++i], arguments.first_seed)) {
        std::cerr << "vendor_harness: --seed takes a number\n";
        return false;
      }
      arguments.last_seed = arguments.first_seed;
    } else if (argument == "--seeds" && has_value) {
      const std::string_view range = argv[++i];
      const std::size_t dash = range.find('-');
      if (dash == std::string_view::npos ||
          !parse_number(range.substr(0, dash), arguments.first_seed) ||
          !parse_number(range.substr(dash + 1), arguments.last_seed) ||
          arguments.last_seed < arguments.first_seed) {
        std::cerr << "vendor_harness: --seeds takes FIRST-LAST, not '" << range << "'\n";
        return false;
      }
    } else if (argument == "--steps" && has_value) {
      if (!parse_number(argv[++i], arguments.steps)) {
        std::cerr << "vendor_harness: --steps takes a number\n";
        return false;
      }
    } else {
      std::cerr << "vendor_harness: unknown or incomplete argument '" << argument << "'\n"
                << "usage: vendor_harness --mode app|writer [--buggy] [--seed N | --seeds "
                   "FIRST-LAST] [--steps K]\n";
      return false;
    }
  }
  if (!mode_given)
    std::cerr << "vendor_harness: --mode app|writer is required\n";
  return mode_given;
}

// The command that replays one seed of this run: this program, with the same mode.
std::string replay_template(const char* program, const Arguments& arguments) {
  std::string command = std::string(program) + " --mode " + (arguments.writer ? "writer" : "app");
  if (arguments.buggy)
    command += " --buggy";
  if (arguments.steps != 0)
    command += " --steps " + std::to_string(arguments.steps);
  return command + " --seed {seed}";
}

freezeframe::Result<freezeframe::sim::HarnessReport> run_seed(const Arguments& arguments,
                                                              const std::string& replay,
                                                              std::uint64_t seed) {
  const bool buggy = arguments.buggy;
  if (arguments.writer) {
    freezeframe::sim::WriterHarnessOptions options;
    options.seed = seed;
    if (arguments.steps != 0)
      options.steps = arguments.steps;
    options.replay_command = replay;
    options.make_writer = [buggy](std::size_t index, freezeframe::Volume& volume)
        -> freezeframe::Result<std::unique_ptr<freezeframe::sim::HarnessWriter>> {
      return std::unique_ptr<freezeframe::sim::HarnessWriter>(
          std::make_unique<kv_log::KvLogWriter>(index, volume, buggy));
    };
    return freezeframe::sim::run_writer_harness(options);
  }
  freezeframe::sim::ApplicationHarnessOptions options;
  options.seed = seed;
  if (arguments.steps != 0)
    options.steps = arguments.steps;
  options.replay_command = replay;
  options.make_application = [buggy] { return std::make_unique<kv_log::KvLogApp>(buggy); };
  return freezeframe::sim::run_application_harness(options);
}

}  // namespace

int main(int argc, char** argv) {
  Arguments arguments;
  if (!parse(argc, argv, arguments))
    return 2;
  const std::string replay = replay_template(argv[0], arguments);
  freezeframe::sim::HarnessCounts total;
  for (std::uint64_t seed = arguments.first_seed; seed <= arguments.last_seed; ++seed) {
    auto report = run_seed(arguments, replay, seed);
    if (!report.ok()) {
      std::cerr << "vendor_harness: " << report.status().to_string() << "\n";
      return 2;
    }
    std::cout << report->to_string() << "\n";
    if (!report->ok())
      return 1;
    total.steps += report->counts.steps;
    total.snapshots += report->counts.snapshots;
    total.sets_failed += report->counts.sets_failed;
    total.crashes += report->counts.crashes;
    total.restarts += report->counts.restarts;
    total.faults_injected += report->counts.faults_injected;
    total.checks_run += report->counts.checks_run;
    total.vendor_steps += report->counts.vendor_steps;
  }
  std::cout << "all " << (arguments.last_seed - arguments.first_seed + 1) << " seeds passed; "
            << total.to_string() << "\n";
  return 0;
}

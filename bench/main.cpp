// freezeframe_bench: the Google Benchmark suites of freezeframe in one executable (write,
// read, snapshot, space, sweep, backup; see bench/README.md). Google Benchmark's flags are taken
// first; the rest are the suite's own (--dir, --direct, --volume-mib, --ops, --smoke, --full,
// --backup-image-mib, --backup-tools).
// Exits 2 on an unknown flag and 1 if any benchmark failed.
//
// Reported names are exactly the registered `<suite>/<key>:<value>/...`: the reporters drop
// the `/iterations:1/manual_time` that Google Benchmark appends (its --benchmark_filter still
// sees that suffix, so anchor filters at the start, not with `$`). --benchmark_list_tests is
// answered here, with the registered names.
//
// Run: bash scripts/bench.sh              (build, then every benchmark once, tiny: --smoke)
//      build-bench/bench/freezeframe_bench --benchmark_format=json --benchmark_out=run.json
#include <cstdio>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "common.h"

namespace {

using Run = benchmark::BenchmarkReporter::Run;

// A reporter of kind Base that prints registered names without Google Benchmark's suffixes
// and notices failed runs.
template <typename Base>
class PlainNameReporter final : public Base {
 public:
  using Base::Base;
  void ReportRuns(const std::vector<Run>& runs) override {
    std::vector<Run> renamed = runs;
    for (Run& run : renamed) {
      run.run_name.iterations.clear();
      run.run_name.time_type.clear();
      failed_ = failed_ || run.error_occurred;
    }
    Base::ReportRuns(renamed);
  }
  bool failed() const noexcept { return failed_; }

 private:
  bool failed_ = false;
};

// Google Benchmark's output flags, read (not removed) before benchmark::Initialize so the
// reporters can be built of the kinds it would build.
struct OutputFlags {
  std::string format = "console";
  std::string out_format = "json";
  bool out = false;
  bool tabular = false;
  bool color = false;
  bool list_tests = false;
};

bool flag_true(std::string_view value) {
  return value.empty() || value == "true" || value == "yes" || value == "1";
}

// The value of `--name=value` (empty for a bare `--name`) if `arg` is that flag.
std::optional<std::string_view> flag_value(std::string_view arg, std::string_view name) {
  if (arg == name) {
    return std::string_view();
  }
  if (arg.starts_with(name) && arg.size() > name.size() && arg[name.size()] == '=') {
    return arg.substr(name.size() + 1);
  }
  return std::nullopt;
}

OutputFlags peek_output_flags(int argc, char** argv) {
  OutputFlags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (auto format = flag_value(arg, "--benchmark_format")) {
      flags.format = std::string(*format);
    } else if (auto out_format = flag_value(arg, "--benchmark_out_format")) {
      flags.out_format = std::string(*out_format);
    } else if (auto out = flag_value(arg, "--benchmark_out")) {
      flags.out = !out->empty();
    } else if (auto tabular = flag_value(arg, "--benchmark_counters_tabular")) {
      flags.tabular = flag_true(*tabular);
    } else if (auto list = flag_value(arg, "--benchmark_list_tests")) {
      flags.list_tests = flag_true(*list);
    } else if (auto color = flag_value(arg, "--benchmark_color")) {
      flags.color = flag_true(*color) || *color == "always" || *color == "force";
    }
  }
  return flags;
}

struct Reporter {
  std::unique_ptr<benchmark::BenchmarkReporter> reporter;
  bool (*failed)(const benchmark::BenchmarkReporter&) = nullptr;
};

template <typename Base>
bool reporter_failed(const benchmark::BenchmarkReporter& reporter) {
  return static_cast<const PlainNameReporter<Base>&>(reporter).failed();
}

Reporter make_reporter(std::string_view format, const OutputFlags& flags, bool console) {
  if (format == "json") {
    return {std::make_unique<PlainNameReporter<benchmark::JSONReporter>>(),
            reporter_failed<benchmark::JSONReporter>};
  }
  int options = benchmark::ConsoleReporter::OO_None;
  if (console && flags.color) {
    options |= benchmark::ConsoleReporter::OO_Color;
  }
  if (flags.tabular) {
    options |= benchmark::ConsoleReporter::OO_Tabular;
  }
  return {std::make_unique<PlainNameReporter<benchmark::ConsoleReporter>>(
              static_cast<benchmark::ConsoleReporter::OutputOptions>(options)),
          reporter_failed<benchmark::ConsoleReporter>};
}

// --benchmark_list_tests with the registered names: the benchmarks the filter selects, matched
// as Google Benchmark matches them (extended regular expression searched in the full name; a
// leading '-' negates).
int list_tests() {
  using namespace freezeframe::bench;
  std::string filter = benchmark::GetBenchmarkFilter();
  bool negate = false;
  if (filter.empty() || filter == "all") {
    filter = ".";
  } else if (filter.front() == '-') {
    negate = true;
    filter.erase(0, 1);
  }
  std::regex pattern;
  try {
    pattern = std::regex(filter, std::regex::extended);
  } catch (const std::regex_error& error) {
    std::fprintf(stderr, "freezeframe_bench: bad --benchmark_filter %s: %s\n", filter.c_str(),
                 error.what());
    return 2;
  }
  for (const std::string& name : registered_names()) {
    const std::string full = name + std::string(kRegisteredSuffix);
    if (std::regex_search(full, pattern) != negate) {
      std::printf("%s\n", name.c_str());
    }
  }
  return 0;
}

void print_help() {
  benchmark::PrintDefaultHelp();
  freezeframe::bench::print_flags_help();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace freezeframe::bench;
  const OutputFlags output = peek_output_flags(argc, argv);
  for (const std::string& format : {output.format, output.out_format}) {
    if (format != "console" && format != "json") {
      std::fprintf(stderr, "freezeframe_bench: output format %s: use console or json\n",
                   format.c_str());
      return 2;
    }
  }
  benchmark::Initialize(&argc, argv, print_help);
  if (std::optional<std::string> error = parse_flags(argc, argv)) {
    std::fprintf(stderr, "freezeframe_bench: %s\n", error->c_str());
    return 2;
  }
  if (freezeframe::Status status = prepare_scratch_dir(); !status.ok()) {
    std::fprintf(stderr, "freezeframe_bench: %s\n", status.to_string().c_str());
    return 1;
  }
  register_write_benchmarks();
  register_read_benchmarks();
  register_snapshot_benchmarks();
  register_space_benchmarks();
  register_sweep_benchmarks();
  register_backup_benchmarks();

  if (output.list_tests) {
    const int status = list_tests();
    cleanup();
    return status;
  }

  Reporter display = make_reporter(output.format, output, true);
  Reporter file;
  if (output.out) {
    file = make_reporter(output.out_format, output, false);
  }
  benchmark::RunSpecifiedBenchmarks(display.reporter.get(), file.reporter.get());
  benchmark::Shutdown();
  release_read_setup();
  cleanup();
  const bool failed = any_benchmark_failed() || display.failed(*display.reporter) ||
                      (file.reporter && file.failed(*file.reporter));
  if (failed) {
    std::fprintf(stderr, "freezeframe_bench: at least one benchmark failed (see above)\n");
    return 1;
  }
  return 0;
}

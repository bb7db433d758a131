// freezeframe_bench: the Google Benchmark suites of freezeframe in one executable (write,
// read, snapshot, space, sweep; see bench/README.md). Google Benchmark's flags are taken
// first; the rest are the suite's own (--dir, --direct, --volume-mib, --ops, --smoke, --full).
// Exits 2 on an unknown flag and 1 if any benchmark failed.
//
// Run: bash scripts/bench.sh              (build, then every benchmark once, tiny: --smoke)
//      build-bench/bench/freezeframe_bench --benchmark_format=json --benchmark_out=run.json
#include <cstdio>

#include "common.h"

namespace {

void print_help() {
  benchmark::PrintDefaultHelp();
  freezeframe::bench::print_flags_help();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace freezeframe::bench;
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
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  release_read_setup();
  cleanup();
  if (any_benchmark_failed()) {
    std::fprintf(stderr, "freezeframe_bench: at least one benchmark failed (see above)\n");
    return 1;
  }
  return 0;
}

#!/usr/bin/env bash
# Sets up, builds the benchmarks in build-bench/ and runs the provider suite; extra arguments
# go to Google Benchmark (e.g. --benchmark_filter=random_writes).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build_bench.sh" "$root/build-bench"
"$root/build-bench/bench/provider_bench" "$@"

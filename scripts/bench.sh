#!/usr/bin/env bash
# Sets up, builds the benchmarks in build-bench/ and runs the provider suite; extra arguments
# go to Google Benchmark (e.g. --benchmark_filter=random_writes).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" "$root/build-bench" -DFREEZEFRAME_BUILD_BENCH=ON \
  -DFREEZEFRAME_BUILD_TESTS=OFF -DFREEZEFRAME_BUILD_CLI=OFF -DCMAKE_BUILD_TYPE=Release
"$root/build-bench/bench/provider_bench" "$@"

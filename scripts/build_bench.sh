#!/usr/bin/env bash
# Configures and builds the benchmarks: a Release build with the benchmarks on and the tests
# and the command off. Usage: scripts/build_bench.sh [BUILD_DIR] (default build-bench/).
# Shared by scripts/bench.sh and bench/study so both measure the same build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-$root/build-bench}
bash "$root/scripts/build.sh" "$build_dir" -DFREEZEFRAME_BUILD_BENCH=ON \
  -DFREEZEFRAME_BUILD_TESTS=OFF -DFREEZEFRAME_BUILD_CLI=OFF -DCMAKE_BUILD_TYPE=Release

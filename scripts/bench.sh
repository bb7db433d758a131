#!/usr/bin/env bash
# Sets up, builds the benchmarks (Release, build-bench/) and runs freezeframe_bench.
#   bash scripts/bench.sh                 every benchmark once with tiny sizes (--smoke): CI
#   bash scripts/bench.sh ARGS...         the binary with ARGS, e.g. --full, --direct,
#                                         --benchmark_filter='^write/' --benchmark_out=run.json
# The smoke run puts its scratch image files in /dev/shm when it is writable, where a flush
# costs nothing: about 7 s, against about 40 s on the development machine's ext4 disk.
# See bench/README.md for the suites, flags, names and counters.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build_bench.sh" "$root/build-bench"
bench=$root/build-bench/bench/freezeframe_bench
if [[ $# -eq 0 ]]; then
  if [[ -d /dev/shm && -w /dev/shm ]]; then
    export TMPDIR=/dev/shm
  fi
  exec "$bench" --smoke
fi
exec "$bench" "$@"

#!/usr/bin/env bash
# Sets up, builds the benchmarks (Release, build-bench/) and runs freezeframe_bench.
#   bash scripts/bench.sh                 every benchmark once with tiny sizes (--smoke): CI
#   bash scripts/bench.sh ARGS...         the binary with ARGS, e.g. --full, --direct,
#                                         --benchmark_filter='^write/' --benchmark_out=run.json
# The smoke run puts its scratch image files in /dev/shm when it is writable, where a flush
# costs nothing: about 7 s, against about 40 s on the development machine's ext4 disk. It runs
# the backup suite without the tools it compares with; a run with arguments installs them
# first (scripts/setup_backup_bench.sh: restic, borgbackup, zstd) unless it leaves them out
# (--backup-tools=none, or --smoke without --backup-tools).
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
# The backup suite's tools: wanted unless --backup-tools=none, or --smoke without a list.
smoke=false
tools=
for arg in "$@"; do
  case $arg in
    --smoke) smoke=true ;;
    --backup-tools=*) tools=${arg#--backup-tools=} ;;
  esac
done
if [[ $tools != none && ( $smoke == false || -n $tools ) ]]; then
  bash "$root/scripts/setup_backup_bench.sh"
fi
exec "$bench" "$@"

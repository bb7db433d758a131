#!/usr/bin/env bash
# Runs clang-tidy (checks in the root .clang-tidy) and fails on any finding.
#   scripts/tidy.sh            the whole tree: library, command, benchmarks and tests
#   scripts/tidy.sh --sources  the non-test sources only (engine/, platform/, backup/, sim/, cli/, bindings/), as CI
# Needs no build: it configures build-tidy/ for its compile_commands.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$root/build-tidy"
scope=all
if [[ "${1:-}" == "--sources" ]]; then
  scope=sources
elif [[ $# -gt 0 ]]; then
  echo "usage: scripts/tidy.sh [--sources]" >&2
  exit 2
fi
bash "$root/scripts/setup.sh"
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFREEZEFRAME_BUILD_TESTS=ON \
  -DFREEZEFRAME_BUILD_BENCH=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
if [[ $scope == sources ]]; then
  files="$root/(engine|platform|backup|sim|cli|serve|bindings)/.*\.cpp$"
else
  files="$root/(engine|platform|backup|sim|cli|serve|bindings|bench|tests|examples)/.*\.cpp$"
fi
# GCC-only warning flags in the compile commands are unknown to clang: tell it to ignore them.
run-clang-tidy -p "$build_dir" -j "${FREEZEFRAME_JOBS:-2}" -quiet \
  -extra-arg=-Wno-unknown-warning-option "$files" >"$build_dir/tidy.raw" 2>&1 || status=$?
sed 's/\x1b\[[0-9;]*m//g' "$build_dir/tidy.raw" >"$build_dir/tidy.log"
# A finding in a header is reported once for every file that includes it: count each once.
findings=$({ grep -a -E '^[^ ].*: (warning|error): ' "$build_dir/tidy.log" || true; } | sort -u | wc -l)
if [[ ${status:-0} -ne 0 || $findings -ne 0 ]]; then
  grep -a -E -A3 '^[^ ].*: (warning|error): ' "$build_dir/tidy.log" | head -400 >&2 || true
  echo "tidy: $findings finding(s) in the $scope scope (full log: $build_dir/tidy.log)" >&2
  exit 1
fi
echo "tidy: no findings in the $scope scope"

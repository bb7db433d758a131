#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite under CTest.
#   scripts/test.sh              normal build in build-test/
#   scripts/test.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/ (clang,
#                                shared with the fuzzers of scripts/fuzz.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$root/build-test"
args=(-DFREEZEFRAME_BUILD_TESTS=ON)
if [[ "${1:-}" == "--sanitize" ]]; then
  build_dir="$root/build-asan"
  args+=(-DFREEZEFRAME_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
  # One clang build serves this run and the fuzzers (scripts/fuzz.sh, docs/testing.md).
  args+=(-DFREEZEFRAME_FUZZ=ON)
  export CC=clang CXX=clang++
  if [[ -f "$build_dir/CMakeCache.txt" ]] && { ! grep -q '^CMAKE_CXX_COMPILER:.*clang' "$build_dir/CMakeCache.txt" ||
    ! grep -q '^CMAKE_C_COMPILER:.*clang' "$build_dir/CMakeCache.txt"; }; then
    rm -rf "$build_dir/CMakeCache.txt" "$build_dir/CMakeFiles"
  fi
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" "$build_dir" "${args[@]}"
cd "$build_dir"
ctest --output-on-failure -j "${FREEZEFRAME_JOBS:-2}" --timeout 300
# The simulator's CI budget (the sim.budget.shard* tests): its counts, summed over the shards.
if [[ -f Testing/Temporary/LastTest.log ]]; then
  grep -h -E '^sim: seeds [0-9]+, steps' Testing/Temporary/LastTest.log | sed 's/^sim: //' |
    awk -F', ' '{ for (i = 1; i <= NF; i++) { n = split($i, w, " "); key = ""; for (j = 1; j < n; j++) key = key (j > 1 ? " " : "") w[j]; v = w[n]; gsub(/[^0-9]/, "", v); sum[key] += v; if (!(key in seen)) { seen[key] = 1; order[++count] = key } } }
         END { if (count) { line = "simulator budget:"; for (k = 1; k <= count; k++) line = line " " order[k] " " sum[order[k]] (k < count ? "," : ""); print line ", every invariant held" } }'
fi

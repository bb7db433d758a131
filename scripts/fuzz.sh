#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (docs/testing.md, "Fuzzing") in the clang
# ASan + UBSan build, build-asan/, which scripts/test.sh --sanitize shares.
#   scripts/fuzz.sh TARGET [SECONDS]   one target, 300 s by default (TARGET: diff_area_open,
#                                      or diff_area_open_fuzz)
#   scripts/fuzz.sh --list             the targets
#   scripts/fuzz.sh --ci [SECONDS]     CI: every target for 15 s, two at a time, then the
#                                      planted defect parser-skip-bound, which the
#                                      diff_area_format target must find within 15 s, and
#                                      the vendor example's buggy log (KV_LOG_BUGGY=1),
#                                      which the vendor_harness target must find
# The targets are tests/fuzz/*_fuzz.cpp and vendor_harness, the vendor harness example as a
# fuzz target (examples/vendor_harness/fuzz.cpp).
# Each run starts from the committed corpus and dictionary and writes what it finds to
# build-asan/fuzz/TARGET/ (new corpus entries in corpus/, crashes in artifacts/), never into
# the repository. Exits non-zero on any crash, leak, sanitizer report or timeout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$root/build-asan"
fuzz_src="$root/tests/fuzz"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

targets() {
  for source in "$fuzz_src"/*_fuzz.cpp; do
    basename "$source" _fuzz.cpp
  done
  echo vendor_harness
}

# executable TARGET: the libFuzzer executable's path.
executable() {
  if [[ $1 == vendor_harness ]]; then
    echo "$build_dir/examples/vendor_harness/vendor_harness_fuzz"
  else
    echo "$build_dir/tests/fuzz/$1_fuzz"
  fi
}

# build TARGET...: configures build-asan/ as scripts/test.sh --sanitize does and builds the
# targets' libFuzzer executables only.
build() {
  bash "$root/scripts/setup.sh"
  if [[ -f "$build_dir/CMakeCache.txt" ]] && { ! grep -q '^CMAKE_CXX_COMPILER:.*clang' "$build_dir/CMakeCache.txt" ||
    ! grep -q '^CMAKE_C_COMPILER:.*clang' "$build_dir/CMakeCache.txt"; }; then
    rm -rf "$build_dir/CMakeCache.txt" "$build_dir/CMakeFiles"
  fi
  local launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
  fi
  CC=clang CXX=clang++ cmake -S "$root" -B "$build_dir" -G Ninja "${launcher[@]}" \
    -DFREEZEFRAME_BUILD_TESTS=ON -DFREEZEFRAME_SANITIZE=ON -DFREEZEFRAME_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build "$build_dir" -j "${FREEZEFRAME_JOBS:-2}" --target "${@/%/_fuzz}" >/dev/null
}

# run TARGET SECONDS LOG [PLANT]: one libFuzzer run; its exit status. PLANT is a planted
# defect (plant.h), or kv-log-buggy for the vendor example's buggy log.
run() {
  local target=$1 seconds=$2 log=$3 plant=${4:-} buggy=${KV_LOG_BUGGY:-0}
  local work="$build_dir/fuzz/$target"
  # One input of a whole-world target runs seconds under the sanitizers (more on a loaded
  # machine); a parser's runs milliseconds, so 10 s there is a hang worth reporting.
  local timeout=10
  [[ $target == sim_world || $target == vendor_harness || $target == diff_area_open ]] && timeout=60
  local args=(-max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 -print_final_stats=1)
  [[ -f "$fuzz_src/$target.dict" ]] && args+=(-dict="$fuzz_src/$target.dict")
  if [[ -n "$plant" ]]; then
    # From the committed corpus only: what a previous run found must not help.
    work="$build_dir/fuzz/plant-$plant"
    rm -rf "$work"
  fi
  if [[ $plant == kv-log-buggy ]]; then
    buggy=1
    plant=
  fi
  mkdir -p "$work/corpus" "$work/artifacts"
  args+=(-artifact_prefix="$work/artifacts/")
  (cd "$work" && FREEZEFRAME_PLANT="$plant" KV_LOG_BUGGY="$buggy" FREEZEFRAME_TEST_TMPDIR="$work" \
    "$(executable "$target")" "${args[@]}" "$work/corpus" \
    "$fuzz_src/corpus/$target") >"$log" 2>&1
}

# One line from a finished run's log: executions and coverage.
summary() {
  local log=$1
  local execs cov
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  echo "executions ${execs:-?}, coverage ${cov:-?} edges"
}

case "${1:-}" in
  --list)
    targets
    ;;
  --ci)
    seconds=${2:-15}
    mapfile -t all < <(targets)
    build "${all[@]}"
    logs="$build_dir/fuzz/logs"
    mkdir -p "$logs"
    export -f run executable
    export build_dir fuzz_src
    start=$SECONDS
    # Two at a time: CI's machine has two cores.
    failed=0
    printf '%s\n' "${all[@]}" |
      xargs -P 2 -I{} bash -c 'run {} '"$seconds"' "'"$logs"'/{}.log" && echo "ok {}" || echo "FAILED {}"' \
        >"$logs/results" || true
    for target in "${all[@]}"; do
      if grep -qx "ok $target" "$logs/results"; then
        echo "fuzz $target: ${seconds} s, $(summary "$logs/$target.log")"
      else
        failed=1
        echo "fuzz $target: FAILED (log: $logs/$target.log)"
        grep -E 'ERROR|SUMMARY|runtime error|deadly signal|Test unit written' "$logs/$target.log" | head -20
      fi
    done
    # The planted defect (plant.h) must be found: proof that the target reaches the parser.
    plant_start=$SECONDS
    if run diff_area_format "$seconds" "$logs/plant.log" parser-skip-bound; then
      failed=1
      echo "fuzz plant parser-skip-bound: NOT FOUND in ${seconds} s (log: $logs/plant.log)"
    elif grep -q 'ERROR: AddressSanitizer' "$logs/plant.log"; then
      echo "fuzz plant parser-skip-bound: found by diff_area_format in $((SECONDS - plant_start)) s:" \
        "$(grep -m1 'ERROR: AddressSanitizer' "$logs/plant.log" | sed 's/.*AddressSanitizer: //')"
    else
      failed=1
      echo "fuzz plant parser-skip-bound: the run failed without a sanitizer report (log: $logs/plant.log)"
    fi
    # The vendor example's buggy log (kv_log.h) must be found through the harness's choice
    # tape: proof that the harness's fuzzing reaches a vendor's code.
    vendor_start=$SECONDS
    if run vendor_harness "$seconds" "$logs/vendor.log" kv-log-buggy; then
      failed=1
      echo "fuzz vendor_harness with KV_LOG_BUGGY=1: NOT FOUND in ${seconds} s (log: $logs/vendor.log)"
    elif grep -q 'FAILED' "$logs/vendor.log"; then
      echo "fuzz vendor_harness with KV_LOG_BUGGY=1: found in $((SECONDS - vendor_start)) s:" \
        "$(grep -m1 -A2 'FAILED' "$logs/vendor.log" | tail -1 | sed 's/^ *//')"
    else
      failed=1
      echo "fuzz vendor_harness with KV_LOG_BUGGY=1: the run failed without a harness finding (log: $logs/vendor.log)"
    fi
    echo "fuzz: ${#all[@]} targets in $((SECONDS - start)) s"
    exit "$failed"
    ;;
  "" | -h | --help)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
  *)
    target=${1%_fuzz}
    seconds=${2:-300}
    if ! targets | grep -x "$target" >/dev/null; then
      echo "fuzz: no target '$target'; targets: $(targets | tr '\n' ' ')" >&2
      exit 2
    fi
    build "$target"
    log="$build_dir/fuzz/$target.log"
    mkdir -p "$build_dir/fuzz"
    echo "fuzz $target for $seconds s; log $log, new inputs in $build_dir/fuzz/$target/corpus"
    status=0
    run "$target" "$seconds" "$log" "${FREEZEFRAME_PLANT:-}" || status=$?
    echo "fuzz $target: $(summary "$log")"
    if [[ $status -ne 0 ]]; then
      grep -E 'ERROR|SUMMARY|runtime error|deadly signal|Test unit written' "$log" | head -20
    fi
    exit "$status"
    ;;
esac

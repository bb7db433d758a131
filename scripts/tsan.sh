#!/usr/bin/env bash
# ThreadSanitizer: builds only the test executables labelled `concurrency` (tests/CMakeLists.txt)
# with FREEZEFRAME_SANITIZE=thread in build-tsan/, runs `ctest -L concurrency` there, then
# shows that the planted data race (FREEZEFRAME_PLANT=race-unlocked-write) is reported.
# Fails on any ThreadSanitizer report in the clean run. docs/testing.md, "ThreadSanitizer".
#   scripts/tsan.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-"$root/build-tsan"}
jobs=${FREEZEFRAME_JOBS:-2}

bash "$root/scripts/setup.sh"
# GCC, as the main build: its libtsan is in Debian's gcc package and its warnings are the ones
# the tree is already clean under. No CLI, bench or examples: the label needs none of them.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
fi
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug "${launcher[@]}" \
  -DFREEZEFRAME_BUILD_TESTS=ON -DFREEZEFRAME_BUILD_CLI=OFF -DFREEZEFRAME_BUILD_BENCH=OFF \
  -DFREEZEFRAME_SANITIZE=thread >/dev/null
read -r -a targets < <(tr ';' ' ' <"$build_dir/concurrency_tests.txt")
cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}"

# halt_on_error: the first report fails the test (exitcode 66), so nothing is lost in a passing
# log; tests/tsan.supp holds the (commented) suppressions, if any.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 exitcode=66 history_size=4 suppressions=$root/tests/tsan.supp ${TSAN_OPTIONS:-}"
cd "$build_dir"
ctest -L concurrency --output-on-failure -j "$jobs" --timeout 600

# The planted race: the same real-threads test must now be reported by ThreadSanitizer.
bash "$root/scripts/expect_tsan_report.sh" race-unlocked-write \
  ./tests/provider_concurrency_test --gtest_filter='*ProviderConcurrencyThreadsTest*'

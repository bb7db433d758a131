#!/usr/bin/env bash
# The Windows build (docs/windows.md): cross-compiles freezeframe with mingw-w64 (engine, sim,
# platform, backup, the command, freezeframe.dll and the tests) into build-win/, then runs the
# test executables under Wine, one Wine process per executable (CTest label `windows`), and
# counts the tests that ran from each executable's own output.
#   scripts/windows.sh [BUILD_DIR]
# Prints "windows: N tests ran on Windows binaries in M executables, F failed" and exits
# non-zero if anything failed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-"$root/build-win"}
jobs=${FREEZEFRAME_JOBS:-2}

started=$SECONDS
bash "$root/scripts/setup.sh" --windows
bash "$root/scripts/build.sh" "$build_dir" \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/mingw-w64-x86_64.cmake" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE=-O1 -DCMAKE_C_FLAGS_RELEASE=-O1 \
  -DFREEZEFRAME_BUILD_TESTS=ON -DFREEZEFRAME_BUILD_PYTHON=OFF -DFREEZEFRAME_BUILD_BENCH=OFF
built=$SECONDS

# One Wine prefix per build, made once (about 15 s), and one wineserver kept up for the whole
# run, so that each executable starts in well under a second.
export WINEPREFIX="$build_dir/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
wine=$(command -v wine64 || echo /usr/lib/wine/wine64)
wineserver=$(command -v wineserver || echo /usr/lib/wine/wineserver)
if [[ ! -f "$WINEPREFIX/system.reg" ]]; then
  "$wine" wineboot --init >/dev/null 2>&1 || true
fi
# wineboot's own server lingers for a few seconds: wait for it to go, then start ours. One that
# is already up (another run on this prefix) serves as well.
timeout 30 "$wineserver" -w || true
"$wineserver" -p || true
trap '"$wineserver" -k 2>/dev/null || true' EXIT
# Start Wine's services (services.exe, winedevice.exe...) now, with their output going nowhere:
# started by the first test instead, they would inherit CTest's pipe and hold that test open
# until its timeout.
"$wine" wineboot >/dev/null 2>&1 </dev/null || true

cd "$build_dir"
status=0
ctest -L windows -j "$jobs" --output-on-failure --timeout 600 || status=$?
echo "windows: setup and cross-build $((built - started)) s, Wine prefix and tests $((SECONDS - built)) s"

# What ran, from CTest's log of this run: GoogleTest's summary of each executable, the C tests'
# and the Python suites' counts; any other entry (the demo, a fuzz replay) is one test.
python3 - "$build_dir/Testing/Temporary/LastTest.log" <<'PY'
import re, sys
log = open(sys.argv[1], encoding="utf-8", errors="replace").read()
ran = failed = entries = 0
for block in re.split(r"\n\d+/\d+ Testing: ", log)[1:]:
    entries += 1
    entry_failed = "Test Failed" in block or "Test Passed" not in block
    total = re.search(r"\[==========\] (\d+) tests? from .* ran", block)
    gtest_failed = re.search(r"\[  FAILED  \] (\d+) tests?, listed below", block)
    checks = re.search(r": (\d+) checks, (\d+) failed", block)
    python = re.search(r"\nRan (\d+) tests? in", block)
    if total:
        ran += int(total.group(1))
        failed += int(gtest_failed.group(1)) if gtest_failed else (1 if entry_failed else 0)
    elif python:
        ran += int(python.group(1))
        failed += len(re.findall(r"^(?:FAIL|ERROR): ", block, re.M)) or (1 if entry_failed else 0)
    else:
        ran += 1
        failed += 1 if entry_failed else 0
print(f"windows: {ran} tests ran on Windows binaries in {entries} CTest entries, {failed} failed")
PY
exit "$status"

#!/usr/bin/env bash
# Configures and builds freezeframe. Usage: scripts/build.sh BUILD_DIR [extra CMake args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$1
shift
jobs=${FREEZEFRAME_JOBS:-2}
# ccache (installed by setup.sh) serves every build: the sanitizer build, the package check
# and separate checkouts of the same tree share its cache. Paths under the checkout are
# hashed relative to it, so two checkouts of one commit hit the same entries.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
fi
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" "$@" >/dev/null
cmake --build "$build_dir" -j "$jobs"

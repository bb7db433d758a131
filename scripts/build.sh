#!/usr/bin/env bash
# Configures and builds freezeframe. Usage: scripts/build.sh BUILD_DIR [extra CMake args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$1
shift
jobs=${FREEZEFRAME_JOBS:-2}
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build_dir" -j "$jobs"

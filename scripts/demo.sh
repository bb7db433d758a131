#!/usr/bin/env bash
# Sets up, builds and runs the end-to-end demo (the main job).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" "$root/build" -DFREEZEFRAME_BUILD_TESTS=OFF >/dev/null
"$root/build/cli/freezeframe" demo "$@"

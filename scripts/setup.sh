#!/usr/bin/env bash
# Installs every build and test dependency of freezeframe from Debian packages.
# Non-interactive and idempotent: when everything is present it prints nothing and exits 0.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libxxhash-dev libzstd-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-format clang-tidy python3 python3-matplotlib qemu-utils strace ccache
  libcli11-dev
  # clang with libFuzzer and the sanitizer runtimes: the sanitizer and fuzzing build.
  clang libclang-rt-dev
  # The C API's ABI check (abidw, abidiff) and the Python module (pybind11, pytest).
  abigail-tools pybind11-dev python3-dev python3-pytest
  # `freezeframe serve` (FUSE) and its end-to-end tests and benchmark: real file systems on
  # loop devices over its files.
  libfuse3-dev fuse3 e2fsprogs util-linux mount fio
  # The nbdkit plugin (serve/nbdkit) and the NBD clients its tests run (tests/nbd).
  nbdkit nbdkit-plugin-dev libnbd-bin
)

# --windows: the mingw-w64 cross toolchain (GCC's posix-threads variant, the Windows headers
# with VSS's, libvssapi.a), GoogleTest's source to build for the target, and Wine to run the
# result (scripts/windows.sh, docs/windows.md).
for arg in "$@"; do
  case "$arg" in
    --windows)
      packages+=(g++-mingw-w64-x86-64-posix gcc-mingw-w64-x86-64-posix mingw-w64-x86-64-dev
                 googletest wine64)
      ;;
    *)
      echo "setup.sh: unknown option '$arg' (known: --windows)" >&2
      exit 2
      ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$package")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"

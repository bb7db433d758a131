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
)

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

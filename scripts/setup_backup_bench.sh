#!/usr/bin/env bash
# Installs the tools the backup benchmark compares against, from Debian packages: restic,
# borgbackup and zstd. Kept out of scripts/setup.sh so that the test and smoke setup (CI)
# does not pay for them; bench/study runs it before the backup benchmark.
# Non-interactive and idempotent: when everything is present it prints nothing and exits 0.
set -euo pipefail

packages=(restic borgbackup zstd)

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
echo "setup_backup_bench: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup_backup_bench: done"

#!/usr/bin/env bash
# Fails if a test left behind what it made: a loop device backed by a file of a freezeframe
# test (their directories are named ffserve-*) or by a FUSE file of a freezeframe daemon, a
# FUSE mount of type fuse.freezeframe, or a `freezeframe serve` process. Lists each one.
set -uo pipefail
found=0

if command -v losetup >/dev/null; then
  fuse_mounts=$(findmnt -rn -t fuse.freezeframe -o TARGET 2>/dev/null || true)
  while read -r device backing; do
    [[ -z "$device" ]] && continue
    leftover=0
    [[ "$backing" == *ffserve-* ]] && leftover=1
    while read -r mount; do
      [[ -n "$mount" && "$backing" == "$mount"/* ]] && leftover=1
    done <<<"$fuse_mounts"
    if [[ $leftover -eq 1 ]]; then
      echo "check_leftovers: loop device $device is still attached to $backing" >&2
      found=1
    fi
  done < <(losetup -l -n -O NAME,BACK-FILE 2>/dev/null || true)
fi

while read -r mount; do
  [[ -z "$mount" ]] && continue
  echo "check_leftovers: a freezeframe FUSE file system is still mounted on $mount" >&2
  found=1
done < <(findmnt -rn -t fuse.freezeframe -o TARGET 2>/dev/null || true)

# Processes whose command line is `.../freezeframe [options] serve ...`.
for proc in /proc/[0-9]*; do
  [[ -r "$proc/cmdline" ]] || continue
  mapfile -d '' -t argv <"$proc/cmdline" 2>/dev/null || continue
  [[ ${#argv[@]} -gt 1 && "$(basename -- "${argv[0]}")" == freezeframe ]] || continue
  for arg in "${argv[@]:1}"; do
    if [[ "$arg" == serve ]]; then
      echo "check_leftovers: a daemon is still running: pid ${proc#/proc/}: ${argv[*]}" >&2
      found=1
      break
    fi
  done
done

if [[ $found -ne 0 ]]; then
  echo "check_leftovers: tests left the above behind" >&2
  exit 1
fi
echo "check_leftovers: nothing left behind"

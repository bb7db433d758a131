#!/usr/bin/env bash
# Runs examples/c_snapshot on a fresh 4 MiB image whose first block is random, and checks
# that it succeeds, that the image now starts with the written block (0xa5 bytes), and that
# a missing image is refused with the library's message.
set -euo pipefail
program=$1
work=$(mktemp -d "$2/c-snapshot-XXXXXX")
trap 'rm -rf "$work"' EXIT
head -c 4194304 /dev/urandom >"$work/image.raw"
"$program" "$work/image.raw" "$work/diff.raw" | tee "$work/out"
grep -q '^snapshot [0-9a-f-]\{36\} of ' "$work/out"
grep -q 'the snapshot reads the old first block' "$work/out"
[[ $(head -c 4096 "$work/image.raw" | od -v -An -tx1 | tr -s ' \n' '\n' | sort -u | grep -v '^$') == a5 ]]
if "$program" "$work/missing.raw" "$work/diff2.raw" 2>"$work/err"; then
  echo "c_snapshot succeeded on a missing image" >&2
  exit 1
fi
grep -q 'not-found' "$work/err"
echo "c_snapshot example: ok"

#!/usr/bin/env bash
# fio on ext4 over a served CoW volume, a served RoW volume (freezeframe serve --fuse, a loop
# device over the FUSE file) and a plain loop device on an image file (losetup
# --direct-io=on): 16 KiB random writes and 1 MiB sequential reads with --direct=1. Prints one
# line per case and the served/plain ratios. Linux, root (loop devices, mounts, FUSE).
#
#   bash bench/serve/serve_fio.sh BINARY [SIZE_MIB] [RUNTIME_S]
#
# BINARY is the freezeframe executable (a Release build for numbers worth quoting). The
# scratch directory is under $TMPDIR (default /tmp) and is removed at exit with everything
# mounted or attached on it.
set -euo pipefail
binary=$(realpath "$1")
size_mib=${2:-1024}
runtime=${3:-20}
for tool in fio losetup mkfs.ext4 mount fusermount3; do
  command -v "$tool" >/dev/null || { echo "serve_fio: $tool is not installed" >&2; exit 2; }
done
[[ $(id -u) -eq 0 ]] || { echo "serve_fio: needs root (loop devices, mounts)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ffserve-bench.XXXXXX")
daemon=""
mounts=()
devices=()
cleanup() {
  for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done
  for d in "${devices[@]}"; do losetup -d "$d" 2>/dev/null || true; done
  if [[ -n "$daemon" ]]; then kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
  fusermount3 -u -z "$work/files" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

store="$work/store"
mkdir -p "$work/files"
"$binary" --store "$store" volume create cow --size "${size_mib}M" --provider cow >/dev/null
"$binary" --store "$store" volume create row --size "${size_mib}M" --provider row >/dev/null
for v in cow row; do "$binary" --store "$store" shadowstorage add --for "$v" >/dev/null; done
"$binary" --store "$store" serve --fuse "$work/files" >"$work/serve.log" 2>&1 &
daemon=$!
for _ in $(seq 600); do mountpoint -q "$work/files" && break; sleep 0.1; done
mountpoint -q "$work/files" || { cat "$work/serve.log" >&2; exit 1; }
truncate -s "${size_mib}M" "$work/plain.img"

# case NAME FILE: ext4 on a loop device over FILE, a snapshot first for the served volumes
# (so that writes pay the provider's copy or redirect), then the two fio jobs.
declare -A write_iops read_mibs
run_case() {
  local name=$1 file=$2
  local dev
  dev=$(losetup --find --show --direct-io=on "$file")
  devices+=("$dev")
  mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$dev"
  mkdir -p "$work/mnt-$name"
  mount "$dev" "$work/mnt-$name"
  mounts+=("$work/mnt-$name")
  local data_mib=$((size_mib / 2))
  fio --name=fill --directory="$work/mnt-$name" --filename=data --size="${data_mib}M" --rw=write \
    --bs=1M --direct=1 --ioengine=psync --end_fsync=1 >/dev/null
  if [[ $name != plain ]]; then
    fsfreeze -f "$work/mnt-$name"
    "$binary" --store "$store" shadow create --for "$name" >/dev/null
    fsfreeze -u "$work/mnt-$name"
  fi
  write_iops[$name]=$(fio --name=randwrite --directory="$work/mnt-$name" --filename=data \
    --size="${data_mib}M" --rw=randwrite --bs=16k --direct=1 --ioengine=libaio --iodepth=16 \
    --time_based --runtime="$runtime" --output-format=json |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["jobs"][0]["write"]["iops"]))')
  read_mibs[$name]=$(fio --name=seqread --directory="$work/mnt-$name" --filename=data \
    --size="${data_mib}M" --rw=read --bs=1M --direct=1 --ioengine=libaio --iodepth=4 \
    --time_based --runtime="$runtime" --output-format=json |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["jobs"][0]["read"]["bw"] / 1024))')
  echo "$name: 16 KiB randwrite ${write_iops[$name]} IOPS, 1 MiB seqread ${read_mibs[$name]} MiB/s"
}
run_case plain "$work/plain.img"
run_case cow "$work/files/cow"
run_case row "$work/files/row"
for name in cow row; do
  python3 - "$name" "${write_iops[$name]}" "${write_iops[plain]}" "${read_mibs[$name]}" \
    "${read_mibs[plain]}" <<'PY'
import sys
name, w, wp, r, rp = sys.argv[1], *map(float, sys.argv[2:])
print("%s / plain loop: randwrite %.2f, seqread %.2f" % (name, w / wp if wp else 0, r / rp if rp else 0))
PY
done

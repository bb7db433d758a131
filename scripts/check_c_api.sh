#!/usr/bin/env bash
# Checks of libfreezeframe.so's exported interface (CTest runs them: bindings.c.symbols,
# bindings.c.abi; docs/bindings.md, "ABI policy").
#   check_c_api.sh symbols LIB TEST_DIR   lists the exported symbols and their count; fails on
#                                         any without the ff_ prefix, and on any that no C test
#                                         in TEST_DIR calls
#   check_c_api.sh abi LIB C_DIR          compares LIB's ABI with the committed baseline,
#                                         C_DIR/abi/libfreezeframe.abi (abidiff); fails on an
#                                         incompatible change unless the SOVERSION moved
#   check_c_api.sh abi-update LIB C_DIR   rewrites the baseline from LIB (after a deliberate
#                                         change: a new function, or a new SOVERSION)
#   check_c_api.sh abi-selftest LIB C_DIR shows that the abi check fails when a function of
#                                         the baseline is missing from LIB
set -euo pipefail
mode=${1:-}
lib=${2:-}
dir=${3:-}
if [[ -z "$mode" || -z "$lib" || -z "$dir" ]]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
[[ -f "$lib" ]] || { echo "check_c_api: no library at $lib" >&2; exit 2; }

exported() {
  nm -D --defined-only "$lib" | awk '$2 ~ /^[TWDBRVi]$/ { print $3 }' | sed 's/@.*//' | sort -u
}

case "$mode" in
  symbols)
    mapfile -t symbols < <(exported)
    echo "libfreezeframe exports ${#symbols[@]} symbols:"
    printf '  %s\n' "${symbols[@]}"
    status=0
    for symbol in "${symbols[@]}"; do
      if [[ $symbol != ff_* ]]; then
        echo "check_c_api: '$symbol' is exported but is not part of the C API (no ff_ prefix)" >&2
        status=1
      elif ! grep -q -w -- "$symbol" "$dir"/*.c; then
        echo "check_c_api: '$symbol' is exported but no C test in $dir calls it" >&2
        status=1
      fi
    done
    [[ ${#symbols[@]} -gt 0 ]] || { echo "check_c_api: no symbol exported" >&2; status=1; }
    exit "$status"
    ;;
  abi | abi-update)
    command -v abidw >/dev/null || { echo "check_c_api: abidw missing (Debian abigail-tools; scripts/setup.sh installs it)" >&2; exit 1; }
    baseline="$dir/abi/libfreezeframe.abi"
    current=$(mktemp)
    trap 'rm -f "$current"' EXIT
    abidw --headers-dir "$dir/include" --no-corpus-path --drop-private-types \
      --exported-interfaces-only --no-show-locs "$lib" >"$current"
    if ! grep -q "<function-decl name='ff_" "$current"; then
      echo "check_c_api: abidw found no ff_ function in $lib: build it with debug information (-g)" >&2
      exit 1
    fi
    if [[ $mode == abi-update ]]; then
      mkdir -p "$(dirname "$baseline")"
      cp "$current" "$baseline"
      echo "check_c_api: wrote $baseline"
      exit 0
    fi
    [[ -f "$baseline" ]] || { echo "check_c_api: no baseline at $baseline (run abi-update)" >&2; exit 1; }
    status=0
    report=$(abidiff --headers-dir2 "$dir/include" "$baseline" "$current") || status=$?
    if (( status & 8 )); then
      old=$(grep -o "soname='[^']*'" "$baseline" | head -1)
      new=$(grep -o "soname='[^']*'" "$current" | head -1)
      if [[ "$old" != "$new" ]]; then
        echo "check_c_api: incompatible ABI change with a new SOVERSION ($old -> $new); update the baseline"
        echo "$report"
        exit 0
      fi
      echo "check_c_api: incompatible ABI change without a new SOVERSION ($new):" >&2
      echo "$report" >&2
      exit 1
    elif (( status & 3 )); then
      echo "check_c_api: abidiff failed ($status): $report" >&2
      exit 1
    fi
    echo "check_c_api: ABI compatible with the baseline${report:+; changes:}"
    [[ -n "$report" ]] && echo "$report"
    exit 0
    ;;
  abi-selftest)
    # A baseline with one more function than LIB has: LIB then lacks a function its users
    # may call, which the abi check must refuse.
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/abi" "$work/include"
    cp "$dir"/include/*.h "$work/include/"
    python3 - "$dir/abi/libfreezeframe.abi" "$work/abi/libfreezeframe.abi" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
for pattern in (r"\s*<elf-symbol name='ff_abi_version'[^>]*/>",
                r"\s*<function-decl name='ff_abi_version'.*?</function-decl>"):
    match = re.search(pattern, text, re.S)
    if match is None:
        sys.exit("check_c_api: the baseline has no ff_abi_version to copy")
    text = text[:match.end()] + match.group(0).replace("ff_abi_version", "ff_removed_fn") + text[match.end():]
open(sys.argv[2], "w").write(text)
PY
    if bash "$0" abi "$lib" "$work" >"$work/out" 2>&1; then
      echo "check_c_api: the abi check accepted a library missing a baseline function:" >&2
      cat "$work/out" >&2
      exit 1
    fi
    grep -q "ff_removed_fn" "$work/out" || { cat "$work/out" >&2; exit 1; }
    echo "check_c_api: the abi check refuses a library that lost a function:"
    cat "$work/out"
    ;;
  *)
    echo "check_c_api: unknown mode '$mode'" >&2
    exit 2
    ;;
esac

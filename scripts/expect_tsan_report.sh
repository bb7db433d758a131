#!/usr/bin/env bash
# Runs a test of a ThreadSanitizer build with a planted race switched on and succeeds only if
# the test fails with a ThreadSanitizer data-race report: the proof that the TSan stage would
# catch such a race. Used by scripts/tsan.sh.
#   scripts/expect_tsan_report.sh PLANT COMMAND [ARGS...]
set -uo pipefail
plant=$1
shift
log=$(mktemp)
trap 'rm -f "$log"' EXIT
FREEZEFRAME_PLANT=$plant "$@" >"$log" 2>&1
status=$?
if [[ $status -ne 0 ]] && grep -q 'WARNING: ThreadSanitizer: data race' "$log"; then
  echo "tsan: planted race '$plant' reported, as expected (exit $status):"
  grep -m1 -A6 'WARNING: ThreadSanitizer: data race' "$log"
  exit 0
fi
cat "$log"
echo "tsan: FAIL: with FREEZEFRAME_PLANT=$plant, '$*' exited $status without a ThreadSanitizer" \
  "data-race report; the TSan stage would miss such a race" >&2
exit 1

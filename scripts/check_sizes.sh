#!/usr/bin/env bash
# Prints the five largest source files of the tree, and fails if a source file in engine/,
# sim/, platform/, backup/, cli/ or bindings/ is longer than 800 lines: past that, a file holds more than
# one idea (DESIGN.md, "Shape of the code").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
limit=800
mapfile -t files < <(git ls-files '*.cpp' '*.h')
echo "sizes: the five largest source files"
wc -l "${files[@]}" | grep -v ' total$' | sort -rn | awk 'NR <= 5 {print "  " $0}'
over=$(wc -l $(git ls-files 'engine/*.cpp' 'engine/*.h' 'sim/*.cpp' 'sim/*.h' \
  'platform/*.cpp' 'platform/*.h' 'backup/*.cpp' 'backup/*.h' 'cli/*.cpp' 'cli/*.h' \
  'bindings/*.cpp' 'bindings/*.h' 'bindings/*.c') |
  grep -v ' total$' | awk -v limit="$limit" '$1 > limit {print "  " $2 ": " $1 " lines"}')
if [[ -n "$over" ]]; then
  echo "sizes: files in engine/, sim/, platform/, backup/, cli/ or bindings/ over $limit lines:" >&2
  echo "$over" >&2
  exit 1
fi
echo "sizes: no file in engine/, sim/, platform/, backup/, cli/ or bindings/ over $limit lines"

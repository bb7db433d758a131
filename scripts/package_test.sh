#!/usr/bin/env bash
# Installs freezeframe into a scratch prefix, then builds and runs an outside project against
# it twice: with CMake's find_package(freezeframe), and with pkg-config.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/build-package"
prefix="$work/prefix"
rm -rf "$work"
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" "$work/build" -DFREEZEFRAME_BUILD_TESTS=OFF \
  -DFREEZEFRAME_BUILD_CLI=OFF -DCMAKE_INSTALL_PREFIX="$prefix"
cmake --install "$work/build" >/dev/null

echo "package: find_package(freezeframe)"
cmake -S "$root/tests/package" -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"
"$work/consumer/c_consumer"

echo "package: pkg-config freezeframe"
pc_dir=$(dirname "$(find "$prefix" -name freezeframe.pc -print -quit)")
export PKG_CONFIG_PATH="$pc_dir"
pkg-config --exists --print-errors freezeframe
# shellcheck disable=SC2046
c++ -o "$work/consumer-pc" "$root/tests/package/consumer.cpp" $(pkg-config --cflags --libs freezeframe)
"$work/consumer-pc"

# The README's example, taken from README.md as a newcomer would copy it, must compile
# cleanly with the warnings a careful consumer turns on, and do what it says.
echo "package: README example with -Wall -Wextra -Werror"
example="$work/readme_example.cpp"
awk '/^A minimal use of a provider/ {found = 1} found && /^```cpp$/ {inside = 1; next}
     inside && /^```$/ {exit} inside {print}' "$root/README.md" >"$example"
[[ -s "$example" ]] || { echo "package: no example found in README.md" >&2; exit 1; }
# shellcheck disable=SC2046
c++ -std=c++20 -Wall -Wextra -Werror -o "$work/readme_example" "$example" \
  $(pkg-config --cflags --libs freezeframe)
(cd "$work" && ./readme_example)
# shellcheck disable=SC2046
c++ -std=c++20 -Wall -Wextra -Werror -o "$work/consumer-strict" \
  "$root/tests/package/consumer.cpp" $(pkg-config --cflags --libs freezeframe)

# The C API from C through pkg-config, strict C11; and the first program of docs/bindings.md
# as a reader would copy it.
echo "package: pkg-config freezeframe-c"
pkg-config --exists --print-errors freezeframe-c
libdir=$(pkg-config --variable=libdir freezeframe-c)
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -pedantic -o "$work/c-consumer-pc" \
  "$root/tests/package/c_consumer.c" $(pkg-config --cflags --libs freezeframe-c) -Wl,-rpath,"$libdir"
"$work/c-consumer-pc"
c_example="$work/bindings_example.c"
awk '/^### A first program/ {found = 1} found && /^```c$/ {inside = 1; next}
     inside && /^```$/ {exit} inside {print}' "$root/docs/bindings.md" >"$c_example"
[[ -s "$c_example" ]] || { echo "package: no C example found in docs/bindings.md" >&2; exit 1; }
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -pedantic -o "$work/bindings_example" "$c_example" \
  $(pkg-config --cflags --libs freezeframe-c) -Wl,-rpath,"$libdir"
"$work/bindings_example"

# The Python module (FREEZEFRAME_BUILD_PYTHON, on by default) imports from the prefix and works
# there, under the interpreter it was built for.
module=$(find "$prefix" -name 'freezeframe.cpython-*.so' -print -quit)
[[ -n "$module" ]] || { echo "package: the Python module was not installed" >&2; exit 1; }
if [[ -n "$module" ]]; then
  echo "package: Python module from the prefix"
  python=$(sed -n 's/^Python3_EXECUTABLE:FILEPATH=//p' "$work/build/CMakeCache.txt")
  (cd "$work" && PYTHONPATH=$(dirname "$module") "$python" -c '
import freezeframe as ff
p = ff.create_cow(ff.MemoryVolume(64 << 20), ff.MemoryVolume(64 << 20))
s = p.create_snapshot()
p.write(0, b"x" * 4096)
assert p.read(0, 512)[:1] == b"x" and p.open_snapshot(s).read(0, 512)[:1] == b"\0"
assert ff.__file__.startswith("'"$prefix"'"), ff.__file__
')
fi
echo "package: ok ($(pkg-config --modversion freezeframe))"

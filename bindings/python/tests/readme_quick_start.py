"""Runs the README's Python quick start, read from README.md, and checks what it prints."""
import contextlib
import io
import sys

# The first ```python block of README.md (argv[1]), as a newcomer would copy it.
with open(sys.argv[1], encoding="utf-8") as readme:
    text = readme.read()
start = text.index("```python\n") + len("```python\n")
QUICK_START = text[start:text.index("```", start)]
if len(QUICK_START.strip().splitlines()) != 3:
    print(f"the README's Python quick start is not three lines:\n{QUICK_START}")
    sys.exit(1)

output = io.StringIO()
with contextlib.redirect_stdout(output):
    exec(compile(QUICK_START, "README.md", "exec"), {})
expected = "b'xxxx' b'\\x00\\x00\\x00\\x00'\n"
if output.getvalue() != expected:
    print(f"printed {output.getvalue()!r}, expected {expected!r}")
    sys.exit(1)
print(output.getvalue(), end="")

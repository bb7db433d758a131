"""Runs the README's Python quick start exactly as printed there and checks what it prints."""
import contextlib
import io
import sys

QUICK_START = '''\
import freezeframe as ff
p = ff.create_cow(ff.MemoryVolume(64 << 20), ff.MemoryVolume(64 << 20)); s = p.create_snapshot(); p.write(0, b"x" * 4096)
print(p.read(0, 512)[:4], p.open_snapshot(s).read(0, 512)[:4])  # b'xxxx' b'\\x00\\x00\\x00\\x00'
'''

output = io.StringIO()
with contextlib.redirect_stdout(output):
    exec(compile(QUICK_START, "README.md", "exec"), {})
expected = "b'xxxx' b'\\x00\\x00\\x00\\x00'\n"
if output.getvalue() != expected:
    print(f"printed {output.getvalue()!r}, expected {expected!r}")
    sys.exit(1)
print(output.getvalue(), end="")

"""Runs examples/cow_vs_row.py end to end at a small size and checks that it drew its plot.

Usage: run_cow_vs_row.py EXAMPLE SCRATCH_DIR
"""
import os
import subprocess
import sys
import tempfile


def main(example, scratch):
    os.makedirs(scratch, exist_ok=True)
    out = tempfile.mkdtemp(prefix="cow-vs-row-", dir=scratch)
    result = subprocess.run(
        [sys.executable, example, "--out", out, "--size-mib", "4", "--writes", "32",
         "--snapshots", "0,1,2,4", "--repeat", "1"],
        capture_output=True, text=True, check=False)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        print(f"example exited with {result.returncode}")
        return 1
    png = os.path.join(out, "cow_vs_row.png")
    if not os.path.isfile(png) or os.path.getsize(png) == 0:
        print(f"no plot at {png}")
        return 1
    with open(png, "rb") as image:
        if image.read(8) != b"\x89PNG\r\n\x1a\n":
            print(f"{png} is not a PNG")
            return 1
    rows = [line.split() for line in result.stdout.splitlines()
            if line.startswith(("CoW ", "RoW "))]
    if len(rows) != 8:
        print(f"expected 8 table rows, got {len(rows)}")
        return 1
    os.remove(png)
    os.rmdir(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

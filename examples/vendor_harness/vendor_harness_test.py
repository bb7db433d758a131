#!/usr/bin/env python3
"""The vendor harness example in CI: the correct kv log passes a fixed seed range; the buggy
one is found, the output carries the replay command, and running that command reproduces
the same finding."""
import argparse
import shlex
import subprocess
import sys

# The application mode runs 400 steps per seed with crashes and snapshot checks; the writer
# mode is cheaper per seed.
SEEDS = {"app": "1-10", "writer": "1-20"}
BUGGY_SEEDS = "1-60"


def run(command):
    result = subprocess.run(command, capture_output=True, text=True, timeout=240)
    return result.returncode, result.stdout + result.stderr


def finding_lines(output):
    """The finding: the lines from 'finding:' on (seed, step, what, replay)."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("finding:"):
            return lines[i:i + 3]
    return []


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--mode", required=True, choices=["app", "writer"])
    args = parser.parse_args()
    failures = []

    code, output = run([args.binary, "--mode", args.mode, "--seeds", SEEDS[args.mode]])
    print(output.splitlines()[-1] if output else "(no output)")
    if code != 0 or "seeds passed" not in output:
        failures.append(f"the correct kv log failed (exit {code}):\n{output}")

    code, output = run([args.binary, "--mode", args.mode, "--buggy", "--seeds", BUGGY_SEEDS])
    finding = finding_lines(output)
    print("\n".join(finding))
    replay = [line.strip()[len("replay: "):] for line in finding if line.strip().startswith("replay: ")]
    if code != 1 or len(finding) != 3 or not replay:
        failures.append(f"the harness did not report the buggy kv log's bug with a replay "
                        f"command (exit {code}):\n{output}")
    else:
        if "--seed " not in replay[0] or "--buggy" not in replay[0]:
            failures.append(f"the replay command does not name the seed and mode: {replay[0]}")
        replay_code, replay_output = run(shlex.split(replay[0]))
        if replay_code != 1 or finding_lines(replay_output) != finding:
            failures.append(f"the replay command did not reproduce the finding (exit "
                            f"{replay_code}):\n{replay_output}\nexpected:\n" + "\n".join(finding))
        else:
            print("replayed: the same finding")

    code, output = run([args.binary, "--mode", args.mode, "--seeds", "5-1"])
    if code != 2 or "--seeds takes FIRST-LAST" not in output:
        failures.append(f"a bad seed range was not refused (exit {code}):\n{output}")

    for failure in failures:
        print("FAIL: " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

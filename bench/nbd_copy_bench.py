#!/usr/bin/env python3
"""nbdcopy of a snapshot exported by the freezeframe nbdkit plugin, against nbdkit's own file
plugin serving the same snapshot's image file (docs/nbd.md, "Performance").

A store gets one CoW volume of SIZE (default 1 GiB) with data written over DATA of it (default
all of it), a snapshot, and then 64 MiB rewritten at the start of every 640 MiB, so that the
snapshot reads those chunks from the diff area. The snapshot is exported to an image file with
`freezeframe shadow export`; then each server is started on a Unix socket in turn and
`nbdcopy URI null:` reads the whole export, ROUNDS times, alternating with the file plugin:
first the freezeframe plugin on its own (it opens the store), then with `freezeframe serve`
running on the store and the plugin forwarding to it. It prints each time, the ratio of the
file plugin's best time to the freezeframe plugin's best (1.0: as fast) in each phase, and the
daemon's best time over the standalone plugin's.
The page cache holds both (the files are read once first), so this compares the servers and not
the disk.

usage: nbd_copy_bench.py --binary FREEZEFRAME --plugin PLUGIN.so [--size BYTES] [--data BYTES]
                         [--rounds N] [--scratch DIR]
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time

MIB = 1 << 20


def run(*argv):
    subprocess.run(list(argv), check=True, stdout=subprocess.DEVNULL)


def serve(argv, sock):
    server = subprocess.Popen(["nbdkit", "--exit-with-parent", "-f", "-U", sock] + argv)
    deadline = time.monotonic() + 60
    while not os.path.exists(sock):
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("nbdkit %s did not start" % " ".join(argv))
        time.sleep(0.05)
    return server


def timed_copy(uri):
    started = time.monotonic()
    run("nbdcopy", uri, "null:")
    return time.monotonic() - started


def rounds_against_file(ff_uri, file_uri, rounds):
    """Times nbdcopy of both URIs, alternating, after one warm-up copy of the first."""
    timed_copy(ff_uri)
    ff_times, file_times = [], []
    for _ in range(rounds):
        ff_times.append(timed_copy(ff_uri))
        file_times.append(timed_copy(file_uri))
    return ff_times, file_times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--plugin", required=True)
    parser.add_argument("--size", type=int, default=1024 * MIB)
    parser.add_argument("--data", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scratch", default=None)
    args = parser.parse_args()
    data = args.size if args.data is None else args.data
    work = tempfile.mkdtemp(prefix="nbd-bench-", dir=args.scratch)
    servers = []
    try:
        store = os.path.join(work, "store")
        ff = [os.path.abspath(args.binary), "--store", store]
        run(*ff, "volume", "create", "V", "--size", str(args.size), "--provider", "cow")
        block = os.path.join(work, "block")
        with open(block, "wb") as f:
            f.write(os.urandom(64 * MIB))
        for offset in range(0, data, 64 * MIB):
            run(*ff, "volume", "write", "V", "--offset", str(offset), "--from", block, "--length",
                str(min(64 * MIB, data - offset)))
        made = json.loads(subprocess.run(ff + ["shadow", "create", "--for", "V", "--context",
                                               "persistent", "--json"], check=True,
                                         capture_output=True, text=True).stdout)
        shadow = made["shadows"][0]["id"]
        for offset in range(0, args.size, 10 * 64 * MIB):
            run(*ff, "volume", "write", "V", "--offset", str(offset), "--from", block, "--length",
                str(min(64 * MIB, args.size - offset)))
        image = os.path.join(work, "snapshot.img")
        run(*ff, "shadow", "export", shadow, "--to", image)
        os.unlink(block)

        files = serve(["file", image], os.path.join(work, "file.sock"))
        servers.append(files)
        file_uri = "nbd+unix:///?socket=" + os.path.join(work, "file.sock")
        timed_copy(file_uri)  # warm the page cache
        mib = args.size / MIB
        plugin_argv = [os.path.abspath(args.plugin), "store=" + store, "snapshot=" + shadow]
        results = {}
        # Standalone: the plugin opens the store itself (shared lock).
        plugin = serve(plugin_argv, os.path.join(work, "ff.sock"))
        results["standalone"] = rounds_against_file(
            "nbd+unix:///?socket=" + os.path.join(work, "ff.sock"), file_uri, args.rounds)
        plugin.terminate()
        plugin.wait()
        # Through the daemon: `freezeframe serve` holds the store; the plugin forwards to it.
        daemon = subprocess.Popen(ff + ["serve"], stdout=subprocess.PIPE, text=True)
        servers.append(daemon)
        if "serving store" not in daemon.stdout.readline():
            raise SystemExit("freezeframe serve did not start")
        forwarding = serve(plugin_argv, os.path.join(work, "ffd.sock"))
        servers.insert(0, forwarding)
        results["daemon"] = rounds_against_file(
            "nbd+unix:///?socket=" + os.path.join(work, "ffd.sock"), file_uri, args.rounds)
        print("nbdcopy of a %d MiB snapshot (%d MiB written, 64 MiB of every 640 MiB rewritten "
              "after it), %d rounds" % (mib, data / MIB, args.rounds))
        for name, (ff_times, file_times) in results.items():
            print("  %-10s plugin: %s s (best %.0f MiB/s); file plugin: %s s (best %.0f MiB/s); "
                  "ratio (file best / plugin best): %.2f"
                  % (name, ", ".join("%.2f" % t for t in ff_times), mib / min(ff_times),
                     ", ".join("%.2f" % t for t in file_times), mib / min(file_times),
                     min(file_times) / min(ff_times)))
        standalone = min(results["standalone"][0])
        through = min(results["daemon"][0])
        print("  daemon / standalone time (best): %.2f" % (through / standalone))
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

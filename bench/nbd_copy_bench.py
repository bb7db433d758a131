#!/usr/bin/env python3
"""nbdcopy of a snapshot exported by the freezeframe nbdkit plugin, against nbdkit's own file
plugin serving the same snapshot's image file (docs/nbd.md, "Performance").

A store gets one CoW volume of SIZE (default 1 GiB) with data written over DATA of it (default
all of it), a snapshot, and then 64 MiB rewritten at the start of every 640 MiB, so that the
snapshot reads those chunks from the diff area. The snapshot is exported to an image file with
`freezeframe shadow export`; then each server is started on a Unix socket in turn and
`nbdcopy URI null:` reads the whole export, ROUNDS times, alternating. It prints each time and
the ratio of the file plugin's best time to the freezeframe plugin's best (1.0: as fast).
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

        plugin = serve([os.path.abspath(args.plugin), "store=" + store, "snapshot=" + shadow],
                       os.path.join(work, "ff.sock"))
        servers.append(plugin)
        files = serve(["file", image], os.path.join(work, "file.sock"))
        servers.append(files)
        ff_uri = "nbd+unix:///?socket=" + os.path.join(work, "ff.sock")
        file_uri = "nbd+unix:///?socket=" + os.path.join(work, "file.sock")
        timed_copy(ff_uri)  # warm the page cache for both
        timed_copy(file_uri)
        ff_times, file_times = [], []
        for _ in range(args.rounds):
            ff_times.append(timed_copy(ff_uri))
            file_times.append(timed_copy(file_uri))
        mib = args.size / MIB
        print("nbdcopy of a %d MiB snapshot (%d MiB written, 64 MiB of every 640 MiB rewritten "
              "after it)" % (mib, data / MIB))
        print("  freezeframe plugin: %s s (best %.0f MiB/s)"
              % (", ".join("%.2f" % t for t in ff_times), mib / min(ff_times)))
        print("  file plugin:        %s s (best %.0f MiB/s)"
              % (", ".join("%.2f" % t for t in file_times), mib / min(file_times)))
        print("  ratio (file best / freezeframe best): %.2f" % (min(file_times) / min(ff_times)))
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

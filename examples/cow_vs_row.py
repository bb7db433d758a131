#!/usr/bin/env python3
"""First-write cost of copy-on-write against redirect-on-write, by snapshot count.

For each snapshot count N, a fresh provider of each kind takes N snapshots (writing between
them, so each one holds data), then writes to chunks no snapshot has seen written since the
newest one: the first writes, where the two designs differ. Both volumes are simulated disks
(SimVolume over memory), whose counters give the I/O the provider issued: requests and bytes
written to the diff volume and to the origin, per first write (the diff volume's include the
metadata journal: change tracking records each first write to a chunk even with no snapshot;
CoW's held writes reach the origin merged at the flush). Wall-clock time per write is
given relative to the same writes on a volume without a provider, since absolute times say
more about this machine than about the designs. (With one snapshot, CoW's time also pays for
allocating its write-back buffer, which happens at a provider's first held write; with more,
the history's writes paid for it.)

Writes are `--write-kib` KiB into 16 KiB chunks, so RoW's partial-chunk writes pay a
read-modify-write while CoW's pay a copy of the old chunk.

    PYTHONPATH=build/bindings/python python3 examples/cow_vs_row.py --out results/

writes cow_vs_row.png (matplotlib, Agg backend) and prints the table it plots.
"""
import argparse
import os
import sys
import time

import freezeframe as ff

MIB = 1 << 20
CHUNK = 16 * 1024


def measure(create, snapshots, size, writes, write_bytes):
    """Counters per first write after `snapshots` snapshots, for one provider kind."""
    origin = ff.SimVolume(ff.MemoryVolume(size, name="origin"), seed=1)
    diff = ff.SimVolume(ff.MemoryVolume(size, name="diff"), seed=2)
    provider = create(origin, diff, limit=ff.DiffAreaLimit.unbounded(), seed=3)
    # The history: each snapshot after a write to a region of its own.
    for index in range(snapshots):
        provider.write(index * CHUNK, bytes([index % 251 + 1]) * CHUNK)
        provider.create_snapshot()
    provider.flush()
    origin.reset_stats()
    diff.reset_stats()
    before = provider.stats()
    # First writes to chunks past the history.
    base = (snapshots + 1) * CHUNK
    payload = b"\xa5" * write_bytes
    started = time.perf_counter()
    for index in range(writes):
        provider.write(base + index * CHUNK, payload)
    provider.flush()
    elapsed = time.perf_counter() - started
    after = provider.stats()
    diff_stats = diff.stats()
    origin_stats = origin.stats()
    provider.close()
    return {
        "diff_writes": diff_stats["writes"] / writes,
        "diff_bytes": diff_stats["bytes_written"] / writes,
        "origin_reads": origin_stats["reads"] / writes,
        "origin_writes": origin_stats["writes"] / writes,
        "origin_bytes": origin_stats["bytes_written"] / writes,
        "flushes": (diff_stats["flushes"] + origin_stats["flushes"]) / writes,
        "metadata_commits": (after["metadata_commits"] - before["metadata_commits"]) / writes,
        "seconds": elapsed / writes,
    }


def raw_seconds(size, writes, write_bytes):
    volume = ff.SimVolume(ff.MemoryVolume(size), seed=1)
    payload = b"\xa5" * write_bytes
    started = time.perf_counter()
    for index in range(writes):
        volume.write(index * CHUNK, payload)
    volume.flush()
    return (time.perf_counter() - started) / writes


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="directory for cow_vs_row.png")
    parser.add_argument("--size-mib", type=int, default=64, help="origin and diff size")
    parser.add_argument("--writes", type=int, default=512, help="first writes per point")
    parser.add_argument("--write-kib", type=int, default=4, help="size of each write")
    parser.add_argument("--snapshots", default="0,1,2,4,8,16", help="snapshot counts")
    parser.add_argument("--repeat", type=int, default=3, help="runs per point (fastest time)")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.snapshots.split(",")]
    size = args.size_mib * MIB
    write_bytes = args.write_kib * 1024
    if (max(counts) + 1 + args.writes) * CHUNK > size:
        parser.error("--size-mib too small for the history and the writes")

    kinds = {"CoW": ff.create_cow, "RoW": ff.create_row}
    # Counters are exact; times are the fastest of --repeat runs (the first run of a point
    # also pays for page faults and allocations that have nothing to do with the design).
    raw = min(raw_seconds(size, args.writes, write_bytes) for _ in range(args.repeat))
    results = {}
    for name, create in kinds.items():
        results[name] = []
        for n in counts:
            runs = [measure(create, n, size, args.writes, write_bytes) for _ in range(args.repeat)]
            row = dict(runs[0])
            row["seconds"] = min(run["seconds"] for run in runs)
            results[name].append(row)

    print(f"per first write of {args.write_kib} KiB into {CHUNK // 1024} KiB chunks, "
          f"{args.writes} writes per point")
    print(f"{'kind':4} {'snaps':>5} {'diff-wr':>8} {'diff-KiB':>9} {'orig-rd':>8} "
          f"{'orig-wr':>8} {'orig-KiB':>9} {'commits':>8} {'time/raw':>9}")
    for name, rows in results.items():
        for n, row in zip(counts, rows):
            print(f"{name:4} {n:5d} {row['diff_writes']:8.2f} {row['diff_bytes'] / 1024:9.2f} "
                  f"{row['origin_reads']:8.2f} {row['origin_writes']:8.2f} "
                  f"{row['origin_bytes'] / 1024:9.2f} "
                  f"{row['metadata_commits']:8.3f} {row['seconds'] / raw:9.2f}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (bytes_axis, time_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for (name, rows), color in zip(results.items(), ("tab:blue", "tab:orange")):
        bytes_axis.plot(counts, [row["diff_bytes"] / 1024 for row in rows], marker="o",
                        color=color, label=f"{name}: diff volume")
        bytes_axis.plot(counts, [row["origin_bytes"] / 1024 for row in rows], marker="s",
                        linestyle="--", color=color, label=f"{name}: origin")
        time_axis.plot(counts, [row["seconds"] / raw for row in rows], marker="o", color=color,
                       label=name)
    bytes_axis.set_title("KiB written per first write")
    bytes_axis.set_xlabel("snapshots before the writes")
    bytes_axis.set_ylim(bottom=0)
    time_axis.set_title("time per first write / time on the bare volume")
    time_axis.set_xlabel("snapshots before the writes")
    time_axis.set_ylim(bottom=0)
    for axis in (bytes_axis, time_axis):
        axis.set_xticks(counts)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(f"CoW vs RoW: {args.write_kib} KiB writes into {CHUNK // 1024} KiB chunks")
    figure.tight_layout()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "cow_vs_row.png")
    figure.savefig(path, dpi=100)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

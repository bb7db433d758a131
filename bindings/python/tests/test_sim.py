"""Seeded simulated worlds from Python: crashes, faults, workloads, the simulated database."""
import datetime

import pytest

import freezeframe as ff

MIB = 1 << 20


def crashed_database(seed):
    """Runs the simulated database on two simulated disks, crashes both, returns them."""
    data = ff.SimVolume(ff.MemoryVolume(2 * MIB, name="data"), seed=seed)
    log = ff.SimVolume(ff.MemoryVolume(MIB, name="log"), seed=seed + 1)
    app = ff.TransactionalApp(data, log, seed=seed, data_blocks=128, flush_every=0)
    app.run(40)
    # Stop mid-transaction, with writes in the volatile caches.
    for _ in range(5):
        app.step()
    assert data.unflushed_bytes > 0
    dropped = data.crash() + log.crash()
    assert data.unflushed_bytes == 0
    return data, log, dropped, app


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_crash_then_check_then_recover(seed):
    data, log, dropped, app = crashed_database(seed)
    assert dropped > 0
    report = ff.ConsistencyChecker.check(data, log)
    # A crash loses unflushed data blocks: never corrupt, recoverable from the log.
    assert report["verdict"] == "recoverable", report["message"]
    assert report["committed_transactions"] > 0
    ff.ConsistencyChecker.recover(data, log)
    after = ff.ConsistencyChecker.check(data, log)
    assert after["verdict"] == "consistent", after["message"]
    assert after["blocks_torn"] == 0
    assert data.stats()["crashes"] == 1


def test_the_same_seed_crashes_the_same_way():
    first = crashed_database(7)
    second = crashed_database(7)
    assert first[2] == second[2]
    assert first[0].read(0, 2 * MIB) == second[0].read(0, 2 * MIB)
    assert first[1].read(0, MIB) == second[1].read(0, MIB)


def test_a_damaged_log_checks_corrupt():
    data = ff.MemoryVolume(2 * MIB)
    log = ff.MemoryVolume(MIB)
    app = ff.TransactionalApp(data, log, seed=4, data_blocks=64)
    app.run(3)
    log.write(0, b"\xee" * 4096)
    assert ff.ConsistencyChecker.check(data, log)["verdict"] == "corrupt"
    with pytest.raises(ff.Corrupt):
        ff.ConsistencyChecker.recover(data, log)


def test_fault_rules_raise_io_error_and_no_space():
    v = ff.SimVolume(ff.MemoryVolume(MIB), seed=1)
    fault = v.add_fault("nth", operations=["write"], n=2)
    v.write(0, b"\x01" * 512)
    with pytest.raises(ff.IoError) as raised:
        v.write(512, b"\x01" * 512)
    assert raised.value.code == ff.ErrorCode.IO_ERROR
    v.write(512, b"\x01" * 512)  # only the 2nd
    assert v.remove_fault(fault)
    v.add_fault("range", offset=4096, length=512, code=ff.ErrorCode.NO_SPACE)
    with pytest.raises(ff.NoSpace):
        v.write(4096, b"\x01" * 512)
    v.read(0, 512)
    assert v.stats()["injected_failures"] == 2
    v.clear_faults()
    v.write(4096, b"\x01" * 512)
    with pytest.raises(ff.InvalidArgument):
        v.add_fault("sometimes")
    with pytest.raises(ff.InvalidArgument):
        v.add_fault("nth", code=ff.ErrorCode.CORRUPT)


def test_a_provider_over_simulated_disks_survives_a_crash():
    origin = ff.SimVolume(ff.MemoryVolume(4 * MIB), seed=11)
    diff = ff.SimVolume(ff.MemoryVolume(4 * MIB), seed=12)
    p = ff.create_cow(origin, diff, limit=ff.DiffAreaLimit.unbounded())
    p.write(0, b"\x01" * 16384)
    snap = p.create_snapshot()
    p.write(0, b"\x02" * 16384)
    p.flush()
    p.write(16384, b"\x03" * 16384)  # never flushed
    p.close()
    del p
    origin.crash()
    diff.crash()
    with ff.open_cow(origin, diff) as again:
        assert again.read(0, 16384) == b"\x02" * 16384
        assert again.open_snapshot(snap).read(0, 16384) == b"\x01" * 16384


def test_latency_advances_the_sim_clock():
    clock = ff.SimClock()
    v = ff.SimVolume(ff.MemoryVolume(MIB), clock=clock,
                     latency_per_operation=datetime.timedelta(microseconds=100))
    v.write(0, b"\x00" * 512)
    v.read(0, 512)
    assert clock.now_ns == 200_000


def test_workload_is_a_function_of_its_seed():
    options = dict(volume_bytes=MIB, seed=42, pattern="zipfian", operation_count=200,
                   flush_every=10, sizes=[(4096, 3), (16384, 1)])
    first = list(ff.Workload(**options))
    second = list(ff.Workload(**options))
    assert len(first) == 200
    assert first == second
    assert ff.trace_hash(first) == ff.trace_hash(second)
    other = list(ff.Workload(**dict(options, seed=43)))
    assert ff.trace_hash(other) != ff.trace_hash(first)
    assert [op.kind for op in first[9::10]] == ["flush"] * 20
    assert {op.kind for op in first} <= {"read", "write", "flush"}


def test_workload_runs_against_a_volume():
    v = ff.MemoryVolume(MIB)
    w = ff.Workload(MIB, seed=5, pattern="sequential", read_fraction=0.0, operation_count=4)
    ops = list(ff.Workload(MIB, seed=5, pattern="sequential", read_fraction=0.0,
                           operation_count=4))
    w.run(v)
    assert w.done and w.produced == 4
    for op in ops:
        assert v.read(op.offset, op.length) == op.payload()
    ops[0].apply(v)
    with pytest.raises(ff.InvalidArgument):
        ff.Workload(MIB, pattern="diagonal")
    with pytest.raises(ff.InvalidArgument):
        ff.Workload(MIB, read_fraction=2.0)
    with pytest.raises(ff.InvalidArgument):
        ff.Workload(4 * MIB).run(v)

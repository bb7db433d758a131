"""CoW and RoW providers from Python: snapshots, limits, change tracking, lifetimes."""
import datetime
import gc

import pytest

import freezeframe as ff

MIB = 1 << 20
CHUNK = 16 * 1024
KINDS = [("cow", ff.create_cow, ff.ProviderKind.COPY_ON_WRITE),
         ("row", ff.create_row, ff.ProviderKind.REDIRECT_ON_WRITE)]


def make(create, **options):
    origin = ff.MemoryVolume(4 * MIB, name="origin")
    diff = ff.MemoryVolume(4 * MIB, name="diff")
    options.setdefault("limit", ff.DiffAreaLimit.unbounded())
    return create(origin, diff, seed=1, **options)


@pytest.mark.parametrize("name,create,kind", KINDS)
def test_snapshot_reads_the_old_bytes(name, create, kind):
    with make(create) as p:
        assert p.kind == kind
        p.write(0, b"\x01" * CHUNK)
        info = p.create_snapshot()
        p.write(0, b"\x02" * CHUNK)
        p.flush()
        with p.open_snapshot(info) as snap:
            assert snap.read_only
            assert snap.snapshot_id == info.id
            assert snap.read(0, CHUNK) == b"\x01" * CHUNK
            with pytest.raises(ff.ReadOnly):
                snap.write(0, b"\x00" * 512)
        assert p.read(0, CHUNK) == b"\x02" * CHUNK
        stats = p.stats()
        if name == "cow":
            assert stats["chunks_preserved"] == 1
        else:
            assert stats["chunks_redirected"] == 1
        assert stats["diff_data_bytes_written"] == CHUNK


@pytest.mark.parametrize("name,create,kind", KINDS)
def test_list_info_and_delete(name, create, kind):
    p = make(create)
    first = p.create_snapshot()
    second = p.create_snapshot()
    listed = p.snapshots()
    assert [s.id for s in listed] == [first.id, second.id]
    assert [s.sequence for s in listed] == [1, 2]
    assert listed[0].state == ff.SnapshotState.ACTIVE
    assert listed[0].provider == kind
    assert isinstance(listed[0].created, datetime.datetime)
    assert listed[0].created.tzinfo is not None
    record = listed[0].to_dict()
    assert record["id"] == first.id and record["provider"] == name
    assert record["state"] == "active"
    assert p.snapshot_info(second.id).sequence == 2
    snap = p.open_snapshot(first.id)
    p.delete_snapshot(first)
    assert [s.id for s in p.snapshots()] == [second.id]
    with pytest.raises(ff.NotFound):
        snap.read(0, 512)
    with pytest.raises(ff.NotFound):
        p.open_snapshot(first.id)
    with pytest.raises(ff.InvalidArgument):
        p.open_snapshot("not-a-uuid")


@pytest.mark.parametrize("name,create,kind", KINDS)
def test_revert(name, create, kind):
    p = make(create)
    p.write(0, b"\x0a" * CHUNK)
    snap = p.create_snapshot()
    p.write(0, b"\x0b" * CHUNK)
    p.write(CHUNK, b"\x0c" * CHUNK)
    p.revert_to_snapshot(snap.id)
    assert p.read(0, 2 * CHUNK) == b"\x0a" * CHUNK + bytes(CHUNK)


def test_fail_writes_policy_raises_no_space():
    p = make(ff.create_cow, limit=ff.DiffAreaLimit.bytes(2 * CHUNK),
             overflow_policy=ff.OverflowPolicy.FAIL_WRITES, write_back_bytes=0)
    usage = p.usage()
    assert usage["max_bytes"] == 2 * CHUNK
    assert usage["limit"].kind == "bytes"
    snap = p.create_snapshot()
    p.write(0, b"\x01" * CHUNK)
    p.write(CHUNK, b"\x01" * CHUNK)
    assert p.usage()["used_bytes"] == 2 * CHUNK
    with pytest.raises(ff.NoSpace) as raised:
        p.write(2 * CHUNK, b"\x01" * CHUNK)
    assert raised.value.code == ff.ErrorCode.NO_SPACE
    assert [e["kind"] for e in p.events()] == ["usage-above-warning", "write-failed-no-space"]
    # The snapshot is intact.
    assert p.open_snapshot(snap).read(0, 2 * CHUNK) == bytes(2 * CHUNK)


def test_delete_oldest_policy_deletes_for_space():
    p = make(ff.create_cow, limit=ff.DiffAreaLimit.bytes(CHUNK), write_back_bytes=0)
    old = p.create_snapshot()
    p.write(0, b"\x01" * CHUNK)
    new = p.create_snapshot()
    p.write(CHUNK, b"\x01" * CHUNK)
    assert [s.id for s in p.snapshots()] == [new.id]
    events = [e for e in p.events() if e["kind"] == "snapshot-deleted-for-space"]
    assert events[0]["snapshot_id"] == old.id


@pytest.mark.parametrize("name,create,kind", KINDS)
def test_change_tracking(name, create, kind):
    p = make(create)
    since = p.new_change_id()
    p.write(3 * CHUNK, b"\x01" * 512)
    p.write(7 * CHUNK + 512, b"\x01" * 1024)
    changed = p.changed_extents(since)
    assert not changed["reset"]
    assert changed["chunk_bytes"] == CHUNK
    assert changed["extents"] == [(3 * CHUNK, CHUNK), (7 * CHUNK, CHUNK)]
    a = p.create_snapshot()
    p.write(0, b"\x02" * 512)
    b = p.create_snapshot()
    assert p.changed_between(a, b)["extents"] == [(0, CHUNK)]
    with pytest.raises(ff.InvalidArgument):
        p.changed_extents("garbage")


def test_row_consolidate_and_cow_refuses():
    p = make(ff.create_row)
    snap = p.create_snapshot()
    p.write(0, b"\x01" * CHUNK)
    p.delete_snapshot(snap)
    assert p.consolidatable_chunks == 1
    p.consolidate()
    assert p.consolidatable_chunks == 0
    assert p.stats()["chunks_consolidated"] == 1
    assert p.read(0, CHUNK) == b"\x01" * CHUNK
    with pytest.raises(ff.Unsupported):
        make(ff.create_cow).consolidate()


def test_reopen_from_image_files(scratch):
    origin = ff.FileVolume.create(f"{scratch}/origin.img", 4 * MIB)
    diff = ff.FileVolume.create(f"{scratch}/diff.img", 4 * MIB)
    with ff.create_row(origin, diff) as p:
        p.write(0, b"\x11" * CHUNK)
        snap = p.create_snapshot()
        p.write(0, b"\x22" * CHUNK)
        p.flush()
    del p
    gc.collect()
    with pytest.raises(ff.AlreadyExists):
        ff.create_row(origin, diff)
    with pytest.raises(ff.InvalidArgument):
        ff.open_cow(origin, diff)
    with ff.open_provider(origin, diff) as p:
        assert p.kind == ff.ProviderKind.REDIRECT_ON_WRITE
        assert [s.id for s in p.snapshots()] == [snap.id]
        assert p.open_snapshot(snap).read(0, CHUNK) == b"\x11" * CHUNK
        assert p.read(0, CHUNK) == b"\x22" * CHUNK


def test_diff_area_on_a_foreign_volume_is_corrupt():
    origin = ff.MemoryVolume(4 * MIB)
    diff = ff.MemoryVolume(4 * MIB)
    diff.write(0, b"\x99" * 4096)
    with pytest.raises(ff.Corrupt) as raised:
        ff.open_provider(origin, diff)
    assert raised.value.code == ff.ErrorCode.CORRUPT


@pytest.mark.parametrize("name,create,kind", KINDS)
def test_dropping_the_provider_keeps_a_snapshot_volume_working(name, create, kind):
    origin = ff.MemoryVolume(4 * MIB)
    diff = ff.MemoryVolume(4 * MIB)
    p = create(origin, diff, limit=ff.DiffAreaLimit.unbounded())
    p.write(0, b"\x01" * CHUNK)
    snap_info = p.create_snapshot()
    p.write(0, b"\x02" * CHUNK)
    snap = p.open_snapshot(snap_info)
    # Drop every other Python reference, in the worst order: volumes, then the provider.
    origin.close()
    diff.close()
    del origin, diff
    p.close()
    del p
    gc.collect()
    assert snap.read(0, CHUNK) == b"\x01" * CHUNK
    snap.close()
    gc.collect()


def test_closed_provider_raises_bad_state():
    p = make(ff.create_cow)
    p.close()
    with pytest.raises(ff.BadState):
        p.create_snapshot()
    with pytest.raises(ff.BadState):
        p.write(0, b"\x00" * 512)


def test_provider_over_a_closed_volume_raises_bad_state():
    origin = ff.MemoryVolume(MIB)
    origin.close()
    with pytest.raises(ff.BadState):
        ff.create_cow(origin, ff.MemoryVolume(MIB))


def test_snapshot_limit_raises_limit_exceeded():
    p = make(ff.create_cow, snapshots_max=2)
    p.create_snapshot()
    p.create_snapshot()
    with pytest.raises(ff.LimitExceeded):
        p.create_snapshot()


def test_snapshot_times_come_from_a_sim_clock():
    clock = ff.SimClock()
    p = make(ff.create_cow, clock=clock)
    first = p.create_snapshot()
    clock.advance(datetime.timedelta(seconds=90))
    second = p.create_snapshot()
    assert second.created_ns - first.created_ns == 90 * 10**9
    assert first.created == datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def test_context_managers_close_the_provider_and_its_snapshot_volume():
    origin = ff.MemoryVolume(4 * MIB)
    with ff.create_cow(origin, ff.MemoryVolume(4 * MIB)) as p:
        info = p.create_snapshot()
        with p.open_snapshot(info) as snap:
            assert snap.read(0, 512) == bytes(512)
        assert snap.closed
        with pytest.raises(ff.BadState):
            snap.read(0, 512)
        p.write(0, b"\x01" * 4096)
    assert p.closed
    with pytest.raises(ff.BadState):
        p.snapshots()
    # Closing the provider wrote its held writes back to the origin.
    assert origin.read(0, 4096) == b"\x01" * 4096


def test_readinto_a_snapshot_volume():
    p = make(ff.create_row)
    p.write(0, b"\x03" * CHUNK)
    snap = p.open_snapshot(p.create_snapshot())
    p.write(0, b"\x04" * CHUNK)
    target = bytearray(CHUNK)
    assert snap.readinto(0, memoryview(target)) == CHUNK
    assert target == b"\x03" * CHUNK

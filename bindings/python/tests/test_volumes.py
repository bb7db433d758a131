"""Volumes from Python: the read/write API, buffers without copies, errors, closing."""
import array
import gc
import re

import pytest

import freezeframe as ff

MIB = 1 << 20


def test_module_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", ff.__version__)


def test_memory_volume_properties():
    v = ff.MemoryVolume(4 * MIB, sector_bytes=4096, name="scratch")
    assert v.size == 4 * MIB
    assert v.sector_bytes == 4096
    assert v.name == "scratch"
    assert not v.read_only
    assert len(v.uuid) == 36 and v.uuid.count("-") == 4
    assert not v.closed


def test_write_then_read_back():
    v = ff.MemoryVolume(MIB)
    assert v.write(4096, b"\xab" * 1024) == 1024
    assert v.read(4096, 1024) == b"\xab" * 1024
    assert v.read(0, 512) == bytes(512)
    v.flush()
    v.discard(4096, 512)
    assert v.read(4096, 1024) == bytes(512) + b"\xab" * 512


def test_write_accepts_any_buffer():
    v = ff.MemoryVolume(MIB)
    v.write(0, bytearray(b"\x01" * 512))
    v.write(512, memoryview(b"\x02" * 1024)[512:])
    v.write(1024, array.array("I", [0x03030303] * 128))
    assert v.read(0, 1536) == b"\x01" * 512 + b"\x02" * 512 + b"\x03" * 512


def test_readinto_fills_bytearray_without_copy():
    v = ff.MemoryVolume(MIB)
    v.write(0, b"\x5a" * 2048)
    target = bytearray(4096)
    # Half of it, through a view: the bytes land in `target` itself.
    assert v.readinto(0, memoryview(target)[:2048]) == 2048
    assert target == bytearray(b"\x5a" * 2048 + bytes(2048))
    target[:] = b"\xff" * 4096
    assert v.readinto(1024, target) == 4096
    assert target == bytearray(b"\x5a" * 1024 + bytes(3072))


def test_readinto_writes_through_a_memoryview_slice_into_its_owner():
    v = ff.MemoryVolume(MIB)
    v.write(512, b"\x77" * 512)
    owner = bytearray(b"\xff" * 2048)
    view = memoryview(owner)[1024:1536]
    assert v.readinto(512, view) == 512
    # The bytes landed in the owner itself: no copy was made.
    assert owner[:1024] == b"\xff" * 1024
    assert owner[1024:1536] == b"\x77" * 512
    assert owner[1536:] == b"\xff" * 512


def test_readinto_array():
    v = ff.MemoryVolume(MIB)
    v.write(0, array.array("H", [0x0102] * 256))
    target = array.array("H", [0] * 256)
    v.readinto(0, target)
    assert list(target) == [0x0102] * 256


def test_readinto_refuses_read_only_buffer():
    v = ff.MemoryVolume(MIB)
    with pytest.raises(BufferError):
        v.readinto(0, b"\x00" * 512)


def test_misaligned_offset_raises_invalid_argument():
    v = ff.MemoryVolume(MIB)
    with pytest.raises(ff.InvalidArgument) as raised:
        v.read(100, 512)
    assert raised.value.code == ff.ErrorCode.INVALID_ARGUMENT
    assert raised.value.code_name == "invalid-argument"
    assert "misaligned" in raised.value.message
    assert isinstance(raised.value, ff.Error)


def test_out_of_range_raises_invalid_argument():
    v = ff.MemoryVolume(MIB)
    with pytest.raises(ff.InvalidArgument) as raised:
        v.write(MIB, b"\x00" * 512)
    assert "out of range" in raised.value.message
    with pytest.raises(ff.InvalidArgument):
        v.read(0, 1 << 60)


def test_write_to_read_only_volume_raises_read_only():
    v = ff.MemoryVolume(MIB, read_only=True)
    with pytest.raises(ff.ReadOnly) as raised:
        v.write(0, b"\x00" * 512)
    assert raised.value.code == ff.ErrorCode.READ_ONLY
    assert str(raised.value).startswith("read-only: ")


def test_bad_size_raises_invalid_argument():
    with pytest.raises(ff.InvalidArgument):
        ff.MemoryVolume(1000)


def test_closed_volume_raises_bad_state():
    v = ff.MemoryVolume(MIB, name="gone")
    v.close()
    assert v.closed
    with pytest.raises(ff.BadState) as raised:
        v.read(0, 512)
    assert "'gone' is closed" in raised.value.message
    with pytest.raises(ff.BadState):
        v.size
    v.close()  # idempotent
    assert "closed" in repr(v)


def test_context_manager_closes():
    with ff.MemoryVolume(MIB) as v:
        v.write(0, b"\x01" * 512)
        assert not v.closed
    assert v.closed
    with pytest.raises(ff.BadState):
        v.write(0, b"\x01" * 512)


def test_file_volume_round_trip(scratch):
    path = f"{scratch}/disk.img"
    with ff.FileVolume.create(path, 2 * MIB, name="disk") as v:
        uuid = v.uuid
        assert v.path == path
        v.write(8192, b"\x42" * 4096)
        v.flush()
    with ff.FileVolume.open(path, read_only=True) as v:
        assert v.size == 2 * MIB
        assert v.uuid == uuid
        assert v.read_only
        assert v.read(8192, 4096) == b"\x42" * 4096
        with pytest.raises(ff.ReadOnly):
            v.write(0, b"\x00" * 512)


def test_file_volume_errors(scratch):
    path = f"{scratch}/disk.img"
    ff.FileVolume.create(path, MIB).close()
    with pytest.raises(ff.AlreadyExists) as raised:
        ff.FileVolume.create(path, MIB)
    assert raised.value.code == ff.ErrorCode.ALREADY_EXISTS
    with pytest.raises(ff.NotFound):
        ff.FileVolume.open(f"{scratch}/missing.img")
    ff.FileVolume.create(path, 2 * MIB, overwrite=True).close()
    assert ff.FileVolume.open(path).size == 2 * MIB


def test_non_volume_argument_is_a_type_error():
    with pytest.raises(TypeError):
        ff.create_cow("not a volume", ff.MemoryVolume(MIB))
    gc.collect()

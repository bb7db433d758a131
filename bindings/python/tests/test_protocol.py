"""The snapshot protocol driven from Python, with writers written in Python."""
import datetime
import gc
import threading
import weakref

import pytest

import freezeframe as ff

MIB = 1 << 20
CHUNK = 16 * 1024


class RecordingWriter(ff.Writer):
    """Writes a marker into its volume at freeze and another at thaw, and records events."""

    def __init__(self, name, volume, freeze_timeout=60.0):
        super().__init__(name, volumes=["data"], freeze_timeout=freeze_timeout)
        self.volume = volume
        self.events = []
        self.threads = set()

    def _record(self, event):
        self.events.append(event)
        self.threads.add(threading.get_ident())

    def prepare_backup(self, session):
        self._record("prepare_backup")

    def prepare_snapshot(self, session):
        self._record("prepare_snapshot")
        assert session.volumes == ["data"]
        self.set_id = session.snapshot_set_id

    def freeze(self, session):
        self._record("freeze")
        # Last words before the snapshot: they must be in it.
        self.volume.write(0, b"F" * 512)
        self.volume.flush()

    def thaw(self, session):
        self._record("thaw")
        # First words after it: they must not be.
        self.volume.write(512, b"T" * 512)

    def post_snapshot(self, session):
        self._record("post_snapshot")

    def abort(self, session):
        self._record("abort")

    def backup_complete(self, session):
        self._record("backup_complete")
        self.backup_succeeded = session.backup_succeeded

    def backup_shutdown(self, snapshot_set_id):
        self._record("backup_shutdown")


def make_world(create=ff.create_cow, clock=None):
    clock = clock if clock is not None else ff.SimClock()
    provider = create(ff.MemoryVolume(4 * MIB, name="origin"), ff.MemoryVolume(4 * MIB),
                      limit=ff.DiffAreaLimit.unbounded())
    coordinator = ff.Coordinator(clock=clock, seed=5)
    data = coordinator.add_volume("data", provider)
    return clock, provider, coordinator, data


@pytest.mark.parametrize("create", [ff.create_cow, ff.create_row])
def test_backup_session_with_a_python_writer(create):
    clock, provider, coordinator, data = make_world(create)
    data.write(0, b"A" * 1024)
    writer = RecordingWriter("py-app", data)
    coordinator.register_writer(writer)
    with coordinator.create_session() as session:
        metadata = session.gather_writer_metadata()
        assert [w["name"] for w in metadata] == ["py-app"]
        set_id = session.start_snapshot_set()
        session.add_to_snapshot_set("data")
        session.prepare_for_backup()
        session.do_snapshot_set()
        assert writer.events == ["prepare_backup", "prepare_snapshot", "freeze", "thaw",
                                 "post_snapshot"]
        assert writer.set_id == set_id == session.snapshot_set_id
        # The writer ran on the coordinator's threads, not this one, while this thread was
        # inside do_snapshot_set: it could take the GIL only because that call released it.
        assert threading.get_ident() not in writer.threads
        snapshot_set = session.snapshot_set()
        assert snapshot_set["id"] == set_id
        assert snapshot_set["context"] == "backup"
        assert len(snapshot_set["snapshots"]) == 1
        snap = session.open_snapshot("data")
        assert snap.read(0, 1024) == b"F" * 512 + b"A" * 512
        assert data.read(0, 1024) == b"F" * 512 + b"T" * 512
        assert len(provider.snapshots()) == 1
        statuses = session.gather_writer_status()
        assert statuses[0]["name"] == "py-app"
        assert statuses[0]["state"] == "waiting-for-backup-complete"
        session.backup_complete()
        assert writer.backup_succeeded
        # An auto-release context: the snapshot is gone after backup_complete.
        assert provider.snapshots() == []
        with pytest.raises(ff.Error):
            snap.read(0, 512)
    assert "backup_shutdown" not in writer.events  # the snapshot volume keeps the session
    del snap
    gc.collect()
    assert writer.events[-1] == "backup_shutdown"
    phases = [(e["phase"], e["name"]) for e in coordinator.events()]
    assert ("freeze", "py-app") in phases and ("thaw", "py-app") in phases


def test_take_snapshot_set_in_one_call():
    clock, provider, coordinator, data = make_world(ff.create_row)
    writer = RecordingWriter("py-app", data)
    coordinator.register_writer(writer)
    session = coordinator.take_snapshot_set(["data"], context="approllback")
    assert writer.events[:5] == ["prepare_backup", "prepare_snapshot", "freeze", "thaw",
                                 "post_snapshot"]
    session.backup_complete()
    # A persistent context keeps its snapshot.
    assert len(provider.snapshots()) == 1
    session.close()


def test_writer_overrunning_its_freeze_window_fails_the_set_cleanly():
    clock, provider, coordinator, data = make_world()

    class SlowWriter(RecordingWriter):
        def freeze(self, session):
            self._record("freeze")
            # 21 simulated seconds in a 20-second window: the coordinator's deadline fires
            # inside advance(), while this freeze is still running.
            clock.advance(datetime.timedelta(seconds=21))

    slow = SlowWriter("mail", data, freeze_timeout=20.0)
    assert slow.freeze_timeout == datetime.timedelta(seconds=20)
    other = RecordingWriter("other", data)
    coordinator.register_writer(slow)
    coordinator.register_writer(other)
    session = coordinator.create_session()
    session.gather_writer_metadata()
    session.start_snapshot_set()
    session.add_to_snapshot_set("data")
    session.prepare_for_backup()
    with pytest.raises(ff.Timeout) as raised:
        session.do_snapshot_set()
    assert raised.value.code == ff.ErrorCode.TIMEOUT
    assert raised.value.message == ("writer 'mail' failed at freeze: timeout "
                                    "(freeze window 20 s exceeded)")
    failure = session.failure()
    assert failure["participant"] == "writer"
    assert failure["name"] == "mail"
    assert failure["phase"] == "freeze"
    assert failure["writer_failure"] == ff.WriterFailure.TIMEOUT
    # Cleanly: both writers told to abort, none left frozen, no snapshot left, I/O released.
    assert "abort" in slow.events and "abort" in other.events
    assert "thaw" not in other.events
    assert provider.snapshots() == []
    assert not coordinator.set_in_creation
    data.write(0, b"\x01" * 512)
    statuses = {s["name"]: s["state"] for s in session.gather_writer_status()}
    assert statuses["mail"] == "failed-at-freeze"
    with pytest.raises(ff.BadState):
        session.open_snapshot("data")
    # The next set succeeds.
    slow_events = len(slow.events)
    coordinator.unregister_writer(slow)
    again = coordinator.take_snapshot_set(["data"])
    assert len(provider.snapshots()) == 1
    assert len(slow.events) == slow_events
    again.backup_complete()


def test_writer_error_fails_the_set_with_its_kind():
    clock, provider, coordinator, data = make_world()

    class Refusing(RecordingWriter):
        def prepare_snapshot(self, session):
            raise ff.WriterError(ff.WriterFailure.RETRYABLE, "log is busy")

    class Crashing(RecordingWriter):
        def freeze(self, session):
            raise KeyError("no such table")

    refusing = Refusing("refusing", data)
    coordinator.register_writer(refusing)
    with pytest.raises(ff.Aborted) as raised:
        coordinator.take_snapshot_set(["data"])
    assert "writer 'refusing' failed at prepare-snapshot" in raised.value.message
    assert "log is busy" in raised.value.message
    coordinator.unregister_writer(refusing)

    crashing = Crashing("crashing", data)
    coordinator.register_writer(crashing)
    session = coordinator.create_session()
    session.gather_writer_metadata()
    session.start_snapshot_set()
    session.add_to_snapshot_set("data")
    session.prepare_for_backup()
    with pytest.raises(ff.Aborted) as raised:
        session.do_snapshot_set()
    assert "no such table" in raised.value.message
    assert session.failure()["writer_failure"] == ff.WriterFailure.NON_RETRYABLE
    assert "abort" in crashing.events
    assert provider.snapshots() == []


def test_session_errors_map_to_exceptions():
    clock, provider, coordinator, data = make_world()
    session = coordinator.create_session()
    with pytest.raises(ff.BadState):
        session.do_snapshot_set()
    session.gather_writer_metadata()
    session.start_snapshot_set()
    with pytest.raises(ff.NotFound):
        session.add_to_snapshot_set("nope")
    other = coordinator.create_session()
    other.gather_writer_metadata()
    with pytest.raises(ff.Busy):
        other.start_snapshot_set()
    with pytest.raises(ff.InvalidArgument):
        coordinator.take_snapshot_set(["data"], context="no-such-context")
    with pytest.raises(TypeError):
        coordinator.register_writer(object())
    session.close()
    with pytest.raises(ff.BadState):
        session.abort()


def test_the_simulated_database_as_a_writer_gives_consistent_snapshots():
    clock = ff.SimClock()
    providers = {}
    coordinator = ff.Coordinator(clock=clock, seed=9)
    volumes = {}
    for name in ("db-data", "db-log"):
        providers[name] = ff.create_cow(ff.MemoryVolume(2 * MIB, name=name),
                                        ff.MemoryVolume(2 * MIB),
                                        limit=ff.DiffAreaLimit.unbounded())
        volumes[name] = coordinator.add_volume(name, providers[name])
    app = ff.TransactionalApp(volumes["db-data"], volumes["db-log"], seed=3, data_blocks=64)
    coordinator.register_writer(app)
    stop = threading.Event()

    def load():
        while not stop.is_set():
            app.run(5)

    worker = threading.Thread(target=load)
    worker.start()
    try:
        app_ran = app.stats()
        session = coordinator.take_snapshot_set(["db-data", "db-log"])
    finally:
        stop.set()
        app.stop()
        worker.join()
    assert app.stats()["freezes"] == 1
    assert app.stats()["transactions_completed"] >= app_ran["transactions_completed"]
    report = ff.ConsistencyChecker.check(session.open_snapshot("db-data"),
                                         session.open_snapshot("db-log"))
    assert report["verdict"] == "consistent", report["message"]
    session.backup_complete()


def test_dropping_the_coordinator_while_a_session_volume_lives():
    clock, provider, coordinator, data = make_world()
    session = coordinator.take_snapshot_set(["data"], context="approllback")
    snap = session.open_snapshot("data")
    coordinator.close()
    session.close()
    del coordinator, session, provider, data
    gc.collect()
    assert snap.read(0, 512) == bytes(512)


def test_a_volume_name_taken_twice_raises_already_exists():
    clock, provider, coordinator, data = make_world()
    other = ff.create_cow(ff.MemoryVolume(2 * MIB), ff.MemoryVolume(2 * MIB))
    with pytest.raises(ff.AlreadyExists):
        coordinator.add_volume("data", other)
    del other
    gc.collect()
    session = coordinator.take_snapshot_set(["data"], provider=ff.ProviderKind.COPY_ON_WRITE)
    assert len(provider.snapshots()) == 1
    with pytest.raises(ff.NotFound):
        coordinator.take_snapshot_set(["data"], provider=ff.ProviderKind.REDIRECT_ON_WRITE)
    session.backup_complete()


EXIT_WITH_LIVE_OBJECTS = '''
import freezeframe as ff

class Writer(ff.Writer):
    def __init__(self):
        super().__init__("w", volumes=["data"])

    def freeze(self, session):
        print("freeze", flush=True)

coordinator = ff.Coordinator(clock=ff.SimClock())
provider = ff.create_row(ff.MemoryVolume(4 << 20), ff.MemoryVolume(4 << 20))
data = coordinator.add_volume("data", provider)
coordinator.register_writer(Writer())
session = coordinator.take_snapshot_set(["data"])
snapshot = session.open_snapshot("data")
print("exiting", flush=True)
'''


def test_interpreter_exit_with_a_session_and_its_snapshot_open():
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-c", EXIT_WITH_LIVE_OBJECTS],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["freeze", "exiting"]


def test_session_context_manager_ends_the_session():
    clock, provider, coordinator, data = make_world()
    writer = RecordingWriter("py-app", data)
    coordinator.register_writer(writer)
    with coordinator.take_snapshot_set(["data"]) as session:
        assert len(provider.snapshots()) == 1
    assert session.closed
    with pytest.raises(ff.BadState):
        session.snapshot_set()
    gc.collect()
    # Ended without backup_complete: the auto-release context's snapshot is deleted and the
    # writers were told the session is over.
    assert provider.snapshots() == []
    assert writer.events[-1] == "backup_shutdown"


def test_a_python_writers_default_metadata_is_one_component_on_its_volumes():
    clock, provider, coordinator, data = make_world()
    coordinator.register_writer(RecordingWriter("py-app", data))
    with coordinator.create_session() as session:
        [metadata] = session.gather_writer_metadata()
    assert metadata["name"] == "py-app"
    assert metadata["level"] == "front-end"
    assert [(c["name"], c["volumes"]) for c in metadata["components"]] == [
        ("py-app-data", ["data"])]


def test_a_writer_holding_its_coordinator_is_freed_with_it():
    clock, provider, coordinator, data = make_world()
    writer = RecordingWriter("py-app", data)
    writer.coordinator = coordinator  # a cycle: the coordinator keeps its writers
    coordinator.register_writer(writer)
    with coordinator.take_snapshot_set(["data"]) as session:
        session.backup_complete()
    writer_ref = weakref.ref(writer)
    coordinator_ref = weakref.ref(coordinator)
    del writer, coordinator
    gc.collect()
    assert writer_ref() is None
    assert coordinator_ref() is None


def test_a_writer_whose_coordinator_an_open_session_holds_lives_until_the_session_ends():
    clock, provider, coordinator, data = make_world()
    writer = RecordingWriter("py-app", data)
    writer.coordinator = coordinator
    coordinator.register_writer(writer)
    session = coordinator.take_snapshot_set(["data"])
    writer_ref = weakref.ref(writer)
    events = writer.events
    del writer, coordinator
    gc.collect()
    assert writer_ref() is not None  # the session may still call it
    session.close()
    assert events[-1] == "backup_shutdown"
    gc.collect()
    assert writer_ref() is None


EXIT_WITH_OPEN_SESSIONS = '''
import freezeframe as ff

class Writer(ff.Writer):
    def __init__(self, name):
        super().__init__(name, volumes=["data"])

    def backup_shutdown(self, snapshot_set_id):
        print("backup_shutdown", self.name, flush=True)

coordinator = ff.Coordinator(clock=ff.SimClock())
provider = ff.create_row(ff.MemoryVolume(4 << 20), ff.MemoryVolume(4 << 20))
data = coordinator.add_volume("data", provider)
coordinator.register_writer(Writer("w"))
first = coordinator.take_snapshot_set(["data"])
snapshot = first.open_snapshot("data")       # closed at exit, before the session ends
print("snapshots", len(provider.snapshots()), flush=True)
'''


def test_sessions_open_at_interpreter_exit_end_with_backup_shutdown():
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-c", EXIT_WITH_OPEN_SESSIONS],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["snapshots 1", "backup_shutdown w"]
    # A snapshot volume that something else holds keeps its session to the interpreter's
    # teardown (the session must outlive it): no crash either way.
    held = EXIT_WITH_OPEN_SESSIONS + 'wrapped = ff.SimVolume(snapshot, seed=1)\n'
    result = subprocess.run([sys.executable, "-c", held],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "snapshots 1"

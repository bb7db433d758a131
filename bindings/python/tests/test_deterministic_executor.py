"""The deterministic executor: a session's writer events run on the thread that drives it, so
with a SimClock a writer overrunning its deadline fails the set the same way on every run."""
import datetime
import threading

import pytest

import freezeframe as ff

MIB = 1 << 20


class TimedWriter(ff.Writer):
    """Records each event with the simulated time it began at; its freeze may take simulated
    time (it advances the clock, as a slow writer would spend it)."""

    def __init__(self, name, clock, freeze_takes=None, freeze_timeout=60.0):
        super().__init__(name, volumes=["data"], freeze_timeout=freeze_timeout)
        self.clock = clock
        self.freeze_takes = freeze_takes
        self.events = []
        self.threads = set()

    def _record(self, event):
        self.events.append((event, self.clock.now_ns))
        self.threads.add(threading.get_ident())

    def prepare_snapshot(self, session):
        self._record("prepare_snapshot")

    def freeze(self, session):
        self._record("freeze")
        if self.freeze_takes is not None:
            self.clock.advance(self.freeze_takes)

    def thaw(self, session):
        self._record("thaw")

    def abort(self, session):
        self._record("abort")

    def backup_shutdown(self, snapshot_set_id):
        self._record("backup_shutdown")


def make_world(executor, clock):
    provider = ff.create_cow(ff.MemoryVolume(4 * MIB, name="origin"), ff.MemoryVolume(4 * MIB),
                             limit=ff.DiffAreaLimit.unbounded(), clock=clock, seed=3)
    coordinator = ff.Coordinator(clock=clock, executor=executor, seed=5)
    coordinator.add_volume("data", provider)
    return provider, coordinator


def prepared_session(coordinator):
    session = coordinator.create_session()
    session.gather_writer_metadata()
    session.start_snapshot_set()
    session.add_to_snapshot_set("data")
    session.prepare_for_backup()
    return session


def overrun_once():
    """One set in which 'mail' spends 21 simulated seconds in a 20-second freeze window."""
    clock = ff.SimClock()
    executor = ff.DeterministicExecutor()
    provider, coordinator = make_world(executor, clock)
    mail = TimedWriter("mail", clock, freeze_takes=datetime.timedelta(seconds=21),
                       freeze_timeout=20.0)
    other = TimedWriter("other", clock)
    coordinator.register_writer(mail)
    coordinator.register_writer(other)
    session = prepared_session(coordinator)
    with pytest.raises(ff.Timeout) as raised:
        session.do_snapshot_set()
    outcome = {
        "message": raised.value.message,
        "failure": session.failure(),
        "log": coordinator.events(),
        "mail": list(mail.events),
        "other": list(other.events),
        "threads": mail.threads | other.threads,
        "tasks_run": executor.tasks_run,
        "snapshots": provider.snapshots(),
        "now_ns": clock.now_ns,
        "set_in_creation": coordinator.set_in_creation,
    }
    session.close()
    return outcome


def test_a_writer_overrunning_its_freeze_window_times_out_the_same_way_every_run():
    first = overrun_once()
    assert first["message"] == ("writer 'mail' failed at freeze: timeout "
                                "(freeze window 20 s exceeded)")
    assert first["failure"]["name"] == "mail"
    assert first["failure"]["phase"] == "freeze"
    assert first["failure"]["writer_failure"] == ff.WriterFailure.TIMEOUT
    # In the executor's order, on this thread: mail freezes first and overruns, and at the
    # instant its freeze returns (21 s) every writer is told to abort; 'other' never froze.
    seconds_21 = 21 * 10**9
    assert first["mail"] == [("prepare_snapshot", 0), ("freeze", 0), ("abort", seconds_21)]
    assert first["other"] == [("prepare_snapshot", 0), ("abort", seconds_21)]
    assert first["threads"] == {threading.get_ident()}
    assert first["tasks_run"] > 0
    assert first["now_ns"] == seconds_21  # only the writer moved time, and nothing slept
    # Cleanly: no snapshot left, no set in creation.
    assert first["snapshots"] == []
    assert not first["set_in_creation"]
    freeze = [e for e in first["log"] if e["phase"] == "freeze" and e["name"] == "mail"]
    assert len(freeze) == 1
    assert freeze[0]["outcome"] == "timeout"
    assert freeze[0]["duration_ns"] == seconds_21
    # And again: the same events, times, ids and messages.
    second = overrun_once()
    assert second == first


def test_a_writer_overrunning_a_prepare_deadline_times_out():
    clock = ff.SimClock()
    executor = ff.DeterministicExecutor()
    provider = ff.create_row(ff.MemoryVolume(4 * MIB), ff.MemoryVolume(4 * MIB))
    coordinator = ff.Coordinator(clock=clock, executor=executor,
                                 event_duration_max=datetime.timedelta(seconds=30))
    coordinator.add_volume("data", provider)

    class SlowPrepare(TimedWriter):
        def prepare_snapshot(self, session):
            self._record("prepare_snapshot")
            self.clock.advance(datetime.timedelta(seconds=31))

    writer = SlowPrepare("indexer", clock)
    coordinator.register_writer(writer)
    session = prepared_session(coordinator)
    with pytest.raises(ff.Timeout) as raised:
        session.do_snapshot_set()
    assert "writer 'indexer'" in raised.value.message
    assert session.failure()["phase"] == "prepare-snapshot"
    # As VSS: a writer whose prepare-snapshot failed is not told to abort.
    assert [event for event, _ in writer.events] == ["prepare_snapshot"]
    assert provider.snapshots() == []
    assert clock.now_ns == 31 * 10**9


def session_log(seed):
    clock = ff.SimClock()
    executor = ff.DeterministicExecutor(seed=seed)
    provider, coordinator = make_world(executor, clock)
    for name in ("a", "b", "c"):
        coordinator.register_writer(TimedWriter(name, clock,
                                                freeze_takes=datetime.timedelta(seconds=1)))
    with coordinator.take_snapshot_set(["data"]) as session:
        session.backup_complete()
    return coordinator.events()


def test_a_seeded_executor_replays_the_same_session():
    log = session_log(7)
    assert session_log(7) == log
    # The coordinator waits for each call before the next, so the protocol's order holds.
    freezes = [(e["name"], e["start_ns"]) for e in log if e["phase"] == "freeze"]
    assert freezes == [("a", 0), ("b", 10**9), ("c", 2 * 10**9)]


def test_a_session_on_the_executor_succeeds_and_runs_on_the_callers_thread():
    clock = ff.SimClock()
    executor = ff.DeterministicExecutor()
    provider, coordinator = make_world(executor, clock)
    writer = TimedWriter("app", clock, freeze_takes=datetime.timedelta(seconds=2))
    coordinator.register_writer(writer)
    with coordinator.take_snapshot_set(["data"]) as session:
        assert len(provider.snapshots()) == 1
        session.backup_complete()
    assert [event for event, _ in writer.events] == ["prepare_snapshot", "freeze", "thaw",
                                                     "backup_shutdown"]
    assert writer.threads == {threading.get_ident()}
    assert writer.events[2] == ("thaw", 2 * 10**9)
    assert provider.snapshots() == []


def test_the_executor_outlives_the_coordinator_that_uses_it():
    clock = ff.SimClock()
    provider, coordinator = make_world(ff.DeterministicExecutor(), clock)
    coordinator.register_writer(TimedWriter("app", clock))
    session = coordinator.take_snapshot_set(["data"])  # the executor is referenced only inside
    session.backup_complete()
    session.close()
    with pytest.raises(TypeError):
        ff.Coordinator(clock=clock, executor=object())

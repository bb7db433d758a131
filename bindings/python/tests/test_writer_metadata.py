"""A Python writer's metadata: the default one, and its own through an identify() override."""
import uuid

import pytest

import freezeframe as ff

MIB = 1 << 20


def make_coordinator():
    coordinator = ff.Coordinator(clock=ff.SimClock(), executor=ff.DeterministicExecutor(), seed=1)
    for name in ("data", "log"):
        provider = ff.create_cow(ff.MemoryVolume(4 * MIB, name=name), ff.MemoryVolume(4 * MIB),
                                 limit=ff.DiffAreaLimit.unbounded())
        coordinator.add_volume(name, provider)
    return coordinator


def gathered(coordinator):
    with coordinator.create_session() as session:
        return session.gather_writer_metadata()


def test_the_default_metadata_is_one_component_on_the_writers_volumes():
    writer = ff.Writer("app", volumes=["data", "log"], level=ff.ApplicationLevel.BACK_END)
    metadata = writer.identify()
    assert isinstance(metadata, ff.WriterMetadata)
    assert metadata.name == "app"
    assert metadata.level == "back-end"
    assert metadata.components == [ff.WriterComponent("app-data", volumes=["data", "log"])]
    # The ids derive from the name, as the simulator's scripted writers' do.
    assert uuid.UUID(metadata.class_id) != uuid.UUID(metadata.instance_id)
    assert ff.Writer("app").identify().class_id == metadata.class_id
    coordinator = make_coordinator()
    coordinator.register_writer(writer)
    [document] = gathered(coordinator)
    assert ff.WriterMetadata.from_dict(document) == metadata
    assert document == metadata.to_dict()


class Database(ff.Writer):
    """Describes its own components: the database's files on `data`, its log on `log`."""

    def __init__(self):
        super().__init__("db", volumes=["data"])

    def identify(self):
        return ff.WriterMetadata(
            name="sales-db",
            class_id=uuid.UUID("8d2e3f5a-1b2c-4d3e-9f40-5a6b7c8d9e0f"),
            level=ff.ApplicationLevel.BACK_END,
            source="transacted-database",
            restore_method="stop-restore-start",
            restore_service="salesd",
            components=[
                ff.WriterComponent(
                    "orders", type="database", logical_path="sales", volumes=["data", "log"],
                    files=[ff.FileSpec("/srv/db", "orders.db")],
                    database_logs=[ff.FileSpec("/srv/log", "*.wal", recursive=True)]),
                ff.WriterComponent("config", volumes=["data"], selectable=False),
            ],
            excluded_files=[ff.FileSpec("/srv/db", "*.tmp")])


def test_a_python_writers_own_components_show_in_the_gathered_metadata():
    coordinator = make_coordinator()
    coordinator.register_writer(Database())
    [document] = gathered(coordinator)
    assert document["name"] == "sales-db"
    assert document["class_id"] == "8d2e3f5a-1b2c-4d3e-9f40-5a6b7c8d9e0f"
    assert document["level"] == "back-end"
    assert document["source"] == "transacted-database"
    assert document["restore_method"] == "stop-restore-start"
    assert document["restore_service"] == "salesd"
    assert [c["name"] for c in document["components"]] == ["orders", "config"]
    orders, config = document["components"]
    assert orders["type"] == "database"
    assert orders["logical_path"] == "sales"
    assert orders["volumes"] == ["data", "log"]
    assert orders["files"][0]["path"] == "/srv/db"
    assert orders["files"][0]["filespec"] == "orders.db"
    assert orders["database_logs"][0]["filespec"] == "*.wal"
    assert orders["database_logs"][0]["recursive"] is True
    assert config["selectable"] is False
    assert document["excluded_files"][0]["filespec"] == "*.tmp"
    # The instance id was left out: it derives from the metadata's name.
    assert document["instance_id"] == ff.Writer("sales-db").identify().instance_id
    # The metadata round-trips through the dataclasses.
    assert ff.WriterMetadata.from_dict(document).components[0].files == [
        ff.FileSpec("/srv/db", "orders.db")]
    # And the writer takes part in a set under its own name.
    with coordinator.take_snapshot_set(["data", "log"]) as session:
        assert [s["name"] for s in session.gather_writer_status()] == ["sales-db"]
        session.backup_complete()


def test_identify_may_extend_the_default_or_return_a_dict():
    class Extended(ff.Writer):
        def identify(self):
            metadata = super().identify()
            metadata.components.append(ff.WriterComponent("app-log", volumes=["log"]))
            return metadata

    class AsDict(ff.Writer):
        def identify(self):
            return {"name": "plain", "components": [{"name": "everything",
                                                     "volumes": ["data", "log"]}]}

    coordinator = make_coordinator()
    coordinator.register_writer(Extended("app", volumes=["data"]))
    coordinator.register_writer(AsDict("plain"))
    extended, plain = gathered(coordinator)
    assert [(c["name"], c["volumes"]) for c in extended["components"]] == [
        ("app-data", ["data"]), ("app-log", ["log"])]
    assert plain["name"] == "plain"
    assert plain["components"][0]["volumes"] == ["data", "log"]
    assert plain["class_id"] == ff.Writer("plain").identify().class_id


@pytest.mark.parametrize("returned, expected", [
    (ff.WriterMetadata("bad", components=[ff.WriterComponent("")]), "components[0].name"),
    (ff.WriterMetadata("bad", level="middle"), "level: unknown value 'middle'"),
    ({"components": []}, "required field 'name' is missing"),
    (42, "identify() must return a freezeframe.WriterMetadata or a dict, not int"),
])
def test_bad_metadata_fails_gathering_naming_what_is_wrong(returned, expected):
    class Bad(ff.Writer):
        def identify(self):
            return returned

    coordinator = make_coordinator()
    coordinator.register_writer(Bad("bad"))
    with coordinator.create_session() as session:
        with pytest.raises(ff.Aborted) as raised:
            session.gather_writer_metadata()
        assert "failed at identify" in raised.value.message
        assert "writer 'bad': identify() returned bad metadata" in raised.value.message or \
            "writer 'bad': identify() raised" in raised.value.message
        assert expected in raised.value.message
        failure = session.failure()
        assert failure["phase"] == "identify"
        assert failure["participant"] == "writer"
        assert session.gather_writer_status()[0]["state"] == "failed-at-identify"


def test_a_writer_error_from_identify_fails_gathering_with_its_message():
    class Refusing(ff.Writer):
        def identify(self):
            raise ff.WriterError(ff.WriterFailure.RETRYABLE, "catalog is locked")

    coordinator = make_coordinator()
    coordinator.register_writer(Refusing("refusing"))
    with coordinator.create_session() as session:
        with pytest.raises(ff.Aborted) as raised:
            session.gather_writer_metadata()
        assert "writer 'refusing': identify() raised: catalog is locked" in raised.value.message

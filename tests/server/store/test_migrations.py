"""Migrations: the migrated database matches schema.py, re-running is a no-op, races are safe."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from dockyard.server.store import Database, open_database, schema


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/m.db"
    return str(request.getfixturevalue("postgres_url"))


def test_migrated_database_matches_schema(url: str) -> None:
    db = open_database(url)
    with db.write_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    db.dispose()
    assert diff == []


def test_migrating_twice_is_a_no_op(url: str) -> None:
    open_database(url).dispose()
    db = open_database(url)
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM experiments")).scalar() == 1
    db.dispose()


def _start(url: str) -> None:
    open_database(url).dispose()


def test_two_processes_starting_at_once(url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_start, args=(url,)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    db = Database(url)
    with db.read() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    db.dispose()


def _alembic(db: Database) -> Callable[[str, str], None]:
    from alembic import command
    from alembic.config import Config

    def run(action: str, revision: str) -> None:
        with db.write_engine.connect() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", "dockyard.server.store:migrations")
            cfg.attributes["connection"] = conn
            getattr(command, action)(cfg, revision)
            conn.commit()

    return run


def test_0006_drops_duplicate_metric_points_of_an_older_database(url: str) -> None:
    db = open_database(url)
    alembic = _alembic(db)
    alembic("downgrade", "0005")
    insert = text(
        "INSERT INTO metrics (run_id, key, value, is_nan, timestamp, step) "
        "VALUES (:run, 'm', :value, :nan, 1, 0)"
    )
    with db.write() as conn:
        for value, nan in [(1.0, False), (1.0, False), (0.0, True), (0.0, True), (2.0, False)]:
            conn.execute(insert, {"run": "r" * 32, "value": value, "nan": nan})
    alembic("upgrade", "head")
    with db.read() as conn:
        rows = conn.execute(text("SELECT id, value, is_nan FROM metrics ORDER BY id")).all()
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    db.dispose()
    assert [(r.value, bool(r.is_nan)) for r in rows] == [(1.0, False), (0.0, True), (2.0, False)]
    assert [r.id for r in rows] == [1, 3, 5]  # the first of each stays
    assert diff == []


def test_0008_gives_versions_of_an_older_database_a_stage(url: str) -> None:
    db = open_database(url)
    alembic = _alembic(db)
    alembic("downgrade", "0006")
    with db.write() as conn:
        conn.execute(
            text(
                "INSERT INTO registered_models (model_id, name, description, creation_time, "
                "last_updated_time, next_version) VALUES ('m1', 'wine', '', 1, 1, 2)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO model_versions (model_id, version, source, storage_location, digest,"
                " flavor, metrics, sealed_by_registry, description, status, approval_status,"
                " created_by, creation_time, last_updated_time) VALUES ('m1', 1, 'runs:/r/m',"
                " 'registry/m1/1', 'sha256:0', 'sklearn', '{}', false, '', 'READY',"
                " 'PendingManualApproval', 'a', 1, 1)"
            )
        )
    alembic("upgrade", "head")
    with db.read() as conn:
        row = conn.execute(text("SELECT stage, logged_model_id FROM model_versions")).one()
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    db.dispose()
    assert (row.stage, row.logged_model_id) == ("None", None)
    assert diff == []


def test_0016_indexes_executions_by_machine_and_status(url: str) -> None:
    db = open_database(url)
    alembic = _alembic(db)
    alembic("downgrade", "0015")  # as a database of then: the index on status alone
    with db.read() as conn:
        before = {i["name"] for i in inspect(conn).get_indexes("pipeline_executions")}
    alembic("upgrade", "head")
    with db.read() as conn:
        after = {i["name"] for i in inspect(conn).get_indexes("pipeline_executions")}
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    db.dispose()
    assert "ix_pipeline_executions_status" in before
    assert "ix_pipeline_executions_status" not in after
    assert "ix_pipeline_executions_state_machine_arn_status_start_time" in after
    assert diff == []


def test_0017_gives_state_machines_of_an_older_database_no_tags(url: str) -> None:
    db = open_database(url)
    alembic = _alembic(db)
    alembic("downgrade", "0016")
    with db.write() as conn:
        conn.execute(
            text(
                "INSERT INTO pipeline_state_machines (arn, name, definition, role_arn, type, "
                "description, revision_id, created_by, created_time, updated_time) VALUES "
                "('arn:aws:states:us-east-1:0:stateMachine:old', 'old', '{}', '', 'STANDARD', "
                "'', 'r1', 'a', 1, 1)"
            )
        )
    alembic("upgrade", "head")
    with db.read() as conn:
        tags = conn.execute(text("SELECT tags FROM pipeline_state_machines")).scalar_one()
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    db.dispose()
    assert tags == "{}"
    assert diff == []


def test_0018_keeps_the_history_of_an_older_database_in_chunks(url: str) -> None:
    from dockyard.server.pipelines._repository import HISTORY_CHUNK, PipelineRepository

    db = open_database(url)
    alembic = _alembic(db)
    alembic("downgrade", "0017")  # a row per event, as 0012 made it
    insert = text(
        "INSERT INTO pipeline_history (execution_arn, event_id, previous_event_id, type, time,"
        " details) VALUES (:arn, :id, :previous, :type, :time, :details)"
    )
    long = HISTORY_CHUNK * 2 + 5  # three chunks
    rows = [
        {
            "arn": arn,
            "id": i,
            "previous": i - 1,
            "type": f"T{i}",
            "time": 1000 + i,
            "details": json.dumps({"k": {"i": i, "arn": arn}}),
        }
        for arn, n in (("arn:a", long), ("arn:b", 3))
        for i in range(1, n + 1)
    ]
    with db.write() as conn:
        conn.execute(insert, rows)
    alembic("upgrade", "head")
    repo = PipelineRepository()
    with db.read() as conn:
        a = repo.history(conn, "arn:a", 0, 1000, False)
        b = repo.history(conn, "arn:b", 0, 1000, True)
        chunks = conn.execute(text("SELECT count(*) FROM pipeline_history_chunks")).scalar()
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
        gone = inspect(conn).has_table("pipeline_history")
    assert [(e.event_id, e.previous_event_id, e.type, e.time) for e in a] == [
        (i, i - 1, f"T{i}", 1000 + i) for i in range(1, long + 1)
    ]
    assert a[-1].details == {"k": {"i": long, "arn": "arn:a"}}
    assert [e.event_id for e in b] == [3, 2, 1]
    assert chunks == 4 and not gone
    assert diff == []
    alembic("downgrade", "0017")  # and back: a row per event again
    with db.read() as conn:
        back = conn.execute(
            text("SELECT execution_arn, event_id, details FROM pipeline_history ORDER BY 1, 2")
        ).all()
    db.dispose()
    assert len(back) == long + 3
    assert json.loads(back[-1].details) == {"k": {"i": 3, "arn": "arn:b"}}


def test_0020_gives_topics_of_an_older_database_the_account_that_made_them(url: str) -> None:
    db = open_database(url)
    alembic = _alembic(db)
    alembic("downgrade", "0019")
    with db.write() as conn:
        conn.execute(
            text(
                "INSERT INTO users (user_id, name, role, disabled, created_time, updated_time) "
                "VALUES (7, 'alice', 'member', false, 1, 1)"
            )
        )
        for name, by in (("alerts", "alice"), ("local", "local"), ("gone", "bob")):
            conn.execute(
                text(
                    "INSERT INTO topics (name, description, created_by, created_time) "
                    "VALUES (:name, '', :by, 1)"
                ),
                {"name": name, "by": by},
            )
    alembic("upgrade", "head")
    with db.read() as conn:
        rows = conn.execute(text("SELECT name, owner_id FROM topics ORDER BY name")).all()
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    db.dispose()
    # An account that no longer exists, or none: admins alone publish there
    assert [(r.name, r.owner_id) for r in rows] == [("alerts", 7), ("gone", None), ("local", None)]
    assert diff == []


def test_0021_gives_jobs_of_an_older_database_the_account_that_submitted_them(url: str) -> None:
    db = open_database(url)
    alembic = _alembic(db)
    alembic("downgrade", "0020")
    with db.write() as conn:
        conn.execute(
            text(
                "INSERT INTO users (user_id, name, role, disabled, created_time, updated_time) "
                "VALUES (7, 'alice', 'member', false, 1, 1)"
            )
        )
        for name, by in (("mine", "alice"), ("local", "local:root"), ("gone", "bob")):
            conn.execute(
                text(
                    "INSERT INTO jobs (job_id, name, kind, spec, status, secondary_status, cpus, "
                    "created_time, created_by) VALUES (:name, :name, 'TRAINING', '{}', "
                    "'Completed', 'Completed', 1, 1, :by)"
                ),
                {"name": name, "by": by},
            )
    alembic("upgrade", "head")
    with db.read() as conn:
        rows = conn.execute(text("SELECT name, owner_id FROM jobs ORDER BY name")).all()
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    db.dispose()
    # A submitter that no longer exists, or none: no account controls the job as its owner
    assert [(r.name, r.owner_id) for r in rows] == [("gone", None), ("local", None), ("mine", 7)]
    assert diff == []


def test_0022_gives_runs_of_an_older_database_the_account_that_made_them(url: str) -> None:
    db = open_database(url)
    alembic = _alembic(db)
    alembic("downgrade", "0021")
    with db.write() as conn:
        conn.execute(
            text(
                "INSERT INTO users (user_id, name, role, disabled, created_time, updated_time) "
                "VALUES (7, 'alice', 'member', false, 1, 1)"
            )
        )
        for run, by in (("a" * 32, "alice"), ("b" * 32, "root"), ("c" * 32, "")):
            conn.execute(
                text(
                    "INSERT INTO runs (run_id, experiment_id, name, user_id, status, start_time, "
                    "artifact_uri) VALUES (:run, 0, 'r', :by, 'FINISHED', 1, 'x')"
                ),
                {"run": run, "by": by},
            )
        conn.execute(
            text(
                "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, "
                "status, creator, creation_time, last_updated_time) "
                "VALUES ('m-1', 0, 'm', 'x', 'READY', 'alice', 1, 1)"
            )
        )
    alembic("upgrade", "head")
    with db.read() as conn:
        runs = conn.execute(text("SELECT user_id, owner_id FROM runs ORDER BY run_id")).all()
        model = conn.execute(text("SELECT owner_id FROM logged_models")).scalar()
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    db.dispose()
    assert [(r.user_id, r.owner_id) for r in runs] == [("alice", 7), ("root", None), ("", None)]
    assert model == 7 and diff == []


def test_0023_keeps_accounts_areas_and_retires_those_of_deleted_accounts(url: str) -> None:
    from dockyard.server.auth._areas import area_of, claim_area

    db = open_database(url)
    alembic = _alembic(db)
    alembic("downgrade", "0022")
    with db.write() as conn:
        conn.execute(
            text(
                "INSERT INTO users (user_id, name, role, disabled, created_time, updated_time) "
                "VALUES (7, 'alice', 'member', false, 5, 5)"
            )
        )
        for at, kind, name in (
            (1, "created", "ann"),
            (2, "deleted", "ann"),
            (5, "created", "alice"),
        ):
            conn.execute(
                text(
                    "INSERT INTO events (time, type, resource_type, resource_id, scope, actor) "
                    "VALUES (:at, :type, 'user', :name, 'auth', 'root')"
                ),
                {"at": at, "type": f"user.{kind}", "name": name},
            )
    alembic("upgrade", "head")
    with db.write() as conn:
        rows = conn.execute(
            text("SELECT area, user_id, retired_time FROM personal_areas ORDER BY area")
        ).all()
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
        # alice keeps the area she has used; a new ann does not get the deleted one's
        assert area_of(conn, 7) == "alice"
        assert claim_area(conn, "ann", 8, 10) == "ann-2"
    db.dispose()
    assert [tuple(r) for r in rows] == [("alice", 7, None), ("ann", None, 2)]
    assert diff == []


def test_0024_keeps_subscriptions_of_an_older_database_confirmed(url: str) -> None:
    db = open_database(url)
    alembic = _alembic(db)
    alembic("downgrade", "0023")
    with db.write() as conn:
        conn.execute(
            text(
                "INSERT INTO subscriptions (subscription_id, name, events, protocol, endpoint, "
                "format, secret, filter, retry_horizon_s, after_event_id, created_by, "
                "created_time) VALUES ('s1', 'hook', 'job.*', 'webhook', 'https://h.example/', "
                "'json', 'secret-secret', '{}', 60, 0, 'root', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO deliveries (subscription_id, event_id, status, attempts, "
                "next_attempt_time, horizon_time, created_time, updated_time) "
                "VALUES ('s1', 1, 'pending', 0, 1, 2, 1, 1)"
            )
        )
    alembic("upgrade", "head")
    with db.read() as conn:
        sub = conn.execute(text("SELECT state, confirm_token FROM subscriptions")).one()
        kind = conn.execute(text("SELECT kind FROM deliveries")).scalar()
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    db.dispose()
    # They were delivering before: they keep delivering, and what they had queued is events
    assert (sub.state, sub.confirm_token, kind) == ("confirmed", None, "event")
    assert diff == []


def test_0025_shares_the_default_experiments_an_older_database_made_for_a_member(
    url: str,
) -> None:
    db = open_database(url)
    alembic = _alembic(db)
    alembic("downgrade", "0024")
    with db.write() as conn:
        for eid, name in ((5, "training-jobs"), (6, "tuning-jobs"), (7, "mine")):
            conn.execute(
                text(
                    "INSERT INTO experiments (experiment_id, name, artifact_location, "
                    "creation_time, last_update_time) VALUES (:id, :name, :id, 1, 1)"
                ),
                {"id": eid, "name": name},
            )
        for resource, principal, level in (
            ("5", "7", "manage"),  # its first submitter made it, and alone could add runs
            ("6", "7", "manage"),
            ("6", "*", "read"),
            ("7", "7", "manage"),
        ):
            conn.execute(
                text(
                    "INSERT INTO grants (kind, resource_id, principal, level) "
                    "VALUES ('experiment', :r, :p, :l)"
                ),
                {"r": resource, "p": principal, "l": level},
            )
    alembic("upgrade", "head")
    with db.read() as conn:
        grants = conn.execute(
            text(
                "SELECT resource_id, principal, level FROM grants WHERE kind = 'experiment' "
                "ORDER BY resource_id, principal"
            )
        ).all()
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    db.dispose()
    assert [tuple(g) for g in grants] == [
        ("0", "*", "edit"),
        ("5", "*", "edit"),
        ("5", "7", "manage"),
        ("6", "*", "edit"),
        ("6", "7", "manage"),
        ("7", "7", "manage"),
    ]
    assert diff == []

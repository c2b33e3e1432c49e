"""A job's run ends with the job, in the transaction that ends it: no reader ever sees a job
ended and its run still running."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.api.jobs import Job, TrainingJobSpec
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.settings import Settings

ACTOR = Actor.system()


def _training_job(services: Services) -> Job:
    code = services.settings.home / "artifacts" / "data" / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / "train.py").write_text("print('trained')\n")
    spec = TrainingJobSpec(name="ends", entry_point="train.py", source_dir=str(code))
    return services.jobs.submit(ACTOR, spec)


def _watch_commits(
    services: Services, monkeypatch: pytest.MonkeyPatch, job: Job
) -> list[tuple[str, str]]:
    """The job's and its run's statuses as any reader sees them after each commit from now."""
    seen: list[tuple[str, str]] = []
    write = services.db.write

    @contextlib.contextmanager
    def watched() -> Iterator[Any]:
        with write() as conn:
            yield conn
        run = services.tracking.get_run(ACTOR, job.run_id or "")
        seen.append((services.jobs.get(ACTOR, job.name).status.value, run.info.status.value))

    monkeypatch.setattr(services.db, "write", watched)
    return seen


def test_a_job_ends_its_run_in_the_transaction_that_ends_the_job(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _training_job(services)
    assert services.tracking.get_run(ACTOR, job.run_id or "").info.status.value == "RUNNING"
    seen = _watch_commits(services, monkeypatch, job)
    services.jobs.fail(job.job_id, "the machine was lost")
    assert seen == [("Failed", "FAILED")]


def test_a_stopped_transform_resumed_runs_its_run_again_in_the_same_transaction(
    services: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = settings.home / "artifacts" / "data"
    (data / "model").mkdir(parents=True, exist_ok=True)
    (data / "model" / "MLmodel").write_text("flavors: {}\n")  # never loaded: it stays queued
    (data / "in.csv").write_text("1,2\n")
    body = {
        "name": "resumed",
        "model_uri": str(data / "model"),
        "input": {"uri": str(data / "in.csv")},
    }
    output_root = str(settings.home / "artifacts" / "transform")
    job = services.jobs.submit_transform(ACTOR, body, output_root)
    seen = _watch_commits(services, monkeypatch, job)
    services.jobs.stop(ACTOR, "resumed")  # still queued: it ends at once
    services.jobs.resume(ACTOR, "resumed")
    assert seen == [("Stopped", "KILLED"), ("Pending", "RUNNING")]


@pytest.fixture
def pg_services(tmp_path: Path, postgres_url: str) -> Iterator[Services]:
    built = Services.from_settings(Settings(home=tmp_path / "h", database_url=postgres_url))
    yield built
    built.close()


def test_a_job_ending_while_its_run_is_written_elsewhere_waits_and_does_not_deadlock(
    pg_services: Services, postgres_url: str
) -> None:
    """A runner's report whose lines change the job's status, then end it, against another
    server's write to the run (its row locked, then the event log's lock, as the tracking
    service writes). The report locks the run before its first event: the other write takes
    the event log's lock at once and commits, and the report goes on. Taken the other way
    round (the event log's lock, then the run), each waited on the other."""
    import psycopg
    from tests.services.postgres import connect

    from dockyard.api.jobs import RunnerReport, SecondaryStatus
    from dockyard.api.jobs._entities import RunnerEvent
    from dockyard.server.events._log import _PG_LOCK

    services = pg_services
    job = _training_job(services)
    services.jobs.transition(job.job_id, SecondaryStatus.STARTING)
    report = RunnerReport(
        events=[
            RunnerEvent(at=0, time=1, secondary_status=SecondaryStatus.TRAINING),
            RunnerEvent(at=10, time=2, secondary_status=SecondaryStatus.COMPLETED),
        ],
        next_offset=20,
    )
    outcome: list[object] = []
    with connect(postgres_url) as other:
        other.execute("SET lock_timeout = '10s'")
        other.execute("UPDATE runs SET name = 'renamed' WHERE run_id = %s", (job.run_id,))

        def end() -> None:
            try:
                outcome.append(services.jobs.report(ACTOR, "ends", report))
            except BaseException as exc:
                outcome.append(exc)

        thread = threading.Thread(target=end)
        thread.start()
        waiting = (
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE NOT l.granted AND a.datname = current_database()"
        )
        with psycopg.connect(other.info.dsn, autocommit=True) as watcher:
            while thread.is_alive() and watcher.execute(waiting).fetchone() == (0,):
                thread.join(0.01)
        other.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK,))  # as an event append
        other.commit()
        thread.join(60)
    assert not thread.is_alive()
    assert not isinstance(outcome[0], BaseException), outcome[0]
    assert services.jobs.get(ACTOR, "ends").status.value == "Completed"
    run = services.tracking.get_run(ACTOR, job.run_id or "")
    assert (run.info.run_name, run.info.status.value) == ("renamed", "FINISHED")

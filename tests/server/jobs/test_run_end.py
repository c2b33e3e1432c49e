"""A job's run ends with the job, in the transaction that ends it: no reader ever sees a job
ended and its run still running."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.api.jobs import TrainingJobSpec
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.settings import Settings

ACTOR = Actor.system()


def test_a_job_ends_its_run_in_the_transaction_that_ends_the_job(
    services: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = settings.home / "artifacts" / "data" / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / "train.py").write_text("print('trained')\n")
    spec = TrainingJobSpec(name="ends", entry_point="train.py", source_dir=str(code))
    job = services.jobs.submit(ACTOR, spec)
    assert services.tracking.get_run(ACTOR, job.run_id or "").info.status.value == "RUNNING"
    seen: list[tuple[str, str]] = []  # (job, run) as any reader sees them after each commit
    write = services.db.write

    @contextlib.contextmanager
    def watched() -> Iterator[Any]:
        with write() as conn:
            yield conn
        run = services.tracking.get_run(ACTOR, job.run_id or "")
        seen.append((services.jobs.get(ACTOR, "ends").status.value, run.info.status.value))

    monkeypatch.setattr(services.db, "write", watched)
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
    seen: list[tuple[str, str]] = []  # (job, run) as any reader sees them after each commit
    write = services.db.write

    @contextlib.contextmanager
    def watched() -> Iterator[Any]:
        with write() as conn:
            yield conn
        run = services.tracking.get_run(ACTOR, job.run_id or "")
        seen.append((services.jobs.get(ACTOR, "resumed").status.value, run.info.status.value))

    monkeypatch.setattr(services.db, "write", watched)
    services.jobs.stop(ACTOR, "resumed")  # still queued: it ends at once
    services.jobs.resume(ACTOR, "resumed")
    assert seen == [("Stopped", "KILLED"), ("Pending", "RUNNING")]

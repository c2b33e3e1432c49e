"""A job's name is taken once: a submit that names a job that exists is refused before its run
is made, and one that loses a race to the same name leaves no run behind either."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dockyard.api.jobs import Job, TrainingJobSpec
from dockyard.api.tracking import Run, SearchRuns, ViewType
from dockyard.errors import AlreadyExists
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.settings import Settings

ACTOR = Actor.system()
AT_ONCE = 8


def _code(settings: Settings) -> Path:
    code = settings.home / "artifacts" / "data" / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / "train.py").write_text("print('trained')\n")
    return code


def _runs(services: Services, experiment_id: str, view: ViewType) -> list[Run]:
    request = SearchRuns(experiment_ids=[experiment_id], run_view_type=view)
    return services.tracking.search_runs(ACTOR, request).items


def test_a_submit_naming_an_existing_job_is_refused_and_makes_no_run(
    services: Services, settings: Settings
) -> None:
    spec = TrainingJobSpec(name="taken", entry_point="train.py", source_dir=str(_code(settings)))
    first = services.jobs.submit(ACTOR, spec)
    for _ in range(3):
        with pytest.raises(AlreadyExists, match="a job named 'taken' exists") as refused:
            services.jobs.submit(ACTOR, spec)
        assert refused.value.field == "name"
    runs = _runs(services, first.experiment_id, ViewType.ALL)
    assert [r.info.run_id for r in runs] == [first.run_id]


def test_submits_racing_for_one_name_leave_one_job_and_its_run(
    services: Services, settings: Settings
) -> None:
    code = _code(settings)
    together = threading.Barrier(AT_ONCE)

    def submit(_: int) -> Job | AlreadyExists:
        spec = TrainingJobSpec(name="raced", entry_point="train.py", source_dir=str(code))
        together.wait(timeout=30)
        try:
            return services.jobs.submit(ACTOR, spec)
        except AlreadyExists as exc:
            return exc

    with ThreadPoolExecutor(AT_ONCE) as pool:
        answers = list(pool.map(submit, range(AT_ONCE)))
    jobs = [a for a in answers if isinstance(a, Job)]
    assert len(jobs) == 1, answers
    assert all(
        isinstance(a, AlreadyExists) and a.field == "name" for a in answers if a is not jobs[0]
    )
    active = _runs(services, jobs[0].experiment_id, ViewType.ACTIVE_ONLY)
    assert [r.info.run_id for r in active] == [jobs[0].run_id]
    # A run made by a submit that lost after its check is ended and deleted, not left running.
    for run in _runs(services, jobs[0].experiment_id, ViewType.DELETED_ONLY):
        assert run.info.status.value == "FAILED"

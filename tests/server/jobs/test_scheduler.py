"""The scheduler: what wakes it wherever it leads, and jobs whose runner ended unreported."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.api.jobs import Capacity, Handle, JobStatus, Launch, RunnerStatus, TrainingJobSpec
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.jobs import JOB_ENDED, Executors, Scheduler
from dockyard.settings import Settings

SCRIPTS = Path(__file__).parent / "scripts"
ME = Actor.local("me")


class EndedRunners:
    """An executor whose runners end at once without reporting (killed before they could); it
    stands in for the server's default, which the jobs' rows name."""

    name = "local"

    def submit(self, launch: Launch) -> Handle:
        return {"job": launch["job"]}

    def status(self, handle: Handle) -> RunnerStatus:
        return {"running": False, "exit_code": -15, "detail": "signalled"}

    def logs(self, handle: Handle, limit: int = 4000) -> str:
        return "Terminated"

    def stop(self, handle: Handle) -> None:
        pass

    def capacity(self) -> Capacity:
        return {"cpus": 8.0}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", uri=None, data_roots=[str(SCRIPTS)])


def test_the_queue_changing_in_another_process_wakes_the_scheduler(services: Services) -> None:
    jobs = services.jobs
    scheduler = Scheduler(jobs, jobs.executors, services.settings, "http://127.0.0.1:1")
    try:
        # What the event log's peers hand this process when another one appends (notify):
        # a job queued or ending there changes what this scheduler may start.
        for type in ("job.submitted", "job.stop_requested", JOB_ENDED):
            jobs.wake.clear()
            services.events.notify(type)
            assert jobs.wake.is_set(), type
        jobs.wake.clear()
        services.events.notify("job.status_changed")  # a job's progress: no capacity freed
        services.events.notify("run.logged")
        assert not jobs.wake.is_set()
    finally:
        scheduler.stop()


def test_a_runner_ended_unreported_fails_its_job_unless_a_stop_ended_it(
    services: Services,
) -> None:
    jobs = services.jobs
    scheduler = Scheduler(jobs, Executors(EndedRunners()), services.settings, "http://127.0.0.1:1")
    try:
        spec = TrainingJobSpec(entry_point="identity.py", source_dir=str(SCRIPTS))
        stopped = jobs.submit(ME, spec.model_copy(update={"name": "stopped"}))
        crashed = jobs.submit(ME, spec.model_copy(update={"name": "crashed"}))
        scheduler.tick()  # both start
        assert jobs.get(ME, "stopped").status is JobStatus.IN_PROGRESS
        jobs.stop(ME, "stopped")  # the stop's signal ended the runner before it reported
        scheduler.tick()
        ended = jobs.get(ME, stopped.name)
        assert ended.status is JobStatus.STOPPED, ended.failure_reason
        assert services.tracking.get_run(ME, ended.run_id or "").info.status.value == "KILLED"
        failed = jobs.get(ME, crashed.name)
        assert failed.status is JobStatus.FAILED
        assert "exit code -15" in (failed.failure_reason or "")
        assert "Terminated" in (failed.failure_reason or "")
    finally:
        scheduler.stop()


def test_a_queued_job_stopped_ends_with_its_status_change_and_its_run(
    services: Services,
) -> None:
    heard: list[str] = []
    services.events.on_append(heard.append)
    spec = TrainingJobSpec(entry_point="identity.py", source_dir=str(SCRIPTS), name="queued")
    job = services.jobs.submit(ME, spec)
    services.jobs.stop(ME, "queued")
    assert services.jobs.get(ME, "queued").status is JobStatus.STOPPED
    changes = services.events.read(types=["job.status_changed"], resource_id="queued")
    assert changes[-1].body["status"] == "Stopped"
    assert JOB_ENDED in heard  # what waits on jobs ending hears of it
    assert services.tracking.get_run(ME, job.run_id or "").info.status.value == "KILLED"

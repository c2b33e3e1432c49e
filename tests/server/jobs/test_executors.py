"""Several executors at once: a spec names one (or gets the default), an unknown one is refused
at submit naming the field and the ones the server runs, and the choice is kept with the job,
through a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.api.jobs import Capacity, Handle, Launch, RunnerStatus, TrainingJobSpec
from dockyard.client.http import Client
from dockyard.errors import InvalidArgument, Unavailable
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.jobs import Scheduler
from dockyard.settings import Settings

SCRIPTS = Path(__file__).parent / "scripts"
ME = Actor.local("me")


class Unreachable:
    """An executor whose cluster cannot be reached: the server cannot be built with it."""

    name = "unreachable"

    def __init__(self, settings: Settings) -> None:
        raise Unavailable("the cluster at example:1 is unreachable", field="executors")


class Cluster:
    """A second executor: it records what it was asked to start, and its runners run on until
    told otherwise; it has 4 CPUs and one node with 2 GPUs."""

    name = "cluster"
    launched: list[Launch] = []  # one list per test: the fixture resets it

    def __init__(self, settings: Settings) -> None:
        self.running: set[str] = set()

    def submit(self, launch: Launch) -> Handle:
        Cluster.launched.append(launch)
        self.running.add(launch["job"])
        return {"job": launch["job"]}

    def status(self, handle: Handle) -> RunnerStatus:
        running = handle["job"] in self.running
        return {"running": running, "exit_code": None, "detail": ""}

    def logs(self, handle: Handle, limit: int = 4000) -> str:
        return ""

    def stop(self, handle: Handle) -> None:
        self.running.discard(handle["job"])

    def capacity(self) -> Capacity:
        return {"cpus": 4.0, "gpus": 2.0, "node_gpus": 2.0}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    Cluster.launched = []
    return Settings(
        home=tmp_path / "home",
        uri=None,
        data_roots=[str(SCRIPTS)],
        executor_cpus=2,
        gpus=[],
        executors=[f"{__name__}:Cluster"],
    )


@pytest.fixture
def scheduler(services: Services) -> Iterator[Scheduler]:
    made = Scheduler(services.jobs, services.jobs.executors, services.settings, "http://x:1")
    yield made
    made.stop()


def _spec(name: str, **extra: object) -> TrainingJobSpec:
    return TrainingJobSpec.model_validate(
        {"name": name, "entry_point": "identity.py", "source_dir": str(SCRIPTS), **extra}
    )


def test_an_executor_the_server_does_not_run_is_refused_naming_the_field(api: Client) -> None:
    body = {"entry_point": "identity.py", "source_dir": str(SCRIPTS), "executor": "ray"}
    answer = api._http.post("/api/v1/jobs/training", json=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["field"] == "executor"
    assert "'ray'" in error["message"] and "local, cluster" in error["message"]
    # Nothing was left behind: no job, and no run for it.
    assert api.request("GET", "/api/v1/jobs")["jobs"] == []
    transform = {
        "model_uri": str(SCRIPTS),
        "input": {"uri": str(SCRIPTS / "identity.py")},
        "executor": "nomad",
    }
    answer = api._http.post("/api/v1/jobs/transform", json=transform)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == "executor"


def test_a_bad_executor_name_is_refused_by_the_spec() -> None:
    with pytest.raises(ValueError, match="executor"):
        _spec("x", executor="Ray Cluster!")


def test_each_job_runs_on_the_executor_its_spec_names_and_keeps_it(
    services: Services, scheduler: Scheduler
) -> None:
    jobs = services.jobs
    jobs.submit(ME, _spec("on-default"))
    jobs.submit(ME, _spec("on-cluster", executor="cluster", resources={"cpus": 4}))
    assert jobs.get(ME, "on-default").executor == "local"
    assert jobs.get(ME, "on-cluster").executor == "cluster"
    scheduler.tick()
    assert [launch["job"] for launch in Cluster.launched] == ["on-cluster"]
    # The cluster's 4 CPUs are its own: a job asking for them is admitted there, not checked
    # against the default executor's 2.
    with pytest.raises(InvalidArgument) as caught:
        jobs.submit(ME, _spec("too-big", resources={"cpus": 4}))
    assert caught.value.field == "resources.cpus" and "'local' executor has 2" in str(caught.value)
    # A scheduler of a restarted server asks the cluster, not the default, about its runner.
    cluster = services.jobs.executors.get("cluster")
    assert cluster is not None
    again = Scheduler(services.jobs, services.jobs.executors, services.settings, "http://x:1")
    try:
        again.reconcile()
        assert jobs.get(ME, "on-cluster").status.value == "InProgress"
        cluster.stop({"job": "on-cluster"})  # type: ignore[attr-defined]
        again.tick()
        assert jobs.get(ME, "on-cluster").status.value == "Failed"
    finally:
        again.stop()


def test_a_job_of_an_executor_no_longer_run_fails_saying_which(
    services: Services, scheduler: Scheduler
) -> None:
    services.jobs.submit(ME, _spec("stranded", executor="cluster"))
    scheduler.tick()
    alone = Services.from_settings(services.settings.model_copy(update={"executors": []}))
    restarted = Scheduler(alone.jobs, alone.jobs.executors, alone.settings, "http://x:1")
    try:
        restarted.reconcile()
        job = alone.jobs.get(ME, "stranded")
        assert job.status.value == "Failed"
        assert "'cluster' executor" in (job.failure_reason or "")
        assert "it runs local" in (job.failure_reason or "")
    finally:
        restarted.stop()
        alone.close()


def test_gpus_are_checked_against_one_node_of_the_chosen_executor(
    services: Services, scheduler: Scheduler
) -> None:
    jobs = services.jobs
    with pytest.raises(InvalidArgument) as caught:
        jobs.submit(ME, _spec("no-gpu-here", resources={"gpus": 1}))
    assert caught.value.field == "resources.gpus"
    assert "'local' executor has 0" in str(caught.value)
    with pytest.raises(InvalidArgument) as caught:
        jobs.submit(ME, _spec("three", executor="cluster", resources={"gpus": 3}))
    assert "2 GPU(s) on its largest node" in str(caught.value)
    # Two jobs of 2 GPUs each: the second waits for the first's GPUs, not for CPUs.
    jobs.submit(ME, _spec("first", executor="cluster", resources={"gpus": 2}))
    jobs.submit(ME, _spec("second", executor="cluster", resources={"gpus": 2}))
    scheduler.tick()
    assert [(launch["job"], launch.get("gpus")) for launch in Cluster.launched] == [("first", 2)]
    assert jobs.get(ME, "second").secondary_status.value == "Pending"


def test_a_negative_or_fractional_gpu_count_is_refused(api: Client) -> None:
    for gpus in (-1, 0.5, 65):
        body = {
            "entry_point": "identity.py",
            "source_dir": str(SCRIPTS),
            "resources": {"gpus": gpus},
        }
        answer = api._http.post("/api/v1/jobs/training", json=body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["field"] == "resources.gpus", answer.json()


def test_a_tuning_jobs_executor_is_its_trials() -> None:
    from dockyard.api.tuning import TuningJobSpec

    definition = {"entry_point": "identity.py", "source_dir": str(SCRIPTS)}
    config = {
        "strategy": "Random",
        "objective": {"type": "Minimize", "metric_name": "loss"},
        "resource_limits": {"max_jobs": 1, "max_parallel_jobs": 1},
        "parameter_ranges": {"continuous": [{"name": "x", "min_value": 0, "max_value": 1}]},
    }
    spec = TuningJobSpec.model_validate(
        {"config": config, "training_job": definition, "executor": "ray"}
    )
    assert spec.training_job.executor == "ray"
    with pytest.raises(ValueError, match="name the trials' executor once"):
        TuningJobSpec.model_validate(
            {
                "config": config,
                "training_job": {**definition, "executor": "local"},
                "executor": "ray",
            }
        )

"""What wakes the tuning loop: what a pass acts on, not every change of a trial's job."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from tests.server.tuning.conftest import account, spec

from dockyard.api.jobs import SecondaryStatus
from dockyard.api.tracking import LogBatch, MetricIn
from dockyard.api.tuning import TuningJobSpec
from dockyard.server._services import Services
from dockyard.server.jobs import JOB_ENDED
from dockyard.server.tuning import TuningLoop


@pytest.fixture
def woken(services: Services) -> Iterator[tuple[TuningLoop, threading.Event]]:
    wake = threading.Event()
    loop = TuningLoop(
        services.tuning, services.db, services.settings.home, services.events, wake=wake
    )
    yield loop, wake
    loop.stop()


def _early_stopping(name: str) -> TuningJobSpec:
    made = spec(name).model_dump(mode="json")
    made["config"]["early_stopping"] = "Auto"
    return TuningJobSpec.model_validate(made)


@pytest.mark.parametrize("stops_early", [False, True])
def test_a_trial_job_ending_wakes_the_loop_and_its_other_changes_do_not(
    services: Services, woken: tuple[TuningLoop, threading.Event], stops_early: bool
) -> None:
    loop, wake = woken
    alice = account(services, "alice")
    services.tuning.create(alice, _early_stopping("t") if stops_early else spec("t"))
    assert wake.is_set()  # a new tuning job
    wake.clear()
    loop.tick()  # submits the first trial's job
    if not stops_early:  # its own appends do not wake it (the trial run's params would)
        assert not wake.is_set()
    wake.clear()
    [trial] = services.tuning.trials(alice, "t")
    job = services.jobs.get(alice, trial.job)
    services.jobs.transition(job.job_id, SecondaryStatus.STARTING)
    services.jobs.transition(job.job_id, SecondaryStatus.TRAINING)
    assert not wake.is_set()
    # A metric of the trial's run matters only to a strategy that stops trials early.
    assert job.run_id is not None
    loss = MetricIn(key="loss", value=0.5, timestamp=1, step=1)
    services.tracking.log_batch(alice, job.run_id, LogBatch(metrics=[loss]))
    assert wake.is_set() is stops_early
    wake.clear()
    services.jobs.transition(job.job_id, SecondaryStatus.COMPLETED)
    assert wake.is_set()


def test_a_job_ending_is_announced_once_after_its_final_status_commits(
    services: Services,
) -> None:
    heard: list[str] = []
    services.events.on_append(heard.append)
    alice = account(services, "alice")
    services.tuning.create(alice, spec("t"))
    from dockyard.server.tuning import TuningController

    with services.db.read() as conn:
        row = services.tuning.repo.require(conn, "t")
    TuningController(services.tuning).advance(row)
    [trial] = services.tuning.trials(alice, "t")
    job = services.jobs.get(alice, trial.job)
    services.jobs.transition(job.job_id, SecondaryStatus.STARTING)
    assert JOB_ENDED not in heard
    services.jobs.transition(job.job_id, SecondaryStatus.FAILED, "boom", failure_reason="boom")
    services.jobs.transition(job.job_id, SecondaryStatus.FAILED, "again")  # no change: no news
    assert heard.count(JOB_ENDED) == 1
    assert heard[-2:] == ["job.status_changed", JOB_ENDED]
    # Nothing of it is stored: the log has the status change only.
    assert not services.events.read(types=[JOB_ENDED], limit=10)

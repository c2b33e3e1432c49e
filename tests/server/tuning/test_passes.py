"""Passes of the tuning loop in process, with no scheduler (trials' jobs stay queued): a crash
at each point of starting a trial, and a stop."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from tests.server.tuning.conftest import SCRIPTS, account, spec

from dockyard.api.jobs import TrainingJobSpec
from dockyard.api.tuning import TrialStatus, TuningJobSpec, TuningJobStatus
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.store import schema
from dockyard.server.tuning import TuningController


def _row(services: Services, name: str) -> Any:
    with services.db.read() as conn:
        return services.tuning.repo.require(conn, name)


def _jobs(services: Services, actor: Actor) -> list[str]:
    return sorted(j.name for j in services.jobs.list(actor))


def test_a_crash_around_submitting_a_trial_neither_repeats_nor_loses_it(
    services: Services,
) -> None:
    alice = account(services, "alice")
    services.tuning.create(alice, spec())
    controller = TuningController(services.tuning)
    controller.advance(_row(services, "t"))
    [first] = services.tuning.trials(alice, "t")
    assert first.status is TrialStatus.IN_PROGRESS and _jobs(services, alice) == ["t-000"]
    # A crash after the job was submitted, before the trial said so: the next pass finds the
    # job under the trial's name instead of submitting another.
    with services.db.write() as conn:
        conn.execute(update(schema.tuning_trials).values(status=TrialStatus.PENDING.value))
    controller.advance(_row(services, "t"))
    [again] = services.tuning.trials(alice, "t")
    assert (
        again.status is TrialStatus.IN_PROGRESS and again.hyperparameters == first.hyperparameters
    )
    assert _jobs(services, alice) == ["t-000"]
    # A crash after the trial was recorded, before its job was submitted: submitted now.
    with services.db.write() as conn:
        services.tuning.repo.add_trial(
            conn,
            tuning_id=_row(services, "t").tuning_id,
            number=1,
            job="t-001",
            status=TrialStatus.PENDING.value,
            params='{"x": 0.5}',
            created_time=0,
        )
    controller.advance(_row(services, "t"))
    trials = services.tuning.trials(alice, "t")
    assert [(t.number, t.status) for t in trials] == [
        (0, TrialStatus.IN_PROGRESS),
        (1, TrialStatus.IN_PROGRESS),
    ]
    assert _jobs(services, alice) == ["t-000", "t-001"]
    job = services.jobs.get(alice, "t-001")
    assert job.spec["hyperparameters"]["x"] == "0.5"
    assert job.spec["tags"]["mlflow.parentRunId"] == _row(services, "t").run_id
    # max_jobs (2) reached: no third trial, however many passes.
    controller.advance(_row(services, "t"))
    assert len(services.tuning.trials(alice, "t")) == 2


def test_a_stop_stops_the_trials_then_the_tuning_job(services: Services) -> None:
    alice = account(services, "alice")
    services.tuning.create(alice, spec())
    controller = TuningController(services.tuning)
    controller.advance(_row(services, "t"))
    services.tuning.stop(alice, "t")
    controller.advance(_row(services, "t"))  # the queued job stops at once
    assert services.jobs.get(alice, "t-000").status.value == "Stopped"
    controller.advance(_row(services, "t"))  # the trial ends; then the tuning job
    controller.advance(_row(services, "t"))
    job = services.tuning.get(alice, "t")
    assert job.status is TuningJobStatus.STOPPED and job.completion_reason == "stopped on request"
    assert [t.status for t in services.tuning.trials(alice, "t")] == [TrialStatus.STOPPED]
    run = services.tracking.get_run_info(alice, job.run_id or "")
    assert run.status == "KILLED"


def test_hyperband_gives_every_trial_the_whole_resource(services: Services) -> None:
    alice = account(services, "alice")
    body = spec().model_dump(mode="json")
    body["config"].update(
        strategy="Hyperband",
        hyperband={"min_resource": 1, "max_resource": 9, "resource_parameter": "epochs"},
    )
    services.tuning.create(alice, TuningJobSpec.model_validate(body))
    TuningController(services.tuning).advance(_row(services, "t"))
    job = services.jobs.get(alice, "t-000")
    assert job.spec["hyperparameters"]["epochs"] == "9"
    assert set(job.spec["hyperparameters"]) == {"epochs", "x"}


def test_warm_start_seeds_the_strategy_with_the_parents_trials(services: Services) -> None:
    alice = account(services, "alice")
    services.tuning.create(alice, spec("parent"))
    parent = _row(services, "parent")
    with services.db.write() as conn:  # 20 finished trials saying x near 0.3 is best
        for i in range(20):
            x = i / 19
            services.tuning.repo.add_trial(
                conn,
                tuning_id=parent.tuning_id,
                number=i,
                job=f"parent-{i:03d}",
                status=TrialStatus.COMPLETED.value,
                params=f'{{"x": {x}}}',
                value=(x - 0.3) ** 2,
                created_time=0,
            )
    body = spec("child").model_dump(mode="json")
    body["config"].update(strategy="Bayesian", random_seed=1)
    body["warm_start"] = {"parents": ["parent"], "type": "TransferLearning"}
    services.tuning.create(alice, TuningJobSpec.model_validate(body))
    TuningController(services.tuning).advance(_row(services, "child"))
    [first] = services.tuning.trials(alice, "child")
    # Uniform proposals would sit 0.29 away on average; the parents point TPE at 0.3.
    assert abs(float(first.hyperparameters["x"]) - 0.3) < 0.1


def test_a_job_of_a_trials_name_that_it_did_not_submit_is_never_adopted(
    services: Services,
) -> None:
    alice = account(services, "alice")
    stranger = TrainingJobSpec.model_validate(
        {"name": "t-000", "entry_point": "trial.py", "source_dir": str(SCRIPTS)}
    )
    services.jobs.submit(alice, stranger)
    services.tuning.create(alice, spec())
    TuningController(services.tuning).advance(_row(services, "t"))
    [trial] = services.tuning.trials(alice, "t")
    assert trial.status is TrialStatus.FAILED
    assert trial.reason == "a job named t-000 exists that is not this trial's"

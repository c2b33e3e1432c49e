"""The schedules' rules: what a spec names is checked against the world, each refusal naming
its field; a suggested baseline runs first; ground truth is stored by hour."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from tests.server.monitoring.conftest import (
    HOUR,
    ROOT,
    T0,
    baseline_folder,
    deploy,
    driver,
    events,
    finish,
    spec,
)

from dockyard.api.endpoints import EndpointConfig
from dockyard.api.monitoring import ExecutionStatus, ScheduleStatus, UpdateMonitoringSchedule
from dockyard.api.tracking import CreateExperiment, CreateRun
from dockyard.artifacts import open_artifact_store
from dockyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound, PermissionDenied
from dockyard.server._services import Services
from dockyard.server.actor import Role
from dockyard.server.auth import CreateUser, UpdateUser
from dockyard.settings import Settings


def test_what_a_spec_names_must_exist(services: Services, model: Path, tmp_path: Path) -> None:
    folder = baseline_folder(tmp_path)
    with pytest.raises(InvalidArgument) as caught:
        services.monitoring.create(ROOT, spec(folder))
    assert caught.value.field == "target.endpoint" and "churn" in caught.value.message
    deploy(services, model, name="quiet", enabled=False)
    with pytest.raises(InvalidArgument, match="does not capture") as caught:
        services.monitoring.create(ROOT, spec(folder, target={"endpoint": "quiet"}))
    assert caught.value.field == "target.endpoint"
    deploy(services, model)
    with pytest.raises(InvalidArgument, match="no variant 'blue'") as caught:
        services.monitoring.create(
            ROOT, spec(folder, target={"endpoint": "churn", "variant": "blue"})
        )
    assert caught.value.field == "target.variant"
    (folder / "constraints.json").unlink()
    with pytest.raises(InvalidArgument, match=r"lacks constraints\.json") as caught:
        services.monitoring.create(ROOT, spec(folder))
    assert caught.value.field == "baseline.uri"
    with pytest.raises(PermissionDenied) as denied:
        services.monitoring.create(ROOT, spec("/etc"))
    assert denied.value.field == "baseline.uri"
    with pytest.raises(InvalidArgument) as caught:
        services.monitoring.create(ROOT, spec(baseline_folder(tmp_path), schedule="0 25 * * *"))
    assert caught.value.field == "schedule"
    with pytest.raises(InvalidArgument, match="drift_metric must be one of") as caught:
        services.monitoring.create(ROOT, spec(folder, check={"drift_metric": "vibes"}))
    assert caught.value.field == "check.drift_metric"
    with pytest.raises(InvalidArgument) as caught:
        services.monitoring.create(ROOT, spec(folder, check={"thresholds": {"psi": -1}}))
    assert caught.value.field == "check.thresholds.psi"
    with pytest.raises(InvalidArgument) as caught:
        services.monitoring.create(
            ROOT,
            spec(folder, baseline={"suggest_from": {"training_job": "nope"}}),
        )
    assert caught.value.field == "baseline.suggest_from.training_job"
    with pytest.raises(InvalidArgument) as caught:
        services.monitoring.create(
            ROOT, spec(folder, target={"transform_job": "nope"}, baseline={"uri": str(folder)})
        )
    assert caught.value.field == "target.transform_job"


def test_names_are_unique_and_unknown_ones_are_404(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)))
    with pytest.raises(AlreadyExists):
        services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)))
    with pytest.raises(NotFound) as caught:
        services.monitoring.get(ROOT, "nope")
    assert caught.value.field == "name"
    with pytest.raises(NotFound) as caught:
        services.monitoring.execution(ROOT, "churn-drift", "nope")
    assert caught.value.field == "execution_id"
    services.monitoring.delete(ROOT, "churn-drift")
    with pytest.raises(NotFound):
        services.monitoring.get(ROOT, "churn-drift")
    types = [e.type for e in events(services)]
    assert types == ["monitoring.schedule.created", "monitoring.schedule.deleted"]


def test_a_suggested_baseline_is_computed_before_the_first_check(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    data = tmp_path / "train.csv"
    data.write_text("a,b,c\n1,2,3\n")
    made = services.monitoring.create(
        ROOT,
        spec("unused", baseline={"suggest_from": {"dataset_uri": str(data)}}),
        now=T0,
    )
    assert made.status is ScheduleStatus.PENDING and made.baseline_uri is None
    passes = driver(services)
    hour = T0 - T0 % HOUR
    passes.advance(hour + 2 * HOUR)  # hours pass while the baseline is suggested: none claimed
    (baseline,) = services.monitoring.executions(ROOT, "churn-drift").items
    assert baseline.kind == "baseline"
    job = services.jobs.get(ROOT, baseline.job or "")
    assert job.spec["mode"] == "baseline"
    assert job.spec["data"] == {
        "uris": [str(data)],
        "format": "csv",
        "columns": None,
        "header": None,
        "capture_side": "input",
    }
    with pytest.raises(Conflict):
        from dockyard.api.monitoring import RunMonitoringSchedule

        services.monitoring.run(ROOT, "churn-drift", RunMonitoringSchedule())
    store = open_artifact_store(job.spec["output"]["uri"])
    store.put_bytes("statistics.json", b"{}")
    store.put_bytes("constraints.json", b"{}")
    finish(services, job.name, {"mode": "baseline", "rows": 1, "message": "ok"})
    passes.advance(hour + 2 * HOUR + 1)
    ready = services.monitoring.get(ROOT, "churn-drift")
    assert ready.status is ScheduleStatus.SCHEDULED
    assert ready.baseline_uri == job.spec["output"]["uri"]
    assert [e.type for e in events(services, "monitoring.baseline.*")] == [
        "monitoring.baseline.completed"
    ]
    # The hours that ended meanwhile are checked now, against it.
    passes.advance(hour + 2 * HOUR + 60_000)
    checks = [
        e for e in services.monitoring.executions(ROOT, "churn-drift").items if e.kind != "baseline"
    ]
    assert sorted(e.window_start for e in checks) == [hour, hour + HOUR]


def test_a_baseline_that_fails_fails_the_schedule(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    data = tmp_path / "train.csv"
    data.write_text("a\n1\n")
    services.monitoring.create(
        ROOT, spec("x", baseline={"suggest_from": {"dataset_uri": str(data)}}), now=T0
    )
    passes = driver(services)
    passes.advance(T0)
    (baseline,) = services.monitoring.executions(ROOT, "churn-drift").items
    finish(services, baseline.job or "", None)
    passes.advance(T0 + 1)
    failed = services.monitoring.get(ROOT, "churn-drift")
    assert failed.status is ScheduleStatus.FAILED
    assert failed.failure_reason == (
        "the baseline could not be suggested from baseline.suggest_from.dataset_uri: "
        "the check broke"
    )
    # A new baseline folder puts it back on schedule.
    fixed = services.monitoring.update(
        ROOT,
        "churn-drift",
        UpdateMonitoringSchedule.model_validate(
            {"baseline": {"uri": str(baseline_folder(tmp_path))}}
        ),
    )
    assert fixed.status is ScheduleStatus.SCHEDULED and fixed.failure_reason is None


def test_ground_truth_is_stored_by_the_hour_it_arrives_and_read_by_later_checks(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    services.monitoring.create(
        ROOT,
        spec(baseline_folder(tmp_path), model_quality={"problem_type": "binary"}),
        now=T0,
    )
    uploaded = services.monitoring.upload_ground_truth(
        ROOT, "churn-drift", b'[{"inference_id": "r1", "label": 1}]', now=T0 + HOUR
    )
    assert uploaded.records == 1
    lines = b'{"inference_id": "r2", "label": 0}\n\n{"inference_id": "r3", "label": [1, 0]}\n'
    services.monitoring.upload_ground_truth(ROOT, "churn-drift", lines, now=T0 + HOUR)
    hour = T0 - T0 % HOUR
    folder = services.settings.home / "artifacts" / "monitoring" / "churn-drift"
    stored = sorted(folder.glob("*/ground-truth/**/*.jsonl"))
    assert len(stored) == 2 and all("2026/12/05/11" in str(p) for p in stored)
    labels = [orjson.loads(line) for p in stored for line in p.read_bytes().splitlines()]
    assert sorted(r["inference_id"] for r in labels) == ["r1", "r2", "r3"]
    driver(services).advance(hour + HOUR + 60_000)
    (execution,) = services.monitoring.executions(ROOT, "churn-drift").items
    job = services.jobs.get(ROOT, execution.job or "")
    truth = job.spec["ground_truth_uris"]
    assert [u.rsplit("ground-truth/", 1)[1] for u in truth] == ["2026/12/05/10", "2026/12/05/11"]
    assert job.spec["model_quality"]["problem_type"] == "binary"


def test_a_schedule_made_with_a_deleted_ones_name_starts_without_its_ground_truth(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    quality = spec(baseline_folder(tmp_path), model_quality={"problem_type": "binary"})
    services.monitoring.create(ROOT, quality, now=T0)
    old = services.monitoring.upload_ground_truth(
        ROOT, "churn-drift", b'[{"inference_id": "r1", "label": 1}]', now=T0 + HOUR
    )
    services.monitoring.delete(ROOT, "churn-drift")
    services.monitoring.create(ROOT, quality, now=T0)
    driver(services).advance(T0 - T0 % HOUR + HOUR + 60_000)
    (execution,) = services.monitoring.executions(ROOT, "churn-drift").items
    truth = services.jobs.get(ROOT, execution.job or "").spec["ground_truth_uris"]
    assert len(truth) == 2  # the window's hour and the next, when the old labels came
    assert not any(old.uri.startswith(uri.rstrip("/") + "/") for uri in truth), truth
    read = [
        item
        for uri in truth
        if Path(uri.removeprefix("file://")).exists()
        for item in open_artifact_store(uri).list("")
    ]
    assert read == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "no ground truth"),
        (b"[1, 2", "not a JSON list"),
        (b'{"inference_id": "a", "label": 1}\nnot json\n', "line 2: not JSON"),
        (b'[{"inference_id": "a"}]', "item 0: label: field required"),
        (b'[{"inference_id": "a", "label": null}]', "item 0: label: a label is required"),
        (b'[{"inference_id": "", "label": 1}]', "item 0: inference_id"),
        (b'[{"inference_id": "a", "label": 1, "extra": 2}]', "item 0: extra"),
    ],
)
def test_bad_ground_truth_is_refused_naming_the_record(
    services: Services, model: Path, tmp_path: Path, body: bytes, message: str
) -> None:
    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)))
    with pytest.raises(InvalidArgument, match=message) as caught:
        services.monitoring.upload_ground_truth(ROOT, "churn-drift", body)
    assert caught.value.field == "body"
    assert not (services.settings.home / "artifacts" / "monitoring").exists()


def test_executions_page_latest_window_first(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    hour = T0 - T0 % HOUR
    driver(services).advance(hour + 4 * HOUR + 60_000)
    first = services.monitoring.executions(ROOT, "churn-drift", max_results=3)
    assert [e.window_start for e in first.items] == [hour + 3 * HOUR, hour + 2 * HOUR, hour + HOUR]
    rest = services.monitoring.executions(
        ROOT, "churn-drift", max_results=3, page_token=first.next_page_token
    )
    assert [e.window_start for e in rest.items] == [hour] and rest.next_page_token is None
    assert all(e.status is ExecutionStatus.IN_PROGRESS for e in first.items)
    with pytest.raises(InvalidArgument) as caught:
        services.monitoring.executions(ROOT, "churn-drift", max_results=0)
    assert caught.value.field == "max_results"


def test_a_baseline_is_suggested_from_a_runs_logged_input(
    services: Services, model: Path, tmp_path: Path
) -> None:
    from dockyard.api.tracking import CreateExperiment, CreateRun, LogInputs

    deploy(services, model)
    data = tmp_path / "train.csv"
    data.write_text("a,b,c\n1,2,3\n")
    experiment = services.tracking.create_experiment(ROOT, CreateExperiment(name="churn"))
    run = services.tracking.create_run(ROOT, CreateRun(experiment_id=experiment.experiment_id))
    logged = {
        "dataset": {
            "name": "training",
            "digest": "d1",
            "source_type": "local",
            "source": orjson.dumps({"uri": str(data)}).decode(),  # MLflow's source, as JSON
        },
        "tags": {"mlflow.data.context": "training"},
    }
    services.tracking.log_inputs(
        ROOT, run.info.run_id, LogInputs.model_validate({"datasets": [logged]})
    )
    with pytest.raises(InvalidArgument, match="has no logged input named 'test'") as caught:
        services.monitoring.create(
            ROOT,
            spec("x", baseline={"suggest_from": {"run_id": run.info.run_id, "dataset": "test"}}),
        )
    assert caught.value.field == "baseline.suggest_from.run_id"
    source = {"run_id": run.info.run_id, "dataset": "training"}
    services.monitoring.create(ROOT, spec("x", baseline={"suggest_from": source}), now=T0)
    driver(services).advance(T0)
    (baseline,) = services.monitoring.executions(ROOT, "churn-drift").items
    job = services.jobs.get(ROOT, baseline.job or "")
    assert job.spec["data"]["uris"] == [str(data)]


def test_a_schedules_jobs_run_on_the_executor_it_names(model: Path, tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path / "home",
        data_roots=[str(tmp_path), str(model.parent)],
        executors=["tests.server.jobs.test_executors:Cluster"],
    )
    services = Services.from_settings(settings)
    try:
        deploy(services, model)
        folder = baseline_folder(tmp_path)
        with pytest.raises(InvalidArgument) as caught:
            services.monitoring.create(ROOT, spec(folder, executor="nomad"))
        assert caught.value.field == "executor" and "local, cluster" in caught.value.message
        services.monitoring.create(ROOT, spec(folder, executor="cluster"), now=T0)
        hour = T0 - T0 % HOUR
        driver(services).advance(hour + 2 * HOUR)
        checks = services.monitoring.executions(ROOT, "churn-drift").items
        assert checks, "no window was checked"
        assert {services.jobs.get(ROOT, e.job or "").executor for e in checks} == {"cluster"}
        with pytest.raises(InvalidArgument) as caught:
            services.monitoring.update(
                ROOT, "churn-drift", UpdateMonitoringSchedule(executor="nomad")
            )
        assert caught.value.field == "executor"
        services.monitoring.update(ROOT, "churn-drift", UpdateMonitoringSchedule(executor=None))
        driver(services).advance(hour + 3 * HOUR)
        latest = services.monitoring.executions(ROOT, "churn-drift").items[0]
        assert services.jobs.get(ROOT, latest.job or "").executor == "local"
    finally:
        services.close()


def test_a_baseline_whose_files_do_not_parse_is_refused_at_create_and_update(
    services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    good = baseline_folder(tmp_path)
    bad = tmp_path / "badbase"
    bad.mkdir()
    (bad / "statistics.json").write_text('{"version": 0.0, "features": []}')
    (bad / "constraints.json").write_text('{"features": [')
    with pytest.raises(InvalidArgument) as caught:
        services.monitoring.create(ROOT, spec(bad))
    assert caught.value.field == "baseline.uri"
    assert caught.value.message.startswith(f"{bad}/constraints.json: not JSON (line 1, column")
    with pytest.raises(NotFound):
        services.monitoring.get(ROOT, "churn-drift")
    services.monitoring.create(ROOT, spec(good))
    (bad / "constraints.json").write_text('{"features": [{"name": 3}]}')
    with pytest.raises(InvalidArgument) as caught:
        services.monitoring.update(
            ROOT, "churn-drift", UpdateMonitoringSchedule(baseline={"uri": str(bad)})
        )
    assert caught.value.field == "baseline.uri"
    assert caught.value.message == (f"{bad}/constraints.json: features.0.name must be a string")
    assert services.monitoring.get(ROOT, "churn-drift").spec.baseline.uri == str(good)


def test_every_ground_truth_problem_is_listed_at_its_line(
    services: Services, model: Path, tmp_path: Path
) -> None:
    from dockyard.server.monitoring._ground_truth import MAX_LISTED

    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)))
    body = b'{"inference_id": "a", "label": 1}\n{"inference_id": "b"}\nnot json\n'
    body += b'{"inference_id": 5, "label": "x", "id": 1}\n'
    with pytest.raises(InvalidArgument) as caught:
        services.monitoring.upload_ground_truth(ROOT, "churn-drift", body)
    problems = [(p["at"], p["message"]) for p in caught.value.details["problems"]]
    assert problems == [
        ("line 2", "label: field required"),
        ("line 3", problems[1][1]),
        ("line 4", "inference_id: Input should be a valid string"),
        ("line 4", "id: unknown field"),
    ]
    assert problems[1][1].startswith("not JSON")
    assert caught.value.message.startswith("4 problems in the ground truth: line 2: label")
    many = b"".join(b'{"inference_id": "x"}\n' for _ in range(MAX_LISTED + 5))
    with pytest.raises(InvalidArgument) as caught:
        services.monitoring.upload_ground_truth(ROOT, "churn-drift", many)
    assert len(caught.value.details["problems"]) == MAX_LISTED
    assert caught.value.message.endswith("; 5 more not listed")


@pytest.mark.parametrize("where", ["uri", "dataset"])
def test_a_baseline_in_a_store_area_its_owner_may_not_read_is_refused(
    tmp_path: Path, model: Path, where: str
) -> None:
    """The baseline's files, or the data one is suggested from, are read for the schedule's
    owner: another experiment's run artifacts are refused as a job's channel would be."""
    services = Services.from_settings(
        Settings(home=tmp_path / "home", data_roots=[str(model.parent)], default_permission="none")
    )
    services.auth.create_user(ROOT, CreateUser(name="admin", role=Role.ADMIN))
    for name in ("carol", "bob"):
        services.auth.create_user(ROOT, CreateUser(name=name, password=f"{name}-password-1"))
    carol = services.auth.by_password("carol", "carol-password-1", "test")
    bob = services.auth.by_password("bob", "bob-password-1", "test")
    config = {
        "name": "churn",
        "variants": [{"name": "main", "model_uri": str(model)}],
        "capture": {"enabled": True, "sampling_pct": 100},
    }
    services.endpoints.create(bob, EndpointConfig.model_validate(config))
    experiment = services.tracking.create_experiment(carol, CreateExperiment(name="private"))
    run = services.tracking.create_run(carol, CreateRun(experiment_id=experiment.experiment_id))
    artifacts = tmp_path / "home" / "artifacts" / run.info.artifact_uri
    artifacts.mkdir(parents=True)
    folder = baseline_folder(artifacts)
    (folder / "people.csv").write_text("ssn\n123-45-6789\n")
    baseline = (
        {"uri": str(folder)}
        if where == "uri"
        else {"suggest_from": {"dataset_uri": str(folder / "people.csv")}}
    )
    with pytest.raises(PermissionDenied) as refused:
        services.monitoring.create(bob, spec("unused", baseline=baseline), now=T0)
    assert (refused.value.field or "").startswith("baseline.")
    services.close()


def test_executions_write_their_reports_under_the_schedules_reports_uri(
    services: Services, model: Path, tmp_path: Path
) -> None:
    """``reports_uri`` moves a schedule's reports out of the store (for tools that read them
    from where they asked, as the SageMaker SDK does from S3); it is a location a job writes
    to, so it must be one a spec may write to."""
    from dockyard.api.monitoring import RunMonitoringSchedule

    deploy(services, model)
    with pytest.raises(PermissionDenied) as denied:
        services.monitoring.create(ROOT, spec(baseline_folder(tmp_path), reports_uri="/etc/x"))
    assert denied.value.field == "reports_uri"
    reports = tmp_path / "reports"
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path), reports_uri=str(reports)))
    services.monitoring.run(ROOT, "churn-drift", RunMonitoringSchedule(start=T0, end=T0 + HOUR))
    (made,) = services.monitoring.executions(ROOT, "churn-drift").items
    assert made.output_uri == f"{reports}/churn-drift/{made.execution_id}"
    with pytest.raises(PermissionDenied) as denied:
        services.monitoring.update(
            ROOT, "churn-drift", UpdateMonitoringSchedule(reports_uri="/etc/x")
        )
    assert denied.value.field == "reports_uri"
    elsewhere = tmp_path / "elsewhere"
    services.monitoring.update(
        ROOT, "churn-drift", UpdateMonitoringSchedule(reports_uri=str(elsewhere))
    )
    services.monitoring.run(
        ROOT, "churn-drift", RunMonitoringSchedule(start=T0 + HOUR, end=T0 + 2 * HOUR)
    )
    later = [e for e in services.monitoring.executions(ROOT, "churn-drift").items if e != made]
    assert [e.output_uri for e in later] == [f"{elsewhere}/churn-drift/{later[0].execution_id}"]


def test_a_creator_demoted_or_a_new_account_with_its_name_controls_the_schedule_no_more(
    services: Services, model: Path, tmp_path: Path
) -> None:
    """The creator controls a schedule as its account (by id), while its role lets it write."""
    deploy(services, model)
    services.auth.create_user(ROOT, CreateUser(name="root", role=Role.ADMIN))
    services.auth.create_user(ROOT, CreateUser(name="alice", password="alice-password-1"))
    alice = services.auth.by_password("alice", "alice-password-1", "test")
    services.monitoring.create(alice, spec(baseline_folder(tmp_path)), now=T0)
    services.monitoring.update(alice, "churn-drift", UpdateMonitoringSchedule(enabled=False))
    services.auth.update_user(ROOT, "alice", UpdateUser(role=Role.VIEWER))
    demoted = services.auth.by_password("alice", "alice-password-1", "test")
    with pytest.raises(PermissionDenied):
        services.monitoring.update(demoted, "churn-drift", UpdateMonitoringSchedule(enabled=True))
    services.auth.delete_user(ROOT, "alice")
    services.auth.create_user(ROOT, CreateUser(name="alice", password="alice-password-2"))
    other = services.auth.by_password("alice", "alice-password-2", "test")
    for attempt in (
        lambda: services.monitoring.update(
            other, "churn-drift", UpdateMonitoringSchedule(enabled=True)
        ),
        lambda: services.monitoring.delete(other, "churn-drift"),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert services.monitoring.get(ROOT, "churn-drift").status is ScheduleStatus.STOPPED

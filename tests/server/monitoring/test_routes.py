"""``/api/v1/monitoring-schedules`` over HTTP (in-process): the shapes the SDK, CLI and web UI
read, errors as 400/404/409 naming the field, one pagination style."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.server.monitoring.conftest import (
    HOUR,
    ROOT,
    T0,
    baseline_folder,
    deploy,
    driver,
    finish,
    spec,
)

from dockyard.client.http import Client, routes
from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.server._services import Services


def _body(tmp_path: Path, **extra: object) -> dict[str, object]:
    return {
        "name": "churn-drift",
        "target": {"endpoint": "churn"},
        "baseline": {"uri": str(baseline_folder(tmp_path))},
        **extra,
    }


def test_the_schedule_resource_over_http(
    api: Client, services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    with pytest.raises(InvalidArgument) as caught:
        api.call(routes.CREATE_MONITORING_SCHEDULE(), _body(tmp_path, schedule="sometimes"))
    assert caught.value.field == "schedule"
    created = api.call(routes.CREATE_MONITORING_SCHEDULE(), _body(tmp_path))
    assert created["status"] == "Scheduled" and created["spec"]["schedule"] == "hourly"
    assert set(created) >= {"name", "baseline_uri", "run_id", "next_window_start", "last_execution"}
    listed = api.call(routes.LIST_MONITORING_SCHEDULES(), params={"max_results": 1})
    assert [s["name"] for s in listed["monitoring_schedules"]] == ["churn-drift"]
    assert listed["next_page_token"] is None
    changed = api.call(
        routes.UPDATE_MONITORING_SCHEDULE(name="churn-drift"),
        {"check": {"drift_metric": "psi", "thresholds": {"psi": 0.3}}},
    )
    assert changed["spec"]["check"] == {"drift_metric": "psi", "thresholds": {"psi": 0.3}}
    assert changed["spec"]["schedule"] == "hourly"  # what the update left out stays
    with pytest.raises(NotFound) as missing:
        api.call(routes.GET_MONITORING_SCHEDULE(name="nope"))
    assert missing.value.field == "name"
    api.call(routes.DELETE_MONITORING_SCHEDULE(name="churn-drift"))
    with pytest.raises(NotFound):
        api.call(routes.GET_MONITORING_SCHEDULE(name="churn-drift"))


def test_executions_violations_and_reports_over_http(
    api: Client, services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    services.monitoring.create(ROOT, spec(baseline_folder(tmp_path)), now=T0)
    passes = driver(services)
    now = T0 - T0 % HOUR + HOUR + 60_000
    passes.advance(now)
    page = api.call(routes.LIST_MONITORING_EXECUTIONS(name="churn-drift"))
    (execution,) = page["executions"]
    assert execution["status"] == "InProgress" and page["next_page_token"] is None
    with pytest.raises(NotFound) as no_report:
        api.send(
            "GET",
            routes.GET_MONITORING_REPORT(
                name="churn-drift", execution_id=execution["execution_id"]
            ).path,
        )
    assert no_report.value.field == "execution_id"
    violation = {
        "feature_name": "b",
        "constraint_check_type": "completeness_check",
        "description": "x",
    }
    finish(
        services,
        execution["job"],
        {"rows": 3, "violation_count": 1, "violations": [violation], "report": "report.html"},
    )
    passes.advance(now + 1)
    described = api.call(
        routes.GET_MONITORING_EXECUTION(name="churn-drift", execution_id=execution["execution_id"])
    )
    assert described["status"] == "CompletedWithViolations"
    assert described["violations"] == [violation]
    listed = api.call(routes.LIST_MONITORING_VIOLATIONS(name="churn-drift"))["violations"]
    assert listed == [
        {
            **violation,
            "execution_id": execution["execution_id"],
            "window_start": execution["window_start"],
            "window_end": execution["window_end"],
        }
    ]
    report = api.send("GET", described["report_url"])
    assert report.content.startswith(b"<html>")
    assert report.headers["content-type"].startswith("text/html")
    assert report.headers["content-security-policy"].startswith("sandbox")
    # Run now: 202 and a pending execution of the window asked for.
    started = api.call(
        routes.RUN_MONITORING_SCHEDULE(name="churn-drift"), {"start": T0 - HOUR, "end": T0}
    )
    assert (started["status"], started["trigger"]) == ("Pending", "manual")
    with pytest.raises(InvalidArgument) as bad_window:
        api.call(routes.RUN_MONITORING_SCHEDULE(name="churn-drift"), {"start": T0, "end": T0})
    assert bad_window.value.field == "end"
    assert bad_window.value.message == "end: must be after start"


def test_ground_truth_over_http(
    api: Client, services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    api.call(routes.CREATE_MONITORING_SCHEDULE(), _body(tmp_path))
    route = routes.UPLOAD_GROUND_TRUTH(name="churn-drift")
    answer = api.request(route.method, route.path, content=b'{"inference_id": "r1", "label": 1}\n')
    assert answer["records"] == 1 and "/monitoring/churn-drift/" in answer["uri"]
    assert "/ground-truth/" in answer["uri"]
    with pytest.raises(InvalidArgument) as caught:
        api.request(route.method, route.path, content=b'[{"label": 1}]')
    assert caught.value.field == "body" and "inference_id" in caught.value.message
    with pytest.raises(NotFound):
        missing = routes.UPLOAD_GROUND_TRUTH(name="nope")
        api.request(missing.method, missing.path, content=b'[{"inference_id": "a", "label": 1}]')


def test_run_now_before_a_baseline_is_a_conflict(
    api: Client, services: Services, model: Path, tmp_path: Path
) -> None:
    deploy(services, model)
    data = tmp_path / "train.csv"
    data.write_text("a\n1\n")
    api.call(
        routes.CREATE_MONITORING_SCHEDULE(),
        _body(tmp_path) | {"baseline": {"suggest_from": {"dataset_uri": str(data)}}},
    )
    with pytest.raises(Conflict):
        api.call(routes.RUN_MONITORING_SCHEDULE(name="churn-drift"), {})

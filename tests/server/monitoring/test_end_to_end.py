"""Monitoring end to end, with real parts: a server (in a thread, so the test holds the
monitoring loop's clock), its scheduler running monitoring jobs through real runners, an
endpoint that captures real traffic, the core computing the checks. The hour is closed by
moving the loop's clock, never by waiting for it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import uvicorn
from tests.server.monitoring.conftest import FEATURES, HOUR, ROOT, deploy, events, spec
from tests.server.notifications._receiver import until
from tests.services.server_process import free_port

from dockyard.api.monitoring import ExecutionStatus, ScheduleStatus
from dockyard.artifacts import artifact_uri
from dockyard.server import create_app
from dockyard.server._services import Services
from dockyard.server.endpoints import Supervisor, load_launcher
from dockyard.server.jobs import Scheduler
from dockyard.server.monitoring import MonitoringDriver
from dockyard.settings import Settings

pytest.importorskip("dockyard.monitor")
pytestmark = pytest.mark.slow

GRACE_MS = 60_000


@pytest.fixture
def server(tmp_path: Path, model: Path) -> Iterator[Services]:
    """Services served over HTTP on a free port, with the job scheduler and the endpoint
    supervisor running; the monitoring loop's passes are the test's."""
    port = free_port()
    settings = Settings(
        home=tmp_path / "home",
        port=port,
        data_roots=[str(tmp_path), str(model.parent)],
        executor_cpus=2,
        job_stop_grace_s=5,
    )
    services = Services.from_settings(settings)
    web = uvicorn.Server(
        uvicorn.Config(
            create_app(services=services), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    until(lambda: web.started, 20, "the server starting")
    scheduler = Scheduler(services.jobs, services.jobs.executors, settings, settings.server_url)
    supervisor = Supervisor(
        services.endpoints,
        services.db,
        settings,
        resolve=services.local_model,
        capture_root=artifact_uri(services.artifacts, "capture"),
        launcher=load_launcher(settings),
    )
    scheduler.start()
    supervisor.start()
    try:
        yield services
    finally:
        for schedule in services.monitoring.page(ROOT, max_results=100).items:
            services.monitoring.delete(ROOT, schedule.name)  # an endpoint watched stays
        for name in [e.name for e in services.endpoints.list(ROOT)]:
            services.endpoints.delete(ROOT, name)
        until(lambda: not services.endpoints.list(ROOT), 60, "endpoints deleted")
        supervisor.stop()
        scheduler.stop()
        web.should_exit = True
        thread.join(20)
        services.close()


def _ended_job(services: Services, name: str) -> Any:
    job = services.jobs.wait_for_job(ROOT, name, 180)
    assert job.status.is_terminal, job
    return job


def _rows(rng: np.random.Generator, n: int, shift: float) -> list[list[float]]:
    data = rng.normal(size=(n, 3))
    data[:, 0] += shift
    return [[float(v) for v in row] for row in data]


def test_drifted_traffic_is_a_violation_and_labels_give_model_quality(
    server: Services, model: Path, tmp_path: Path
) -> None:
    services = server
    rng = np.random.default_rng(7)
    training = tmp_path / "train.csv"
    pd.DataFrame(_rows(rng, 2000, 0.0), columns=FEATURES).to_csv(training, index=False)
    deploy(services, model)
    until(
        lambda: services.endpoints.get(ROOT, "churn").status.value == "InService",
        120,
        "the endpoint in service",
    )
    url = services.endpoints.get(ROOT, "churn").url
    created_at = time.time_ns() // 1_000_000
    services.monitoring.create(
        ROOT,
        spec(
            "unused",
            baseline={"suggest_from": {"dataset_uri": str(training)}},
            data={"columns": FEATURES},
            model_quality={"problem_type": "binary", "thresholds": {"accuracy": {"min": 0.9}}},
        ),
        now=created_at,
    )
    passes = MonitoringDriver(services.monitoring, grace_s=GRACE_MS / 1000)
    # The baseline job runs first, through a real runner, on the training data.
    passes.advance(created_at)
    (baseline,) = services.monitoring.executions(ROOT, "churn-drift").items
    assert _ended_job(services, baseline.job or "").status.value == "Completed"
    passes.advance(created_at)
    ready = services.monitoring.get(ROOT, "churn-drift")
    assert ready.status is ScheduleStatus.SCHEDULED, ready.failure_reason

    # Drifted traffic (feature a moved by 4 standard deviations), each request with its id.
    with httpx.Client(base_url=url, timeout=30) as http:
        for i, row in enumerate(_rows(rng, 200, 4.0)):
            answer = http.post(
                "/invocations",
                json={"dataframe_split": {"columns": FEATURES, "data": [row]}},
                headers={"X-Request-Id": f"req-{i}"},
            )
            assert answer.status_code == 200, answer.text
    captured = services.settings.home / "artifacts" / "capture" / "churn"

    def all_captured() -> bool:
        lines = sum(len(p.read_bytes().splitlines()) for p in captured.rglob("*.jsonl"))
        return lines == 200

    until(all_captured, 30, "200 captured records")
    # Ground truth arrives: every label 0, so the (drifted, mostly positive) answers are wrong.
    labels = "".join(f'{{"inference_id": "req-{i}", "label": 0}}\n' for i in range(200))
    services.monitoring.upload_ground_truth(ROOT, "churn-drift", labels.encode())

    # The hour closes: the loop's clock moves past it (and the capture's grace).
    closed = (time.time_ns() // 1_000_000) // HOUR * HOUR + HOUR + GRACE_MS
    passes.advance(closed)
    checks = [
        e for e in services.monitoring.executions(ROOT, "churn-drift").items if e.kind != "baseline"
    ]
    assert checks and all(e.status is ExecutionStatus.IN_PROGRESS for e in checks)
    for execution in checks:
        job = _ended_job(services, execution.job or "")
        assert job.status.value == "Completed", job.failure_reason
    passes.advance(closed + 1)
    done = [services.monitoring.execution(ROOT, "churn-drift", e.execution_id) for e in checks]
    assert sum(e.rows or 0 for e in done) == 200
    drifted = {d["feature"] for e in done for d in e.drifted_features}
    assert "a" in drifted and not {"b", "c"} & drifted
    kinds = {v["constraint_check_type"] for e in done for v in e.violations or []}
    assert "baseline_drift_check" in kinds
    assert "LessThanThreshold" in kinds  # accuracy under 0.9
    (with_labels,) = [e for e in done if e.labelled_rows]
    assert with_labels.status is ExecutionStatus.COMPLETED_WITH_VIOLATIONS
    assert with_labels.metrics["accuracy"] < 0.5
    assert with_labels.report_url is not None
    html = services.monitoring.report(ROOT, "churn-drift", with_labels.execution_id)
    assert b"<svg" in html
    violations = events(services, "monitoring.violation")
    assert {v.body["execution_id"] for v in violations} == {
        e.execution_id for e in done if e.violation_count
    }
    run_id = services.monitoring.get(ROOT, "churn-drift").run_id or ""
    history = services.tracking.metric_history(
        ROOT, run_id, "model_quality/accuracy", max_results=10, page_token=None
    )
    assert [p.value for p in history.items] == [with_labels.metrics["accuracy"]]

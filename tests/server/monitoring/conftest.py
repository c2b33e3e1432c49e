"""In-process services with an endpoint that captures its traffic (no workers: captured files
are written into the store as a worker writes them), a clock tests move, and the monitoring
loop's passes run by hand."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from dockyard.api.endpoints import EndpointConfig
from dockyard.api.jobs import SecondaryStatus
from dockyard.api.monitoring import SUMMARY_FILE, MonitoringScheduleSpec
from dockyard.artifacts import open_artifact_store
from dockyard.models import save_model
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.monitoring import MonitoringDriver
from dockyard.settings import Settings

ROOT = Actor.local("root")
HOUR = 3_600_000
#: 2026-12-05 10:20 UTC: a schedule created then checks the 10:00 hour first.
T0 = 1_796_466_000_000
FEATURES = ["a", "b", "c"]


class Clock:
    """Milliseconds that move only when a test moves them."""

    def __init__(self, start_ms: int) -> None:
        self.now = start_ms

    def __call__(self) -> int:
        return self.now


def classifier(folder: Path) -> Path:
    """Save a binary classifier over three numbers under ``folder``; returns its package."""
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(200, 3)), columns=FEATURES)
    y = (x["a"] + x["b"] > 0).astype(int)
    save_model(LogisticRegression().fit(x, y), folder / "model", input_example=x.head(3))
    return folder / "model"


@pytest.fixture(scope="session")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return classifier(tmp_path_factory.mktemp("monitoring-model"))


def make_services(home: Path, *roots: Path) -> Services:
    return Services.from_settings(
        Settings(home=home, data_roots=[str(r) for r in roots], webhook_allow_private=True)
    )


@pytest.fixture
def services(tmp_path: Path, model: Path) -> Iterator[Services]:
    made = make_services(tmp_path / "home", tmp_path, model.parent)
    yield made
    made.close()


def deploy(services: Services, model: Path, name: str = "churn", **capture: Any) -> None:
    """Record an endpoint that captures its traffic (the supervisor would start it)."""
    config = {
        "name": name,
        "variants": [{"name": "main", "model_uri": str(model)}],
        "capture": {"enabled": True, "sampling_pct": 100, **capture},
    }
    services.endpoints.create(ROOT, EndpointConfig.model_validate(config))


def baseline_folder(root: Path) -> Path:
    """A folder with the two files a baseline holds (their content is the core's business)."""
    folder = root / "baseline"
    folder.mkdir(exist_ok=True)
    (folder / "statistics.json").write_text('{"version": 0.0, "features": []}')
    (folder / "constraints.json").write_text('{"version": 0.0, "features": []}')
    return folder


def spec(folder: Path | str, **fields: Any) -> MonitoringScheduleSpec:
    """A schedule over the endpoint ``churn`` with the baseline in ``folder``."""
    body: dict[str, Any] = {
        "name": "churn-drift",
        "target": {"endpoint": "churn"},
        "baseline": {"uri": str(folder)},
    }
    return MonitoringScheduleSpec.model_validate(body | fields)


def capture(
    services: Services, hour_ms: int, records: list[dict[str, Any]], variant: str = "main"
) -> None:
    """Write captured records as a serving worker does: one file per flush, per hour."""
    hour = time.strftime("%Y/%m/%d/%H", time.gmtime(hour_ms / 1000))
    key = f"capture/churn/{variant}/{hour}/{hour.replace('/', '')}0000-w1-000001.jsonl"
    services.artifacts.put_bytes(key, b"".join(orjson.dumps(r) + b"\n" for r in records))


def exchange(request_id: str, row: list[float], score: float) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "time": "2026-12-05T10:30:00.000000Z",
        "endpoint": "churn",
        "variant": "main",
        "kind": "production",
        "status": 200,
        "input": {
            "content_type": "application/json",
            "encoding": "json",
            "data": {"dataframe_split": {"columns": FEATURES, "data": [row]}},
        },
        "output": {
            "content_type": "application/json",
            "encoding": "json",
            "data": {"predictions": [score]},
        },
    }


def driver(services: Services) -> MonitoringDriver:
    return MonitoringDriver(services.monitoring, grace_s=60)


def finish(services: Services, job_name: str, summary: dict[str, Any] | None) -> None:
    """End a monitoring job as its runner would: its summary in its outputs, then Completed
    (or Failed, without a summary)."""
    job = services.jobs.find(job_name)
    assert job is not None
    if summary is None:
        services.jobs.transition(
            job.job_id, SecondaryStatus.FAILED, "boom", failure_reason="the check broke"
        )
        return
    store = open_artifact_store(job.spec["output"]["uri"])
    store.put_bytes(SUMMARY_FILE, orjson.dumps(summary))
    if summary.get("report"):
        store.put_bytes("report.html", b"<html><body>report</body></html>")
    services.jobs.transition(job.job_id, SecondaryStatus.COMPLETED, "done")


def events(services: Services, *types: str) -> list[Any]:
    """Monitoring events in the log, oldest first (of these types, when given)."""
    return services.events.read(
        types=list(types) or ["monitoring.*"], resource_type="monitoring_schedule", limit=1000
    )

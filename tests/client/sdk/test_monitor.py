"""``dy.Monitor`` on the embedded default: a local baseline folder is uploaded, the schedule's
resources come back typed, ground truth goes up by inference id."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.server.monitoring.conftest import baseline_folder, classifier

import dockyard as dy
from dockyard.client.http import routes
from dockyard.client.sdk import reset_context
from dockyard.client.sdk._context import context
from dockyard.settings import Settings


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return classifier(tmp_path_factory.mktemp("model"))


@pytest.fixture(autouse=True)
def embedded(tmp_path: Path, model: Path) -> Iterator[Path]:
    settings = Settings(home=tmp_path / "home", uri=None, data_roots=[str(model.parent)])
    reset_context(settings)
    context().client.call(
        routes.CREATE_ENDPOINT(),
        {
            "name": "churn",
            "variants": [{"name": "main", "model_uri": str(model)}],
            "capture": {"enabled": True},
        },
    )
    yield tmp_path
    reset_context(settings)


def test_a_schedule_from_python(embedded: Path) -> None:
    monitor = dy.Monitor(endpoint="churn")
    with pytest.raises(dy.InvalidArgument, match="needs a baseline") as caught:
        monitor.create_schedule("churn-drift")
    assert caught.value.field == "baseline"
    made = monitor.create_schedule(
        "churn-drift",
        baseline_uri=baseline_folder(embedded),  # local: uploaded to the store first
        check={"drift_metric": "psi"},
        model_quality={"problem_type": "binary", "thresholds": {"accuracy": {"min": 0.8}}},
    )
    assert made.status.value == "Scheduled" and monitor.schedule == "churn-drift"
    assert "/artifacts/data/monitoring/baselines/" in (made.baseline_uri or "")
    assert monitor.describe().spec.check.drift_metric == "psi"
    assert monitor.executions() == [] and monitor.violations() == []
    with pytest.raises(dy.NotFound, match="no report yet"):
        monitor.latest_report()
    uploaded = monitor.upload_ground_truth({"req-1": 1, "req-2": 0})
    assert uploaded.records == 2
    listed = monitor.upload_ground_truth([{"inference_id": "req-3", "label": [1, 0]}])
    assert listed.records == 1
    started = monitor.run()
    assert started.trigger == "manual" and started.window_end - started.window_start == 3_600_000
    # No loop runs in this process: waiting ends at its timeout, saying what is awaited.
    awaited = rf"{started.execution_id}' has not ended after 0\.2 s"
    with pytest.raises(dy.Unavailable, match=awaited):
        monitor.wait(started.execution_id, timeout=0.2)
    (train := embedded / "train.csv").write_text("a,b,c\n1,2,3\n")
    monitor.suggest_baseline(train)  # a new baseline for the existing schedule, suggested now
    assert monitor.describe().status.value == "Pending"
    with pytest.raises(dy.Unavailable, match=r"still has no baseline after 0\.2 s"):
        monitor.wait_for_baseline(timeout=0.2)
    stopped = monitor.update(enabled=False)
    assert stopped.spec.enabled is False
    monitor.delete()
    with pytest.raises(dy.NotFound):
        monitor.describe()
    with pytest.raises(dy.InvalidArgument, match="has no schedule yet"):
        dy.Monitor(endpoint="churn").executions()


def test_a_local_folder_that_is_no_baseline_is_named_and_not_uploaded(embedded: Path) -> None:
    folder = embedded / "not-a-baseline"
    folder.mkdir()
    (folder / "statistics.json").write_text('{"version": 0.0, "features": []}')
    (folder / "notes.txt").write_text("the constraints are elsewhere")
    monitor = dy.Monitor(endpoint="churn")
    with pytest.raises(dy.InvalidArgument) as caught:
        monitor.create_schedule("churn-drift", baseline_uri=folder)
    assert caught.value.message == (
        f"{folder} lacks constraints.json (a baseline folder holds statistics.json and "
        "constraints.json)"
    )
    assert caught.value.field == "baseline_uri"
    listed = context().client.call(routes.LIST_DATA(), params={"prefix": "monitoring/"})
    assert listed["files"] == []

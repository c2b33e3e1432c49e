"""MLflow's examples, run unchanged against Dockyard and against MLflow's own server.

Each script under ``examples/`` makes the same MLflow calls as one of MLflow's examples (bundled
data instead of downloads). It runs as a subprocess with ``MLFLOW_TRACKING_URI`` pointing at a
server, once at a live Dockyard server and once at ``mlflow server``; what each server then holds
(params, metric histories, tags, artifacts, logged models, child runs, registered versions) must
be the same, apart from ids and times.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient
from tests.services.live_server import LiveServer
from tests.services.mlflow_server import mlflow_server  # noqa: F401  (the reference server)

pytestmark = [
    pytest.mark.slow,
    # mlflow's own deprecation warnings, raised inside mlflow while reading back.
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

EXAMPLES = Path(__file__).parent / "examples"
# Tags whose values differ between any two runs (who, where, when, which ids).
_VOLATILE_TAG = re.compile(r"^mlflow\.(user|source\.|log-model\.history|runName|parentRunId)")
# Metrics that measure time (a grid search's fit and score times) differ from run to run.
_TIMING = re.compile(r"_time$")


def _run_script(script: str, url: str, tmp_path: Path, *args: str) -> str:
    """Run an example against ``url`` in a fresh experiment; returns that experiment's name."""
    experiment = f"{script}-{uuid.uuid4().hex[:8]}"
    # Only this test's MLflow settings: an earlier test in this process may have left others
    # (mlflow.set_experiment exports MLFLOW_EXPERIMENT_ID).
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env = {
        **inherited,
        "MLFLOW_TRACKING_URI": url,
        "MLFLOW_EXPERIMENT_NAME": experiment,
        # Fail at once rather than retrying for minutes, so a failure shows its cause.
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    }
    workdir = tmp_path / url.rsplit(":", 1)[1]
    workdir.mkdir()
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{script}.py"), *args],
        check=False,
        env=env,
        cwd=workdir,  # out of the repository: mlflow would read this project's uv.lock
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, f"{script} against {url} failed:\n{done.stdout}\n{done.stderr}"
    return experiment


def _rounded(value: float) -> float | str:
    return "nan" if math.isnan(value) else round(value, 6)


def _artifacts(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    found = []
    for item in client.list_artifacts(run_id, path):
        found += _artifacts(client, run_id, item.path) if item.is_dir else [item.path]
    return sorted(found)


def _logged_model(client: MlflowClient, model_id: str) -> dict[str, Any]:
    model = client.get_logged_model(model_id)
    files = sorted(f.path for f in client.list_logged_model_artifacts(model_id))
    return {
        "name": model.name,
        "status": str(model.status),
        "params": model.params,
        "files": files,
        "metrics": sorted(
            (m.key, _rounded(m.value), m.step)
            for m in model.metrics or []
            if not _TIMING.search(m.key)
        ),
    }


def _run(client: MlflowClient, run_id: str) -> dict[str, Any]:
    run = client.get_run(run_id)
    history = {
        key: [(m.step, _rounded(m.value)) for m in client.get_metric_history(run_id, key)]
        for key in run.data.metrics
        if not _TIMING.search(key)
    }
    outputs = run.outputs.model_outputs if run.outputs else []
    return {
        "status": run.info.status,
        "params": run.data.params,
        "metrics": history,
        "tags": sorted(k for k in run.data.tags if not _VOLATILE_TAG.match(k)),
        "artifacts": _artifacts(client, run_id),
        "models": sorted(
            ((o.step, _logged_model(client, o.model_id)) for o in outputs),
            key=lambda m: (m[0], m[1]["name"]),
        ),
    }


def _summary(url: str, experiment_name: str) -> dict[str, Any]:
    """What a server holds for one experiment, without ids and times."""
    client = MlflowClient(url)
    experiment = client.get_experiment_by_name(experiment_name)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return {
        "runs": [_run(client, r.info.run_id) for r in parents],
        "children": sorted(
            (_run(client, r.info.run_id) for r in children),
            key=lambda c: sorted(c["params"].items()),
        ),
    }


def _versions(url: str, name: str) -> list[tuple[str, str, bool]]:
    client = MlflowClient(url)
    return [
        (v.version, v.status, v.source.startswith("models:/m-"))
        for v in client.search_model_versions(f"name = '{name}'")
    ]


@pytest.fixture
def servers(live_server: LiveServer, mlflow_server: str) -> dict[str, str]:  # noqa: F811
    return {"dockyard": live_server.url, "mlflow": mlflow_server}


def _compare(script: str, servers: dict[str, str], tmp_path: Path, *args: str) -> dict[str, Any]:
    summaries = {}
    for name, url in servers.items():
        experiment = _run_script(script, url, tmp_path, *args)
        summaries[name] = _summary(url, experiment)
    assert summaries["dockyard"] == summaries["mlflow"]
    return summaries["dockyard"]


def test_sklearn_elasticnet_logs_and_registers_its_model(
    servers: dict[str, str], tmp_path: Path
) -> None:
    name = f"ElasticnetWineModel-{uuid.uuid4().hex[:8]}"
    held = _compare("elasticnet_wine", servers, tmp_path, name)
    (run,) = held["runs"]
    assert run["params"] == {"alpha": "0.5", "l1_ratio": "0.5"}
    assert set(run["metrics"]) == {"rmse", "r2", "mae"}
    ((_, model),) = run["models"]
    assert (model["name"], model["status"]) == ("model", "READY")
    assert "MLmodel" in model["files"]
    versions = {url_name: _versions(url, name) for url_name, url in servers.items()}
    assert versions["dockyard"] == versions["mlflow"] == [("1", "READY", True)]


def test_xgboost_native_autolog_keeps_model_history_and_importance(
    servers: dict[str, str], tmp_path: Path
) -> None:
    held = _compare("xgboost_native", servers, tmp_path)
    (run,) = held["runs"]
    assert [step for step, _ in run["metrics"]["train-mlogloss"]] == list(range(10))
    assert {"log_loss", "accuracy"} <= set(run["metrics"])
    assert "feature_importance_weight.json" in run["artifacts"]
    ((_, model),) = run["models"]
    assert model["name"] == "model" and "MLmodel" in model["files"]


def test_lightgbm_native_autolog_keeps_model_history_and_importance(
    servers: dict[str, str], tmp_path: Path
) -> None:
    held = _compare("lightgbm_native", servers, tmp_path)
    (run,) = held["runs"]
    assert [step for step, _ in run["metrics"]["train-multi_logloss"]] == list(range(10))
    assert "feature_importance_split.json" in run["artifacts"]
    ((_, model),) = run["models"]
    assert model["name"] == "model" and "MLmodel" in model["files"]


def test_sklearn_grid_search_autolog_logs_a_parent_and_its_child_runs(
    servers: dict[str, str], tmp_path: Path
) -> None:
    held = _compare("grid_search_cv", servers, tmp_path)
    (parent,) = held["runs"]
    assert {"best_C", "best_kernel", "param_grid"} <= set(parent["params"])
    assert len(held["children"]) == 4
    assert sorted((c["params"]["kernel"], c["params"]["C"]) for c in held["children"]) == [
        ("linear", "1"),
        ("linear", "10"),
        ("rbf", "1"),
        ("rbf", "10"),
    ]
    assert all("mean_test_score" in c["metrics"] for c in held["children"])

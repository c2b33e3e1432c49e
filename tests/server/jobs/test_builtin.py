"""Built-in algorithms through the job queue: SageMaker's XGBoost semantics end to end."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from tests.server.jobs.conftest import wait_for

import dockyard as dy
from dockyard.client.http import Client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def channels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Headerless CSVs with the label in the first column, as SageMaker's XGBoost reads."""
    folder = tmp_path_factory.mktemp("xgb")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(600, 4))
    y = 3 * x[:, 0] - 2 * x[:, 1] + rng.normal(size=600) * 0.1
    for name, rows in (("train", slice(0, 450)), ("validation", slice(450, 600))):
        (folder / name).mkdir()
        np.savetxt(
            folder / name / f"{name}.csv",
            np.column_stack([y[rows], x[rows]]),
            delimiter=",",
            fmt="%.6f",
        )
    return {"train": str(folder / "train"), "validation": str(folder / "validation")}


HPS = {
    "max_depth": 5,
    "eta": 0.2,
    "gamma": 4,
    "min_child_weight": 6,
    "subsample": 0.8,
    "objective": "reg:squarederror",
    "early_stopping_rounds": 10,
    "num_round": 60,
}


def test_builtin_xgboost_trains_logs_metrics_and_packages(
    client: Client, channels: dict[str, str]
) -> None:
    spec = {
        "name": "xgb-builtin",
        "algorithm": "xgboost",
        "hyperparameters": HPS,
        "inputs": {k: {"uri": v, "content_type": "text/csv"} for k, v in channels.items()},
        "output": {"register_as": "xgb-registered"},
    }
    client.request("POST", "/api/v1/jobs/training", json=spec)
    job = wait_for(client, "xgb-builtin", timeout=120)
    assert job["status"] == "Completed", job["failure_reason"]
    log = client._http.get("/api/v1/jobs/xgb-builtin/logs").text
    assert "#011train-rmse:" in log and "#011validation-rmse:" in log
    history = client.request("GET", f"/api/v1/runs/{job['run_id']}/metrics/validation:rmse")[
        "metrics"
    ]
    assert [m["step"] for m in history[:3]] == [0, 1, 2]
    assert history[-1]["value"] < 1.0  # the target's noise is 0.1; a mean predictor is ~3.6
    run = client.request("GET", f"/api/v1/runs/{job['run_id']}")
    assert run["params"]["algorithm"] == "xgboost" and run["params"]["eta"] == "0.2"
    files = client.request(
        "GET", f"/api/v1/runs/{job['run_id']}/artifacts", params={"path": "model"}
    )["files"]
    assert "model/MLmodel" in {f["path"] for f in files}
    assert job["events"][-1]["message"] == "registered as models:/xgb-registered/1"
    version = client.request("GET", "/api/v1/registered-models/xgb-registered/versions/1")
    assert version["run_id"] == job["run_id"]
    # Its lineage names the data it was trained on: each channel, its URI and a digest
    lineage = client.request("GET", "/api/v1/registered-models/xgb-registered/versions/1/lineage")
    assert lineage["run"]["run_id"] == job["run_id"]
    datasets = {d["name"]: d for d in lineage["datasets"]}
    assert sorted(datasets) == ["train", "validation"]
    for name, uri in channels.items():
        assert json.loads(datasets[name]["source"]) == {"uri": uri}
        assert datasets[name]["source_type"] == "local" and datasets[name]["context"] == name
        assert re.fullmatch(r"[0-9a-f]{16}", datasets[name]["digest"])
    assert datasets["train"]["digest"] != datasets["validation"]["digest"]
    assert job["registered_version"] == "models:/xgb-registered/1"
    # A second job registering under the same name adds version 2 to the existing model.
    client.request("POST", "/api/v1/jobs/training", json={**spec, "name": "xgb-builtin-2"})
    second = wait_for(client, "xgb-builtin-2", timeout=120)
    assert second["events"][-1]["message"] == "registered as models:/xgb-registered/2"
    again = client.request("GET", "/api/v1/registered-models/xgb-registered/versions/2/lineage")
    # The same data, the same digests: two versions trained on it say so
    assert {d["name"]: d["digest"] for d in again["datasets"]} == {
        name: d["digest"] for name, d in datasets.items()
    }


@pytest.mark.parametrize(
    ("hps", "field"),
    [
        ({**HPS, "eta": 2}, "hyperparameters.eta"),
        ({k: v for k, v in HPS.items() if k != "num_round"}, "hyperparameters.num_round"),
        ({**HPS, "nonsense": 1}, "hyperparameters.nonsense"),
    ],
    ids=["eta-range", "num-round-missing", "unknown"],
)
def test_bad_hyperparameters_refused_at_submit(
    client: Client, channels: dict[str, str], hps: dict[str, object], field: str
) -> None:
    spec = {"algorithm": "xgboost", "hyperparameters": hps, "inputs": channels}
    with pytest.raises(dy.InvalidArgument) as caught:
        client.request("POST", "/api/v1/jobs/training", json=spec)
    assert caught.value.field == field, caught.value.message


def test_builtin_needs_its_train_channel(client: Client, channels: dict[str, str]) -> None:
    spec = {
        "algorithm": "xgboost",
        "hyperparameters": HPS,
        "inputs": {"validation": channels["validation"]},
    }
    with pytest.raises(dy.InvalidArgument) as caught:
        client.request("POST", "/api/v1/jobs/training", json=spec)
    assert caught.value.field == "inputs.train"

"""SageMaker training scripts run unchanged: /opt/ml, the toolkits they import, the model files
SageMaker's containers accept. Real jobs through a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.jobs.conftest import SCRIPTS, wait_for
from tests.services.server_process import ServerProcess

from dockyard.sdk import Client

pytestmark = pytest.mark.slow

SAGEMAKER = SCRIPTS / "sagemaker"


def _report(client: Client, name: str) -> dict:  # type: ignore[type-arg]
    log = client._http.get(f"/api/v1/jobs/{name}/logs").text
    line = next(x for x in log.splitlines() if x.startswith("REPORT="))
    return json.loads(line[len("REPORT=") :])  # type: ignore[no-any-return]


def _artifacts(client: Client, run_id: str) -> list[str]:
    files = client.request(
        "GET", f"/api/v1/runs/{run_id}/artifacts", params={"path": "", "recursive": True}
    )["files"]
    return sorted(f["path"] for f in files if not f["is_dir"])


def _spec(name: str, entry_point: str, train_dir: Path, **extra: object) -> dict:  # type: ignore[type-arg]
    return {
        "name": name,
        "entry_point": entry_point,
        "source_dir": str(SAGEMAKER),
        "inputs": {"train": str(train_dir)},
        **extra,
    }


def test_a_script_that_hard_codes_opt_ml_runs_unchanged(
    client: Client, job_server: ServerProcess, train_dir: Path, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "checkpoints"
    machine_had_opt_ml = Path("/opt/ml").exists()
    spec = _spec(
        "opt-ml",
        "opt_ml.py",
        train_dir,
        hyperparameters={"epochs": 3, "rate": 0.5, "note": "plain"},
        checkpoint={"uri": str(checkpoints)},
    )
    client.request("POST", "/api/v1/jobs/training", json=spec)
    job = wait_for(client, "opt-ml")
    assert job["status"] == "Completed", job["failure_reason"]
    report = _report(client, "opt-ml")
    # /opt/ml inside the job is the job's folder, and sagemaker_training.environment reads it.
    assert report["opt_ml_is_mounted"] is True
    home = job_server.home / "jobs" / "opt-ml"
    assert report["model_dir"] == str(home / "model")
    assert report["channel_input_dirs"] == {"train": str(home / "input" / "data" / "train")}
    # Hyperparameters are decoded from their JSON strings, as the real toolkit does.
    assert report["hyperparameters"] == {"epochs": 3, "rate": 0.5, "note": "plain"}
    assert report["num_gpus"] == 0 and report["num_cpus"] == 1
    assert report["current_host"] == "algo-1" and report["hosts"] == ["algo-1"]
    assert report["job_name"] == "opt-ml"
    # What the script wrote under /opt/ml reached the model, the outputs and the checkpoints.
    assert job["model_uri"] == f"runs:/{job['run_id']}/model"
    assert "output/rows.txt" in _artifacts(client, job["run_id"])
    assert (checkpoints / "last.txt").read_text() == "epoch 1"
    # Nothing was mounted or created on the machine itself.
    assert Path("/opt/ml").exists() is machine_had_opt_ml
    assert not Path("/opt/ml/model/model.joblib").exists()


def test_a_failure_written_to_opt_ml_output_failure_is_the_reason(
    client: Client, train_dir: Path
) -> None:
    spec = _spec("opt-ml-fails", "opt_ml.py", train_dir, hyperparameters={"mode": "fail"})
    client.request("POST", "/api/v1/jobs/training", json=spec)
    job = wait_for(client, "opt-ml-fails")
    assert job["status"] == "Failed"
    assert job["failure_reason"] == (
        "the label column is missing (written to /opt/ml/output/failure)"
    )


# -- model files SageMaker's containers accept ------------------------------------------------

_PACKAGED = {
    "pickled-booster": "xgboost",
    "pickled-regressor": "xgboost",
    "native-ubj": "xgboost",
    "native-json": "xgboost",
    "joblib": "sklearn",
}
_KEPT = {
    "unknown": "holds no model file Dockyard recognises",
    "broken": "xgboost-model looks like an XGBoost model but did not load (XGBoostError: ",
    "not-a-model": "could not package model.joblib from the model folder",
}


@pytest.fixture(scope="module")
def saved_models(job_server: ServerProcess, train_dir: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    """One job per way of saving a model, run side by side."""
    client = Client(job_server.url, retry_for=5)
    for fmt in (*_PACKAGED, *_KEPT):
        spec = _spec(f"saved-{fmt}", "save_model.py", train_dir, hyperparameters={"format": fmt})
        client.request("POST", "/api/v1/jobs/training", json=spec)
    jobs = {fmt: wait_for(client, f"saved-{fmt}", timeout=180) for fmt in (*_PACKAGED, *_KEPT)}
    client.close()
    return jobs


def _text(client: Client, run_id: str, path: str) -> str:
    return client._http.get(f"/api/v1/runs/{run_id}/artifacts/{path}").text


@pytest.mark.parametrize("fmt", sorted(_PACKAGED))
def test_a_model_saved_as_sagemaker_containers_expect_becomes_a_package(
    client: Client,
    saved_models: dict,
    fmt: str,  # type: ignore[type-arg]
) -> None:
    job = saved_models[fmt]
    assert job["status"] == "Completed", job["failure_reason"]
    assert job["model_uri"] == f"runs:/{job['run_id']}/model"
    manifest = _text(client, job["run_id"], "model/MLmodel")
    assert f"flavor: {_PACKAGED[fmt]}" in manifest, manifest


@pytest.mark.parametrize("fmt", sorted(_KEPT))
def test_a_model_folder_dockyard_cannot_wrap_is_kept_as_files_with_the_reason(
    client: Client,
    saved_models: dict,
    fmt: str,  # type: ignore[type-arg]
) -> None:
    job = saved_models[fmt]
    assert job["status"] == "Completed", job["failure_reason"]
    assert job["model_uri"] is None
    message = job["events"][-1]["message"]
    assert message.startswith("the model folder was kept as plain files under model-files/")
    assert _KEPT[fmt] in message and "\n" not in message and "Stack trace" not in message
    paths = _artifacts(client, job["run_id"])
    assert "model-files/notes.json" in paths
    assert message in client._http.get(f"/api/v1/jobs/saved-{fmt}/logs").text

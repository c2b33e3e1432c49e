"""SageMaker training scripts run unchanged: /opt/ml, the toolkits they import, the model files
SageMaker's containers accept. Real jobs through a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tests.server.jobs.conftest import SCRIPTS, data_roots, wait_for
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client

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


# -- SageMaker's toolkits -----------------------------------------------------------------------


def test_an_xgboost_framework_mode_script_runs_on_the_stand_ins(
    client: Client, tmp_path: Path
) -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(200, 3))
    y = (x[:, 0] + x[:, 2] > 1).astype(int)
    train, validation = tmp_path / "train", tmp_path / "validation"
    train.mkdir()
    (validation / "part").mkdir(parents=True)  # channels may hold folders of files
    lines = [
        f"{label} " + " ".join(f"{i + 1}:{v:.4f}" for i, v in enumerate(row))
        for label, row in zip(y[:150], x[:150], strict=True)
    ]
    (train / "train.libsvm").write_text("\n".join(lines) + "\n")
    rows = np.column_stack([y[150:], np.zeros(50), x[150:]])  # label first, no header
    np.savetxt(validation / "part" / "validation.csv", rows, delimiter=",", fmt="%.4f")
    spec = {
        "name": "xgb-framework",
        "entry_point": "xgboost_framework.py",
        "source_dir": str(SAGEMAKER),
        "inputs": {"train": str(train), "validation": str(validation)},
        "hyperparameters": {
            "max_depth": 3,
            "eta": 0.3,
            "objective": "binary:logistic",
            "num_round": 10,
        },
    }
    client.request("POST", "/api/v1/jobs/training", json=spec)
    job = wait_for(client, "xgb-framework", timeout=120)
    assert job["status"] == "Completed", job["failure_reason"]
    log = client._http.get("/api/v1/jobs/xgb-framework/logs").text
    assert "rows train=150 validation=50" in log
    # The booster it pickled to xgboost-model became a package that serves through the
    # script's model_fn, as SageMaker's XGBoost container would.
    manifest = _text(client, job["run_id"], "model/MLmodel")
    assert "flavor: sagemaker_script" in manifest
    assert "entry_point: xgboost_framework.py" in manifest


def test_a_sagemaker_module_without_a_stand_in_is_named_in_the_failure(
    client: Client, train_dir: Path
) -> None:
    client.request(
        "POST", "/api/v1/jobs/training", json=_spec("needs-more", "needs_more.py", train_dir)
    )
    job = wait_for(client, "needs-more")
    assert job["status"] == "Failed"
    reason = job["failure_reason"]
    assert "No module named 'sagemaker_xgboost_container.checkpointing'" in reason
    assert "not sagemaker_xgboost_container.checkpointing: list the package" in reason


# -- where /opt/ml cannot be mounted -----------------------------------------------------------


@pytest.fixture(scope="module")
def no_opt_ml_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path_factory.mktemp("no-opt-ml") / "home",
        env={"DOCKYARD_JOB_OPT_ML": "false", "DOCKYARD_DATA_ROOTS": data_roots(tmp_path_factory)},
    )
    server.start()
    yield server
    server.stop()


def test_without_opt_ml_the_log_says_so_and_the_toolkit_still_finds_the_folder(
    no_opt_ml_server: ServerProcess, train_dir: Path
) -> None:
    client = Client(no_opt_ml_server.url, retry_for=5)
    for name, script in (("hard-coded", "opt_ml.py"), ("toolkit", "toolkit_paths.py")):
        spec = _spec(name, script, train_dir, hyperparameters={"fit_intercept": "false"})
        client.request("POST", "/api/v1/jobs/training", json=spec)
    hard_coded, toolkit = wait_for(client, "hard-coded"), wait_for(client, "toolkit")
    # A script that builds its paths on the toolkit (SAGEMAKER_BASE_DIR) runs as before.
    assert toolkit["status"] == "Completed", toolkit["failure_reason"]
    assert toolkit["model_uri"] == f"runs:/{toolkit['run_id']}/model"
    log = client._http.get("/api/v1/jobs/toolkit/logs").text
    first = next(line for line in log.splitlines() if not line.startswith("[dockyard] attempt"))
    assert first.startswith("[dockyard] /opt/ml is not available in this job (turned off by ")
    # One that hard-codes /opt/ml fails, and its reason says what to use instead.
    assert hard_coded["status"] == "Failed"
    assert "/opt/ml/input/config/hyperparameters.json" in hard_coded["failure_reason"]
    assert "This job had no /opt/ml" in hard_coded["failure_reason"]
    assert "SAGEMAKER_BASE_DIR" in hard_coded["failure_reason"]
    client.close()

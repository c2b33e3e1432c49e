"""Training jobs end to end: a SageMaker script runs unchanged; failures, limits, stops."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil
import pytest
from tests.server.jobs.conftest import SCRIPTS, behaviour, runner_of, wait_for, wait_gone
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client
from dockyard.errors import InvalidArgument
from dockyard.models.pyfunc import load_model

pytestmark = pytest.mark.slow


def _ridge_spec(name: str, train_dir: Path) -> dict:  # type: ignore[type-arg]
    return {
        "name": name,
        "entry_point": "sagemaker_ridge.py",
        "source_dir": str(SCRIPTS),
        "hyperparameters": {"alpha": 0.5, "epochs": 3},
        "inputs": {"train": {"uri": str(train_dir), "content_type": "text/csv"}},
        "metric_definitions": [{"Name": "train:rmse", "Regex": r"train_rmse=([0-9.]+);"}],
    }


def test_sagemaker_script_runs_unchanged(client: Client, train_dir: Path, tmp_path: Path) -> None:
    client.request("POST", "/api/v1/jobs/training", json=_ridge_spec("ridge", train_dir))
    job = wait_for(client, "ridge")
    assert job["status"] == "Completed", job["failure_reason"]
    steps = [e["secondary_status"] for e in job["events"]]
    assert steps == ["Pending", "Starting", "Downloading", "Training", "Uploading", "Completed"]
    times = [e["time"] for e in job["events"]]
    assert times == sorted(times)
    run = client.request("GET", f"/api/v1/runs/{job['run_id']}")
    assert run["params"] == {"alpha": "0.5", "epochs": "3"}
    assert run["info"]["status"] == "FINISHED"
    history = client.request("GET", f"/api/v1/runs/{job['run_id']}/metrics/train:rmse")
    assert [m["step"] for m in history["metrics"]] == [0, 1, 2]
    log = client._http.get("/api/v1/jobs/ridge/logs").text
    assert 'hosts=["algo-1"] cpus=1' in log
    # The native joblib model was wrapped into a package with a signature; it loads and predicts.
    assert job["model_uri"] == f"runs:/{job['run_id']}/model"
    files = client.request(
        "GET",
        f"/api/v1/runs/{job['run_id']}/artifacts",
        params={"path": "model", "recursive": True},
    )["files"]
    for f in files:
        if not f["is_dir"]:
            dest = tmp_path / f["path"]
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(
                client._http.get(f"/api/v1/runs/{job['run_id']}/artifacts/{f['path']}").content
            )
    model = load_model(tmp_path / "model")
    assert model.metadata.signature is not None
    import pandas as pd

    prediction = model.predict(pd.DataFrame({"a": [1.0], "b": [0.0], "c": [0.0]}))
    assert abs(float(prediction[0]) - 1.0) < 0.5
    outputs = client.request(
        "GET", f"/api/v1/runs/{job['run_id']}/artifacts", params={"path": "output"}
    )["files"]
    assert [f["path"] for f in outputs] == ["output/summary.txt"]
    # A training job's outputs are its run's artifacts: the transform's outputs route says so.
    refused = client._http.get("/api/v1/jobs/ridge/outputs")
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["field"] == "name"
    assert error["message"] == "job 'ridge' is a training job; its outputs are its run's artifacts"


def test_contract_files_hold_string_hyperparameters(
    job_server, client: Client, train_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    client.request("POST", "/api/v1/jobs/training", json=_ridge_spec("contract", train_dir))
    wait_for(client, "contract")
    config = job_server.home / "jobs" / "contract" / "input" / "config"
    assert json.loads((config / "hyperparameters.json").read_text()) == {
        "alpha": "0.5",
        "epochs": "3",
    }
    assert json.loads((config / "inputdataconfig.json").read_text())["train"]["ContentType"] == (
        "text/csv"
    )
    assert json.loads((config / "resourceconfig.json").read_text())["current_host"] == "algo-1"


def test_failure_file_becomes_the_reason(client: Client) -> None:
    client.request("POST", "/api/v1/jobs/training", json=behaviour("ff", "failure-file"))
    job = wait_for(client, "ff")
    assert job["status"] == "Failed" and job["exit_code"] == 3
    assert job["failure_reason"] == "Input data had 3 columns, expected 4 (line 17)"
    run = client.request("GET", f"/api/v1/runs/{job['run_id']}")
    assert run["info"]["status"] == "FAILED"


def test_crash_reports_the_last_log_lines(client: Client) -> None:
    client.request("POST", "/api/v1/jobs/training", json=behaviour("crash", "crash"))
    job = wait_for(client, "crash")
    assert job["status"] == "Failed" and job["exit_code"] == 1
    assert "ZeroDivisionError" in job["failure_reason"]
    assert "about to divide" in job["failure_reason"]


def test_memory_limit_is_enforced_and_named(client: Client) -> None:
    spec = behaviour("hog", "memory", resources={"cpus": 1, "memory_mb": 200})
    client.request("POST", "/api/v1/jobs/training", json=spec)
    job = wait_for(client, "hog")
    assert job["status"] == "Failed"
    assert job["failure_reason"].startswith("memory limit exceeded")


def test_max_runtime_stops_the_job(client: Client) -> None:
    spec = behaviour("slow", "sleep", seconds=30, stopping_condition={"max_runtime_s": 1})
    client.request("POST", "/api/v1/jobs/training", json=spec)
    job = wait_for(client, "slow")
    assert job["status"] == "Stopped"
    assert job["secondary_status"] == "MaxRuntimeExceeded"
    assert "maximum runtime of 1 s" in job["events"][-1]["message"]


def test_stop_sends_sigterm_then_ends_stopped(client: Client) -> None:
    client.request("POST", "/api/v1/jobs/training", json=behaviour("stopme", "sleep", seconds=30))
    deadline = time.monotonic() + 30
    while "started" not in client._http.get("/api/v1/jobs/stopme/logs").text:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    stopped = client.request("POST", "/api/v1/jobs/stopme/stop")
    assert stopped["status"] == "Stopping"
    job = wait_for(client, "stopme")
    assert job["status"] == "Stopped"
    assert "got SIGTERM" in client._http.get("/api/v1/jobs/stopme/logs").text
    assert client.request("GET", f"/api/v1/runs/{job['run_id']}")["info"]["status"] == "KILLED"


def test_retry_restores_checkpoints(client: Client, tmp_path: Path) -> None:
    spec = behaviour(
        "flaky",
        "flaky",
        retry_strategy={"max_attempts": 2},
        checkpoint={"uri": str(tmp_path / "ckpt")},
    )
    client.request("POST", "/api/v1/jobs/training", json=spec)
    job = wait_for(client, "flaky")
    assert job["status"] == "Completed", job["failure_reason"]
    assert "Restarting" in [e["secondary_status"] for e in job["events"]]
    log = client._http.get("/api/v1/jobs/flaky/logs").text
    assert "attempt 2, checkpoint saw 1" in log
    assert (tmp_path / "ckpt" / "attempts.txt").read_text() == "2"


def test_jobs_share_cpus_first_in_first_out(client: Client) -> None:
    names = [f"par-{i}" for i in range(3)]
    for name in names:
        client.request(
            "POST",
            "/api/v1/jobs/training",
            json=behaviour(name, "ok", seconds=1.5, resources={"cpus": 1}),
        )
    jobs = [wait_for(client, n) for n in names]
    training = [
        (next(e["time"] for e in j["events"] if e["secondary_status"] == "Starting"), j["end_time"])
        for j in jobs
    ]
    # Capacity is 2 CPUs: the third job starts only after one of the first two ended.
    assert training[2][0] >= min(training[0][1], training[1][1]) - 50


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"surprise": 1}, "surprise"),
        ({"inputs": {"train": str(SCRIPTS / "nonexistent")}}, "inputs.train.uri"),
        ({"entry_point": "missing.py"}, "entry_point"),
        ({"hyperparameters": {"mode": "x" * 2501}}, "hyperparameters.mode"),
        # Named as the user spelled it (SageMaker's capitalised field names are accepted).
        (
            {"metric_definitions": [{"Name": "m", "Regex": "no group"}]},
            "metric_definitions.0.Regex",
        ),
        ({"resources": {"cpus": 64}}, "resources.cpus"),
        ({"name": "bad name!"}, "name"),
        ({"inputs": {"train": "ftp://host/x"}}, "inputs.train.uri"),
        ({"inputs": {"train": "~nouser/x"}}, "inputs.train.uri"),
        ({"source_dir": "~nouser/x"}, "source_dir"),
        ({"entry_point": "e" * 256}, "entry_point"),  # longer than a file name may be
        # Hyperparameters and tags become the params and tags of the job's run.
        ({"tags": {"a!b": "x"}}, "tags.a!b.[key]"),
        ({"hyperparameters": {"a!b": "1"}}, "hyperparameters.a!b.[key]"),
        ({"hyperparameters": {"k" * 251: "1"}}, f"hyperparameters.{'k' * 251}.[key]"),
    ],
    ids=[
        "unknown",
        "missing-channel",
        "missing-entry-point",
        "long-hp",
        "regex",
        "cpus",
        "name",
        "scheme",
        "no-user-input",
        "no-user-source",
        "long-entry-point",
        "tag-key",
        "hp-key",
        "long-hp-key",
    ],
)
def test_bad_specs_are_refused_at_submit(client: Client, change: dict, field: str) -> None:  # type: ignore[type-arg]
    spec = {**behaviour("bad", "ok"), **change}
    runs = _run_count(client)
    with pytest.raises(InvalidArgument) as caught:
        client.request("POST", "/api/v1/jobs/training", json=spec)
    assert caught.value.field == field, caught.value.message
    assert _run_count(client) == runs  # refused before the job's run was created


def _run_count(client: Client) -> int:
    experiments = client.request("GET", "/api/v1/experiments")["experiments"]
    body = {"experiment_ids": [e["experiment_id"] for e in experiments], "max_results": 50_000}
    return len(client.request("POST", "/api/v1/runs/search", json=body)["runs"])


def test_a_status_filter_that_is_no_status_is_named(client: Client) -> None:
    # 'dockyard jobs list --status completed' printed an empty table: no job has that word.
    with pytest.raises(InvalidArgument) as caught:
        client.request("GET", "/api/v1/jobs", params={"status": ["Completed", "completed"]})
    assert caught.value.field == "status.1", caught.value.message
    assert "'Completed'" in caught.value.message and "'InProgress'" in caught.value.message
    listed = client.request("GET", "/api/v1/jobs", params={"status": ["Completed"]})["jobs"]
    assert {job["status"] for job in listed} <= {"Completed"}


def test_list_and_log_offsets_out_of_range_are_named(client: Client) -> None:
    with pytest.raises(InvalidArgument) as caught:
        client.request("GET", "/api/v1/jobs", params={"offset": 2**63})
    assert caught.value.field == "offset"
    assert client.request("GET", "/api/v1/jobs", params={"offset": 2**63 - 1})["jobs"] == []
    client.request("POST", "/api/v1/jobs/training", json=behaviour("logged", "ok"))
    assert wait_for(client, "logged")["status"] == "Completed"
    size = len(client._http.get("/api/v1/jobs/logged/logs").content)
    end = client._http.get("/api/v1/jobs/logged/logs", params={"offset": size})
    assert end.status_code == 200 and end.content == b""
    assert end.headers["x-next-offset"] == str(size)
    for offset in (size + 1, 726327470238491, 2**63):
        with pytest.raises(InvalidArgument, match="past the end of the log") as caught:
            client.request("GET", "/api/v1/jobs/logged/logs", params={"offset": offset})
        assert caught.value.field == "offset"


def test_requirements_txt_runs_the_job_in_its_own_environment(client: Client) -> None:
    spec = {"name": "pinned", "entry_point": "train.py", "source_dir": str(SCRIPTS / "pinned")}
    client.request("POST", "/api/v1/jobs/training", json=spec)
    job = wait_for(client, "pinned", timeout=240)
    assert job["status"] == "Completed", job["failure_reason"]
    log = client._http.get("/api/v1/jobs/pinned/logs").text
    assert "packaging=24.1" in log and "environment ready" in log
    # The script's own SDK calls logged to the job's run, with no configuration.
    run = client.request("GET", f"/api/v1/runs/{job['run_id']}")
    assert run["params"]["packaging_version"] == "24.1"


def test_checkpoints_sync_while_the_job_runs(client: Client, tmp_path: Path) -> None:
    target = tmp_path / "ckpt"
    spec = behaviour("ckpt-live", "checkpointing", seconds=6, checkpoint={"uri": str(target)})
    client.request("POST", "/api/v1/jobs/training", json=spec)
    deadline = time.monotonic() + 60
    while not (target / "step.txt").exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # Synced before the job ended: a crash now would keep this progress.
    assert client.request("GET", "/api/v1/jobs/ckpt-live")["status"] == "InProgress"
    assert wait_for(client, "ckpt-live")["status"] == "Completed"


def test_a_killed_runner_takes_the_script_with_it_and_the_run_fails(
    client: Client, job_server: ServerProcess, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    spec = behaviour("orphaned", "sdk-wait")
    spec["hyperparameters"]["release"] = str(release)
    client.request("POST", "/api/v1/jobs/training", json=spec)
    try:
        deadline = time.monotonic() + 60
        while b"pid=" not in (log := client._http.get("/api/v1/jobs/orphaned/logs").content):
            assert time.monotonic() < deadline, log
            time.sleep(0.05)
        script = psutil.Process(int(log.split(b"pid=")[1].split()[0]))
        runner = runner_of(job_server.home, "orphaned")
        assert script.ppid() == runner.pid
        os.kill(runner.pid, signal.SIGKILL)
        wait_gone([script])
        job = wait_for(client, "orphaned")
    finally:
        release.touch()  # lets a surviving script end (only if the test failed)
    assert job["status"] == "Failed"
    assert "exited without a final status" in job["failure_reason"]
    run = client.request("GET", f"/api/v1/runs/{job['run_id']}")
    assert run["info"]["status"] == "FAILED"


@pytest.mark.parametrize(
    ("mode", "status"), [("mlflow", "FINISHED"), ("mlflow-then-fail", "FAILED")]
)
def test_an_mlflow_script_logs_to_the_jobs_run(client: Client, mode: str, status: str) -> None:
    """mlflow.start_run() in the job resumes the job's run on this server, as in an MLflow
    project run, rather than making a run in a local mlruns/ that goes with the job's folder;
    the job's final status, not mlflow's end of the run, ends it."""
    name = f"ml-{mode}"
    client.request("POST", "/api/v1/jobs/training", json=behaviour(name, mode))
    job = wait_for(client, name)
    log = client._http.get(f"/api/v1/jobs/{name}/logs").text
    assert f"mlflow run={job['run_id']}" in log, log
    run = client.request("GET", f"/api/v1/runs/{job['run_id']}")
    assert run["info"]["status"] == status
    assert run["params"]["lr"] == "0.1"
    history = client.request("GET", f"/api/v1/runs/{job['run_id']}/metrics/loss")["metrics"]
    assert [m["value"] for m in history] == [1.0, 0.5, 1 / 3]
    listed = client.request(
        "GET", f"/api/v1/runs/{job['run_id']}/artifacts", params={"path": "notes"}
    )
    assert [f["path"] for f in listed["files"]] == ["notes/hi.txt"]


def test_a_jobs_run_names_its_submitter_as_its_user(
    client: Client, job_server: ServerProcess
) -> None:
    """Without accounts as with them, the job's run is its submitter's (as the job names
    them): the runs list's User, MLflow's ``user_id`` and ``mlflow.user``."""
    import mlflow

    client.request("POST", "/api/v1/jobs/training", json=behaviour("user-of-run", "mlflow"))
    job = wait_for(client, "user-of-run")
    log = client._http.get("/api/v1/jobs/user-of-run/logs").text
    assert job["status"] == "Completed", (job["failure_reason"], log)
    assert job["created_by"] == "anonymous"
    run = client.request("GET", f"/api/v1/runs/{job['run_id']}")
    assert run["info"]["user_id"] == "anonymous"
    assert run["tags"]["mlflow.user"] == "anonymous"
    listed = client.request(
        "POST", "/api/v1/runs/search", json={"experiment_ids": [run["info"]["experiment_id"]]}
    )["runs"]
    assert {r["info"]["user_id"] for r in listed if r["info"]["run_name"] == "user-of-run"} == {
        "anonymous"
    }
    seen = mlflow.MlflowClient(tracking_uri=job_server.url).get_run(job["run_id"])
    assert seen.info.user_id == "anonymous" and seen.data.tags["mlflow.user"] == "anonymous"

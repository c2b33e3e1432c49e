"""Transform jobs: batch scoring through the job queue, with progress, stop and resume."""

from __future__ import annotations

import io
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LinearRegression
from tests.server.jobs.conftest import runner_of, wait_for, wait_gone
from tests.services.server_process import ServerProcess

import dockyard as dy
from dockyard.client.http import Client
from dockyard.client.sdk import reset_context
from dockyard.models import save_model
from dockyard.models.pyfunc import load_model
from dockyard.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, np.ndarray]:
    """A model package and a headerless CSV whose first column is the label."""
    folder = tmp_path_factory.mktemp("transform")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 4))
    y = x @ [1.0, -2.0, 0.5, 3.0]
    model = LinearRegression().fit(pd.DataFrame(x, columns=list("abcd")), y)
    save_model(model, folder / "model", input_example=pd.DataFrame(x[:5], columns=list("abcd")))
    np.savetxt(folder / "test.csv", np.column_stack([y, x]), delimiter=",", fmt="%.6f")
    return folder / "model", folder / "test.csv", x


def test_csv_with_filter_and_join_through_rest(client: Client, data, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model_dir, csv, x = data
    spec = {
        "name": "score-rest",
        "model_uri": str(model_dir),
        "input": {"uri": str(csv), "content_type": "text/csv", "split_type": "Line"},
        "output": {"uri": str(tmp_path / "out"), "assemble_with": "Line"},
        "data_processing": {"input_filter": "$[1:]", "join_source": "Input"},
    }
    client.request("POST", "/api/v1/jobs/transform", json=spec)
    job = wait_for(client, "score-rest")
    assert job["status"] == "Completed", job["failure_reason"]
    assert "2000 records scored, 0 bad" in job["events"][-1]["message"]
    assert job["progress"]["records"] == 2000
    lines = (tmp_path / "out" / "test.csv.out").read_text().splitlines()
    assert len(lines) == 2000
    joined = np.array([[float(v) for v in line.split(",")] for line in lines])
    # Joined: the original record (label + 4 features) then the prediction.
    expected = load_model(model_dir).predict(pd.DataFrame(x, columns=list("abcd")))
    assert np.allclose(joined[:, -1], expected, atol=1e-3)
    assert np.allclose(joined[:, 1:5], x, atol=1e-5)
    manifest = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    assert manifest["files"][0]["records"] == 2000
    listed = client.request("GET", "/api/v1/jobs/score-rest/outputs")
    assert listed["uri"] == str(tmp_path / "out")
    assert sorted(f["path"] for f in listed["files"]) == ["_manifest.json", "test.csv.out"]
    sizes = {f["path"]: f["size"] for f in listed["files"]}
    assert sizes["test.csv.out"] == (tmp_path / "out" / "test.csv.out").stat().st_size


def test_sdk_transformer_defaults_output_under_the_job(
    job_server: ServerProcess,
    data,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    model_dir, csv, _ = data
    reset_context(Settings(home=tmp_path / "client", uri=job_server.url))
    out = io.StringIO()
    transformer = dy.Transformer(str(model_dir), strategy="MultiRecord", assemble_with="Line")
    job = transformer.transform(
        str(csv), content_type="text/csv", input_filter="$[1:]", job_name="score-sdk", wait=False
    )
    described = job.wait(logs=True, out=out)
    assert described.status == "Completed"
    output = job_server.home / "artifacts" / "transform" / "score-sdk" / "test.csv.out"
    assert len(output.read_text().splitlines()) == 2000
    assert "score-sdk" in out.getvalue() and "2000 records scored" in out.getvalue()
    reset_context(Settings(home=tmp_path / "client"))


def test_local_output_path_is_downloaded_after_the_job(
    job_server: ServerProcess,
    data,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    model_dir, csv, _ = data
    reset_context(Settings(home=tmp_path / "client", uri=job_server.url))
    local = tmp_path / "results"
    transformer = dy.Transformer(str(model_dir), output_path=str(local))
    job = transformer.transform(str(csv), input_filter="$[1:]", job_name="score-local", logs=False)
    assert len((local / "test.csv.out").read_text().splitlines()) == 2000
    assert json.loads((local / "_manifest.json").read_text())["files"][0]["records"] == 2000
    # The job itself wrote into the store; the model and input it read were uploads.
    spec = job.describe().spec
    store = job_server.home / "artifacts"
    assert spec["output"]["uri"] == str(store / "transform" / "score-local")
    assert Path(spec["model_uri"]).is_relative_to(store / "data" / "models")
    assert Path(spec["input"]["uri"]).is_relative_to(store / "data" / "transform" / "inputs")
    # The manifest names the model as the job does, not the job's local copy of it.
    manifest = json.loads((local / "_manifest.json").read_text())
    assert manifest["model_uri"] == spec["model_uri"]
    again = tmp_path / "again"
    job.download(again)
    assert (again / "test.csv.out").read_bytes() == (local / "test.csv.out").read_bytes()
    reset_context(Settings(home=tmp_path / "client"))


def test_the_log_names_the_input_and_bad_records_as_the_user_gave_them(
    job_server: ServerProcess,
    data,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model_dir, _, _ = data
    monkeypatch.chdir(tmp_path)
    Path("mine.csv").write_text("1,2,3,4\n1,x,3,4\n")
    reset_context(Settings(home=tmp_path / "client", uri=job_server.url))
    job = dy.Transformer(str(model_dir), on_error="skip").transform(
        "mine.csv", content_type="text/csv", job_name="score-named", logs=False
    )
    logged, _, ended = job.logs()
    assert ended
    # They showed the upload's path, and the bad record as BadRecord(uri='/.../data/...', ...).
    assert "[dockyard] transforming mine.csv with " in logged
    assert "[dockyard] bad record in mine.csv line 2: column 'b': 'x' is not a number" in logged
    reset_context(Settings(home=tmp_path / "client"))


@pytest.fixture
def run(job_server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``dockyard`` CLI calls (args -> click's result) against the job server."""
    from click.testing import CliRunner

    from dockyard.client.cli import cli

    monkeypatch.setenv("DOCKYARD_URI", job_server.url)
    reset_context()
    runner = CliRunner()
    return lambda args: runner.invoke(cli, args)


def test_cli_transform_uploads_and_downloads(
    run: Any,
    data,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    model_dir, csv, _ = data
    spec = tmp_path / "transform.yaml"
    (tmp_path / "model").symlink_to(model_dir)
    (tmp_path / "test.csv").symlink_to(csv)
    spec.write_text(
        "name: score-cli\nmodel_uri: model\n"
        "input: {uri: test.csv, content_type: text/csv}\n"
        "output: {uri: scored}\n"  # relative to the spec file, on this machine
        "data_processing: {input_filter: '$[1:]'}\n"
    )
    result = run(["transform", "submit", str(spec), "--wait"])
    assert result.exit_code == 0, result.output
    assert "downloaded into" in result.output
    assert len((tmp_path / "scored" / "test.csv.out").read_text().splitlines()) == 2000
    result = run(["transform", "download", "score-cli", str(tmp_path / "d2")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "d2" / "_manifest.json").is_file()
    reset_context(Settings(home=tmp_path / "client"))


@pytest.fixture(scope="module")
def slow_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    folder = tmp_path_factory.mktemp("slow")
    rng = np.random.default_rng(2)
    # Slow enough (several seconds of scoring on one worker) that a stop lands mid-way even
    # on a quiet machine; progress reaches the job's status about once a second.
    rows = 300_000
    x = rng.normal(size=(rows, 5))
    model = GradientBoostingRegressor(n_estimators=1500, max_depth=4, random_state=0)
    model.fit(x[:2000], x[:2000] @ [1.0, 2.0, 3.0, 4.0, 5.0])
    save_model(model, folder / "model", input_example=x[:5])
    np.savetxt(folder / "big.csv", x, delimiter=",", fmt="%.5f")
    return folder / "model", folder / "big.csv", rows


def test_stop_then_resume_never_redoes_finished_shards(
    client: Client,
    slow_data,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    model_dir, csv, rows = slow_data
    spec = {
        "name": "resumable",
        "model_uri": str(model_dir),
        "input": {"uri": str(csv), "content_type": "text/csv"},
        "output": {"uri": str(tmp_path / "out")},
        "max_concurrent_transforms": 1,
        "shard_bytes": 200_000,
    }
    client.request("POST", "/api/v1/jobs/transform", json=spec)
    deadline = time.monotonic() + 120
    while True:
        job = client.request("GET", "/api/v1/jobs/resumable")
        progress = job["progress"] or {}
        if progress.get("shards_done", 0) >= 2:
            break
        assert job["status"] in ("Pending", "InProgress"), job
        assert time.monotonic() < deadline
        time.sleep(0.05)
    client.request("POST", "/api/v1/jobs/resumable/stop")
    stopped = wait_for(client, "resumable")
    assert stopped["status"] == "Stopped"
    assert not (tmp_path / "out" / "big.csv.out").exists()  # nothing half-written published
    client.request("POST", "/api/v1/jobs/resumable/resume")
    done = wait_for(client, "resumable", timeout=180)
    assert done["status"] == "Completed", done["failure_reason"]
    message = done["events"][-1]["message"]
    reused = int(message.split("; ")[1].split(" of ")[0])
    assert reused >= 2, message
    predictions = (tmp_path / "out" / "big.csv.out").read_text().splitlines()
    assert len(predictions) == rows
    steps = [e["secondary_status"] for e in done["events"]]
    assert steps.count("Pending") == 2 and "Stopped" in steps


def test_a_killed_runner_takes_the_transform_and_its_workers_with_it(
    client: Client,
    job_server: ServerProcess,
    slow_data,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    model_dir, csv, _ = slow_data
    spec = {
        "name": "orphaned-transform",
        "model_uri": str(model_dir),
        "input": {"uri": str(csv), "content_type": "text/csv"},
        "output": {"uri": str(tmp_path / "out")},
        "max_concurrent_transforms": 2,
        "shard_bytes": 200_000,
    }
    client.request("POST", "/api/v1/jobs/transform", json=spec)
    runner = runner_of(job_server.home, "orphaned-transform")
    deadline = time.monotonic() + 120
    while True:  # until both workers score: the transform, worker 0 and the sibling it forked
        tree = runner.children(recursive=True)
        progress = client.request("GET", "/api/v1/jobs/orphaned-transform")["progress"] or {}
        if len(tree) >= 3 and progress.get("shards_done", 0) >= 1:
            break
        assert time.monotonic() < deadline, tree
        time.sleep(0.05)
    os.kill(runner.pid, signal.SIGKILL)
    wait_gone(tree)
    # Gone because they were killed, not because they finished the work unwatched.
    assert not (tmp_path / "out" / "big.csv.out").exists()
    job = wait_for(client, "orphaned-transform")
    assert job["status"] == "Failed"
    # Ended in the transaction that ended the job: no read can fall between the two.
    run = client.request("GET", f"/api/v1/runs/{job['run_id']}")
    assert run["info"]["status"] == "FAILED"


def test_bad_transform_specs_name_the_field(client: Client, data) -> None:  # type: ignore[no-untyped-def]
    model_dir, csv, _ = data
    base = {"model_uri": str(model_dir), "input": {"uri": str(csv), "content_type": "text/csv"}}
    cases = [
        ({**base, "input": {"uri": f"{csv}.nope", "content_type": "text/csv"}}, "input.uri"),
        ({**base, "model_uri": f"{model_dir}-none"}, "model_uri"),
        ({**base, "model_uri": "~nouser/model"}, "model_uri"),
        ({**base, "input": {"uri": "~nouser/x.csv", "content_type": "text/csv"}}, "input.uri"),
        ({**base, "tags": {"a!b": "x"}}, "tags.a!b.[key]"),
        ({**base, "batch_strategy": "Sometimes"}, "batch_strategy"),
        ({**base, "input": {"uri": str(csv), "content_type": "text/xml"}}, "input.content_type"),
    ]
    for body, field in cases:
        with pytest.raises(dy.InvalidArgument) as caught:
            client.request("POST", "/api/v1/jobs/transform", json=body)
        assert caught.value.field == field, caught.value.message
    with pytest.raises(dy.InvalidArgument, match="only transform jobs resume"):
        from tests.server.jobs.conftest import behaviour

        client.request("POST", "/api/v1/jobs/training", json=behaviour("train-x", "ok"))
        wait_for(client, "train-x")
        client.request("POST", "/api/v1/jobs/train-x/resume")


def test_cli_transform_names_what_the_user_wrote(
    run: Any,
    data,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    model_dir, csv, _ = data
    dy.register_model(str(model_dir), "cli-named")
    lines = csv.read_text().splitlines()
    # A header without column c: line 1, naming it, whichever shard fails first.
    (tmp_path / "missing.csv").write_text(
        "label,a,b,d\n" + "".join(",".join(line.split(",")[:4]) + "\n" for line in lines)
    )
    (tmp_path / "ok.csv").write_text("".join(line.split(",", 1)[1] + "\n" for line in lines))
    spec = tmp_path / "transform.yaml"
    spec.write_text(
        "name: named-cli\nModelName: cli-named\n"
        "input: {uri: missing.csv, content_type: text/csv}\n"
        "data_processing: {input_filter: '$[1:]'}\nshard_bytes: 20000\n"
    )
    result = run(["transform", "submit", str(spec), "--wait"])
    assert result.exit_code != 0
    assert "bad record in missing.csv line 1: the header after the input filter" in result.output
    assert "missing column 'c' (expected double)" in result.output
    spec.write_text("name: named-ok\nModelName: cli-named\ninput: {uri: ok.csv}\n")
    result = run(["transform", "submit", str(spec), "--wait"])
    assert result.exit_code == 0, result.output
    summary = [line for line in result.output.splitlines() if "records scored" in line]
    assert summary and summary[-1].startswith("2000 records scored, 0 bad")
    assert "; outputs at " in summary[-1]  # one line, however narrow the terminal
    described = run(["transform", "describe", "named-ok"])
    assert "model: models:/cli-named/latest" in described.output
    spec.write_text("ModelName: nosuch\ninput: {uri: ok.csv}\n")
    result = run(["transform", "submit", str(spec)])
    assert result.exit_code == 2
    assert result.output == "error: registered model 'nosuch' does not exist (ModelName)\n"
    reset_context(Settings(home=tmp_path / "client"))

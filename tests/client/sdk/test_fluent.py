"""The notebook-style SDK on the embedded default (same HTTP app, in process)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dockyard as dy
from dockyard.client import sdk
from dockyard.client.sdk import reset_context
from dockyard.settings import Settings


@pytest.fixture(autouse=True)
def embedded(settings: Settings) -> Iterator[None]:
    reset_context(settings)
    yield
    while dy.active_run():
        dy.end_run()
    reset_context(settings)


def test_run_context_manager_logs_everything() -> None:
    dy.set_experiment("sdk")
    with dy.start_run(run_name="r1", tags={"team": "a"}) as run:
        dy.log_params({"lr": 0.1, "depth": 5})
        for step in range(1000):
            dy.log_metric("loss", 1 / (step + 1), step=step)
        dy.log_metrics({"acc": 0.9, "f1": 0.8}, step=3)
        dy.set_tag("stage", "dev")
    got = dy.get_run(run.run_id)
    assert got.info.status == "FINISHED" and got.info.end_time is not None
    assert got.params == {"lr": "0.1", "depth": "5"}
    assert got.metrics["loss"].step == 999 and got.metrics["acc"].value == 0.9
    assert got.tags["team"] == "a" and got.tags["stage"] == "dev"
    history = sdk.context().client.request("GET", f"/api/v1/runs/{run.run_id}/metrics/loss")[
        "metrics"
    ]
    assert [m["step"] for m in history] == list(range(1000))


def test_exception_in_block_marks_run_failed() -> None:
    with pytest.raises(RuntimeError), dy.start_run() as run:
        raise RuntimeError("boom")
    assert dy.get_run(run.run_id).info.status == "FAILED"


@pytest.mark.parametrize("job_status", ["RUNNING", "FAILED"])
def test_a_jobs_run_keeps_the_status_the_job_gives_it(settings: Settings, job_status: str) -> None:
    # A job's process finds its run in DOCKYARD_RUN_ID; the scheduler ends that run with the
    # job's final status, so the script's SDK must neither end it nor revive it.
    run_id = sdk.context().client.request("POST", "/api/v1/runs", json={})["info"]["run_id"]
    sdk.context().client.request("PATCH", f"/api/v1/runs/{run_id}", json={"status": job_status})
    reset_context(settings.model_copy(update={"run_id": run_id}))
    dy.log_metric("loss", 0.5)
    assert dy.active_run() == run_id
    assert dy.get_run(run_id).info.status == job_status
    dy.end_run()  # as the SDK does at exit
    assert dy.active_run() is None
    got = dy.get_run(run_id)
    assert got.info.status == job_status and got.metrics["loss"].value == 0.5
    with pytest.raises(RuntimeError), dy.start_run() as run:  # a failing block, resumed
        raise RuntimeError("boom")
    assert run.run_id == run_id and dy.get_run(run_id).info.status == job_status


def test_nested_runs() -> None:
    with dy.start_run() as parent:
        with dy.start_run(nested=True) as child:
            dy.log_metric("x", 1)
        with pytest.raises(dy.InvalidArgument, match="nested=True"):
            dy.start_run()
    assert dy.get_run(child.run_id).info.parent_run_id == parent.run_id


def test_non_finite_metrics_are_kept() -> None:
    with dy.start_run() as run:
        dy.log_metric("diverged", math.inf)
        dy.log_metric("nan", math.nan)
    metrics = dy.get_run(run.run_id).metrics
    assert metrics["diverged"].value == math.inf and math.isnan(metrics["nan"].value)


def test_invalid_key_fails_at_the_call() -> None:
    with dy.start_run(), pytest.raises(dy.InvalidArgument, match="invalid"):
        dy.log_metric("bad\nkey", 1.0)


@pytest.mark.parametrize(
    ("value", "step", "named"),
    [
        ("abc", 0, "value must be a number"),
        (None, 0, "value must be a number"),
        (1.0, 2.5, "step must be an integer"),
        (1.0, "5", "step must be an integer"),
        (1.0, 2**63, "step must be between"),  # beyond what the server stores
        (1.0, 2**70, "step must be between"),  # beyond what JSON's encoder writes
    ],
)
def test_a_bad_metric_point_fails_at_its_call_and_spares_the_others(
    value: object, step: object, named: str
) -> None:
    with dy.start_run() as run:
        dy.log_metric("good", 0.5, step=1)
        with pytest.raises(dy.InvalidArgument, match=f"metric 'bad': the {named}"):
            dy.log_metric("bad", value, step=step)  # type: ignore[arg-type]
        dy.log_metric("numpy", np.float32(0.25), step=np.int64(2))  # type: ignore[arg-type]
    metrics = dy.get_run(run.run_id).metrics
    assert metrics["good"].value == 0.5 and "bad" not in metrics
    assert metrics["numpy"].value == 0.25 and metrics["numpy"].step == 2


def test_a_timestamp_the_server_cannot_store_fails_at_its_call() -> None:
    with dy.start_run() as run:
        dy.log_metric("good", 0.5)
        with pytest.raises(dy.InvalidArgument, match="metric 'bad': the timestamp must be between"):
            dy.log_metric("bad", 1.0, timestamp=-1)
    assert list(dy.get_run(run.run_id).metrics) == ["good"]


@pytest.mark.parametrize("call", [dy.log_params, dy.log_metrics, dy.set_tags])
def test_a_list_instead_of_a_mapping_is_named(call: object) -> None:
    with dy.start_run(), pytest.raises(dy.InvalidArgument, match="mapping of names to values"):
        call([("lr", 0.1)])  # type: ignore[operator]


def test_artifacts_round_trip(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    single = tmp_path / "report.html"
    single.write_text("<h1>hi</h1>")
    with dy.start_run() as run:
        dy.log_artifact(single)
        dy.log_artifacts(folder, artifact_path="bundle")
    files = dy.list_artifacts(run.run_id, recursive=True)
    assert {f["path"] for f in files if not f["is_dir"]} == {
        "report.html",
        "bundle/a.txt",
        "bundle/sub/b.txt",
    }
    dst = dy.download_artifacts(run.run_id, "bundle", tmp_path / "dl")
    assert (dst / "sub" / "b.txt").read_text() == "b"


def test_log_input_records_digest_and_schema() -> None:
    frame = pd.DataFrame({"x": np.arange(10.0), "y": np.arange(10)})
    with dy.start_run() as run:
        dy.log_input(frame, name="train", context_name="training")
    (item,) = dy.get_run(run.run_id).inputs
    assert item.dataset.name == "train" and len(item.dataset.digest) == 16
    assert '"x"' in (item.dataset.schema_ or "")
    assert item.tags == {"mlflow.data.context": "training"}


def test_search_runs_refuses_an_output_format_it_does_not_make() -> None:
    # "polars" (or a typo of "list") came back as a pandas DataFrame, silently.
    with pytest.raises(dy.InvalidArgument, match="output_format must be 'pandas' or 'list'"):
        dy.search_runs(output_format="polars")


def test_search_runs_returns_a_dataframe() -> None:
    dy.set_experiment("search-sdk")
    for depth in (3, 5, 7):
        with dy.start_run():
            dy.log_param("depth", depth)
            dy.log_metric("rmse", depth / 10)
    frame = dy.search_runs(filter_string="metrics.rmse > 0.4", order_by=["metrics.rmse DESC"])
    assert list(frame["params.depth"]) == ["7", "5"]
    assert {"run_id", "status", "metrics.rmse", "tags.mlflow.runName"} <= set(frame.columns)


def test_setting_a_deleted_experiment_says_how_to_restore_it() -> None:
    experiment = dy.set_experiment("archived")
    sdk.context().client.request("DELETE", f"/api/v1/experiments/{experiment.experiment_id}")
    with pytest.raises(dy.InvalidArgument) as refused:
        dy.set_experiment("archived")
    assert str(refused.value).startswith(
        f"experiment 'archived' is deleted: restore it (dockyard experiments restore "
        f"{experiment.experiment_id}, or the web UI's Deleted experiments) or pick another name"
    )

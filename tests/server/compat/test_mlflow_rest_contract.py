"""The behaviours MLflow's own REST tests pin down (validation words, empty values, orders and
pages, registry timestamps and messages, artifact media types), driven through the unmodified
``mlflow`` client and plain HTTP against a live Dockyard server.

What is out of scope, and why, is listed in the README's "MLflow clients" section.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, Param, RunTag
from mlflow.entities.logged_model_input import LoggedModelInput
from mlflow.entities.logged_model_output import LoggedModelOutput
from mlflow.exceptions import MlflowException
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_SOURCE_NAME, MLFLOW_USER


def _now() -> int:
    return int(time.time() * 1000)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def run_id(tracking_uri: str, experiment_name: str) -> str:
    client = MlflowClient()
    return client.create_run(client.create_experiment(experiment_name)).info.run_id


def _refused(tracking_uri: str, path: str, body: dict[str, Any]) -> str:
    """POST ``body`` to MLflow's ``path``; it must be a 400 INVALID_PARAMETER_VALUE."""
    response = httpx.post(f"{tracking_uri}/api/2.0/mlflow/{path}", json=body, timeout=20)
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    return response.text


# -- request validation, in MLflow's words ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        (
            "runs/log-metric",
            {"run_id": 31, "key": "m", "value": 41, "timestamp": 59, "step": 26},
            "Invalid value 31 for parameter 'run_id' supplied",
        ),
        (
            "runs/log-metric",
            {"run_id": "$RUN", "key": 31, "value": 41, "timestamp": 59, "step": 26},
            "Invalid value 31 for parameter 'key' supplied",
        ),
        (
            "runs/log-metric",
            {"run_id": "$RUN", "key": "m", "value": 1, "timestamp": 59, "step": "foo"},
            "Invalid value \\\"foo\\\" for parameter 'step' supplied",
        ),
        (
            "runs/log-metric",
            {"run_id": "$RUN", "key": "m", "value": 1, "timestamp": "foo", "step": 1},
            "Invalid value \\\"foo\\\" for parameter 'timestamp' supplied",
        ),
        (
            "runs/log-metric",
            {"run_id": None, "key": "m", "value": 1, "timestamp": 59, "step": 1},
            "Missing value for required parameter 'run_id'",
        ),
        (
            "runs/log-metric",
            {"run_id": "$RUN", "key": None, "value": 1, "timestamp": 59, "step": 1},
            "Missing value for required parameter 'key'",
        ),
        (
            "runs/log-parameter",
            {"run_id": "$RUN", "key": 31, "value": 41},
            "Invalid value 31 for parameter 'key' supplied",
        ),
        (
            "runs/set-tag",
            {"run_id": "$RUN", "key": "t", "value": 41},
            "Invalid value 41 for parameter 'value' supplied",
        ),
        (
            "runs/set-tag",
            {"run_id": "$RUN", "value": "v"},
            "Missing value for required parameter 'key'",
        ),
        (
            "runs/log-batch",
            {"run_id": "$RUN", "metrics": [{"key": "mae", "value": 2.5}]},
            "Missing value for required parameter 'metrics[0].timestamp'",
        ),
        ("runs/log-inputs", {"datasets": []}, "Missing value for required parameter 'run_id'"),
        ("experiments/create", {"name": 123}, "Invalid value 123 for parameter 'name'"),
        ("experiments/create", {}, "Missing value for required parameter 'name'."),
    ],
)
def test_bad_requests_are_refused_in_mlflows_words(
    tracking_uri: str, run_id: str, path: str, body: dict[str, Any], words: str
) -> None:
    body = {k: run_id if v == "$RUN" else v for k, v in body.items()}
    assert words in _refused(tracking_uri, path, body)


@pytest.mark.parametrize("field", ["metrics", "params", "tags"])
def test_batch_lists_of_the_wrong_type_are_named(
    tracking_uri: str, run_id: str, field: str
) -> None:
    text = _refused(tracking_uri, "runs/log-batch", {"run_id": run_id, field: "foo"})
    assert f"Invalid value \\\"foo\\\" for parameter '{field}' supplied" in text


def test_the_old_run_uuid_field_still_names_the_run(tracking_uri: str, run_id: str) -> None:
    body = {"run_uuid": run_id, "key": "k", "value": "v"}
    response = httpx.post(f"{tracking_uri}/api/2.0/mlflow/runs/set-tag", json=body, timeout=20)
    assert response.status_code == 200, response.text
    # A batch metric without a step is step 0, as the protocol's default says.
    metrics = [{"key": "mae", "value": 2.5, "timestamp": 123456789}]
    batch = {"run_id": run_id, "metrics": metrics}
    ok = httpx.post(f"{tracking_uri}/api/2.0/mlflow/runs/log-batch", json=batch, timeout=20)
    assert ok.status_code == 200, ok.text
    client = MlflowClient()
    assert client.get_run(run_id).data.tags["k"] == "v"
    assert [m.step for m in client.get_metric_history(run_id, "mae")] == [0]


# -- values, defaults and lookups --------------------------------------------------------------


def test_empty_strings_are_values(tracking_uri: str, experiment_name: str) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "p", "")
    client.set_tag(run_id, "t", "")
    client.log_batch(run_id, params=[Param("bp", "")], tags=[RunTag("bt", "")])
    client.set_experiment_tag(experiment_id, "e", "")
    data = client.get_run(run_id).data
    assert (data.params["p"], data.params["bp"], data.tags["t"], data.tags["bt"]) == ("",) * 4
    assert client.get_experiment(experiment_id).tags["e"] == ""

    name = _unique("empty")
    client.create_registered_model(name)
    client.set_registered_model_tag(name, "k", "")
    client.create_model_version(name, "runs:/run_id/model", "run_id")
    client.set_model_version_tag(name, "1", "k", "")
    assert client.get_registered_model(name).tags == {"k": ""}
    assert client.get_model_version(name, "1").tags == {"k": ""}


def test_defaults_renames_and_lookups(tracking_uri: str, experiment_name: str) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    run = client.create_run(experiment_id)
    assert client.get_run(run.info.run_id).info.user_id == "unknown"
    client.set_terminated(run.info.run_id, "FINISHED")
    client.update_run(run.info.run_id, name="renamed")
    info = client.get_run(run.info.run_id).info
    assert (info.run_name, info.status) == ("renamed", "FINISHED")
    assert info.end_time is not None and info.end_time <= _now()

    client.set_experiment_tag(experiment_id, "dataset", "imagenet")
    client.set_experiment_tag(experiment_id, "multi line", "a\nb\nc")
    client.delete_experiment_tag(experiment_id, "dataset")
    assert client.get_experiment(experiment_id).tags == {"multi line": "a\nb\nc"}
    assert client.get_experiment_by_name(_unique("absent")) is None


def test_a_run_keeps_every_argument_it_was_created_with(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    tags = {MLFLOW_USER: "someone", MLFLOW_SOURCE_NAME: "train.py", MLFLOW_PARENT_RUN_ID: "7"}
    created = client.create_run(experiment_id, start_time=456, run_name="my name", tags=tags)
    fetched = client.get_run(created.info.run_id)
    for run in (created, fetched):
        assert (run.info.experiment_id, run.info.user_id) == (experiment_id, "someone")
        assert (run.info.start_time, run.info.run_name) == (456, "my name")
        assert tags.items() <= run.data.tags.items()
    assert [r.info for r in client.search_runs([experiment_id])] == [fetched.info]


def test_the_mlflow_experiments_cli_works_unchanged(
    tracking_uri: str, experiment_name: str
) -> None:
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    cli = [sys.executable, "-m", "mlflow", "experiments"]

    def run(*args: str) -> None:
        done = subprocess.run(
            [*cli, *args], check=False, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr

    client = MlflowClient()
    run("create", "--experiment-name", experiment_name)
    experiment_id = client.get_experiment_by_name(experiment_name).experiment_id
    run("rename", "--experiment-id", experiment_id, "--new-name", f"{experiment_name}-2")
    assert client.get_experiment(experiment_id).name == f"{experiment_name}-2"
    run("delete", "-x", experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    run("restore", "-x", experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"


def test_a_run_records_the_models_it_read_and_wrote(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    run_id = client.create_run(experiment_id).info.run_id
    read = client.create_logged_model(experiment_id)
    written = client.create_logged_model(experiment_id)
    dataset = Dataset(name="train", digest="d1", source_type="local", source="data.csv")
    context = [InputTag(key="mlflow.data.context", value="training")]
    client.log_inputs(
        run_id,
        datasets=[DatasetInput(dataset=dataset, tags=context)],
        models=[LoggedModelInput(model_id=read.model_id)],
    )
    client.log_outputs(run_id, [LoggedModelOutput(written.model_id, 1)])
    run = client.get_run(run_id)
    assert [m.model_id for m in run.inputs.model_inputs] == [read.model_id]
    assert [(d.dataset.name, d.dataset.digest) for d in run.inputs.dataset_inputs] == [
        ("train", "d1")
    ]
    assert run.outputs.model_outputs == [LoggedModelOutput(written.model_id, 1)]


def test_runs_started_together_page_in_run_id_order(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    runs = sorted(client.create_run(experiment_id, start_time=1).info.run_id for _ in range(7))
    seen: list[str] = []
    page = client.search_runs([experiment_id], max_results=3)
    seen += [r.info.run_id for r in page]
    while page.token:
        page = client.search_runs([experiment_id], max_results=3, page_token=page.token)
        seen += [r.info.run_id for r in page]
    assert seen == runs
    with pytest.raises(
        MlflowException, match=r"Invalid value 123456789 for parameter 'max_results' supplied"
    ):
        client.search_runs([experiment_id], max_results=123456789)


# -- the registry ------------------------------------------------------------------------------


@pytest.mark.parametrize("max_results", [1, 4, 100])
@pytest.mark.parametrize(
    ("clause", "wanted"),
    [
        ("", lambda n: True),
        ("name LIKE '%{p}%7'", lambda n: n.endswith("7")),
        ("name ILIKE '%{p}%RM0%'", lambda n: "rm0" in n),
        ("name LIKE '%{p}%RM0%'", lambda n: False),
        ("name = '{p}-rm011'", lambda n: n.endswith("-rm011")),
    ],
    ids=["all", "like", "ilike", "like-is-case-sensitive", "equals"],
)
def test_registered_model_search_pages_through_every_match_in_name_order(
    tracking_uri: str, max_results: int, clause: str, wanted: Any
) -> None:
    client = MlflowClient()
    prefix = uuid.uuid4().hex[:8]
    names = [f"{prefix}-rm{i:03}" for i in range(12)]
    for name in names:
        client.create_registered_model(name)
    search = f"name LIKE '{prefix}-%'" + (f" AND {clause.format(p=prefix)}" if clause else "")
    found: list[str] = []
    page = client.search_registered_models(search, max_results=max_results)
    found += [m.name for m in page]
    while page.token:
        page = client.search_registered_models(
            search, max_results=max_results, page_token=page.token
        )
        found += [m.name for m in page]
    assert found == [n for n in names if wanted(n)]


@pytest.mark.filterwarnings("ignore::FutureWarning")  # mlflow's stage deprecation
def test_version_timestamps_numbers_and_words(tracking_uri: str) -> None:
    client = MlflowClient()
    name = _unique("timeline")
    before = _now()
    client.create_registered_model(name)
    created = client.get_registered_model(name)
    assert before <= created.creation_timestamp <= created.last_updated_timestamp <= _now()
    assert str(created.description) == "" and created.latest_versions == []

    for source in ("runs:/run_id/model", "runs:/run_id/other", "runs:/run_id/third"):
        client.create_model_version(name, source, "run_id")
    # Moving a version's stage touches the model; describing a version does not.
    start = _now()
    client.transition_model_version_stage(name, "1", "Staging")
    moved = client.get_registered_model(name).last_updated_timestamp
    assert start <= moved <= _now()
    assert start <= client.get_model_version(name, "1").last_updated_timestamp <= _now()
    client.update_model_version(name, "1", description="described")
    assert client.get_model_version(name, "1").description == "described"
    assert client.get_registered_model(name).last_updated_timestamp == moved
    # Deleting a version touches the model; numbers are never reused.
    start = _now()
    client.delete_model_version(name, "3")
    assert start <= client.get_registered_model(name).last_updated_timestamp <= _now()
    assert client.create_model_version(name, "runs:/run_id/model", "run_id").version == "4"
    assert {v.version for v in client.search_model_versions(f"name = '{name}'")} == {"1", "2", "4"}

    with pytest.raises(MlflowException) as raised:
        client.get_model_version(name, "something not correct")
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Parameter 'version' must be an integer, got 'something not correct'." in str(
        raised.value
    )
    client.rename_registered_model(name, f"{name} 2")
    with pytest.raises(MlflowException, match=f"Registered Model with name={name} not found"):
        client.get_registered_model(name)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("/tmp", "To use a local path as a model version source"),
        ("file:///tmp", "To use a local path as a model version source"),
        ("ftp://host/model", "Invalid model version source"),
        ("dbfs:/a/artifacts/../../..", "Invalid model version source"),
        ("mlflow-artifacts:/models", "Invalid model version source"),
        ("runs:/run_id/model", "The run_id request parameter must identify the resource"),
    ],
    ids=["path", "file-uri", "other-scheme", "dbfs", "not-a-run-folder", "contradicting-run"],
)
def test_unusable_version_sources_are_refused_in_mlflows_words(
    tracking_uri: str, source: str, words: str
) -> None:
    name = _unique("sources")
    MlflowClient().create_registered_model(name)
    body = {"name": name, "source": source, "run_id": "another_run"}
    assert words in _refused(tracking_uri, "model-versions/create", body)


# -- artifact media types ----------------------------------------------------------------------


def _filename(disposition: str) -> str | None:
    header = Message()
    header["content-disposition"] = disposition
    value = header.get_param("filename", header="content-disposition")
    return value if isinstance(value, str) else None


@pytest.mark.parametrize(
    ("filename", "media_type"),
    [
        ("a.txt", "text/plain"),
        ("train.log", "text/plain"),
        ("MLmodel", "text/plain"),
        ("MLproject", "text/plain"),
        ("conda.yaml", "text/plain"),
        ("b.pkl", "application/octet-stream"),
        ("c.png", "image/png"),
        ("d.pdf", "application/pdf"),
        ("no_extension", "application/octet-stream"),
    ],
)
def test_downloads_carry_the_files_media_type_whatever_is_asked(
    tracking_uri: str, run_id: str, tmp_path: Path, filename: str, media_type: str
) -> None:
    (tmp_path / filename).write_bytes(b"x")
    MlflowClient().log_artifact(run_id, str(tmp_path / filename), "dir")
    root = MlflowClient().get_run(run_id).info.artifact_uri.removeprefix("mlflow-artifacts:")
    url = f"{tracking_uri}/api/2.0/mlflow-artifacts/artifacts{root}/dir/{filename}"
    for accept in ("*/*", "text/html"):
        response = httpx.get(url, headers={"Accept": accept}, timeout=20)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == media_type
        assert response.headers["x-content-type-options"] == "nosniff"
        assert _filename(response.headers["content-disposition"]) == filename
        assert response.content == b"x"


def test_artifact_paths_list_and_download_as_logged(
    tracking_uri: str, experiment_name: str, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    (source / "dir").mkdir(parents=True)
    (source / "a.txt").write_text("0")
    (source / "dir" / "b.txt").write_text("1")
    mlflow.set_experiment(experiment_name)
    client = MlflowClient()
    with mlflow.start_run() as run:
        assert client.list_artifacts(run.info.run_id) == []
        mlflow.log_artifacts(str(source), artifact_path="artifact_path")
    run_id = run.info.run_id
    assert [a.path for a in client.list_artifacts(run_id)] == ["artifact_path"]
    assert [(a.path, a.is_dir) for a in client.list_artifacts(run_id, "artifact_path")] == [
        ("artifact_path/a.txt", False),
        ("artifact_path/dir", True),
    ]
    listed = httpx.get(
        f"{tracking_uri}/api/2.0/mlflow/artifacts/list",
        params={"run_id": run_id, "path": "artifact_path"},
        timeout=20,
    ).json()
    assert listed == {
        "root_uri": run.info.artifact_uri,
        "files": [
            {"path": "artifact_path/a.txt", "is_dir": False, "file_size": 1},
            {"path": "artifact_path/dir", "is_dir": True},
        ],
    }
    local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="artifact_path"))
    assert (local / "dir" / "b.txt").read_text() == "1"

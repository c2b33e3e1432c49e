"""MLflow 3 logged models through the unmodified client against a live Dockyard server."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus, Metric
from mlflow.exceptions import MlflowException
from tests.services.live_server import LiveServer

from dockyard.client.http import Client
from dockyard.models.pyfunc import load_model
from dockyard.models.uris import fetch_model

pytestmark = [
    # mlflow's own deprecation and schema-inference hints, raised inside mlflow.
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture(autouse=True)
def _mlflow_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # mlflow refuses to unpickle unless told (Dockyard checks digests instead); out of the
    # repository, log_model does not take this project's uv.lock for the model's requirements.
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture(scope="module")
def mlflow_sklearn() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow.pyfunc
        import mlflow.sklearn

    return mlflow


def _data() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(7)
    features = rng.random((30, 3))
    return features, features @ np.array([1.0, 2.0, 3.0])


def test_log_model_with_registered_model_name_registers_the_logged_model(
    tracking_uri: str, experiment_name: str, mlflow_sklearn: Any, tmp_path: Path
) -> None:
    from sklearn.linear_model import LinearRegression

    features, target = _data()
    estimator = LinearRegression().fit(features, target)
    name = f"reg-{experiment_name[-12:]}"
    mlflow.set_experiment(experiment_name)
    with mlflow.start_run() as run:
        mlflow.log_param("fit_intercept", True)
        mlflow.log_metric("rmse", 0.25, step=0)
        info = mlflow_sklearn.sklearn.log_model(
            estimator, name="model", registered_model_name=name, input_example=features[:2]
        )
    client = MlflowClient()

    assert info.model_uri == f"models:/{info.model_id}"
    assert str(info.registered_model_version) == "1"
    logged = client.get_logged_model(info.model_id)
    assert logged.status == LoggedModelStatus.READY
    assert logged.source_run_id == run.info.run_id
    assert logged.name == "model"
    assert logged.params == {"fit_intercept": "True"}
    # log_model links the run's metrics of the step it logged at.
    assert [(m.key, m.value, m.run_id) for m in logged.metrics] == [("rmse", 0.25, run.info.run_id)]
    # The server notes the version, and the client appends it once more (MLflow's server ends
    # up with the same two entries).
    noted = json.loads(logged.tags["mlflow.modelVersions"])
    assert {(v["name"], str(v["version"])) for v in noted} == {(name, "1")}
    assert logged.artifact_location == (
        f"mlflow-artifacts:/{logged.experiment_id}/models/{info.model_id}/artifacts"
    )
    version = client.get_model_version(name, "1")
    assert (version.source, version.run_id, version.status) == (
        f"models:/{info.model_id}",
        run.info.run_id,
        "READY",
    )
    outputs = client.get_run(run.info.run_id).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(info.model_id, 0)]

    expected = estimator.predict(features[:4])
    for uri in (info.model_uri, f"models:/{name}/1", f"runs:/{run.info.run_id}/model"):
        predicted = mlflow_sklearn.pyfunc.load_model(uri).predict(features[:4])
        np.testing.assert_allclose(predicted, expected)


def test_dockyard_resolves_logged_model_uris(
    tracking_uri: str,
    live_server: LiveServer,
    experiment_name: str,
    mlflow_sklearn: Any,
    tmp_path: Path,
) -> None:
    from sklearn.linear_model import LinearRegression

    features, target = _data()
    estimator = LinearRegression().fit(features, target)
    mlflow.set_experiment(experiment_name)
    with mlflow.start_run() as run:
        info = mlflow_sklearn.sklearn.log_model(estimator, name="model")
    expected = estimator.predict(features[:3])
    # Registering the run's path registers the model MLflow 3 logged under that name: a
    # verified copy of its files, not a reference.
    name = f"via-run-{experiment_name[-12:]}"
    mlflow_client = MlflowClient()
    mlflow_client.create_registered_model(name)
    version = mlflow_client.create_model_version(
        name, f"runs:/{run.info.run_id}/model", run.info.run_id
    )
    download = mlflow_client.get_model_version_download_uri(name, version.version)
    assert download.startswith("mlflow-artifacts:/registry/")
    with Client(live_server.url) as client:
        # Dockyard's own URIs reach the same files: the model's id, and the run's path that
        # MLflow 3 keeps as a logged model.
        for uri in (info.model_uri, f"runs:/{run.info.run_id}/model", f"models:/{name}/1"):
            local = fetch_model(uri, client=client, cache_dir=tmp_path / "cache")
            model = load_model(local.path, expected_digest=local.digest, allow_unverified=True)
            np.testing.assert_allclose(model.predict(features[:3]), expected)


def test_logged_model_lifecycle_params_tags_and_deletion(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    params = {f"p{i:03d}": str(i) for i in range(150)}  # more than one request's worth
    model = client.create_logged_model(
        experiment_id, name="net", params=params, tags={"team": "a"}, model_type="regressor"
    )
    assert model.model_id.startswith("m-") and len(model.model_id) == 34
    assert model.status == LoggedModelStatus.PENDING
    assert (model.params, model.model_type) == (params, "regressor")

    client.set_logged_model_tags(model.model_id, {"stage": "dev", "team": "b"})
    client.delete_logged_model_tag(model.model_id, "stage")
    with pytest.raises(MlflowException, match="No tag with key 'stage'"):
        client.delete_logged_model_tag(model.model_id, "stage")
    failed = client.finalize_logged_model(model.model_id, LoggedModelStatus.FAILED)
    assert failed.status == LoggedModelStatus.FAILED
    ready = client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    assert ready.status == LoggedModelStatus.READY
    assert ready.tags == {"team": "b"}
    assert ready.last_updated_timestamp >= model.creation_timestamp

    client.delete_logged_model(model.model_id)
    with pytest.raises(MlflowException, match=f"Logged model with ID '{model.model_id}' not found"):
        client.get_logged_model(model.model_id)
    deleted = httpx.get(
        f"{tracking_uri}/api/2.0/mlflow/logged-models/{model.model_id}",
        params={"allow_deleted": "true"},
    )
    assert deleted.json()["model"]["info"]["model_id"] == model.model_id
    assert client.search_logged_models([experiment_id]) == []


def test_unnamed_models_get_a_name_and_bad_names_are_refused(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    assert client.create_logged_model(experiment_id).name
    with pytest.raises(MlflowException, match="invalid model name") as raised:
        client.create_logged_model(experiment_id, name="a/b")
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as missing:
        client.get_logged_model("m-" + "0" * 32)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_filters_orders_and_pages_like_mlflow(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    run = client.create_run(experiment_id)
    run_id = run.info.run_id
    models = []
    for i, accuracy in enumerate([0.5, 0.9, 0.7, math.nan]):
        model = client.create_logged_model(
            experiment_id, name=f"m{i}", source_run_id=run_id, params={"depth": str(i)}
        )
        models.append(model.model_id)
        if not math.isnan(accuracy) or i == 3:
            client.log_batch(
                run_id,
                metrics=[
                    Metric("accuracy", accuracy, 1000 + i, 0, model_id=model.model_id),
                    Metric(
                        "loss",
                        1 - i,
                        1000 + i,
                        0,
                        model_id=model.model_id,
                        dataset_name="eval",
                        dataset_digest="d1",
                    ),
                ],
            )
    client.set_logged_model_tags(models[1], {"kind": "tree"})
    client.finalize_logged_model(models[2], LoggedModelStatus.READY)

    def ids(**kwargs: Any) -> list[str]:
        return [m.model_id for m in client.search_logged_models([experiment_id], **kwargs)]

    # Newest first by default.
    assert ids() == models[::-1]
    assert ids(filter_string="metrics.accuracy > 0.6") == [models[2], models[1]]
    assert ids(filter_string="params.depth = '2'") == [models[2]]
    assert ids(filter_string="tags.kind = 'tree'") == [models[1]]
    assert ids(filter_string="name LIKE 'm%' AND status = 'READY'") == [models[2]]
    assert ids(filter_string="name IN ('m0', 'm3')") == [models[3], models[0]]
    assert ids(filter_string=f"source_run_id = '{run_id}'") == models[::-1]
    assert ids(datasets=[{"dataset_name": "eval"}]) == models[::-1]
    assert ids(datasets=[{"dataset_name": "train"}]) == []
    # Ordered by a metric: NaN and missing values last, in both directions.
    by_accuracy = [{"field_name": "metrics.accuracy", "ascending": False}]
    assert ids(order_by=by_accuracy) == [models[1], models[2], models[0], models[3]]
    assert ids(order_by=[{"field_name": "name"}]) == models
    with pytest.raises(MlflowException, match="invalid filter") as bad:
        client.search_logged_models([experiment_id], filter_string="metrics.accuracy LIKE 'x'")
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"

    pages, token = [], None
    while True:
        page = client.search_logged_models([experiment_id], max_results=3, page_token=token)
        pages.append([m.model_id for m in page])
        token = page.token
        if not token:
            break
    assert pages == [models[::-1][:3], models[::-1][3:]]

    linked = client.get_logged_model(models[1]).metrics
    assert {(m.key, m.value, m.dataset_name) for m in linked} == {
        ("accuracy", 0.9, None),
        ("loss", 0.0, "eval"),
    }


def test_metrics_linked_to_an_unknown_model_are_refused(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    run_id = client.create_run(client.create_experiment(experiment_name)).info.run_id
    with pytest.raises(MlflowException, match="not found") as raised:
        client.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0, model_id="m-" + "1" * 32)])
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # Nothing of the batch was written.
    assert client.get_run(run_id).data.metrics == {}


def test_model_files_are_listed_through_both_doors(
    tracking_uri: str, experiment_name: str, tmp_path: Path
) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    model = client.create_logged_model(experiment_id, name="files")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "weights.bin").write_bytes(b"123")
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    client.log_model_artifacts(model.model_id, str(tmp_path))
    listed = client.list_logged_model_artifacts(model.model_id)
    assert sorted((f.path, f.is_dir) for f in listed) == [("MLmodel", False), ("d", True)]
    nested = client.list_logged_model_artifacts(model.model_id, path="d")
    assert [(f.path, f.file_size) for f in nested] == [("d/weights.bin", 3)]
    downloaded = mlflow.artifacts.download_artifacts(
        f"{model.artifact_location}/d/weights.bin", dst_path=str(tmp_path / "out")
    )
    assert Path(downloaded).read_bytes() == b"123"


def test_a_single_metric_links_to_a_model_with_its_dataset(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    run_id = client.create_run(experiment_id).info.run_id
    model = client.create_logged_model(experiment_id)
    client.log_metric(
        run_id,
        "auc",
        0.5,
        timestamp=123456789,
        step=1,
        dataset_name="holdout",
        dataset_digest="abc",
        model_id=model.model_id,
    )
    assert client.get_logged_model(model.model_id).metrics == [
        Metric(
            key="auc",
            value=0.5,
            timestamp=123456789,
            step=1,
            model_id=model.model_id,
            dataset_name="holdout",
            dataset_digest="abc",
            run_id=run_id,
        )
    ]
    assert client.get_run(run_id).data.metrics == {"auc": 0.5}


def test_a_runs_logged_models_and_their_files_through_the_native_api(
    tracking_uri: str, experiment_name: str, mlflow_sklearn: Any
) -> None:
    from sklearn.linear_model import LinearRegression

    features, target = _data()
    mlflow.set_experiment(experiment_name)
    with mlflow.start_run() as run:
        info = mlflow_sklearn.sklearn.log_model(LinearRegression().fit(features, target), name="m")
    with mlflow.start_run() as other:
        pass
    api = f"{tracking_uri}/api/v1"
    models = httpx.get(f"{api}/runs/{run.info.run_id}/logged-models").json()["models"]
    assert [(m["model_id"], m["name"], m["status"]) for m in models] == [
        (info.model_id, "m", "READY")
    ]
    assert httpx.get(f"{api}/runs/{other.info.run_id}/logged-models").json() == {"models": []}
    # The run's own artifacts hold none of it: the files are the model's.
    assert httpx.get(f"{api}/runs/{run.info.run_id}/artifacts").json()["files"] == []
    files = httpx.get(f"{api}/logged-models/{info.model_id}/artifacts").json()["files"]
    assert {"MLmodel", "requirements.txt"} <= {f["path"] for f in files if not f["is_dir"]}
    mlmodel = httpx.get(f"{api}/logged-models/{info.model_id}/artifacts/MLmodel")
    assert mlmodel.status_code == 200 and f"model_id: {info.model_id}" in mlmodel.text
    assert httpx.get(f"{api}/logged-models/{info.model_id}").json()["source_run_id"] == (
        run.info.run_id
    )
    # A deleted model leaves the run's list; bad names are refused by field.
    MlflowClient().delete_logged_model(info.model_id)
    assert httpx.get(f"{api}/runs/{run.info.run_id}/logged-models").json() == {"models": []}
    unknown = httpx.get(f"{api}/runs/{'0' * 32}/logged-models")
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "run_id"
    bad = httpx.get(f"{api}/logged-models/nope/artifacts")
    assert bad.status_code == 404 and bad.json()["error"]["field"] == "model_id"
    escape = httpx.get(f"{api}/logged-models/{info.model_id}/artifacts", params={"path": "../x"})
    assert escape.status_code in (400, 404)

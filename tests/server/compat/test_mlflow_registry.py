"""The unmodified MLflow client's model registry against a live Dockyard server."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from tests.services.live_server import live_server  # noqa: F401  (the session's server)

from dockyard.models import save_model

pytestmark = [
    # mlflow's signature inference hints about integer columns and compares a pandas Index with
    # a range, which pandas deprecates: both inside mlflow.
    pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer:UserWarning"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated"),
]


@pytest.fixture(scope="module")
def mlflow_pyfunc() -> Any:
    with warnings.catch_warnings():
        # Importing mlflow.pyfunc infers schemas for mlflow's own agent types and warns that one
        # of its hints is Any: mlflow's internals.
        warnings.filterwarnings(
            "ignore", message=".*Any type hint is inferred", category=UserWarning
        )
        import mlflow.pyfunc
        import mlflow.sklearn

    return mlflow


@pytest.fixture(autouse=True)
def _allow_mlflow_to_unpickle(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # mlflow refuses to unpickle unless told; Dockyard checks digests instead.
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    yield


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.random(40), "b": rng.random(40)})
    return frame, (frame["a"] * 2 + frame["b"] > 1.2).to_numpy().astype(np.int64)


@pytest.fixture(scope="module")
def estimator(data: tuple[pd.DataFrame, np.ndarray[Any, Any]]) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(*data)


@pytest.fixture
def model_name(request: pytest.FixtureRequest) -> str:
    return f"{request.node.name[:40].replace('[', '-').replace(']', '')}-{uuid.uuid4().hex[:8]}"


def _run_with_package(
    client: MlflowClient, experiment_name: str, package: Path, metric: float = 0.9
) -> str:
    experiment_id = client.create_experiment(experiment_name)
    run_id: str = client.create_run(experiment_id).info.run_id
    client.log_metric(run_id, "accuracy", metric)
    client.log_artifacts(run_id, str(package), "model")
    client.set_terminated(run_id)
    return run_id


def test_register_alias_search_and_load_by_alias(
    tracking_uri: str,
    experiment_name: str,
    model_name: str,
    tmp_path: Path,
    estimator: Any,
    data: Any,
    mlflow_pyfunc: Any,
) -> None:
    frame, _ = data
    save_model(estimator, tmp_path / "pkg", input_example=frame.head(3))
    client = MlflowClient()
    run_id = _run_with_package(client, experiment_name, tmp_path / "pkg")

    created = client.create_registered_model(model_name, tags={"team": "risk"}, description="d")
    assert created.name == model_name and created.tags == {"team": "risk"}
    first = client.create_model_version(model_name, f"runs:/{run_id}/model", run_id)
    second = client.create_model_version(model_name, f"runs:/{run_id}/model", run_id)
    assert (first.version, second.version) == ("1", "2")
    assert first.status == "READY" and first.run_id == run_id

    client.set_registered_model_alias(model_name, "champion", "1")
    client.set_registered_model_alias(model_name, "challenger", "2")
    client.set_registered_model_alias(model_name, "champion", "2")  # moving an alias
    assert client.get_model_version_by_alias(model_name, "champion").version == "2"
    assert client.get_registered_model(model_name).aliases == {"champion": "2", "challenger": "2"}
    found = client.search_model_versions(f"name='{model_name}'")
    assert sorted(v.version for v in found) == ["1", "2"]
    assert [v.version for v in client.search_model_versions(f"run_id = '{run_id}'")] == ["2", "1"]
    newest_first = client.search_model_versions(
        f"name = '{model_name}'", order_by=["version_number DESC"]
    )
    assert [v.version for v in newest_first] == ["2", "1"]
    assert [m.name for m in client.search_registered_models(f"name = '{model_name}'")] == [
        model_name
    ]

    loaded = mlflow_pyfunc.pyfunc.load_model(f"models:/{model_name}@champion")
    np.testing.assert_array_equal(np.asarray(loaded.predict(frame)), estimator.predict(frame))
    by_number = mlflow_pyfunc.pyfunc.load_model(f"models:/{model_name}/1")
    np.testing.assert_array_equal(np.asarray(by_number.predict(frame)), estimator.predict(frame))
    uri = client.get_model_version_download_uri(model_name, "1")
    assert uri.startswith("mlflow-artifacts:/registry/")

    client.delete_registered_model_alias(model_name, "challenger")
    assert client.get_registered_model(model_name).aliases == {"champion": "2"}


def test_register_model_from_an_mlflow_saved_package(
    tracking_uri: str,
    experiment_name: str,
    model_name: str,
    tmp_path: Path,
    estimator: Any,
    data: Any,
    mlflow_pyfunc: Any,
) -> None:
    frame, _ = data
    # Pinned requirements spare mlflow a subprocess that infers them.
    mlflow_pyfunc.sklearn.save_model(
        estimator,
        str(tmp_path / "pkg"),
        input_example=frame.head(3),
        pip_requirements=["scikit-learn"],
    )
    mlflow_pyfunc.set_experiment(experiment_name)
    with mlflow_pyfunc.start_run() as run:
        mlflow_pyfunc.log_metric("accuracy", 0.8)
        mlflow_pyfunc.log_artifacts(str(tmp_path / "pkg"), "model")
    version = mlflow_pyfunc.register_model(f"runs:/{run.info.run_id}/model", model_name)
    assert version.version == "1" and version.run_id == run.info.run_id
    # MLflow saved no digests: the registry computed them from the copy it made.
    native = httpx.get(f"{tracking_uri}/api/v1/registered-models/{model_name}/versions/1").json()
    assert native["sealed_by_registry"] is True and native["metrics"] == {"accuracy": 0.8}
    assert native["source"] == f"runs:/{run.info.run_id}/model"
    loaded = mlflow_pyfunc.pyfunc.load_model(f"models:/{model_name}/latest")
    np.testing.assert_array_equal(np.asarray(loaded.predict(frame)), estimator.predict(frame))


def test_descriptions_tags_rename_latest_and_delete(
    tracking_uri: str, experiment_name: str, model_name: str, tmp_path: Path, estimator: Any
) -> None:
    save_model(estimator, tmp_path / "pkg")
    client = MlflowClient()
    run_id = _run_with_package(client, experiment_name, tmp_path / "pkg")
    client.create_registered_model(model_name)
    client.create_model_version(model_name, f"runs:/{run_id}/model", run_id, tags={"k": "v"})
    client.update_registered_model(model_name, description="wine quality")
    client.update_model_version(model_name, "1", description="first")
    client.set_registered_model_tag(model_name, "owner", "ann")
    client.set_model_version_tag(model_name, "1", "validated", "yes")
    client.delete_model_version_tag(model_name, "1", "k")
    version = client.get_model_version(model_name, "1")
    assert version.description == "first" and version.tags == {"validated": "yes"}
    assert version.current_stage == "None"
    model = client.get_registered_model(model_name)
    assert model.description == "wine quality" and model.tags == {"owner": "ann"}
    assert [v.version for v in model.latest_versions] == ["1"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # stages are deprecated in MLflow
        assert [v.version for v in client.get_latest_versions(model_name)] == ["1"]
    client.delete_registered_model_tag(model_name, "owner")

    renamed = f"{model_name}-r"
    client.rename_registered_model(model_name, renamed)
    assert client.get_model_version(renamed, "1").run_id == run_id
    client.delete_model_version(renamed, "1")
    assert client.search_model_versions(f"name = '{renamed}'") == []
    client.delete_registered_model(renamed)
    with pytest.raises(MlflowException) as raised:
        client.get_registered_model(renamed)
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def _error(call: Any) -> MlflowException:
    with pytest.raises(MlflowException) as raised:
        call()
    return raised.value


def test_bad_input_answers_mlflow_error_codes(
    tracking_uri: str, experiment_name: str, model_name: str, tmp_path: Path, estimator: Any
) -> None:
    save_model(estimator, tmp_path / "pkg")
    client = MlflowClient()
    run_id = _run_with_package(client, experiment_name, tmp_path / "pkg")
    client.create_registered_model(model_name)
    client.create_model_version(model_name, f"runs:/{run_id}/model", run_id)

    missing_model = _error(lambda: client.get_registered_model(f"{model_name}-nope"))
    assert missing_model.error_code == "RESOURCE_DOES_NOT_EXIST"
    alias_missing = _error(lambda: client.set_registered_model_alias(model_name, "champion", "7"))
    assert (
        alias_missing.error_code == "RESOURCE_DOES_NOT_EXIST"
        and "version=7" in alias_missing.message
    )
    bad_alias = _error(lambda: client.set_registered_model_alias(model_name, "latest", "1"))
    assert bad_alias.error_code == "INVALID_PARAMETER_VALUE" and "reserved" in bad_alias.message
    bad_version = _error(lambda: client.get_model_version(model_name, "one"))
    assert bad_version.error_code == "INVALID_PARAMETER_VALUE" and "'one'" in bad_version.message
    exists = _error(lambda: client.create_registered_model(model_name))
    assert exists.error_code == "RESOURCE_ALREADY_EXISTS"

    client.delete_run(run_id)
    deleted = _error(lambda: client.create_model_version(model_name, f"runs:/{run_id}/model"))
    assert deleted.error_code == "INVALID_PARAMETER_VALUE" and "deleted" in deleted.message
    bad_order = _error(lambda: client.search_model_versions(order_by=["size DESC"]))
    assert bad_order.error_code == "INVALID_PARAMETER_VALUE" and "'size'" in bad_order.message
    bad_filter = _error(lambda: client.search_model_versions("version_number LIKE '1'"))
    assert bad_filter.error_code == "INVALID_PARAMETER_VALUE"
    assert "invalid filter at column 16" in bad_filter.message
    # MLflow's own limits on a search's page, with its words.
    too_many = _error(lambda: client.search_registered_models(max_results=1001))
    assert too_many.error_code == "INVALID_PARAMETER_VALUE"
    assert "It must be at most 1000, but got value 1001" in too_many.message
    too_many = _error(lambda: client.search_model_versions(max_results=200_001))
    assert too_many.error_code == "INVALID_PARAMETER_VALUE"
    assert "It must be at most 200000, but got value 200001" in too_many.message
    assert [m.name for m in client.search_registered_models(f"name = '{model_name}'", 1000)] == [
        model_name
    ]


def test_deleting_an_absent_tag_or_alias_is_a_no_op_as_in_mlflow(
    tracking_uri: str, experiment_name: str, model_name: str, tmp_path: Path, estimator: Any
) -> None:
    # Clean-up scripts delete tags and aliases whether or not they are set; MLflow's registry
    # answers them 200. An absent model or version is still an error.
    save_model(estimator, tmp_path / "pkg")
    client = MlflowClient()
    run_id = _run_with_package(client, experiment_name, tmp_path / "pkg")
    client.create_registered_model(model_name, tags={"keep": "1"})
    client.create_model_version(model_name, f"runs:/{run_id}/model", run_id, tags={"keep": "1"})
    client.set_registered_model_alias(model_name, "keep", "1")

    client.delete_registered_model_tag(model_name, "never-set")
    client.delete_model_version_tag(model_name, "1", "never-set")
    client.delete_registered_model_alias(model_name, "never-set")

    model = client.get_registered_model(model_name)
    assert model.tags == {"keep": "1"} and model.aliases == {"keep": "1"}
    assert client.get_model_version(model_name, "1").tags == {"keep": "1"}
    no_version = _error(lambda: client.delete_model_version_tag(model_name, "9", "keep"))
    assert no_version.error_code == "RESOURCE_DOES_NOT_EXIST" and "version=9" in no_version.message
    no_model = _error(lambda: client.delete_registered_model_alias(f"{model_name}-no", "keep"))
    assert no_model.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_an_absent_alias_answers_mlflow_code_and_words(
    tracking_uri: str, experiment_name: str, model_name: str, mlflow_pyfunc: Any
) -> None:
    client = MlflowClient()
    client.create_registered_model(model_name)
    absent = _error(lambda: client.get_model_version_by_alias(model_name, "champion"))
    assert absent.error_code == "INVALID_PARAMETER_VALUE"
    assert absent.message.endswith("Registered model alias champion not found.")
    loading = _error(lambda: mlflow_pyfunc.pyfunc.load_model(f"models:/{model_name}@champion"))
    assert loading.error_code == "INVALID_PARAMETER_VALUE"
    no_model = _error(lambda: client.get_model_version_by_alias(f"{model_name}-no", "champion"))
    assert no_model.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_registered_files_are_read_only_through_the_artifact_door(
    tracking_uri: str, experiment_name: str, model_name: str, tmp_path: Path, estimator: Any
) -> None:
    save_model(estimator, tmp_path / "pkg")
    client = MlflowClient()
    run_id = _run_with_package(client, experiment_name, tmp_path / "pkg")
    client.create_registered_model(model_name)
    client.create_model_version(model_name, f"runs:/{run_id}/model", run_id)
    key = client.get_model_version_download_uri(model_name, "1").removeprefix("mlflow-artifacts:/")
    door = f"{tracking_uri}/api/2.0/mlflow-artifacts/artifacts"
    listing = httpx.get(door, params={"path": key}).json()["files"]
    assert "MLmodel" in {f["path"] for f in listing}
    manifest = httpx.get(f"{door}/{key}/MLmodel")
    assert (
        manifest.status_code == 200
        and manifest.content == (tmp_path / "pkg" / "MLmodel").read_bytes()
    )
    overwrite = httpx.put(f"{door}/{key}/model.pkl", content=b"evil")
    assert overwrite.status_code == 400
    assert httpx.delete(f"{door}/{key}").status_code == 400
    unknown = httpx.get(door, params={"path": "registry/0123/1"})
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    client.delete_model_version(model_name, "1")
    gone = httpx.get(f"{door}/{key}/MLmodel")
    assert gone.status_code == 404


def test_version_search_breaks_ties_of_an_order_by_name_as_mlflow_does(
    tracking_uri: str, model_name: str
) -> None:
    # Sources this server does not hold are recorded as references: no packages needed.
    client = MlflowClient()
    first, second = f"{model_name}-a", f"{model_name}-b"
    for name in (first, second):
        client.create_registered_model(name)
    # first's version 1 is older than second's: the ties of "version_number DESC" must come
    # by name, not newest update first.
    for name in (first, second, second):
        client.create_model_version(name, "runs:/elsewhere/model", "elsewhere")
    found = client.search_model_versions(
        f"name LIKE '{model_name}-%'", order_by=["version_number DESC"]
    )
    assert [(v.name, v.version) for v in found] == [(second, "2"), (first, "1"), (second, "1")]
    by_name = client.search_model_versions(f"name LIKE '{model_name}-%'", order_by=["name DESC"])
    assert [(v.name, v.version) for v in by_name] == [(second, "2"), (second, "1"), (first, "1")]


@pytest.mark.parametrize("version", ["99999999999999999999999", "²", "0"])
def test_a_registry_key_with_no_version_number_is_not_found(
    tracking_uri: str, version: str
) -> None:
    # A number past what the database holds, or a digit int() does not read, was a 500.
    door = f"{tracking_uri}/api/2.0/mlflow-artifacts/artifacts"
    for answer in (
        httpx.get(f"{door}/registry/m/{version}/MLmodel"),
        httpx.get(door, params={"path": f"registry/m/{version}"}),
    ):
        assert answer.status_code == 404, answer.text
        assert answer.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_registered_models_order_by_timestamp_as_mlflow_documents(
    tracking_uri: str, model_name: str
) -> None:
    # MLflow's client documents "timestamp" (the last update) as the registry's order key; a
    # search ordered by it was refused as an unknown attribute.
    client = MlflowClient()
    names = [f"{model_name}-{suffix}" for suffix in ("a", "b", "c")]
    for name in names:
        client.create_registered_model(name)
    client.update_registered_model(names[0], description="updated last")
    search = f"name LIKE '{model_name}-%'"
    updated = {m.name: m.last_updated_timestamp for m in client.search_registered_models(search)}
    assert updated[names[0]] >= max(updated.values())
    newest_first = client.search_registered_models(search, order_by=["timestamp DESC"])
    # Ties (the same millisecond) go by name, as MLflow breaks them.
    assert [m.name for m in newest_first] == sorted(names, key=lambda n: (-updated[n], n))
    oldest_first = client.search_registered_models(search, order_by=["timestamp"])
    assert [m.name for m in oldest_first] == sorted(names, key=lambda n: (updated[n], n))
    twice = _error(
        lambda: client.search_registered_models(
            search, order_by=["timestamp", "last_updated_timestamp"]
        )
    )
    assert twice.error_code == "INVALID_PARAMETER_VALUE"
    # It orders, it does not filter: MLflow's registry has no such filter key either.
    not_a_filter = _error(lambda: client.search_registered_models(f"{search} and timestamp > 0"))
    assert not_a_filter.error_code == "INVALID_PARAMETER_VALUE"

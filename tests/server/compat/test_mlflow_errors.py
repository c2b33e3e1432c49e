"""The MLflow client sees MLflow's error codes, so code written against MLflow behaves the same."""

from __future__ import annotations

import time

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException


def _now() -> int:
    return int(time.time() * 1000)


def test_unknown_run_is_resource_does_not_exist(tracking_uri: str) -> None:
    with pytest.raises(MlflowException) as raised:
        MlflowClient().get_run("0" * 32)
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert raised.value.get_http_status_code() == 404


def test_unknown_experiment_is_resource_does_not_exist(tracking_uri: str) -> None:
    with pytest.raises(MlflowException) as raised:
        MlflowClient().get_experiment("987654321")
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_changing_a_logged_param_is_invalid_parameter_value(
    tracking_uri: str, experiment_name: str
) -> None:
    mlflow.set_experiment(experiment_name)
    with mlflow.start_run() as run:
        mlflow.log_param("lr", 0.1)
        mlflow.log_param("lr", 0.1)  # the same value again is accepted, as by MLflow
        with pytest.raises(MlflowException) as raised:
            mlflow.log_param("lr", 0.2)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "lr" in raised.value.message
    assert mlflow.get_run(run.info.run_id).data.params == {"lr": "0.1"}


def test_duplicate_experiment_is_resource_already_exists(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    client.create_experiment(experiment_name)
    with pytest.raises(MlflowException) as raised:
        client.create_experiment(experiment_name)
    assert raised.value.error_code == "RESOURCE_ALREADY_EXISTS"


@pytest.mark.parametrize(
    "filter_string",
    ["metrics.rmse <", "nonsense = 1", "params.x > 'a' and", "metrics.rmse = 'text'"],
    ids=["truncated", "unknown-entity", "dangling-and", "metric-vs-string"],
)
def test_invalid_search_filter_is_invalid_parameter_value(
    tracking_uri: str, experiment_name: str, filter_string: str
) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    with pytest.raises(MlflowException) as raised:
        client.search_runs([experiment_id], filter_string)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_invalid_order_by_is_invalid_parameter_value(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    with pytest.raises(MlflowException) as raised:
        client.search_runs([experiment_id], order_by=["metrics.rmse SIDEWAYS"])
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    ("metrics", "params", "tags", "message"),
    [
        (1001, 0, 0, "at most 1000 metrics. Got 1001 metrics"),
        (0, 101, 0, "at most 100 params. Got 101 params"),
        (0, 0, 101, "at most 100 tags. Got 101 tags"),
        (950, 60, 0, "at most 1000 metrics, params, and tags. Got 1010"),
    ],
    ids=["metrics", "params", "tags", "total"],
)
def test_over_limit_batch_is_refused_with_mlflows_message(
    tracking_uri: str, experiment_name: str, metrics: int, params: int, tags: int, message: str
) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(experiment_name))
    # MlflowClient.log_batch splits big batches itself; the store sends one request as given,
    # as any other MLflow client may.
    store = client._tracking_client.store
    with pytest.raises(MlflowException) as raised:
        store.log_batch(
            run.info.run_id,
            metrics=[Metric(f"m{i}", 1.0, _now(), 0) for i in range(metrics)],
            params=[Param(f"p{i}", "v") for i in range(params)],
            tags=[RunTag(f"t{i}", "v") for i in range(tags)],
        )
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert message in raised.value.message
    # Nothing of a refused batch was written.
    fetched = client.get_run(run.info.run_id)
    assert (fetched.data.metrics, fetched.data.params) == ({}, {})


@pytest.mark.parametrize(
    ("key", "value"),
    [("k" * 251, "v"), ("bad key!", "v"), ("../escape", "v")],
    ids=["long-key", "bad-character", "path-escape"],
)
def test_bad_param_is_invalid_parameter_value(
    tracking_uri: str, experiment_name: str, key: str, value: str
) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(experiment_name))
    with pytest.raises(MlflowException) as raised:
        client.log_param(run.info.run_id, key, value)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run.info.run_id).data.params == {}


def test_long_param_and_tag_values_are_truncated_as_by_mlflow(
    tracking_uri: str, experiment_name: str
) -> None:
    # MLflow's server cuts a run's param values to 6000 characters and its tag values to 8000
    # (MLFLOW_TRUNCATE_LONG_VALUES, on by default): a long config or description is logged.
    mlflow.set_experiment(experiment_name)
    with mlflow.start_run(description="d" * 9000) as run:
        mlflow.log_param("config", "p" * 7000)
        mlflow.log_param("config", "p" * 6500)  # the same value once cut: accepted again
        mlflow.set_tag("notes", "t" * 9000)
        mlflow.log_params({"a": "a" * 6001, "b": "short"})
        mlflow.set_tags({"c": "c" * 8001})
    data = MlflowClient().get_run(run.info.run_id).data
    assert data.params == {"config": "p" * 6000, "a": "a" * 6000, "b": "short"}
    assert (data.tags["notes"], data.tags["c"]) == ("t" * 8000, "c" * 8000)
    assert data.tags["mlflow.note.content"] == "d" * 8000


def test_logging_to_a_deleted_run_is_invalid_parameter_value(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(experiment_name))
    client.delete_run(run.info.run_id)
    with pytest.raises(MlflowException) as raised:
        client.log_metric(run.info.run_id, "m", 1.0)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_runs_cannot_start_in_a_deleted_experiment(tracking_uri: str, experiment_name: str) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    client.delete_experiment(experiment_id)
    with pytest.raises(MlflowException) as raised:
        client.create_run(experiment_id)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_unsupported_features_answer_endpoint_not_found(tracking_uri: str) -> None:
    # GenAI tracing is out of scope (see the compat package's docstring).
    with pytest.raises(MlflowException) as raised:
        MlflowClient().get_trace("tr-0123456789abcdef")
    assert raised.value.error_code == "ENDPOINT_NOT_FOUND"


def test_a_nul_character_is_invalid_parameter_value_naming_its_field(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    with pytest.raises(MlflowException) as raised:
        client.get_experiment_by_name("a\x00b")  # in the query string
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "'experiment_name'" in raised.value.message
    run = client.create_run(client.create_experiment(experiment_name))
    with pytest.raises(MlflowException) as raised:
        client.set_tag(run.info.run_id, "team", "a\x00b")  # in the JSON body
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "'value'" in raised.value.message and "NUL" in raised.value.message
    assert "team" not in client.get_run(run.info.run_id).data.tags

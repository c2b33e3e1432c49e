"""The unmodified MLflow client against a live Dockyard server: runs, params, metrics, search."""

from __future__ import annotations

import math
import time

import httpx
import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType
from mlflow.exceptions import MlflowException


def _now() -> int:
    return int(time.time() * 1000)


def test_fluent_run_records_params_metrics_tags_and_status(
    tracking_uri: str, experiment_name: str
) -> None:
    experiment = mlflow.set_experiment(experiment_name)
    with mlflow.start_run(run_name="first") as run:
        mlflow.log_param("depth", 5)
        mlflow.log_params({"lr": 0.1, "opt": "adam"})
        for step, loss in enumerate([0.9, 0.5, 0.25]):
            mlflow.log_metric("loss", loss, step=step)
        mlflow.log_metrics({"acc": 0.75, "f1": 0.5})
        mlflow.set_tag("team", "a")
        mlflow.set_tags({"stage": "dev"})
    fetched = mlflow.get_run(run.info.run_id)

    assert fetched.info.experiment_id == experiment.experiment_id
    assert fetched.info.run_name == "first"
    assert fetched.info.status == "FINISHED"
    assert fetched.info.end_time is not None
    assert fetched.info.end_time >= fetched.info.start_time
    assert fetched.info.artifact_uri == (
        f"mlflow-artifacts:/{experiment.experiment_id}/{run.info.run_id}/artifacts"
    )
    assert fetched.data.params == {"depth": "5", "lr": "0.1", "opt": "adam"}
    # The run shows each metric's latest value: the one at the highest step.
    assert fetched.data.metrics == {"loss": 0.25, "acc": 0.75, "f1": 0.5}
    assert fetched.data.tags["team"] == "a"
    assert fetched.data.tags["stage"] == "dev"
    assert fetched.data.tags["mlflow.runName"] == "first"
    assert "mlflow.source.name" in fetched.data.tags

    history = MlflowClient().get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.5), (2, 0.25)]


def test_client_run_lifecycle_update_delete_restore(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    run = client.create_run(experiment_id, run_name="r", start_time=1_000, tags={"k": "v"})
    assert run.info.status == "RUNNING"
    assert run.info.start_time == 1_000

    client.update_run(run.info.run_id, name="renamed")
    client.set_terminated(run.info.run_id, status="KILLED", end_time=2_000)
    info = client.get_run(run.info.run_id).info
    assert (info.run_name, info.status, info.end_time) == ("renamed", "KILLED", 2_000)

    client.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([experiment_id]) == []
    deleted = client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [run.info.run_id]

    client.restore_run(run.info.run_id)
    assert [r.info.run_id for r in client.search_runs([experiment_id])] == [run.info.run_id]

    client.delete_tag(run.info.run_id, "k")
    assert "k" not in client.get_run(run.info.run_id).data.tags


def test_log_batch_and_the_client_splitting_large_batches(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(experiment_name))
    now = _now()
    # 2,500 points: the client splits them into batches of at most 1,000, as for MLflow.
    metrics = [Metric("m", float(i), now + i, i) for i in range(2_500)]
    params = [Param(f"p{i}", str(i)) for i in range(150)]
    client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=[RunTag("t", "x")])

    fetched = client.get_run(run.info.run_id)
    assert fetched.data.metrics == {"m": 2_499.0}
    assert len(fetched.data.params) == 150
    assert fetched.data.tags["t"] == "x"
    history = client.get_metric_history(run.info.run_id, "m")
    assert [m.value for m in history] == [float(i) for i in range(2_500)]


@pytest.mark.slow
def test_metric_history_longer_than_one_page(tracking_uri: str, experiment_name: str) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(experiment_name))
    # The client pages get-history 25,000 points at a time; this needs two pages.
    points = 25_000 + 1_234
    store = client._tracking_client.store
    now = _now()
    for start in range(0, points, 1_000):
        batch = [Metric("loss", i / 7, now, i) for i in range(start, min(start + 1_000, points))]
        store.log_batch(run.info.run_id, metrics=batch, params=[], tags=[])

    history = client.get_metric_history(run.info.run_id, "loss")
    assert len(history) == points
    assert [m.step for m in history] == list(range(points))
    assert history[-1].value == (points - 1) / 7


def test_non_finite_metric_values_round_trip(tracking_uri: str, experiment_name: str) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(experiment_name))
    for step, value in enumerate([math.nan, math.inf, -math.inf, 1e308]):
        client.log_metric(run.info.run_id, "odd", value, step=step)

    values = [m.value for m in client.get_metric_history(run.info.run_id, "odd")]
    assert math.isnan(values[0])
    assert values[1:] == [math.inf, -math.inf, 1e308]


def _seed_runs(client: MlflowClient, experiment_id: str) -> dict[str, str]:
    ids = {}
    for name, rmse, depth, team, finish in [
        ("a", 0.5, "3", "red", True),
        ("b", 0.8, "5", "blue", True),
        ("c", 1.5, "5", "red", False),
    ]:
        run = client.create_run(experiment_id, run_name=name, tags={"team": team})
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("rmse", rmse, _now(), 0)],
            params=[Param("depth", depth)],
        )
        if finish:
            client.set_terminated(run.info.run_id)
        ids[name] = run.info.run_id
    return ids


@pytest.mark.parametrize(
    ("filter_string", "order_by", "expected"),
    [
        ("metrics.rmse < 1", ["metrics.rmse DESC"], ["b", "a"]),
        ("params.depth = '5'", ["metrics.rmse ASC"], ["b", "c"]),
        ("tags.team = 'red'", ["attributes.run_name DESC"], ["c", "a"]),
        ("attributes.status = 'FINISHED' and metrics.rmse > 0.6", [], ["b"]),
        ("attributes.run_name LIKE '%'", ["metrics.rmse DESC"], ["c", "b", "a"]),
    ],
    ids=["metric", "param", "tag", "status-and-metric", "like"],
)
def test_search_runs_filters_and_orders(
    tracking_uri: str,
    experiment_name: str,
    filter_string: str,
    order_by: list[str],
    expected: list[str],
) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    ids = _seed_runs(client, experiment_id)
    runs = client.search_runs([experiment_id], filter_string, order_by=order_by)
    by_id = {v: k for k, v in ids.items()}
    assert [by_id[r.info.run_id] for r in runs] == expected


def test_search_runs_as_a_dataframe(tracking_uri: str, experiment_name: str) -> None:
    experiment = mlflow.set_experiment(experiment_name)
    _seed_runs(MlflowClient(), experiment.experiment_id)
    frame = mlflow.search_runs(
        experiment_ids=[experiment.experiment_id],
        filter_string="metrics.rmse >= 0.8",
        order_by=["metrics.rmse DESC"],
    )
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["tags.mlflow.runName"]) == ["c", "b"]
    assert list(frame["metrics.rmse"]) == [1.5, 0.8]
    assert list(frame["params.depth"]) == ["5", "5"]
    assert list(frame["status"]) == ["RUNNING", "FINISHED"]


def test_search_runs_pages_with_tokens(tracking_uri: str, experiment_name: str) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name)
    created = {client.create_run(experiment_id).info.run_id for _ in range(5)}
    seen: list[str] = []
    page = client.search_runs([experiment_id], max_results=2)
    while True:
        assert len(page) <= 2
        seen += [r.info.run_id for r in page]
        if not page.token:
            break
        page = client.search_runs([experiment_id], max_results=2, page_token=page.token)
    assert sorted(seen) == sorted(created)


def test_nested_runs_carry_their_parent(tracking_uri: str, experiment_name: str) -> None:
    mlflow.set_experiment(experiment_name)
    with mlflow.start_run() as parent, mlflow.start_run(nested=True) as child:
        mlflow.log_metric("c", 1.0)
    fetched = mlflow.get_run(child.info.run_id)
    assert fetched.data.tags["mlflow.parentRunId"] == parent.info.run_id
    children = MlflowClient().search_runs(
        [parent.info.experiment_id],
        f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    assert [r.info.run_id for r in children] == [child.info.run_id]


def test_experiments_search_rename_tags_delete_restore(
    tracking_uri: str, experiment_name: str
) -> None:
    client = MlflowClient()
    experiment_id = client.create_experiment(experiment_name, tags={"owner": "me"})
    assert client.get_experiment(experiment_id).tags == {"owner": "me"}
    assert client.get_experiment_by_name(experiment_name).experiment_id == experiment_id
    assert client.get_experiment_by_name(f"{experiment_name}-missing") is None

    client.set_experiment_tag(experiment_id, "stage", "prod")
    client.delete_experiment_tag(experiment_id, "owner")
    assert client.get_experiment(experiment_id).tags == {"stage": "prod"}
    with pytest.raises(MlflowException) as absent:  # as MLflow's own server answers
        client.delete_experiment_tag(experiment_id, "owner")
    assert absent.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert f"No tag with name: owner in experiment with id {experiment_id}" in str(absent.value)

    renamed = f"{experiment_name}-renamed"
    client.rename_experiment(experiment_id, renamed)
    found = client.search_experiments(filter_string=f"name LIKE '{renamed[:20]}%'")
    assert [e.experiment_id for e in found] == [experiment_id]
    assert [e.name for e in client.search_experiments(filter_string=f"name = '{renamed}'")] == [
        renamed
    ]

    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    active = {e.experiment_id for e in mlflow.search_experiments()}
    assert experiment_id not in active
    deleted = client.search_experiments(view_type=ViewType.DELETED_ONLY)
    assert experiment_id in {e.experiment_id for e in deleted}

    client.restore_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"


# mlflow's pandas dataset profile calls DataFrame.all() positionally, which pandas deprecates.
@pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0:pandas.errors.Pandas4Warning")
def test_log_input_records_a_dataset(tracking_uri: str, experiment_name: str) -> None:
    mlflow.set_experiment(experiment_name)
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]})
    source = "https://data.example/train.csv"  # an HTTP source is recorded, never fetched
    dataset = mlflow.data.from_pandas(frame, source=source, name="train")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
    inputs = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    assert [(i.dataset.name, i.dataset.digest) for i in inputs] == [("train", dataset.digest)]
    assert {t.key: t.value for t in inputs[0].tags} == {"mlflow.data.context": "training"}


def test_run_status_is_failed_when_the_block_raises(
    tracking_uri: str, experiment_name: str
) -> None:
    mlflow.set_experiment(experiment_name)
    with pytest.raises(RuntimeError), mlflow.start_run() as run:
        raise RuntimeError("boom")
    assert mlflow.get_run(run.info.run_id).info.status == RunStatus.to_string(RunStatus.FAILED)


def test_a_finished_run_can_be_resumed(tracking_uri: str, experiment_name: str) -> None:
    mlflow.set_experiment(experiment_name)
    with mlflow.start_run() as run:
        mlflow.log_metric("m", 1.0, step=0)
    with mlflow.start_run(run_id=run.info.run_id):
        assert mlflow.get_run(run.info.run_id).info.status == "RUNNING"
        mlflow.log_metric("m", 2.0, step=1)
    fetched = mlflow.get_run(run.info.run_id)
    assert (fetched.info.status, fetched.data.metrics) == ("FINISHED", {"m": 2.0})


def test_search_runs_across_all_experiments(tracking_uri: str, experiment_name: str) -> None:
    client = MlflowClient()
    ids = {
        client.create_run(client.create_experiment(f"{experiment_name}-{i}")).info.run_id
        for i in range(2)
    }
    tag = experiment_name.replace("-", "_")
    for run_id in ids:
        client.set_tag(run_id, "probe", tag)
    frame = mlflow.search_runs(search_all_experiments=True, filter_string=f"tags.probe = '{tag}'")
    assert set(frame["run_id"]) == ids


def test_the_default_experiment_has_a_creation_time(tracking_uri: str) -> None:
    default = MlflowClient().get_experiment("0")
    assert default.name == "Default"
    assert isinstance(default.creation_time, int) and default.creation_time > 1_600_000_000_000
    assert default.last_update_time >= default.creation_time
    native = httpx.get(f"{tracking_uri}/api/v1/experiments/0").json()
    assert native["creation_time"] == default.creation_time

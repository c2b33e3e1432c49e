"""One tracking-store suite, run on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.api.tracking import (
    CreateExperiment,
    CreateRun,
    DatasetInput,
    LifecycleStage,
    LogBatch,
    LogInputs,
    MetricIn,
    ParamIn,
    RunStatus,
    SearchRuns,
    TagIn,
    UpdateRun,
    ViewType,
)
from dockyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from dockyard.server.actor import Actor
from dockyard.server.auth import Access
from dockyard.server.events import EventLog
from dockyard.server.store import open_database
from dockyard.server.tracking import SeriesAxis, SeriesWindow, TrackingService
from dockyard.server.tracking._series import sample_indices

ACTOR = Actor.anonymous()


@pytest.fixture(params=["sqlite", "postgres"])
def tracking(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[TrackingService]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/t.db"
    else:
        url = request.getfixturevalue("postgres_url")
    db = open_database(url)
    yield TrackingService(db, EventLog(db), Access())
    db.dispose()


def _run(tracking: TrackingService, experiment_id: str = "0", **kw: Any) -> str:
    return tracking.create_run(ACTOR, CreateRun(experiment_id=experiment_id, **kw)).info.run_id


def test_experiment_lifecycle(tracking: TrackingService) -> None:
    exp = tracking.create_experiment(
        ACTOR, CreateExperiment(name="fraud", tags=[TagIn(key="team", value="risk")])
    )
    assert exp.name == "fraud" and exp.tags == {"team": "risk"}
    assert tracking.get_experiment_by_name(ACTOR, "fraud").experiment_id == exp.experiment_id
    with pytest.raises(AlreadyExists):
        tracking.create_experiment(ACTOR, CreateExperiment(name="fraud"))
    renamed = tracking.rename_experiment(ACTOR, exp.experiment_id, "fraud-v2")
    assert renamed.name == "fraud-v2"
    tracking.set_experiment_stage(ACTOR, exp.experiment_id, LifecycleStage.DELETED)
    active = [e.name for e in tracking.search_experiments(ACTOR).items]
    deleted = [e.name for e in tracking.search_experiments(ACTOR, view=ViewType.DELETED_ONLY).items]
    assert "fraud-v2" not in active and deleted == ["fraud-v2"]
    with pytest.raises(InvalidArgument, match="deleted"):
        _run(tracking, exp.experiment_id)
    tracking.set_experiment_stage(ACTOR, exp.experiment_id, LifecycleStage.ACTIVE)
    assert _run(tracking, exp.experiment_id)


def test_experiment_paging(tracking: TrackingService) -> None:
    for i in range(5):
        tracking.create_experiment(ACTOR, CreateExperiment(name=f"e{i}"))
    seen: list[str] = []
    token = None
    while True:
        page = tracking.search_experiments(ACTOR, max_results=2, page_token=token)
        seen += [e.name for e in page.items]
        token = page.next_page_token
        if token is None:
            break
    assert seen == ["Default", "e0", "e1", "e2", "e3", "e4"]
    with pytest.raises(InvalidArgument, match="page_token"):
        tracking.search_experiments(ACTOR, page_token="garbage!")


def test_unknown_ids_are_not_found(tracking: TrackingService) -> None:
    with pytest.raises(NotFound, match="experiment 999"):
        tracking.get_experiment(ACTOR, "999")
    with pytest.raises(NotFound, match="run"):
        tracking.get_run(ACTOR, "0" * 32)
    with pytest.raises(NotFound):
        tracking.log_batch(ACTOR, "0" * 32, LogBatch())


def test_run_lifecycle_and_data(tracking: TrackingService) -> None:
    run = tracking.create_run(
        ACTOR, CreateRun(run_name="first", tags=[TagIn(key="team", value="a")])
    )
    run_id = run.info.run_id
    assert run.info.status is RunStatus.RUNNING and run.info.end_time is None
    assert run.tags["mlflow.runName"] == "first"
    tracking.log_batch(
        ACTOR,
        run_id,
        LogBatch(
            params=[ParamIn(key="max_depth", value="5")],
            tags=[TagIn(key="stage", value="dev")],
            metrics=[
                MetricIn(key="rmse", value=v, timestamp=1000 + s, step=s)
                for s, v in enumerate([3.0, 2.0, 1.5])
            ],
        ),
    )
    info = tracking.update_run(ACTOR, run_id, UpdateRun(status=RunStatus.FINISHED))
    assert info.status is RunStatus.FINISHED and info.end_time is not None
    got = tracking.get_run(ACTOR, run_id)
    assert got.params == {"max_depth": "5"}
    assert got.tags["stage"] == "dev" and got.tags["team"] == "a"
    assert got.metrics["rmse"].value == 1.5 and got.metrics["rmse"].step == 2


def test_params_are_immutable(tracking: TrackingService) -> None:
    run_id = _run(tracking)
    tracking.log_batch(ACTOR, run_id, LogBatch(params=[ParamIn(key="lr", value="0.1")]))
    tracking.log_batch(
        ACTOR, run_id, LogBatch(params=[ParamIn(key="lr", value="0.1")])
    )  # same: fine
    with pytest.raises(Conflict, match="immutable") as caught:
        tracking.log_batch(ACTOR, run_id, LogBatch(params=[ParamIn(key="lr", value="0.2")]))
    assert caught.value.field == "params.lr"
    assert tracking.get_run(ACTOR, run_id).params == {"lr": "0.1"}


def test_failed_batch_writes_nothing(tracking: TrackingService) -> None:
    run_id = _run(tracking)
    tracking.log_batch(ACTOR, run_id, LogBatch(params=[ParamIn(key="lr", value="0.1")]))
    bad = LogBatch(
        params=[ParamIn(key="lr", value="0.9")],
        metrics=[MetricIn(key="loss", value=1.0, timestamp=1)],
    )
    with pytest.raises(Conflict):
        tracking.log_batch(ACTOR, run_id, bad)
    assert "loss" not in tracking.get_run(ACTOR, run_id).metrics


def test_history_keeps_every_point_and_latest_follows_step(tracking: TrackingService) -> None:
    run_id = _run(tracking)
    points = [MetricIn(key="loss", value=float(100 - s), timestamp=s, step=s) for s in range(250)]
    for start in range(0, 250, 100):
        tracking.log_batch(ACTOR, run_id, LogBatch(metrics=points[start : start + 100]))
    # An older step logged later must not become "latest".
    tracking.log_batch(
        ACTOR, run_id, LogBatch(metrics=[MetricIn(key="loss", value=-1, timestamp=9999, step=3)])
    )
    got: list[float] = []
    token = None
    while True:
        page = tracking.metric_history(ACTOR, run_id, "loss", max_results=100, page_token=token)
        got += [m.value for m in page.items]
        token = page.next_page_token
        if token is None:
            break
    assert len(got) == 251
    assert tracking.get_run(ACTOR, run_id).metrics["loss"].step == 249


def test_series_sampled_in_the_database_match_the_python_rule(tracking: TrackingService) -> None:
    """The database picks each bucket's lowest and highest point (a dialect's own SQL); it must
    pick what :func:`sample_indices` picks from every point."""
    run_id = _run(tracking)
    rng = random.Random(7)
    points = []
    for s in range(3000):
        value = math.sin(s / 200) + rng.random() / 10  # distinct values: no ties to break
        if 1000 <= s < 1100:
            value = math.nan  # a NaN stretch, a bucket and more
        points.append(MetricIn(key="m", value=value, timestamp=10_000 + 3 * s, step=2 * s - 500))
    points[2222] = points[2222].model_copy(update={"value": math.inf})
    tracking.log_batch(ACTOR, run_id, LogBatch(metrics=points[:2000]))
    tracking.log_batch(ACTOR, run_id, LogBatch(metrics=points[2000:]))
    for window in (
        SeriesWindow(max_points=100),
        SeriesWindow(max_points=101, x_min=-100, x_max=4000),
        SeriesWindow(max_points=64, x=SeriesAxis.TIMESTAMP, x_min=12_000),
    ):
        (got,) = tracking.metric_series(ACTOR, [run_id], "m", window)
        inside = [
            p
            for p in points
            if (window.x_min or -(2**63))
            <= (p.step if window.x is SeriesAxis.STEP else p.timestamp)
            <= (window.x_max or 2**63)
        ]
        xs = [p.step if window.x is SeriesAxis.STEP else p.timestamp for p in inside]
        keep = sample_indices(xs, [p.value for p in inside], window.max_points // 2)
        want = [inside[i] for i in keep]
        assert got.sampled and got.total == len(inside)
        assert len(got.steps) == len(want) <= window.max_points
        # Which NaN of an all-NaN bucket stands for it is the database's choice.
        numbers = [(p.step, p.timestamp, p.value) for p in want if not math.isnan(p.value)]
        got_points = zip(got.steps, got.timestamps, got.values, strict=True)
        assert [p for p in got_points if not math.isnan(p[2])] == numbers
        assert math.inf in got.values or window.x_min == 12_000
        assert any(math.isnan(v) for v in got.values) == (window.x_min != 12_000)


def test_series_of_a_span_too_wide_for_64_bits(tracking: TrackingService) -> None:
    run_id = _run(tracking)
    steps = [-(2**62), -5, 0, 7, 2**62, 2**63 - 1, *range(100, 200)]
    points = [
        MetricIn(key="m", value=float(i % 7), timestamp=1, step=s) for i, s in enumerate(steps)
    ]
    tracking.log_batch(ACTOR, run_id, LogBatch(metrics=points))
    (got,) = tracking.metric_series(ACTOR, [run_id], "m", SeriesWindow(max_points=10))
    assert got.sampled and got.total == len(steps) and 2 <= len(got.steps) <= 10
    assert min(got.values) == 0.0 and max(got.values) == 6.0


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_non_finite_metrics_round_trip(tracking: TrackingService, value: float) -> None:
    run_id = _run(tracking)
    tracking.log_batch(
        ACTOR, run_id, LogBatch(metrics=[MetricIn(key="m", value=value, timestamp=1)])
    )
    latest = tracking.get_run(ACTOR, run_id).metrics["m"].value
    history = tracking.metric_history(ACTOR, run_id, "m", max_results=10, page_token=None).items
    for got in (latest, history[0].value):
        assert (math.isnan(got) and math.isnan(value)) or got == value


def test_batch_id_makes_retries_idempotent(tracking: TrackingService) -> None:
    run_id = _run(tracking)
    batch = LogBatch(batch_id="retry-me-123", metrics=[MetricIn(key="m", value=1, timestamp=1)])
    tracking.log_batch(ACTOR, run_id, batch)
    tracking.log_batch(ACTOR, run_id, batch)
    assert (
        len(tracking.metric_history(ACTOR, run_id, "m", max_results=10, page_token=None).items) == 1
    )


def test_a_point_identical_in_every_field_is_stored_once(tracking: TrackingService) -> None:
    run_id = _run(tracking)

    def point(value: float, timestamp: int = 1, step: int = 0, key: str = "m") -> MetricIn:
        return MetricIn(key=key, value=value, timestamp=timestamp, step=step)

    # A retry without batch_id (the mlflow client's log_metric after a lost answer), twice in
    # one batch, and NaN, which is stored as a flag.
    tracking.log_batch(ACTOR, run_id, LogBatch(metrics=[point(1.0), point(math.nan), point(1.0)]))
    tracking.log_batch(ACTOR, run_id, LogBatch(metrics=[point(1.0), point(math.nan)]))
    # Any field that differs makes a point of its own.
    distinct = [point(2.0), point(1.0, timestamp=2), point(1.0, step=1), point(1.0, key="n")]
    tracking.log_batch(
        ACTOR, run_id, LogBatch(metrics=[*distinct, point(math.inf), point(-math.inf)])
    )
    tracking.log_batch(ACTOR, run_id, LogBatch(metrics=[point(math.inf), point(-math.inf)]))
    history = tracking.metric_history(ACTOR, run_id, "m", max_results=100, page_token=None).items
    got = sorted((str(m.value), m.timestamp, m.step) for m in history)
    assert got == sorted(
        [
            ("1.0", 1, 0),
            ("nan", 1, 0),
            ("2.0", 1, 0),
            ("1.0", 2, 0),
            ("1.0", 1, 1),
            ("inf", 1, 0),
            ("-inf", 1, 0),
        ]
    )
    assert (
        len(tracking.metric_history(ACTOR, run_id, "n", max_results=10, page_token=None).items) == 1
    )
    assert tracking.get_run(ACTOR, run_id).metrics["m"].step == 1


def test_nested_runs_and_parent_check(tracking: TrackingService) -> None:
    parent = _run(tracking)
    child = tracking.create_run(ACTOR, CreateRun(parent_run_id=parent))
    assert child.info.parent_run_id == parent
    assert child.tags["mlflow.parentRunId"] == parent
    with pytest.raises(NotFound):
        tracking.create_run(ACTOR, CreateRun(parent_run_id="f" * 32))


def test_deleted_run_refuses_writes_until_restored(tracking: TrackingService) -> None:
    run_id = _run(tracking)
    tracking.set_run_stage(ACTOR, run_id, LifecycleStage.DELETED)
    with pytest.raises(InvalidArgument, match="deleted"):
        tracking.log_batch(ACTOR, run_id, LogBatch(tags=[TagIn(key="a", value="b")]))
    tracking.set_run_stage(ACTOR, run_id, LifecycleStage.ACTIVE)
    tracking.log_batch(ACTOR, run_id, LogBatch(tags=[TagIn(key="a", value="b")]))


def test_dataset_inputs(tracking: TrackingService) -> None:
    run_id = _run(tracking)
    item = DatasetInput.model_validate(
        {
            "dataset": {
                "name": "wine",
                "digest": "abc123",
                "source_type": "local",
                "source": "{}",
                "schema": '{"columns": []}',
            },
            "tags": {"mlflow.data.context": "training"},
        }
    )
    tracking.log_inputs(ACTOR, run_id, LogInputs(datasets=[item]))
    tracking.log_inputs(ACTOR, run_id, LogInputs(datasets=[item]))  # same dataset: recorded once
    inputs = tracking.get_run(ACTOR, run_id).inputs
    assert len(inputs) == 1 and inputs[0].dataset.digest == "abc123"
    assert inputs[0].tags == {"mlflow.data.context": "training"}


def test_search_filters_orders_and_pages(tracking: TrackingService) -> None:
    exp = tracking.create_experiment(ACTOR, CreateExperiment(name="search")).experiment_id
    ids = []
    for i in range(6):
        run_id = _run(tracking, exp)
        ids.append(run_id)
        tracking.log_batch(
            ACTOR,
            run_id,
            LogBatch(
                params=[ParamIn(key="depth", value=str(i % 3))],
                tags=[TagIn(key="team", value="a" if i < 3 else "b")],
                metrics=[MetricIn(key="rmse", value=i / 2, timestamp=1)],
            ),
        )
    page = tracking.search_runs(
        ACTOR,
        SearchRuns(
            experiment_ids=[exp],
            filter="metrics.rmse < 2 and tags.team = 'a'",
            order_by=["metrics.rmse DESC"],
        ),
    )
    assert [r.info.run_id for r in page.items] == [ids[2], ids[1], ids[0]]
    got: list[str] = []
    token = None
    while True:
        page = tracking.search_runs(
            ACTOR,
            SearchRuns(
                experiment_ids=[exp], order_by=["metrics.rmse ASC"], max_results=4, page_token=token
            ),
        )
        got += [r.info.run_id for r in page.items]
        token = page.next_page_token
        if token is None:
            break
    assert got == ids
    with pytest.raises(InvalidArgument) as caught:
        tracking.search_runs(ACTOR, SearchRuns(experiment_ids=[exp], filter="metrics.rmse <<< 1"))
    assert caught.value.field == "filter"

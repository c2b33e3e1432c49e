"""Native REST routes for runs: ``/api/v1/runs``."""

from __future__ import annotations

import math
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from dockyard.api.tracking import (
    LIMITS,
    CountRuns,
    CreateRun,
    LifecycleStage,
    LogBatch,
    LogInputs,
    Metric,
    Run,
    RunInfo,
    SearchRuns,
    UpdateRun,
)
from dockyard.server._deps import ActorDep, TrackingDep
from dockyard.server._route import OneHopRoute, short_read
from dockyard.server.tracking import MetricSeries, SeriesAxis, SeriesWindow

router = APIRouter(prefix="/api/v1/runs", tags=["runs"], route_class=OneHopRoute)

RunId = Annotated[str, Query(min_length=32, max_length=32, pattern="^[0-9a-f]{32}$")]


class RunPage(BaseModel):
    runs: list[Run]
    next_page_token: str | None = None


class RunGroup(BaseModel):
    value: str | None
    count: int
    min: float | None = None
    mean: float | None = None
    max: float | None = None


class RunCount(BaseModel):
    count: int
    groups: list[RunGroup] = []


class MetricHistory(BaseModel):
    metrics: list[Metric]
    next_page_token: str | None = None


class Series(BaseModel):
    """A metric's points in a window, as columns (see ``GET .../metric-series``)."""

    run_id: str
    key: str
    x: SeriesAxis
    total: int
    sampled: bool
    steps: list[int]
    timestamps: list[int]
    values: list[float | str]


class SeriesSet(BaseModel):
    key: str | None
    x: SeriesAxis
    series: list[Series]


_SOURCE_TAGS = "mlflow.source."


class Comparison(BaseModel):
    """Runs side by side: one column per run, one row per param / latest metric / tag.

    ``tags`` leaves out MLflow's own (``mlflow.*``) but ``sources`` keeps where each run came
    from (``mlflow.source.*``: script, commit, repository), so one request has all a
    comparison shows, reproducing each run included."""

    run_ids: list[str]
    run_names: list[str]
    params: dict[str, list[str | None]]
    metrics: dict[str, list[float | None]]
    tags: dict[str, list[str | None]]
    sources: dict[str, list[str | None]]
    attributes: dict[str, list[Any]]


@router.post("", status_code=201)
def create_run(body: CreateRun, tracking: TrackingDep, actor: ActorDep) -> Run:
    """Start a run (status RUNNING) in an experiment, optionally nested under a parent."""
    return tracking.create_run(actor, body)


@router.post("/search")
def search_runs(body: SearchRuns, tracking: TrackingDep, actor: ActorDep) -> RunPage:
    """Search runs across experiments with MLflow's filter syntax and order-by clauses."""
    page = tracking.search_runs(actor, body)
    return RunPage(runs=page.items, next_page_token=page.next_page_token)


@router.post("/count")
def count_runs(body: CountRuns, tracking: TrackingDep, actor: ActorDep) -> RunCount:
    """How many runs a search's filter matches; with ``group_by`` (``params.<key>``,
    ``tags.<key>``, ``status``, ``user_id``) also the groups they form, largest first (at most
    500), and with ``summarize`` (``metrics.<key>``) each group's lowest, mean and highest
    latest value of that metric. A group's runs are a search with the group's condition added
    to the filter."""
    total, groups = tracking.count_runs(actor, body)
    return RunCount(
        count=total,
        groups=[
            RunGroup(value=g.value, count=g.count, min=g.min, mean=g.mean, max=g.max)
            for g in groups
        ],
    )


@router.get("/compare")
def compare_runs(
    tracking: TrackingDep,
    actor: ActorDep,
    run_ids: Annotated[list[str], Query(min_length=1, max_length=LIMITS.runs_per_request)],
) -> Comparison:
    """Compare runs side by side."""
    runs = tracking.get_runs(actor, run_ids)
    param_keys = sorted({k for r in runs for k in r.params})
    metric_keys = sorted({k for r in runs for k in r.metrics})
    tag_keys = sorted({k for r in runs for k in r.tags if not k.startswith("mlflow.")})
    source_keys = sorted({k for r in runs for k in r.tags if k.startswith(_SOURCE_TAGS)})
    return Comparison(
        run_ids=[r.info.run_id for r in runs],
        run_names=[r.info.run_name for r in runs],
        params={k: [r.params.get(k) for r in runs] for k in param_keys},
        metrics={
            k: [r.metrics[k].value if k in r.metrics else None for r in runs] for k in metric_keys
        },
        tags={k: [r.tags.get(k) for r in runs] for k in tag_keys},
        sources={k: [r.tags.get(k) for r in runs] for k in source_keys},
        attributes={
            "user_id": [r.info.user_id for r in runs],
            "status": [r.info.status.value for r in runs],
            "start_time": [r.info.start_time for r in runs],
            "end_time": [r.info.end_time for r in runs],
            "experiment_id": [r.info.experiment_id for r in runs],
        },
    )


@router.get("/metric-series", response_model=SeriesSet)
def metric_series_of_runs(
    tracking: TrackingDep,
    actor: ActorDep,
    window: Annotated[SeriesWindow, Query()],
    run_ids: Annotated[list[str], Query(min_length=1, max_length=LIMITS.runs_per_request)],
    key: Annotated[str | None, Query(min_length=1, max_length=LIMITS.key_length)] = None,
) -> Response:
    """One metric of up to 100 runs, each sampled for a chart as
    ``GET /api/v1/runs/{run_id}/metric-series/{key}`` samples it: one request for a
    comparison's curves. Without ``key``, the first metric (in key order) any of the runs
    logged as a curve (past step 0), else the first of any they logged, so a comparison can
    ask for its curves alongside ``runs/compare`` rather than after it; ``key`` answers which
    (null, and no series, when the runs logged none)."""
    found = tracking.metric_series(actor, run_ids, key, window)
    body = {
        "key": found[0].key if found else key,
        "x": window.x.value,
        "series": [_series(s, window) for s in found],
    }
    return Response(orjson.dumps(body), media_type="application/json")


@router.get("/{run_id}")
@short_read
def get_run(run_id: str, tracking: TrackingDep, actor: ActorDep) -> Run:
    """A run with its params, latest metrics, tags and dataset inputs."""
    return tracking.get_run(actor, run_id)


@router.patch("/{run_id}")
def update_run(run_id: str, body: UpdateRun, tracking: TrackingDep, actor: ActorDep) -> RunInfo:
    """Change a run's status (ending it sets end_time), end time or name."""
    return tracking.update_run(actor, run_id, body)


@router.delete("/{run_id}", status_code=204)
def delete_run(run_id: str, tracking: TrackingDep, actor: ActorDep) -> Response:
    """Soft-delete a run (restorable)."""
    tracking.set_run_stage(actor, run_id, LifecycleStage.DELETED)
    return Response(status_code=204)


@router.post("/{run_id}/restore")
def restore_run(run_id: str, tracking: TrackingDep, actor: ActorDep) -> Run:
    """Undo a soft delete."""
    tracking.set_run_stage(actor, run_id, LifecycleStage.ACTIVE)
    return tracking.get_run(actor, run_id)


@router.post("/{run_id}/batch", status_code=204)
def log_batch(run_id: str, body: LogBatch, tracking: TrackingDep, actor: ActorDep) -> Response:
    """Log metrics, params and tags atomically (idempotent with ``batch_id``)."""
    tracking.log_batch(actor, run_id, body)
    return Response(status_code=204)


@router.delete("/{run_id}/tags/{key:path}", status_code=204)
def delete_tag(run_id: str, key: str, tracking: TrackingDep, actor: ActorDep) -> Response:
    """Remove one tag from a run."""
    tracking.delete_tag(actor, run_id, key)
    return Response(status_code=204)


@router.post("/{run_id}/inputs", status_code=204)
def log_inputs(run_id: str, body: LogInputs, tracking: TrackingDep, actor: ActorDep) -> Response:
    """Record the datasets a run consumed."""
    tracking.log_inputs(actor, run_id, body)
    return Response(status_code=204)


def _double(value: float) -> float | str:
    # JSON has no literal for non-finite numbers: spelled as pydantic spells them for Metric.
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


@router.get("/{run_id}/metrics/{key:path}", response_model=MetricHistory)
def metric_history(
    run_id: str,
    key: str,
    tracking: TrackingDep,
    actor: ActorDep,
    max_results: Annotated[int, Query(ge=1, le=LIMITS.history_max_results)] = 25_000,
    page_token: Annotated[str | None, Query(max_length=LIMITS.page_token_length)] = None,
) -> Response:
    """Every logged point of one metric, ordered by step and time."""
    page = tracking.metric_history(
        actor, run_id, key, max_results=max_results, page_token=page_token
    )
    # Encoded here, in MetricHistory's shape, rather than through it: validating and serialising
    # a model per point took longer than reading the page from the database.
    isfinite = math.isfinite
    points = [
        {
            "key": p.key,
            "value": p.value if isfinite(p.value) else _double(p.value),
            "timestamp": p.timestamp,
            "step": p.step,
        }
        for p in page.items
    ]
    body = {"metrics": points, "next_page_token": page.next_page_token}
    return Response(orjson.dumps(body), media_type="application/json")


@router.get("/{run_id}/metric-series/{key:path}", response_model=Series)
def metric_series(
    run_id: str,
    key: str,
    tracking: TrackingDep,
    actor: ActorDep,
    window: Annotated[SeriesWindow, Query()],
) -> Response:
    """A metric's points with ``x`` (``step`` or ``timestamp``) in ``[x_min, x_max]``, as
    columns (``steps``, ``timestamps``, ``values``), at most ``max_points`` of them (default
    1,000). A window holding more is sampled: the x range is cut into ``max_points / 2``
    equal buckets, each keeping its lowest and highest point, so spikes stay visible and the
    line draws as every point would; ``sampled`` says so and ``total`` counts the window's
    points. Zooming a chart asks again for the visible range, which comes back at full
    resolution once it holds at most ``max_points``. Every point, paged: ``.../metrics/{key}``."""
    (found,) = tracking.metric_series(actor, [run_id], key, window)
    return Response(orjson.dumps(_series(found, window)), media_type="application/json")


def _series(series: MetricSeries, window: SeriesWindow) -> dict[str, Any]:
    isfinite = math.isfinite
    return {
        "run_id": series.run_id,
        "key": series.key,
        "x": window.x.value,
        "total": series.total,
        "sampled": series.sampled,
        "steps": series.steps,
        "timestamps": series.timestamps,
        "values": [v if isfinite(v) else _double(v) for v in series.values],
    }

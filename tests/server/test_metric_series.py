"""A metric's history sized for a chart: ``GET /api/v1/runs/{run_id}/metric-series/{key}`` and,
for many runs at once, ``GET /api/v1/runs/metric-series``."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from dockyard.client.http import Client


def _raw(api: Client, path: str, **params: Any) -> httpx.Response:
    return api._http.request("GET", path, params=params)


def _run(api: Client, points: list[tuple[int, float | str]], key: str = "loss") -> str:
    run = api.request("POST", "/api/v1/runs", json={"experiment_id": "0"})
    run_id = str(run["info"]["run_id"])
    for start in range(0, len(points), 10_000):
        batch = [
            {"key": key, "value": v, "timestamp": 1_000_000 + s * 10, "step": s}
            for s, v in points[start : start + 10_000]
        ]
        api.request("POST", f"/api/v1/runs/{run_id}/batch", json={"metrics": batch})
    return run_id


def _curve(n: int) -> list[tuple[int, float | str]]:
    """A smooth decay with one spike up and one down, far from each other."""
    points: list[tuple[int, float | str]] = [(s, math.exp(-s / (n / 4))) for s in range(n)]
    points[n // 3] = (n // 3, 50.0)
    points[2 * n // 3] = (2 * n // 3, -50.0)
    return points


def test_a_short_history_comes_back_whole_as_columns(api: Client) -> None:
    run_id = _run(api, [(0, 1.0), (1, "NaN"), (2, "Infinity"), (3, 0.5)])
    got = api.request("GET", f"/api/v1/runs/{run_id}/metric-series/loss")
    assert got == {
        "run_id": run_id,
        "key": "loss",
        "x": "step",
        "total": 4,
        "sampled": False,
        "steps": [0, 1, 2, 3],
        "timestamps": [1_000_000, 1_000_010, 1_000_020, 1_000_030],
        "values": [1.0, "NaN", "Infinity", 0.5],
    }
    missing = api.request("GET", f"/api/v1/runs/{run_id}/metric-series/nothing")
    assert (missing["total"], missing["steps"]) == (0, [])


def test_a_long_history_is_sampled_keeping_the_spikes(api: Client) -> None:
    run_id = _run(api, _curve(20_000))
    got = api.request(
        "GET", f"/api/v1/runs/{run_id}/metric-series/loss", params={"max_points": 400}
    )
    assert got["total"] == 20_000 and got["sampled"] is True
    assert len(got["steps"]) <= 400
    assert got["steps"] == sorted(got["steps"])
    assert 50.0 in got["values"] and -50.0 in got["values"]
    # Real points: each value is the one logged at its step.
    for step, value in zip(got["steps"], got["values"], strict=True):
        if value not in (50.0, -50.0):
            assert value == pytest.approx(math.exp(-step / 5000))
    assert got["steps"][0] < 50 and got["steps"][-1] > 19_950  # it spans the history


def test_a_zoomed_window_comes_back_at_full_resolution(api: Client) -> None:
    run_id = _run(api, _curve(20_000))
    window = api.request(
        "GET",
        f"/api/v1/runs/{run_id}/metric-series/loss",
        params={"x_min": 6_600, "x_max": 6_799, "max_points": 400},
    )
    assert window["sampled"] is False and window["total"] == 200
    assert window["steps"] == list(range(6_600, 6_800))
    assert window["values"][66] == 50.0  # step 6,666: the spike
    by_time = api.request(
        "GET",
        f"/api/v1/runs/{run_id}/metric-series/loss",
        params={"x": "timestamp", "x_min": 1_000_000, "x_max": 1_000_099},
    )
    assert by_time["x"] == "timestamp" and by_time["steps"] == list(range(10))


def test_many_runs_in_one_request(api: Client) -> None:
    runs = [_run(api, [(s, float(i * 1000 + s)) for s in range(500)]) for i in range(3)]
    got = api.request(
        "GET",
        "/api/v1/runs/metric-series",
        params={"run_ids": [runs[2], runs[0], runs[1], runs[0]], "key": "loss", "max_points": 100},
    )
    assert got["key"] == "loss"
    assert [s["run_id"] for s in got["series"]] == [runs[2], runs[0], runs[1]]  # once each
    for i, series in zip((2, 0, 1), got["series"], strict=True):
        assert series["total"] == 500 and len(series["steps"]) <= 100
        assert min(series["values"]) == i * 1000 and max(series["values"]) == i * 1000 + 499


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"x_min": 10, "x_max": 1}, "x_max"),
        ({"max_points": 3}, "max_points"),
        ({"max_points": 100_001}, "max_points"),
        ({"x": "epoch"}, "x"),
        ({"x_min": 2**63}, "x_min"),
    ],
)
def test_bad_windows_are_named(api: Client, params: dict[str, Any], field: str) -> None:
    run_id = _run(api, [(0, 1.0)])
    answer = _raw(api, f"/api/v1/runs/{run_id}/metric-series/loss", **params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field


def test_many_runs_refuses_bad_lists(api: Client) -> None:
    run_id = _run(api, [(0, 1.0)])
    missing = _raw(api, "/api/v1/runs/metric-series", run_ids=[run_id, "f" * 32], key="loss")
    assert missing.status_code == 404 and "f" * 32 in missing.json()["error"]["message"]
    too_many = _raw(api, "/api/v1/runs/metric-series", run_ids=[run_id] * 101, key="loss")
    assert too_many.status_code == 400 and too_many.json()["error"]["field"] == "run_ids"
    empty_key = _raw(api, "/api/v1/runs/metric-series", run_ids=[run_id], key="")
    assert empty_key.status_code == 400 and empty_key.json()["error"]["field"] == "key"


def test_many_runs_without_a_key_get_their_first_curve(api: Client) -> None:
    """What a comparison draws first, asked for alongside the runs rather than after them: the
    first metric logged as a curve, before single values (a best score at step 0, drawn as a
    dot per run), which come first only when the runs logged nothing else."""
    quiet = _run(api, [])
    late = _run(api, [(0, 2.0), (1, 1.0)], key="val_loss")
    early = _run(api, [(0, 5.0)], key="accuracy")
    got = api.request("GET", "/api/v1/runs/metric-series", params={"run_ids": [quiet, late, early]})
    assert got["key"] == "val_loss"
    assert [(s["run_id"], s["values"]) for s in got["series"]] == [
        (quiet, []),
        (late, [2.0, 1.0]),
        (early, []),
    ]
    singles = api.request("GET", "/api/v1/runs/metric-series", params={"run_ids": [quiet, early]})
    assert singles["key"] == "accuracy"
    assert [(s["run_id"], s["values"]) for s in singles["series"]] == [(quiet, []), (early, [5.0])]
    none = api.request("GET", "/api/v1/runs/metric-series", params={"run_ids": [quiet]})
    assert none == {"key": None, "x": "step", "series": []}


def test_many_runs_mix_whole_and_sampled_windows(api: Client) -> None:
    long = _run(api, _curve(2_000))
    short = _run(api, [(s, float(s)) for s in range(50)])
    got = api.request(
        "GET",
        "/api/v1/runs/metric-series",
        params={"run_ids": [short, long], "key": "loss", "max_points": 100, "x_min": 10},
    )
    by_run = {s["run_id"]: s for s in got["series"]}
    assert by_run[short]["steps"] == list(range(10, 50)) and not by_run[short]["sampled"]
    assert by_run[short]["values"] == [float(s) for s in range(10, 50)]
    assert by_run[long]["sampled"] and by_run[long]["total"] == 1_990
    assert len(by_run[long]["steps"]) <= 100 and min(by_run[long]["steps"]) >= 10
    assert {50.0, -50.0} <= set(by_run[long]["values"])  # the spikes survive

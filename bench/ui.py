"""The web UI in a real browser (Debian's chromium through Playwright), Dockyard beside MLflow.

Measured, from navigation to what a person waits for:

1. an experiment of 10,000 runs (10 params, 10 metrics each): first rows visible, Dockyard's UI
   and MLflow's (``mlflow server`` serves its UI) over the same runs;
2. the same for 100,000 runs (Dockyard);
3. a run whose metric has a 100,000-point history: charted, then zoomed (a drag on the chart,
   until the zoomed range, asked for again, is drawn); MLflow's run page (its "Model metrics"
   tab) over the same points;
4. comparing 50 runs: their curves overlaid (500 points each); in MLflow, its metric page for
   the 50 runs (``#/metric?runs=[...]``, what its "compare" shows curves on).

Runs are written straight into each server's SQLite schema before it starts (creating them
through either API would take most of an hour for MLflow); histories for (3) and (4) are logged
through Dockyard's API and written into MLflow's schema, the same points. Each timing is the
median of ``--repeat`` page loads in fresh browser contexts (nothing cached). MLflow's charts
are Plotly's: one counts as drawn when its line's SVG path is.

Run: ``.venv/bin/python bench/ui.py`` (``--quick`` for 1,000 / 10,000 runs, ``--charts`` for
only (3) and (4)).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from _servers import Server

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PARAMS = 10
METRICS = 10
T0 = 1_760_000_000_000


def _runs(n: int, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        out.append(
            {
                "id": uuid.uuid4().hex,
                "name": f"run-{i:06d}",
                "start": T0 + i * 1000,
                "params": {
                    f"p{k}": str(rng.choice([1, 2, 4, 8, 16]) * (k + 1)) for k in range(PARAMS)
                },
                "metrics": {f"m{k}": rng.random() for k in range(METRICS)},
            }
        )
    return out


Point = tuple[int, int, float]  # step, timestamp, value


def _history(rng: random.Random) -> list[Point]:
    """The long history: 100,000 points of a noisy decay."""
    return [(s, T0 + s, math.exp(-s / 20_000) + 0.01 * rng.random()) for s in range(100_000)]


def _curve(rng: random.Random) -> list[Point]:
    """A compared run's curve: 500 points."""
    return [(s + 1, T0 + s, rng.random() / (1 + s / 50)) for s in range(500)]


def log_dockyard(c: httpx.Client, run_id: str, key: str, points: list[Point]) -> None:
    for start in range(0, len(points), 10_000):
        batch = [
            {"key": key, "value": v, "timestamp": t, "step": s}
            for s, t, v in points[start : start + 10_000]
        ]
        c.post(f"/api/v1/runs/{run_id}/batch", json={"metrics": batch}).raise_for_status()


def seed_mlflow_points(db: Path, run_id: str, key: str, points: list[Point]) -> None:
    """A history written into MLflow's schema, its latest value kept as MLflow keeps it."""
    with sqlite3.connect(db) as c:
        c.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan)"
            " VALUES (?, ?, ?, ?, ?, 0)",
            [(key, v, t, run_id, s) for s, t, v in points],
        )
        s, t, v = max(points)
        c.execute("DELETE FROM latest_metrics WHERE run_uuid = ? AND key = ?", (run_id, key))
        c.execute(
            "INSERT INTO latest_metrics (key, value, timestamp, run_uuid, step, is_nan)"
            " VALUES (?, ?, ?, ?, ?, 0)",
            (key, v, t, run_id, s),
        )


def seed_dockyard(db: Path, experiment_id: int, runs: list[dict[str, Any]]) -> None:
    with sqlite3.connect(db) as c:
        c.executemany(
            "INSERT INTO runs (run_id, experiment_id, name, user_id, status, start_time, end_time,"
            " lifecycle_stage, artifact_uri)"
            " VALUES (?, ?, ?, 'bench', 'FINISHED', ?, ?, 'active', ?)",
            [
                (
                    r["id"],
                    experiment_id,
                    r["name"],
                    r["start"],
                    r["start"] + 500,
                    f"{experiment_id}/{r['id']}/artifacts",
                )
                for r in runs
            ],
        )
        c.executemany(
            "INSERT INTO params (run_id, key, value) VALUES (?, ?, ?)",
            [(r["id"], k, v) for r in runs for k, v in r["params"].items()],
        )
        rows = [(r["id"], k, v, 0, r["start"], 0) for r in runs for k, v in r["metrics"].items()]
        c.executemany(
            "INSERT INTO latest_metrics (run_id, key, value, is_nan, timestamp, step)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        c.executemany(
            "INSERT INTO metrics (run_id, key, value, is_nan, timestamp, step)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )


def seed_mlflow(db: Path, experiment_id: int, runs: list[dict[str, Any]], artifacts: str) -> None:
    with sqlite3.connect(db) as c:
        c.executemany(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id,"
            " status, start_time, end_time, source_version, lifecycle_stage, artifact_uri,"
            " experiment_id)"
            " VALUES (?, ?, 'LOCAL', '', '', 'bench', 'FINISHED', ?, ?, '', 'active', ?, ?)",
            [
                (
                    r["id"],
                    r["name"],
                    r["start"],
                    r["start"] + 500,
                    f"{artifacts}/{r['id']}",
                    experiment_id,
                )
                for r in runs
            ],
        )
        c.executemany(
            "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
            [(k, v, r["id"]) for r in runs for k, v in r["params"].items()],
        )
        rows = [(k, v, r["start"], r["id"], 0, 0) for r in runs for k, v in r["metrics"].items()]
        c.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        c.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, run_uuid, step, is_nan)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        c.executemany(
            "INSERT INTO tags (key, value, run_uuid) VALUES ('mlflow.runName', ?, ?)",
            [(r["name"], r["id"]) for r in runs],
        )


def plotly_lines(n: int) -> str:
    """A page predicate: at least ``n`` of Plotly's lines are drawn (MLflow's charts)."""
    return (
        "() => [...document.querySelectorAll('.js-plotly-plot .scatterlayer path.js-line')]"
        f".filter((p) => (p.getAttribute('d') || '').length > 10).length >= {n}"
    )


def timed(
    browser: Any, url: str, ready: str, repeat: int, after: Any = None, limit_s: float = 120
) -> list[float]:
    """Seconds from navigation to ``ready`` (a selector, or a predicate ``() => ...`` polled
    every frame), in fresh contexts; inf when it did not happen within ``limit_s``."""
    from playwright.sync_api import TimeoutError as PageTimeout

    times = []
    for _ in range(repeat):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        started = time.perf_counter()
        page.goto(url)
        try:
            if ready.startswith("() =>"):
                page.wait_for_function(ready, timeout=limit_s * 1000)
            else:
                page.wait_for_selector(ready, timeout=limit_s * 1000)
        except PageTimeout:
            times.append(math.inf)
            context.close()
            continue
        times.append(time.perf_counter() - started)
        if after is not None:
            times[-1] = after(page, times[-1])
        context.close()
    return times


def _metric_page(base: str, run_ids: list[str], experiment_id: int, key: str) -> str:
    """MLflow's metric page (what its UI links a chart's "compare" to), as its UI builds it."""
    runs, key_json = json.dumps(run_ids), json.dumps(key)
    return (
        f"{base}/#/metric?runs={runs}&metric={key_json}&experiments={json.dumps([str(experiment_id)])}"
        f"&plot_metric_keys={json.dumps([key])}&plot_layout={{}}&x_axis=step&y_axis_scale=linear"
        "&line_smoothness=1&show_point=false&deselected_curves=[]&last_linear_y_axis_range=[]"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 runs")
    parser.add_argument("--charts", action="store_true", help="only the history and comparison")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    small, large = (1_000, 10_000) if args.quick else (10_000, 100_000)
    if args.charts:
        small, large = 50, 0
    rng = random.Random(0)
    work = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    from playwright.sync_api import sync_playwright

    results: dict[str, Any] = {}
    small_runs = _runs(small, rng)
    history = _history(rng)
    compare_ids = [r["id"] for r in small_runs[-50:]]
    curves = {rid: _curve(rng) for rid in compare_ids}
    try:
        # -- Dockyard --------------------------------------------------------------------------
        home = work / "dockyard"
        with Server.dockyard(home, workers=2) as server:
            c = httpx.Client(base_url=server.url, timeout=120)
            ids = {
                name: int(
                    c.post("/api/v1/experiments", json={"name": name}).json()["experiment_id"]
                )
                for name in ("ten-k", "hundred-k", "history")
            }
        started = time.perf_counter()
        seed_dockyard(home / "dockyard.db", ids["ten-k"], small_runs)
        seed_dockyard(home / "dockyard.db", ids["hundred-k"], _runs(large, rng))
        print(f"seeded Dockyard in {time.perf_counter() - started:.0f} s", flush=True)
        with Server.dockyard(home, workers=2) as server, sync_playwright() as pw:
            c = httpx.Client(base_url=server.url, timeout=120)
            run = c.post(
                "/api/v1/runs", json={"experiment_id": str(ids["history"]), "run_name": "long"}
            ).json()
            run_id = run["info"]["run_id"]
            log_dockyard(c, run_id, "loss", history)
            for rid, points in curves.items():
                log_dockyard(c, rid, "m0", points)
            browser = pw.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
            )
            row = ".vt-row:not(.loading) a"
            if not args.charts:
                results["dockyard_small"] = timed(
                    browser, f"{server.url}/#/experiments/{ids['ten-k']}", row, args.repeat
                )
                results["dockyard_large"] = timed(
                    browser, f"{server.url}/#/experiments/{ids['hundred-k']}", row, args.repeat
                )

            def zoom(page: Any, loaded: float) -> float:
                box = page.locator(".card .u-over").first.bounding_box()
                started = time.perf_counter()
                page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + 40)
                page.mouse.down()
                page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + 40, steps=4)
                page.mouse.up()
                # The zoomed range is asked for again (the chart was sampled): until it is drawn.
                page.wait_for_selector(".card[data-zoomed='1']", timeout=60_000)
                results.setdefault("zoom", []).append(time.perf_counter() - started)
                return loaded

            results["history"] = timed(
                browser,
                f"{server.url}/#/experiments/{ids['history']}/runs/{run_id}?tab=metrics",
                ".card[data-ready='1']",
                args.repeat,
                after=zoom,
            )
            results["compare"] = timed(
                browser,
                f"{server.url}/#/compare?runs={','.join(compare_ids)}",
                "#curves[data-ready='1']",
                args.repeat,
            )
            browser.close()

        # -- MLflow ----------------------------------------------------------------------------
        mlflow_home = work / "mlflow"
        mlflow_home.mkdir()
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        store = SqlAlchemyStore(
            f"sqlite:///{mlflow_home}/mlflow.db", str(mlflow_home / "artifacts")
        )
        eid = int(store.create_experiment("ten-k"))
        history_eid = int(store.create_experiment("history"))
        store.engine.dispose()
        db = mlflow_home / "mlflow.db"
        seed_mlflow(db, eid, small_runs, str(mlflow_home / "artifacts"))
        long_run = {
            "id": uuid.uuid4().hex,
            "name": "long",
            "start": T0,
            "params": {},
            "metrics": {},
        }
        seed_mlflow(db, history_eid, [long_run], str(mlflow_home / "artifacts"))
        seed_mlflow_points(db, long_run["id"], "loss", history)
        for rid, points in curves.items():
            seed_mlflow_points(db, rid, "m0", points)
        with Server.mlflow(mlflow_home, workers=2) as server, sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
            )
            if not args.charts:
                newest = small_runs[-1]["name"]
                results["mlflow_small"] = timed(
                    browser, f"{server.url}/#/experiments/{eid}", f"text={newest}", args.repeat
                )
            results["mlflow_history"] = timed(
                browser,
                f"{server.url}/#/experiments/{history_eid}/runs/{long_run['id']}/model-metrics",
                plotly_lines(1),
                args.repeat,
            )
            results["mlflow_compare"] = timed(
                browser,
                _metric_page(server.url, compare_ids, eid, "m0"),
                plotly_lines(len(compare_ids)),
                args.repeat,
            )
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in results.items()}

    def row(label: str, ours: str, theirs: str | None, target: str) -> None:
        if theirs is None or theirs not in med:
            print(f"| {label} | {med[ours]:.2f} | | | {target} |")
            return
        ratio = med[theirs] / med[ours]
        print(f"| {label} | {med[ours]:.2f} | {med[theirs]:.2f} | {ratio:.1f}x | {target} |")

    head = "Dockyard | MLflow | MLflow / Dockyard | target"
    print(f"\n| measure ({args.repeat} loads, median) | {head} |")
    print("|---|---:|---:|---:|---:|")
    if not args.charts:
        row(
            f"first rows of {small:,} runs, s",
            "dockyard_small",
            "mlflow_small",
            "<= 1, under MLflow",
        )
        row(f"first rows of {large:,} runs, s", "dockyard_large", None, "<= 1.5")
    row("100,000-point history charted, s", "history", "mlflow_history", "<= 1")
    print(f"| ... then a zoom redrawn, s | {med['zoom']:.3f} | | | |")
    row("50 runs compared (curves drawn), s", "compare", "mlflow_compare", "<= 1")
    print("\nall loads:", {k: [round(x, 3) for x in v] for k, v in results.items()})
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

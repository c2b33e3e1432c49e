"""The web UI in a real browser (Debian's chromium through Playwright), Dockyard beside MLflow.

Measured, from navigation to what a person waits for:

1. an experiment of 10,000 runs (10 params, 10 metrics each): first rows visible, Dockyard's UI
   and MLflow's (``mlflow server`` serves its UI) over the same runs;
2. the same for 100,000 runs (Dockyard);
3. a run whose metric has a 100,000-point history: charted, then zoomed (a drag on the chart,
   until the zoomed range, asked for again, is drawn);
4. comparing 50 runs: their curves overlaid.

Runs are written straight into each server's SQLite schema before it starts (creating them
through either API would take most of an hour for MLflow); histories for (3) and (4) are logged
through Dockyard's API. Each timing is the median of ``--repeat`` page loads in fresh browser
contexts (nothing cached).

Run: ``.venv/bin/python bench/ui.py`` (``--quick`` for 1,000 / 10,000 runs).
"""

from __future__ import annotations

import argparse
import math
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


def timed(
    browser: Any, url: str, ready: str, repeat: int, after: Any = None, limit_s: float = 120
) -> list[float]:
    """Seconds from navigation to ``ready`` (a selector), in fresh contexts; inf when it did
    not appear within ``limit_s``."""
    from playwright.sync_api import TimeoutError as PageTimeout

    times = []
    for _ in range(repeat):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        started = time.perf_counter()
        page.goto(url)
        try:
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 runs")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    small, large = (1_000, 10_000) if args.quick else (10_000, 100_000)
    rng = random.Random(0)
    work = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    from playwright.sync_api import sync_playwright

    results: dict[str, Any] = {}
    small_runs = _runs(small, rng)
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
            for start in range(0, 100_000, 10_000):
                points = [
                    {
                        "key": "loss",
                        "value": math.exp(-s / 20_000) + 0.01 * rng.random(),
                        "timestamp": T0 + s,
                        "step": s,
                    }
                    for s in range(start, start + 10_000)
                ]
                c.post(f"/api/v1/runs/{run_id}/batch", json={"metrics": points}).raise_for_status()
            compare_ids = [r["id"] for r in small_runs[-50:]]
            for rid in compare_ids:  # 500-point curves for the compared runs
                points = [
                    {
                        "key": "m0",
                        "value": rng.random() / (1 + s / 50),
                        "timestamp": T0 + s,
                        "step": s + 1,
                    }
                    for s in range(500)
                ]
                c.post(f"/api/v1/runs/{rid}/batch", json={"metrics": points}).raise_for_status()
            browser = pw.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
            )
            row = ".vt-row:not(.loading) a"
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
        store.engine.dispose()
        seed_mlflow(mlflow_home / "mlflow.db", eid, small_runs, str(mlflow_home / "artifacts"))
        with Server.mlflow(mlflow_home, workers=2) as server, sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
            )
            newest = small_runs[-1]["name"]
            results["mlflow_small"] = timed(
                browser, f"{server.url}/#/experiments/{eid}", f"text={newest}", args.repeat
            )
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"\n| measure ({args.repeat} loads, median) | Dockyard | MLflow | target |")
    print("|---|---:|---:|---:|")
    print(
        f"| first rows of {small:,} runs, s | {med['dockyard_small']:.2f} "
        f"| {med['mlflow_small']:.2f} | <= 1 and under MLflow |"
    )
    print(f"| first rows of {large:,} runs, s | {med['dockyard_large']:.2f} | | <= 1.5 |")
    print(f"| 100,000-point history charted, s | {med['history']:.2f} | | <= 1 |")
    print(f"| ... then a zoom redrawn, s | {med['zoom']:.3f} | | |")
    print(f"| 50 runs compared (curves drawn), s | {med['compare']:.2f} | | <= 1 |")
    print("\nall loads:", {k: [round(x, 3) for x in v] for k, v in results.items()})


if __name__ == "__main__":
    main()

"""Tracking benchmark: Dockyard's MLflow-compatible server vs ``mlflow server``, same client.

Both servers run with SQLite and the same number of workers (2 by default), one after the other,
driven by the unmodified MLflow client from this one process. Then Dockyard's own SDK (metrics/s
from one training loop) and search over 100,000 runs. Prints markdown tables.

    .venv/bin/python bench/tracking.py [--quick] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
warnings.filterwarnings("ignore")
# set_terminated prints two links per run (and fetches the run to build them) unless told not to.
os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"

# Runs in the search-paging workload: created concurrently (setup, not timed), paged 1000 at a time.
PAGED_RUNS = 2000
SETUP_THREADS = 8

from _servers import Server  # noqa: E402


def _mlflow_workload(url: str, scale: float) -> dict[str, float]:
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    os.environ["MLFLOW_TRACKING_URI"] = url
    client = MlflowClient(url)
    exp = client.create_experiment(f"bench-{time.time_ns()}")
    out: dict[str, float] = {}

    run_id = client.create_run(exp).info.run_id
    n = max(50, int(1000 * scale))
    start = time.perf_counter()
    for i in range(n):
        client.log_metric(run_id, "loss", float(i), step=i)
    out["log_metric calls/s"] = n / (time.perf_counter() - start)

    n_batches = max(5, int(100 * scale))
    ts = int(time.time() * 1000)
    start = time.perf_counter()
    for b in range(n_batches):
        metrics = [Metric("acc", float(i), ts, b * 1000 + i) for i in range(1000)]
        client.log_batch(run_id, metrics=metrics)
    out["log_batch metrics/s"] = n_batches * 1000 / (time.perf_counter() - start)

    hist_run = client.create_run(exp).info.run_id
    for b in range(50):
        client.log_batch(
            hist_run, metrics=[Metric("h", float(i), ts, b * 1000 + i) for i in range(1000)]
        )
    start = time.perf_counter()
    history = client.get_metric_history(hist_run, "h")
    out["read 50k history s"] = time.perf_counter() - start
    assert len(history) == 50_000, len(history)

    n_runs = max(20, int(300 * scale))
    start = time.perf_counter()
    for i in range(n_runs):
        rid = client.create_run(exp).info.run_id
        client.log_batch(
            rid, metrics=[Metric("rmse", i / n_runs, ts, 0)], params=[Param("depth", str(i % 7))]
        )
        client.set_terminated(rid)
    out["runs created/s"] = n_runs / (time.perf_counter() - start)

    page_exp = client.create_experiment(f"page-{time.time_ns()}")
    # One create request per run, as a client makes them, but from a few threads: only the paging
    # below is timed, so the setup need not take minutes against the slower server.
    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        list(pool.map(lambda _: client.create_run(page_exp), range(PAGED_RUNS)))
    start = time.perf_counter()
    seen, token = 0, None
    while True:
        page = client.search_runs([page_exp], max_results=1000, page_token=token)
        seen += len(page)
        token = page.token
        if not token:
            break
    out[f"page {PAGED_RUNS} runs s"] = time.perf_counter() - start
    assert seen == PAGED_RUNS, seen
    return out


def _sdk_throughput(url: str | None, home: Path, points: int) -> float:
    import dockyard as dy
    from dockyard.client.sdk import reset_context
    from dockyard.settings import Settings

    reset_context(Settings(home=home, uri=url))
    start = time.perf_counter()
    with dy.start_run():
        for i in range(points):
            dy.log_metric("loss", i * 0.001, step=i)
    return points / (time.perf_counter() - start)


def _search_latency(home: Path, n_runs: int) -> float:
    """p50 ms of a metric filter + order by, first page, through the service over SQLite."""
    import random
    import uuid

    from dockyard.api.tracking import SearchRuns
    from dockyard.server.actor import Actor
    from dockyard.server.auth import Access
    from dockyard.server.events import EventLog
    from dockyard.server.store import open_database, schema
    from dockyard.server.tracking import TrackingService

    db = open_database(f"sqlite:///{home}/search.db")
    rng = random.Random(0)
    with db.write() as conn:
        runs, metrics, params, tags = [], [], [], []
        for i in range(n_runs):
            rid = uuid.uuid4().hex
            runs.append(
                {
                    "run_id": rid,
                    "experiment_id": 0,
                    "name": f"r{i}",
                    "user_id": "u",
                    "status": "FINISHED",
                    "start_time": i,
                    "end_time": i + 1,
                    "lifecycle_stage": "active",
                    "artifact_uri": f"0/{rid}/artifacts",
                }
            )
            for key in ("rmse", "mae", "r2", "loss", "acc"):
                metrics.append(
                    {
                        "run_id": rid,
                        "key": key,
                        "value": rng.random() * 3,
                        "is_nan": False,
                        "timestamp": i,
                        "step": 0,
                    }
                )
            for key in ("depth", "lr", "n", "seed", "algo"):
                params.append({"run_id": rid, "key": key, "value": str(rng.randint(1, 9))})
            for key in ("team", "stage", "mlflow.runName"):
                tags.append({"run_id": rid, "key": key, "value": rng.choice("abc")})
        conn.execute(schema.runs.insert(), runs)
        conn.execute(schema.latest_metrics.insert(), metrics)
        conn.execute(schema.params.insert(), params)
        conn.execute(schema.tags.insert(), tags)
    service = TrackingService(db, EventLog(db), Access())
    actor = Actor.system("bench")
    request = SearchRuns(
        experiment_ids=["0"],
        filter="metrics.rmse < 1",
        order_by=["metrics.rmse ASC"],
        max_results=100,
    )
    times = []
    for _ in range(30):
        start = time.perf_counter()
        page = service.search_runs(actor, request)
        times.append((time.perf_counter() - start) * 1000)
        assert len(page.items) == 100
    db.dispose()
    return statistics.median(times)


def _row(name: str, mine: float, peer: float, higher_is_better: bool) -> str:
    ratio = mine / peer if higher_is_better else peer / mine
    return f"| {name} | {mine:,.2f} | {peer:,.2f} | {ratio:,.1f}x |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workload")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per server")
    args = parser.parse_args()
    scale = 0.2 if args.quick else 1.0
    workers: int = args.workers
    work = Path(tempfile.mkdtemp(prefix="dockyard-bench-"))
    results: dict[str, dict[str, float]] = {}
    for name, factory in (("dockyard", Server.dockyard), ("mlflow", Server.mlflow)):
        maker: Callable[..., Server] = factory
        with maker(work / name, workers=workers) as server:
            print(f"running the MLflow-client workload against {name} ...", file=sys.stderr)
            results[name] = _mlflow_workload(server.url, scale)

    title = f"MLflow client, SQLite, {workers} workers"
    print(f"\n| {title} | Dockyard | MLflow | Dockyard vs MLflow |")
    print("|---|---:|---:|---:|")
    for key in results["dockyard"]:
        better = not key.endswith(" s")
        print(_row(key, results["dockyard"][key], results["mlflow"][key], better))

    points = 200_000 if not args.quick else 50_000
    print("running the Dockyard SDK workload ...", file=sys.stderr)
    embedded = _sdk_throughput(None, work / "sdk-embedded", points)
    with Server.dockyard(work / "sdk-server", workers=workers) as server:
        remote = _sdk_throughput(server.url, work / "sdk-client", points)
    print(f"\n| Dockyard SDK: {points:,} log_metric calls + flush, one loop | metrics/s |")
    print("|---|---:|")
    print(f"| embedded (in-process app) | {embedded:,.0f} |")
    print(f"| server over HTTP ({workers} workers) | {remote:,.0f} |")

    n_runs = 100_000 if not args.quick else 20_000
    print("building the search store ...", file=sys.stderr)
    p50 = _search_latency(work, n_runs)
    print(f"\n| Search, {n_runs:,} runs, SQLite | p50 |")
    print("|---|---:|")
    print(f"| `metrics.rmse < 1` order by `metrics.rmse`, first page of 100 | {p50:.1f} ms |")


if __name__ == "__main__":
    main()

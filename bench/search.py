"""Run search latency on a 100,000-run SQLite store.

Builds a throwaway database (migrated schema, generated data written with executemany: per run ~5
params, 5 latest metrics, 3 tags), then times typical searches the way the tracking service runs
them: build the query, fetch one page of run ids, then load that page's params, latest metrics and
tags with one ``IN`` query each. Prints p50/p95 over the repetitions.

    .venv/bin/python bench/search.py [--runs 100000] [--repeat 20] [--explain] [--keep DIR]

Target: metric filter + order by, first page of 100, under 100 ms p50.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select

from dockyard.server.store import Database, open_database, schema
from dockyard.server.tracking._search import RunViewType, build_search_query

EXPERIMENT_ID = 1
PAGE = 100


@dataclass(frozen=True)
class Case:
    name: str
    filter: str
    order_by: Sequence[str] = ()
    view: RunViewType = "ACTIVE_ONLY"


CASES = [
    Case("metric filter + order", "metrics.rmse < 1", ["metrics.rmse ASC"]),
    Case("metric filter + order DESC", "metrics.rmse < 1", ["metrics.rmse DESC"]),
    Case("metric order, no filter", "", ["metrics.rmse DESC"]),
    Case("metric filter, default order", "metrics.rmse < 1"),
    Case("rare metric filter (0.05%)", "metrics.rmse < 0.001"),
    Case("param equality", "params.max_depth = '5'"),
    Case("tag LIKE", "tags.team LIKE 'team-a%'"),
    Case("attribute status", "attributes.status = 'FAILED'"),
    Case("run name ILIKE", "attributes.run_name ILIKE '%RUN-99%'"),
    Case("no filter, default order", ""),
    Case("param order", "", ["params.lr DESC"]),
    Case(
        "metric + param + tag, order",
        "metrics.rmse < 1 and params.optimizer = 'adam' and tags.team = 'team-b'",
        ["metrics.rmse ASC"],
    ),
    Case("all stages, start_time ASC", "", ["attributes.start_time ASC"], "ALL"),
]


def build(db: Database, n_runs: int, seed: int = 7) -> None:
    """Fill ``db`` with ``n_runs`` generated runs in one experiment."""
    rng = random.Random(seed)
    users = [f"user{i}" for i in range(8)]
    statuses = ["FINISHED"] * 7 + ["FAILED", "RUNNING", "KILLED"]
    base = 1_700_000_000_000
    runs, params, metrics, tags = [], [], [], []
    for i in range(n_runs):
        run_id = uuid.UUID(int=rng.getrandbits(128)).hex
        status = rng.choice(statuses)
        start = base + i * 1_000 + rng.randrange(1_000)
        runs.append(
            (
                run_id,
                EXPERIMENT_ID,
                f"run-{i}",
                rng.choice(users),
                status,
                start,
                None if status == "RUNNING" else start + rng.randrange(60_000),
                "deleted" if rng.random() < 0.01 else "active",
                f"file:///artifacts/1/{run_id}",
            )
        )
        params += [
            (run_id, "lr", rng.choice(["0.1", "0.01", "0.001", "0.0001", "0.3"])),
            (run_id, "max_depth", str(rng.randrange(1, 11))),
            (run_id, "n_estimators", str(rng.choice([50, 100, 200, 400]))),
            (run_id, "optimizer", rng.choice(["adam", "sgd", "rmsprop"])),
            (run_id, "seed", str(i)),
        ]
        rmse = float("nan") if rng.random() < 0.001 else rng.uniform(0.0, 2.0)
        for key, value in (
            ("rmse", rmse),
            ("mae", rng.uniform(0.0, 1.5)),
            ("r2", rng.uniform(-1.0, 1.0)),
            ("accuracy", rng.random()),
            ("loss", rng.expovariate(1.0)),
        ):
            nan = value != value
            metrics.append((run_id, key, 0.0 if nan else value, nan, start, 10))
        tags += [
            (run_id, "team", f"team-{rng.choice('abcd')}"),
            (run_id, "mlflow.user", rng.choice(users)),
            (run_id, "mlflow.source.name", rng.choice(["train.py", "tune.py", "nb.ipynb"])),
        ]
    with db.write() as conn:
        conn.execute(
            schema.experiments.insert().values(
                experiment_id=EXPERIMENT_ID,
                name="bench",
                artifact_location="file:///artifacts/1",
                creation_time=base,
                last_update_time=base,
            )
        )
        conn.exec_driver_sql(
            "INSERT INTO runs (run_id, experiment_id, name, user_id, status, start_time, "
            "end_time, lifecycle_stage, artifact_uri) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            runs,
        )
        conn.exec_driver_sql("INSERT INTO params (run_id, key, value) VALUES (?, ?, ?)", params)
        conn.exec_driver_sql(
            "INSERT INTO latest_metrics (run_id, key, value, is_nan, timestamp, step) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            metrics,
        )
        conn.exec_driver_sql("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)", tags)


def search_page(conn: Connection, case: Case) -> int:
    """One search as the service runs it: a page of ids, then that page's data in 3 queries."""
    query = build_search_query([EXPERIMENT_ID], case.filter, case.order_by, case.view, PAGE, 0)
    ids = list(conn.execute(query).scalars())
    for table in (schema.params, schema.latest_metrics, schema.tags):
        conn.execute(select(table).where(table.c.run_id.in_(ids))).all()
    return len(ids)


def explain(conn: Connection, case: Case) -> str:
    query = build_search_query([EXPERIMENT_ID], case.filter, case.order_by, case.view, PAGE, 0)
    compiled = query.compile(conn, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    ordered = [params[name] for name in compiled.positiontup or []]
    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(ordered)).all()
    return "\n".join(f"    {row[-1]}" for row in rows)


@contextmanager
def database(keep: Path | None, n_runs: int) -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="dockyard-bench-") as tmp:
        path = (keep or Path(tmp)) / f"search-{n_runs}.db"
        fresh = not path.exists()
        db = open_database(f"sqlite:///{path}")
        try:
            if fresh:
                started = time.perf_counter()
                build(db, n_runs)
                print(f"built {n_runs:,} runs in {time.perf_counter() - started:.1f} s ({path})")
            yield db
        finally:
            db.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--explain", action="store_true", help="print each query plan")
    parser.add_argument("--keep", type=Path, help="reuse/keep the database in this folder")
    args = parser.parse_args(argv)

    with database(args.keep, args.runs) as db:
        print(f"{'query':32} {'p50 ms':>8} {'p95 ms':>8} {'rows':>5}")
        for case in CASES:
            timings = []
            with db.read() as conn:
                rows = search_page(conn, case)  # warm the page cache and the statement cache
            for _ in range(args.repeat):
                started = time.perf_counter()
                with db.read() as conn:
                    search_page(conn, case)
                timings.append((time.perf_counter() - started) * 1000)
            p50 = statistics.median(timings)
            p95 = statistics.quantiles(timings, n=20)[-1] if len(timings) > 1 else timings[0]
            print(f"{case.name:32} {p50:8.2f} {p95:8.2f} {rows:5d}")
            if args.explain:
                with db.read() as conn:
                    print(explain(conn, case))
    return 0


if __name__ == "__main__":
    sys.exit(main())

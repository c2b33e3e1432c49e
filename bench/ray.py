"""Ray scale-out benchmark: tuning trials on a three-node local Ray cluster.

(a) Scaling: N trials of a script that sleeps S seconds, one Random tuning job per parallelism
    P (1, 2, 4, 8), on a Dockyard server whose executor is Ray (``DOCKYARD_EXECUTOR=ray``). The
    cluster is ``ray.cluster_utils.Cluster`` on this machine: a head with 4 logical CPUs and two
    worker nodes with 2 each, so 8 one-CPU trials fit at once (the work is a sleep: two physical
    cores would cap CPU-bound work). Reported per P: wall time from the create call to the
    tuning job's end (as the server records them; ``client_wall_s`` is what a client polling
    every 50 ms saw), the ideal N * S / P, the speedup over P = 1 and its share of linear.

(b) Per-job overhead: each trial's job duration minus S, p50, and the p50 of each phase
    (:data:`tuning.PHASES`), on Ray and on the local executor at the same P.

(c) Endpoint replicas (``--serving``): the same scikit-learn model behind two replicas on the
    cluster's two worker nodes, (1) as Dockyard's own serving workers started by Ray actors
    (``DOCKYARD_EXECUTOR=ray``), called through the server's invocations route and at the
    endpoint's own URL (a port the server binds and forwards), and (2) as a
    minimal Ray Serve deployment (``num_replicas=2``, its HTTP proxy), called at its route.
    Reported per path: cold start (from the create call to the first answer), and p50 / p99
    latency and throughput of ``--requests`` requests from 16 concurrent clients. Needs
    Ray Serve for path (2) (``make bench`` installs it: the ``bench`` dependency group;
    ``--dockyard-only`` skips it).

(d) Transform (``--only transform``): a CSV of ``--rows`` rows (four float columns, one file)
    in SeaweedFS scored by a linear model to S3, its shards as Ray tasks on a cluster of three
    one-CPU nodes, then of one; and with the local executor's worker processes for reference.
    Reading, parsing and writing CSV is CPU-bound: on this machine's two physical cores three
    nodes cannot be three times one.

Run: ``nice .venv/bin/python bench/ray.py [--trials 24] [--seconds 2] [--parallel 1,2,4,8]
[--local-parallel 2] [--only tuning|transform] [--rows 1000000]``; ``nice .venv/bin/python
bench/ray.py --serving [--requests 2000] [--dockyard-only]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _servers import Server
from tuning import SCRIPT, phases

# This file is named ray.py: with its folder on the path, `import ray` would import it.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

RAY_ENV = {
    # Loopback only, no sign-in, no usage reports: set before Ray is imported.
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
}


def start_cluster() -> Any:
    os.environ.update(RAY_ENV)
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 4, "include_dashboard": False}
    )
    for _ in range(2):
        cluster.add_node(num_cpus=2)
    cluster.wait_for_nodes()
    return cluster


def tune(env: dict[str, str], trials: int, parallel: int, seconds: float) -> dict[str, float]:
    """One tuning job of ``trials`` sleeping trials at ``parallelism``, on a fresh server."""
    with tempfile.TemporaryDirectory() as tmp:
        code = Path(tmp) / "code"
        code.mkdir()
        (code / "sleep.py").write_text(SCRIPT)
        env = {**env, "DOCKYARD_DATA_ROOTS": str(code)}
        with (
            Server.dockyard(Path(tmp) / "home", env=env) as server,
            httpx.Client(base_url=server.url, timeout=60) as client,
        ):
            body = {
                "name": "scale",
                "config": {
                    "strategy": "Random",
                    "objective": {"type": "Minimize", "metric_name": "loss"},
                    "resource_limits": {"max_jobs": trials, "max_parallel_jobs": parallel},
                    "parameter_ranges": {
                        "continuous": [{"name": "x", "min_value": 0, "max_value": 1}]
                    },
                    "random_seed": 1,
                },
                "training_job": {
                    "entry_point": "sleep.py",
                    "source_dir": str(code),
                    "hyperparameters": {"seconds": seconds},
                    "resources": {"cpus": 1},
                    "metric_definitions": [{"name": "loss", "regex": "loss=([0-9.e-]+)"}],
                },
            }
            t0 = time.monotonic()
            client.post("/api/v1/tuning-jobs", json=body).raise_for_status()
            while True:
                job = client.get("/api/v1/tuning-jobs/scale").json()
                if job["status"] not in ("InProgress", "Stopping"):
                    break
                time.sleep(0.05)
            seen = time.monotonic() - t0
            # The server's own record, from the create call to the end: the polling above
            # would add up to its interval to every wall time, a larger share at high P.
            wall = (job["end_time"] - job["created_time"]) / 1000
            assert job["counts"]["completed"] == trials, job
            found = client.get("/api/v1/tuning-jobs/scale/trials").json()["trials"]
            jobs = [client.get(f"/api/v1/jobs/{t['job']}").json() for t in found]
    own = [(j["end_time"] - j["created_time"]) / 1000 - seconds for j in jobs]
    return {
        "wall_s": wall,
        "client_wall_s": seen,
        "job_overhead_p50_s": statistics.median(own),
        **phases(jobs, seconds),
    }


ROW = {"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1.0, 2.0, 3.0]]}}
CONCURRENCY = 16


def save_regressor(folder: Path) -> Path:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from dockyard.models import save_model

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.random((50, 3)), columns=["a", "b", "c"])
    save_model(LinearRegression().fit(x, x["a"] * 2 + x["b"]), folder, input_example=x.head(3))
    return folder


def load(url: str, requests: int) -> dict[str, float]:
    """``requests`` POSTs of one row from :data:`CONCURRENCY` threads; latency in ms."""
    from concurrent.futures import ThreadPoolExecutor

    share = requests // CONCURRENCY

    def client(_: int) -> list[float]:
        took = []
        with httpx.Client(timeout=30) as http:
            for _ in range(share):
                t0 = time.perf_counter()
                http.post(url, json=ROW).raise_for_status()
                took.append((time.perf_counter() - t0) * 1000)
        return took

    t0 = time.monotonic()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        took = sorted(t for part in pool.map(client, range(CONCURRENCY)) for t in part)
    wall = time.monotonic() - t0
    return {
        "p50_ms": took[len(took) // 2],
        "p99_ms": took[int(len(took) * 0.99)],
        "rps": len(took) / wall,
    }


def first_answer(url: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.post(url, json=ROW, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


def serve_dockyard(cluster: Any, model: Path, requests: int) -> dict[str, dict[str, float]]:
    """Two replicas as Dockyard workers on Ray actors, through the server's invocations route
    and at the endpoint's own URL (cold start: to the route's first answer)."""
    env = {
        **RAY_ENV,
        "DOCKYARD_EXECUTOR": "ray",
        "DOCKYARD_RAY_ADDRESS": cluster.address,
        "DOCKYARD_DATA_ROOTS": str(model.parent),
    }
    with (
        tempfile.TemporaryDirectory() as tmp,
        Server.dockyard(Path(tmp) / "home", env=env) as server,
    ):
        body = {
            "name": "bench",
            "variants": [{"name": "main", "model_uri": str(model)}],
            "scaling": {"min_workers": 2, "max_workers": 2},
        }
        url = f"{server.url}/endpoints/bench/invocations"
        t0 = time.monotonic()
        httpx.post(f"{server.url}/api/v1/endpoints", json=body, timeout=60).raise_for_status()
        first_answer(url)
        cold = time.monotonic() - t0
        while httpx.get(f"{server.url}/api/v1/endpoints/bench").json()["status"] != "InService":
            time.sleep(0.1)  # both replicas up before the load
        own = httpx.get(f"{server.url}/api/v1/endpoints/bench").json()["url"] + "/invocations"
        found = {
            "via the server's route": {"cold_start_s": cold, **load(url, requests)},
            "at the endpoint's own URL": {"cold_start_s": cold, **load(own, requests)},
        }
        httpx.delete(f"{server.url}/api/v1/endpoints/bench", timeout=60)
        while httpx.get(f"{server.url}/api/v1/endpoints").json()["endpoints"]:
            time.sleep(0.1)  # replicas gone before the server stops
    return found


def serve_ray(cluster: Any, model: Path, requests: int) -> dict[str, float]:
    """Two replicas as a minimal Ray Serve deployment of the same model, at its HTTP proxy."""
    import ray
    from ray import serve

    ray.init(address=cluster.address, log_to_driver=False)
    port = int(os.environ.get("BENCH_SERVE_PORT", "8765"))
    serve.start(http_options={"host": "127.0.0.1", "port": port})

    @serve.deployment(num_replicas=2, ray_actor_options={"num_cpus": 0})
    class Model:
        def __init__(self, path: str) -> None:
            from dockyard.models import load_model

            self.model = load_model(path)

        async def __call__(self, request: Any) -> dict[str, Any]:
            import pandas as pd

            split = (await request.json())["dataframe_split"]
            frame = pd.DataFrame(split["data"], columns=split["columns"])
            return {"predictions": [float(v) for v in self.model.predict(frame)]}

    url = f"http://127.0.0.1:{port}/"
    try:
        t0 = time.monotonic()
        serve.run(Model.bind(str(model)), route_prefix="/", blocking=False)
        first_answer(url)
        cold = time.monotonic() - t0
        return {"cold_start_s": cold, **load(url, requests)}
    finally:
        serve.shutdown()
        ray.shutdown()


def serving(requests: int, *, ray_serve: bool = True) -> None:
    cluster = start_cluster()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            model = save_regressor(Path(tmp) / "model")
            ours = serve_dockyard(cluster, model, requests)
            rows = {f"Dockyard workers on Ray actors, {how}": f for how, f in ours.items()}
            print(rows, flush=True)
            if ray_serve:
                rows["Ray Serve deployment"] = serve_ray(cluster, model, requests)
                print(rows, flush=True)
    finally:
        cluster.shutdown()
    print(f"\n| 2 replicas, c={CONCURRENCY} | cold start | p50 | p99 | req/s |")
    print("|---|---:|---:|---:|---:|")
    for name, found in rows.items():
        print(
            f"| {name} | {found['cold_start_s']:.1f} s | {found['p50_ms']:.1f} ms "
            f"| {found['p99_ms']:.1f} ms | {found['rps']:.0f} |"
        )


def transform_bench(rows: int) -> None:
    """(d): the same transform with its shards on 3 Ray nodes, on 1, and on local workers."""
    import numpy as np
    import pandas as pd
    import pytest
    from sklearn.linear_model import LinearRegression

    sys.path.insert(0, str(HERE.parent))
    from tests.services.s3 import _isolate_aws_environment, _start, _weed_binary

    from dockyard.models import save_model
    from dockyard.runtime.batch import RayShards, run_transform

    os.environ.update(RAY_ENV)
    import ray
    from ray.cluster_utils import Cluster

    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as env:
        root = Path(tmp)
        _isolate_aws_environment(env, root)
        weed, s3 = _start(_weed_binary(), root)
        try:
            data = np.random.default_rng(1).normal(size=(rows, 4))
            frame = pd.DataFrame(data, columns=list("abcd"))
            model = LinearRegression().fit(frame, data @ [1.0, -2.0, 0.5, 3.0])
            save_model(model, root / "model", input_example=frame[:5])
            frame.to_csv(root / "in.csv", header=False, index=False)
            size = (root / "in.csv").stat().st_size
            bucket = s3.create_bucket("bench")
            s3.client().upload_file(str(root / "in.csv"), bucket, "in/in.csv")
            print(f"input: {rows} rows, {size / 2**20:.1f} MB; load {os.getloadavg()}")

            def once(name: str, slug: str, nodes: int) -> None:
                spec = {
                    "model_uri": str(root / "model"),
                    "input": {"uri": f"s3://{bucket}/in", "content_type": "text/csv"},
                    "output": {"uri": f"s3://{bucket}/out-{slug}", "assemble_with": "Line"},
                }
                cluster = None
                if nodes:
                    cluster = Cluster(
                        initialize_head=True,
                        head_node_args={"num_cpus": 1, "include_dashboard": False},
                    )
                    for _ in range(nodes - 1):
                        cluster.add_node(num_cpus=1)
                    cluster.wait_for_nodes()
                    ray.init(address=cluster.address, log_to_driver=False)
                try:
                    shards = RayShards(cluster.address) if cluster else None
                    t0 = time.monotonic()
                    result = run_transform(
                        spec,
                        root / f"work-{slug}",
                        s3_endpoint_url=s3.endpoint_url,
                        env_manager="local",
                        cluster=shards,
                    )
                    wall = time.monotonic() - t0
                finally:
                    if cluster is not None:
                        ray.shutdown()
                        cluster.shutdown()
                assert result.records == rows, result
                used = len(set(shards.nodes.values())) if shards else 0
                print(
                    f"| {name} | {wall:.1f} s | {rows / wall:,.0f} | {result.shards_total} "
                    f"| {used or '-'} | {os.getloadavg()[0]:.2f} |",
                    flush=True,
                )

            print("\n| where | wall | rows/s | shards | nodes used | load (1 min) after |")
            print("|---|---:|---:|---:|---:|---:|")
            once("Ray, 3 nodes", "ray3", 3)
            once("Ray, 1 node", "ray1", 1)
            once("local executor (2 workers)", "local", 0)
        finally:
            weed.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--parallel", default="1,2,4,8")
    parser.add_argument("--local-parallel", type=int, default=2)
    parser.add_argument("--serving", action="store_true", help="run (c) only")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--dockyard-only", action="store_true", help="(c) without Ray Serve")
    parser.add_argument("--only", choices=("tuning", "transform"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.serving:
        print(f"load average at start: {os.getloadavg()}")
        serving(args.requests, ray_serve=not args.dockyard_only)
        print(f"load average at end: {os.getloadavg()}")
        return
    if args.only != "tuning":
        transform_bench(args.rows)
        if args.only == "transform":
            return
    levels = [int(p) for p in args.parallel.split(",")]
    print(f"load average at start: {os.getloadavg()}")
    cluster = start_cluster()
    ray_env = {**RAY_ENV, "DOCKYARD_EXECUTOR": "ray", "DOCKYARD_RAY_ADDRESS": cluster.address}
    results: dict[int, dict[str, float]] = {}
    try:
        for parallel in levels:
            results[parallel] = tune(ray_env, args.trials, parallel, args.seconds)
            print(f"ray P={parallel}: {results[parallel]}", flush=True)
    finally:
        cluster.shutdown()
    local_env = {"DOCKYARD_EXECUTOR_CPUS": str(args.local_parallel)}
    local = tune(local_env, args.trials, args.local_parallel, args.seconds)
    print(f"local P={args.local_parallel}: {local}")
    print(f"load average at end: {os.getloadavg()}")

    base = results[levels[0]]["wall_s"] * levels[0]
    print(f"\n| P | wall | ideal {args.trials} x {args.seconds:g} s / P | speedup | of linear |")
    print("|---:|---:|---:|---:|---:|")
    for parallel, found in results.items():
        ideal = args.trials * args.seconds / parallel
        speedup = base / found["wall_s"]
        print(
            f"| {parallel} | {found['wall_s']:.1f} s | {ideal:.1f} s | {speedup:.2f}x "
            f"| {speedup / parallel:.0%} |"
        )
    names = [k for k in local if k not in ("wall_s", "client_wall_s")]
    print(f"\n| per job, p50 (s) | Ray, P={args.local_parallel} | local, P={args.local_parallel} |")
    print("|---|---:|---:|")
    on_ray = results.get(args.local_parallel, results[levels[-1]])
    for name in names:
        print(f"| {name} | {on_ray.get(name, float('nan')):.3f} | {local[name]:.3f} |")


if __name__ == "__main__":
    main()

"""Ray scale-out benchmark: tuning trials on a three-node local Ray cluster.

(a) Scaling: N trials of a script that sleeps S seconds, one Random tuning job per parallelism
    P (1, 2, 4, 8), on a Dockyard server whose executor is Ray (``DOCKYARD_EXECUTOR=ray``). The
    cluster is ``ray.cluster_utils.Cluster`` on this machine: a head with 4 logical CPUs and two
    worker nodes with 2 each, so 8 one-CPU trials fit at once (the work is a sleep: two physical
    cores would cap CPU-bound work). Reported per P: wall time from the create call to the
    tuning job's end, the ideal N * S / P, the speedup over P = 1 and its share of linear.

(b) Per-job overhead: each trial's job duration minus S, p50, and the p50 of each phase
    (:data:`tuning.PHASES`), on Ray and on the local executor at the same P.

Run: ``nice .venv/bin/python bench/ray.py [--trials 24] [--seconds 2] [--parallel 1,2,4,8]
[--local-parallel 2]``.
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
                time.sleep(0.2)
            wall = time.monotonic() - t0
            assert job["counts"]["completed"] == trials, job
            found = client.get("/api/v1/tuning-jobs/scale/trials").json()["trials"]
            jobs = [client.get(f"/api/v1/jobs/{t['job']}").json() for t in found]
    own = [(j["end_time"] - j["created_time"]) / 1000 - seconds for j in jobs]
    return {"wall_s": wall, "job_overhead_p50_s": statistics.median(own), **phases(jobs, seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--parallel", default="1,2,4,8")
    parser.add_argument("--local-parallel", type=int, default=2)
    args = parser.parse_args()
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
    names = [k for k in local if k != "wall_s"]
    print(f"\n| per job, p50 (s) | Ray, P={args.local_parallel} | local, P={args.local_parallel} |")
    print("|---|---:|---:|")
    on_ray = results.get(args.local_parallel, results[levels[-1]])
    for name in names:
        print(f"| {name} | {on_ray.get(name, float('nan')):.3f} | {local[name]:.3f} |")


if __name__ == "__main__":
    main()

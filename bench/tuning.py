"""Tuning benchmark, part (a): the overhead of running each trial as a training job.

N trials of a script that sleeps S seconds, at parallelism P, as one Random tuning job on a
Dockyard server (2 workers, SQLite, the local executor with P CPUs), beside Optuna running the
same objective in process (``study.optimize(n_jobs=P)``). Reported:

- wall time from the create call to the tuning job's end, against the ideal N * S / P;
- the controller's reaction: for each trial's job that ended, how long until the next trial's
  job was created (p50, p90);
- each job's own overhead: its duration minus S (runner and interpreter start, log and status
  upload), p50.

Run: ``nice .venv/bin/python bench/tuning.py [--trials 200] [--parallel 2] [--seconds 1]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _servers import Server

SCRIPT = """\
import argparse, time
parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float)
parser.add_argument("--seconds", type=float)
args, _ = parser.parse_known_args()
time.sleep(args.seconds)
print(f"loss={(args.x - 0.3) ** 2}", flush=True)
"""


def dockyard(trials: int, parallel: int, seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        code = Path(tmp) / "code"
        code.mkdir()
        (code / "sleep.py").write_text(SCRIPT)
        env = {"DOCKYARD_EXECUTOR_CPUS": str(parallel), "DOCKYARD_DATA_ROOTS": str(code)}
        with (
            Server.dockyard(Path(tmp) / "home", env=env) as server,
            httpx.Client(base_url=server.url, timeout=60) as client,
        ):
            body = {
                "name": "overhead",
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
                    "metric_definitions": [{"name": "loss", "regex": "loss=([0-9.e-]+)"}],
                },
            }
            t0 = time.monotonic()
            client.post("/api/v1/tuning-jobs", json=body).raise_for_status()
            while True:
                job = client.get("/api/v1/tuning-jobs/overhead").json()
                if job["status"] not in ("InProgress", "Stopping"):
                    break
                time.sleep(0.2)
            wall = time.monotonic() - t0
            assert job["counts"]["completed"] == trials, job
            found = client.get("/api/v1/tuning-jobs/overhead/trials").json()["trials"]
            jobs = [client.get(f"/api/v1/jobs/{t['job']}").json() for t in found]
    created = sorted(j["created_time"] for j in jobs)
    reactions = []
    for j in jobs:
        later = [c for c in created if c >= j["end_time"]]
        if later:
            reactions.append((later[0] - j["end_time"]) / 1000)
    own = [(j["end_time"] - j["created_time"]) / 1000 - seconds for j in jobs]
    return {
        "wall_s": wall,
        "reaction_p50_s": statistics.median(reactions),
        "reaction_p90_s": statistics.quantiles(reactions, n=10)[-1],
        "job_overhead_p50_s": statistics.median(own),
    }


def optuna_in_process(trials: int, parallel: int, seconds: float) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        time.sleep(seconds)
        return (x - 0.3) ** 2

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    t0 = time.monotonic()
    study.optimize(objective, n_trials=trials, n_jobs=parallel)
    return time.monotonic() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    ideal = args.trials * args.seconds / args.parallel
    print(f"{args.trials} trials of {args.seconds:g} s at parallelism {args.parallel}")
    print(f"ideal wall time: {ideal:.1f} s")
    in_process = optuna_in_process(args.trials, args.parallel, args.seconds)
    print(f"Optuna in process: {in_process:.1f} s ({in_process / ideal:.2f}x ideal)")
    found = dockyard(args.trials, args.parallel, args.seconds)
    print(f"Dockyard: {found['wall_s']:.1f} s ({found['wall_s'] / ideal:.2f}x ideal)")
    print(
        f"controller reaction (job end -> next job created): p50 "
        f"{found['reaction_p50_s'] * 1000:.0f} ms, p90 {found['reaction_p90_s'] * 1000:.0f} ms"
    )
    print(f"per-job overhead beyond the script's sleep: p50 {found['job_overhead_p50_s']:.2f} s")


if __name__ == "__main__":
    main()

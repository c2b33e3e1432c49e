"""Tuning benchmark.

(a) Overhead: N trials of a script that sleeps S seconds, at parallelism P, as one Random
    tuning job on a Dockyard server (2 workers, SQLite, the local executor with P CPUs), beside
    Optuna running the same objective in process (``study.optimize(n_jobs=P)``). Reported:

- wall time from the create call to the tuning job's end, against the ideal N * S / P;
- the controller's reaction: for each trial's job that ended, how long until the next trial's
  job was created (p50, p90);
- each job's own overhead: its duration minus S (runner and interpreter start, log and status
  upload), p50, and the p50 of each phase of it (:data:`PHASES`).

(b) Early stopping: the built-in XGBoost with 200 rounds on scikit-learn's Friedman #1
    regression data (20,000 rows), one Random tuning job of T trials with early stopping Off,
    then the same trials (the same seed proposes the same hyperparameters) with the median rule,
    then Hyperband: each one's best objective and its compute (the sum of its trials' job
    times), against the full search.

(c) Bayesian against random: the same strategies the server runs (``Searcher``), in process,
    over XGBoost on Friedman #1 (5,000 rows, 50 rounds): how many Bayesian (TPE) trials reach
    the best of 50 random ones, per seed.

Run: ``nice .venv/bin/python bench/tuning.py [--only a|b|c] [--trials 200] [--parallel 2]
[--seconds 1] [--es-trials 16] [--seeds 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
        **phases(jobs, seconds),
    }


#: A job's overhead by phase, between the times of its status transitions: created (the tuning
#: loop's submit) -> Starting (the scheduler hands it to the executor) -> Training (the runner
#: started, fetched its launch, laid out the folder) -> Uploading (the script's process ran and
#: exited, less the script's own sleep) -> Completed (outputs and log kept).
PHASES = (
    ("queued", "Pending", "Starting"),
    ("runner start", "Starting", "Training"),
    ("script process", "Training", "Uploading"),
    ("finishing", "Uploading", "Completed"),
)


def phases(jobs: list[dict[str, Any]], seconds: float) -> dict[str, float]:
    """The p50 of each of :data:`PHASES`, in seconds (``phase_<name>_p50_s``)."""
    found: dict[str, list[float]] = {name: [] for name, _, _ in PHASES}
    for job in jobs:
        at: dict[str, int] = {}
        for event in job["events"]:
            at.setdefault(event["secondary_status"], event["time"])
        at.setdefault("Pending", job["created_time"])
        for name, start, end in PHASES:
            if start in at and end in at:
                spent = (at[end] - at[start]) / 1000
                found[name].append(spent - seconds if name == "script process" else spent)
    return {f"phase_{name}_p50_s": statistics.median(v) for name, v in found.items() if v}


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


XGB_RANGES = {
    "continuous": [
        {"name": "eta", "min_value": 0.01, "max_value": 0.5, "scaling_type": "Logarithmic"},
        {"name": "subsample", "min_value": 0.5, "max_value": 1.0},
    ],
    "integer": [
        {"name": "max_depth", "min_value": 2, "max_value": 10},
        {"name": "min_child_weight", "min_value": 1, "max_value": 10},
    ],
}


def friedman(rows: int) -> tuple[Any, Any, Any, Any]:
    from sklearn.datasets import make_friedman1

    x, y = make_friedman1(n_samples=rows, n_features=10, noise=1.0, random_state=0)
    cut = int(rows * 0.8)
    return x[:cut], y[:cut], x[cut:], y[cut:]


def early_stopping(trials: int, parallel: int) -> None:
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        x, y, vx, vy = friedman(20_000)
        for channel, (features, labels) in {"train": (x, y), "validation": (vx, vy)}.items():
            (data / channel).mkdir(parents=True)
            np.savetxt(
                data / channel / "data.csv", np.column_stack([labels, features]), "%.6f", ","
            )
        env = {"DOCKYARD_EXECUTOR_CPUS": str(parallel), "DOCKYARD_DATA_ROOTS": str(data)}
        with (
            Server.dockyard(Path(tmp) / "home", env=env) as server,
            httpx.Client(base_url=server.url, timeout=60) as client,
        ):
            results = {}
            for label, strategy, stopping in (
                ("full random search", "Random", "Off"),
                ("median rule", "Random", "Auto"),
                ("Hyperband", "Hyperband", "Off"),
            ):
                name = f"es-{strategy.lower()}-{stopping.lower()}"
                body = {
                    "name": name,
                    "config": {
                        "strategy": strategy,
                        "objective": {"type": "Minimize", "metric_name": "validation:rmse"},
                        "resource_limits": {"max_jobs": trials, "max_parallel_jobs": parallel},
                        "parameter_ranges": XGB_RANGES,
                        "early_stopping": stopping,
                        "random_seed": 7,
                        "hyperband": {"min_resource": 10},
                    },
                    "training_job": {
                        "algorithm": "xgboost",
                        "hyperparameters": {"num_round": 200, "nthread": 1},
                        "inputs": {
                            c: {"uri": str(data / c), "content_type": "text/csv"}
                            for c in ("train", "validation")
                        },
                    },
                }
                client.post("/api/v1/tuning-jobs", json=body).raise_for_status()
                while client.get(f"/api/v1/tuning-jobs/{name}").json()["status"] in (
                    "InProgress",
                    "Stopping",
                ):
                    time.sleep(0.5)
                found = client.get(f"/api/v1/tuning-jobs/{name}/trials").json()["trials"]
                compute = 0.0
                for t in found:
                    job = client.get(f"/api/v1/jobs/{t['job']}").json()
                    compute += (job["end_time"] - (job["start_time"] or job["created_time"])) / 1000
                best = min(t["objective"] for t in found if t["objective"] is not None)
                stopped = sum(1 for t in found if t["reason"] == "stopped early")
                results[label] = (best, compute, stopped)
    full_best, full_compute, _ = results["full random search"]
    print(f"{trials} trials, 200 rounds, parallelism {parallel}")
    for label, (best, compute, stopped) in results.items():
        print(
            f"{label:>20}: best {best:.4f} ({(best / full_best - 1) * 100:+.2f}%), compute "
            f"{compute:.1f} s ({compute / full_compute:.0%}), {stopped} stopped early"
        )


def bayesian_vs_random(seeds: int, budget: int = 50) -> None:
    import xgboost as xgb
    from optuna.trial import TrialState

    from dockyard.api.tuning import TuningConfig
    from dockyard.server.tuning._strategy import Searcher, TrialRecord

    x, y, vx, vy = friedman(5_000)
    train, valid = xgb.DMatrix(x, y), xgb.DMatrix(vx, vy)

    def objective(params: dict[str, Any]) -> float:
        found: dict[str, Any] = {}
        xgb.train(
            {**params, "nthread": 1, "objective": "reg:squarederror"},
            train,
            50,
            evals=[(valid, "validation")],
            evals_result=found,
            verbose_eval=False,
        )
        return float(found["validation"]["rmse"][-1])

    def search(strategy: str, seed: int, stop_at: float | None) -> list[float]:
        config = TuningConfig.model_validate(
            {
                "strategy": strategy,
                "objective": {"type": "Minimize", "metric_name": "rmse"},
                "resource_limits": {"max_jobs": budget},
                "parameter_ranges": XGB_RANGES,
                "random_seed": seed,
            }
        )
        searcher = Searcher(config, "bench")
        records: list[TrialRecord] = []
        best: list[float] = []
        for number in range(budget):
            proposal = searcher.propose(records, number)
            assert proposal is not None
            value = objective(proposal.params)
            records.append(TrialRecord(number, proposal.params, TrialState.COMPLETE, value))
            best.append(min(value, best[-1]) if best else value)
            if stop_at is not None and best[-1] <= stop_at:
                break
        return best

    needed = []
    for seed in range(seeds):
        target = search("Random", seed, None)[-1]
        reached = search("Bayesian", seed, target)
        count = len(reached) if reached[-1] <= target else budget + 1
        needed.append(count)
        print(
            f"seed {seed}: random's {budget}-trial best {target:.4f}; Bayesian reached it in "
            f"{count if count <= budget else f'more than {budget}'} trials"
        )
    print(
        f"median trials for Bayesian to reach random's {budget}-trial best: "
        f"{statistics.median(needed)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["a", "b", "c"])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--es-trials", type=int, default=16)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    if args.only in (None, "c"):
        bayesian_vs_random(args.seeds)
    if args.only in (None, "b"):
        early_stopping(args.es_trials, args.parallel)
    if args.only not in (None, "a"):
        return
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
    for name, _, _ in PHASES:
        key = f"phase_{name}_p50_s"
        if key in found:
            print(f"  {name:>14}: p50 {found[key] * 1000:.0f} ms")


if __name__ == "__main__":
    main()

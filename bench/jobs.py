"""Jobs benchmark: submit-to-first-line latency vs ``mlflow run``, and queue throughput.

1. Latency: from the submit call to the first line of user code (the script prints a wall-clock
   timestamp as its first statement), for a Dockyard job and for ``mlflow run --env-manager
   local`` on the same script, N times each.
2. Throughput: 100 short CPU-bound jobs queued on 2 cores vs the same scripts run directly with
   the same parallelism (2 at a time).
3. Transform: a 1-row batch transform (scikit-learn model, CSV) through the SDK,
   ``Transformer(...).transform(..., wait=True)``, from the call to its return (the job
   Completed), on a warm server, with each job's process-tree CPU; with the default settings
   (the warm process learns the model's libraries from the first jobs), without that learning
   (``DOCKYARD_EXECUTOR_LEARN=false``), with the libraries named in
   ``DOCKYARD_EXECUTOR_PRELOAD``, and with ``--before SRC`` also from another checkout's code.

Run: ``.venv/bin/python bench/jobs.py [--quick] [--only latency|throughput|transform]
[--before OTHER_CHECKOUT/src]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _servers import VENV_BIN, Server

FIRST_LINE = 'import time; print(f"FIRST {time.time():.6f}", flush=True)\n'
BUSY = (
    "import time\n"
    "start = time.process_time()\n"
    "while time.process_time() - start < {seconds}:\n"
    "    pass\n"
    'print("done", flush=True)\n'
)


def _first_line_time(path: Path, timeout: float = 60) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text().splitlines():
                if line.startswith("FIRST "):
                    return float(line.split()[1])
        time.sleep(0.002)
    raise TimeoutError(path)


def dockyard_latency(server: Server, home: Path, code: Path, n: int) -> list[float]:
    out = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for i in range(n):
            name = f"lat-{i}"
            t0 = time.time()
            answer = client.post(
                "/api/v1/jobs/training",
                json={"name": name, "entry_point": "first.py", "source_dir": str(code)},
            )
            answer.raise_for_status()
            t1 = _first_line_time(home / "jobs" / name / ".dockyard" / "output.log")
            out.append(t1 - t0)
            while client.get(f"/api/v1/jobs/{name}").json()["status"] not in (
                "Completed",
                "Failed",
            ):
                time.sleep(0.02)
    return out


def mlflow_latency(code: Path, work: Path, n: int) -> list[float]:
    (code / "MLproject").write_text(
        "name: bench\nentry_points:\n  main:\n    command: python first.py\n"
    )
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{work}/mlflow.db",
    }
    out = []
    for _ in range(n):
        t0 = time.time()
        proc = subprocess.run(
            [str(VENV_BIN / "mlflow"), "run", str(code), "--env-manager", "local"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        line = next(x for x in proc.stdout.splitlines() if x.startswith("FIRST "))
        out.append(float(line.split()[1]) - t0)
    return out


def direct_throughput(code: Path, jobs: int, parallel: int) -> float:
    start = time.monotonic()
    with ThreadPoolExecutor(parallel) as pool:
        list(
            pool.map(
                lambda _: subprocess.run(
                    [sys.executable, str(code / "busy.py")], check=True, capture_output=True
                ),
                range(jobs),
            )
        )
    return time.monotonic() - start


def dockyard_throughput(server: Server, code: Path, jobs: int) -> float:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        start = time.monotonic()
        for i in range(jobs):
            client.post(
                "/api/v1/jobs/training",
                json={
                    "name": f"busy-{i}",
                    "entry_point": "busy.py",
                    "source_dir": str(code),
                    "resources": {"cpus": 1},
                },
            ).raise_for_status()
        pending = {f"busy-{i}" for i in range(jobs)}
        while pending:
            time.sleep(0.5)  # a gentle poll: the benchmark must not compete with the jobs
            listing = client.get("/api/v1/jobs", params={"limit": 1000}).json()["jobs"]
            done = {j["name"] for j in listing if j["status"] in ("Completed", "Failed")}
            failed = [
                j["name"] for j in listing if j["status"] == "Failed" and j["name"] in pending
            ]
            if failed:
                raise RuntimeError(f"jobs failed: {failed[:3]}")
            pending -= done
        return time.monotonic() - start


def transform_latency(
    server: Server, data: Path, n: int, *, logs: bool
) -> tuple[list[float], list[float]]:
    """Seconds the SDK call ``Transformer(...).transform(..., wait=True)`` takes for a 1-row CSV,
    for ``n`` jobs after two that warm the server up, and the CPU seconds each job's process
    tree used. The model and the input are uploaded to the store once, first: the calls
    measure the job, not the upload check."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    import dockyard as dy
    from dockyard.client.http import Client
    from dockyard.client.sdk._upload import upload_path
    from dockyard.models import save_model

    if not (data / "model").exists():
        model = LinearRegression().fit(
            pd.DataFrame([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), [0, 1, 2]
        )
        save_model(model, data / "model")
        np.savetxt(data / "one.csv", [[1.0, 2.0]], delimiter=",")
    dy.set_tracking_uri(server.url)
    with Client(server.url) as client:
        model_uri = upload_path(client, data / "model", "models", "model_uri")
        input_uri = upload_path(client, data / "one.csv", "transform/inputs", "input.uri")
    out, cpu = [], []
    sink = open(os.devnull, "w")  # noqa: SIM115 - the progress bar, when logs are followed
    stderr, sys.stderr = sys.stderr, sink
    try:
        for i in range(n + 2):
            transformer = dy.Transformer(model_uri)
            c0, t0 = server.reaped_cpu_seconds(), time.perf_counter()
            transformer.transform(input_uri, content_type="text/csv", wait=True, logs=logs)
            wall = time.perf_counter() - t0
            if i >= 2:
                out.append(wall)
                # The runner is reaped (and counted) just after the job reads Completed.
                deadline = time.monotonic() + 5
                while (
                    used := server.reaped_cpu_seconds() - c0
                ) <= 0 and time.monotonic() < deadline:
                    time.sleep(0.01)
                cpu.append(used)
    finally:
        sys.stderr = stderr
        sink.close()
    return out, cpu


PRELOAD_SKLEARN = {"DOCKYARD_EXECUTOR_PRELOAD": "sklearn.linear_model,pandas"}


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["latency", "throughput", "transform"], default=None)
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="with --only transform: also run the server from this source folder (another "
        "checkout's src/, on PYTHONPATH) as the 'before' of a side-by-side run",
    )
    args = parser.parse_args()
    n_lat = 10 if args.quick else 30
    n_jobs = 20 if args.quick else 100
    seconds = 0.5 if args.quick else 1.0
    work = Path(tempfile.mkdtemp(prefix="dockyard-bench-jobs-"))
    code = work / "code"
    code.mkdir()
    (code / "first.py").write_text(FIRST_LINE)
    (code / "busy.py").write_text(BUSY.format(seconds=seconds))
    home = work / "home"
    if args.only == "transform":
        data = work / "data"
        data.mkdir()
        load = os.getloadavg()[0]
        rows = []
        configs: list[tuple[str, dict[str, str]]] = [
            ("default", {}),
            ("DOCKYARD_EXECUTOR_LEARN=false", {"DOCKYARD_EXECUTOR_LEARN": "false"}),
            ("+ DOCKYARD_EXECUTOR_PRELOAD=sklearn.linear_model,pandas", PRELOAD_SKLEARN),
        ]
        if args.before is not None:
            configs.insert(0, (f"before ({args.before})", {"PYTHONPATH": str(args.before)}))
        for label, extra in configs:
            env = {"DOCKYARD_DATA_ROOTS": str(data), **extra}
            with Server.dockyard(work / f"home-{len(rows)}", workers=1, env=env) as server:
                for logs in (False, True):
                    lat, cpu = transform_latency(server, data, n_lat, logs=logs)
                    rows.append((label, logs, lat, cpu))
        print(f"\n1-row transform, SDK submit -> Completed ({n_lat} runs each)")
        print("| server | wait | p50 | p95 | job-tree CPU p50 |\n|---|---|---|---|---|")
        for label, logs, lat, cpu in rows:
            how = "logs=True (progress bar)" if logs else "logs=False"
            print(
                f"| {label} | {how} | {statistics.median(lat) * 1000:.0f} ms | "
                f"{_pct(lat, 0.95) * 1000:.0f} ms | {statistics.median(cpu) * 1000:.0f} ms |"
            )
        print(f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after")
        return
    if args.only != "throughput":
        # Specs name only the store and data roots: the benchmark's code folder is one.
        roots = {"DOCKYARD_DATA_ROOTS": str(code)}
        with Server.dockyard(home, workers=1, env=roots) as server:
            dy_lat = dockyard_latency(server, home, code, n_lat)
        ml_lat = mlflow_latency(code, work, max(3, n_lat // 3))
        print("\n| submit -> first line of user code | p50 | p95 |")
        print("|---|---|---|")
        print(
            f"| Dockyard job ({n_lat} runs) | {statistics.median(dy_lat) * 1000:.0f} ms | "
            f"{_pct(dy_lat, 0.95) * 1000:.0f} ms |"
        )
        print(
            f"| mlflow run --env-manager local ({len(ml_lat)} runs) | "
            f"{statistics.median(ml_lat) * 1000:.0f} ms | {_pct(ml_lat, 0.95) * 1000:.0f} ms |"
        )
        ratio = statistics.median(ml_lat) / statistics.median(dy_lat)
        print(f"| ratio (mlflow / Dockyard, p50) | {ratio:.1f}x | |")
    if args.only != "latency":
        roots = {"DOCKYARD_DATA_ROOTS": str(code)}
        with Server.dockyard(work / "home-throughput", workers=1, env=roots) as server:
            dy_total = dockyard_throughput(server, code, n_jobs)
        direct = direct_throughput(code, n_jobs, 2)
        print(
            f"\n{n_jobs} jobs of {seconds:g} s CPU on 2 cores: Dockyard queue {dy_total:.1f} s, "
            f"direct with 2 at a time {direct:.1f} s, ratio {dy_total / direct:.2f}x"
        )


if __name__ == "__main__":
    main()

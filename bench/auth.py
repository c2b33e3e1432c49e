"""What signing in costs: the authentication layer alone, then whole servers side by side.

1. The layer in one process: the ASGI middleware in front of an app that answers at once,
   called with no credentials (a server without accounts) and with a cached bearer token.
2. Three servers (2 workers, SQLite) in one run, alternating rounds: ``before`` (a build
   without the layer: pass its ``dockyard`` executable with ``--before``), ``open`` (this build,
   no accounts) and ``signed`` (this build, every request carries a token).
   - ``wrk`` on ``GET /api/v1/experiments/0``: p50 latency at concurrency 1, requests/s at 16.
   - The unmodified MLflow client (``MLFLOW_TRACKING_TOKEN`` for ``signed``): single
     ``log_metric`` calls/s, ``log_batch`` metrics/s, runs created/s.

    git worktree add /tmp/before <rev> && make -C /tmp/before install
    .venv/bin/python bench/auth.py --before /tmp/before/.venv/bin/dockyard
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
warnings.filterwarnings("ignore")
os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"

from _servers import Server, free_port  # noqa: E402

PASSWORD = "correct horse battery"


# -- 1. the layer alone ---------------------------------------------------------------------------


def layer(calls: int) -> dict[str, float]:
    """p50 nanoseconds per request through the middleware, without and with a token."""
    from dockyard.server import Services
    from dockyard.server._auth import AuthMiddleware
    from dockyard.server.auth import CreateToken, CreateUser
    from dockyard.settings import Settings

    async def instant(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def sink(message: Any) -> None:
        return None

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    def scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
        return {
            "type": "http",
            "method": "GET",
            "path": "/api/v1/experiments/0",
            "headers": [(b"host", b"127.0.0.1:5050"), *headers],
            "client": ("127.0.0.1", 5000),
            "scheme": "http",
        }

    async def bare() -> list[int]:
        times = []
        for _ in range(calls):
            s = scope([])
            start = time.perf_counter_ns()
            await instant(s, receive, sink)
            times.append(time.perf_counter_ns() - start)
        return times

    results: dict[str, float] = {"no layer": statistics.median(asyncio.run(bare())[calls // 10 :])}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("no accounts (anonymous)", "bearer token (cached)"):
            services = Services.from_settings(Settings(home=Path(tmp) / name[:2]))
            headers: list[tuple[bytes, bytes]] = []
            if name.startswith("bearer"):
                from dockyard.server.actor import Actor

                local = Actor.local("bench")
                services.auth.create_user(
                    local, CreateUser(name="a", role="admin", password=PASSWORD)
                )
                token = services.auth.create_token(local, CreateToken(user="a")).token
                headers = [(b"authorization", f"Bearer {token}".encode())]
            middleware = AuthMiddleware(instant, services.auth, services.events, services.settings)

            async def run(
                headers: list[tuple[bytes, bytes]] = headers, m: Any = middleware
            ) -> list[int]:
                times = []
                for _ in range(calls):
                    s = scope(headers)
                    start = time.perf_counter_ns()
                    await m(s, receive, sink)
                    times.append(time.perf_counter_ns() - start)
                return times

            times = asyncio.run(run())
            results[name] = statistics.median(times[calls // 10 :])
            services.close()
    return results


# -- 2. servers side by side ----------------------------------------------------------------------


def _server(name: str, executable: str, home: Path) -> Server:
    port = free_port()
    argv = [executable, "server", "--port", str(port), "--workers", "2", "--home", str(home)]
    return Server(name, argv, port, "/healthz", {"DOCKYARD_LOG_LEVEL": "warning"})


def _token(executable: str, home: Path) -> str:
    env = {**os.environ, "DOCKYARD_HOME": str(home)}
    env.pop("DOCKYARD_URI", None)
    subprocess.run(
        [executable, "users", "create", "bench", "--role", "admin", "--password-stdin"],
        input=PASSWORD,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    made = subprocess.run(
        [executable, "tokens", "create", "--user", "bench", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return str(re.search(r'"token": "([^"]+)"', made.stdout).group(1))  # type: ignore[union-attr]


def _cpu_s(server: Server) -> float:
    """CPU seconds used so far by the server's whole process tree (steadier than rates on a
    loaded machine: other load stretches wall time, not the work a request costs)."""
    import psutil

    assert server._proc is not None
    root = psutil.Process(server._proc.pid)
    total = 0.0
    for proc in (root, *root.children(recursive=True)):
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _wrk(url: str, concurrency: int, duration: int, token: str | None) -> tuple[float, float, int]:
    argv = ["wrk", "-t1", f"-c{concurrency}", f"-d{duration}s", "--latency"]
    if token:
        argv += ["-H", f"Authorization: Bearer {token}"]
    done = subprocess.run(
        [*argv, f"{url}/api/v1/experiments/0"], check=True, capture_output=True, text=True
    )
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"\s50%\s+([\d.]+)(us|ms|s)", done.stdout).groups()  # type: ignore[union-attr]
    p50_ms = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    if "Non-2xx" in done.stdout:
        raise RuntimeError(f"errors from {url}:\n{done.stdout}")
    requests = int(re.search(r"(\d+) requests in", done.stdout).group(1))  # type: ignore[union-attr]
    return p50_ms, rate, requests


def _mlflow(url: str, token: str | None, scale: float) -> dict[str, float]:
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    if token:
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
    else:
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    client = MlflowClient(url)
    exp = client.create_experiment(f"bench-{time.time_ns()}")
    run_id = client.create_run(exp).info.run_id
    out: dict[str, float] = {}
    n = int(400 * scale)
    start = time.perf_counter()
    for i in range(n):
        client.log_metric(run_id, "loss", float(i), step=i)
    out["log_metric calls/s"] = n / (time.perf_counter() - start)
    ts = int(time.time() * 1000)
    batches = int(30 * scale)
    start = time.perf_counter()
    for b in range(batches):
        client.log_batch(
            run_id, metrics=[Metric("acc", float(i), ts, b * 1000 + i) for i in range(1000)]
        )
    out["log_batch metrics/s"] = batches * 1000 / (time.perf_counter() - start)
    runs = int(100 * scale)
    start = time.perf_counter()
    for i in range(runs):
        rid = client.create_run(exp).info.run_id
        client.log_batch(rid, metrics=[Metric("rmse", i, ts, 0)], params=[Param("d", str(i))])
        client.set_terminated(rid)
    out["runs created/s"] = runs / (time.perf_counter() - start)
    return out


def servers(
    before: str, rounds: int, duration: int, scale: float
) -> dict[str, dict[str, list[float]]]:
    this = str(Path(sys.executable).parent / "dockyard")
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        homes = {name: Path(tmp) / name for name in ("before", "open", "signed")}
        token = _token(this, homes["signed"])
        runs = [
            (_server("before", before, homes["before"]), None),
            (_server("open", this, homes["open"]), None),
            (_server("signed", this, homes["signed"]), token),
        ]
        for server, _ in runs:
            server.__enter__()
        try:
            for _ in range(rounds):
                for server, bearer in runs:
                    row = results.setdefault(server.name, {})
                    p50, _rate, _n = _wrk(server.url, 1, duration, bearer)
                    cpu = _cpu_s(server)
                    _p50, rate, n = _wrk(server.url, 16, duration, bearer)
                    cpu_us = (_cpu_s(server) - cpu) / n * 1e6
                    row.setdefault("GET p50 ms (c=1)", []).append(p50)
                    row.setdefault("GET req/s (c=16)", []).append(rate)
                    row.setdefault("GET server CPU µs/request", []).append(cpu_us)
                    for key, value in _mlflow(server.url, bearer, scale).items():
                        row.setdefault(key, []).append(value)
        finally:
            for server, _ in runs:
                server.__exit__()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", help="the dockyard executable of a build to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()

    print("## The authentication layer alone (p50 per request, one process)\n")
    timing = layer(args.calls)
    base = timing["no layer"]
    print("| caller | p50 µs | added by the layer µs |\n|---|---:|---:|")
    for name, ns in timing.items():
        print(f"| {name} | {ns / 1000:.1f} | {(ns - base) / 1000:+.1f} |")
    if not args.before:
        return
    print(f"\n## Servers side by side ({args.rounds} rounds, median; ratio to `before`)\n")
    results = servers(args.before, args.rounds, args.duration, args.scale)
    metrics = list(results["before"])
    print("| metric | before | open | signed | open/before | signed/before |")
    print("|---|---:|---:|---:|---:|---:|")
    for metric in metrics:
        row = {name: statistics.median(values[metric]) for name, values in results.items()}
        print(
            f"| {metric} | {row['before']:.3g} | {row['open']:.3g} | {row['signed']:.3g} | "
            f"{row['open'] / row['before']:.2f} | {row['signed'] / row['before']:.2f} |"
        )


if __name__ == "__main__":
    main()

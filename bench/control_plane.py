"""Control-plane speed: what Dockyard's server adds to a call, and how fast the CLI answers.

1. The unmodified MLflow client's synchronous ``log_metric`` calls/s against a Dockyard server
   and against a stub that answers every request at once with ``{}`` (``bench/_stub.py``),
   both under uvicorn with the same workers, alternating rounds in one run; the ratio is how
   close Dockyard gets to what the client and the transport allow. Each server's CPU time per
   call is shown too: on a shared machine it moves far less than the rates do.
2. Server time of small requests: the whole app (middleware, routing, handler, encoding) called
   in this process as an ASGI app, p50 and p90 per request, no network.
3. CLI commands against a running server (``DOCKYARD_URI``), wall time with ``hyperfine``.

    .venv/bin/python bench/control_plane.py [--quick] [--workers 2] [--before CHECKOUT]
        [--database-url postgresql+psycopg://...] [--gap-us 300]

``--before`` times part 2 for another checkout of Dockyard too (e.g. ``git worktree add
/tmp/before main``): each build runs in its own process (``CHECKOUT/src`` first on the path),
the two alternating round by round so both see the same machine load; the table shows the
median of the rounds' p50s for each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
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

from _asgi import http_scope  # noqa: E402
from _servers import VENV_BIN, Server  # noqa: E402

# -- 1. MLflow log_metric against Dockyard and the stub ------------------------------------------


def _log_metric_rate(url: str, run_id: str, calls: int) -> float:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(url)
    start = time.perf_counter()
    for i in range(calls):
        client.log_metric(run_id, "loss", float(i), step=i)
    return calls / (time.perf_counter() - start)


def mlflow_vs_stub(
    workers: int, rounds: int, calls: int, work: Path
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Calls/s of each round, and the server's CPU time (user + system, all its processes) per
    call in µs, which other processes' load inflates far less than wall time, by server."""
    from mlflow.tracking import MlflowClient

    rates: dict[str, list[float]] = {"dockyard": [], "stub": []}
    cpu: dict[str, list[float]] = {"dockyard": [], "stub": []}
    with (
        Server.dockyard(work / "mlflow", workers=workers) as dockyard,
        Server.stub("_stub:app", workers) as stub,
    ):
        client = MlflowClient(dockyard.url)
        run_id = client.create_run(client.create_experiment("bench")).info.run_id
        _log_metric_rate(dockyard.url, run_id, 50)  # warm both servers' workers and the client
        _log_metric_rate(stub.url, run_id, 50)
        for _ in range(rounds):
            for name, server in (("dockyard", dockyard), ("stub", stub)):
                used = server.cpu_seconds()
                rates[name].append(_log_metric_rate(server.url, run_id, calls))
                cpu[name].append((server.cpu_seconds() - used) / calls * 1e6)
    return rates, cpu


# -- 2. server time of small requests, in process -------------------------------------------------


def server_times(
    home: Path, calls: int, only: str = "", database_url: str | None = None, gap_s: float = 0.0
) -> dict[str, tuple[float, float]]:
    """p50 and p90 microseconds per request through the whole app (the cases named ``only``),
    on SQLite under ``home`` or on ``database_url``.

    ``gap_s`` idles the process that long between requests (untimed), as a server waiting on
    a client's next call does: back to back, every request finds the caches warm from the last
    one, which a server between a sequential client's calls never does."""
    from dockyard.server import create_app
    from dockyard.settings import Settings

    app = create_app(Settings(home=home, database_url=database_url))
    client_addr = ("127.0.0.1", 50000)

    async def call(method: str, path: str, body: bytes = b"", query: bytes = b"") -> int:
        status = 0
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        headers = [(b"host", b"127.0.0.1:5000"), (b"user-agent", b"bench")]
        if body:
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
        scope = http_scope(method, path, headers, query=query, client=client_addr)
        await app(scope, receive, send)
        return status

    async def run() -> dict[str, tuple[float, float]]:
        async with app.router.lifespan_context(app):
            # Unique: runs against one PostgreSQL database share its experiments.
            create = json.dumps({"name": f"timed-{os.getpid()}-{time.time_ns()}"}).encode()
            made = await _json(app, "POST", "/api/2.0/mlflow/experiments/create", create)
            exp = made["experiment_id"]
            run_body = json.dumps({"experiment_id": exp}).encode()
            run = await _json(app, "POST", "/api/2.0/mlflow/runs/create", run_body)
            run_id = run["run"]["info"]["run_id"]
            step = 0

            def log_metric() -> tuple[str, str, bytes, bytes]:
                nonlocal step
                step += 1
                body = {"run_id": run_id, "key": "loss", "value": 0.5, "timestamp": 1, "step": step}
                path = "/api/2.0/mlflow/runs/log-metric"
                return "POST", path, json.dumps(body).encode(), b""

            cases: dict[str, Any] = {
                "GET /api/v1/experiments/{id}": lambda: (
                    "GET",
                    f"/api/v1/experiments/{exp}",
                    b"",
                    b"",
                ),
                "GET /api/v1/runs/{id}": lambda: ("GET", f"/api/v1/runs/{run_id}", b"", b""),
                "GET /api/v1/whoami": lambda: ("GET", "/api/v1/whoami", b"", b""),
                "GET /healthz": lambda: ("GET", "/healthz", b"", b""),
                "GET mlflow experiments/get": lambda: (
                    "GET",
                    "/api/2.0/mlflow/experiments/get",
                    b"",
                    f"experiment_id={exp}".encode(),
                ),
                "POST mlflow runs/log-metric": log_metric,
            }
            out = {}
            for name, make in cases.items():
                if only not in name:
                    continue
                times = []
                for _ in range(calls):
                    method, path, body, query = make()
                    start = time.perf_counter()
                    status = await call(method, path, body, query)
                    times.append((time.perf_counter() - start) * 1e6)
                    assert status == 200, (name, status)
                    if gap_s:
                        time.sleep(gap_s)  # blocks the loop on purpose: nothing else runs
                times.sort()
                out[name] = (statistics.median(times), times[int(len(times) * 0.9)])
            return out

    return asyncio.run(run())


async def _json(app: Any, method: str, path: str, body: bytes) -> Any:
    import httpx

    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:5000") as c:
        response = await c.request(
            method, path, content=body, headers={"content-type": "application/json"}
        )
        response.raise_for_status()
        return response.json()


# -- 3. CLI wall time ---------------------------------------------------------------------------


CLI_COMMANDS = ("whoami", "experiments list --json", "runs list -e bench")


def cli_times(workers: int, work: Path, runs: int) -> dict[str, tuple[float, float, float]]:
    """Mean and min wall milliseconds and mean CPU (user + system) ms per command (hyperfine)."""
    hyperfine = shutil.which("hyperfine")
    if hyperfine is None:
        print("hyperfine not found: skipping CLI timings", file=sys.stderr)
        return {}
    out = {}
    with Server.dockyard(work / "cli", workers=workers) as server:
        env = {**os.environ, "DOCKYARD_URI": server.url, "DOCKYARD_HOME": str(work / "cli-home")}
        subprocess.run(
            [str(VENV_BIN / "dockyard"), "experiments", "create", "bench"],
            env=env,
            check=True,
            capture_output=True,
        )
        for command in CLI_COMMANDS:
            export = work / "hyperfine.json"
            subprocess.run(
                [
                    hyperfine,
                    "--warmup",
                    "2",
                    "--runs",
                    str(runs),
                    "--export-json",
                    str(export),
                    "--style",
                    "none",
                    "-N",  # no shell: the command's own time
                    f"{VENV_BIN / 'dockyard'} {command}",
                ],
                env=env,
                check=True,
                capture_output=True,
            )
            result = json.loads(export.read_text())["results"][0]
            cpu = result["user"] + result["system"]
            out[command] = (result["mean"] * 1000, result["min"] * 1000, cpu * 1000)
    return out


def _server_rounds(
    before: Path, rounds: int, calls: int, work: Path, database_url: str | None
) -> dict[str, dict[str, list[float]]]:
    """p50 microseconds per request for each round, by build ("before", "after") and case."""
    builds = {"before": before / "src", "after": Path(__file__).parent.parent / "src"}
    out: dict[str, dict[str, list[float]]] = {name: {} for name in builds}
    for i in range(rounds):
        for name, src in builds.items():
            env = {**os.environ, "PYTHONPATH": str(src)}
            home = work / f"{name}-{i}"
            argv = [sys.executable, __file__, "--server-json", str(home), "--calls", str(calls)]
            if database_url:
                argv += ["--database-url", database_url]
            done = subprocess.run(argv, env=env, check=True, capture_output=True, text=True)
            for case, (p50, _) in json.loads(done.stdout).items():
                out[name].setdefault(case, []).append(p50)
    return out


def _bare_python() -> float:
    start = time.perf_counter()
    for _ in range(10):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    return (time.perf_counter() - start) * 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per server")
    parser.add_argument("--skip", nargs="*", default=[], choices=["mlflow", "server", "cli"])
    parser.add_argument("--before", type=Path, help="another checkout to time part 2 against")
    parser.add_argument(
        "--database-url", help="part 2 on this database (PostgreSQL) instead of SQLite"
    )
    parser.add_argument(
        "--gap-us",
        type=float,
        default=0.0,
        help="part 2 without --before: idle this long between requests (a client's think time)",
    )
    parser.add_argument("--server-json", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=2000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.server_json:  # one build's part 2, for --before
        print(json.dumps(server_times(args.server_json, args.calls, "", args.database_url)))
        return
    work = Path(tempfile.mkdtemp(prefix="dockyard-bench-"))
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")

    if "mlflow" not in args.skip:
        rounds, calls = (3, 300) if args.quick else (6, 1000)
        print("MLflow log_metric, Dockyard vs stub ...", file=sys.stderr)
        rates, cpu = mlflow_vs_stub(args.workers, rounds, calls, work)
        dock, stub = statistics.median(rates["dockyard"]), statistics.median(rates["stub"])
        title = f"MLflow `log_metric`, {args.workers} workers, {rounds} rounds of {calls}"
        print(f"\n| {title} | calls/s | server CPU µs/call |")
        print("|---|---:|---:|")
        for name, label, rate in (("dockyard", "Dockyard", dock), ("stub", "stub", stub)):
            used = statistics.median(cpu[name])
            print(f"| {label} (median; rounds {_fmt(rates[name])}) | {rate:,.0f} | {used:,.0f} |")
        print(f"| Dockyard / stub | {dock / stub:.0%} | |")

    if "server" not in args.skip and args.before:
        calls, rounds = (300, 2) if args.quick else (2000, 4)
        print(f"server time in process, before ({args.before}) and after ...", file=sys.stderr)
        both = _server_rounds(args.before, rounds, calls, work, args.database_url)
        where = "PostgreSQL" if args.database_url else "SQLite"
        title = f"Server time in process ({where}), p50 ms, median of {rounds} alternating rounds"
        print(f"\n| {title} of {calls} calls | before | after |")
        print("|---|---:|---:|")
        for name, after in both["after"].items():
            old = both["before"].get(name)
            was = f"{statistics.median(old) / 1000:.3f}" if old else "-"
            print(f"| {name} | {was} | {statistics.median(after) / 1000:.3f} |")
    elif "server" not in args.skip:
        calls = 300 if args.quick else 2000
        print("server time in process ...", file=sys.stderr)
        times = server_times(work / "inproc", calls, "", args.database_url, args.gap_us / 1e6)
        gap = f", {args.gap_us:.0f} µs idle between them" if args.gap_us else ""
        print(f"\n| Server time in process, {calls} calls{gap} | p50 ms | p90 ms |")
        print("|---|---:|---:|")
        for name, (p50, p90) in times.items():
            print(f"| {name} | {p50 / 1000:.3f} | {p90 / 1000:.3f} |")

    if "cli" not in args.skip:
        print("CLI with hyperfine ...", file=sys.stderr)
        cli = cli_times(args.workers, work, 5 if args.quick else 15)
        print("\n| CLI against a server (`DOCKYARD_URI`) | mean ms | min ms | CPU ms |")
        print("|---|---:|---:|---:|")
        for command, (mean, low, cpu) in cli.items():
            print(f"| `dockyard {command}` | {mean:.0f} | {low:.0f} | {cpu:.0f} |")
        print(f"(for scale: `python -c pass` takes {_bare_python():.0f} ms here)")

    load = os.getloadavg()
    print(f"\nload average at end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    shutil.rmtree(work, ignore_errors=True)


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


if __name__ == "__main__":
    main()

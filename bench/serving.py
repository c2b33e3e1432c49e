"""Serving benchmark: a Dockyard worker vs ``mlflow models serve`` vs a bare Starlette app.

One XGBoost regressor (200 trees, depth 5, 10 features, trained here on synthetic data) is saved
twice, with ``dockyard.models.save_model`` and ``mlflow.xgboost.save_model``. Every server is
started, then ``wrk`` drives one at a time (the others sit idle) with single-row JSON requests
(``{"dataframe_split": ...}``, which both accept) at concurrency 1, 16 and 64, interleaved by
concurrency and repeated ``--rounds`` times; the best round of each cell is reported, so load
from other processes on a shared machine weighs on every server alike. The bare app only parses
the JSON and answers a constant: the HTTP stack's ceiling on this machine. Dockyard also runs a
64-row request, a headerless one-row CSV body, the Open Inference Protocol v2 path and SageMaker
Runtime's ``/endpoints/{name}/invocations`` path (what boto3 sends) on the worker's port.

``--server`` also starts ``dockyard server`` with the model deployed as an endpoint and drives
the endpoint's own port and the server's port, which proxies SageMaker Runtime's path to it:
the cost of that hop.

``--wrapped`` runs only the wrapper comparison instead: Dockyard with 2 workers, single-row
requests, serving the same XGBoost model as a native ``Booster`` and as the scikit-learn
``XGBRegressor``, and a LightGBM model as a native ``Booster`` and as an ``LGBMRegressor``, all
four side by side in one run.

Run: ``.venv/bin/python bench/serving.py [--duration 10] [--rounds 2] [--quick] [--server]
[--wrapped]``. Prints a markdown table. Paths a Dockyard version does not answer (an older one,
compared side by side) are left out of its table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

warnings.filterwarnings("ignore")

VENV_BIN = Path(sys.executable).parent
FEATURES = [f"f{i}" for i in range(10)]
CONCURRENCY = (1, 16, 64)
JSON_TYPE = "application/json"

BARE_APP = """
import sys, orjson, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

async def invocations(request):
    orjson.loads(await request.body())
    return Response(orjson.dumps({"predictions": [0.0]}), media_type="application/json")

async def ping(request):
    return Response(b"{}", media_type="application/json")

app = Starlette(
    routes=[Route("/invocations", invocations, methods=["POST"]), Route("/ping", ping)]
)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http="httptools", loop="uvloop",
            log_level="warning", access_log=False)
"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE")
wrk.body = io.open(os.getenv("BODY_FILE")):read("*a")
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"socket_errors": %d, "non_2xx": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass(frozen=True)
class Result:
    server: str
    workers: int
    payload: str
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    note: str = ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def train(root: Path) -> tuple[Path, Path, np.ndarray[Any, Any]]:
    import mlflow.xgboost
    import pandas as pd
    import xgboost
    from sklearn.datasets import make_regression

    from dockyard.models import save_model

    x, y = make_regression(n_samples=5000, n_features=10, noise=0.1, random_state=0)
    frame = pd.DataFrame(x, columns=FEATURES)
    model = xgboost.XGBRegressor(n_estimators=200, max_depth=5, n_jobs=1).fit(frame, y)
    dockyard_path, mlflow_path = root / "dockyard-model", root / "mlflow-model"
    save_model(model, dockyard_path, input_example=frame.head(5))
    mlflow.xgboost.save_model(
        model,
        str(mlflow_path),
        input_example=frame.head(5),
        pip_requirements=[f"xgboost=={xgboost.__version__}"],  # skip inferring (slow, noisy)
    )
    return dockyard_path, mlflow_path, x


def train_wrapped(root: Path) -> tuple[dict[str, Path], np.ndarray[Any, Any]]:
    """XGBoost and LightGBM regressors, each saved as its native booster and as its wrapper."""
    import lightgbm
    import pandas as pd
    import xgboost
    from sklearn.datasets import make_regression

    from dockyard.models import save_model

    x, y = make_regression(n_samples=5000, n_features=10, noise=0.1, random_state=0)
    frame = pd.DataFrame(x, columns=FEATURES)
    xgb = xgboost.XGBRegressor(n_estimators=200, max_depth=5, n_jobs=1).fit(frame, y)
    lgb = lightgbm.LGBMRegressor(n_estimators=200, num_leaves=31, n_jobs=1, verbose=-1)
    lgb.fit(frame, y)
    models = {
        "XGBoost Booster": xgb.get_booster(),
        "XGBRegressor": xgb,
        "LightGBM Booster": lgb.booster_,
        "LGBMRegressor": lgb,
    }
    paths = {}
    for name, model in models.items():
        paths[name] = root / name.replace(" ", "-")
        save_model(model, paths[name], input_example=frame.head(5))
    return paths, x


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextmanager
def processes(argvs: list[list[str]], health: str, log: Path) -> Iterator[None]:
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    procs = []
    with log.open("ab") as out:
        for argv in argvs:
            procs.append(
                subprocess.Popen(argv, env=env, stdout=out, stderr=out, start_new_session=True)
            )
    try:
        for proc in procs:
            wait_ready(health, proc)
        yield
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def dockyard_server(model: Path, workers: int, work: Path) -> tuple[Any, int]:
    port = free_port()
    argvs = []
    for i in range(workers):
        config = {
            "endpoint": "bench",
            "port": port,
            "admin_socket": str(work / f"admin-{port}-{i}.sock"),
            "variants": [{"name": "main", "model_path": str(model)}],
        }
        path = work / f"worker-{port}-{i}.json"
        path.write_text(json.dumps(config))
        argvs.append(
            [sys.executable, "-m", "dockyard.runtime.serving.worker", "--config", str(path)]
        )
    return processes(argvs, f"http://127.0.0.1:{port}/ping", work / "dockyard.log"), port


def mlflow_server(model: Path, workers: int, work: Path) -> tuple[Any, int]:
    port = free_port()
    argv = [
        str(VENV_BIN / "mlflow"),
        "models",
        "serve",
        "-m",
        str(model),
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-w",
        str(workers),
    ]
    return processes([argv], f"http://127.0.0.1:{port}/ping", work / "mlflow.log"), port


def bare_server(work: Path) -> tuple[Any, int]:
    port = free_port()
    script = work / "bare.py"
    script.write_text(BARE_APP)
    argv = [sys.executable, str(script), str(port)]
    return processes([argv], f"http://127.0.0.1:{port}/ping", work / "bare.log"), port


def wrk(
    url: str,
    body: bytes,
    concurrency: int,
    duration: int,
    work: Path,
    content_type: str = "application/json",
) -> dict[str, Any]:
    body_file = work / "body.json"
    body_file.write_bytes(body)
    script = work / "post.lua"
    script.write_text(WRK_SCRIPT)
    argv = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    env = {**os.environ, "BODY_FILE": str(body_file), "CONTENT_TYPE": content_type}
    done = subprocess.run(argv, check=False, capture_output=True, text=True, env=env)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(f"wrk failed: {done.stdout}\n{done.stderr}")


@dataclass(frozen=True)
class Target:
    """One server and payload to drive."""

    server: str
    workers: int
    payload: str
    url: str
    body: bytes
    admin_socket: str | None = None
    content_type: str = "application/json"


def batch_counts(target: Target) -> tuple[float, int]:
    """Requests summed over predict calls, and predict calls, so far (Dockyard's worker 0)."""
    if target.admin_socket is None:
        return 0.0, 0
    from dockyard.api.serving.client import WorkerAdmin

    with WorkerAdmin(target.admin_socket) as admin:
        batches = admin.stats()["variants"]["main"]["batch_requests"]
    return float(batches["sum"]), int(batches["count"])


def measure(target: Target, concurrency: int, duration: int, work: Path) -> Result:
    before = batch_counts(target)
    r = wrk(target.url, target.body, concurrency, duration, work, target.content_type)
    after = batch_counts(target)
    calls = after[1] - before[1]
    note = f"{(after[0] - before[0]) / calls:.1f} requests per predict call" if calls else ""
    seconds = r["duration_us"] / 1e6
    result = Result(
        target.server,
        target.workers,
        target.payload,
        concurrency,
        r["requests"] / seconds,
        r["p50_us"] / 1000,
        r["p99_us"] / 1000,
        r["socket_errors"] + r["non_2xx"],
        note,
    )
    print(
        f"  {target.server} x{target.workers} {target.payload} c={concurrency}: "
        f"{result.rps:,.0f} req/s p50 {result.p50_ms:.2f} ms p99 {result.p99_ms:.2f} ms "
        f"errors {result.errors} {note}",
        file=sys.stderr,
        flush=True,
    )
    return result


def check(url: str, body: bytes, content_type: str = "application/json") -> Any:
    response = httpx.post(url, content=body, headers={"content-type": content_type})
    response.raise_for_status()
    return response.json()


def answers(url: str, body: bytes, content_type: str, reference: Any) -> bool:
    """Whether ``url`` answers ``reference`` (False where this Dockyard has no such path)."""
    try:
        got = check(url, body, content_type)
    except httpx.HTTPError:
        return False
    if not np.allclose(got["predictions"], reference):
        raise RuntimeError(f"{url} answers {got}, expected {reference}")
    return True


@contextmanager
def deployed_server(model: Path, work: Path) -> Iterator[tuple[str, str]]:
    """``dockyard server`` with ``model`` deployed as endpoint ``bench`` (one worker): yields the
    server's URL and the endpoint's."""
    port = free_port()
    home = work / "server-home"
    env = {
        **os.environ,
        "DOCKYARD_HOME": str(home),
        "DOCKYARD_DATA_ROOTS": str(work),
        "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
    }
    env.pop("DOCKYARD_URI", None)
    argv = [sys.executable, "-m", "dockyard", "server", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with (work / "server.log").open("ab") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=out, start_new_session=True)
    try:
        wait_ready(f"{base}/healthz", proc)
        spec = {"name": "bench", "variants": [{"name": "main", "model_uri": str(model)}]}
        httpx.post(f"{base}/api/v1/endpoints", json=spec).raise_for_status()
        deadline = time.monotonic() + 180
        while True:
            endpoint = httpx.get(f"{base}/api/v1/endpoints/bench").json()
            if endpoint["status"] == "InService":
                break
            if endpoint["status"] == "Failed" or time.monotonic() > deadline:
                raise RuntimeError(f"the endpoint did not start: {endpoint}")
            time.sleep(0.2)
        yield base, endpoint["url"]
        httpx.delete(f"{base}/api/v1/endpoints/bench")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if httpx.get(f"{base}/api/v1/endpoints/bench").status_code == 404:
                break
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def run(duration: int, rounds: int, skip_mlflow: bool, through_server: bool) -> list[Result]:
    """Start every server, then drive them in turn, concurrency by concurrency, ``rounds`` times.

    Interleaving puts the runs compared with each other next to each other in time, and the
    best of several rounds keeps what other processes on a shared machine did from deciding the
    result; every server gets the same treatment.
    """
    work = Path(tempfile.mkdtemp(prefix="dy-bench-"))
    try:
        dockyard_model, mlflow_model, x = train(work)
        row = np.round(x[:1], 6).tolist()
        rows64 = np.round(x[:64], 6).tolist()
        single = json.dumps({"dataframe_split": {"columns": FEATURES, "data": row}}).encode()
        many = json.dumps({"dataframe_split": {"columns": FEATURES, "data": rows64}}).encode()
        oip = json.dumps(
            {"inputs": [{"name": "input", "shape": [1, 10], "datatype": "FP64", "data": row[0]}]}
        ).encode()
        csv = (",".join(repr(v) for v in row[0]) + "\n").encode()
        targets: list[Target] = []
        with ExitStack() as stack:
            server, port = bare_server(work)
            stack.enter_context(server)
            targets.append(
                Target("bare Starlette", 1, "1 row", f"http://127.0.0.1:{port}/invocations", single)
            )
            reference = None
            for workers in (1, 2):
                server, port = dockyard_server(dockyard_model, workers, work)
                stack.enter_context(server)
                base = f"http://127.0.0.1:{port}"
                admin = str(work / f"admin-{port}-0.sock")
                reference = check(f"{base}/invocations", single)["predictions"]
                for payload, path, body in (
                    ("1 row", "/invocations", single),
                    ("64 rows", "/invocations", many),
                    ("OIP v2, 1 row", "/v2/models/bench/infer", oip),
                ):
                    targets.append(Target("Dockyard", workers, payload, base + path, body, admin))
                for payload, path, body, kind in (
                    ("CSV, 1 row", "/invocations", csv, "text/csv"),
                    ("AWS path, 1 row", "/endpoints/bench/invocations", single, JSON_TYPE),
                ):
                    if answers(base + path, body, kind, reference):
                        targets.append(
                            Target("Dockyard", workers, payload, base + path, body, admin, kind)
                        )
            if through_server:
                base, endpoint_url = stack.enter_context(deployed_server(dockyard_model, work))
                direct = f"{endpoint_url}/invocations"
                proxied = f"{base}/endpoints/bench/invocations"
                targets.append(Target("endpoint port", 1, "1 row", direct, single))
                if answers(proxied, single, JSON_TYPE, reference):
                    targets.append(Target("server port (proxy)", 1, "1 row", proxied, single))
            if not skip_mlflow:
                for workers in (1, 2):
                    server, port = mlflow_server(mlflow_model, workers, work)
                    stack.enter_context(server)
                    url = f"http://127.0.0.1:{port}/invocations"
                    theirs = check(url, single)["predictions"]
                    if reference is not None and not np.allclose(theirs, reference):
                        raise RuntimeError(f"MLflow answers {theirs}, Dockyard {reference}")
                    targets.append(Target("mlflow models serve", workers, "1 row", url, single))
            for target in targets:  # warm-up: first-request costs are not measured
                wrk(target.url, target.body, 4, 1, work, target.content_type)
            best: dict[tuple[int, int], Result] = {}
            for round_number in range(rounds):
                print(f"round {round_number + 1} of {rounds}", file=sys.stderr, flush=True)
                for concurrency in CONCURRENCY:
                    for index, target in enumerate(targets):
                        result = measure(target, concurrency, duration, work)
                        key = (index, concurrency)
                        if key not in best or result.rps > best[key].rps:
                            best[key] = result
        return [best[(i, c)] for i in range(len(targets)) for c in CONCURRENCY]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_wrapped(duration: int, rounds: int) -> list[Result]:
    """Native boosters and scikit-learn wrappers, 2 workers each, driven in turn."""
    work = Path(tempfile.mkdtemp(prefix="dy-bench-"))
    try:
        paths, x = train_wrapped(work)
        row = np.round(x[:1], 6).tolist()
        single = json.dumps({"dataframe_split": {"columns": FEATURES, "data": row}}).encode()
        targets: list[Target] = []
        with ExitStack() as stack:
            answers = {}
            for name, path in paths.items():
                server, port = dockyard_server(path, 2, work)
                stack.enter_context(server)
                url = f"http://127.0.0.1:{port}/invocations"
                answers[name] = check(url, single)["predictions"]
                admin = str(work / f"admin-{port}-0.sock")
                targets.append(Target(f"Dockyard, {name}", 2, "1 row", url, single, admin))
            for native, wrapper in (
                ("XGBoost Booster", "XGBRegressor"),
                ("LightGBM Booster", "LGBMRegressor"),
            ):
                if answers[native] != answers[wrapper]:
                    raise RuntimeError(
                        f"{wrapper} answers {answers[wrapper]}, {native} {answers[native]}"
                    )
            for target in targets:
                wrk(target.url, target.body, 4, 1, work)
            best: dict[tuple[int, int], Result] = {}
            for round_number in range(rounds):
                print(f"round {round_number + 1} of {rounds}", file=sys.stderr, flush=True)
                for concurrency in CONCURRENCY:
                    for index, target in enumerate(targets):
                        result = measure(target, concurrency, duration, work)
                        key = (index, concurrency)
                        if key not in best or result.rps > best[key].rps:
                            best[key] = result
        return [best[(i, c)] for i in range(len(targets)) for c in CONCURRENCY]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(results: list[Result]) -> str:
    lines = [
        "| server | workers | payload | concurrency | req/s | p50 ms | p99 ms | errors | note |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.server} | {r.workers} | {r.payload} | {r.concurrency} | {r.rps:,.0f} | "
            f"{r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} | {r.note} |"
        )

    def best(server: str, concurrency: int, payload: str = "1 row") -> Result | None:
        found = [
            r
            for r in results
            if r.server == server and r.concurrency == concurrency and r.payload == payload
        ]
        return max(found, key=lambda r: r.rps, default=None)

    bare = best("bare Starlette", 64)
    mlflow = best("mlflow models serve", 64)
    lines.append("")
    for workers in (1, 2):
        ours = next(
            (
                r
                for r in results
                if r.server == "Dockyard"
                and r.workers == workers
                and r.concurrency == 64
                and r.payload == "1 row"
            ),
            None,
        )
        one = next(
            (
                r
                for r in results
                if r.server == "Dockyard"
                and r.workers == workers
                and r.concurrency == 1
                and r.payload == "1 row"
            ),
            None,
        )
        if ours is None or one is None:
            continue
        parts = [f"Dockyard x{workers}, 1 row, c=64: p99 {ours.p99_ms:.1f} ms"]
        if bare is not None:
            parts.append(f"{ours.rps / bare.rps:.0%} of the bare ceiling")
        if mlflow is not None:
            parts.append(f"{ours.rps / mlflow.rps:.0f}x MLflow's best")
        parts.append(f"c=1 p50 {one.p50_ms:.2f} ms")
        lines.append("- " + "; ".join(parts))
    errors = sum(r.errors for r in results if r.server.startswith("Dockyard"))
    lines.append(f"- Dockyard errors across all runs: {errors}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="runs per cell; the best counts")
    parser.add_argument("--quick", action="store_true", help="one round of 3 s runs")
    parser.add_argument("--skip-mlflow", action="store_true", help="Dockyard and bare only")
    parser.add_argument(
        "--server", action="store_true", help="also through dockyard server's proxy"
    )
    parser.add_argument(
        "--wrapped", action="store_true", help="only native boosters vs scikit-learn wrappers"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install -y wrk)")
    load = os.getloadavg()[0]
    print(f"load average before the run: {load:.2f} on {os.cpu_count()} cores", file=sys.stderr)
    duration, rounds = (3, 1) if args.quick else (args.duration, args.rounds)
    if args.wrapped:
        results = run_wrapped(duration, rounds)
    else:
        results = run(duration, rounds, args.skip_mlflow, args.server)
    print(report(results))
    load_after = os.getloadavg()
    print(
        f"\nload average after the run: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}"
    )


if __name__ == "__main__":
    main()

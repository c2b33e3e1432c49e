"""Batch transform benchmark: Dockyard, the raw single-process ceiling, ``mlflow models predict``.

A 2,000,000-row CSV of 10 float features (no header) goes through the demo's kind of model (a
native XGBoost Booster, the demo's hyperparameters: 200 trees of depth 5), saved with
``dockyard.models.save_model`` and ``mlflow.xgboost.save_model``:

* Dockyard: ``run_transform`` with 2 worker processes;
* raw: one process, ``pandas.read_csv`` of the whole file, ``booster.predict`` once, write;
* MLflow: ``mlflow models predict -t csv --env-manager local`` (on a copy with a header row,
  since it reads the first line as column names).

Each runs in its own process. ``--repeat N`` runs N interleaved timed rounds and keeps each
tool's fastest (other processes on a shared machine only ever slow a run down); CPU seconds of
each process tree are reported too, as they depend less on that load. Peak memory comes from
one more run of each tool: the largest sum of RSS, and of PSS (which counts shared library
pages once), over the process and its children, sampled every 20 ms; reading PSS costs ~5 ms
per process per sample, so timed runs do not. ``--big`` adds Dockyard on a ~1 GB file (about
9.9M rows), with 2 workers and with 1.

``--sdk`` adds the common path: the same kind of model as a scikit-learn ``XGBRegressor`` logged
with ``dy.log_model`` to a Dockyard server, and a ``--sdk-rows`` CSV (500,000 rows) scored by
``dy.Transformer(...).transform(..., wait=True)`` (upload, job, 2 workers, download of the output
into a local folder), against the wrapper's own single-process ceiling (``pandas.read_csv``,
``model.predict``, write), and beside what any two processes can do on the machine (the model
loaded before a fork, each child scoring half the file with Arrow, no job and no HTTP).
``--only-sdk`` runs that case alone; ``--before CHECKOUT`` adds another checkout's server and
SDK (``CHECKOUT/src`` first on their path), the two builds taking turns in each round. Run:
``.venv/bin/python bench/batch.py [--rows N] [--big] [--repeat N] [--skip-mlflow] [--sdk]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import psutil

warnings.filterwarnings("ignore")

FEATURES = 10
NAMES = [f"f{i}" for i in range(FEATURES)]
BIG_ROWS = 9_900_000
CHUNK = 200_000

DOCKYARD = """
import json, logging, sys, time
from dockyard.api.batch import TransformSpec
from dockyard.runtime.batch import run_transform

ready = []  # when each worker had loaded the model


class Ready(logging.Handler):
    def emit(self, record):
        if " ready (" in record.getMessage():
            ready.append(time.perf_counter())


logging.getLogger("dockyard.runtime.batch").addHandler(Ready())
logging.getLogger("dockyard.runtime.batch").setLevel(logging.INFO)
spec = TransformSpec(
    model_uri=sys.argv[1],
    input={"uri": sys.argv[2]},
    output={"uri": sys.argv[3]},
    max_concurrent_transforms=int(sys.argv[5]),
)
start = time.perf_counter()
result = run_transform(spec, sys.argv[4], env_manager="local")
end = time.perf_counter()
body = {"seconds": end - start, "records": result.records, "boot": max(ready) - start}
print(json.dumps(body))
"""

RAW = """
import json, sys, time
import numpy as np, pandas as pd, xgboost
booster = xgboost.Booster()
booster.load_model(sys.argv[1])
start = time.perf_counter()
frame = pd.read_csv(sys.argv[2], header=None, names=[f"f{i}" for i in range(10)])
predictions = booster.predict(xgboost.DMatrix(frame))
pd.Series(predictions).to_csv(sys.argv[3], header=False, index=False)
print(json.dumps({"seconds": time.perf_counter() - start, "records": len(predictions)}))
"""

# The common path: an SDK process submits the transform to a server and waits for its output.
# The SDK's modules are imported before the clock starts, as the ceiling's libraries are (the
# first use of ``dy.Transformer`` imports them: ~0.25 s); that import is reported apart.
SDK = """
import json, sys, time
import dockyard as dy
model_uri, source, out = sys.argv[1:4]
before = time.perf_counter()
Transformer = dy.Transformer
start = time.perf_counter()
transformer = Transformer(model_uri, output_path=out, instance_count=2)
transformer.transform(source, wait=True, logs=False)
end = time.perf_counter()
print(json.dumps({"seconds": end - start, "import": start - before}))
"""

RAW_WRAPPER = """
import json, sys, time
import pandas as pd, xgboost
model = xgboost.XGBRegressor()
model.load_model(sys.argv[1])
start = time.perf_counter()
frame = pd.read_csv(sys.argv[2], header=None, names=[f"f{i}" for i in range(10)])
predictions = model.predict(frame)
pd.Series(predictions).to_csv(sys.argv[3], header=False, index=False)
print(json.dumps({"seconds": time.perf_counter() - start, "records": len(predictions)}))
"""


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Stream ``rows`` rows of 10 floats (7 decimals, ~101 bytes a row) to ``path``."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)
    options = pcsv.WriteOptions(include_header=False)
    with path.open("wb") as sink:
        for start in range(0, rows, CHUNK):
            count = min(CHUNK, rows - start)
            block = np.round(rng.random((count, FEATURES)), 7)
            table = pa.table({name: block[:, i] for i, name in enumerate(NAMES)})
            pcsv.write_csv(table, sink, write_options=options)


def train(source: Path, root: Path) -> tuple[Path, Path, Path]:
    """Train on the first 100k rows; save for Dockyard, for MLflow, and the raw booster.

    The model is what the demo's built-in XGBoost algorithm makes: a native Booster, with the
    demo's hyperparameters and all 200 rounds (no validation channel, so no early stop).
    """
    import mlflow.xgboost
    import pandas as pd
    import xgboost

    from dockyard.demo import XGB_HYPERPARAMETERS
    from dockyard.models import save_model

    frame = pd.read_csv(source, header=None, names=NAMES, nrows=100_000)
    weights = np.linspace(-1.0, 1.0, FEATURES)
    target = frame.to_numpy() @ weights + np.sin(frame["f0"] * 6)
    params = {
        k: v
        for k, v in XGB_HYPERPARAMETERS.items()
        if k not in {"num_round", "early_stopping_rounds"}
    }
    rounds = int(XGB_HYPERPARAMETERS["num_round"])
    data = xgboost.DMatrix(frame, label=target)
    model = xgboost.train({**params, "nthread": 2, "seed": 0}, data, num_boost_round=rounds)
    dockyard_dir, mlflow_dir, booster = (
        root / "dockyard-model",
        root / "mlflow-model",
        root / "b.json",
    )
    for target_dir in (dockyard_dir, mlflow_dir):
        shutil.rmtree(target_dir, ignore_errors=True)
    save_model(model, dockyard_dir, input_example=frame.head(5))
    mlflow.xgboost.save_model(model, str(mlflow_dir), input_example=frame.head(5))
    model.save_model(str(booster))
    return dockyard_dir, mlflow_dir, booster


class Sampler:
    """Peak summed RSS (and PSS) of a process tree, and its CPU time, sampled in a thread.

    CPU time is each process's last sampled user + system time, summed: workers that are
    killed rather than waited for never reach ``RUSAGE_CHILDREN``. PSS is read only when asked:
    it comes from ``smaps``, ~5 ms per process per sample, which on 2 cores would slow down the
    tool being timed (and a tool with more processes more).
    """

    def __init__(self, pid: int, *, pss: bool = False) -> None:
        self.root = psutil.Process(pid)
        self.with_pss = pss
        self.rss = 0
        self.pss = 0
        self.cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = pss = 0
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in processes:
                try:
                    info = process.memory_full_info() if self.with_pss else process.memory_info()
                    times = process.cpu_times()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                self.cpu[process.pid] = times.user + times.system
                rss += info.rss
                pss += getattr(info, "pss", 0)
            self.rss = max(self.rss, rss)
            self.pss = max(self.pss, pss)
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def measure(argv: list[str], env: dict[str, str], *, pss: bool = False) -> dict[str, Any]:
    """Run ``argv``; return its wall time, CPU time, peak memory and the JSON it printed."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    sampler = Sampler(process.pid, pss=pss)
    out, err = process.communicate()
    wall = time.perf_counter() - start
    sampler.stop()
    cpu = sum(sampler.cpu.values())
    if process.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed:\n{err.decode()[-3000:]}")
    reported: dict[str, Any] = {}
    for line in out.decode().splitlines()[::-1]:
        if line.startswith("{"):
            reported = json.loads(line)
            break
    return {
        "wall": wall,
        "cpu": cpu,
        "seconds": reported.get("seconds", wall),
        "records": reported.get("records"),
        "boot": reported.get("boot"),
        "import": reported.get("import"),
        "rss_mb": sampler.rss / 2**20,
        "pss_mb": sampler.pss / 2**20,
    }


def environment(cache: Path) -> dict[str, str]:
    """Subprocess environment: the venv's bin on PATH, and a bytecode cache.

    Where site-packages have no ``.pyc`` files and ``PYTHONDONTWRITEBYTECODE`` is set, every
    process would compile pandas and xgboost from source; a shared cache (warmed before
    timing) measures the tools rather than the compiler, as on a normal installation.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def with_header(source: Path, target: Path) -> None:
    with target.open("wb") as sink, source.open("rb") as rows:
        sink.write((",".join(NAMES) + "\n").encode())
        shutil.copyfileobj(rows, sink, 16 * 2**20)


def fastest(runs: list[dict[str, Any]], memory: dict[str, Any]) -> dict[str, Any]:
    """The fastest timed run (other processes only ever slow a run down), with the peak RSS and
    PSS of the separate ``memory`` run."""
    best = min(runs, key=lambda r: float(r["seconds"]))
    return {**best, "rss_mb": memory["rss_mb"], "pss_mb": memory["pss_mb"]}


def run_all(
    root: Path, rows: int, *, big: bool, skip_mlflow: bool, repeat: int
) -> list[dict[str, Any]]:
    env = environment(root / "pycache")
    source = root / "input.csv"
    print(f"generating {rows:,} rows ...", flush=True)
    generate(source, rows)
    size_mb = source.stat().st_size / 2**20
    dockyard_model, mlflow_model, booster = train(source, root)
    small = root / "warm.csv"
    generate(small, 2_000, seed=1)
    python = sys.executable

    def dockyard(
        path: Path, name: str, workers: int = 2, *, keep: bool = False, pss: bool = False
    ) -> dict[str, Any]:
        out, work = root / f"out-{name}", root / f"work-{name}"
        for folder in (out, work):
            shutil.rmtree(folder, ignore_errors=True)
        argv = [python, "-c", DOCKYARD, str(dockyard_model), str(path), str(out), str(work)]
        result = measure([*argv, str(workers)], env, pss=pss)
        if not keep:
            shutil.rmtree(out, ignore_errors=True)  # big outputs: keep the disk free
        return result

    def mlflow(path: Path, *, pss: bool = False) -> dict[str, Any]:
        headed = path.with_name(f"{path.stem}-header.csv")
        with_header(path, headed)
        argv = ["mlflow", "models", "predict", "-m", str(mlflow_model), "-i", str(headed)]
        argv += ["-t", "csv", "-o", str(root / "mlflow.out"), "--env-manager", "local"]
        try:
            return measure(argv, env, pss=pss)
        finally:
            headed.unlink()

    raw_argv = [python, "-c", RAW, str(booster)]
    print("warming up (bytecode caches) ...", flush=True)
    dockyard(small, "warm")
    measure([*raw_argv, str(small), str(root / "raw-warm.out")], env)
    if not skip_mlflow:
        mlflow(small)

    # Rounds interleave the tools, so that each sees the machine's load of the moment.
    runs: dict[str, list[dict[str, Any]]] = {"raw": [], "dockyard": [], "mlflow": []}
    for round_ in range(1, repeat + 1):
        print(f"round {round_}: raw single process ...", flush=True)
        runs["raw"].append(measure([*raw_argv, str(source), str(root / "raw.out")], env))
        print(f"round {round_}: dockyard ...", flush=True)
        runs["dockyard"].append(dockyard(source, "main", keep=True))
        if round_ == 1:
            check(root / "out-main" / "input.csv.out", root / "raw.out")
        if not skip_mlflow:
            print(f"round {round_}: mlflow models predict ...", flush=True)
            runs["mlflow"].append(mlflow(source))
    names = {
        "raw": "raw ceiling (1 process)",
        "dockyard": "Dockyard run_transform (2 processes)",
        "mlflow": "mlflow models predict",
    }
    print("memory runs (PSS sampled) ...", flush=True)
    memory = {
        "raw": measure([*raw_argv, str(source), str(root / "raw.out")], env, pss=True),
        "dockyard": dockyard(source, "main", pss=True),
    }
    if not skip_mlflow:
        memory["mlflow"] = mlflow(source, pss=True)
    results = [
        {"name": names[tool], "rows": rows, "mb": size_mb, **fastest(found, memory[tool])}
        for tool, found in runs.items()
        if found
    ]
    if big:
        print(f"generating {BIG_ROWS:,} rows for the memory run ...", flush=True)
        big_source = root / "big.csv"
        generate(big_source, BIG_ROWS, seed=2)
        big_mb = big_source.stat().st_size / 2**20
        for workers in (2, 1):
            print(f"dockyard, big input, {workers} worker processes ...", flush=True)
            timed = [dockyard(big_source, f"big{workers}", workers) for _ in range(repeat)]
            run = fastest(timed, dockyard(big_source, f"big{workers}", workers, pss=True))
            name = f"Dockyard, ~1 GB input ({workers} worker{'s' if workers > 1 else ''})"
            results.append({"name": name, "rows": BIG_ROWS, "mb": big_mb, **run})
        big_source.unlink()
    return results


def train_wrapper(source: Path, root: Path) -> Any:
    """The demo's kind of model as the scikit-learn ``XGBRegressor`` most users log."""
    import pandas as pd
    import xgboost

    from dockyard.demo import XGB_HYPERPARAMETERS

    frame = pd.read_csv(source, header=None, names=NAMES, nrows=100_000)
    target = frame.to_numpy() @ np.linspace(-1.0, 1.0, FEATURES) + np.sin(frame["f0"] * 6)
    params = {
        k: v
        for k, v in XGB_HYPERPARAMETERS.items()
        if k not in {"num_round", "early_stopping_rounds", "eta"}
    }
    model = xgboost.XGBRegressor(
        **params,
        learning_rate=XGB_HYPERPARAMETERS["eta"],
        n_estimators=int(XGB_HYPERPARAMETERS["num_round"]),
        n_jobs=2,
        random_state=0,
    )
    return model.fit(frame, target), frame


# What any two processes can do on the same machine: the model loaded before the fork (as the
# raw ceiling excludes imports and the model's load), each child reading its half of the file
# with Arrow, predicting on one thread and writing with Arrow; no job, no HTTP, no shards. The
# transform's target (1.5x the raw ceiling) is only in reach where this row is well past it.
TWO_PROCESSES = """
import json, os, sys, time
import numpy as np, pyarrow as pa, pyarrow.csv as pcsv, xgboost
model = xgboost.XGBRegressor()
model.load_model(sys.argv[1])
names = [f"f{i}" for i in range(10)]
size = os.path.getsize(sys.argv[2])
with open(sys.argv[2], "rb") as f:
    f.seek(size // 2)
    f.readline()
    middle = f.tell()
halves = [(0, middle), (middle, size)]


def score(i):
    booster = model.get_booster()
    booster.set_param({"nthread": 1})
    start, end = halves[i]
    with open(sys.argv[2], "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    options = pcsv.ReadOptions(column_names=names, use_threads=False)
    table = pcsv.read_csv(pa.py_buffer(data), read_options=options)
    predictions = booster.inplace_predict(np.column_stack([c.to_numpy() for c in table.columns]))
    out = pcsv.WriteOptions(include_header=False)
    pcsv.write_csv(pa.table({"p": predictions}), f"{sys.argv[3]}.{i}", write_options=out)


start = time.perf_counter()
children = []
for i in range(2):
    pid = os.fork()
    if pid == 0:
        score(i)
        os._exit(0)
    children.append(pid)
for pid in children:
    _, status = os.waitpid(pid, 0)
    assert status == 0, status
print(json.dumps({"seconds": time.perf_counter() - start, "records": None}))
"""


def run_sdk(root: Path, rows: int, repeat: int, before: Path | None = None) -> list[dict[str, Any]]:
    """The scikit-learn XGBRegressor through the SDK's transform, against its own ceiling; with
    ``before`` (another checkout), that build's server and SDK too, in alternating rounds."""
    sys.path.insert(0, str(Path(__file__).parent))
    import dockyard as dy
    from _servers import Server
    from dockyard.client.sdk import reset_context
    from dockyard.settings import Settings

    env = environment(root / "pycache")
    source = root / "sdk-input.csv"
    print(f"generating {rows:,} rows (SDK case) ...", flush=True)
    generate(source, rows, seed=3)
    size_mb = source.stat().st_size / 2**20
    model, frame = train_wrapper(source, root)
    wrapper_file = root / "regressor.ubj"
    model.save_model(str(wrapper_file))
    small = root / "sdk-warm.csv"
    generate(small, 2_000, seed=4)
    python = sys.executable
    builds = (
        {"sdk": {}} if before is None else {"sdk": {}, "before": {"PYTHONPATH": f"{before}/src"}}
    )
    with contextlib.ExitStack() as stack:
        servers: dict[str, Server] = {}
        sdk_env: dict[str, dict[str, str]] = {}
        models: dict[str, str] = {}
        for build, extra in builds.items():
            home = root / f"server-home-{build}"
            servers[build] = stack.enter_context(Server.dockyard(home, workers=1, env=extra))
            reset_context(Settings(uri=servers[build].url))
            with dy.start_run():
                models[build] = dy.log_model(model, "model", input_example=frame.head(5)).model_uri
            sdk_env[build] = {**env, **extra, "DOCKYARD_URI": servers[build].url}

        def sdk(path: Path, name: str, build: str = "sdk") -> dict[str, Any]:
            out = root / f"sdk-out-{name}"
            shutil.rmtree(out, ignore_errors=True)
            argv = [python, "-c", SDK, models[build], str(path), str(out)]
            return measure(argv, sdk_env[build])

        raw_argv = [python, "-c", RAW_WRAPPER, str(wrapper_file)]
        print("warming up (bytecode caches, model cache) ...", flush=True)
        for build in builds:
            sdk(small, f"warm-{build}", build)
        measure([*raw_argv, str(small), str(root / "raw-wrapper-warm.out")], env)
        two_argv = [python, "-c", TWO_PROCESSES, str(wrapper_file), str(source)]
        runs: dict[str, list[dict[str, Any]]] = {"raw": [], "two": [], **{b: [] for b in builds}}
        for round_ in range(1, repeat + 1):
            print(f"round {round_}: raw XGBRegressor, single process ...", flush=True)
            out = root / "raw-wrapper.out"
            runs["raw"].append(measure([*raw_argv, str(source), str(out)], env))
            print(f"round {round_}: two forked processes, no Dockyard ...", flush=True)
            runs["two"].append(measure([*two_argv, str(root / "two.out")], env))
            # The builds take turns going first: a round's later runs find a warmer machine.
            for build in sorted(builds, reverse=round_ % 2 == 0):
                print(f"round {round_}: dy.Transformer(...).transform, {build} ...", flush=True)
                cpu = servers[build].reaped_cpu_seconds()
                runs[build].append(sdk(source, build, build))
                runs[build][-1]["job_cpu"] = servers[build].reaped_cpu_seconds() - cpu
            if round_ == 1:
                for build in builds:
                    check(root / f"sdk-out-{build}" / f"{source.name}.out", out)
                halves = [root / f"two.out.{i}" for i in range(2)]
                (root / "two.out").write_bytes(b"".join(h.read_bytes() for h in halves))
                check(root / "two.out", out)  # the same predictions: the same work
    names = {
        "raw": "raw ceiling, XGBRegressor (1 process)",
        "two": "two forked processes, each half the file, no Dockyard (what 2 cores allow)",
        "sdk": "Dockyard dy.Transformer(...).transform, XGBRegressor (2 workers)",
        "before": f"the same, build at {before}",
    }
    return [
        {"name": names[tool], "rows": rows, "mb": size_mb, "records": rows, **fastest_only(found)}
        for tool, found in runs.items()
    ]


def fastest_only(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest timed run, without a memory run (not measured for the SDK case), with every
    round's seconds (``rounds``) and their median: one round can be a fifth slower than the
    next on this machine."""
    best = min(runs, key=lambda r: float(r["seconds"]))
    rounds = [float(r["seconds"]) for r in runs]
    return {
        **best,
        "rounds": rounds,
        "median": float(np.median(rounds)),
        "rss_mb": float("nan"),
        "pss_mb": float("nan"),
    }


def check(ours: Path, raw: Path) -> None:
    """Dockyard's output is the raw ceiling's, line for line."""
    import pandas as pd

    got = pd.read_csv(ours, header=None, dtype=np.float32)[0].to_numpy()
    expected = pd.read_csv(raw, header=None, dtype=np.float32)[0].to_numpy()
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-6, atol=1e-6):
        raise AssertionError("Dockyard's predictions differ from the raw booster's")


def table(results: list[dict[str, Any]]) -> str:
    raw = next(r for r in results if r["name"].startswith("raw"))
    raw_rate = raw["rows"] / raw["seconds"]
    raw_whole = raw["rows"] / raw["wall"]
    lines = [
        "| run | rows | input MB | seconds | rows/s | vs raw | rows/s once workers are up "
        "| whole command s | whole command vs raw | CPU s | peak RSS MB | peak PSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rate = r["rows"] / r["seconds"]
        warm = "" if r.get("boot") is None else f"{r['rows'] / (r['seconds'] - r['boot']):,.0f}"
        whole = r["rows"] / r["wall"]
        lines.append(
            f"| {r['name']} | {r['rows']:,} | {r['mb']:.0f} | {r['seconds']:.1f} | {rate:,.0f} "
            f"| {rate / raw_rate:.2f}x | {warm} | {r['wall']:.1f} | {whole / raw_whole:.2f}x "
            f"| {r['cpu']:.1f} | {r['rss_mb']:.0f} | {r['pss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--big", action="store_true", help="also a ~1 GB input (Dockyard only)")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="keep the fastest of N runs")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--sdk", action="store_true", help="also the XGBRegressor via the SDK")
    parser.add_argument("--only-sdk", action="store_true", help="only the SDK case")
    parser.add_argument("--sdk-rows", type=int, default=500_000)
    parser.add_argument(
        "--before", type=Path, help="SDK case: also this checkout's build, in alternate rounds"
    )
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="dockyard-bench-batch-"))
    root.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    sdk_results: list[dict[str, Any]] = []
    try:
        if not args.only_sdk:
            results = run_all(
                root, args.rows, big=args.big, skip_mlflow=args.skip_mlflow, repeat=args.repeat
            )
        if args.sdk or args.only_sdk:
            sdk_results = run_sdk(root, args.sdk_rows, args.repeat, args.before)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    load = os.getloadavg()
    for found in (results, sdk_results):
        if found:
            print()
            print(table(found))
    for r in sdk_results:
        if r.get("rounds"):
            shown = ", ".join(f"{s:.3f}" for s in r["rounds"])
            print(f"{r['name']}: rounds {shown} s; median {r['median']:.3f} s")
        if r.get("job_cpu") is not None:
            print(
                f"{r['name']}: the job's reaped processes used {r['job_cpu']:.2f} s of CPU "
                "(workers forked by worker 0 are not among them: they are orphaned when it is "
                "killed, and reaped by no process of the server's)"
            )
        if r.get("import") is not None:
            raw = next(x for x in sdk_results if x["name"].startswith("raw"))
            whole = r["seconds"] + r["import"]
            print(
                f"{r['name']}: {r['seconds']:.3f} s for the call (raw {raw['seconds']:.3f} s: "
                f"{raw['seconds'] / r['seconds']:.2f}x); the SDK's import before it "
                f"{r['import']:.3f} s (with it, {whole:.3f} s: {raw['seconds'] / whole:.2f}x)"
            )
    print(
        f"\n{os.cpu_count()} CPUs; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}. "
        "Seconds: raw = read + predict + write inside its process (imports and model load "
        "excluded); Dockyard = the run_transform call (worker start with imports, planning, "
        "scoring, publishing); MLflow = the whole command. Whole command: from process start "
        "to exit, imports included, for every tool. CPU s: user + system time of the whole "
        "process tree. Peak memory covers each process and its children (PSS counts pages "
        "that forked workers share once). SDK case: seconds = the "
        "dy.Transformer(...).transform(wait=True) call (upload, job, workers, download), the "
        "SDK's modules imported before it as the ceiling's libraries are; no memory run."
    )


if __name__ == "__main__":
    main()

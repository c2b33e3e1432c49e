"""Packages, configs and running workers for the serving tests.

Models are trained and saved once per session. ``serve`` runs a worker in a thread of this
process (real sockets, real uvicorn, its own event loop); ``spawn`` runs one as a separate
process, as a supervisor would, for what only a process shows (signals, exit codes, ports
shared between processes).
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudpickle
import httpx
import numpy as np
import pandas as pd
import pytest
from tests.runtime.serving import models as test_models

from dockyard.api.serving.config import WorkerConfig
from dockyard.models import infer_signature, save_model
from dockyard.models.pyfunc import PyFuncModel, load_model
from dockyard.runtime.serving.worker import Worker

FEATURES = ["a", "b", "c", "d"]
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Saved packages by name: xgboost (4 doubles), sklearn (mixed columns), custom models."""
    import xgboost
    from sklearn.linear_model import LogisticRegression

    root = tmp_path_factory.mktemp("serving-packages")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 4)), columns=FEATURES)
    target = frame["a"] * 3 + frame["b"] - frame["c"]
    regressor = xgboost.XGBRegressor(n_estimators=20, max_depth=3, n_jobs=1)
    save_model(regressor.fit(frame, target), root / "xgboost", input_example=frame.head(3))

    mixed = pd.DataFrame({"f": rng.normal(size=200), "n": rng.integers(0, 5, 200)})
    classifier = LogisticRegression().fit(mixed, (mixed["f"] + mixed["n"] > 2).astype(int))
    save_model(classifier, root / "sklearn", input_example=mixed.head(3))

    example = pd.DataFrame({"x": [1.0, 2.0]})
    cloudpickle.register_pickle_by_value(test_models)
    try:
        for name, model in {
            "times10": test_models.Times10(),
            "fragile": test_models.Fragile(),
            "labeller": test_models.Labeller(),
        }.items():
            save_model(model, root / name, input_example=example)
        signature = infer_signature(example, params={"seconds": 0.0})
        save_model(test_models.Sleeper(), root / "sleeper", signature=signature)
    finally:
        cloudpickle.unregister_pickle_by_value(test_models)
    return {p.name: p for p in root.iterdir()}


@pytest.fixture(scope="session")
def xgb(packages: dict[str, Path]) -> PyFuncModel:
    """The XGBoost package, loaded here to compute expected predictions."""
    return load_model(packages["xgboost"])


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path (unix socket paths must stay under ~100 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="dy-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def variant(name: str, path: Path, **options: Any) -> dict[str, Any]:
    """A variant entry for :func:`config`."""
    return {"name": name, "model_path": str(path), **options}


def config(directory: Path, variants: list[dict[str, Any]], **options: Any) -> WorkerConfig:
    """A worker config on a free port with its admin socket in ``directory``."""
    body = {
        "endpoint": "ep",
        "port": 0,
        "admin_socket": str(directory / f"admin-{random.randrange(1 << 30)}.sock"),
        "variants": variants,
        **options,
    }
    return WorkerConfig.parse(body)


@dataclass
class Running:
    """A worker serving in this process."""

    worker: Worker
    url: str
    client: httpx.Client
    log: io.StringIO
    thread: threading.Thread
    errors: list[BaseException] = field(default_factory=list)

    @property
    def admin_socket(self) -> str:
        return self.worker.admin_socket


@contextmanager
def running(
    cfg: WorkerConfig, seed: int | None = 0, sock: socket.socket | None = None
) -> Iterator[Running]:
    """Serve ``cfg`` on a thread until the block exits (then drain and wait)."""
    import uvloop

    log = io.StringIO()
    worker = Worker(cfg, sock=sock, log_stream=log, rng=random.Random(seed))
    ready = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            uvloop.run(worker.serve(lambda _: ready.set()))
        except BaseException as exc:
            errors.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=target, name="worker", daemon=True)
    thread.start()
    assert ready.wait(60), "the worker did not start"
    if errors:
        raise errors[0]
    url = f"http://127.0.0.1:{worker.port}"
    with httpx.Client(base_url=url, timeout=30) as client:
        try:
            yield Running(worker, url, client, log, thread, errors)
        finally:
            worker.drain()
            thread.join(30)
    assert not thread.is_alive(), "the worker did not stop after drain"
    if errors:
        raise errors[0]


@pytest.fixture
def serve() -> Callable[..., Any]:
    """``with serve(config) as w:`` runs a worker in this process."""
    return running


@dataclass
class Spawned:
    """A worker process and what it announced when ready."""

    proc: subprocess.Popen[str]
    ready: dict[str, Any]
    stderr: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ready['port']}"

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout)


class Launched:
    """A worker process started but maybe not ready yet."""

    def __init__(self, cfg: WorkerConfig, directory: Path) -> None:
        path = directory / f"config-{random.randrange(1 << 30)}.json"
        path.write_text(cfg.model_dump_json())
        self.stderr = directory / f"{path.stem}.err"
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        with self.stderr.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dockyard.runtime.serving.worker", "--config", str(path)],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=env,
            )

    def ready(self) -> Spawned:
        """Wait for the worker's ready line."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(10)
            pytest.fail(
                f"the worker exited with {self.proc.returncode}:\n{self.stderr.read_text()}"
            )
        return Spawned(self.proc, json.loads(line), self.stderr)

    def kill(self) -> None:
        """Stop it if it still runs, and close its pipe."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def spawned(short_dir: Path) -> Iterator[Callable[[WorkerConfig], Launched]]:
    """Launch worker processes (``spawned(cfg).ready()``); all are killed at the end."""
    started: list[Launched] = []

    def start(cfg: WorkerConfig) -> Launched:
        started.append(Launched(cfg, short_dir))
        return started[-1]

    yield start
    for launched in started:
        launched.kill()


def rows(n: int, seed: int = 1) -> list[list[float]]:
    """``n`` rows of the XGBoost model's four features."""
    values: list[list[float]] = np.random.default_rng(seed).normal(size=(n, 4)).round(6).tolist()
    return values


def split_body(data: list[list[float]]) -> dict[str, Any]:
    """MLflow's ``dataframe_split`` envelope for the XGBoost model."""
    return {"dataframe_split": {"columns": FEATURES, "data": data}}


def wait_in_flight(admin_socket: str, variant_name: str, timeout: float = 30) -> None:
    """Wait until the worker reports a request of ``variant_name`` in flight."""
    from dockyard.api.serving.client import WorkerAdmin

    deadline = time.monotonic() + timeout
    with WorkerAdmin(admin_socket) as admin:
        while time.monotonic() < deadline:
            if admin.stats()["variants"].get(variant_name, {}).get("in_flight"):
                return
            time.sleep(0.01)
    pytest.fail(f"no request of {variant_name!r} reached the worker")

"""A real server with the endpoint supervisor, model packages, and a load generator."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import numpy as np
import pandas as pd
import pytest
from botocore.config import Config
from sklearn.linear_model import LinearRegression
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client
from dockyard.models import save_model

HERE = Path(__file__).parent
ROW = {"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1.0, 2.0, 3.0]]}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path_factory.mktemp("endpoints") / "home",
        env={"DOCKYARD_DATA_ROOTS": str(tmp_path_factory.getbasetemp())},
    )
    proc.start()
    yield proc
    client = Client(proc.url, retry_for=5)
    for endpoint in client.request("GET", "/api/v1/endpoints")["endpoints"]:
        client.request("DELETE", f"/api/v1/endpoints/{endpoint['name']}")
    deadline = time.monotonic() + 30
    while client.request("GET", "/api/v1/endpoints")["endpoints"] and time.monotonic() < deadline:
        time.sleep(0.2)
    client.close()
    proc.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[Client]:
    c = Client(server.url, retry_for=10)
    yield c
    c.close()


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two regressors that answer 1x and 10x the same function, a slow custom model, and one
    that never loads."""
    folder = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.random((50, 3)), columns=["a", "b", "c"])
    y = x["a"] * 2 + x["b"]
    save_model(LinearRegression().fit(x, y), folder / "one", input_example=x.head(3))
    save_model(LinearRegression().fit(x, y * 10), folder / "ten", input_example=x.head(3))
    from tests.server.endpoints.slow_model import Slow

    save_model(
        Slow(), folder / "slow", input_example=x.head(3), code_paths=[HERE / "slow_model.py"]
    )
    from tests.server.endpoints.broken_model import Broken

    save_model(Broken(), folder / "broken", code_paths=[HERE / "broken_model.py"])
    return {k: str(folder / k) for k in ("one", "ten", "slow", "broken")}


def wait_status(client: Client, name: str, wanted: str, timeout: float = 120) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while True:
        endpoint = client.request("GET", f"/api/v1/endpoints/{name}")
        if endpoint["status"] == wanted:
            return endpoint  # type: ignore[no-any-return]
        assert endpoint["status"] != "Failed", endpoint["failure_reason"]
        assert time.monotonic() < deadline, f"{name} is {endpoint['status']}, not {wanted}"
        time.sleep(0.2)


class Load:
    """Concurrent clients sending requests until stopped; counts every outcome."""

    def __init__(self, url: str, clients: int = 4) -> None:
        self.url = url
        self.statuses: dict[int | str, int] = {}
        self.variants: dict[str, int] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            while not self._stop.is_set():
                try:
                    response = http.post("/invocations", json=ROW)
                    key: int | str = response.status_code
                    variant = response.headers.get("x-dockyard-variant", "-")
                except httpx.HTTPError as exc:
                    key, variant = type(exc).__name__, "-"
                with self._lock:
                    self.statuses[key] = self.statuses.get(key, 0) + 1
                    self.variants[variant] = self.variants.get(variant, 0) + 1

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    @property
    def failures(self) -> dict[int | str, int]:
        return {k: v for k, v in self.statuses.items() if k != 200}


def runtime_client(url: str, read_timeout: float = 30) -> Any:
    """boto3's SageMaker Runtime client at ``url``: one attempt, a read timeout a hang would
    exceed."""
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, read_timeout=read_timeout),
    )

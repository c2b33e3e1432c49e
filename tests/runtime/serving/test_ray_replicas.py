"""Endpoint replicas on a three-node Ray cluster, behind the server's invocations route.

A server whose executor is Ray places an endpoint's workers as replicas on the cluster's nodes
(:mod:`dockyard.runtime.serving._raylauncher`), the model travelling by URI through the store.
Two replicas land on two nodes; a node killed under load costs no request once the router has
sent it on to the other replica, and a replacement replica comes up on a live node. The
endpoint's own URL answers too (the server binds its port and forwards to the replicas):
``dy.Predictor``, the Open Inference Protocol, and the endpoint's API keys, which the replicas
check as they would on their own port. Each replica's log, written on its node, is copied to the
server and read through the API, and outlives its node.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from tests.server.endpoints.conftest import ROW, wait_status
from tests.server.notifications._receiver import until
from tests.services.ray_cluster import RayCluster
from tests.services.s3 import S3Server
from tests.services.server_process import ServerProcess

import dockyard as dy
from dockyard.client.http import Client
from dockyard.client.sdk import reset_context
from dockyard.models import save_model
from dockyard.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.s3, pytest.mark.ray_cluster]


@pytest.fixture(scope="module")
def model_uri(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A regressor answering ``2a + b``, in the store; and the bucket."""
    folder = tmp_path_factory.mktemp("replica-model") / "model"
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.random((50, 3)), columns=["a", "b", "c"])
    save_model(LinearRegression().fit(x, x["a"] * 2 + x["b"]), folder, input_example=x.head(3))
    bucket = s3_server.create_bucket("replicas")
    for path in folder.rglob("*"):
        if path.is_file():
            key = f"models/one/{path.relative_to(folder)}"
            s3_server.client().upload_file(str(path), bucket, key)
    return f"s3://{bucket}/models/one", bucket


@pytest.fixture(scope="module")
def server(
    ray_cluster: RayCluster,
    s3_server: S3Server,
    model_uri: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    bucket = model_uri[1]
    proc = ServerProcess(
        tmp_path_factory.mktemp("ray-replicas") / "home",
        env={
            **ray_cluster.environment(),
            "DOCKYARD_EXECUTOR": "ray",
            "DOCKYARD_ARTIFACT_ROOT": f"s3://{bucket}/dockyard",
            "DOCKYARD_S3_ENDPOINT_URL": s3_server.endpoint_url,
            "DOCKYARD_DATA_ROOTS": f"s3://{bucket}",
        },
    )
    proc.start()
    yield proc
    # Replicas are detached actors that outlive a server: remove them with their endpoints.
    client = Client(proc.url, retry_for=5)
    for endpoint in client.request("GET", "/api/v1/endpoints")["endpoints"]:
        client.request("DELETE", f"/api/v1/endpoints/{endpoint['name']}")
    until(lambda: not client.request("GET", "/api/v1/endpoints")["endpoints"], 60, "deleted")
    client.close()
    proc.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[Client]:
    made = Client(server.url, retry_for=5)
    yield made
    made.close()


def _workers(server: ServerProcess, name: str) -> list[dict[str, Any]]:
    """The endpoint's workers as its fleet records them (with their nodes)."""
    path = Path(server.home) / "endpoints" / name / "workers.json"
    try:
        found: list[dict[str, Any]] = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return found


def _log(client: Client, name: str, worker: str) -> str:
    """The start of worker ``worker``'s log, through the API."""
    page = client.request("GET", f"/api/v1/endpoints/{name}/logs", params={"worker": worker})
    return str(page["text"])


def _invoke(client: Client, name: str) -> tuple[int, Any]:
    answer = client._http.post(f"/endpoints/{name}/invocations", json=ROW)
    return answer.status_code, answer.json() if answer.status_code == 200 else answer.text


OIP = {
    "inputs": [
        {"name": n, "shape": [1], "datatype": "FP64", "data": [v]}
        for n, v in (("a", 1.0), ("b", 2.0), ("c", 3.0))
    ]
}


def _own(http: httpx.Client) -> tuple[int, Any]:
    """A request on the endpoint's own URL (with its key)."""
    answer = http.post("/invocations", json=ROW)
    return answer.status_code, answer.json() if answer.status_code == 200 else answer.text


def _check_own_port(client: Client, server: ServerProcess, tmp_path: Path) -> httpx.Client:
    """The endpoint's URL answers as its workers would on their own port; returns a client of
    it holding a key."""
    key = client.request("POST", "/api/v1/endpoints/spread/keys")["key"]
    url = client.request("GET", "/api/v1/endpoints/spread")["url"]
    keyed = httpx.Client(base_url=url, headers={"authorization": f"Bearer {key}"}, timeout=30)
    # The new key reaches each replica with the supervisor's next pass, one replica after the
    # other: four answers in a row (requests take turns over the two) mean both have it.
    until(
        lambda: all(_own(keyed)[0] == 200 for _ in range(4)),
        30,
        "both replicas accepting the endpoint's new key",
    )
    refused = httpx.post(f"{url}/invocations", json=ROW, timeout=30)
    assert refused.status_code == 401, refused.text
    assert httpx.post(f"{url}/invocations", json=ROW, headers={"x-api-key": key}).status_code == 200
    assert httpx.get(f"{url}/ping").status_code == 200  # health checks need no key
    oip = keyed.post("/v2/models/spread/infer", json=OIP)
    assert oip.status_code == 200, oip.text
    assert oip.json()["outputs"][0]["data"][0] == pytest.approx(4.0, abs=1e-6)
    reset_context(Settings(home=tmp_path / "client", uri=server.url))
    try:
        predictor = dy.Predictor("spread", api_key=key)
        frame = pd.DataFrame({"a": [1.0, 0.0], "b": [2.0, 0.0], "c": [3.0, 0.0]})
        assert np.allclose(predictor.predict(frame), [4.0, 0.0])
        assert predictor.last_variant == "main"
        predictor.close()
    finally:
        reset_context(Settings(home=tmp_path / "client"))
    return keyed


def test_replicas_spread_over_nodes_and_outlive_a_lost_node(
    client: Client,
    server: ServerProcess,
    ray_cluster: RayCluster,
    model_uri: tuple[str, str],
    tmp_path: Path,
) -> None:
    client.request(
        "POST",
        "/api/v1/endpoints",
        json={
            "name": "spread",
            "variants": [{"name": "main", "model_uri": model_uri[0]}],
            "scaling": {"min_workers": 2, "max_workers": 2},
            "require_api_key": True,
        },
    )
    wait_status(client, "spread", "InService", timeout=180)
    keyed = _check_own_port(client, server, tmp_path)
    placed = _workers(server, "spread")
    nodes = {w["node"] for w in placed}
    assert len(placed) == 2 and len(nodes) == 2, placed
    assert {n.node_id for n in ray_cluster.workers()} >= nodes
    status, answer = _invoke(client, "spread")
    assert status == 200, answer
    assert answer["predictions"][0] == pytest.approx(4.0)
    # Each replica's log, written on its node, reads through the server's API.
    for n in range(4):
        sent = client._http.post(
            "/endpoints/spread/invocations", json=ROW, headers={"x-request-id": f"ray-log-{n}"}
        )
        assert sent.status_code == 200, sent.text
    until(
        lambda: all("ray-log-" in _log(client, "spread", w["worker_id"]) for w in placed),
        30,
        "each replica's requests in its log",
    )
    # Its live counters say which replica runs where.
    described = client.request("GET", "/api/v1/endpoints/spread", params={"stats": True})
    said = {w["worker"]["id"]: w["worker"]["node"] for w in described["stats"]["workers"]}
    assert said == {w["worker_id"]: w["node"] for w in placed}, said

    lost = next(n for n in ray_cluster.workers() if n.node_id == placed[0]["node"])
    ray_cluster.remove(lost)
    answers: list[tuple[int, Any]] = []

    def replaced() -> bool:
        answers.extend(_invoke(client, "spread") for _ in range(4))
        answers.extend(_own(keyed) for _ in range(4))
        now = _workers(server, "spread")
        return len(now) == 2 and all(w["node"] != lost.node_id for w in now)

    try:
        until(replaced, 90, "a replacement replica on a live node")
    finally:
        ray_cluster.add_worker()  # back to two workers for what follows
    failed = [a for a in answers if a[0] != 200]
    assert not failed, failed[:3]
    assert len(answers) >= 16
    replacement = {w["worker_id"] for w in _workers(server, "spread")} - {
        w["worker_id"] for w in placed
    }
    assert len(replacement) == 1
    status, answer = _invoke(client, "spread")
    assert status == 200, answer
    status, answer = _own(keyed)
    assert status == 200, answer
    keyed.close()
    # The lost node's replica's log was copied to the server: it outlives the node.
    assert "ray-log-" in _log(client, "spread", placed[0]["worker_id"])

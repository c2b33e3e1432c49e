"""Endpoints are held to the server's limits: its connection limits on the workers' own port
(across a restart with other settings too), and the workers' body limit on every way in
(SageMaker Runtime's ``InvokeEndpoint`` on the server's URL, OIP on the endpoint's port).

Every protocol and slow client against a worker the server started is in
``tests/test_connection_guard.py``; here is what the supervisor adds.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from botocore.exceptions import ClientError
from tests.server.endpoints.conftest import runtime_client, wait_status
from tests.services.server_process import ServerProcess

from dockyard.api.serving.client import WorkerAdmin
from dockyard.client.http import Client

pytestmark = pytest.mark.slow

SLACK_S = 3.0  # scheduling slack on a busy machine: a timeout must fire within its value + this
LIMIT = 6 * 1024 * 1024  # the workers' max_body_bytes, SageMaker's own


def _until(check: Any, what: str, within: float = 30) -> Any:
    deadline = time.monotonic() + within
    while not (found := check()):
        assert time.monotonic() < deadline, f"never: {what}"
        select.select([], [], [], 0.1)
    return found


def _delete_all(client: Client) -> None:
    """Workers outlive a stopped server: each test deletes its endpoints before stopping."""
    for endpoint in client.request("GET", "/api/v1/endpoints")["endpoints"]:
        client.request("DELETE", f"/api/v1/endpoints/{endpoint['name']}")
    _until(lambda: not client.request("GET", "/api/v1/endpoints")["endpoints"], "deleted", 60)


def _slow_headers_answer(port: int) -> tuple[bytes, float]:
    """What a new connection that never finishes its headers gets, and after how long."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /ping HTTP/1.1\r\nx-slow: a")
        sock.settimeout(30)
        answer = sock.recv(65536)
        return answer, time.monotonic() - started


def test_a_server_restarted_with_other_limits_gives_them_to_the_workers_that_ran_on(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    models: dict[str, str],
) -> None:
    """The workers keep serving while the server is down; the restarted server holds them to
    its new settings without replacing them (a running worker used to refuse any config
    with other limits, and with it every later change: keys, updates)."""
    roots = {"DOCKYARD_DATA_ROOTS": str(tmp_path_factory.getbasetemp())}
    first = ServerProcess(tmp_path / "home", env=roots)
    first.start()
    with Client(first.url, retry_for=30) as client:
        variant = {"name": "only", "model_uri": models["one"]}
        client.request("POST", "/api/v1/endpoints", json={"name": "held", "variants": [variant]})
        endpoint = wait_status(client, "held", "InService")
    first.stop()
    port = int(urlsplit(endpoint["url"]).port or 0)
    (worker,) = json.loads((tmp_path / "home" / "endpoints" / "held" / "workers.json").read_text())
    with WorkerAdmin(worker["admin_socket"]) as admin:
        assert admin.config()[1].header_timeout_s == 10.0  # the default the server had

    second = ServerProcess(
        tmp_path / "home", port=first.port, env={**roots, "DOCKYARD_HEADER_TIMEOUT_S": "1"}
    )
    second.start()
    try:
        with WorkerAdmin(worker["admin_socket"]) as admin:
            _until(lambda: admin.config()[1].header_timeout_s == 1.0, "the new limits pushed")
        answer, waited = _slow_headers_answer(port)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"headers did not arrive within 1 s" in answer
        assert waited < 1 + SLACK_S
        workers = json.loads(
            (tmp_path / "home" / "endpoints" / "held" / "workers.json").read_text()
        )
        assert [w["pid"] for w in workers] == [worker["pid"]]  # the same worker, not a new one
        with Client(second.url, retry_for=30) as client:
            assert client.request("GET", "/api/v1/endpoints/held")["status"] == "InService"
            _delete_all(client)
    finally:
        second.stop()


@pytest.fixture
def server(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    proc = ServerProcess(
        tmp_path / "home", env={"DOCKYARD_DATA_ROOTS": str(tmp_path_factory.getbasetemp())}
    )
    proc.start()
    yield proc
    with Client(proc.url, retry_for=10) as client:
        _delete_all(client)
    proc.stop()


def _too_big() -> bytes:
    """A valid JSON body just over the workers' limit (JSON allows trailing spaces)."""
    body = b'{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1.0, 2.0, 3.0]]}}'
    return body.ljust(LIMIT + 1)


def test_invoke_endpoint_on_the_servers_url_is_held_to_the_workers_body_limit(
    server: ServerProcess, models: dict[str, str]
) -> None:
    with Client(server.url, retry_for=30) as client:
        variant = {"name": "only", "model_uri": models["one"]}
        client.request("POST", "/api/v1/endpoints", json={"name": "sized", "variants": [variant]})
        wait_status(client, "sized", "InService")
    runtime = runtime_client(server.url)
    with contextlib.closing(runtime), pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(
            EndpointName="sized", Body=_too_big(), ContentType="application/json"
        )
    error = caught.value.response
    # The error's traceback keeps botocore's objects, a socket among them, alive past the
    # client's close until the collector finds them (a ResourceWarning): let go of it now.
    del caught
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error["Error"]["Code"] == "ValidationError"
    assert f"over the endpoint's limit of {LIMIT} bytes" in error["Error"]["Message"]
    # A body the server itself would take (up to 32 MB) is refused from its declared length,
    # before it arrives: the server used to wait for all of it, hold it and send it on.
    answer = _answer_to_headers_alone(server.port, "sized", 30 * 1024 * 1024)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert f"over the endpoint's limit of {LIMIT} bytes".encode() in answer
    # The refusal is the body's alone: the endpoint answers the next request.
    fits = _too_big()[: LIMIT - 10]
    with contextlib.closing(runtime_client(server.url)) as runtime:
        answer = runtime.invoke_endpoint(
            EndpointName="sized", Body=fits, ContentType="application/json"
        )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200


def _answer_to_headers_alone(port: int, endpoint: str, length: int) -> bytes:
    """What the server answers an InvokeEndpoint that declares ``length`` bytes and sends
    none of them (a server waiting for the body answers nothing before the socket's timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(
            f"POST /endpoints/{endpoint}/invocations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode()
        )
        answer = b""
        with contextlib.suppress(TimeoutError):
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        return answer


def test_oip_on_the_endpoints_port_is_held_to_the_body_limit(
    server: ServerProcess, models: dict[str, str]
) -> None:
    with Client(server.url, retry_for=30) as client:
        variant = {"name": "only", "model_uri": models["one"]}
        client.request("POST", "/api/v1/endpoints", json={"name": "oip", "variants": [variant]})
        endpoint = wait_status(client, "oip", "InService")
    inputs = {"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}
    body = json.dumps(inputs).encode()
    with httpx.Client(base_url=endpoint["url"], timeout=30) as http:
        path = "/v2/models/oip/infer"
        headers = {"content-type": "application/json"}
        refused = http.post(path, content=body.ljust(LIMIT + 1), headers=headers)
        assert refused.status_code == 413, refused.text
        assert f"over the endpoint's limit of {LIMIT} bytes" in refused.text

        def chunks() -> Any:  # no declared length: counted as it arrives
            yield body
            for _ in range(LIMIT // 65536 + 1):
                yield b" " * 65536

        streamed = http.post(path, content=chunks(), headers=headers)
        assert streamed.status_code == 413, streamed.text
        assert http.post(path, content=body, headers=headers).status_code == 200

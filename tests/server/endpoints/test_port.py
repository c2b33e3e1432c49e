"""An endpoint's own port served by the server, forwarding to workers that listen elsewhere.

The workers here are small echo servers saying what they received; the Ray cluster test
(tests/runtime/serving/test_ray_replicas.py) covers real replicas, keys and a lost node.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from tests.services.server_process import free_port

from dockyard.api.serving.config import WorkerConfig
from dockyard.connection_guard import ConnectionLimits
from dockyard.server.endpoints._port import EndpointPorts

CONFIG = WorkerConfig.model_validate(
    {"endpoint": "echo", "variants": [{"name": "main", "model_path": "/nowhere"}]}
)


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "1234")
        self.end_headers()

    def _echo(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode()
        answer = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
                "port": self.server.server_address[1],
            }
        ).encode()
        self.send_response(401 if "nokey" in self.path else 200)
        self.send_header("content-type", "application/json")
        self.send_header("x-dockyard-variant", "main")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_DELETE = _echo

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def workers() -> Iterator[list[tuple[str, int]]]:
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Echo) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [("127.0.0.1", s.server_address[1]) for s in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def ports() -> Iterator[EndpointPorts]:
    served = EndpointPorts()
    yield served
    served.close_all()


def _serve(ports: EndpointPorts, addresses: list[tuple[str, int]], **config: object) -> str:
    port = free_port()
    worker = CONFIG.model_copy(update=config)
    ports.serve("echo", "127.0.0.1", port, lambda: addresses, worker)
    return f"http://127.0.0.1:{port}"


def test_requests_and_answers_pass_unchanged(
    ports: EndpointPorts, workers: list[tuple[str, int]]
) -> None:
    url = _serve(ports, workers)
    with httpx.Client(base_url=url) as client:
        answer = client.post(
            "/v2/models/echo/infer?x=1&y=%20",
            content=b'{"inputs": []}',
            headers={"authorization": "Bearer k1", "x-api-key": "k2", "x-custom": "c"},
        )
        refused = client.get("/nokey")
        head = client.head("/ping")
    assert answer.status_code == 200
    assert answer.headers["x-dockyard-variant"] == "main"
    seen = answer.json()
    assert seen["method"] == "POST"
    assert seen["path"] == "/v2/models/echo/infer?x=1&y=%20"
    assert seen["body"] == '{"inputs": []}'
    assert {"authorization": "Bearer k1", "x-api-key": "k2", "x-custom": "c"}.items() <= seen[
        "headers"
    ].items()
    assert refused.status_code == 401  # the worker's answer, as it gave it
    assert refused.json()["method"] == "GET"
    assert head.status_code == 200 and head.headers["content-length"] == "1234"
    assert head.content == b""


def test_requests_take_turns_and_skip_an_unreachable_worker(
    ports: EndpointPorts, workers: list[tuple[str, int]]
) -> None:
    lost = ("127.0.0.1", free_port())  # nothing listens there
    url = _serve(ports, [lost, *workers])
    with httpx.Client(base_url=url) as client:
        answers = [client.post("/invocations", content=b"{}") for _ in range(12)]
    assert [a.status_code for a in answers] == [200] * 12
    assert {a.json()["port"] for a in answers} == {port for _, port in workers}


def test_no_worker_answering_is_a_503_naming_the_endpoint(ports: EndpointPorts) -> None:
    url = _serve(ports, [("127.0.0.1", free_port())])
    answer = httpx.post(f"{url}/invocations", content=b"{}")
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["code"] == "unavailable" and "endpoint echo" in error["message"]
    assert "Traceback" not in answer.text


def test_bodies_over_the_workers_limit_are_refused(
    ports: EndpointPorts, workers: list[tuple[str, int]]
) -> None:
    url = _serve(ports, workers, max_body_bytes=1000)
    assert httpx.post(f"{url}/invocations", content=b"x" * 1000).status_code == 200
    answer = httpx.post(f"{url}/invocations", content=b"x" * 1001)
    assert answer.status_code == 413
    assert "1000 bytes" in answer.json()["error"]["message"]


def test_closing_releases_the_port(ports: EndpointPorts, workers: list[tuple[str, int]]) -> None:
    url = _serve(ports, workers)
    assert httpx.get(f"{url}/ping").status_code == 200
    ports.close("echo")
    assert ports.serving() == {}
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/ping")


def test_a_page_in_a_browser_can_neither_rebind_nor_post_cross_site(
    ports: EndpointPorts, workers: list[tuple[str, int]]
) -> None:
    """The port is on loopback: a rebinding page (its own name as Host) and another site's
    page (its Origin) are refused before anything reaches a replica."""
    url = _serve(ports, workers)
    port = url.rsplit(":", 1)[1]
    with httpx.Client(base_url=url) as client:
        rebound = client.post(
            "/invocations", content=b"{}", headers={"host": f"attacker.example:{port}"}
        )
        cross = client.post(
            "/invocations",
            content=b"1,2",
            headers={"origin": "http://evil.example", "content-type": "text/plain"},
        )
        marked = client.post(
            "/invocations", content=b"{}", headers={"sec-fetch-site": "cross-site"}
        )
        same = client.post("/invocations", content=b"{}", headers={"origin": url})
        named = client.get("/ping", headers={"host": f"localhost:{port}"})
    assert rebound.status_code == 400, rebound.text
    assert rebound.json()["error"]["field"] == "Host"
    assert "attacker.example" in rebound.json()["error"]["message"]
    assert cross.status_code == 403 and "evil.example" in cross.json()["error"]["message"]
    assert marked.status_code == 403
    assert same.status_code == 200
    assert "origin" not in same.json()["headers"]  # checked here, not by the replica
    assert named.status_code == 200


@pytest.mark.parametrize("serves", ["forward", "refuse"])
def test_connections_are_held_to_the_limits_given(
    workers: list[tuple[str, int]], serves: str
) -> None:
    """The server's own limits, forwarding or answering for a Failed endpoint: a refusing port
    held connections to fixed defaults, a forwarding one to a worker config's."""
    served = EndpointPorts(ConnectionLimits(header_timeout_s=1))
    port = free_port()
    try:
        if serves == "forward":
            # A config's own limits are the workers' concern, not the port's.
            served.serve("echo", "127.0.0.1", port, lambda: workers, CONFIG)
        else:
            served.refuse("echo", "127.0.0.1", port)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            started = time.monotonic()
            sock.sendall(b"GET /ping HTTP/1.1\r\nx-slow: a")  # and the headers never end
            sock.settimeout(30)
            answer = sock.recv(65536)
            waited = time.monotonic() - started
    finally:
        served.close_all()
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"headers did not arrive within 1 s" in answer
    assert waited < 1 + 3.0  # the default is 10 s

"""The shared HTTP client: retries, error mapping and bodies, over both transports.

A real HTTP server in a thread plays the part of a flaky server (it answers from a script), so
each transport sends real requests over real sockets.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dockyard.client.http import Client, SocketTransport
from dockyard.client.http import _client as client_module
from dockyard.errors import AlreadyExists, DockyardError, InvalidArgument, NotFound, Unavailable

Answer = tuple[int, dict[str, str], bytes]


class _Script:
    """Answers in order (the last one repeats) and records what each request carried."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []


@pytest.fixture
def server() -> Iterator[tuple[str, _Script]]:
    script = _Script()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            size = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(size)
            headers = {k.lower(): v for k, v in self.headers.items()}
            script.seen.append((self.command, self.path, headers, body))
            index = min(len(script.seen), len(script.answers)) - 1
            status, extra, content = script.answers[index]
            self.send_response(status)
            for name, value in {"content-length": str(len(content)), **extra}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *_: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    httpd.shutdown()
    httpd.server_close()


def _clients(url: str) -> list[Client]:
    return [
        Client(url, retry_for=10, token="tok"),
        Client(url, retry_for=10, token="tok", transport=SocketTransport()),
    ]


_OK: Answer = (200, {"content-type": "application/json"}, b'{"ok": true}')


def test_transient_answers_are_retried_for_safe_methods(server: tuple[str, _Script]) -> None:
    url, script = server
    for client in _clients(url):
        script.seen.clear()
        script.answers = [(503, {}, b"busy"), (429, {"retry-after": "0"}, b""), (502, {}, b""), _OK]
        with client:
            assert client.request("GET", "/api/v1/x", params={"a": 1, "b": None}) == {"ok": True}
        assert [path for _, path, _, _ in script.seen] == ["/api/v1/x?a=1"] * 4
        assert all(h["authorization"] == "Bearer tok" for _, _, h, _ in script.seen)


def test_a_post_is_retried_only_when_the_caller_says_so(server: tuple[str, _Script]) -> None:
    url, script = server
    for client in _clients(url):
        script.seen.clear()
        script.answers = [(503, {}, b"busy"), _OK]
        with client:
            with pytest.raises(Unavailable, match="answered 503: busy"):
                client.request("POST", "/api/v1/x", json={"n": 1})
            assert len(script.seen) == 1
            assert client.request("POST", "/api/v1/x", json={"n": 2}, retry=True) == {"ok": True}
        assert [json.loads(body) for _, _, _, body in script.seen] == [{"n": 1}, {"n": 2}]


def test_errors_come_back_as_dockyard_errors(server: tuple[str, _Script]) -> None:
    url, script = server
    body = {"error": {"code": "already_exists", "message": "taken", "field": "name"}}
    for client in _clients(url):
        script.seen.clear()
        script.answers = [(409, {}, json.dumps(body).encode())]
        with client, pytest.raises(AlreadyExists, match="taken") as caught:
            client.request("POST", "/api/v1/x", json={})
        assert caught.value.field == "name"

    for client in _clients(url):
        # Not a Dockyard body (a proxy's page): the class follows the status.
        script.answers = [(404, {}, b"<html>nope</html>")]
        with pytest.raises(NotFound, match="answered 404") as missing:
            client.request("GET", "/api/v1/x")
        assert missing.value.details["status"] == 404
        script.answers = [(418, {}, b"teapot")]
        with client, pytest.raises(DockyardError, match="teapot"):
            client.request("GET", "/api/v1/x")


def test_a_file_body_is_sent_whole_on_every_attempt(
    server: tuple[str, _Script], tmp_path: Path
) -> None:
    url, script = server
    data = tmp_path / "blob"
    data.write_bytes(bytes(range(256)) * 5000)
    for client in _clients(url):
        sent: list[bytes] = []
        with client, data.open("rb") as handle:
            for body in (data, handle):  # from disk, and from an open file
                script.seen.clear()
                script.answers = [(503, {}, b""), (200, {}, b"")]
                assert client.request("PUT", "/f", content=body) is None
                sent += [content for _, _, _, content in script.seen]
        assert [content == data.read_bytes() for content in sent] == [True] * 4


def test_an_unreachable_server_is_unavailable_after_the_retry_window() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for transport in (None, SocketTransport()):
        client = Client(f"http://127.0.0.1:{port}", retry_for=0.5, transport=transport)
        with client, pytest.raises(Unavailable, match=r"cannot reach .*gave up after"):
            client.request("GET", "/api/v1/x")


def test_a_server_still_unreachable_after_a_while_is_said_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A mistyped port left a CLI command silent for the whole two-minute retry window.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with Client(url, retry_for=0.5) as client, pytest.raises(Unavailable):
        client.request("GET", "/api/v1/x")  # a short window (a runner's poll): nothing said
    assert not caplog.records
    monkeypatch.setattr(client_module, "_TELL_AFTER_S", 0.0)
    monkeypatch.setattr(client_module, "_TELL_WINDOW_S", 0.5)
    with Client(url, retry_for=0.5) as client, pytest.raises(Unavailable):
        client.request("GET", "/api/v1/x")
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert said == [
        f"cannot reach {url}: [Errno 111] Connection refused; retrying for up to 0.5 s (Ctrl-C to "
        "stop)"
    ]


def test_importing_the_client_loads_no_http_library_or_server_code() -> None:
    code = (
        "import sys, dockyard.client.http, dockyard.limits\n"
        "heavy = ('httpx', 'pydantic', 'fastapi', 'sqlalchemy', 'dockyard.server')\n"
        "print([m for m in sys.modules if m.startswith(heavy)])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]", done.stdout


def test_streams_work_on_either_transport(server: tuple[str, _Script]) -> None:
    url, script = server
    for client in _clients(url):
        script.seen.clear()
        script.answers = [(200, {}, b"artifact bytes")]
        with client, client.stream("GET", "/files/a.bin") as response:
            assert b"".join(response.iter_bytes()) == b"artifact bytes"
        assert [(method, path) for method, path, _, _ in script.seen] == [("GET", "/files/a.bin")]
        assert script.seen[0][2]["authorization"] == "Bearer tok"


def test_a_failed_stream_raises_the_servers_error_on_either_transport(
    server: tuple[str, _Script],
) -> None:
    url, script = server
    missing = json.dumps({"error_code": "NOT_FOUND", "message": "no such file"}).encode()
    for client in _clients(url):
        script.seen.clear()
        script.answers = [(404, {"content-type": "application/json"}, missing)]
        with (
            client,
            pytest.raises(NotFound, match="no such file"),
            client.stream("GET", "/files/missing"),
        ):
            pass


@pytest.mark.parametrize("url", ["127.0.0.1:5050", "dockyard.internal", "ftp://host/", "http://"])
@pytest.mark.parametrize("transport", [None, SocketTransport])
def test_a_server_url_that_is_not_one_is_refused_at_once(
    url: str, transport: type[SocketTransport] | None
) -> None:
    # Not retried as a failure to connect for the retry window: it never would connect.
    with pytest.raises(InvalidArgument, match=r"is not an http\(s\) URL") as caught:
        Client(url, transport=transport() if transport else None, retry_for=60)
    assert caught.value.field == "uri"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"name": "caf\udce9"}, "str is not valid UTF-8: surrogates not allowed"),
        ({"version": 2**64}, "Integer exceeds 64-bit range"),
    ],
)
def test_a_body_json_cannot_carry_is_refused_before_it_is_sent(
    server: tuple[str, _Script], body: dict[str, object], said: str
) -> None:
    url, script = server
    with Client(url, retry_for=0) as client, pytest.raises(InvalidArgument) as caught:
        client.request("POST", "/api/v1/experiments", json=body)
    assert caught.value.message == f"the request cannot be sent as JSON: {said}"
    assert script.seen == []


@pytest.mark.parametrize("transport", ["sockets", "httpx"])
def test_a_host_name_that_does_not_resolve_fails_at_once(
    monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    """A mistyped host is said at once, not retried as a server that is away (``.invalid``
    names never resolve)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    if transport == "httpx":  # a proxy in the environment makes the client take httpx
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
        monkeypatch.setenv("NO_PROXY", ".invalid")
    began = time.monotonic()
    with (
        Client("http://nosuchhost.invalid:5050", retry_for=30) as client,
        pytest.raises(Unavailable) as raised,
    ):
        client.request("GET", "/api/v1/whoami")
    assert time.monotonic() - began < 10
    message = str(raised.value)
    assert "no host named 'nosuchhost.invalid' is known here" in message, message
    assert "check the URL" in message and "gave up after" not in message

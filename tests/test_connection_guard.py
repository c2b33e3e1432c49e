"""Connection limits against real processes, over real sockets: ``dockyard server``, a serving
worker and an endpoint's worker started by the server (held to the server's settings) each get
the same slow, idle and flooding clients.

Every server here runs with one-second timeouts, so each test takes a few seconds; the flood tests
use servers whose timeouts are long, so only the connection cap can be what closes a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from uvicorn.config import STARTUP_FAILURE
from uvicorn.server import ServerState

from dockyard.client.http import Client
from dockyard.connection_guard import ConnectionLimits, GuardedConfig, GuardedProtocol
from dockyard.models import save_model
from tests.services.server_process import ServerProcess, serve_until_it_exits

pytestmark = pytest.mark.slow

TIMEOUT_S = 1.0  # header, body and idle timeouts of the "quick" servers
CAP = 24  # the capped servers' max_connections
SLACK_S = 3.0  # scheduling slack on a busy machine: a timeout must fire within its value + this


@dataclass(frozen=True)
class Target:
    """A server under test: where it listens, a cheap GET and a POST that reads a JSON body."""

    name: str
    port: int
    get: str
    post: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


def _api(tmp: Path, env: dict[str, str]) -> Iterator[Target]:
    proc = ServerProcess(tmp / "home", env={f"DOCKYARD_{k.upper()}": v for k, v in env.items()})
    proc.start()
    try:
        yield Target("api", proc.port, "/healthz", "/api/v1/experiments")
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("guard-model") / "m"
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 0.0, 1.0]})
    save_model(LinearRegression().fit(x, x["a"] + x["b"]), folder, input_example=x)
    return folder


def _worker(tmp: Path, model: Path, limits: dict[str, str]) -> Iterator[Target]:
    config = {
        "endpoint": "guard",
        "port": 0,
        "admin_socket": str(tmp / "admin.sock"),
        "variants": [{"name": "v", "model_path": str(model)}],
        **{k: float(v) for k, v in limits.items()},
    }
    path = tmp / "worker.json"
    path.write_text(json.dumps(config))
    with (tmp / "worker.err").open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dockyard.runtime.serving.worker", "--config", str(path)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, (tmp / "worker.err").read_text()
        yield Target("worker", json.loads(line)["port"], "/ping", "/invocations")
    finally:
        proc.terminate()
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()


def _endpoint(tmp: Path, model: Path, env: dict[str, str]) -> Iterator[Target]:
    """An endpoint's one worker, started by a server whose settings are ``env``: it holds its
    connections to the server's limits, which nothing gives it but the server."""
    settings = {f"DOCKYARD_{k.upper()}": v for k, v in env.items()}
    proc = ServerProcess(tmp / "home", env={**settings, "DOCKYARD_DATA_ROOTS": str(model)})
    proc.start()
    try:
        with Client(proc.url, retry_for=10) as client:
            variant = {"name": "v", "model_uri": str(model)}
            client.request("POST", "/api/v1/endpoints", json={"name": "g", "variants": [variant]})
            deadline = time.monotonic() + 120
            while (found := client.request("GET", "/api/v1/endpoints/g"))["status"] != "InService":
                assert found["status"] != "Failed", found["failure_reason"]
                assert time.monotonic() < deadline, f"the endpoint is {found['status']}"
                select.select([], [], [], 0.1)
        yield Target("endpoint", int(urlsplit(found["url"]).port or 0), "/ping", "/invocations")
    finally:
        # A server that stops leaves its endpoints' workers serving: delete them first.
        with Client(proc.url, retry_for=10) as client:
            client.request("DELETE", "/api/v1/endpoints/g")
            deadline = time.monotonic() + 60
            while client.request("GET", "/api/v1/endpoints")["endpoints"]:
                assert time.monotonic() < deadline, "the endpoint was never deleted"
                select.select([], [], [], 0.1)
        proc.stop()


QUICK = {"header_timeout_s": "1", "body_timeout_s": "1", "min_body_rate": "10"}
TARGETS = ["api", "worker", "endpoint"]


@pytest.fixture(scope="module", params=TARGETS)
def quick(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, model: Path
) -> Iterator[Target]:
    """A server whose header, body and idle timeouts are all one second."""
    tmp = tmp_path_factory.mktemp(f"quick-{request.param}")
    if request.param == "api":
        yield from _api(tmp, {**QUICK, "keepalive_timeout_s": "1"})
    elif request.param == "worker":
        yield from _worker(tmp, model, {**QUICK, "keep_alive_s": "1"})
    else:
        yield from _endpoint(tmp, model, {**QUICK, "keepalive_timeout_s": "1"})


@pytest.fixture(scope="module", params=TARGETS)
def capped(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, model: Path
) -> Iterator[Target]:
    """A server holding at most ``CAP`` connections, with timeouts too long to matter here."""
    tmp = tmp_path_factory.mktemp(f"capped-{request.param}")
    long = {"header_timeout_s": "60", "body_timeout_s": "60", "max_connections": str(CAP)}
    if request.param == "api":
        yield from _api(tmp, {**long, "keepalive_timeout_s": "60"})
    elif request.param == "worker":
        yield from _worker(tmp, model, {**long, "keep_alive_s": "60"})
    else:
        yield from _endpoint(tmp, model, {**long, "keepalive_timeout_s": "60"})


def read_all(sock: socket.socket, within: float) -> bytes:
    """Everything the server sends until it closes the connection, which must be ``within``."""
    deadline = time.monotonic() + within
    data = b""
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"the server kept the connection open; got {data[:200]!r}"
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed ``sock`` (without waiting)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(65536, socket.MSG_PEEK) == b""
    except ConnectionResetError:
        return True


def status_of(response: bytes) -> int:
    assert response.startswith(b"HTTP/1.1 "), response[:200]
    return int(response.split(b" ", 2)[1])


def trickle(sock: socket.socket, data: bytes, every_s: float, deadline: float) -> float | None:
    """Send ``data`` a byte every ``every_s``; the time the server answered or closed, if it did.

    The pause between bytes is the client being slow (what is under test), not a wait for the
    server: every pause also watches for the server's answer.
    """
    for i, byte in enumerate(data):
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic()
        if i == len(data) - 1:
            break  # all sent: an answer now is the normal one
        readable, _, _ = select.select([sock], [], [], every_s)
        if readable:
            return time.monotonic()
        assert time.monotonic() < deadline, "the server never cut the slow client off"
    return None


# -- timeouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sends", [b"", b"\r\n"], ids=["nothing", "line-breaks"])
def test_a_connection_that_never_sends_a_request_is_closed_after_the_idle_timeout(
    quick: Target, sends: bytes
) -> None:
    with quick.connect() as sock:
        sock.sendall(sends)
        started = time.monotonic()
        assert read_all(sock, TIMEOUT_S + SLACK_S) == b""
        assert time.monotonic() - started >= TIMEOUT_S * 0.9


def test_an_idle_keep_alive_connection_is_closed(quick: Target) -> None:
    with quick.connect() as sock:
        sock.sendall(f"GET {quick.get} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n".encode())
        sock.settimeout(10)
        first = sock.recv(65536)
        assert status_of(first) == 200
        sock.sendall(b"\r\n")  # stray line breaks begin no request: the connection stays idle
        answered = time.monotonic()
        rest = read_all(sock, TIMEOUT_S + SLACK_S)
        assert b"HTTP/1.1" not in rest  # nothing more was sent: the close was the idle timeout
        assert time.monotonic() - answered >= TIMEOUT_S * 0.9


def test_headers_sent_a_byte_at_a_time_are_cut_off_with_408(quick: Target) -> None:
    with quick.connect() as sock:
        started = time.monotonic()
        endless = f"GET {quick.get} HTTP/1.1\r\nx-slow: {'a' * 1000}".encode()
        cut = trickle(sock, endless, 0.05, started + TIMEOUT_S + SLACK_S)
        assert cut is not None
        assert TIMEOUT_S * 0.9 <= cut - started < TIMEOUT_S + SLACK_S
        response = read_all(sock, SLACK_S)
    assert status_of(response) == 408
    assert b"connection: close" in response
    assert b"headers did not arrive within 1 s" in response


def _send_until_refused(sock: socket.socket, data: bytes, piece: int) -> None:
    """Send ``data`` in pieces of ``piece`` bytes; stop quietly when the server closes."""
    for start in range(0, len(data), piece):
        try:
            sock.sendall(data[start : start + piece])
        except (BrokenPipeError, ConnectionResetError):
            return


@pytest.mark.parametrize("piece", [4096, 1 << 20], ids=["many-reads", "one-send"])
def test_headers_over_the_size_limit_get_431_and_the_connection_closes(
    quick: Target, piece: int
) -> None:
    """Headers are held in memory until they end: a client sending megabytes of them (before
    any credential is checked) is cut off at the limit, not buffered."""
    limit = ConnectionLimits().max_header_bytes
    big = b"".join(b"x-h%d: %s\r\n" % (i, b"a" * 1000) for i in range(4 * limit // 1000))
    with quick.connect() as sock:
        request = f"GET {quick.get} HTTP/1.1\r\nhost: 127.0.0.1\r\n".encode() + big
        _send_until_refused(sock, request + b"\r\n", piece)
        response = read_all(sock, SLACK_S)
    assert status_of(response) == 431, response[:300]
    assert b"connection: close" in response
    assert b"headers are over the 64 KiB limit" in response
    assert b'"field":"headers"' in response


def test_headers_under_the_size_limit_are_answered(quick: Target) -> None:
    limit = ConnectionLimits().max_header_bytes
    headers = b"".join(b"x-h%d: %s\r\n" % (i, b"a" * 1000) for i in range(limit // 1100))
    with quick.connect() as sock:
        sock.sendall(
            f"GET {quick.get} HTTP/1.1\r\nhost: 127.0.0.1\r\n".encode() + headers + b"\r\n"
        )
        sock.settimeout(10)
        assert status_of(sock.recv(65536)) == 200


def _json_head(target: Target, length: int) -> bytes:
    """The request line and headers of a JSON POST of ``length`` bytes to ``target``."""
    return (
        f"POST {target.post} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        f"content-length: {length}\r\n\r\n"
    ).encode()


def test_a_stalled_body_gets_408_and_the_connection_closes(quick: Target) -> None:
    with quick.connect() as sock:
        sock.sendall(_json_head(quick, 100) + b'{"name": ')  # and then nothing
        stalled = time.monotonic()
        response = read_all(sock, TIMEOUT_S + SLACK_S)
        waited = time.monotonic() - stalled
    assert status_of(response) == 408, response
    assert b"no progress for 1 s" in response
    assert waited >= TIMEOUT_S * 0.9


def test_a_slow_body_that_keeps_moving_is_answered(quick: Target) -> None:
    """The body limit is on silence, not on total time: 2.5 s of steady bytes is fine."""
    body = b'{"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, 2.0]]}}'
    if quick.name == "api":
        body = json.dumps({"name": f"slow-{time.time_ns()}"}).encode()
    body = body.ljust(90)  # JSON allows trailing spaces: about 90 bytes at 0.03 s each
    with quick.connect() as sock:
        sock.sendall(_json_head(quick, len(body)))
        started = time.monotonic()
        assert trickle(sock, body, 0.03, started + 30) is None
        assert time.monotonic() - started > TIMEOUT_S * 2
        sock.settimeout(10)
        response = sock.recv(65536)
    assert status_of(response) in (200, 201), response


def test_a_body_trickled_just_often_enough_to_count_as_progress_is_cut_off(
    quick: Target,
) -> None:
    """A byte every 0.3 s is progress (the body timeout is 1 s) but 3 bytes a second, under the
    10 the server asks for once the first second has passed: each byte buys 0.1 s, so the
    server gives up at about 1.5 s, where the bytes would have taken 30 s."""
    body = b" " * 100
    with quick.connect() as sock:
        sock.sendall(_json_head(quick, len(body)))
        started = time.monotonic()
        answered = trickle(sock, body, 0.3, started + 20)
        assert answered is not None, "the whole body was taken at 3 bytes a second"
        response = read_all(sock, 10)
    assert status_of(response) == 408, response
    assert b"arrived slower than 10 bytes a second" in response
    assert 1.0 <= answered - started < 10


# -- the connection cap -----------------------------------------------------------------------


def _open(target: Target, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        with contextlib.suppress(OSError):  # a refused connection may already be reset
            socks.append(target.connect())
    return socks


def test_an_idle_flood_over_the_cap_does_not_lock_a_client_out(capped: Target) -> None:
    flood = _open(capped, CAP * 6)
    try:
        # The server keeps at most CAP of them: the rest are closed, not held.
        deadline = time.monotonic() + 20
        while sum(not closed_by_server(s) for s in flood) > CAP:
            assert time.monotonic() < deadline, "the server holds more connections than its cap"
            select.select([], [], [], 0.05)
        # A well-behaved client is answered at once, every time, on new connections.
        fresh = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=capped.url, limits=fresh, timeout=5) as client:
            for _ in range(10):
                assert client.get(capped.get).status_code == 200
        # More flooding changes nothing: idle sockets give way to the new ones.
        flood += _open(capped, CAP * 2)
        with httpx.Client(base_url=capped.url, limits=fresh, timeout=5) as client:
            assert client.get(capped.get).status_code == 200
    finally:
        for sock in flood:
            sock.close()


def _refused(target: Target) -> bool:
    """Whether a new connection is closed at once, with no answer (else it was taken)."""
    with target.connect() as sock:
        sock.settimeout(1)
        try:
            return sock.recv(1) == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True


def test_at_the_cap_with_no_idle_connection_new_ones_are_refused_at_once(capped: Target) -> None:
    """Connections mid-request are not evicted; a new one is closed, not queued behind them."""
    busy = _open(capped, CAP)
    try:
        for sock in busy:  # each starts a request and never finishes its headers
            sock.sendall(f"GET {capped.get} HTTP/1.1\r\nx-slow: a".encode())
        taken = 0  # a probe the server took while a slow client still looked idle to it
        deadline = time.monotonic() + 20
        while not _refused(capped):
            taken += 1
            assert time.monotonic() < deadline, "new connections were never refused"
        # Only an idle connection can make room, so at most one slow client per taken probe.
        assert sum(closed_by_server(s) for s in busy) <= taken
    finally:
        for sock in busy:
            sock.close()
    # Once they are gone the server answers again.
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(capped.url + capped.get, timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not recover after the flood"
        select.select([], [], [], 0.05)


def test_server_worker_processes_get_the_limits_too(tmp_path: Path) -> None:
    """``--workers 2``: uvicorn pickles the config to each process, limits included."""
    env = {"DOCKYARD_WORKERS": "2", "DOCKYARD_HEADER_TIMEOUT_S": "1"}
    proc = ServerProcess(tmp_path / "home", env=env)
    proc.start()
    try:
        for _ in range(4):  # new connections land on either process
            with socket.create_connection(("127.0.0.1", proc.port), timeout=10) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nx-slow: a")
                assert status_of(read_all(sock, TIMEOUT_S + SLACK_S)) == 408
    finally:
        proc.stop()


# -- one write per answer of known length ------------------------------------------------------


class _Transport(asyncio.Transport):
    """Records what the protocol writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _writes(app: object, request: bytes) -> list[bytes]:
    """What the guarded protocol writes, call by call, answering ``request`` with ``app``."""

    async def run() -> list[bytes]:
        config = GuardedConfig(app, limits=ConnectionLimits(), lifespan="off", log_level="error")
        config.load()
        protocol = GuardedProtocol(config, ServerState(), {})
        transport = _Transport()
        protocol.connection_made(transport)
        protocol.data_received(request)
        while protocol.tasks:
            await asyncio.gather(*protocol.tasks)
        protocol.connection_lost(None)
        return transport.writes

    return asyncio.run(run())


def _answer(*bodies: bytes, headers: list[tuple[bytes, bytes]]) -> object:
    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        assert callable(send)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i, body in enumerate(bodies):
            await send(
                {"type": "http.response.body", "body": body, "more_body": i < len(bodies) - 1}
            )

    return app


_GET = b"GET /x HTTP/1.1\r\nhost: localhost\r\n\r\n"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_server_whose_app_cannot_be_built_says_why_without_a_traceback(
    tmp_path: Path, workers: int
) -> None:
    """A setting that fails only as the app is built (an executor whose cluster refuses it)
    stops ``dockyard server`` with the reason and uvicorn's start-up failure code, in one
    process or in worker processes."""
    env = {
        "DOCKYARD_WORKERS": str(workers),
        "DOCKYARD_EXECUTORS": "tests.server.jobs.test_executors:Unreachable",
    }
    done = serve_until_it_exits(tmp_path / "home", env, timeout=120)
    assert done.returncode == STARTUP_FAILURE, done.stderr
    assert "Error: the cluster at example:1 is unreachable" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_an_answer_of_known_length_goes_out_in_one_write() -> None:
    writes = _writes(_answer(b"{}", headers=[(b"content-length", b"2")]), _GET)
    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b"\r\n\r\n{}")


def test_a_streamed_answer_sends_its_head_before_its_body() -> None:
    writes = _writes(_answer(b"a", b"b", headers=[]), _GET)  # no length: chunked
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b"\r\n\r\n")
    assert b"".join(writes[1:]) == b"1\r\na\r\n1\r\nb\r\n0\r\n\r\n"


def test_a_known_length_stream_carries_its_head_with_the_first_chunk_only() -> None:
    writes = _writes(_answer(b"ab", b"cd", headers=[(b"content-length", b"4")]), _GET)
    assert len(writes) == 2
    assert writes[0].endswith(b"\r\n\r\nab") and writes[1] == b"cd"


def test_a_head_request_is_answered_at_once() -> None:
    head = b"HEAD /x HTTP/1.1\r\nhost: localhost\r\n\r\n"
    writes = _writes(_answer(b"", headers=[(b"content-length", b"2")]), head)
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b"\r\n\r\n")
    assert b"".join(writes[1:]) == b""


def _tcp_state(sock: socket.socket) -> int:
    """The kernel's TCP state of ``sock`` (``tcpi_state``): 7 once closed (a reset received),
    read without reading the data the socket holds."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]


def test_a_download_left_unread_is_cut_off_and_one_read_is_not(tmp_path: Path) -> None:
    """2,048 downloads held open unread used up every connection a process has: an answer the
    client reads none of for ``send_timeout_s`` is cut off. One that is read runs to its end."""
    size = 8 * 1024 * 1024  # far beyond the small receive buffer the unread client keeps
    for target in _api(tmp_path, {"send_timeout_s": "1"}):
        made = httpx.post(f"{target.url}/api/v1/runs", json={"experiment_id": "0"}).json()
        path = f"/api/v1/runs/{made['info']['run_id']}/artifacts/big.bin"
        httpx.put(f"{target.url}{path}", content=b"x" * size, timeout=60).raise_for_status()
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        with socket.socket() as unread:
            # A fixed, small buffer (no autotuning, which on loopback grows to 32 MB here).
            unread.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            unread.connect(("127.0.0.1", target.port))
            unread.sendall(request)
            deadline = time.monotonic() + 30
            while _tcp_state(unread) != 7:  # TCP_CLOSE: the server reset it (polled)
                assert time.monotonic() < deadline, "the unread download was never cut off"
                time.sleep(0.05)
        with target.connect() as reading:
            reading.sendall(request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
            got = read_all(reading, within=60)
        assert status_of(got) == 200
        assert got.endswith(b"x" * 1024) and len(got) > size


def test_a_download_read_slowly_but_steadily_runs_to_its_end(tmp_path: Path) -> None:
    """A client reading all the while, slower than the server writes a chunk (a slow link,
    ``curl --limit-rate``), kept the server's writes paused past ``send_timeout_s`` while one
    1 MiB chunk drained, and was cut off as if it read nothing. A read is progress: only a
    client that reads none of the answer for ``send_timeout_s`` is cut off."""
    size = 2 * 1024 * 1024
    for target in _api(tmp_path, {"send_timeout_s": "1"}):
        made = httpx.post(f"{target.url}/api/v1/runs", json={"experiment_id": "0"}).json()
        path = f"/api/v1/runs/{made['info']['run_id']}/artifacts/big.bin"
        httpx.put(f"{target.url}{path}", content=b"x" * size, timeout=60).raise_for_status()
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        with socket.socket() as slow:
            slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            # Segments the size a network carries, not loopback's 64 KiB: the server's send
            # buffer then grows as it would towards a remote client, not to take a whole chunk.
            slow.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1460)
            slow.connect(("127.0.0.1", target.port))
            slow.sendall(request.encode())
            got = bytearray()
            slow.settimeout(30)
            while True:
                # About 320 KB/s: a 1 MiB chunk takes 3 s to drain, three send timeouts.
                try:
                    piece = slow.recv(32 * 1024)
                except ConnectionResetError:
                    break
                if not piece:
                    break
                got += piece
                time.sleep(0.1)  # the client's pace, not a wait for the server
        assert status_of(bytes(got)) == 200
        assert len(got) > size and got.endswith(b"x" * 1024), f"cut off at {len(got)} bytes"

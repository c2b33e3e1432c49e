"""The socket transport's kept-alive connections: reused while sound, never a request twice.

A real HTTP/1.1 server in a thread counts the connections it accepts and can drop one, so each
case is decided by what reached the server, not by timing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dockyard.client.http import Client, SocketTransport, TransportFailure
from dockyard.errors import Unavailable


class _Server:
    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[tuple[str, str]] = []
        #: Requests to read and then drop, closing the connection without an answer.
        self.drop: set[int] = set()
        #: After answering, close the connection without saying so.
        self.close_quietly = False
        self.closed = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.chunked = False
        #: Promise a longer body than is sent, then wait for ``release``.
        self.short = False


@pytest.fixture
def served() -> Iterator[tuple[str, _Server]]:
    state = _Server()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            state.connections += 1

        def finish(self) -> None:
            super().finish()
            state.closed.set()

        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            state.requests.append((self.command, self.path))
            if len(state.requests) in state.drop:
                self.close_connection = True
                return
            if not state.short:
                state.release.wait(10)
            content = b'{"n": %d}' % len(state.requests)
            self.send_response(200)
            if state.chunked:
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for at in range(0, len(content), 3):
                    piece = content[at : at + 3]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("content-length", str(len(content) + 10 * state.short))
                self.end_headers()
                self.wfile.write(content)
                if state.short:
                    self.wfile.flush()
                    state.release.wait(10)
                    self.close_connection = True
            if state.close_quietly:
                self.close_connection = True

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *_: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    state.release.set()
    httpd.shutdown()
    httpd.server_close()


def test_requests_one_after_another_share_one_connection(served: tuple[str, _Server]) -> None:
    url, state = served
    with Client(url, transport=SocketTransport(), retry_for=0) as client:
        for _ in range(3):
            client.request("GET", "/a")
        client.request("POST", "/b", json={"x": 1})
        client.request("PUT", "/c", content=b"")
    assert len(state.requests) == 5
    assert state.connections == 1


def test_chunked_answers_are_read_whole_and_the_connection_kept(
    served: tuple[str, _Server],
) -> None:
    url, state = served
    state.chunked = True
    with Client(url, transport=SocketTransport(), retry_for=0) as client:
        assert client.request("POST", "/a", json=[1, 2]) == {"n": 1}
        assert client.send("GET", "/b").content == b'{"n": 2}'
    assert state.connections == 1


def test_a_connection_the_server_closed_while_idle_is_not_reused(
    served: tuple[str, _Server],
) -> None:
    url, state = served
    state.close_quietly = True  # an HTTP/1.1 answer, then the server closes, as on idle
    with Client(url, transport=SocketTransport(), retry_for=0) as client:
        client.request("GET", "/a")
        assert state.closed.wait(10)
        assert client.request("POST", "/b", json={}) == {"n": 2}
    assert state.requests == [("GET", "/a"), ("POST", "/b")]
    assert state.connections == 2


def test_a_kept_connection_closed_before_an_answer_is_replaced_once(
    served: tuple[str, _Server],
) -> None:
    url, state = served
    state.drop = {2}  # the race a kept connection can lose: closed as the request went out
    with Client(url, transport=SocketTransport(), retry_for=0) as client:
        client.request("GET", "/a")
        assert client.request("POST", "/b", json={}) == {"n": 3}
    assert state.requests == [("GET", "/a"), ("POST", "/b"), ("POST", "/b")]
    assert state.connections == 2


def test_a_new_connection_closed_before_an_answer_is_not_sent_again(
    served: tuple[str, _Server],
) -> None:
    url, state = served
    state.drop = {1}
    with (
        Client(url, transport=SocketTransport(), retry_for=0) as client,
        pytest.raises(Unavailable, match="closed the connection before answering"),
    ):
        client.request("POST", "/b", json={})
    assert state.requests == [("POST", "/b")]


def test_a_request_that_timed_out_is_not_sent_again(served: tuple[str, _Server]) -> None:
    url, state = served
    transport = SocketTransport()
    with Client(url, transport=transport, retry_for=0) as client:
        client.request("GET", "/warm")  # the next request goes out on a kept connection
        state.release.clear()
        with pytest.raises(Unavailable, match="timed out"):
            client.request("POST", "/slow", json={}, timeout=0.2)
        state.release.set()
        assert client.request("GET", "/after") == {"n": 3}
    assert state.requests == [("GET", "/warm"), ("POST", "/slow"), ("GET", "/after")]


def test_a_stream_read_to_its_end_gives_its_connection_back(served: tuple[str, _Server]) -> None:
    url, state = served
    with Client(url, transport=SocketTransport(), retry_for=0) as client:
        with client.stream("GET", "/file") as response:
            assert b"".join(response.iter_bytes(2)) == b'{"n": 1}'
        with client.stream("GET", "/file") as response:
            pass  # left unread: its connection cannot carry another request
        client.request("GET", "/a")
    assert state.connections == 2


def test_a_stream_broken_off_is_a_transport_failure(served: tuple[str, _Server]) -> None:
    url, state = served
    state.short, got = True, []
    state.release.clear()
    with (
        Client(url, transport=SocketTransport(), retry_for=0, timeout=0.2) as client,
        client.stream("GET", "/file") as response,
        pytest.raises(TransportFailure, match="timed out"),
    ):
        got.extend(response.iter_bytes(4))
    assert got == [b'{"n"', b": 1}"]
    state.release.set()


def test_a_forked_child_makes_its_own_connection(served: tuple[str, _Server]) -> None:
    url, state = served
    with Client(url, transport=SocketTransport(), retry_for=0) as client:
        client.request("GET", "/parent")
        pid = os.fork()
        if pid == 0:  # pragma: no cover (the child reports through its exit status)
            ok = False
            try:
                ok = client.request("GET", "/child") == {"n": 2}
            finally:
                os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert client.request("GET", "/parent-again") == {"n": 3}
    assert state.connections == 2

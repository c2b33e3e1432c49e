"""The socket transport's kept-alive connections: reused while sound, never a request twice.

A real HTTP/1.1 server in a thread counts the connections it accepts and can drop one, so each
case is decided by what reached the server, not by timing.
"""

from __future__ import annotations

import gc
import io
import os
import signal
import socket
import threading
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dockyard.client.http import Client, SocketTransport, TransportFailure
from dockyard.errors import InvalidArgument, PayloadTooLarge, Unavailable


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
        #: Answers a request its own way instead (it has read nothing of it yet).
        self.custom: Callable[[BaseHTTPRequestHandler], None] | None = None
        self.heads: list[dict[str, str]] = []


@pytest.fixture
def served() -> Iterator[tuple[str, _Server]]:
    state = _Server()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            state.connections += 1

        def _answer(self) -> None:
            state.heads.append(dict(self.headers.items()))
            if state.custom is not None:
                state.requests.append((self.command, self.path))
                state.custom(self)
                return
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

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def shutdown_request(self, request: object) -> None:
            super().shutdown_request(request)  # type: ignore[arg-type]
            state.closed.set()  # the socket is closed: its client can see it

    httpd = Server(("127.0.0.1", 0), Handler)
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
        assert client.request("GET", "/b") == {"n": 3}
    assert state.requests == [("GET", "/a"), ("GET", "/b"), ("GET", "/b")]
    assert state.connections == 2


def test_a_post_the_server_read_is_never_sent_again_on_a_new_connection(
    served: tuple[str, _Server],
) -> None:
    # A server that read the request and closed without answering may have acted on it (a
    # worker that died after its commit): creating a run twice is worse than an error the
    # caller sees, and the client's own retries already cover the POSTs that are safe to repeat.
    url, state = served
    state.drop = {2}
    with Client(url, transport=SocketTransport(), retry_for=0) as client:
        client.request("GET", "/a")
        with pytest.raises(Unavailable, match="closed the connection before answering"):
            client.request("POST", "/runs", json={})
        assert client.request("GET", "/c") == {"n": 3}
    assert state.requests == [("GET", "/a"), ("POST", "/runs"), ("GET", "/c")]


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


def test_interim_answers_before_the_answer_are_skipped(served: tuple[str, _Server]) -> None:
    url, state = served

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.rfile.read(int(handler.headers.get("content-length") or 0))
        handler.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n")
        handler.wfile.write(b"link: </a>; rel=preload\r\n\r\n")
        handler.wfile.write(b'HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n{"n": 1}')

    state.custom = answer
    with Client(url, transport=SocketTransport(), retry_for=0, timeout=5) as client:
        assert client.request("POST", "/a", json={}) == {"n": 1}
        assert client.request("GET", "/b") == {"n": 1}
    assert state.connections == 1


def test_a_chunked_answer_cut_off_between_chunks_is_a_failure_not_a_short_body(
    served: tuple[str, _Server],
) -> None:
    url, state = served

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        handler.wfile.write(b"3\r\nabc\r\n")
        handler.close_connection = True

    state.custom = answer
    with Client(url, transport=SocketTransport(), retry_for=0) as client:
        with pytest.raises(Unavailable, match="ended"):
            client.send("GET", "/a")
        with (
            pytest.raises(Unavailable, match="ended"),
            client.stream("GET", "/file") as response,
        ):
            b"".join(response.iter_bytes())


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: ten\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: -5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: \xb2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_a_malformed_answer_is_a_transport_failure_and_its_connection_closed(
    served: tuple[str, _Server], head: bytes
) -> None:
    url, state = served

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(head)
        handler.close_connection = True

    state.custom = answer
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with (
            Client(url, transport=SocketTransport(), retry_for=0) as client,
            pytest.raises(Unavailable, match=r"not an HTTP answer|malformed"),
        ):
            client.send("GET", "/a")
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


@pytest.mark.parametrize(
    "headers",
    [{"x-name": "run\r\nx-admin: 1"}, {"x-name": "a\nb"}, {"x-bad\r\nname": "v"}],
)
def test_a_header_with_a_line_break_is_refused_before_anything_is_sent(
    served: tuple[str, _Server], headers: dict[str, str]
) -> None:
    url, state = served
    with (
        Client(url, transport=SocketTransport(), retry_for=0) as client,
        pytest.raises(InvalidArgument, match="header"),
    ):
        client.request("GET", "/a", headers=headers)
    assert state.requests == []


def test_a_token_ending_in_a_newline_is_refused_without_showing_it(
    served: tuple[str, _Server],
) -> None:
    url, state = served
    with (
        Client(url, transport=SocketTransport(), retry_for=0, token="s3cret\n") as client,
        pytest.raises(InvalidArgument) as raised,
    ):
        client.request("GET", "/a")
    assert "s3cret" not in str(raised.value)
    assert state.requests == []


def test_the_request_target_is_percent_encoded(served: tuple[str, _Server]) -> None:
    url, state = served
    with Client(url, transport=SocketTransport(), retry_for=0) as client:
        client.request("GET", "/files/my file \u00e9\u65e5.txt\r\nx-admin: 1", params={"q": "a b"})
        client.request("GET", "/files/a%20b")
    assert state.requests == [  # line breaks never reach the wire (urlsplit drops them)
        ("GET", "/files/my%20file%20%C3%A9%E6%97%A5.txtx-admin:%201?q=a+b"),
        ("GET", "/files/a%20b"),
    ]
    assert "x-admin" not in state.heads[0]


def test_the_host_header_names_the_host_and_port_without_credentials(
    served: tuple[str, _Server],
) -> None:
    url, state = served
    port = url.rsplit(":", 1)[1]
    with Client(
        url.replace("//", "//user:pw@"), transport=SocketTransport(), retry_for=0
    ) as client:
        client.request("GET", "/a")
    assert state.heads[0]["Host"] == f"127.0.0.1:{port}"


def test_an_early_answer_to_an_upload_the_server_will_not_read_is_what_the_caller_sees(
    served: tuple[str, _Server],
) -> None:
    url, state = served

    def answer(handler: BaseHTTPRequestHandler) -> None:
        content = b'{"error": {"code": "payload_too_large", "message": "too big"}}'
        handler.send_response(413)
        handler.send_header("content-length", str(len(content)))
        handler.send_header("connection", "close")
        handler.end_headers()
        handler.wfile.write(content)
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_WR)
        handler.close_connection = True

    state.custom = answer
    with (
        Client(url, transport=SocketTransport(), retry_for=0) as client,
        pytest.raises(PayloadTooLarge, match="too big"),
    ):
        client.request("PUT", "/big", content=b"x" * (64 << 20))
    assert state.requests == [("PUT", "/big")]


def test_a_child_forked_while_another_thread_held_the_pool_sends_and_leaks_nothing(
    served: tuple[str, _Server],
) -> None:
    url, _ = served
    transport = SocketTransport()
    with Client(url, transport=transport, retry_for=0) as client:
        client.request("GET", "/parent")
        # Another thread (the SDK's metric sender) taking or giving back a connection at the
        # fork: the child inherits the pool's lock held by a thread it does not have.
        with transport._lock:
            pid = os.fork()
            if pid == 0:  # pragma: no cover (the child reports through its exit status)
                ok = False
                try:
                    signal.alarm(10)  # a child stuck on the lock dies of SIGALRM
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", ResourceWarning)
                        ok = client.request("GET", "/child") == {"n": 2}
                        gc.collect()
                    ok = ok and not [w for w in caught if w.category is ResourceWarning]
                finally:
                    os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert client.request("GET", "/parent-again") == {"n": 3}


def test_connections_numbered_past_1024_are_kept_too(served: tuple[str, _Server]) -> None:
    # A training script holding many files: select() refuses descriptors past FD_SETSIZE.
    url, state = served
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with Client(url, transport=SocketTransport(), retry_for=0) as client:
            for _ in range(3):
                client.request("GET", "/a")
    finally:
        for fd in held:
            os.close(fd)
    assert state.connections == 1


def test_a_body_that_fails_while_it_is_sent_leaves_no_socket_open(
    served: tuple[str, _Server],
) -> None:
    url, _ = served

    class Failing(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() >= 1 << 20:
                raise ValueError("the file was closed under us")
            return super().read(size)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with (
            Client(url, transport=SocketTransport(), retry_for=0) as client,
            pytest.raises(ValueError, match="closed under us"),
        ):
            client.request("PUT", "/upload", content=Failing(b"x" * (4 << 20)))
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_a_connection_given_back_after_the_client_closed_is_closed_too(
    served: tuple[str, _Server],
) -> None:
    # The SDK's sender thread may finish a request as the main thread closes the client.
    url, _ = served
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        client = Client(url, transport=SocketTransport(), retry_for=0)
        with client.stream("GET", "/file") as response:
            client.close()
            assert response.read() == b'{"n": 1}'
        del client, response
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_a_forked_child_does_not_hold_its_parents_connections_open(
    served: tuple[str, _Server],
) -> None:
    # A transform's runner forks its batch workers: a worker that never sends a request must
    # not keep the runner's connections open after the runner closed them.
    url, state = served
    client = Client(url, transport=SocketTransport(), retry_for=0)
    client.request("GET", "/parent")
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child only waits)
        os.close(done_w)
        os.read(done_r, 1)
        os._exit(0)
    os.close(done_r)
    try:
        client.close()
        assert state.closed.wait(10)  # the server saw the connection end
    finally:
        os.close(done_w)
        os.waitpid(pid, 0)


def test_a_transport_dropped_unclosed_closes_what_it_kept_without_a_warning(
    served: tuple[str, _Server],
) -> None:
    url, state = served
    client = Client(url, transport=SocketTransport(), retry_for=0)
    client.request("GET", "/a")  # leaves one kept connection
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always", ResourceWarning)
        del client
        gc.collect()
    assert [str(w.message) for w in said if w.category is ResourceWarning] == []
    assert state.closed.wait(10)  # the server saw it closed


def test_a_download_broken_off_or_unreachable_is_unavailable_as_any_request(
    served: tuple[str, _Server],
) -> None:
    # The SDK's downloads (artifacts, transform outputs) raised the transport's own error, not
    # one of dockyard.errors as every other request does.
    url, state = served
    state.short = True
    state.release.clear()
    with (
        Client(url, transport=SocketTransport(), retry_for=0, timeout=0.2) as client,
        pytest.raises(Unavailable, match=f"cannot reach {url}: timed out"),
        client.stream("GET", "/file") as response,
    ):
        b"".join(response.iter_bytes(4))
    state.release.set()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        away = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with (
        Client(away, transport=SocketTransport(), retry_for=0) as client,
        pytest.raises(Unavailable, match=f"cannot reach {away}"),
        client.stream("GET", "/file"),
    ):
        pass


def test_a_connection_to_itself_is_refused_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # With nothing listening on a port of the ephemeral range, TCP may connect a socket to
    # itself: it echoed each request as its answer and held the port a restarting server
    # needed. Made here for certain: a socket bound to the port it connects to.
    made: list[socket.socket] = []

    def to_itself(address: tuple[str, int], timeout: float) -> socket.socket:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.connect(("127.0.0.1", sock.getsockname()[1]))
        made.append(sock)
        return sock

    monkeypatch.setattr(socket, "create_connection", to_itself)
    with (
        Client("http://127.0.0.1:9", transport=SocketTransport(), retry_for=0) as client,
        pytest.raises(Unavailable, match=r"nothing listens on 127\.0\.0\.1:9"),
    ):
        client.request("GET", "/api/v1/x")
    assert made and all(sock.fileno() == -1 for sock in made)  # closed, the port let go

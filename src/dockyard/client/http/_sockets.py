"""A transport over the standard library's sockets: the SDK, the CLI and the job runner.

Start-up and each request are costs users feel: a script's first call, a CLI command, the time
from a job's submit to its first line of user code, a loop of ``log_param`` calls. httpx,
``urllib.request`` and ``http.client`` pull in the ``email`` package and ``ssl`` (30-90 ms on a
busy machine), and httpx spends ~0.3 ms of CPU on each request; this speaks the little HTTP/1.1
needed over a socket (``Content-Length`` or chunked answers, streamed or whole) and imports
``ssl`` only for ``https``.

Connections are kept alive and reused, one request at a time each, from any thread: a
connection idle for longer than :data:`IDLE_S` (the server closes idle connections after 5 s),
or one the server has closed or written to unasked, is never reused; a forked child closes
its copies of its parent's connections at the fork (the parent's stay open) and makes its own.
A reused connection found closed is replaced once and the request sent again when the server
cannot have acted on it: the request could not be written, or it asks for nothing to change
(GET, HEAD, PUT, DELETE, OPTIONS). A POST the server may have read and acted on before it
closed is never sent twice: the error reaches :class:`~dockyard.client.http.Client`, which
repeats only the POSTs the server de-duplicates.

An answer the server sends before it has read the whole request (``413``, ``401`` to an upload,
then a close) is the answer the caller gets, not the broken pipe that cut the upload short.
Header names and values holding a line break are refused, and the request target is
percent-encoded, so no value can end a header or the request early.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import quote, urlsplit

from dockyard.client.http._transport import (
    Body,
    Response,
    Transport,
    TransportFailure,
    lasting_tls_failure,
    unknown_host,
)
from dockyard.errors import InvalidArgument
from dockyard.limits import LIMITS

if TYPE_CHECKING:
    import ssl

__all__ = ["SocketTransport", "proxy_configured", "tls_context"]

#: A kept connection idle longer than this is closed, not reused.
IDLE_S = 2.0
#: Kept connections per server, beyond those in use.
KEEP = 4
_LINE = 65537
#: Sent again on a new connection after a reused one closed unanswered: nothing changes twice.
_REPLAYABLE = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
#: Left as they are in a request target: RFC 3986's reserved and unreserved characters, and
#: ``%`` (a target already percent-encoded stays so); everything else is encoded as UTF-8.
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"


class _Connection:
    __slots__ = ("key", "reader", "reused", "sock", "used")

    def __init__(self, key: tuple[str, str, int], sock: socket.socket) -> None:
        self.key = key
        self.sock = sock
        self.reader: BinaryIO = sock.makefile("rb")
        self.used = time.monotonic()
        self.reused = False

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def fresh(self, now: float) -> bool:
        """Still worth reusing: not idle too long, and with nothing to read (a close, or bytes
        nobody asked for)."""
        if now - self.used > IDLE_S:
            return False
        try:
            if hasattr(select, "poll"):  # select() refuses descriptors past FD_SETSIZE (1024)
                poller = select.poll()
                poller.register(self.sock, select.POLLIN)
                return not poller.poll(0)
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable


class _Closed(ConnectionError):
    """The connection ended before any byte of an answer."""


class _Unsent(ConnectionError):
    """The request could not be written whole, and no answer came: the server cannot have
    acted on it."""


def _malformed(what: str) -> ConnectionError:
    return ConnectionError(f"malformed answer: {what}")


class _Answer:
    """An answer whose body is read as it is asked for: whole, or streamed in chunks.

    It has the parts of ``httpx.Response`` that streaming callers use: ``status_code``,
    ``headers``, ``iter_bytes``, ``read`` and ``content``.
    """

    def __init__(self, connection: _Connection, method: str) -> None:
        reader = connection.reader
        while True:  # interim answers (100 Continue, 103 Early Hints) come before the answer
            status_line = reader.readline(_LINE)
            if not status_line:
                raise _Closed("the server closed the connection before answering")
            fields = status_line.split(None, 2)
            if (
                len(fields) < 2
                or not fields[0].startswith(b"HTTP/")
                or len(fields[1]) != 3
                or not fields[1].isdigit()
            ):
                raise ConnectionError(f"not an HTTP answer: {status_line[:100]!r}")
            self.status_code = int(fields[1])
            headers: dict[str, str] = {}
            while True:
                line = reader.readline(_LINE)
                if line in (b"\r\n", b"\n"):
                    break
                if not line:
                    raise _malformed("the connection ended inside the answer's head")
                name, _, value = line.partition(b":")
                headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
            if not 100 <= self.status_code < 200 or self.status_code == 101:
                break
        self.headers = headers
        self._connection = connection
        encoding = headers.get("transfer-encoding", "").lower()
        self._chunked = encoding == "chunked"
        length = headers.get("content-length")
        if encoding or length is None:
            self._left = -1  # chunked, or else (another coding, no length) runs to the close
        elif length.isascii() and length.isdigit():
            self._left = int(length)
        else:
            raise _malformed(f"Content-Length {length[:40]!r}")
        if method == "HEAD" or self.status_code in (204, 304):
            self._left, self._chunked = 0, False
        self.keep = (
            fields[0] == b"HTTP/1.1"
            and headers.get("connection", "").lower() != "close"
            and (self._chunked or self._left >= 0)
        )
        self.complete = False
        self._content: bytes | None = None

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        try:
            yield from self._body(chunk_size or 1 << 16)
        except OSError as exc:
            raise TransportFailure(str(exc) or type(exc).__name__) from exc
        self.complete = True

    def _body(self, size: int) -> Iterator[bytes]:
        reader = self._connection.reader
        if self._chunked:
            while True:
                line = reader.readline(1024)
                if not line:
                    raise ConnectionError("the answer ended between its chunks")
                digits = line.split(b";", 1)[0].strip()
                try:
                    length = int(digits, 16)
                except ValueError:
                    raise _malformed(f"chunk size {digits[:40]!r}") from None
                if length < 0:
                    raise _malformed(f"chunk size {digits[:40]!r}")
                if length == 0:
                    while (line := reader.readline(_LINE)) not in (b"\r\n", b"\n"):
                        if not line:  # trailers, then an empty line
                            raise ConnectionError("the answer ended inside its trailers")
                    break
                while length:
                    chunk = reader.read(min(size, length))
                    if not chunk:
                        raise ConnectionError("the answer ended inside a chunk")
                    length -= len(chunk)
                    yield chunk
                if reader.readline(1024) not in (b"\r\n", b"\n"):
                    raise _malformed("a chunk runs past its size")
        elif self._left >= 0:
            while self._left:
                chunk = reader.read(min(size, self._left))
                if not chunk:
                    raise ConnectionError("the answer ended before its Content-Length")
                self._left -= len(chunk)
                yield chunk
        else:  # no length given: the body runs to the connection's close
            while chunk := reader.read(size):
                yield chunk

    def read(self) -> bytes:
        if self._content is None:
            self._content = b"".join(self.iter_bytes())
        return self._content

    @property
    def content(self) -> bytes:
        return self.read()


class SocketTransport(Transport):
    """Kept-alive connections over plain sockets, reused one request at a time each."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False  # once closed, connections given back are closed, not kept
        self._tls: ssl.SSLContext | None = None  # made at the first https connection
        _TRANSPORTS.add(self)
        # A transport dropped without close() (a client nobody closed) closes what it kept,
        # rather than leaving its sockets to the collector, which warns of each.
        weakref.finalize(self, _close_kept, self._idle)

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: Body,
        timeout: float,
    ) -> Response:
        with self._exchange(method, url, headers, body, timeout) as answer:
            content = answer.read()
        return Response(answer.status_code, answer.headers, content)

    @contextmanager
    def stream(
        self, method: str, url: str, *, headers: Mapping[str, str], timeout: float
    ) -> Iterator[_Answer]:
        """An answer whose body the caller reads as it comes (``iter_bytes``)."""
        with self._exchange(method, url, headers, None, timeout) as answer:
            yield answer

    @contextmanager
    def _exchange(
        self, method: str, url: str, headers: Mapping[str, str], body: Body, timeout: float
    ) -> Iterator[_Answer]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransportFailure(f"cannot send to {url!r}: not an http(s) URL")
        secure = parts.scheme == "https"
        key = (parts.scheme, parts.hostname, parts.port or (443 if secure else 80))
        target = quote(
            (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), _TARGET_SAFE
        )
        host = parts.netloc.rpartition("@")[2]  # never the URL's credentials
        head = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
        head += [_header(k, v) for k, v in headers.items()]
        if body is not None or method in ("POST", "PUT"):
            head.append(f"Content-Length: {_size(body)}")
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        start = body.tell() if body is not None and hasattr(body, "tell") else 0
        try:
            connection = self._take(key, timeout)
            try:
                answer = self._ask(connection, method, request, body)
            except (_Closed, _Unsent, ConnectionResetError, BrokenPipeError) as exc:
                # Closed by the server while it sat idle, as the request went out: sent again
                # only if the server cannot have acted on it, or acting twice changes nothing.
                if not connection.reused or not (isinstance(exc, _Unsent) or method in _REPLAYABLE):
                    raise
                if body is not None and hasattr(body, "seek"):
                    body.seek(start)
                connection = self._connect(key, timeout)
                answer = self._ask(connection, method, request, body)
        except OSError as exc:  # refused, reset, timed out: the server restarts or is away
            lasting = (lasting_tls_failure(url, exc) if secure else None) or unknown_host(url, exc)
            if lasting is not None:
                raise lasting from exc
            raise TransportFailure(str(exc) or type(exc).__name__) from exc
        kept = False
        try:
            yield answer
            kept = answer.complete and answer.keep
        finally:
            if kept:
                self._give_back(connection)
            else:
                connection.close()

    def _ask(self, connection: _Connection, method: str, request: bytes, body: Body) -> _Answer:
        """Send the request on ``connection`` and read its answer's head; closes the
        connection if either fails, for whatever reason (a body's file failing, Ctrl-C)."""
        try:
            return self._ask_on(connection, method, request, body)
        except BaseException:
            connection.close()
            raise

    def _ask_on(self, connection: _Connection, method: str, request: bytes, body: Body) -> _Answer:
        try:
            _write(connection.sock, request, body)
        except (BrokenPipeError, ConnectionResetError) as exc:
            # The server stopped reading: it may have answered first (413, 401), then closed.
            try:
                answer = _Answer(connection, method)
            except OSError:
                raise _Unsent(str(exc) or type(exc).__name__) from exc
            answer.keep = False  # the rest of the request was never sent
            return answer
        return _Answer(connection, method)

    def _take(self, key: tuple[str, str, int], timeout: float) -> _Connection:
        if self._pid != os.getpid():
            self._forked()
        now = time.monotonic()
        stale: list[_Connection] = []
        found: _Connection | None = None
        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                candidate = idle.pop()
                if candidate.fresh(now):
                    found = candidate
                    break
                stale.append(candidate)
        for connection in stale:
            connection.close()
        if found is None:
            return self._connect(key, timeout)
        found.sock.settimeout(timeout)
        found.reused = True
        return found

    def _forked(self) -> None:
        """In a forked child: a new lock (another thread of the parent may have held the old
        one at the fork, and the child has no such thread to release it), and the parent's
        connections closed, their descriptors only: the parent's sockets stay open."""
        inherited = [c for idle in self._idle.values() for c in idle]
        self._lock = threading.Lock()
        self._idle.clear()  # the same dict: the finalizer closes what it holds
        self._pid = os.getpid()
        for connection in inherited:
            connection.close()

    def _connect(self, key: tuple[str, str, int], timeout: float) -> _Connection:
        scheme, host, port = key
        sock = socket.create_connection((host, port), timeout=timeout)
        if sock.getsockname() == sock.getpeername():
            # Connecting to a port of this machine's ephemeral range that nothing listens on
            # can pick that same port to connect from, and TCP then connects the socket to
            # itself: it would echo each request as its answer, and hold the port that a
            # restarting server (a test's, a job's local listener) must bind.
            sock.close()
            raise ConnectionRefusedError(f"nothing listens on {host}:{port}")
        # Small requests one after another: do not wait for the ACK of the headers.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "https":
            if self._tls is None:
                self._tls = tls_context()
            try:
                sock = self._tls.wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise
        return _Connection(key, sock)

    def _give_back(self, connection: _Connection) -> None:
        connection.used = time.monotonic()
        with self._lock:
            if self._pid == os.getpid() and not self._closed:
                idle = self._idle.setdefault(connection.key, [])
                if len(idle) < KEEP:
                    idle.append(connection)
                    return
        connection.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            kept = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for connection in kept:
            connection.close()


#: Every transport of this process, for the child of a fork to let go of its parent's sockets.
_TRANSPORTS: weakref.WeakSet[SocketTransport] = weakref.WeakSet()


def _close_kept(idle: dict[tuple[str, str, int], list[_Connection]]) -> None:
    for kept in list(idle.values()):
        for connection in kept:
            connection.close()
    idle.clear()


def _after_fork_in_child() -> None:
    # At once, not on the child's first request: a child that never sends one (a batch worker)
    # would otherwise hold the parent's connections open after the parent closed them.
    for transport in list(_TRANSPORTS):
        transport._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _write(sock: socket.socket, request: bytes, body: Body) -> None:
    if isinstance(body, bytes) and len(body) <= LIMITS.transfer_chunk:
        sock.sendall(request + body)  # one write: no wait for the headers' ACK
        return
    sock.sendall(request)
    if isinstance(body, Path):
        with body.open("rb") as source:
            while chunk := source.read(LIMITS.transfer_chunk):
                sock.sendall(chunk)
    elif isinstance(body, bytes):
        sock.sendall(body)
    elif body is not None:
        while chunk := body.read(LIMITS.transfer_chunk):
            sock.sendall(chunk)


def _header(name: str, value: str) -> str:
    """One header line; refused if a line break (or a NUL) in it would end it early or start
    another, and the value is never shown (it may be a token)."""
    if not name or any(c in name for c in "\r\n\0: \t") or any(c in value for c in "\r\n\0"):
        raise InvalidArgument(
            f"the request header {name[:100]!r} holds a line break or another character a "
            "header cannot carry (a token read from a file with its newline?)",
            field="headers",
        )
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise InvalidArgument(
            f"the request header {name[:100]!r} holds characters beyond Latin-1",
            field="headers",
        ) from None
    return f"{name}: {value}"


def tls_context() -> ssl.SSLContext:
    """What an ``https`` connection trusts: the system's authorities (with ``SSL_CERT_FILE``
    and ``SSL_CERT_DIR`` when set, as OpenSSL reads them) and certifi's bundle, which httpx
    trusts and which Pythons without a system store (python.org's builds for macOS) need to
    verify any public certificate. Made once per transport: loading a store costs ~10 ms."""
    import ssl

    context = ssl.create_default_context()
    try:
        import certifi
    except ImportError:  # httpx's dependency: present wherever Dockyard is installed
        return context
    context.load_verify_locations(cafile=certifi.where())
    return context


def proxy_configured() -> bool:
    """Whether the environment names a proxy (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``):
    httpx goes through it (and honours ``NO_PROXY``); this transport does not."""
    return any(
        os.environ.get(name) or os.environ.get(name.upper())
        for name in ("http_proxy", "https_proxy", "all_proxy")
    )


def _size(body: Body) -> int:
    if body is None:
        return 0
    if isinstance(body, bytes):
        return len(body)
    if isinstance(body, Path):
        return body.stat().st_size
    here = body.tell()
    end = body.seek(0, 2)
    body.seek(here)
    return end - here

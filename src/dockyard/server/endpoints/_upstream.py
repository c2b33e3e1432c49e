"""A small pooled HTTP/1.1 client for passing requests on to endpoint workers.

Why not httpx: on this path the client is most of the proxy's cost. Measured on the 2-core
machine the benchmarks run on, one httpx ``AsyncClient.post`` to a worker took ~2.7 ms where
the worker answers in ~1.1 ms (wrk); this client writes a request in one ``write`` and parses
the answer with httptools (the parser uvicorn uses), for ~0.3 ms of its own.

Connections are kept per (host, port) and reused while younger than the workers' keep-alive
timeout (5 s by default) allows; a reused connection that turns out closed before any byte of
the answer arrived is replaced once, and the request sent again (the worker never read it).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import defaultdict
from dataclasses import dataclass, field

import httptools

__all__ = ["Upstream", "UpstreamError"]

#: A pooled connection idle longer than this is closed instead of reused (the workers close
#: idle connections after ``keep_alive_s``, 5 s by default).
IDLE_S = 3.0
_READ = 1 << 16


class UpstreamError(Exception):
    """The worker could not be reached, or did not answer a whole HTTP response."""


@dataclass(slots=True)
class _Answer:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)
    done: bool = False
    keep_alive: bool = True
    started: bool = False
    #: The answer to a HEAD: its headers are all of it (a Content-Length says what a GET's
    #: body would hold).
    head: bool = False

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.started = True

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        if self.head:
            self.done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.done = True


@dataclass(slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    used: float


class Upstream:
    """Sends requests to workers over kept-alive connections (one instance per event loop)."""

    def __init__(self, max_idle: int = 64) -> None:
        self._idle: dict[tuple[str, int], list[_Connection]] = defaultdict(list)
        self._max_idle = max_idle

    async def post(
        self,
        host: str,
        port: int,
        path: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        timeout_s: float,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send one POST; returns the answer's status, headers (names lowercased) and body.

        Raises:
            UpstreamError: As :meth:`request` does.
        """
        return await self.request(host, port, "POST", path, headers, body, timeout_s)

    async def request(
        self,
        host: str,
        port: int,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        timeout_s: float,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send one request (``target``: the path and query); returns the answer's status,
        headers (names lowercased) and body.

        Raises:
            UpstreamError: No connection, a connection lost mid-answer, or no answer within
                ``timeout_s``.
        """
        head = [method.encode(), b" ", target.encode("latin-1"), b" HTTP/1.1\r\nhost: "]
        head.append(f"{host}:{port}".encode())
        head.append(b"\r\ncontent-length: %d\r\n" % len(body))
        for name, value in headers:
            head += [name, b": ", value, b"\r\n"]
        request = b"".join([*head, b"\r\n", body])
        try:
            async with asyncio.timeout(timeout_s):
                for attempt in (0, 1):
                    connection, reused = await self._connect(host, port, fresh=attempt > 0)
                    answer = _Answer(head=method == "HEAD")
                    try:
                        await self._exchange(connection, request, answer)
                    except (OSError, UpstreamError, httptools.HttpParserError) as exc:
                        connection.writer.close()
                        if reused and not answer.started and attempt == 0:
                            continue  # the worker had closed it: the request never arrived
                        raise UpstreamError(f"{type(exc).__name__}: {exc}") from None
                    except BaseException:  # timed out or cancelled: the answer may still come
                        connection.writer.close()
                        raise
                    self._release(host, port, connection, answer.keep_alive)
                    return answer.status, answer.headers, b"".join(answer.body)
        except TimeoutError:
            raise UpstreamError(f"no answer within {timeout_s:g} s") from None
        raise UpstreamError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _connect(self, host: str, port: int, *, fresh: bool) -> tuple[_Connection, bool]:
        pool = self._idle[(host, port)]
        now = time.monotonic()
        while pool and not fresh:
            connection = pool.pop()
            if now - connection.used < IDLE_S and not connection.reader.at_eof():
                return connection, True
            connection.writer.close()
        try:
            reader, writer = await asyncio.open_connection(host, port, limit=_READ)
        except OSError as exc:
            raise UpstreamError(f"cannot connect to {host}:{port}: {exc.strerror}") from None
        sock = writer.get_extra_info("socket")
        if sock is not None:  # one write per request: no reason to wait for more bytes
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Connection(reader, writer, now), False

    @staticmethod
    async def _exchange(connection: _Connection, request: bytes, answer: _Answer) -> None:
        connection.writer.write(request)
        parser = httptools.HttpResponseParser(answer)
        while not answer.done:
            data = await connection.reader.read(_READ)
            if not data:
                raise UpstreamError("the connection closed before the answer was complete")
            parser.feed_data(data)
        answer.status = parser.get_status_code()
        # HTTP/1.1 keeps the connection unless the worker says otherwise (httptools' own
        # should_keep_alive() reads False once the message is complete).
        answer.keep_alive = parser.get_http_version() == "1.1" and not any(
            name == b"connection" and b"close" in value.lower() for name, value in answer.headers
        )

    def _release(self, host: str, port: int, connection: _Connection, keep: bool) -> None:
        pool = self._idle[(host, port)]
        if keep and len(pool) < self._max_idle:
            connection.used = time.monotonic()
            pool.append(connection)
        else:
            connection.writer.close()

    def close(self) -> None:
        """Close every kept connection (a connection of a loop already closed is dropped)."""
        for pool in self._idle.values():
            for connection in pool:
                try:
                    connection.writer.close()
                except RuntimeError:  # its event loop is closed: the socket went with it
                    transport = connection.writer.transport
                    sock = transport.get_extra_info("socket")
                    if sock is not None:
                        sock.close()
            pool.clear()

"""A small asyncio HTTP/1.1 client for webhooks: POST, keep-alive pools per host, SSRF-checked.

Why not httpx: a webhook is one POST whose answer matters only for its status line, and the
deliverer sends thousands a second from one process. httpx's per-request machinery (request and
response objects, header models, a thread per blocking send) cost ~2-5 ms of CPU per send under
load and capped a server near 200-400 sends/s; writing the request on a pooled asyncio stream
and reading the status line, headers and body costs tens of microseconds.

What it does and does not do:
- ``http`` and ``https`` (certificates verified against the system store), HTTP/1.1 only.
- One pool per ``(scheme, host, port)``, at most ``per_host`` connections, kept alive between
  sends (30 s idle at most); a receiver that closes a kept connection gets the request again
  on a fresh one when nothing of the answer had arrived (the usual stale keep-alive race).
- The answer's body is read to keep the connection usable (``Content-Length``, chunked, or to
  the close), at most 1 MiB; only its first bytes are kept, for the delivery log.
- Redirects are not followed: a 3xx is an answer like any other non-2xx.
- The SSRF guard runs when a connection opens, on the addresses the name resolved to, and the
  connection goes to the address that was checked: no window for the name to change in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlsplit

from dockyard.server.notifications._targets import internal_address

__all__ = ["Answer", "HttpPools", "Refused"]

_MAX_HEAD = 64 * 1024
_MAX_BODY = 1024 * 1024
_KEEP = 200
_IDLE_S = 30.0
_MAX_ROUTES = 10_000
# What a request target keeps as written: RFC 3986's reserved and unreserved characters, and
# '%' (escapes already made).
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~-._"


class Refused(Exception):
    """The URL may not be sent to (SSRF guard) or cannot be; the message says why."""


@dataclass(frozen=True)
class Answer:
    status: int
    text: str  # the first bytes of the body, for the delivery log
    elapsed_ms: float = 0.0  # the exchange alone, not the wait for a connection


class _Broken(Exception):
    """A kept connection failed before any byte of the answer: safe to send again."""


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def usable(self) -> bool:
        return not self.writer.is_closing() and not self.reader.at_eof()

    def close(self) -> None:
        self.writer.close()


@dataclass
class _Job:
    request: bytes
    timeout: float
    future: asyncio.Future[Answer]


@dataclass
class _Pool:
    scheme: str
    host: str
    port: int
    jobs: asyncio.Queue[_Job] = field(default_factory=asyncio.Queue)
    workers: set[asyncio.Task[None]] = field(default_factory=set)
    waiting: int = 0  # workers with nothing to do


class HttpPools:
    """Keep-alive connection pools, one per host; use from one event loop.

    Each pool is a queue of requests and up to ``per_host`` workers, each owning one
    connection: a send costs a queue entry and a future, not a task, and its timeout covers the
    exchange alone, not the wait for a free connection. A worker with nothing to do for 30 s
    closes its connection and ends.

    Args:
        per_host: Connections open at once to one ``(scheme, host, port)``.
        allow_private: Let connections reach loopback, private and link-local addresses.
    """

    def __init__(self, *, per_host: int, allow_private: bool) -> None:
        self._per_host = per_host
        self._allow_private = allow_private
        self._pools: dict[tuple[str, str, int], _Pool] = {}
        self._routes: dict[str, tuple[_Pool, bytes]] = {}
        self._tls: ssl.SSLContext | None = None

    def post(
        self, url: str, body: bytes, headers: dict[str, str], timeout: float
    ) -> asyncio.Future[Answer]:
        """POST ``body`` to ``url``: a future of the answer, or of the exception (Refused,
        OSError, TimeoutError after ``timeout`` seconds of exchange)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        route = self._routes.get(url)
        if route is None:
            try:
                route = self._route(url)
            except Refused as exc:
                future.set_exception(exc)
                return future
        pool, start = route
        lines = [f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
        request = start + ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        pool.jobs.put_nowait(_Job(request, timeout, future))
        if pool.waiting < pool.jobs.qsize() and len(pool.workers) < self._per_host:
            worker = loop.create_task(self._work(pool))
            pool.workers.add(worker)
            worker.add_done_callback(pool.workers.discard)
        return future

    def _route(self, url: str) -> tuple[_Pool, bytes]:
        """The pool for ``url`` and its request line and Host header, parsed once per URL."""
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname or ""
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:  # a port out of range
            port, host = 0, ""
        if scheme not in ("http", "https") or not host:
            raise Refused(f"{url!r} is not an http(s) URL")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # As a browser sends it: spaces and letters outside ASCII percent-encoded (UTF-8), what
        # is encoded already kept. Written as is, a space split the request line.
        target = quote(target, safe=_URL_SAFE)
        authority = parts.netloc.rpartition("@")[2]  # as the URL spells it, less any user
        if not authority.isascii():  # an international name: its IDNA form, as DNS has it
            try:
                authority = host.encode("idna").decode("ascii")
            except UnicodeError as exc:
                raise Refused(f"{url!r}: {host!r} is not a host name") from exc
            authority += f":{parts.port}" if parts.port else ""
        start = f"POST {target} HTTP/1.1\r\nHost: {authority}\r\n".encode("latin-1")
        pool = self._pools.get((scheme, host, port))
        if pool is None:
            pool = self._pools[(scheme, host, port)] = _Pool(scheme, host, port)
        if len(self._routes) >= _MAX_ROUTES:
            self._routes.clear()  # subscriptions come and go: bound what is remembered
        self._routes[url] = (pool, start)
        return pool, start

    async def _work(self, pool: _Pool) -> None:
        conn: _Connection | None = None
        try:
            while True:
                if pool.jobs.empty():
                    pool.waiting += 1
                    try:
                        async with asyncio.timeout(_IDLE_S):
                            job = await pool.jobs.get()
                    except TimeoutError:
                        return
                    finally:
                        pool.waiting -= 1
                else:
                    job = pool.jobs.get_nowait()
                if job.future.done():
                    continue  # given up on while queued
                started = time.perf_counter()
                try:
                    async with asyncio.timeout(job.timeout):
                        answer, conn = await self._exchange(pool, conn, job.request)
                except Exception as exc:
                    conn = None  # closed by the exchange that failed
                    if not job.future.done():
                        job.future.set_exception(exc)
                    continue
                if not job.future.done():
                    elapsed = (time.perf_counter() - started) * 1000
                    job.future.set_result(replace(answer, elapsed_ms=elapsed))
        finally:
            if conn is not None:
                conn.close()
                with contextlib.suppress(Exception):
                    await conn.writer.wait_closed()

    async def _exchange(
        self, pool: _Pool, conn: _Connection | None, request: bytes
    ) -> tuple[Answer, _Connection | None]:
        """The answer, and the connection if it may be used again."""
        if conn is not None:
            if conn.usable():
                try:
                    return await self._once(conn, request)
                except _Broken:
                    pass  # closed by the receiver while idle: the usual keep-alive race
            conn.close()
        conn = await self._open(pool)
        try:
            return await self._once(conn, request)
        except _Broken as exc:
            raise ConnectionError(f"{pool.host} closed the connection without answering") from exc

    async def _once(self, conn: _Connection, request: bytes) -> tuple[Answer, _Connection | None]:
        reusable = False
        try:
            try:
                conn.writer.write(request)
                await conn.writer.drain()
                head = await conn.reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                if not exc.partial:
                    raise _Broken from exc
                raise ConnectionError("the answer ended inside its headers") from exc
            except (ConnectionResetError, BrokenPipeError) as exc:
                raise _Broken from exc
            except asyncio.LimitOverrunError as exc:
                raise ConnectionError("the answer's headers are larger than 64 KiB") from exc
            status, reusable, kept = await _read_answer(conn.reader, head)
            return Answer(status, kept.decode("utf-8", "replace")), conn if reusable else None
        finally:
            if not (reusable and conn.usable()):
                conn.close()

    async def _open(self, pool: _Pool) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(
                pool.host, pool.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except OSError as exc:
            raise Refused(f"cannot resolve {pool.host}: {exc}") from exc
        if not infos:
            raise Refused(f"cannot resolve {pool.host}")
        addresses = list(dict.fromkeys(str(i[4][0]).split("%", 1)[0] for i in infos))
        if not self._allow_private:
            for found in addresses:
                if internal_address(found):
                    raise Refused(
                        f"{pool.host} resolves to {found}, a loopback or private address "
                        "(DOCKYARD_WEBHOOK_ALLOW_PRIVATE is off)"
                    )
        tls = None
        if pool.scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        failure: OSError | None = None
        for address in addresses:  # in the resolver's order; the next when one is unreachable
            try:
                reader, writer = await asyncio.open_connection(
                    str(ipaddress.ip_address(address)),
                    pool.port,
                    ssl=tls,
                    server_hostname=pool.host if tls else None,
                    limit=_MAX_HEAD,
                )
                break
            except OSError as exc:
                failure = exc
        else:
            assert failure is not None  # addresses is never empty here
            raise failure
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Connection(reader, writer)

    async def aclose(self) -> None:
        """Stop every worker and close its connection; queued sends are dropped."""
        workers = [w for p in self._pools.values() for w in p.workers]
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._pools.clear()
        self._routes.clear()


async def _read_answer(reader: asyncio.StreamReader, head: bytes) -> tuple[int, bool, bytes]:
    """Status, whether the connection may be kept, and the body's first bytes."""
    lines = head[:-4].split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/1.") or not code.isdigit():
        raise ConnectionError(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
    status = int(code)
    length: int | None = None
    chunked = False
    close = version == b"HTTP/1.0"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            try:
                length = int(value)
            except ValueError as exc:
                raise ConnectionError(f"Content-Length {value.strip()[:20]!r}") from exc
        elif key == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif key == b"connection":
            lowered = value.strip().lower()
            close = lowered == b"close" or (close and lowered != b"keep-alive")
    if 100 <= status < 200:
        # An interim answer (we send no Expect): the real one follows.
        head = await reader.readuntil(b"\r\n\r\n")
        return await _read_answer(reader, head)
    if status in (204, 304):
        return status, not close, b""
    if chunked:
        body = await _read_chunked(reader)
        return status, not close, body[:_KEEP]
    if length is not None:
        if length > _MAX_BODY:
            return status, False, b""  # not worth reading: drop the connection instead
        body = await reader.readexactly(length)
        return status, not close, body[:_KEEP]
    body = await reader.read(_MAX_BODY)  # delimited by the close
    return status, False, body[:_KEEP]


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    kept = bytearray()
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise ConnectionError(f"a bad chunk size {size_line[:20]!r}") from exc
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailers
            return bytes(kept)
        total += size
        if total > _MAX_BODY:
            raise ConnectionError("the answer's body is larger than 1 MiB")
        chunk = await reader.readexactly(size + 2)  # the data and its CRLF
        if len(kept) < _KEEP:
            kept += chunk[: min(size, _KEEP - len(kept))]

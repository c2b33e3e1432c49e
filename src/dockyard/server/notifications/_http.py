"""A small asyncio HTTP/1.1 client for webhooks: POST, keep-alive pools per host, SSRF-checked.

Why not httpx: a webhook is one POST whose answer matters only for its status line, and the
deliverer sends thousands a second from one process. httpx's per-request machinery (request and
response objects, header models, a thread per blocking send) cost ~2-5 ms of CPU per send under
load and capped a server near 200-400 sends/s; writing the request on a pooled asyncio stream
and reading the status line, headers and body costs tens of microseconds.

What it does and does not do:
- ``http`` and ``https`` (certificates verified against the system store), HTTP/1.1 only.
- One pool per ``(scheme, host, port)``, at most ``per_host`` connections, kept alive between
  sends; a receiver that closes a kept connection gets the request again on a fresh one when
  nothing of the answer had arrived (the usual stale keep-alive race).
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
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dockyard.notifications._targets import internal_address

__all__ = ["Answer", "HttpPools", "Refused"]

_MAX_HEAD = 64 * 1024
_MAX_BODY = 1024 * 1024
_KEEP = 200


class Refused(Exception):
    """The URL may not be sent to (SSRF guard) or cannot be; the message says why."""


@dataclass(frozen=True)
class Answer:
    status: int
    text: str  # the first bytes of the body, for the delivery log


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
class _Pool:
    scheme: str
    host: str
    port: int
    slots: asyncio.Semaphore
    idle: deque[_Connection] = field(default_factory=deque)


class HttpPools:
    """Keep-alive connection pools, one per host; use from one event loop.

    Args:
        per_host: Connections open at once to one ``(scheme, host, port)``.
        allow_private: Let connections reach loopback, private and link-local addresses.
    """

    def __init__(self, *, per_host: int, allow_private: bool) -> None:
        self._per_host = per_host
        self._allow_private = allow_private
        self._pools: dict[tuple[str, str, int], _Pool] = {}
        self._tls: ssl.SSLContext | None = None

    async def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
        """POST ``body`` to ``url``; the answer, or an exception (Refused, OSError, timeout)."""
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname or ""
        if scheme not in ("http", "https") or not host:
            raise Refused(f"{url!r} is not an http(s) URL")
        port = parts.port or (443 if scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        authority = parts.netloc.rpartition("@")[2]  # as the URL spells it, less any user
        lines = [f"POST {target} HTTP/1.1", f"Host: {authority}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        pool = self._pools.get((scheme, host, port))
        if pool is None:
            pool = self._pools[(scheme, host, port)] = _Pool(
                scheme, host, port, asyncio.Semaphore(self._per_host)
            )
        async with asyncio.timeout(timeout):
            async with pool.slots:
                return await self._exchange(pool, request)

    async def _exchange(self, pool: _Pool, request: bytes) -> Answer:
        while pool.idle:
            conn = pool.idle.pop()  # the most recently used: the least likely to be stale
            if not conn.usable():
                conn.close()
                continue
            try:
                return await self._once(pool, conn, request)
            except _Broken:
                conn.close()  # closed by the receiver while idle: try another
        conn = await self._open(pool)
        try:
            return await self._once(pool, conn, request)
        except _Broken as exc:
            raise ConnectionError(f"{pool.host} closed the connection without answering") from exc

    async def _once(self, pool: _Pool, conn: _Connection, request: bytes) -> Answer:
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
            return Answer(status, kept.decode("utf-8", "replace"))
        finally:
            if reusable and conn.usable():
                pool.idle.append(conn)
            else:
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
        address = str(infos[0][4][0]).split("%", 1)[0]
        if not self._allow_private:
            for info in infos:
                found = str(info[4][0]).split("%", 1)[0]
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
        reader, writer = await asyncio.open_connection(
            str(ipaddress.ip_address(address)),
            pool.port,
            ssl=tls,
            server_hostname=pool.host if tls else None,
            limit=_MAX_HEAD,
        )
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Connection(reader, writer)

    def close(self) -> None:
        """Close every kept connection (from the pools' event loop)."""
        for pool in self._pools.values():
            while pool.idle:
                pool.idle.pop().close()
        self._pools.clear()

    async def aclose(self) -> None:
        """Close every kept connection and wait until their sockets are released."""
        writers = [c.writer for p in self._pools.values() for c in p.idle]
        self.close()
        for writer in writers:
            with contextlib.suppress(OSError):
                await writer.wait_closed()


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

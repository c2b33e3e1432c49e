"""uvicorn with connection limits: header, body and idle timeouts, and a cap on connections.

uvicorn closes an idle keep-alive connection, but nothing else: a connection that never sends a
byte, a request whose headers arrive a byte at a time (slowloris) or whose body stalls halfway
is held for as long as the client likes, and every one holds a file descriptor until the process
runs out of them. :class:`GuardedProtocol` is uvicorn's httptools protocol with four limits
(:class:`ConnectionLimits`):

- **idle**: a connection with no request in progress (a fresh one, or between keep-alive
  requests) is closed after ``keepalive_timeout_s``;
- **headers**: a request's headers must be complete ``header_timeout_s`` after its first byte,
  and its request line and headers may not exceed ``max_header_bytes`` (else ``431`` and the
  connection closes: the parser would otherwise keep every header a fast client sends within
  the timeout, hundreds of megabytes, before any route or credential check sees the request);
- **body**: a body that makes no progress for ``body_timeout_s`` gets ``408`` and the connection
  closes (time when the server itself stopped reading, because the app is slow to consume the
  body or has not yet asked for a ``100-continue`` body, does not count); so does one arriving
  slower than ``min_body_rate`` bytes a second on average, after a first ``body_timeout_s``
  (each byte buys ``1 / min_body_rate`` seconds more, as Apache's ``MinRate`` does): a client
  trickling a byte just often enough to count as progress would otherwise hold a connection,
  and a few thousand of them every connection the server has;
- **answers**: an answer the client stops reading (the connection's send buffer full) for
  ``send_timeout_s`` is cut off and its connection closed, as nginx's ``send_timeout`` does: a
  client holding downloads open unread would otherwise keep their connections forever. Any
  read is progress, however slow the client's link;
- **connections**: at ``max_connections`` open connections, a new one closes an idle connection
  (the one known idle the longest) to make room, or, when none is idle, is closed at once. So a
  flood of idle sockets cannot lock out a client that sends its request, and a flood of slow
  ones costs a refused connection, not a held one.

When the server begins to stop, the protocol also tells answers in progress, through
:mod:`dockyard.draining`, so an event stream ends at once instead of holding the shutdown.

A response whose length is known goes out in one write, its head with its body
(:class:`_OneWriteCycle`): uvicorn writes the head as soon as the app starts the response, and
on loopback every write is a system call that also runs the client's side of TCP and wakes it,
so a small JSON answer (an MLflow client's ``log_metric``, one call per step) paid two of each.
A streamed answer (chunked, an event stream) and a bodiless one still send their head at once.

The hot path pays a few attribute reads per read and one dict write per response: the header
and body timer is armed only when a read leaves a request incomplete, so a request that arrives
in one packet costs no timer at all (about 0.6 us a request in all, measured in-process against
uvicorn's own protocol).

Use :class:`GuardedConfig` in place of ``uvicorn.Config`` (and :func:`dockyard.serve.run` in
place of ``uvicorn.run``); the protocol reads its limits from the config, which uvicorn pickles
to its worker processes.

A config may also carry ``local``: a loopback socket served beside the public one without TLS,
by the same app, protocol and limits (:mod:`dockyard.serve` runs such a config).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import struct
import sys
from dataclasses import dataclass
from typing import Any, Final

import orjson
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from dockyard.draining import draining_event
from dockyard.errors import DockyardError

__all__ = ["ConnectionLimits", "GuardedConfig", "GuardedProtocol"]

_HEADERS: Final = 1  # a request began; its headers are incomplete
_RESET: Final = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: a close sends a reset
_BODY: Final = 2  # its headers are complete; its body is not

try:  # the bytes a socket's kernel buffer still holds for the client (Linux's SIOCOUTQ)
    import fcntl
    import termios

    _OUTQ: int | None = termios.TIOCOUTQ
except (ImportError, AttributeError):  # pragma: no cover - not on Linux
    _OUTQ = None


@dataclass(frozen=True)
class ConnectionLimits:
    """How long a client may take, and how many connections one process holds.

    Attributes:
        header_timeout_s: A request's headers must be complete this long after its first byte.
        body_timeout_s: A request body that makes no progress for this long gets 408.
        keepalive_timeout_s: A connection with no request in progress is closed after this.
        max_connections: Open connections per process; beyond it idle ones are evicted, then
            new ones refused.
        max_header_bytes: The largest request line and headers of one request; beyond it the
            request gets 431 and the connection closes.
        min_body_rate: Bytes a second a body must average once ``body_timeout_s`` has passed
            since it began (0: no minimum).
        send_timeout_s: An answer the client reads none of for this long (its writes paused
            all that while) is cut off and its connection closed.
    """

    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keepalive_timeout_s: float = 5.0
    send_timeout_s: float = 60.0
    max_connections: int = 2048
    max_header_bytes: int = 64 * 1024
    min_body_rate: float = 500.0

    def __post_init__(self) -> None:
        for name in ("header_timeout_s", "body_timeout_s", "keepalive_timeout_s", "send_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be above 0")
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if self.max_header_bytes < 1024:
            raise ValueError("max_header_bytes must be at least 1024")
        if not self.min_body_rate >= 0:
            raise ValueError("min_body_rate must be 0 or above")


class GuardedConfig(uvicorn.Config):
    """``uvicorn.Config`` serving with :class:`GuardedProtocol` under ``limits``.

    Args:
        app: The ASGI app (or its import string, as for uvicorn).
        limits: The limits every connection is held to.
        **options: Any other ``uvicorn.Config`` option except ``http`` and
            ``timeout_keep_alive``, which the limits decide.
    """

    def __init__(
        self,
        app: Any,
        *,
        limits: ConnectionLimits,
        local: socket.socket | None = None,
        **options: Any,
    ) -> None:
        super().__init__(
            app,
            http=GuardedProtocol,
            # uvicorn's own copy is whole seconds; the protocol uses the exact value.
            timeout_keep_alive=math.ceil(limits.keepalive_timeout_s),
            **options,
        )
        self.limits = limits
        # Pickled with the config to each worker process (multiprocessing duplicates the
        # descriptor), as uvicorn's own sockets are.
        self.local = local

    def load(self) -> None:
        """Build the app; one that refuses to be built for a reason it names (a setting that
        cannot work) stops this process with that reason, not a traceback."""
        try:
            super().load()
        except DockyardError as exc:
            print(f"Error: {exc.message}", file=sys.stderr, flush=True)
            sys.exit(STARTUP_FAILURE)


class _Writes:
    """Stands in for the transport while uvicorn writes one ASGI message: keeps the bytes."""

    __slots__ = ("closed", "parts")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def close(self) -> None:
        self.closed = True


class _OneWriteCycle(RequestResponseCycle):
    """uvicorn's request cycle, holding a response's head until its first body message when a
    body of known length follows, to write both at once.

    uvicorn's own ``send`` still does all the work (validation, headers, keep-alive); only
    where its bytes go changes, and only for the synchronous step that writes them. Nothing is
    held past the next message: the first body chunk of a known-length stream (a download)
    carries the head with it, and a head that announces no body, a chunked one or a ``HEAD``
    answer goes out at once.
    """

    _head: bytes | None = None

    async def send(self, message: Any) -> None:
        head = self._head
        if head is None and (self.response_started or message["type"] != "http.response.start"):
            await RequestResponseCycle.send(self, message)
            return
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()  # as uvicorn would: what follows is then one synchronous step
        if self.disconnected:
            self._head = None
            return
        transport = self.transport
        writes = _Writes()
        if head is not None:
            self._head = None
            writes.parts.append(head)
        self.transport = writes  # type: ignore[assignment]
        held = False
        try:
            await RequestResponseCycle.send(self, message)
            held = (
                head is None
                and bool(writes.parts)
                and not self.chunked_encoding
                and self.expected_content_length > 0
                and self.scope["method"] != "HEAD"
            )
        finally:
            self.transport = transport
            if held:
                self._head = b"".join(writes.parts)  # the body follows in the next message
            elif writes.parts:
                transport.write(b"".join(writes.parts))
            if writes.closed:
                transport.close()


def _timeout_response(message: str) -> bytes:
    return _closing_response(b"408 Request Timeout", "request_timeout", message, None)


def _closing_response(status: bytes, code: str, message: str, field: str | None) -> bytes:
    error: dict[str, str] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    body = orjson.dumps({"error": error})
    return (
        b"HTTP/1.1 %s\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (status, len(body), body)
    )


class _HeadersTooLarge(Exception):
    """Raised from a parser callback to stop parsing a request whose headers are too large."""


def _idle_candidates(state: ServerState) -> dict[GuardedProtocol, None]:
    # One table per server, kept beside uvicorn's own per-server set of connections (the state
    # every protocol instance of a server shares). It lists connections that were idle when
    # added, oldest first; whether one still is gets checked only when room is needed, so
    # requests pay one dict write each and nothing more.
    table: dict[GuardedProtocol, None] = vars(state).setdefault("dockyard_idle", {})
    return table


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol held to :class:`ConnectionLimits` (read from the config)."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = getattr(config, "limits", None)
        self.limits: ConnectionLimits = limits or ConnectionLimits()
        # uvicorn types it as whole seconds, but only hands it to call_later.
        self.timeout_keep_alive = self.limits.keepalive_timeout_s  # type: ignore[assignment]
        self._idle = _idle_candidates(server_state)
        self._guard: asyncio.TimerHandle | None = None  # armed only while a request is partial
        self._guarding = 0  # _HEADERS or _BODY: what the guard watches
        self._guarded: object = None  # the request (its scope) the guard watches
        self._body_at = 0.0  # loop time of the last read while a body was arriving
        self._body_began = 0.0  # loop time the body's rate is counted from
        self._body_read = 0  # bytes read of the body since then
        self._head_bytes = 0  # bytes read so far of the request whose headers are incomplete
        self._completed = 0  # requests whose last byte was read (their count, ever)
        self._read_size = 0  # of the read being parsed
        self._head_refused = False
        self._refused = False
        self._stall: asyncio.TimerHandle | None = None  # armed while writes are paused
        self._unread = 0  # bytes the client had still to read when _stall was armed
        self._draining = draining_event(app_state)

    # -- connections --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections and not self._evict_idle():
            # Refused before uvicorn knows of it: the socket is closed at once, not held.
            self._refused = True
            transport.close()
            return
        super().connection_made(transport)
        self._idle[self] = None
        self._rest()  # a connection that never sends a byte is idle like one between requests

    def _evict_idle(self) -> bool:
        """Close the longest-idle connection, if one is idle; whether one was."""
        table = self._idle
        while table:
            oldest = next(iter(table))
            del table[oldest]  # busy ones are listed again when their answer is sent
            if oldest.idle():
                oldest.transport.close()
                return True
        return False

    def idle(self) -> bool:
        """Whether no request is being read or answered on this connection."""
        cycle = self.cycle
        return (
            self._guard is None
            and (cycle is None or cycle.response_complete)
            and not self.pipeline
            and not self.transport.is_closing()
        )

    def shutdown(self) -> None:
        # uvicorn calls this on every open connection when it begins to stop: answers that
        # would otherwise run on (event streams) watch the event and end now.
        self._draining.set()
        HttpToolsProtocol.shutdown(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        self._idle.pop(self, None)
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        # The client has not read what was sent: the send buffer is past its high-water mark.
        HttpToolsProtocol.pause_writing(self)
        if self._stall is None:
            self._unread = self._pending()
            self._stall = self.loop.call_later(self.limits.send_timeout_s, self._stalled)

    def resume_writing(self) -> None:
        HttpToolsProtocol.resume_writing(self)
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def _stalled(self) -> None:
        """The client read nothing for ``send_timeout_s``: its answer is cut off, with a reset,
        so the kernel lets go of what it still held for the client too."""
        self._stall = None
        transport = self.transport
        if transport.is_closing():
            return
        # Writes stay paused until the client has read nearly all of a chunk the app wrote
        # (up to 1 MiB): a client reading slower than that, but reading, is not stalled. No
        # new bytes are written while paused, so fewer bytes waiting means it read some.
        unread = self._pending()
        if unread < self._unread:
            self._unread = unread
            self._stall = self.loop.call_later(self.limits.send_timeout_s, self._stalled)
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
        transport.abort()

    def _pending(self) -> int:
        """The bytes of answers sent that the client has not yet taken: in the transport's
        buffer and in the socket's kernel buffer."""
        transport = self.transport
        pending = transport.get_write_buffer_size()
        sock = transport.get_extra_info("socket")
        if _OUTQ is not None and sock is not None:
            with contextlib.suppress(OSError, ValueError):
                held = fcntl.ioctl(sock.fileno(), _OUTQ, b"\0\0\0\0")
                pending += struct.unpack("i", held)[0]
        return pending

    # The methods every request passes through call the base class directly: cheaper than
    # super() on CPython 3.11, and measurable at tens of thousands of requests a second.

    def on_headers_complete(self) -> None:
        # Headers that arrived in one read were never counted by _count_head: measured here,
        # before the request reaches the app, when that read (with the earlier ones) is large.
        limit = self.limits.max_header_bytes
        if self._read_size + max(self._head_bytes, 0) > limit and self._head_size() > limit:
            self._head_refused = True
            raise _HeadersTooLarge  # stops the parser; answered by send_400_response
        HttpToolsProtocol.on_headers_complete(self)
        cycle = self.cycle
        # The cycle uvicorn just made for this request (not an upgrade's, not an older one):
        # same state, one more rule for its writes. Its ASGI task has not run yet.
        if cycle is not None and cycle.scope is self.scope and type(cycle) is RequestResponseCycle:
            cycle.__class__ = _OneWriteCycle

    def on_response_complete(self) -> None:
        HttpToolsProtocol.on_response_complete(self)
        self._idle[self] = None

    def on_body(self, body: bytes) -> None:
        HttpToolsProtocol.on_body(self, body)
        self._body_read += len(body)  # the body's bytes only: headers buy no time

    def on_message_complete(self) -> None:
        HttpToolsProtocol.on_message_complete(self)
        self._completed += 1

    # -- reading ------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        completed = self._completed
        self._read_size = len(data)
        HttpToolsProtocol.data_received(self, data)
        # The parser has run its callbacks: uvicorn's ``scope`` is the newest request begun,
        # ``cycle`` the newest whose headers are complete, ``more_body`` whether its body is.
        scope = self.scope
        cycle = self.cycle
        if cycle is not None and cycle.scope is scope and not cycle.more_body:
            if self._guard is not None:  # every request read so far is whole
                self._guard.cancel()
                self._guard = None
            if cycle.response_complete:  # stray line breaks after an answer: still idle
                self._rest()
        elif scope is not None:
            if cycle is None or cycle.scope is not scope:
                self._watch(scope, _HEADERS)
                self._count_head(len(data), completed == self._completed)
            else:
                self._watch(scope, _BODY)
        else:  # stray line breaks before any request
            self._rest()

    def _rest(self) -> None:
        # uvicorn stops the idle timer on every read; a read that began no request restarts it.
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    def _watch(self, scope: object, reading: int) -> None:
        """Time the partial request ``scope``, which is at ``reading``."""
        now = self.loop.time()
        if self._guard is not None:
            if scope is self._guarded and reading == self._guarding:
                self._body_at = now  # the same request, still arriving
                return
            self._guard.cancel()
        self._guarded, self._guarding, self._body_at = scope, reading, now
        self._head_bytes = -1  # a new request: _count_head starts its count
        self._body_began, self._body_read = now, 0
        if reading == _HEADERS:
            self._guard = self.loop.call_later(self.limits.header_timeout_s, self._headers_late)
        else:
            # uvicorn leaves more_body set when the app answered before the body was read, so
            # such a connection stays here until the client is quiet for body_timeout_s.
            self._guard = self.loop.call_later(self.limits.body_timeout_s, self._body_stalled)

    def _count_head(self, read: int, alone: bool) -> None:
        """Add a read to the size of the incomplete headers; 431 and close past the limit.

        The read that began the request counts whole when no earlier request ended in it (else
        it also held that one's bytes, so it counts nothing: the limit is then exceeded one read
        later at most).
        """
        if self._head_bytes < 0:
            self._head_bytes = read if alone else 0
        else:
            self._head_bytes += read
        if self._head_bytes > self.limits.max_header_bytes:
            self._refuse_head()

    def _head_size(self) -> int:
        """The size of the request line and headers parsed so far (give or take separators)."""
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _refuse_head(self) -> None:
        """Answer 431 (unless another request's answer is under way) and close."""
        if self.transport.is_closing():
            return
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None
        cycle = self.cycle
        if cycle is None or cycle.response_complete:  # never inside another request's answer
            limit = self.limits.max_header_bytes
            self.transport.write(
                _closing_response(
                    b"431 Request Header Fields Too Large",
                    "request_header_fields_too_large",
                    f"the request line and headers are over the {limit // 1024} KiB limit",
                    "headers",
                )
            )
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        if self._head_refused:  # the parser stopped at on_headers_complete: headers too large
            self._refuse_head()
            return
        HttpToolsProtocol.send_400_response(self, msg)

    # -- timers -------------------------------------------------------------------------------
    def _headers_late(self) -> None:
        self._guard = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:  # pipelined requests wait for ours to finish: not late
            self._guard = self.loop.call_later(self.limits.header_timeout_s, self._headers_late)
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            seconds = self.limits.header_timeout_s
            self.transport.write(
                _timeout_response(f"the request headers did not arrive within {seconds:g} s")
            )
        self.transport.close()

    def _body_stalled(self) -> None:
        self._guard = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        limit = self.limits.body_timeout_s
        rate = self.limits.min_body_rate
        now = self.loop.time()
        if self.flow.read_paused or cycle.waiting_for_100_continue:
            # The app has not asked for more yet: the client is not late, nor slow until then.
            self._body_at = self._body_began = now
            self._body_read = 0
        quiet = now - self._body_at
        # The time the bytes read so far buy at the minimum rate, after a first body_timeout_s.
        earned = self._body_began + limit + self._body_read / rate - now if rate else math.inf
        if quiet < limit and earned > 0:
            self._guard = self.loop.call_later(min(limit - quiet, earned), self._body_stalled)
            return
        if not cycle.response_started:
            # The app sees a disconnect and sends nothing: this answer is the only one.
            cycle.disconnected = True
            cycle.message_event.set()
            why = (
                f"the request body made no progress for {limit:g} s"
                if quiet >= limit
                else f"the request body arrived slower than {rate:g} bytes a second"
            )
            self.transport.write(_timeout_response(why))
        self.transport.close()

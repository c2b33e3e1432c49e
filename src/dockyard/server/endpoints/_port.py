"""An endpoint's own port on the server's machine when its workers listen elsewhere.

Replicas on a Ray cluster's nodes (:mod:`dockyard.runtime.serving._raylauncher`) each listen on
an address of their own, so nothing would hold the port in the endpoint's URL. The supervisor
binds it here instead and every request on it goes, unchanged (method, path and query, headers
with the caller's ``Authorization`` or ``X-Api-Key``, body), to the replicas in turn through
the router the invocations route uses (:mod:`dockyard.server.endpoints._router`): the workers
then do what they do for callers of their own port (API keys, every protocol, variants), and
their answers (status, headers, body) come back unchanged. Bodies are bounded as the workers
bound them (``max_body_bytes``: 413 past it), and connections are held to the server's own
limits, as the workers' are (:mod:`dockyard.connection_guard`). With no replica answering the
caller gets 503 with a JSON body naming the endpoint.

The ports are served by uvicorn on one uvloop event loop in a thread of the process leading the
supervisor (a server running several processes binds each port once); the socket is bound with
``SO_REUSEPORT`` as the local launcher's, so the next leader binds it at once after a restart.
The port answers while a server leads: unlike local workers, replicas cannot hold it while the
server is down.

A ``Failed`` endpoint's port is served here too, whatever its launcher
(:meth:`EndpointPorts.refuse`): nothing else would answer on it, and a socket nobody accepts on
leaves callers waiting out their timeouts. Every request gets an answer at once that names the
endpoint and where to read why it failed (:class:`_Refusal`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import orjson
import uvicorn
from starlette.types import Receive, Scope, Send

from dockyard.api.serving import BrowserGuard
from dockyard.api.serving import aws as _aws
from dockyard.api.serving.config import WorkerConfig
from dockyard.connection_guard import ConnectionLimits, GuardedConfig
from dockyard.errors import DockyardError, InvalidArgument, PayloadTooLarge, Unavailable
from dockyard.server.endpoints._launcher import _bind
from dockyard.server.endpoints._router import Router, UpstreamError

__all__ = ["EndpointPorts"]

log = logging.getLogger("dockyard.server.endpoints")

Address = tuple[str, int]

#: A port that could not be bound is tried again after this long (another program holds it).
RETRY_S = 10.0
_STOP_S = 10.0
# Hop-by-hop headers (RFC 9110 7.6.1) and the length, which each side writes for itself.
_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"expect",
        b"host",
        b"content-length",
    }
)
_JSON = b"application/json"
# What BrowserGuard reads, answered at this port: a replica would compare it to its own Host.
_CHECKED = frozenset({b"origin", b"sec-fetch-site"})


class _Server(uvicorn.Server):
    """uvicorn without its signal handling: the server process owns signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


class _Forward:
    """The ASGI app of one endpoint's port."""

    def __init__(
        self, name: str, addresses: Callable[[], Sequence[Address]], config: WorkerConfig
    ) -> None:
        self._name = name
        self._addresses = addresses
        self._router = Router()
        self._limit = config.max_body_bytes
        self._timeout_s = config.request_timeout_s + 5.0
        self._guard = BrowserGuard(config.host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method: str = scope["method"]
        target: bytes = scope.get("raw_path") or scope["path"].encode()
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        # Checked here, where the caller's Host arrives; the replicas see another Host.
        headers = [(k, v) for k, v in scope["headers"] if k not in _HOP and k not in _CHECKED]
        try:
            refused = self._guard.refusal(method, scope["headers"])
            if refused is not None:
                raise refused
            body = await _body(receive, self._limit)
            if body is None:
                return  # the caller went away
            status, answered, content = await self._router.send(
                self._addresses(),
                method,
                target.decode("latin-1"),
                headers,
                body,
                self._timeout_s,
            )
        except DockyardError as exc:
            status, answered, content = _error(exc)
        except UpstreamError as exc:
            failure = Unavailable(f"endpoint {self._name}: no replica is answering ({exc})")
            status, answered, content = _error(failure)
        kept = [(k, v) for k, v in answered if k not in _HOP]
        length = next((v for k, v in answered if k == b"content-length"), None)
        kept.append(
            (b"content-length", length if method == "HEAD" and length else b"%d" % len(content))
        )
        await send({"type": "http.response.start", "status": status, "headers": kept})
        await send({"type": "http.response.body", "body": content})

    def close(self) -> None:
        self._router.close()


class _Refusal:
    """The ASGI app of a ``Failed`` endpoint's port: every request is answered at once, naming
    the endpoint.

    An answer rather than a refused connection: SageMaker's and the Open Inference Protocol's
    clients (botocore, the SageMaker SDK, ``tritonclient``) report a refused connection as a
    network fault (and botocore retries it as one), while an answer reaches the caller as the
    error its protocol models:

    - ``POST /endpoints/{name}/invocations`` (boto3's ``invoke_endpoint``) gets
      ``ValidationError`` (400), as the server's URL answers for a Failed endpoint, which
      botocore raises as the modelled exception and does not retry (the endpoint stays Failed
      until it is updated);
    - every other path (``/invocations``, ``/ping``, the Open Inference Protocol's
      ``/v2/health/ready`` and ``/infer``) gets 503 with a JSON body: ``error`` (what
      ``tritonclient`` shows), ``code`` and ``message`` (what workers send and the SDK reads),
      ``endpoint`` and ``status``. A health check sees an endpoint that is not ready, as it is.

    The answer does not hold the failure's reason: the port has no credentials to check (an
    endpoint may be bound to every interface, and may require API keys, which its workers
    check), and the reason is an exception's text, with model URIs and paths. It says where the
    reason is: the server's API (``dockyard endpoints describe``), behind its authentication.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        message = (
            f"endpoint {self.name} is Failed, nothing serves it "
            f"(`dockyard endpoints describe {self.name}` says why)"
        )
        if _aws.endpoint_of(path) is not None:
            refusal = InvalidArgument(message, field="EndpointName")
            status, content, extra = _aws.error(refusal, uuid.uuid4().hex.encode())
            headers = [(b"content-type", _aws.JSON), *extra]
        else:
            status = Unavailable.status_code
            body = {
                "error": message,
                **Unavailable(message).to_dict(),
                "endpoint": self.name,
                "status": "Failed",
            }
            content, headers = orjson.dumps(body), [(b"content-type", _JSON)]
        headers.append((b"content-length", b"%d" % len(content)))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        content = b"" if scope["method"] == "HEAD" else content
        await send({"type": "http.response.body", "body": content})

    def close(self) -> None:
        pass


def _error(exc: DockyardError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return exc.status_code, [(b"content-type", _JSON)], orjson.dumps({"error": exc.to_dict()})


async def _body(receive: Receive, limit: int) -> bytes | None:
    """The request's body (None if the caller went away).

    Raises:
        PayloadTooLarge: Over ``limit`` bytes, as a worker would say.
    """
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the request body is over the endpoint's limit of {limit} bytes")
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


@dataclass
class _Served:
    where: Address
    server: _Server
    app: _Forward | _Refusal
    task: Future[None]


class EndpointPorts:
    """The endpoints' own ports this process serves, by endpoint name (thread-safe).

    Args:
        limits: What every connection to the ports is held to (the server's own limits).
    """

    def __init__(self, limits: ConnectionLimits | None = None) -> None:
        self._limits = limits or ConnectionLimits()
        self._lock = threading.Lock()
        self._changing = threading.RLock()  # one serve or close at a time: one bind per port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._served: dict[str, _Served] = {}
        self._failed: dict[str, float] = {}  # could not bind, until when not to try again

    def serve(
        self,
        name: str,
        host: str,
        port: int,
        addresses: Callable[[], Sequence[Address]],
        config: WorkerConfig,
    ) -> None:
        """Serve ``name``'s port on ``host:port`` (once; again elsewhere if it moved),
        forwarding to what ``addresses`` returns at each request."""
        with self._changing:
            self._serve(name, host, port, addresses, config)

    def _serve(
        self,
        name: str,
        host: str,
        port: int,
        addresses: Callable[[], Sequence[Address]],
        config: WorkerConfig,
    ) -> None:
        with self._lock:
            held = self._served.get(name)
            if held is not None and held.where == (host, port) and isinstance(held.app, _Forward):
                return
        self._start(name, host, port, lambda: _Forward(name, addresses, config), self._limits)

    def refuse(self, name: str, host: str, port: int) -> None:
        """Answer every request on ``name``'s port at once, saying it is Failed
        (:class:`_Refusal`), until :meth:`close`; the caller has let go of every other socket
        on the port (a worker's, the launcher's)."""
        with self._changing:
            with self._lock:
                held = self._served.get(name)
                if (
                    held is not None
                    and held.where == (host, port)
                    and isinstance(held.app, _Refusal)
                ):
                    return
            self._start(name, host, port, lambda: _Refusal(name), self._limits)

    def refusing(self, name: str) -> bool:
        """Whether ``name``'s port answers that it is Failed."""
        with self._lock:
            held = self._served.get(name)
            return held is not None and isinstance(held.app, _Refusal)

    def _start(
        self,
        name: str,
        host: str,
        port: int,
        make: Callable[[], _Forward | _Refusal],
        limits: ConnectionLimits,
    ) -> None:
        """Serve what ``make`` makes on ``host:port`` in place of what ``name``'s port serves
        (the caller holds ``_changing``)."""
        with self._lock:
            held = self._served.get(name)
            if self._failed.get(name, 0.0) > time.monotonic():
                return
        if held is not None:
            self.close(name)
        try:
            sock = _bind(host, port)
        except OSError as exc:
            log.warning("endpoint %s: cannot bind its port %s:%d: %s", name, host, port, exc)
            with self._lock:
                self._failed[name] = time.monotonic() + RETRY_S
            return
        sock.setblocking(False)
        app = make()
        server = _Server(
            GuardedConfig(
                app,
                limits=limits,
                ws="none",
                lifespan="off",
                interface="asgi3",
                log_config=None,
                log_level="warning",
                access_log=False,
                proxy_headers=False,
                server_header=False,
                date_header=False,  # the worker's answer has its own
                timeout_graceful_shutdown=math.ceil(_STOP_S),
            )
        )
        task = asyncio.run_coroutine_threadsafe(server.serve(sockets=[sock]), self._running())
        with self._lock:
            self._served[name] = _Served((host, port), server, app, task)
            self._failed.pop(name, None)

    def serving(self) -> dict[str, Address]:
        """The ports served, by endpoint."""
        with self._lock:
            return {name: held.where for name, held in self._served.items()}

    def close(self, name: str) -> None:
        """Stop serving ``name``'s port (it was deleted, or moved)."""
        with self._changing:
            with self._lock:
                held = self._served.pop(name, None)
                self._failed.pop(name, None)
            if held is None:
                return
            held.server.should_exit = True
            try:
                held.task.result(_STOP_S + 5)
            except Exception:
                log.warning("endpoint %s: closing its port failed", name, exc_info=True)
            held.app.close()

    def close_all(self) -> None:
        """Stop serving every port, and the thread serving them."""
        for name in list(self.serving()):
            self.close(name)
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)

    def _running(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                import uvloop  # as the workers and uvicorn's server run: the proxy's hot path

                loop = uvloop.new_event_loop()
                thread = threading.Thread(
                    target=_run, args=(loop,), name="dockyard-endpoint-ports", daemon=True
                )
                thread.start()
                self._loop = loop
            return self._loop


def _run(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.close()

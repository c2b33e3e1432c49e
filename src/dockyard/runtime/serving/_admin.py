"""The admin API, on the worker's unix socket (never on the public port, so no user path collides
and only local processes with the socket's permissions can reach it).

========  ============  ===============================================================
method    path          does
========  ============  ===============================================================
GET       /health       ``{"status": "serving" | "draining", "version": n}``
GET       /stats        per variant: requests by status, errors by code, latency and batch
                        histograms (with p50/p99 estimates), in-flight, how it is served
GET       /metrics      the same as Prometheus text
GET       /config       the current :class:`~dockyard.api.serving.config.WorkerConfig` and its
version PUT       /config       switch to a new config (models load first; 200 with what changed)
POST      /drain        stop accepting, finish in-flight requests, flush capture, exit 0
========  ============  ===============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dockyard.api.serving.config import WorkerConfig
from dockyard.errors import DockyardError, NotFound
from dockyard.runtime.serving._endpoint import Endpoint
from dockyard.runtime.serving._http import (
    MethodNotAllowed,
    Receive,
    Scope,
    Send,
    json_response,
    read_body,
    respond,
)

__all__ = ["AdminApp"]

_PROMETHEUS = b"text/plain; version=0.0.4; charset=utf-8"
_MAX_CONFIG_BYTES = 1024 * 1024


class AdminApp:
    """ASGI app of the admin socket.

    Args:
        endpoint: The live endpoint.
        drain: Starts a graceful shutdown (returns at once).
        info: Static facts about the worker (pid, port, socket) shown in ``/stats``.
    """

    def __init__(self, endpoint: Endpoint, drain: Callable[[], None], info: dict[str, Any]) -> None:
        self.endpoint = endpoint
        self._drain = drain
        self.info = info

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route by path and method; every error is a Dockyard error body."""
        if scope["type"] != "http":
            return
        try:
            await self._route(scope, receive, send)
        except DockyardError as exc:
            await json_response(send, exc.status_code, exc.to_dict())

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        endpoint = self.endpoint
        routes: dict[str, tuple[str, ...]] = {
            "/health": ("GET",),
            "/stats": ("GET",),
            "/metrics": ("GET",),
            "/config": ("GET", "PUT"),
            "/drain": ("POST",),
        }
        allowed = routes.get(path)
        if allowed is None:
            raise NotFound(f"no admin route {path} (routes: {', '.join(routes)})")
        if method not in allowed:
            raise MethodNotAllowed(f"use {' or '.join(allowed)} {path}")
        state = endpoint.state
        if path == "/health":
            status = "draining" if endpoint.draining else "serving"
            await json_response(send, 200, {"status": status, "version": state.version})
        elif path == "/stats":
            await json_response(send, 200, self.stats())
        elif path == "/metrics":
            info = {"config_version": str(state.version)}
            await respond(send, 200, endpoint.metrics.render(info).encode(), _PROMETHEUS)
        elif path == "/config" and method == "GET":
            body = {"version": state.version, "config": state.config.model_dump(mode="json")}
            await json_response(send, 200, body)
        elif path == "/config":
            raw = await read_body(receive, None, _MAX_CONFIG_BYTES, 60.0)
            summary = await endpoint.apply(WorkerConfig.parse(raw))
            await json_response(send, 200, summary)
        else:
            await json_response(send, 202, {"status": "draining"})
            self._drain()

    def stats(self) -> dict[str, Any]:
        """Statistics and serving details of every variant served, and of those retired
        until their last requests are answered."""
        state = self.endpoint.state
        snapshot = self.endpoint.metrics.snapshot()
        for variant in state.variants:
            entry = snapshot["variants"].setdefault(variant.name, {})
            entry["serving"] = variant.describe()
        snapshot["worker"] = {
            **self.info,
            "config_version": state.version,
            "draining": self.endpoint.draining,
        }
        return snapshot

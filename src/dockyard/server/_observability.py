"""Prometheus metrics for the control-plane API (``/metrics``), one registry per app."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MetricsMiddleware", "metrics_endpoint"]


class _Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dockyard_http_requests_total",
            "HTTP requests by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "dockyard_http_request_duration_seconds",
            "HTTP request latency by method and route",
            ["method", "route"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )


class MetricsMiddleware:
    """Counts requests and measures latency, labelled by route template (not raw path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.metrics = _Metrics()
        # The labelled children, found once per (method, route, status): ``labels()`` checks
        # and locks on every call, a few microseconds a request. Bounded by the route table.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["metrics"] = self.metrics
        start = time.perf_counter()
        status = 500

        async def _send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            key = (method, template, status)
            children = self._children.get(key)
            if children is None:
                children = self._children[key] = (
                    self.metrics.requests.labels(method, template, str(status)),
                    self.metrics.latency.labels(method, template),
                )
            children[0].inc()
            children[1].observe(time.perf_counter() - start)


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus exposition of this app's registry."""
    metrics: _Metrics = request.scope["state"]["metrics"]
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

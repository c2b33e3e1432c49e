"""The application factory: one ASGI app serving the native API and the compatibility adapters."""

from __future__ import annotations

import gc
import inspect
import logging
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Route

from dockyard import __version__
from dockyard.server import _docs
from dockyard.server._auth import AuthMiddleware, read_local_key
from dockyard.server._dispatch import (
    ExactDispatch,
    PrefixDispatch,
    exact_routes,
    literal_prefix,
    plain_routes,
)
from dockyard.server._errors import install_error_handlers
from dockyard.server._limits import BodyLimit
from dockyard.server._nul import RefuseNulUrl
from dockyard.server._observability import MetricsMiddleware, metrics_endpoint
from dockyard.server._responses import JSON
from dockyard.server._route import InlineReads
from dockyard.server._services import Services
from dockyard.server.compat import aws, mlflow
from dockyard.server.routes import (
    artifacts,
    auth,
    data,
    endpoints,
    events,
    experiments,
    invocations,
    jobs,
    logged_models,
    monitoring,
    notifications,
    params,
    pipelines,
    registry,
    runs,
    specs,
    triggers,
    tuning,
)
from dockyard.server.ui import ui_router
from dockyard.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """Build the Dockyard server app.

    Args:
        settings: Where state lives; read from the environment when omitted.
        services: Pre-built services (tests and the embedded SDK share one set); built from
            ``settings`` when omitted.
    """
    owned = services is None
    built = services or Services.from_settings(settings or Settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        built.db.keep_reads_here()  # the event loop's thread: short reads run on it
        background = built.start_background()
        yield
        for task in background:
            task.stop()
        if owned:
            built.close()

    app = FastAPI(
        title="Dockyard",
        version=__version__,
        description="Self-hosted platform that takes ML models from prototype to production.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served by _docs from files shipped with Dockyard, not from a CDN
        redoc_url=None,
        lifespan=lifespan,
        **_telemetry(),
    )
    app.state.services = built
    install_error_handlers(app)

    # Routers carry their full path prefix, so metrics and logs label requests by the real
    # route template.
    for module in (
        _docs,
        experiments,
        runs,
        artifacts,
        logged_models,
        data,
        jobs,
        endpoints,
        params,
        registry,
        auth,
        events,
        notifications,
        triggers,
        pipelines,
        tuning,
        monitoring,
        specs,
        mlflow,
        aws,  # after mlflow: POST / would otherwise shadow its exact dispatch
    ):
        app.include_router(module.router)
    app.include_router(ui_router())

    def ping() -> None:
        with built.db.read() as conn:
            conn.exec_driver_sql("SELECT 1")

    @app.get("/healthz", tags=["health"])
    async def healthz() -> JSON:
        """Liveness and database reachability."""
        # SQLite's SELECT 1 is a local call of tens of microseconds, less than a thread hop;
        # PostgreSQL's is a network round trip, which must never hold up the event loop.
        if built.db.dialect == "sqlite":
            ping()
        else:
            await run_in_threadpool(ping)
        return JSON({"status": "ok", "version": __version__})

    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    # Probes call /healthz every few seconds, and it came after every other route: matching
    # its path against ~220 routes cost more than the rest of the request. Second in the
    # table (nothing before it can match /healthz), after SageMaker Runtime's InvokeEndpoint,
    # which is first for the same reason (passed on to the endpoint's workers).
    health = next(r for r in app.router.routes if getattr(r, "path", None) == "/healthz")
    app.router.routes.remove(health)
    app.router.routes.insert(0, health)
    app.router.routes.insert(0, invocations.route(built))
    # Everything built so far (routes, schemas, SQL statements) lives as long as the process:
    # keeping it out of the collector's reach stops large requests (a 25k-point history page,
    # a 10k-point batch) from paying for full collections over it.
    gc.collect()
    gc.freeze()
    if built.settings.access_log:
        _log_access_to_stderr()
    # MLflow clients call the adapter in loops (a log_metric per step), and boto3 scripts the
    # AWS adapters' one POST / (an execution started and described per item, a log tailed):
    # their fixed paths skip the router's linear scan, which puts them behind every native
    # route (half of a StartExecution's server time was spent finding its route). Built once
    # every route is in, so the check sees every route the router would try first.
    exact: dict[str, list[Route]] = {}
    for adapter in (mlflow.router, aws.router):
        earlier = [literal_prefix(path) for path in _paths_before(app.routes, adapter)]
        for path, found in exact_routes(adapter.routes, earlier).items():
            exact.setdefault(path, []).extend(found)
    # Every other request is matched against only the routes that could match its path.
    narrowed = PrefixDispatch(app.router.middleware_stack, app.router)
    app.router.middleware_stack = ExactDispatch(narrowed, exact, app.router)
    # Innermost: the plain ASGI endpoints among them skip the exception middleware as well.
    app.add_middleware(ExactDispatch, table=plain_routes(exact), router=app.router)
    # Outermost last: metrics see every request; authentication runs before any body is read.
    if built.db.dialect == "sqlite":
        app.add_middleware(InlineReads)  # see server/_route.py
    app.add_middleware(BodyLimit, max_bytes=built.settings.max_request_mb * 1024 * 1024)
    app.add_middleware(
        AuthMiddleware,
        auth=built.auth,
        events=built.events,
        settings=built.settings,
        # Read now: the middleware is built at the first request, too late to refuse to start.
        local_key=read_local_key(built.settings.local_key_file),
    )
    app.add_middleware(RefuseNulUrl)  # before authentication, which records refused paths
    app.add_middleware(MetricsMiddleware)
    return app


def _telemetry() -> dict[str, Any]:
    """FastAPI's OpenTelemetry switched off unless the operator set OpenTelemetry up (an
    ``OTEL_*`` variable, or ``FASTAPI_OTEL_AUTO_CONFIGURE``): left on, it looks for configured
    providers on every request, ~10 us of a 0.2 ms one, to find none. Dockyard's own metrics
    are Prometheus' (``/metrics``)."""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:  # older FastAPI
        return {}
    if os.environ.get("FASTAPI_OTEL_AUTO_CONFIGURE") or any(
        name.startswith("OTEL_") for name in os.environ
    ):
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}


def _paths_before(routes: Iterable[BaseRoute], router: APIRouter) -> list[str]:
    """The path templates of the routes tried before ``router``'s, in order ('' for a route
    without a path, which could match anything)."""
    found: list[str] = []

    def walk(routes: Iterable[BaseRoute]) -> bool:
        for route in routes:
            original = getattr(route, "original_router", None)
            if original is router:
                return True
            if original is not None:
                if walk(original.routes):
                    return True
            else:
                found.append(str(getattr(route, "path", "")))
        return False

    if not walk(routes):
        raise ValueError("the router is not part of the app")
    return found


def _log_access_to_stderr() -> None:
    access = logging.getLogger("dockyard.access")
    if not access.handlers:  # once per process, however many apps it builds
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s access %(message)s"))
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False

"""The route table of the MLflow JSON endpoints, and the one wrapper every endpoint runs through.

A handler is a plain, synchronous function ``(service, Actor, Fields) -> dict``, where the service
is the tracking service unless the endpoint names another (logged models): the wrapper reads the
request (query string for a GET, JSON body otherwise, plus the path's parameters), runs the
handler and the JSON encoding in the thread pool (the service's database calls block, and
encoding a long metric history should not stall the event loop), and turns any exception into
MLflow's error body.

An endpoint marked ``short_write`` (one metric, param or tag: a single small transaction, and
nothing written before it) runs on the event loop when the database is SQLite, where such a
write is ~0.1 ms of local calls and the hop to the pool and back cost as much again, more on a
busy machine. It runs there only if it need not wait: when another writer holds the lock, or
the commit would be the one to checkpoint the WAL, the write is refused before it begins
(:class:`~dockyard.server.store.WriterBusy`) and the handler runs in the pool as any other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from dockyard.server._auth import actor_of
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.mlflow._errors import error_response
from dockyard.server.compat.mlflow._fields import Fields, parse_body
from dockyard.server.store import WriterBusy
from dockyard.server.tracking import TrackingService

__all__ = ["Endpoint", "Handler", "json_endpoint", "services_of"]

Handler = Callable[[TrackingService, Actor, Fields], dict[str, Any]]


def _tracking(services: Services) -> TrackingService:
    return services.tracking


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One MLflow endpoint: its path under ``/api/2.0/mlflow/``, methods and handler, and which
    of the server's services the handler is given (the tracking service by default)."""

    path: str
    methods: tuple[str, ...]
    handler: Callable[[Any, Actor, Fields], dict[str, Any]]
    service: Callable[[Services], Any] = field(default=_tracking)
    short_write: bool = False


def services_of(request: Request) -> Services:
    """The services of the app serving ``request``."""
    return cast(Services, request.app.state.services)


async def _fields(request: Request) -> Fields:
    # MLflow clients send GET parameters in the query string; a GET with a JSON body is still
    # read, as MLflow's server reads one when the query string is empty.
    path = request.path_params
    if request.method == "GET" and request.query_params:
        return Fields(request.query_params, path=path)
    return Fields(parse_body(await request.body()), path=path)


def _call(
    handler: Callable[[Any, Actor, Fields], dict[str, Any]],
    service: Any,
    actor: Actor,
    fields: Fields,
) -> bytes:
    return orjson.dumps(handler(service, actor, fields))


def json_endpoint(
    handler: Callable[[Any, Actor, Fields], dict[str, Any]],
    service: Callable[[Services], Any] = _tracking,
    *,
    short_write: bool = False,
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler as a Starlette endpoint that speaks MLflow's JSON and errors."""

    async def endpoint(request: Request) -> Response:
        try:
            fields = await _fields(request)
            services = services_of(request)
            given = service(services)
            actor = actor_of(request.scope)
            if short_write and services.db.dialect == "sqlite":
                try:
                    with services.db.without_waiting():
                        body = _call(handler, given, actor, fields)
                except WriterBusy:  # refused before it began: nothing was written
                    body = await run_in_threadpool(_call, handler, given, actor, fields)
            else:
                body = await run_in_threadpool(_call, handler, given, actor, fields)
        except Exception as exc:  # every failure becomes MLflow's error body, never a 500 page
            return error_response(exc, request)
        return Response(body, media_type="application/json")

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint

"""The route table of the MLflow JSON endpoints, and the one wrapper every endpoint runs through.

A handler is a plain, synchronous function ``(service, Actor, Fields) -> dict``, where the service
is the tracking service unless the endpoint names another (logged models): the wrapper reads the
request (query string for a GET, JSON body otherwise, plus the path's parameters), runs the
handler and the JSON encoding in the thread pool (the service's database calls block, and
encoding a long metric history should not stall the event loop), and turns any exception into
MLflow's error body.

Each endpoint is a plain ASGI app (:class:`JsonEndpoint`): the route hands it the request as it
is, and it answers with two messages, without Starlette's ``Request``, ``Response`` and the
exception wrapper around them, which its own catch-all makes redundant. An MLflow client calls
these in loops (a ``log_metric`` per step), where that wrapping was a tenth of the server's
time for the call; a failure still builds MLflow's error response the usual way.

An endpoint marked ``short_write`` (one metric, param or tag: a single small transaction, and
nothing written before it) runs on the event loop when the database is SQLite, where such a
write is ~0.1 ms of local calls and the hop to the pool and back cost as much again, more on a
busy machine. It runs there only if it need not wait: when another writer holds the lock, or
the commit would be the one to checkpoint the WAL, the write is refused before it begins
(:class:`~dockyard.server.store.WriterBusy`) and the handler runs in the pool as any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from dockyard.server._asgi import read_body, send_body
from dockyard.server._auth import actor_of
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.mlflow._errors import error_response
from dockyard.server.compat.mlflow._fields import Fields, parse_body
from dockyard.server.store import WriterBusy
from dockyard.server.tracking import TrackingService

__all__ = ["Endpoint", "Handler", "JsonEndpoint", "json_endpoint", "services_of"]

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


async def _fields(scope: Scope, receive: Receive) -> Fields:
    # MLflow clients send GET parameters in the query string; a GET with a JSON body is still
    # read, as MLflow's server reads one when the query string is empty.
    path = scope.get("path_params") or {}
    query = scope.get("query_string", b"")
    if scope["method"] == "GET" and query:
        return Fields(QueryParams(query), path=path)
    return Fields(parse_body(await read_body(receive)), path=path)


def _call(
    handler: Callable[[Any, Actor, Fields], dict[str, Any]],
    service: Any,
    actor: Actor,
    fields: Fields,
) -> bytes:
    return orjson.dumps(handler(service, actor, fields))


class JsonEndpoint:
    """A handler as an ASGI app that speaks MLflow's JSON and errors (see the module doc).

    Args:
        handler: ``(service, Actor, Fields) -> dict``, run in the thread pool (on the event
            loop for a ``short_write`` on SQLite that need not wait).
        service: Which of the server's services the handler is given.
        short_write: One small write, nothing written before it.
    """

    def __init__(
        self,
        handler: Callable[[Any, Actor, Fields], dict[str, Any]],
        service: Callable[[Services], Any] = _tracking,
        *,
        short_write: bool = False,
    ) -> None:
        self.handler = handler
        self.service = service
        self.short_write = short_write
        self.__name__ = handler.__name__  # the route's name, as for a function endpoint
        self.__doc__ = handler.__doc__

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.handler
        try:
            fields = await _fields(scope, receive)
            services: Services = scope["app"].state.services
            given = self.service(services)
            actor = actor_of(scope)
            if self.short_write and services.db.dialect == "sqlite":
                try:
                    with services.db.without_waiting():
                        body = _call(handler, given, actor, fields)
                except WriterBusy:  # refused before it began: nothing was written
                    body = await run_in_threadpool(_call, handler, given, actor, fields)
            else:
                body = await run_in_threadpool(_call, handler, given, actor, fields)
        except Exception as exc:  # every failure becomes MLflow's error body, never a 500 page
            await error_response(exc, Request(scope))(scope, receive, send)
            return
        await send_body(send, body, b"application/json")


def json_endpoint(
    handler: Callable[[Any, Actor, Fields], dict[str, Any]],
    service: Callable[[Services], Any] = _tracking,
    *,
    short_write: bool = False,
) -> JsonEndpoint:
    """Wrap a handler as an ASGI endpoint that speaks MLflow's JSON and errors."""
    return JsonEndpoint(handler, service, short_write=short_write)

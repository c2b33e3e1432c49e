"""The route class of the native API: a plain ``def`` handler costs one thread hop, not two,
and a short read on SQLite costs none.

FastAPI runs a synchronous handler in the thread pool, then goes back to the pool to validate
its return value against the response model before encoding it on the event loop: two hops
per request, each ~0.1 ms on a busy machine, more than a small request's own work. Here the
handler is wrapped as a coroutine that runs it in the pool, so FastAPI treats the route as
``async`` and checks the result on the loop. The handler itself still runs off the loop (its
database calls block), and the check is cheap: handlers return the response model's own
instances, which pydantic passes through without re-validating. Signature, name, docstring
and return annotation are the handler's, so parameters, dependencies and the OpenAPI document
are unchanged.

A handler marked :func:`short_read` (one object by id: a handful of indexed SELECTs) runs on
the loop itself when the app's database is SQLite (:class:`InlineReads` says so per request):
there the read is a local call of ~0.1 ms that never waits for a lock (WAL readers do not
queue behind writers), cheaper than the hop, and the hop would not have let the loop run
meanwhile anyway (the read is Python holding the GIL). On PostgreSQL every read is a network
round trip and stays in the pool.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["InlineReads", "OneHopRoute", "one_hop", "run_handler", "short_read"]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")

_SHORT_READ = "__dockyard_short_read__"
# Set per request by InlineReads: several apps (SQLite and PostgreSQL) may share a process and
# the module-level routers, so the choice cannot live on the route.
_reads_inline: ContextVar[bool] = ContextVar("dockyard_reads_inline", default=False)


def short_read(endpoint: F) -> F:
    """Mark a sync handler whose work is a short read, to run on the loop where that is safe."""
    setattr(endpoint, _SHORT_READ, True)
    return endpoint


def one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` as a coroutine function that runs it in the thread pool, when it is sync
    (inline instead when it is a :func:`short_read` and the request allows it)."""
    if inspect.iscoroutinefunction(endpoint) or not inspect.isfunction(endpoint):
        return endpoint
    if inspect.isgeneratorfunction(endpoint):
        return endpoint  # FastAPI streams these itself

    if getattr(endpoint, _SHORT_READ, False):

        @functools.wraps(endpoint)
        async def inline_or_pool(*args: Any, **kwargs: Any) -> Any:
            return await run_handler(endpoint, *args, **kwargs)

        return inline_or_pool

    @functools.wraps(endpoint)
    async def in_pool(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return in_pool


async def run_handler(handler: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Run a sync ``handler`` in the thread pool, or on the loop when it is a
    :func:`short_read` and the request allows that (for handlers a route dispatches itself,
    such as an adapter's actions)."""
    if getattr(handler, _SHORT_READ, False) and _reads_inline.get():
        return handler(*args, **kwargs)
    return await run_in_threadpool(handler, *args, **kwargs)


class OneHopRoute(APIRoute):
    """An :class:`~fastapi.routing.APIRoute` whose sync handler runs via :func:`one_hop`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, one_hop(endpoint), **kwargs)


class InlineReads:
    """ASGI middleware that lets :func:`short_read` handlers run on the loop (SQLite only)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _reads_inline.set(True)
        try:
            await self.app(scope, receive, send)
        finally:
            _reads_inline.reset(token)

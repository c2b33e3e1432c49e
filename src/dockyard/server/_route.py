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

A handler marked :func:`waits` (it waits, up to minutes, for work it started: CreateModel of a
``model.tar.gz`` for the job that unpacks it) runs on threads of its own, at most
:data:`WAITING_THREADS` at a time per event loop: the shared pool serves every other request,
signing in included, and a caller sending forty such calls at once would otherwise hold all of
it until their jobs ended, and the whole server with it.

A dependency marked :func:`from_request` (the app's services, who is asking: values read off
the request) is computed by the route's own wrapper rather than by FastAPI: FastAPI solves each
dependency as a small dependency tree of its own (cache key, scopes, parameters of its own,
the call), and for a small GET its two or three such dependencies took a third of the server
time. The wrapper's signature takes the request instead, so what FastAPI sees and documents is
otherwise the handler's.

Its requests' JSON bodies nest at most ``LIMITS.json_depth`` levels (:class:`_CheckedJson`):
Python's parser takes a thousand, orjson writes 254, and a value kept from a deeper body (a
published message, a trigger's input) failed later, when an event or a stored spec was
written, as a 500.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import typing
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Annotated, Any, Final, TypeVar
from weakref import WeakKeyDictionary

import anyio
import anyio.to_thread
import orjson
from fastapi.params import Depends
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dockyard.json_depth import nests_deeper
from dockyard.limits import LIMITS

__all__ = [
    "WAITING_THREADS",
    "InlineReads",
    "OneHopRoute",
    "from_request",
    "one_hop",
    "run_handler",
    "short_read",
    "waits",
]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")

_SHORT_READ = "__dockyard_short_read__"
_WAITS = "__dockyard_waits__"
_FROM_REQUEST = "__dockyard_from_request__"
# The request parameter a wrapper adds when its handler takes none of its own.
_ADDED_REQUEST = "dockyard_request_"
#: Threads the :func:`waits` handlers of one event loop hold at most; more calls queue for one
#: (holding no thread) rather than take the shared pool's.
WAITING_THREADS: Final = 8
_waiting: WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = WeakKeyDictionary()
# Set per request by InlineReads: several apps (SQLite and PostgreSQL) may share a process and
# the module-level routers, so the choice cannot live on the route.
_reads_inline: ContextVar[bool] = ContextVar("dockyard_reads_inline", default=False)


def short_read(endpoint: F) -> F:
    """Mark a sync handler whose work is a short read, to run on the loop where that is safe."""
    setattr(endpoint, _SHORT_READ, True)
    return endpoint


def waits(handler: F) -> F:
    """Mark a sync handler that may wait minutes for other work, to run on threads of its own
    rather than the pool every request shares."""
    setattr(handler, _WAITS, True)
    return handler


def from_request(provider: Callable[[Request], Any]) -> Callable[[F], F]:
    """Mark a dependency whose value ``provider`` reads off the request alone, for the routes
    of :class:`OneHopRoute` to compute themselves (see the module's docstring)."""

    def mark(dependency: F) -> F:
        setattr(dependency, _FROM_REQUEST, provider)
        return dependency

    return mark


def _provider(hint: Any) -> Callable[[Request], Any] | None:
    """The :func:`from_request` provider of a parameter annotated ``hint``, if it has one."""
    if typing.get_origin(hint) is not Annotated:
        return None
    found = [m for m in hint.__metadata__ if isinstance(m, Depends)]
    if len(found) != 1:
        return None
    provider: Callable[[Request], Any] | None = getattr(found[0].dependency, _FROM_REQUEST, None)
    return provider


def _with_request_values(handler: Callable[..., Any], endpoint: Callable[..., Any]) -> Any:
    """``handler`` (a coroutine function standing for ``endpoint``) taking the request in place
    of ``endpoint``'s :func:`from_request` dependencies, which it computes from it; ``handler``
    itself when there are none."""
    try:
        hints = typing.get_type_hints(endpoint, include_extras=True)
    except (NameError, TypeError):  # an annotation FastAPI resolves its own way
        return handler
    providers: list[tuple[str, Callable[[Request], Any]]] = []
    kept: list[inspect.Parameter] = []
    request_name = ""
    for param in inspect.signature(endpoint).parameters.values():
        hint = hints.get(param.name, param.annotation)
        provider = _provider(hint)
        if provider is not None and param.default is inspect.Parameter.empty:
            providers.append((param.name, provider))
            continue
        if inspect.isclass(hint) and issubclass(hint, Request):
            request_name = param.name
        # Keyword-only: FastAPI passes every value by name, and parameters with defaults may
        # now come before those without.
        kept.append(param.replace(annotation=hint, kind=inspect.Parameter.KEYWORD_ONLY))
    if not providers:
        return handler
    added = not request_name
    if added:
        request_name = _ADDED_REQUEST
        kept.append(
            inspect.Parameter(request_name, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        )

    @functools.wraps(endpoint)
    async def resolved(**values: Any) -> Any:
        request: Request = values.pop(request_name) if added else values[request_name]
        for name, provide in providers:
            values[name] = provide(request)
        return await handler(**values)

    returns = hints.get("return", inspect.Signature.empty)
    resolved.__signature__ = inspect.Signature(kept, return_annotation=returns)  # type: ignore[attr-defined]
    return resolved


def _waiting_threads() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _waiting.get(loop)
    if limiter is None:
        limiter = _waiting[loop] = anyio.CapacityLimiter(WAITING_THREADS)
    return limiter


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
    if getattr(handler, _WAITS, False):
        call = functools.partial(handler, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, limiter=_waiting_threads())
    return await run_in_threadpool(handler, *args, **kwargs)


class _CheckedJson(Request):
    """A request whose JSON body is refused, as malformed JSON saying so, when it nests deeper
    than ``LIMITS.json_depth`` levels."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            depth = LIMITS.json_depth
            try:
                value = orjson.loads(body)  # three times faster than Python's parser
            except orjson.JSONDecodeError:
                # What orjson refuses and Python's parser takes (NaN and Infinity, UTF-16),
                # or malformed JSON, which Python's parser then names as it always has.
                try:
                    value = json.loads(body)
                except RecursionError:
                    raise _malformed(f"the body nests deeper than {depth} levels", body) from None
            if nests_deeper(value, depth, size=len(body)):
                raise _malformed(f"the body nests deeper than {depth} levels", body)
            self._json = value
        return self._json


def _malformed(message: str, body: bytes) -> json.JSONDecodeError:
    return json.JSONDecodeError(message, body.decode("utf-8", "replace")[:100], 0)


class OneHopRoute(APIRoute):
    """An :class:`~fastapi.routing.APIRoute` whose sync handler runs via :func:`one_hop`, whose
    :func:`from_request` dependencies its wrapper computes, and whose JSON bodies are checked
    (:class:`_CheckedJson`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        handler = one_hop(endpoint)
        if inspect.iscoroutinefunction(handler):
            handler = _with_request_values(handler, endpoint)
        super().__init__(path, handler, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            return await handler(_CheckedJson(request.scope, request.receive))

        return checked


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

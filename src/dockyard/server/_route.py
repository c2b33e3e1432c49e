"""The route class of the native API: a plain ``def`` handler costs one thread hop, not two.

FastAPI runs a synchronous handler in the thread pool, then goes back to the pool to validate
its return value against the response model before encoding it on the event loop: two hops
per request, each ~0.1 ms on a busy machine, more than a small request's own work. Here the
handler is wrapped as a coroutine that runs it in the pool, so FastAPI treats the route as
``async`` and checks the result on the loop. The handler itself still runs off the loop (its
database calls block), and the check is cheap: handlers return the response model's own
instances, which pydantic passes through without re-validating. Signature, name, docstring
and return annotation are the handler's, so parameters, dependencies and the OpenAPI document
are unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

__all__ = ["OneHopRoute", "one_hop"]


def one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` as a coroutine function that runs it in the thread pool, when it is sync."""
    if inspect.iscoroutinefunction(endpoint) or not inspect.isfunction(endpoint):
        return endpoint
    if inspect.isgeneratorfunction(endpoint):
        return endpoint  # FastAPI streams these itself

    @functools.wraps(endpoint)
    async def in_pool(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return in_pool


class OneHopRoute(APIRoute):
    """An :class:`~fastapi.routing.APIRoute` whose sync handler runs via :func:`one_hop`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, one_hop(endpoint), **kwargs)

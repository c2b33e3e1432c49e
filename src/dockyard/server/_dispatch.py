"""Exact-path dispatch in front of the app's router, for the routes a client calls in a loop.

FastAPI finds a route by trying every route in order (~110 of them, the MLflow adapter's last),
and tries each included router twice (once to select it, once inside it): an MLflow client's
``log-metric`` paid ~1 ms of route matching per call, more than the handler and its database
write. :class:`ExactDispatch` looks a path up in a dict first and calls the route it finds
directly; anything it does not know goes through the router as before.

Only routes whose path has no parameters are taken, and only where no route earlier in the
app's order could answer the same path (:func:`exact_routes` checks this when the app is
built), so a request reaches exactly the route the router would have chosen. A method a path
does not serve is left to the router too, which answers it as it always did (MLflow's
``ENDPOINT_NOT_FOUND`` for the adapter's paths). The routes stay in the app's route table, where
the OpenAPI document, the permission rules and ``url_path_for`` find them.

The routes whose endpoint is a plain ASGI app (the MLflow adapter's JSON endpoints, AWS's
``POST /``: each reads the request, answers and turns every exception into its protocol's
error body itself) are dispatched one step earlier still, inside the app's own middleware
(:func:`plain_routes`): Starlette's exception middleware, FastAPI's exit stack for
dependencies and the router have nothing to do for them, and passing through them cost a
tenth of a ``DescribeExecution``'s server time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Route, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["ExactDispatch", "exact_routes", "plain_routes"]


def exact_routes(
    routes: Iterable[BaseRoute], earlier_prefixes: Sequence[str]
) -> dict[str, list[Route]]:
    """Parameterless Starlette routes by path, in the order given.

    Args:
        routes: Candidates, in the app's order.
        earlier_prefixes: The literal prefixes (the path up to the first parameter) of every
            route the app tries before ``routes``. A candidate path one of them could match is
            refused, so dispatch never jumps ahead of the router's own order.

    Raises:
        ValueError: When a candidate could be shadowed by an earlier route.
    """
    table: dict[str, list[Route]] = {}
    for route in routes:
        if type(route) is not Route or "{" in route.path:
            continue
        path = route.path
        if any(path.startswith(prefix) for prefix in earlier_prefixes):
            raise ValueError(f"{path} may be answered by an earlier route; not dispatched")
        table.setdefault(path, []).append(route)
    return table


def plain_routes(table: dict[str, list[Route]]) -> dict[str, list[Route]]:
    """The paths of ``table`` every route of which serves a plain ASGI app as its endpoint
    (Starlette wraps a function endpoint; such an app must catch its own exceptions)."""
    return {
        path: routes
        for path, routes in table.items()
        if all(route.app is route.endpoint for route in routes)
    }


def literal_prefix(path: str) -> str:
    """The part of a route's path before its first parameter (a match must start with it)."""
    compile_path(path)  # refuses malformed templates
    return path.split("{", 1)[0]


class ExactDispatch:
    """Answer known paths from a dict; hand everything else to ``app`` (the router).

    Args:
        app: The router's own dispatch, for every request not in ``table``.
        table: Parameterless routes by path (:func:`exact_routes`).
        router: Recorded in the scope as the router that chose the route, as it records itself.
    """

    def __init__(self, app: ASGIApp, table: dict[str, list[Route]], router: object) -> None:
        self.app = app
        self.table = table
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            routes = self.table.get(get_route_path(scope))
            if routes is not None:
                method = scope["method"]
                for route in routes:
                    # A route without methods serves none here: leave such paths to the router.
                    if route.methods is not None and method in route.methods:
                        scope.setdefault("router", self.router)
                        scope["endpoint"] = route.endpoint
                        scope["path_params"] = {}
                        scope["route"] = route
                        await route.app(scope, receive, send)
                        return
        await self.app(scope, receive, send)

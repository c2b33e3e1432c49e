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

Every other request goes to the router over only the entries whose routes' literal prefixes
its path starts with (:class:`PrefixDispatch`), and to the whole router when none of those
fully matches it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from copy import copy as copy_of

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Route, Router, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["ExactDispatch", "PrefixDispatch", "exact_routes", "plain_routes"]


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


class PrefixDispatch:
    """Run the router over only the routes that could match a request's path.

    FastAPI tries the app's routes in order, each included router's in turn, until one matches:
    a request for ``/api/v1/whoami`` was matched against ~90 routes first (about half of its
    server time). A route can match a path only if the path starts with the route's literal
    prefix (:func:`literal_prefix`), so this keeps, for each entry of the app's table (a route,
    or an included router with all of its routes), the prefixes any of its routes could match,
    and hands the request to a copy of the router whose table holds only the entries with one
    that the path starts with, in their order, then :class:`_Rest`.

    The copy's first full match is the router's own: every entry left out cannot match the
    path at all. Anything else (no route, a route of another method, a slash to redirect, a
    low-priority route) reaches ``_Rest``, which hands the request to the whole router, so it is
    answered exactly as before. An entry whose routes this cannot read (a host, an unknown
    kind) is kept for every path. The copies are made once per set of entries and kept.

    Args:
        app: The router's own dispatch, for what is not HTTP.
        router: The app's router.
    """

    _MAX_COPIES = 256

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router
        self._table = [(i, _prefixes(entry)) for i, entry in enumerate(router.routes)]
        self._copies: dict[tuple[int, ...], Router] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        narrowed = self.narrowed(get_route_path(scope))
        if narrowed is None:
            await self.app(scope, receive, send)
            return
        scope.setdefault("router", self.router)  # url_for sees every route
        await narrowed.app(scope, receive, send)

    def narrowed(self, path: str) -> Router | None:
        """The router over the entries that could match ``path`` (None: the whole one)."""
        slashed = path.rstrip("/") + "/"  # what a redirect of the slash would try
        key = tuple(
            i
            for i, prefixes in self._table
            if prefixes is None or path.startswith(prefixes) or slashed.startswith(prefixes)
        )
        found = self._copies.get(key)
        if found is None:
            if len(self._copies) >= self._MAX_COPIES:
                return None
            found = self._copies[key] = copy_of(self.router)
            found.routes = [*(self.router.routes[i] for i in key), _Rest(self.app)]
        return found


class _Rest(BaseRoute):
    """Last in a narrowed table: matches everything, and hands it to the whole router."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return Match.FULL, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _prefixes(entry: BaseRoute, base: str = "") -> tuple[str, ...] | None:
    """The literal prefixes of the paths ``entry`` may match; None when it may match any."""
    original = getattr(entry, "original_router", None)
    context = getattr(entry, "include_context", None)
    if original is not None and context is not None:  # an included router: all its routes
        base += getattr(context, "prefix", "") or ""
        found: set[str] = set()
        for route in original.routes:
            inner = _prefixes(route, base)
            if inner is None:
                return None
            found.update(inner)
        kept: list[str] = []
        for prefix in sorted(found):  # a prefix after one it starts with adds nothing
            if not kept or not prefix.startswith(tuple(kept)):
                kept.append(prefix)
        return tuple(kept)
    path = getattr(entry, "path", None)
    if isinstance(entry, (Route, Mount)) and isinstance(path, str):
        return (literal_prefix(base + path),)
    return None

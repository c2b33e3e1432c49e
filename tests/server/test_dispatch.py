"""Exact-path dispatch of the MLflow and AWS adapters, and the native API's one-hop routes."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import ResponseValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import BaseRoute, Match, Route

from dockyard.client.http import Client
from dockyard.server import Services, create_app
from dockyard.server._dispatch import ExactDispatch, PrefixDispatch, exact_routes, plain_routes
from dockyard.server._inprocess import InProcessTransport
from dockyard.server._route import InlineReads, OneHopRoute, from_request, one_hop, short_read


def _flat(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from _flat(original.routes)
        else:
            yield route


def _raw(api: Client, method: str, path: str, **kw: Any) -> httpx.Response:
    return api._http.request(method, path, **kw)


def test_dispatch_picks_the_route_the_router_would(services: Services) -> None:
    app = create_app(services=services)
    dispatch = app.router.middleware_stack
    assert isinstance(dispatch, ExactDispatch)
    assert "/api/2.0/mlflow/runs/log-metric" in dispatch.table
    assert "/ajax-api/2.0/mlflow/experiments/get" in dispatch.table
    assert "/" in dispatch.table  # the AWS adapters' POST /
    in_order = list(_flat(app.routes))
    checked = 0
    for path, routes in dispatch.table.items():
        for route in routes:
            for method in route.methods or ():
                scope = {"type": "http", "path": path, "root_path": "", "method": method}
                first = next(r for r in in_order if r.matches(scope)[0] is Match.FULL)
                assert first is route, (method, path)
                checked += 1
    assert checked > 50


def test_a_route_an_earlier_one_could_answer_is_refused() -> None:
    async def endpoint(request: Any) -> Any:
        raise AssertionError("not called")

    late = Route("/api/2.0/mlflow/runs/get", endpoint, methods=["GET"])
    assert exact_routes([late], ["/api/v1/"]) == {"/api/2.0/mlflow/runs/get": [late]}
    with pytest.raises(ValueError, match="earlier route"):
        exact_routes([late], ["/api/v1/", "/api/"])
    with pytest.raises(ValueError):
        exact_routes([late], [""])  # a route with no path could match anything


def test_plain_asgi_endpoints_are_dispatched_before_the_exception_middleware() -> None:
    async def function(request: Any) -> Any:
        raise AssertionError("not called")

    class Plain:
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            raise AssertionError("not called")

    plain = Plain()
    wrapped = Route("/f", function, methods=["POST"])
    served = Route("/p", plain, methods=["POST"])
    mixed = [Route("/m", plain, methods=["POST"]), Route("/m", function, methods=["GET"])]
    table = {"/f": [wrapped], "/p": [served], "/m": mixed}
    assert plain_routes(table) == {"/p": [served]}


def test_the_adapters_plain_endpoints_skip_the_routers_layers(services: Services) -> None:
    app = create_app(services=services)
    layer: Any = app.build_middleware_stack()
    front = None
    while front is None and hasattr(layer, "app"):
        if isinstance(layer, ExactDispatch):
            front = layer
        layer = layer.app
    assert front is not None, "no dispatch among the app's middleware"
    assert "/" in front.table  # AWS's POST /
    assert "/api/2.0/mlflow/runs/log-metric" in front.table
    # Inside it, the exception middleware and the router, which still dispatch the rest.
    assert front.app is not app.router.middleware_stack
    assert all(r.app is r.endpoint for routes in front.table.values() for r in routes)


def test_dispatched_requests_answer_as_before(api: Client) -> None:
    made = _raw(api, "POST", "/api/2.0/mlflow/experiments/create", json={"name": "d"})
    assert made.status_code == 200
    exp = made.json()["experiment_id"]
    got = _raw(api, "GET", "/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": exp})
    assert got.json()["experiment"]["name"] == "d"
    # A method the path does not serve is the router's: MLflow's ENDPOINT_NOT_FOUND.
    wrong = _raw(api, "DELETE", "/api/2.0/mlflow/experiments/get")
    assert wrong.status_code == 404
    assert wrong.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    missing = _raw(api, "GET", "/api/2.0/mlflow/experiments/get", params={"experiment_id": "9"})
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    text = _raw(api, "GET", "/metrics").text
    assert 'route="/ajax-api/2.0/mlflow/experiments/get"' in text


class _Answer(BaseModel):
    thread: str


def test_one_hop_runs_sync_handlers_off_the_loop_and_keeps_their_signature() -> None:
    app = FastAPI()
    loop_thread: list[str] = []

    @app.middleware("http")
    async def note_loop(request: Any, call_next: Any) -> Any:
        loop_thread.append(threading.current_thread().name)
        return await call_next(request)

    def answer(name: str, count: int = 1) -> _Answer:
        """Doc kept."""
        return _Answer(thread=threading.current_thread().name)

    def wrong() -> _Answer:
        return {"thread": 3}  # type: ignore[return-value]

    app.router.route_class = OneHopRoute
    app.get("/answer/{name}")(answer)
    app.get("/wrong")(wrong)
    wrapped = one_hop(answer)
    assert wrapped.__name__ == "answer" and wrapped.__doc__ == "Doc kept."
    assert one_hop(wrapped) is wrapped  # already a coroutine function
    transport = InProcessTransport(app)
    with httpx.Client(transport=transport, base_url="http://test") as client:
        body = client.get("/answer/x", params={"count": 2}).json()
        assert body["thread"] != loop_thread[-1]
        assert client.get("/answer/x", params={"count": "many"}).status_code == 422
        with pytest.raises(ResponseValidationError):  # the response model still checks
            client.get("/wrong")
        schema = client.get("/openapi.json").json()["paths"]["/answer/{name}"]["get"]
        assert schema["operationId"].startswith("answer")
        assert [p["name"] for p in schema["parameters"]] == ["name", "count"]


def test_short_reads_run_on_the_loop_only_where_the_app_allows_it() -> None:
    def build(inline: bool) -> tuple[FastAPI, list[str]]:
        app = FastAPI()
        loop_thread: list[str] = []

        @app.middleware("http")
        async def note_loop(request: Any, call_next: Any) -> Any:
            loop_thread.append(threading.current_thread().name)
            return await call_next(request)

        @short_read
        def read(name: str) -> _Answer:
            """A short read."""
            return _Answer(thread=threading.current_thread().name)

        def other() -> _Answer:
            return _Answer(thread=threading.current_thread().name)

        app.router.route_class = OneHopRoute
        app.get("/read/{name}")(read)
        app.get("/other")(other)
        if inline:
            app.add_middleware(InlineReads)
        return app, loop_thread

    for inline in (True, False):
        app, loop_thread = build(inline)
        with httpx.Client(transport=InProcessTransport(app), base_url="http://test") as client:
            read = client.get("/read/x").json()["thread"]
            assert (read == loop_thread[-1]) is inline
            # Only marked handlers: every other sync handler still runs in the pool.
            assert client.get("/other").json()["thread"] != loop_thread[-1]
            schema = client.get("/openapi.json").json()["paths"]["/read/{name}"]["get"]
            assert schema["summary"] == "Read" and schema["description"] == "A short read."


_solved: list[str] = []


def _provide(request: Request) -> str:
    return f"value-of-{request.url.path}"


@from_request(_provide)
async def _dependency(request: Request) -> str:
    _solved.append(request.url.path)
    return _provide(request)


# At module level: annotations are resolved in the handler's module.
_Value = Annotated[str, Depends(_dependency)]


def test_from_request_dependencies_are_computed_by_the_route_not_solved_by_fastapi() -> None:
    solved = _solved
    solved.clear()

    def sync(name: str, value: _Value, count: int = 1) -> dict[str, Any]:
        """Doc kept."""
        return {"name": name, "value": value, "count": count}

    async def own_request(request: Request, value: _Value, flag: bool = False) -> dict[str, Any]:
        return {"value": value, "path": request.url.path, "flag": flag}

    def build(route_class: type[APIRoute]) -> FastAPI:
        app = FastAPI()
        app.router.route_class = route_class
        app.get("/sync/{name}")(sync)
        app.get("/own")(own_request)
        return app

    one_hop_app, plain_app = build(OneHopRoute), build(APIRoute)
    with httpx.Client(transport=InProcessTransport(one_hop_app), base_url="http://t") as client:
        assert client.get("/sync/x", params={"count": 2}).json() == {
            "name": "x",
            "value": "value-of-/sync/x",
            "count": 2,
        }
        assert client.get("/own", params={"flag": "true"}).json() == {
            "value": "value-of-/own",
            "path": "/own",
            "flag": True,
        }
        refused = client.get("/sync/x", params={"count": "many"})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["query", "count"]
        assert solved == []
        schema = client.get("/openapi.json").json()
    with httpx.Client(transport=InProcessTransport(plain_app), base_url="http://t") as client:
        assert client.get("/sync/x").json()["value"] == "value-of-/sync/x"
        assert solved == ["/sync/x"]  # a route of another class still solves it
        assert client.get("/openapi.json").json() == schema


def test_no_native_route_leaves_a_from_request_dependency_to_fastapi(services: Services) -> None:
    """Every handler's annotations resolve, so none pays for solving them per request."""
    app = create_app(services=services)
    left: list[str] = []

    def walk(routes: Iterable[BaseRoute]) -> None:
        for route in routes:
            original = getattr(route, "original_router", None)
            if original is not None:
                walk(original.routes)
            elif isinstance(route, OneHopRoute):
                for dependency in route.dependant.dependencies:
                    if getattr(dependency.call, "__dockyard_from_request__", None):
                        left.append(f"{route.path} {dependency.call}")

    walk(app.router.routes)
    assert left == []


def test_healthz_is_matched_before_the_other_routes(api: Client, services: Services) -> None:
    app = create_app(services=services)
    paths = [getattr(route, "path", None) for route in app.router.routes]
    assert paths[:2] == ["/endpoints/{name}/invocations", "/healthz"]
    assert paths.count("/healthz") == 1
    assert _raw(api, "GET", "/healthz").json()["status"] == "ok"


def _sample(path: str) -> str:
    """A concrete path a template matches: each parameter filled in."""
    parts = []
    for piece in path.split("{"):
        name, _, rest = piece.partition("}") if "}" in piece else ("", "", piece)
        if name:
            parts.append("a/b" if name.endswith(":path") else "x1")
        parts.append(rest)
    return "".join(parts)


def _first_full(routes: list[BaseRoute], scope: dict[str, Any]) -> BaseRoute | None:
    # As the router tries its table: each entry on its own copy of the request's scope.
    return next((r for r in routes if r.matches(dict(scope))[0] is Match.FULL), None)


def test_narrowed_routing_picks_the_entry_the_whole_router_would(services: Services) -> None:
    app = create_app(services=services)
    exact = app.router.middleware_stack
    assert isinstance(exact, ExactDispatch)
    narrowing = exact.app
    assert isinstance(narrowing, PrefixDispatch)
    paths = {
        _sample(r.path) for r in _flat(app.routes) if isinstance(getattr(r, "path", None), str)
    }
    # Near misses too: a slash more or less, an unknown tail, an unknown prefix.
    paths |= {p + "/" for p in list(paths)} | {p.rstrip("/") or "/" for p in list(paths)}
    paths |= {p + "/nope" for p in list(paths)} | {"/nope", "/api/v1/nope", "/api/2.0/mlflow/x"}
    narrowed_some = answered = 0
    for path in sorted(paths):
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            scope = {"type": "http", "path": path, "root_path": "", "method": method}
            whole = _first_full(app.router.routes, scope)
            narrowed = narrowing.narrowed(path)
            assert narrowed is not None
            narrowed_some += len(narrowed.routes) < len(app.router.routes)
            chosen = _first_full(narrowed.routes, scope)
            # The entry the router would pick, or, where it picks none (404, 405, a slash to
            # redirect), the rest, which hands the request to the whole router.
            assert chosen is (whole if whole is not None else narrowed.routes[-1]), (method, path)
            answered += whole is not None
    assert narrowed_some > 500 and answered > 200


def test_narrowed_routing_answers_as_the_router_did(services: Services) -> None:
    app = create_app(services=services)
    with Client("http://dockyard.test", transport=InProcessTransport(app)) as api:
        assert _raw(api, "GET", "/api/v1/whoami").status_code == 200
        assert _raw(api, "GET", "/api/v1/runs/nope").status_code == 404  # the route's own
        unknown = _raw(api, "GET", "/api/v1/nothing-here")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
        assert _raw(api, "PATCH", "/api/v1/whoami").status_code == 405  # another method's route
        # url_for inside a narrowed request still sees every route (the API's own links).
        assert _raw(api, "GET", "/api/v1/openapi.json").status_code == 200

"""The clients' route table names routes the server serves, with the server's parameters."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.routing import BaseRoute, Route

import dockyard.client
from dockyard.client.http import Client, routes
from dockyard.errors import InvalidArgument, NotFound
from dockyard.server import Services, create_app


def _flat(found: list[BaseRoute]) -> Iterator[BaseRoute]:
    for route in found:
        original = getattr(route, "original_router", None)
        yield from _flat(original.routes) if original is not None else [route]


def test_every_client_route_is_a_server_route(services: Services) -> None:
    served = {
        (method, re.sub(r":\w+}", "}", route.path))
        for route in _flat(create_app(services=services).routes)
        if isinstance(route, Route)
        for method in route.methods or ()
    }
    table = [v for v in vars(routes).values() if isinstance(v, routes.Route)]
    assert len(table) > 40
    missing = [(r.method, r.template) for r in table if (r.method, r.template) not in served]
    assert missing == []


def test_a_call_fills_in_and_encodes_its_path() -> None:
    call = routes.GET_ARTIFACT(run_id="abc", path="model/a b.txt")
    assert call == ("GET", "/api/v1/runs/abc/artifacts/model/a%20b.txt", True)
    assert routes.CREATE_RUN().idempotent is False
    assert routes.SEARCH_RUNS().idempotent is True


def test_an_empty_path_parameter_is_refused_naming_it() -> None:
    # GET /runs/ is not a run: the server redirects it to the list of runs.
    with pytest.raises(InvalidArgument) as caught:
        routes.GET_RUN(run_id="")
    assert caught.value.field == "run_id" and caught.value.message == "run_id: must not be empty"


def test_a_redirect_is_no_answer(api: Client) -> None:
    # /runs/x/ names no run; the server redirects it without its slash. Read as an empty
    # answer, a delete of it looked done.
    with pytest.raises(NotFound) as caught:
        api.call(routes.DELETE_RUN(run_id="x/"))
    assert caught.value.message == (
        "DELETE /api/v1/runs/x/: no such resource (http://dockyard.test answered 307, a "
        "redirect to http://dockyard.test/api/v1/runs/x)"
    )


def test_get_or_create_is_one_server_call_and_takes_any_name(api: Client) -> None:
    made = api.call(routes.ENSURE_EXPERIMENT(name="/Users/me/exp one"))
    again = api.call(routes.ENSURE_EXPERIMENT(name="/Users/me/exp one"))
    assert made["experiment_id"] == again["experiment_id"]
    assert made["name"] == "/Users/me/exp one"
    found = api.call(routes.GET_EXPERIMENT_BY_NAME(name="/Users/me/exp one"))
    assert found["experiment_id"] == made["experiment_id"]
    with pytest.raises(InvalidArgument) as long:
        api.call(routes.ENSURE_EXPERIMENT(name="x" * 501))
    assert long.value.field == "name"


_CLIENT = Path(dockyard.client.__file__).parent
_NATIVE_PATH = re.compile(r"^/api/v1\b|/api/v1/")


def _native_paths(source: Path) -> list[tuple[int, str]]:
    """Each string literal (f-string parts too) of ``source`` that spells a native API path."""
    tree = ast.parse(source.read_text(), filename=str(source))
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _NATIVE_PATH.search(node.value)
    )


def test_client_code_names_native_routes_only_through_the_route_table() -> None:
    # A path written out by hand escapes test_every_client_route_is_a_server_route.
    table = _CLIENT / "http" / "routes.py"
    found = [
        f"{f.relative_to(_CLIENT)}:{line}: {text!r}"
        for f in sorted(_CLIENT.rglob("*.py"))
        if f != table
        for line, text in _native_paths(f)
    ]
    assert found == []
    assert _native_paths(table)  # the check sees the literals the table holds


def test_the_literal_check_sees_plain_and_formatted_paths(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        'a = "/api/v1/topics"\nb = f"/api/v1/jobs/{a}"\nc = "/api/v1"\n'
        'd = "(API /api/v1, MLflow /api/2.0/mlflow)"\n'
    )
    assert _native_paths(sample) == [(1, "/api/v1/topics"), (2, "/api/v1/jobs/"), (3, "/api/v1")]


def test_dot_segments_are_sent_as_names_not_resolved_away(api: Client) -> None:
    # URL normalisation (httpx's, the embedded default's transport) resolved "..": removing
    # alias ".." of model m sent DELETE /registered-models/m, deleting the model.
    assert routes.DELETE_ALIAS(name="m", alias="..").path.endswith("/m/aliases/%2E%2E")
    api.call(routes.CREATE_REGISTERED_MODEL(), {"name": "m"})
    with pytest.raises(InvalidArgument, match=r"invalid alias '\.\.'"):
        api.call(routes.DELETE_ALIAS(name="m", alias=".."))
    assert api.call(routes.GET_REGISTERED_MODEL(name="m"))["name"] == "m"
    made = api.call(routes.ENSURE_EXPERIMENT(name="a/../b"))
    assert api.call(routes.GET_EXPERIMENT_BY_NAME(name="a/../b")) == made

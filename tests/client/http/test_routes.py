"""The clients' route table names routes the server serves, with the server's parameters."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.routing import BaseRoute, Route

from dockyard.client.http import Client, routes
from dockyard.errors import InvalidArgument
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

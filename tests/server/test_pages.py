"""The lists a service answers whole (topics, subscriptions, triggers) page as every native
list does: ``max_results``, an opaque ``page_token``, ``next_page_token`` until the last page;
a token the server did not issue is refused naming it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.server.triggers.conftest import make_services, training

from dockyard.server import create_app
from dockyard.server._inprocess import InProcessTransport


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("1,2\n3,4\n")
    services = make_services(tmp_path / "home", data)
    transport = InProcessTransport(create_app(services=services), local=False)
    with httpx.Client(transport=transport, base_url="http://localhost") as made:
        for i in range(3):
            made.post("/api/v1/topics", json={"name": f"t{i}"}).raise_for_status()
            made.post(
                "/api/v1/subscriptions",
                json={"events": [f"topic.t{i}"], "endpoint": "https://hooks.example/x"},
            ).raise_for_status()
            trigger = {"name": f"r{i}", "schedule": {"cron": "@daily"}, "target": training(data)}
            made.post("/api/v1/triggers", json=trigger).raise_for_status()
        yield made
    transport.close()
    services.close()


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/api/v1/topics", "topics"),
        ("/api/v1/subscriptions", "subscriptions"),
        ("/api/v1/triggers", "triggers"),
    ],
)
def test_a_list_pages_with_max_results_and_page_token(
    client: httpx.Client, path: str, key: str
) -> None:
    whole = client.get(path).json()
    assert whole["next_page_token"] is None
    seen: list[Any] = []
    token = None
    while True:
        params = {"max_results": 1, **({"page_token": token} if token else {})}
        page = client.get(path, params=params).json()
        assert len(page[key]) == 1
        seen += page[key]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == whole[key] and len(seen) >= 3
    for params, field in (
        ({"page_token": "garbage"}, "page_token"),
        ({"max_results": 0}, "max_results"),
    ):
        refused = client.get(path, params=params)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["field"] == field

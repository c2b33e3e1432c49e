"""Where endpoints listen: loopback by default, whatever the server binds; another interface only
when the endpoint's config says so, and for the endpoint's whole life."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest
from tests.server.endpoints.conftest import ROW, wait_status
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client
from dockyard.errors import InvalidArgument

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exposed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server bound to every interface, as a team server is (here without accounts)."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("binding") / "home",
        host="0.0.0.0",
        env={
            "DOCKYARD_INSECURE": "true",
            "DOCKYARD_DATA_ROOTS": str(tmp_path_factory.getbasetemp()),  # the test models
        },
    )
    proc.start()
    yield proc
    client = Client(proc.url, retry_for=5)
    for endpoint in client.request("GET", "/api/v1/endpoints")["endpoints"]:
        client.request("DELETE", f"/api/v1/endpoints/{endpoint['name']}")
    client.close()
    proc.stop()


@pytest.fixture
def client(exposed_server: ServerProcess) -> Iterator[Client]:
    c = Client(exposed_server.url, retry_for=10)
    yield c
    c.close()


def listening(client: Client, name: str) -> set[str]:
    """The addresses the endpoint's worker processes listen on, as the kernel reports them."""
    described = client.request("GET", f"/api/v1/endpoints/{name}", params={"stats": True})
    port = int(described["url"].rsplit(":", 1)[1])
    addresses = set()
    for worker in described["stats"]["workers"]:
        for conn in psutil.Process(worker["worker"]["pid"]).net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port:
                addresses.add(conn.laddr.ip)
    return addresses


def create(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    client.request("POST", "/api/v1/endpoints", json=body)
    return wait_status(client, body["name"], "InService")


def test_endpoints_bind_loopback_even_when_the_server_binds_every_interface(
    client: Client,
    models,  # type: ignore[no-untyped-def]
) -> None:
    endpoint = create(
        client, {"name": "quiet", "variants": [{"name": "v", "model_uri": models["one"]}]}
    )
    assert endpoint["config"]["host"] == "127.0.0.1"
    assert endpoint["url"].startswith("http://127.0.0.1:")
    assert listening(client, "quiet") == {"127.0.0.1"}
    assert httpx.post(endpoint["url"] + "/invocations", json=ROW).status_code == 200


def test_an_endpoint_exposed_on_purpose_keeps_its_address_across_updates(
    client: Client,
    models,  # type: ignore[no-untyped-def]
) -> None:
    variants = [{"name": "v", "model_uri": models["one"]}]
    endpoint = create(client, {"name": "open", "host": "0.0.0.0", "variants": variants})
    assert endpoint["config"]["host"] == "0.0.0.0"
    assert endpoint["url"].startswith("http://127.0.0.1:")  # how this machine reaches it
    assert listening(client, "open") == {"0.0.0.0"}
    # An update that does not mention the address keeps it (`dockyard endpoints update --model`).
    ten = [{"name": "v", "model_uri": models["ten"]}]
    client.request("PUT", "/api/v1/endpoints/open", json={"name": "open", "variants": ten})
    updated = wait_status(client, "open", "InService")
    assert updated["config"]["host"] == "0.0.0.0" and updated["pending_config"] is None
    assert updated["config"]["variants"][0]["model_uri"] == models["ten"]
    with pytest.raises(InvalidArgument, match="keeps its host") as moved:
        client.request(
            "PUT",
            "/api/v1/endpoints/open",
            json={"name": "open", "host": "127.0.0.1", "variants": ten},
        )
    assert moved.value.field == "host"
    assert listening(client, "open") == {"0.0.0.0"}


@pytest.mark.parametrize(
    ("host", "message"),
    [("example.com", "not an IP address"), ("192.0.2.1", "cannot bind 192.0.2.1")],
    ids=["name", "not-this-machine"],
)
def test_an_address_that_cannot_be_bound_is_refused_at_submit(
    client: Client,
    models,  # type: ignore[no-untyped-def]
    host: str,
    message: str,
) -> None:
    body = {
        "name": "nowhere",
        "host": host,
        "variants": [{"name": "v", "model_uri": models["one"]}],
    }
    with pytest.raises(InvalidArgument, match=message) as caught:
        client.request("POST", "/api/v1/endpoints", json=body)
    assert caught.value.field == "host"

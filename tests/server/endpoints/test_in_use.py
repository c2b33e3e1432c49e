"""A model version an endpoint serves cannot be deleted: not through the native API, not
through MLflow's, not with ``dockyard models delete``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from tests.server.endpoints.conftest import wait_status
from tests.services.server_process import ServerProcess

from dockyard.client.cli import cli
from dockyard.client.http import Client
from dockyard.client.sdk import register_model, reset_context
from dockyard.errors import InUse, NotFound

pytestmark = pytest.mark.slow

MODEL = "in-use"
VERSION = f"/api/v1/registered-models/{MODEL}/versions"


@pytest.fixture
def served(
    client: Client,
    models,  # type: ignore[no-untyped-def]
) -> Iterator[None]:
    """Versions 1-3 of ``in-use``, ``champion`` on 2; endpoint ``pinned`` serves version 1 and
    ``@champion``, endpoint ``newest`` serves ``latest`` (3)."""
    for _ in range(3):
        register_model(models["one"], MODEL, client=client)
    client.request(
        "PUT", f"/api/v1/registered-models/{MODEL}/aliases/champion", json={"version": 2}
    )
    for name, uris in (
        ("pinned", [f"models:/{MODEL}/1", f"models:/{MODEL}@champion"]),
        ("newest", [f"models:/{MODEL}/latest"]),
    ):
        variants = [{"name": f"v{i}", "model_uri": uri} for i, uri in enumerate(uris)]
        client.request("POST", "/api/v1/endpoints", json={"name": name, "variants": variants})
    for name in ("pinned", "newest"):
        wait_status(client, name, "InService")
    yield
    for name in ("pinned", "newest"):
        _delete_endpoint(client, name)
    with contextlib.suppress(NotFound):  # the next test registers versions 1-3 again
        client.request("DELETE", f"/api/v1/registered-models/{MODEL}")


def _delete_endpoint(client: Client, name: str) -> None:
    names = [e["name"] for e in client.request("GET", "/api/v1/endpoints")["endpoints"]]
    if name in names:
        client.request("DELETE", f"/api/v1/endpoints/{name}")
    deadline = time.monotonic() + 60
    while any(e["name"] == name for e in client.request("GET", "/api/v1/endpoints")["endpoints"]):
        assert time.monotonic() < deadline
        time.sleep(0.2)


def _refused(client: Client, path: str) -> InUse:
    with pytest.raises(InUse) as caught:
        client.request("DELETE", path)
    return caught.value


def test_a_served_version_is_refused_by_number_alias_or_latest(
    client: Client, served: None
) -> None:
    by_number = _refused(client, f"{VERSION}/1")
    assert by_number.message == (
        "version 1 of model 'in-use' is served by endpoint pinned: update or delete it first"
    )
    assert by_number.details == {"endpoints": ["pinned"]} and by_number.field == "version"
    assert _refused(client, f"{VERSION}/2").details == {"endpoints": ["pinned"]}  # @champion
    assert _refused(client, f"{VERSION}/3").details == {"endpoints": ["newest"]}  # latest
    whole = _refused(client, f"/api/v1/registered-models/{MODEL}")
    assert whole.message == (
        "model 'in-use' is served by endpoints newest (version 3), pinned (version 1, 2): "
        "update or delete them first"
    )
    assert whole.details == {"endpoints": ["newest", "pinned"]}
    raw = client._http.request("DELETE", f"{VERSION}/1")
    assert raw.status_code == 409 and raw.json()["error"]["code"] == "in_use"
    # Nothing was deleted, and the endpoints still answer with their models.
    listed = client.request("GET", VERSION)["model_versions"]
    assert sorted(v["version"] for v in listed) == [1, 2, 3]
    # The endpoints serve the versions pinned when they were created: a newer version and a
    # moved alias change nothing they serve, so 3 and 2 stay protected and 4 is free.
    register_model(str(_package(client, 1)), MODEL, client=client)
    assert _refused(client, f"{VERSION}/3").details == {"endpoints": ["newest"]}
    client.request(
        "PUT", f"/api/v1/registered-models/{MODEL}/aliases/champion", json={"version": 1}
    )
    assert _refused(client, f"{VERSION}/2").details == {"endpoints": ["pinned"]}
    client.request("DELETE", f"{VERSION}/4")
    events = client.request("GET", "/api/v1/events", params={"type": "model_version.deleted"})
    assert {e["resource_id"] for e in events["events"]} == {f"{MODEL}/4"}


def _package(client: Client, version: int) -> str:
    """A local copy of a registered version (to register it again)."""
    from dockyard.client.sdk import download_model

    return str(download_model(f"models:/{MODEL}/{version}", client=client).path)


def test_mlflow_clients_get_mlflows_409(
    client: Client, served: None, server: ServerProcess
) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    mlflow = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    with pytest.raises(MlflowException) as caught:
        mlflow.delete_model_version(MODEL, "1")
    assert caught.value.error_code == "RESOURCE_CONFLICT"
    assert "served by endpoint pinned" in caught.value.message
    with pytest.raises(MlflowException) as whole:
        mlflow.delete_registered_model(MODEL)
    assert whole.value.error_code == "RESOURCE_CONFLICT"
    assert "newest (version 3), pinned (version 1, 2)" in whole.value.message
    raw = httpx.request(
        "DELETE",
        f"{server.url}/api/2.0/mlflow/model-versions/delete",
        json={"name": MODEL, "version": "3"},
    )
    assert raw.status_code == 409 and raw.json()["error_code"] == "RESOURCE_CONFLICT"


def test_the_cli_asks_first_and_says_who_serves_it(
    client: Client,
    served: None,
    server: ServerProcess,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    runner = CliRunner()

    def delete(*args: str) -> Any:
        return runner.invoke(cli, ["models", "delete", MODEL, *args])

    refused = delete("1", "--yes")
    assert refused.exit_code == 2
    assert refused.stderr.strip() == (
        "error: version 1 of model 'in-use' is served by endpoint pinned: update or delete it "
        "first (version)"
    )
    _delete_endpoint(client, "pinned")  # nothing serves 1 and 2 now
    kept = delete("1")  # no terminal to ask on: refused without --yes
    assert kept.exit_code == 2 and "not asking to delete version 1 of model in-use" in kept.stderr
    assert client.request("GET", f"{VERSION}/1")["version"] == 1
    deleted = delete("1", "-y")
    assert deleted.exit_code == 0 and "deleted version 1 of model in-use" in deleted.output
    missing = delete("1", "--yes")
    assert missing.exit_code == 2 and "has no version 1" in missing.output
    whole = delete("--yes")
    assert whole.exit_code == 2 and "served by endpoint newest (version 3)" in whole.stderr
    _delete_endpoint(client, "newest")
    assert delete("--yes").exit_code == 0
    assert client.request("GET", "/api/v1/registered-models")["registered_models"] == []
    reset_context()

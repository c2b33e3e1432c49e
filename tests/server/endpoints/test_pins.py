"""An endpoint serves the versions it was pinned to when it was created or updated: moving or
deleting an alias changes nothing it serves, a worker or server restart loads the same version,
and the registry keeps the pinned version from being deleted and the model from being
renamed."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, update
from tests.server.endpoints.conftest import ROW, wait_status
from tests.services.server_process import ServerProcess

from dockyard.api.endpoints import EndpointConfig
from dockyard.client.cli import cli
from dockyard.client.http import Client
from dockyard.client.sdk import register_model, reset_context
from dockyard.errors import DockyardError, InUse, NotFound
from dockyard.server.store import schema

pytestmark = pytest.mark.slow

MODEL = "pinned-model"
MODEL_PATH = f"/api/v1/registered-models/{MODEL}"
ONE, TEN = 4.0, 40.0  # what version 1 ("one") and version 2 ("ten") answer to ROW


@pytest.fixture
def versions(client: Client, models) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Version 1 answers ONE, version 2 answers TEN; ``champion`` points at 1."""
    register_model(models["one"], MODEL, client=client)
    register_model(models["ten"], MODEL, client=client)
    _alias(client, 1)
    yield
    for endpoint in client.request("GET", "/api/v1/endpoints")["endpoints"]:
        _delete_endpoint(client, endpoint["name"])
    with contextlib.suppress(NotFound):
        client.request("DELETE", MODEL_PATH)


def _alias(client: Client, version: int) -> None:
    client.request("PUT", f"{MODEL_PATH}/aliases/champion", json={"version": version})


def _create(client: Client, name: str, uri: str = f"models:/{MODEL}@champion") -> dict:  # type: ignore[type-arg]
    body = {"name": name, "variants": [{"name": "main", "model_uri": uri}]}
    client.request("POST", "/api/v1/endpoints", json=body)
    return wait_status(client, name, "InService")


def _delete_endpoint(client: Client, name: str) -> None:
    with contextlib.suppress(NotFound):
        client.request("DELETE", f"/api/v1/endpoints/{name}")
    deadline = time.monotonic() + 60
    while any(e["name"] == name for e in client.request("GET", "/api/v1/endpoints")["endpoints"]):
        assert time.monotonic() < deadline
        time.sleep(0.2)


def _answer(endpoint: dict) -> float:  # type: ignore[type-arg]
    with httpx.Client(base_url=endpoint["url"], timeout=30) as http:
        return float(http.post("/invocations", json=ROW).json()["predictions"][0])


def _update(client: Client, name: str, **changes: object) -> dict:  # type: ignore[type-arg]
    """Send the endpoint's config back as described, with ``changes``; wait for InService."""
    config = {**client.request("GET", f"/api/v1/endpoints/{name}")["config"], **changes}
    client.request("PUT", f"/api/v1/endpoints/{name}", json=config)
    return wait_status(client, name, "InService")


def _refused(client: Client, method: str, path: str, **kwargs: object) -> InUse:
    with pytest.raises(InUse) as caught:
        client.request(method, path, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_moving_the_alias_keeps_the_served_version_and_its_guard(
    client: Client, versions: None, server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = _create(client, "pin-moved")
    assert endpoint["config"]["variants"][0]["model_uri"] == f"models:/{MODEL}@champion"
    assert endpoint["config"]["variants"][0]["model_version"] == 1
    _alias(client, 2)
    assert _answer(endpoint) == pytest.approx(ONE)
    refused = _refused(client, "DELETE", f"{MODEL_PATH}/versions/1")
    assert refused.details == {"endpoints": ["pin-moved"]} and refused.field == "version"
    client.request("DELETE", f"{MODEL_PATH}/versions/2")  # the alias' version is not served
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    cli_refused = CliRunner().invoke(cli, ["models", "delete", MODEL, "1", "--yes"])
    reset_context()
    assert cli_refused.exit_code == 2 and "served by endpoint pin-moved" in cli_refused.stderr
    described = CliRunner().invoke(
        cli, ["endpoints", "describe", "pin-moved"], env={"DOCKYARD_URI": server.url}
    )
    assert f"models:/{MODEL}@champion (v1)" in described.output
    created = client.request(
        "GET", "/api/v1/events", params={"type": "endpoint.created", "resource_id": "pin-moved"}
    )["events"]
    assert created[-1]["body"]["config"]["versions"] == {"main": 1}


def test_deleting_the_alias_keeps_the_version_protected_and_updates_working(
    client: Client, versions: None, server: ServerProcess
) -> None:
    from mlflow import MlflowClient

    endpoint = _create(client, "pin-gone")
    MlflowClient(tracking_uri=server.url, registry_uri=server.url).delete_registered_model_alias(
        MODEL, "champion"
    )
    assert _refused(client, "DELETE", f"{MODEL_PATH}/versions/1").details == {
        "endpoints": ["pin-gone"]
    }
    # An update that sends the variants back as described keeps their version: no alias needed.
    updated = _update(client, "pin-gone", request_timeout_s=30)
    assert updated["config"]["variants"][0]["model_version"] == 1
    assert updated["config"]["request_timeout_s"] == 30
    assert _answer(endpoint) == pytest.approx(ONE)
    # Naming the alias again needs it to exist, and names the field.
    with pytest.raises(DockyardError, match="no alias 'champion'") as missing:
        client.request(
            "PUT",
            "/api/v1/endpoints/pin-gone",
            json={
                "name": "pin-gone",
                "variants": [{"name": "main", "model_uri": f"models:/{MODEL}@champion"}],
            },
        )
    assert missing.value.field == "variants.0.model_uri"


def test_an_update_naming_the_alias_again_resolves_it_again(client: Client, versions: None) -> None:
    endpoint = _create(client, "pin-promote")
    _alias(client, 2)
    kept = _update(client, "pin-promote", request_timeout_s=30)  # sent back as described
    assert kept["config"]["variants"][0]["model_version"] == 1
    assert _answer(endpoint) == pytest.approx(ONE)
    made_up = [{"name": "main", "model_uri": f"models:/{MODEL}/latest", "model_version": 1}]
    latest = _update(client, "pin-promote", variants=made_up)  # not what it serves: resolved
    assert latest["config"]["variants"][0]["model_version"] == 2
    assert latest["config"]["variants"][0]["model_uri"] == f"models:/{MODEL}/latest"
    _update(client, "pin-promote", variants=[{"name": "main", "model_uri": f"models:/{MODEL}/1"}])
    promoted = _update(
        client, "pin-promote", variants=[{"name": "main", "model_uri": f"models:/{MODEL}@champion"}]
    )
    assert promoted["config"]["variants"][0]["model_version"] == 2
    assert _answer(endpoint) == pytest.approx(TEN)
    client.request("DELETE", f"{MODEL_PATH}/versions/1")  # nothing serves it now
    assert _refused(client, "DELETE", f"{MODEL_PATH}/versions/2").details == {
        "endpoints": ["pin-promote"]
    }


def test_a_served_model_cannot_be_renamed(
    client: Client, versions: None, server: ServerProcess
) -> None:
    _create(client, "pin-rename", f"models:/{MODEL}/2")
    rename = {"name": MODEL, "new_name": f"{MODEL}-2"}
    raw = httpx.post(f"{server.url}/api/2.0/mlflow/registered-models/rename", json=rename)
    assert raw.status_code == 409 and raw.json()["error_code"] == "RESOURCE_CONFLICT"
    assert raw.json()["message"] == (
        f"cannot rename model {MODEL!r}: it is served by endpoint pin-rename (version 2); "
        "update or delete it first"
    )
    assert client.request("GET", MODEL_PATH)["name"] == MODEL  # not renamed
    _delete_endpoint(client, "pin-rename")
    renamed = httpx.post(f"{server.url}/api/2.0/mlflow/registered-models/rename", json=rename)
    assert renamed.status_code == 200
    client.request("DELETE", f"/api/v1/registered-models/{MODEL}-2")


def test_a_config_stored_before_pins_still_serves_and_is_pinned_by_its_next_update(
    client: Client, versions: None, server: ServerProcess
) -> None:
    endpoint = _create(client, "pin-old")
    engine = create_engine(f"sqlite:///{server.home / 'dockyard.db'}")
    table = schema.endpoints
    with engine.begin() as conn:
        stored = conn.execute(select(table.c.config).where(table.c.name == "pin-old")).scalar()
        old = stored.replace(', "model_version": 1', "").replace(',"model_version":1', "")
        assert "model_version" not in old
        conn.execute(update(table).where(table.c.name == "pin-old").values(config=old))
    engine.dispose()
    described = client.request("GET", "/api/v1/endpoints/pin-old")
    assert described["config"]["variants"][0]["model_version"] is None
    # Unpinned, the alias counts for the version it names when the delete is asked.
    assert _refused(client, "DELETE", f"{MODEL_PATH}/versions/1").details == {
        "endpoints": ["pin-old"]
    }
    _alias(client, 2)
    client.request("DELETE", f"{MODEL_PATH}/versions/1")  # its workers hold v1 already
    assert _answer(endpoint) == pytest.approx(ONE)
    updated = _update(client, "pin-old", request_timeout_s=20)
    assert updated["config"]["variants"][0]["model_version"] == 2  # what the new fleet loads
    assert _answer(endpoint) == pytest.approx(TEN)
    _alias(client, 2)
    assert _refused(client, "DELETE", f"{MODEL_PATH}/versions/2").details == {
        "endpoints": ["pin-old"]
    }


def test_old_configs_parse_without_a_pin() -> None:
    old = (
        '{"name": "e", "variants": [{"name": "v", "model_uri": "models:/m@champion"}],'
        ' "shadow": {"name": "s", "model_uri": "models:/m/latest"}}'
    )
    config = EndpointConfig.model_validate_json(old)
    assert config.variants[0].served_uri == "models:/m@champion"
    assert config.shadow is not None and config.shadow.served_uri == "models:/m/latest"
    pinned = config.variants[0].model_copy(update={"model_version": 3})
    assert pinned.served_uri == "models:/m/3"
    folder = config.variants[0].model_copy(update={"model_uri": "/models/m", "model_version": 3})
    assert folder.served_uri == "/models/m"


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_restarted_workers_and_server_load_the_pinned_version(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    models,  # type: ignore[no-untyped-def]
) -> None:
    roots = {"DOCKYARD_DATA_ROOTS": str(tmp_path_factory.getbasetemp())}
    proc = ServerProcess(tmp_path / "home", env=roots)
    proc.start()
    client = Client(proc.url, retry_for=30)
    try:
        register_model(models["one"], MODEL, client=client)
        register_model(models["ten"], MODEL, client=client)
        _alias(client, 1)
        endpoint = _create(client, "pin-restart")
        _alias(client, 2)
        # A worker that crashes is replaced with the pinned version...
        (pid,) = _pids(client, "pin-restart")
        os.kill(pid, signal.SIGKILL)
        (replacement,) = _wait_new_worker(client, "pin-restart", pid)
        assert _answer(endpoint) == pytest.approx(ONE)
        # ...and so is one a restarted server starts, with nothing left of the old fleet.
        proc.kill()
        os.kill(replacement, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not _gone(replacement):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.start()
        _wait_new_worker(client, "pin-restart", replacement)
        assert _answer(endpoint) == pytest.approx(ONE)
        assert _refused(client, "DELETE", f"{MODEL_PATH}/versions/1").details == {
            "endpoints": ["pin-restart"]
        }
        _delete_endpoint(client, "pin-restart")
    finally:
        client.close()
        proc.stop()


def _pids(client: Client, name: str) -> list[int]:
    described = client.request("GET", f"/api/v1/endpoints/{name}", params={"stats": True})
    return [w["pid"] for w in described["stats"]["workers"]]


def _wait_new_worker(client: Client, name: str, old: int) -> list[int]:
    deadline = time.monotonic() + 90
    while True:
        pids = _pids(client, name)
        if len(pids) == 1 and old not in pids:
            with contextlib.suppress(httpx.HTTPError):
                if wait_status(client, name, "InService"):
                    return pids
        assert time.monotonic() < deadline, pids
        time.sleep(0.2)

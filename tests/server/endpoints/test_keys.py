"""Endpoint API keys end to end: made by the control plane, stored as digests, pushed to the
running workers, checked there on both headers, revoked while they serve."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable

import httpx
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from tests.server.endpoints.conftest import ROW, wait_status
from tests.services.server_process import ServerProcess

import dockyard as dy
from dockyard.client.cli import cli
from dockyard.client.http import Client
from dockyard.client.sdk import reset_context
from dockyard.errors import NotFound, Unauthenticated
from dockyard.settings import Settings

pytestmark = pytest.mark.slow


def eventually(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Wait for the supervisor's config push (a tick is half a second), with a deadline."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def status(url: str, **headers: str) -> int:
    return httpx.post(f"{url}/invocations", json=ROW, headers=headers).status_code


def test_keys_are_made_pushed_checked_and_revoked(
    server: ServerProcess,
    client: Client,
    models,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    variants = [{"name": "v", "model_uri": models["one"]}]
    client.request(
        "POST",
        "/api/v1/endpoints",
        json={"name": "locked", "require_api_key": True, "variants": variants},
    )
    url = wait_status(client, "locked", "InService")["url"]
    assert status(url) == 401
    for health in ("/ping", "/v2/health/live", "/v2/health/ready"):
        assert httpx.get(url + health).status_code == 200, health

    # Made with the CLI (shown once) and with the SDK.
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    runner = CliRunner()
    made = runner.invoke(cli, ["endpoints", "keys", "create", "locked"])
    assert made.exit_code == 0, made.output
    cli_key = made.output.strip().splitlines()[-1]
    reset_context(Settings(home=tmp_path / "client", uri=server.url))
    handle = dy.EndpointHandle("locked", client)
    sdk_key = handle.create_key()
    assert sdk_key.key.startswith(f"dyk_{sdk_key.key_id}_")

    eventually(lambda: status(url, authorization=f"Bearer {cli_key}") == 200, "key never worked")
    eventually(lambda: status(url, **{"x-api-key": sdk_key.key}) == 200, "key never worked")
    assert status(url, authorization=f"Bearer {cli_key[:-1]}") == 401
    assert status(url, **{"x-api-key": "dyk_000000000000_nope"}) == 401

    frame = pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0]})
    keyed, bare = dy.Predictor("locked", api_key=sdk_key.key), dy.Predictor("locked")
    try:
        assert np.allclose(keyed.predict(frame), [4.0])
        with pytest.raises(Unauthenticated, match="requires an API key"):
            bare.predict(frame)
    finally:
        keyed.close()
        bare.close()
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    body = json.dumps(ROW)
    invoked = runner.invoke(
        cli, ["endpoints", "invoke", "locked", "-d", body, "--api-key", cli_key]
    )
    assert invoked.exit_code == 0 and json.loads(invoked.stdout)["predictions"] == [
        pytest.approx(4.0)
    ]
    refused = runner.invoke(cli, ["endpoints", "invoke", "locked", "-d", body])
    assert refused.exit_code == 2 and refused.stdout == ""  # one line, on stderr
    assert "error: this endpoint requires an API key" in refused.stderr

    # Only digests are stored: the database never sees a key.
    listed = json.loads(
        runner.invoke(cli, ["endpoints", "keys", "list", "locked", "--json"]).output
    )
    cli_id = cli_key.split("_")[1]
    assert [k["key_id"] for k in listed] == [cli_id, sdk_key.key_id]
    with sqlite3.connect(server.home / "dockyard.db") as db:
        stored = dict(db.execute("SELECT key_id, sha256 FROM endpoint_keys").fetchall())
        dump = "\n".join(db.iterdump())
    assert stored == {
        cli_id: hashlib.sha256(cli_key.encode()).hexdigest(),
        sdk_key.key_id: hashlib.sha256(sdk_key.key.encode()).hexdigest(),
    }
    assert cli_key not in dump and sdk_key.key not in dump

    # Revoked while the workers run: refused at once there, the other key unaffected.
    revoked = runner.invoke(cli, ["endpoints", "keys", "delete", "locked", cli_id, "-y"])
    assert revoked.exit_code == 0, revoked.output
    eventually(
        lambda: status(url, authorization=f"Bearer {cli_key}") == 401, "the revoked key still works"
    )
    assert status(url, **{"x-api-key": sdk_key.key}) == 200
    assert [k.key_id for k in handle.list_keys()] == [sdk_key.key_id]
    with pytest.raises(NotFound) as unknown:
        handle.delete_key(cli_id)
    assert unknown.value.field == "key_id"
    events = [e["message"] for e in client.request("GET", "/api/v1/endpoints/locked")["events"]]
    assert f"API key {cli_id} revoked" in events


def test_an_update_can_start_requiring_keys(
    client: Client,
    models,  # type: ignore[no-untyped-def]
) -> None:
    body = {"name": "gated", "variants": [{"name": "v", "model_uri": models["one"]}]}
    client.request("POST", "/api/v1/endpoints", json=body)
    url = wait_status(client, "gated", "InService")["url"]
    assert status(url) == 200
    key = client.request("POST", "/api/v1/endpoints/gated/keys")["key"]
    rollout = {"strategy": "all-at-once", "bake_s": 0}
    update = {**body, "require_api_key": True, "rollout": rollout}
    client.request("PUT", "/api/v1/endpoints/gated", json=update)
    wait_status(client, "gated", "InService")
    assert status(url) == 401
    assert status(url, authorization=f"Bearer {key}") == 200


def test_keys_of_an_unknown_endpoint_are_404(client: Client) -> None:
    for method in ("GET", "POST"):
        with pytest.raises(NotFound):
            client.request(method, "/api/v1/endpoints/absent/keys")

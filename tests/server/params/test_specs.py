"""Parameter references in endpoint configs and transform specs, through the in-process API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.client.http import Client
from dockyard.errors import InvalidArgument
from dockyard.server import Services, create_app
from dockyard.server._inprocess import InProcessTransport
from dockyard.server.params._secrets import new_key
from dockyard.settings import Settings


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Client]:
    services = Services.from_settings(
        Settings(
            home=tmp_path / "home",
            uri=None,
            params_key=new_key(),
            scheduler=False,
            data_roots=[str(tmp_path)],
        )
    )
    transport = InProcessTransport(create_app(services=services))
    client = Client("http://dockyard.test", transport=transport, retry_for=0)
    yield client
    client.close()
    transport.close()
    services.close()


def test_an_endpoint_config_resolves_string_parameters(api: Client, tmp_path: Path) -> None:
    where = tmp_path / "no-model-here"
    api.request("POST", "/api/v1/params", json={"name": "/serve/uri", "value": str(where)})
    config = {"name": "ep", "variants": [{"name": "a", "model_uri": "{{param:/serve/uri}}"}]}
    with pytest.raises(InvalidArgument) as caught:
        api.request("POST", "/api/v1/endpoints", json=config)
    # Checked as the resolved location: the reference was replaced before the model check.
    assert caught.value.field == "variants.0.model_uri"
    assert "no-model-here" in caught.value.message


def test_an_endpoint_config_may_not_reference_a_secure_string(api: Client) -> None:
    secret = {"name": "/serve/key", "value": "zzz-secret", "type": "SecureString"}
    api.request("POST", "/api/v1/params", json=secret)
    config = {"name": "ep", "variants": [{"name": "a", "model_uri": "{{param:/serve/key}}"}]}
    with pytest.raises(InvalidArgument) as caught:
        api.request("POST", "/api/v1/endpoints", json=config)
    assert caught.value.field == "variants.0.model_uri"
    assert "SecureString" in caught.value.message and "zzz-secret" not in caught.value.message


def test_a_transform_spec_resolves_string_parameters(api: Client, tmp_path: Path) -> None:
    where = tmp_path / "missing-model"
    api.request("POST", "/api/v1/params", json={"name": "/batch/model", "value": str(where)})
    spec = {"name": "t1", "model_uri": "{{param:/batch/model}}", "input": {"uri": str(tmp_path)}}
    with pytest.raises(InvalidArgument) as caught:
        api.request("POST", "/api/v1/jobs/transform", json=spec)
    assert caught.value.field == "model_uri" and "missing-model" in caught.value.message

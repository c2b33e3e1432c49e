"""The client half of URI resolution: download, digest check, cache keyed by package digest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from tests.services.s3 import S3Server

from dockyard.client.http import Client
from dockyard.errors import InvalidArgument, NotFound, PermissionDenied
from dockyard.models import verify
from dockyard.models.pyfunc import load_model
from dockyard.models.uris import fetch_model
from dockyard.server import Services, create_app
from dockyard.server._inprocess import InProcessTransport
from dockyard.server.actor import Actor
from dockyard.settings import Settings

Log = Callable[..., str]

ACTOR = Actor.anonymous()


class _Counting(httpx.BaseTransport):
    """Counts file downloads on their way to the app."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.downloads = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/files/" in request.url.path or "/artifacts/" in request.url.path:
            self.downloads += request.method == "GET"
        return self.inner.handle_request(request)


@pytest.fixture
def counting(services: Services) -> Iterator[tuple[Client, _Counting]]:
    inner = InProcessTransport(create_app(services=services))
    transport = _Counting(inner)
    client = Client("http://dockyard.test", transport=transport, retry_for=0)
    yield client, transport
    client.close()
    inner.close()


@pytest.fixture
def wine(api: Client, log_package: Log) -> str:
    run_id = log_package()
    api.request("POST", "/api/v1/registered-models", json={"name": "wine"})
    api.request(
        "POST", "/api/v1/registered-models/wine/versions", json={"source": f"runs:/{run_id}/model"}
    )
    api.request("PUT", "/api/v1/registered-models/wine/aliases/champion", json={"version": 1})
    return run_id


def test_a_version_downloads_once_and_loads_verified(
    counting: tuple[Client, _Counting],
    wine: str,
    tmp_path: Path,
    registry_package: Path,
    registry_frame: pd.DataFrame,
) -> None:
    client, transport = counting
    cache = tmp_path / "cache"
    first = fetch_model("models:/wine@champion", client=client, cache_dir=cache)
    assert (first.name, first.version, first.run_id) == ("wine", 1, wine)
    assert first.path == cache / verify(registry_package).removeprefix("sha256:")
    files = transport.downloads
    assert files == len(list(registry_package.iterdir()))
    again = fetch_model("models:/wine/1", client=client, cache_dir=cache)
    from_run = fetch_model(f"runs:/{wine}/model", client=client, cache_dir=cache)
    assert again.path == from_run.path == first.path and transport.downloads == files
    assert [p.name for p in cache.iterdir()] == [first.path.name]  # no partial folders left
    model = load_model(first.path, expected_digest=first.digest)
    assert model.predict(registry_frame).shape == (len(registry_frame),)


def test_a_download_that_does_not_match_the_digest_is_refused(
    counting: tuple[Client, _Counting], wine: str, tmp_path: Path, services: Services
) -> None:
    client, _ = counting
    version = services.registry.get_model_version(ACTOR, "wine", 1)
    services.artifacts.put_bytes(f"{version.storage_location}/model.pkl", b"evil")
    with pytest.raises(InvalidArgument, match=r"model\.pkl was changed") as caught:
        fetch_model("models:/wine/1", client=client, cache_dir=tmp_path / "cache")
    assert caught.value.details["file"] == "model.pkl"
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_changed_cache_entry_is_caught_at_load(
    counting: tuple[Client, _Counting], wine: str, tmp_path: Path
) -> None:
    client, _ = counting
    local = fetch_model("models:/wine/1", client=client, cache_dir=tmp_path / "cache")
    (local.path / "model.pkl").write_bytes(b"evil")
    with pytest.raises(InvalidArgument, match=r"model\.pkl was changed"):
        load_model(local.path, expected_digest=local.digest)


@pytest.mark.parametrize(
    "damage",
    ["changed", "truncated", "no-manifest", "extra-file"],
)
def test_a_damaged_cache_entry_is_fetched_again(
    counting: tuple[Client, _Counting],
    wine: str,
    tmp_path: Path,
    registry_package: Path,
    registry_frame: pd.DataFrame,
    damage: str,
) -> None:
    client, transport = counting
    cache = tmp_path / "cache"
    local = fetch_model("models:/wine/1", client=client, cache_dir=cache)
    pickle = local.path / "model.pkl"
    if damage == "changed":
        pickle.write_bytes(b"evil")
    elif damage == "truncated":
        pickle.write_bytes(pickle.read_bytes()[:10])
    elif damage == "no-manifest":
        (local.path / "MLmodel").unlink()
    else:
        (local.path / "planted.py").write_text("print('hi')")
    downloads = transport.downloads
    again = fetch_model("models:/wine/1", client=client, cache_dir=cache)
    assert again.path == local.path
    assert transport.downloads == downloads + len(list(registry_package.iterdir()))
    model = load_model(again.path, expected_digest=again.digest)
    assert model.predict(registry_frame).shape == (len(registry_frame),)
    assert [p.name for p in cache.iterdir()] == [local.path.name]  # the bad copy is gone
    fetch_model("models:/wine/1", client=client, cache_dir=cache)
    assert transport.downloads == downloads + len(list(registry_package.iterdir()))


def test_local_folders_and_missing_things(
    counting: tuple[Client, _Counting], wine: str, tmp_path: Path, registry_package: Path
) -> None:
    client, transport = counting
    local = fetch_model(str(registry_package), client=client, cache_dir=tmp_path / "c")
    assert (local.path, local.digest) == (registry_package, None) and transport.downloads == 0
    with pytest.raises(NotFound, match="no alias 'gold'"):
        fetch_model("models:/wine@gold", client=client, cache_dir=tmp_path / "c")
    with pytest.raises(NotFound, match="has no MLmodel"):
        fetch_model(f"runs:/{wine}/nothing", client=client, cache_dir=tmp_path / "c")


@pytest.mark.s3
def test_s3_sources_register_and_fetch(
    s3_server: S3Server, tmp_path: Path, registry_package: Path
) -> None:
    bucket = s3_server.create_bucket("registry")
    for file in registry_package.iterdir():
        s3_server.client().upload_file(str(file), bucket, f"pkgs/wine/{file.name}")
    settings = Settings(
        home=tmp_path / "home",
        s3_endpoint_url=s3_server.endpoint_url,
        data_roots=[f"s3://{bucket}/pkgs"],  # the bucket is shared with the server on purpose
    )
    services = Services.from_settings(settings)
    transport = InProcessTransport(create_app(services=services))
    client = Client("http://dockyard.test", transport=transport, retry_for=0)
    try:
        client.request("POST", "/api/v1/registered-models", json={"name": "wine"})
        with pytest.raises(PermissionDenied, match="outside the allowed roots"):
            client.request(
                "POST",
                "/api/v1/registered-models/wine/versions",
                json={"source": f"s3://{bucket}/elsewhere/wine"},
            )
        version = client.request(
            "POST",
            "/api/v1/registered-models/wine/versions",
            json={"source": f"s3://{bucket}/pkgs/wine"},
        )
        assert version["digest"] == verify(registry_package) and version["run_id"] is None
        local = fetch_model(
            f"s3://{bucket}/pkgs/wine",
            client=client,
            cache_dir=tmp_path / "cache",
            s3_endpoint_url=s3_server.endpoint_url,
        )
        assert local.digest == version["digest"] and verify(local.path) == local.digest
        with pytest.raises(InvalidArgument, match="no MLmodel"):
            fetch_model(
                f"s3://{bucket}/pkgs",
                client=client,
                cache_dir=tmp_path / "cache",
                s3_endpoint_url=s3_server.endpoint_url,
            )
    finally:
        client.close()
        transport.close()
        services.close()

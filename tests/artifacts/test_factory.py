"""open_artifact_store picks the backend the configured root names."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.artifacts import open_artifact_store
from dockyard.artifacts.local import LocalArtifactStore
from dockyard.artifacts.s3 import S3ArtifactStore
from dockyard.errors import InvalidArgument
from dockyard.settings import Settings


def test_local_path(tmp_path: Path) -> None:
    store = open_artifact_store(str(tmp_path / "artifacts"))

    assert isinstance(store, LocalArtifactStore)
    assert store.root == tmp_path.resolve() / "artifacts"


def test_relative_local_path_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    store = open_artifact_store("mlruns")

    assert isinstance(store, LocalArtifactStore)
    assert store.root == tmp_path.resolve() / "mlruns"


@pytest.mark.parametrize("authority", ["", "localhost"])
def test_file_uri(tmp_path: Path, authority: str) -> None:
    folder = tmp_path / "with space"

    store = open_artifact_store(f"file://{authority}{folder.as_posix().replace(' ', '%20')}")

    assert isinstance(store, LocalArtifactStore)
    assert store.root == folder.resolve()


def test_s3_uri_with_endpoint() -> None:
    store = open_artifact_store("s3://bucket/team", s3_endpoint_url="http://127.0.0.1:9000")

    assert isinstance(store, S3ArtifactStore)
    assert (store.bucket, store.prefix) == ("bucket", "team")


def test_default_settings_give_a_local_store(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")

    store = open_artifact_store(
        settings.resolved_artifact_root, s3_endpoint_url=settings.s3_endpoint_url
    )

    assert isinstance(store, LocalArtifactStore)
    assert store.root == (tmp_path / "home" / "artifacts").resolve()


@pytest.mark.parametrize(
    ("root", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("gs://bucket/x", "unsupported scheme 'gs'"),
        ("https://example.com/artifacts", "unsupported scheme 'https'"),
        ("file://otherhost/data", "on this machine"),
        ("s3://", "names no bucket"),
    ],
)
def test_anything_else_is_refused(root: str, reason: str) -> None:
    with pytest.raises(InvalidArgument, match=reason) as raised:
        open_artifact_store(root)
    assert raised.value.field == "artifact_root"

"""Artifact storage: bytes under relative keys, on a local folder or an S3-compatible bucket.

This is the byte-level layer. Content addressing, which keys belong to which run or model, and
who may read them are decided above it, once::

    store = open_artifact_store(settings.resolved_artifact_root,
                                s3_endpoint_url=settings.s3_endpoint_url)
    store.put_file("1/abc123/artifacts/model/MLmodel", "MLmodel")
    with store.open_read("1/abc123/artifacts/model/MLmodel") as f:
        head = f.read(100)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.artifacts._base import ArtifactInfo, ArtifactStore, ByteSource
from dockyard.artifacts._factory import artifact_uri, open_artifact_store
from dockyard.artifacts.local import LocalArtifactStore
from dockyard.artifacts.paths import join_artifact_path, normalize_artifact_path

if TYPE_CHECKING:
    from dockyard.artifacts.s3 import S3ArtifactStore

__all__ = [
    "ArtifactInfo",
    "ArtifactStore",
    "ByteSource",
    "LocalArtifactStore",
    "S3ArtifactStore",
    "artifact_uri",
    "join_artifact_path",
    "normalize_artifact_path",
    "open_artifact_store",
]


def __getattr__(name: str) -> Any:
    # The S3 backend imports boto3 (~0.14 s, ~13 MB): only processes that use it pay for it.
    if name == "S3ArtifactStore":
        from dockyard.artifacts.s3 import S3ArtifactStore

        return S3ArtifactStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

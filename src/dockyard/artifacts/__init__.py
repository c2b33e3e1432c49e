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

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.artifacts._base import ArtifactInfo, ArtifactStore, ByteSource
    from dockyard.artifacts._factory import artifact_uri, open_artifact_store
    from dockyard.artifacts.local import LocalArtifactStore
    from dockyard.artifacts.paths import join_artifact_path, normalize_artifact_path
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
__getattr__, __dir__ = exports(
    __name__,
    {
        "ArtifactInfo": "._base",
        "ArtifactStore": "._base",
        "ByteSource": "._base",
        "LocalArtifactStore": ".local",
        "S3ArtifactStore": ".s3",
        "artifact_uri": "._factory",
        "join_artifact_path": ".paths",
        "normalize_artifact_path": ".paths",
        "open_artifact_store": "._factory",
    },
)

"""Choosing a backend from the configured artifact root."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from dockyard.artifacts._base import ArtifactStore
from dockyard.artifacts.local import LocalArtifactStore
from dockyard.errors import InvalidArgument

__all__ = ["artifact_uri", "open_artifact_store"]

_URI_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def open_artifact_store(root: str, *, s3_endpoint_url: str | None = None) -> ArtifactStore:
    """Open the artifact store that ``root`` names; no I/O happens until the first call.

    Args:
        root: A local folder (absolute, relative or ``~/...``), a ``file:///abs/path`` URI, or
            ``s3://bucket[/prefix]`` (typically ``Settings.resolved_artifact_root``).
        s3_endpoint_url: Endpoint of an S3-compatible server, for ``s3://`` roots
            (``Settings.s3_endpoint_url``); ``None`` means AWS.

    Returns:
        A :class:`~dockyard.artifacts.LocalArtifactStore` or
        :class:`~dockyard.artifacts.S3ArtifactStore`.

    Raises:
        InvalidArgument: ``root`` is empty, uses another scheme, or is a malformed URI.
    """
    if not root or not root.strip():
        raise InvalidArgument("the artifact root is empty", field="artifact_root")
    match = _URI_SCHEME.match(root)
    if match is None:
        return LocalArtifactStore(root)
    scheme = match.group(1).lower()
    if scheme == "s3":
        from dockyard.artifacts.s3 import S3ArtifactStore

        return S3ArtifactStore(root, endpoint_url=s3_endpoint_url)
    if scheme == "file":
        parts = urlsplit(root)
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise InvalidArgument(
                f"artifact root {root!r} must be file:///absolute/path on this machine",
                field="artifact_root",
            )
        return LocalArtifactStore(unquote(parts.path))
    raise InvalidArgument(
        f"artifact root {root!r} uses unsupported scheme {scheme!r}; "
        "use a local folder, file:// or s3://",
        field="artifact_root",
    )


def artifact_uri(store: ArtifactStore, key: str) -> str:
    """The URI that reads ``key`` of ``store`` directly: a local path, or ``s3://bucket/key``.

    Jobs and batch transforms take such URIs, so they can read what the store holds without
    going through the server.
    """
    if isinstance(store, LocalArtifactStore):
        return str(store.root / key) if key else str(store.root)
    from dockyard.artifacts.s3 import S3ArtifactStore

    if isinstance(store, S3ArtifactStore):
        return f"s3://{store.bucket}/{'/'.join(p for p in (store.prefix, key) if p)}"
    raise InvalidArgument(f"no direct URI for keys of a {type(store).__name__}")

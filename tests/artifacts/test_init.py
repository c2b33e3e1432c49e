"""The public surface of dockyard.artifacts is deliberate."""

from __future__ import annotations

import dockyard.artifacts


def test_public_names_are_pinned() -> None:
    assert dockyard.artifacts.__all__ == [
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
    for name in dockyard.artifacts.__all__:
        assert getattr(dockyard.artifacts, name).__module__.startswith("dockyard.artifacts")

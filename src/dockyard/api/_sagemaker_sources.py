"""SageMaker's ``S3DataSource`` as training channels and transform inputs read it.

Dockyard reads an ``S3Uri`` as a prefix (or a file or folder): every object under it is data.
A ``ManifestFile`` or ``AugmentedManifestFile`` source names a file that lists the objects
instead, so reading it as a prefix would train or score on the manifest itself; such a source is
refused, naming the field.
"""

from __future__ import annotations

from typing import Any

__all__ = ["refuse_manifests"]

#: The S3DataType Dockyard reads.
S3_PREFIX = "S3Prefix"


def refuse_manifests(source: Any, where: str) -> None:
    """Raise ValueError unless the ``S3DataSource`` at ``where`` is a prefix (or says nothing)."""
    if not isinstance(source, dict):
        return
    kind = source.get("S3DataType")
    if kind is None or kind == S3_PREFIX:
        return
    raise ValueError(
        f"{where}.S3DataType: {str(kind)[:100]!r} is not supported; Dockyard reads every object "
        f"under S3Uri ({S3_PREFIX}), not a manifest listing them"
    )

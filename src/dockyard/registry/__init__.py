"""The model registry: registered models, immutable versions, aliases, approval and lineage.

A model URI loads the same way everywhere. Consumers (the SDK, jobs, endpoints, batch) turn one
into a verified local package with :func:`fetch_model` and load it with
``dockyard.models.load_model(path, expected_digest=digest)``::

    local = fetch_model("models:/wine@champion", client=client, cache_dir=cache)
    model = dockyard.models.load_model(local.path, expected_digest=local.digest)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.registry._entities import (
    Approval,
    ApprovalStatus,
    CodeVersion,
    Lineage,
    LineageDataset,
    LineageRun,
    ModelVersion,
    RegisteredModel,
    ResolvedModel,
    VersionFile,
    VersionStatus,
)
from dockyard.registry._requests import (
    CreateModelVersion,
    CreateRegisteredModel,
    SetAlias,
    SetApproval,
    SetTag,
    UpdateDescription,
    check_alias,
    check_model_name,
    parse_version,
)
from dockyard.registry._uris import (
    LocalModel,
    LocalRef,
    LoggedModelRef,
    ModelRef,
    RegistryRef,
    RunRef,
    S3Ref,
    fetch_model,
    parse_model_uri,
)

if TYPE_CHECKING:
    from dockyard.registry._service import RegistryService

__all__ = [
    "Approval",
    "ApprovalStatus",
    "CodeVersion",
    "CreateModelVersion",
    "CreateRegisteredModel",
    "Lineage",
    "LineageDataset",
    "LineageRun",
    "LocalModel",
    "LocalRef",
    "LoggedModelRef",
    "ModelRef",
    "ModelVersion",
    "RegisteredModel",
    "RegistryRef",
    "RegistryService",
    "ResolvedModel",
    "RunRef",
    "S3Ref",
    "SetAlias",
    "SetApproval",
    "SetTag",
    "UpdateDescription",
    "VersionFile",
    "VersionStatus",
    "check_alias",
    "check_model_name",
    "fetch_model",
    "parse_model_uri",
    "parse_version",
]

_LAZY = {"RegistryService"}


def __getattr__(name: str) -> Any:
    # The service pulls in SQLAlchemy; clients that only fetch models never pay for it.
    if name in _LAZY:
        from dockyard.registry import _service

        return getattr(_service, name)
    raise AttributeError(f"module 'dockyard.registry' has no attribute {name!r}")

"""Registered models, versions and aliases as the API accepts and returns them, and the
registry's naming rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.api.registry._entities import (
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
    from dockyard.api.registry._requests import (
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

__all__ = [
    "Approval",
    "ApprovalStatus",
    "CodeVersion",
    "CreateModelVersion",
    "CreateRegisteredModel",
    "Lineage",
    "LineageDataset",
    "LineageRun",
    "ModelVersion",
    "RegisteredModel",
    "ResolvedModel",
    "SetAlias",
    "SetApproval",
    "SetTag",
    "UpdateDescription",
    "VersionFile",
    "VersionStatus",
    "check_alias",
    "check_model_name",
    "parse_version",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "Approval": "._entities",
        "ApprovalStatus": "._entities",
        "CodeVersion": "._entities",
        "CreateModelVersion": "._requests",
        "CreateRegisteredModel": "._requests",
        "Lineage": "._entities",
        "LineageDataset": "._entities",
        "LineageRun": "._entities",
        "ModelVersion": "._entities",
        "RegisteredModel": "._entities",
        "ResolvedModel": "._entities",
        "SetAlias": "._requests",
        "SetApproval": "._requests",
        "SetTag": "._requests",
        "UpdateDescription": "._requests",
        "VersionFile": "._entities",
        "VersionStatus": "._entities",
        "check_alias": "._requests",
        "check_model_name": "._requests",
        "parse_version": "._requests",
    },
)

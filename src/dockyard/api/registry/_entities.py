"""Registry resources as frozen, typed data: what the service returns and the API serialises."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Approval",
    "ApprovalStatus",
    "CodeVersion",
    "Lineage",
    "LineageDataset",
    "LineageRun",
    "ModelVersion",
    "RegisteredModel",
    "ResolvedModel",
    "VersionFile",
    "VersionStatus",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApprovalStatus(StrEnum):
    """Whether a version may go to production, with SageMaker's model-package names."""

    PENDING = "PendingManualApproval"
    APPROVED = "Approved"
    REJECTED = "Rejected"


class VersionStatus(StrEnum):
    """A version's registration state, with MLflow's names.

    A version is ``PENDING_REGISTRATION`` only while its verified files are being copied into
    the registry; URIs and aliases resolve only ``READY`` versions.
    """

    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    READY = "READY"


class Approval(_Frozen):
    """A version's approval status and who set it, when, and why."""

    status: ApprovalStatus = ApprovalStatus.PENDING
    user: str | None = None
    time: int | None = None
    comment: str | None = None


class ModelVersion(_Frozen):
    """One immutable package in the registry.

    Attributes:
        name: The registered model.
        version: Its number, from 1, never reused within the model.
        source: The URI it was registered from (``runs:/<run>/model``, ``s3://...``).
        run_id: The run that produced it, if any.
        logged_model_id: The MLflow 3 logged model it was registered from, if any.
        storage_location: The artifact-store key of the registry's own copy.
        digest: The package digest (``sha256:`` of the manifest) recorded at registration.
        flavor: The flavor that loads it (``sklearn``, ``xgboost``...).
        library_version: The flavor library's version at save time, if recorded.
        signature: Inputs, outputs and params as JSON (MLflow's column and tensor specs).
        metrics: The source run's latest metric values at registration (NaN as ``None``).
        sealed_by_registry: True when the source had no file digests (a package saved by
            MLflow) and the registry computed them from the files it copied.
        approval: Approval status, who set it and when.
        stage: MLflow's deprecated stage (``None``, ``Staging``, ``Production``,
            ``Archived``), kept for clients that still move versions between stages.
    """

    name: str
    version: int
    source: str
    run_id: str | None = None
    logged_model_id: str | None = None
    storage_location: str
    digest: str
    flavor: str
    library_version: str | None = None
    signature: dict[str, Any] | None = None
    metrics: dict[str, float | None] = Field(default_factory=dict)
    sealed_by_registry: bool = False
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)
    status: VersionStatus = VersionStatus.READY
    approval: Approval = Field(default_factory=Approval)
    stage: str = "None"
    created_by: str
    creation_time: int
    last_updated_time: int

    @property
    def uri(self) -> str:
        """The URI that names this version: ``models:/<name>/<version>``."""
        return f"models:/{self.name}/{self.version}"

    @property
    def is_reference(self) -> bool:
        """Recorded as a reference to a source this server does not hold (no files, no digest);
        its ``storage_location`` is then the URI it refers to."""
        return not self.digest


class RegisteredModel(_Frozen):
    """A named series of versions, with aliases that point at some of them."""

    name: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    aliases: dict[str, int] = Field(default_factory=dict)
    latest_version: int | None = None
    creation_time: int
    last_updated_time: int


class LineageRun(_Frozen):
    """The run a version came from, as it is now (it may have been deleted since)."""

    run_id: str
    run_name: str
    experiment_id: str
    status: str
    lifecycle_stage: str
    user_id: str
    start_time: int
    end_time: int | None = None
    params: dict[str, str] = Field(default_factory=dict)


class LineageDataset(_Frozen):
    """A dataset the run consumed, identified by its content digest."""

    name: str
    digest: str
    source_type: str
    source: str
    context: str | None = None


class CodeVersion(_Frozen):
    """The code a run executed: git commit and whether the work tree had uncommitted changes."""

    git_commit: str | None = None
    git_dirty: bool | None = None
    source_name: str | None = None


class Lineage(_Frozen):
    """Version -> run -> dataset digests -> code version, in one answer."""

    model_version: ModelVersion
    run: LineageRun | None = None
    datasets: list[LineageDataset] = Field(default_factory=list)
    code: CodeVersion | None = None


class VersionFile(_Frozen):
    """One entry of a version's file listing, relative to the package root."""

    path: str
    is_dir: bool
    size: int | None = None


class ResolvedModel(_Frozen):
    """What a model URI names on the server, so a client can fetch and verify it.

    Attributes:
        uri: The URI as given.
        kind: ``registry`` (``models:/<name>/...``), ``logged_model`` (``models:/<model_id>``,
            or a ``runs:/`` URI that MLflow 3 logged as a model) or ``run`` (``runs:/``).
        digest: The package digest to verify against: recorded at registration for a
            registry version, computed from the current manifest for a run's model.
        files: Every file of the package, relative to its root.
        files_url: The API path under which each file is served (append ``/<path>``).
        name: The registered model (registry URIs only).
        version: The version number (registry URIs only).
        run_id: The run it came from, if any.
        logged_model_id: The logged model, for ``logged_model`` URIs.
    """

    uri: str
    kind: str
    digest: str
    files: list[VersionFile]
    files_url: str
    name: str | None = None
    version: int | None = None
    run_id: str | None = None
    logged_model_id: str | None = None

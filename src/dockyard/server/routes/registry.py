"""Native REST routes for the registry: ``/api/v1/registered-models`` and ``/api/v1/model-uris``.

Who acts (a version's creator, an approver) is the signed-in actor.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from dockyard.api.registry import (
    Approval,
    CreateModelVersion,
    CreateRegisteredModel,
    Lineage,
    ModelVersion,
    RegisteredModel,
    ResolvedModel,
    SetAlias,
    SetApproval,
    SetTag,
    UpdateDescription,
    VersionFile,
)
from dockyard.api.tracking import validate_key
from dockyard.errors import InvalidArgument
from dockyard.limits import LIMITS
from dockyard.server._deps import ActorDep, RegistryDep, ServicesDep
from dockyard.server._route import OneHopRoute, short_read
from dockyard.server._streaming import download

router = APIRouter(prefix="/api/v1", tags=["registry"], route_class=OneHopRoute)

_MODEL = "/registered-models/{name}"
_VERSION = _MODEL + "/versions/{version}"

PageToken = Annotated[str | None, Query(max_length=LIMITS.page_token_length)]
MaxResults = Annotated[int, Query(ge=1, le=LIMITS.page_max_results)]


def _key(key: str) -> str:
    try:
        return validate_key(key)
    except ValueError as exc:
        raise InvalidArgument(str(exc), field="key") from exc


class RegisteredModelPage(BaseModel):
    registered_models: list[RegisteredModel]
    next_page_token: str | None = None


class ModelVersionPage(BaseModel):
    model_versions: list[ModelVersion]
    next_page_token: str | None = None


class VersionFiles(BaseModel):
    files: list[VersionFile]


# -- registered models ------------------------------------------------------------------------


@router.post("/registered-models", status_code=201)
def create_registered_model(
    body: CreateRegisteredModel, registry: RegistryDep, actor: ActorDep
) -> RegisteredModel:
    """Create a registered model (a name that versions are registered under)."""
    return registry.create_registered_model(actor, body)


@router.get("/registered-models")
def search_registered_models(
    registry: RegistryDep,
    actor: ActorDep,
    name_like: Annotated[str | None, Query(max_length=256)] = None,
    max_results: MaxResults = LIMITS.page_default_results,
    page_token: PageToken = None,
) -> RegisteredModelPage:
    """Models by name; ``name_like`` is a case-insensitive SQL LIKE pattern (``wine%``)."""
    page = registry.search_registered_models(
        actor, name_like=name_like, max_results=max_results, page_token=page_token
    )
    return RegisteredModelPage(registered_models=page.items, next_page_token=page.next_page_token)


@router.get(_MODEL)
@short_read
def get_registered_model(name: str, registry: RegistryDep, actor: ActorDep) -> RegisteredModel:
    """A model with its tags, aliases and latest version number."""
    return registry.get_registered_model(actor, name)


@router.patch(_MODEL)
def update_registered_model(
    name: str, body: UpdateDescription, registry: RegistryDep, actor: ActorDep
) -> RegisteredModel:
    """Replace a model's description."""
    return registry.update_registered_model(actor, name, body.description)


@router.delete(_MODEL, status_code=204)
def delete_registered_model(name: str, registry: RegistryDep, actor: ActorDep) -> Response:
    """Delete a model with all its versions, aliases and registered files."""
    registry.delete_registered_model(actor, name)
    return Response(status_code=204)


@router.put(_MODEL + "/tags/{key:path}", status_code=204)
def set_registered_model_tag(
    name: str, key: str, body: SetTag, registry: RegistryDep, actor: ActorDep
) -> Response:
    """Set one tag on a model."""
    registry.set_registered_model_tag(actor, name, _key(key), body.value)
    return Response(status_code=204)


@router.delete(_MODEL + "/tags/{key:path}", status_code=204)
def delete_registered_model_tag(
    name: str, key: str, registry: RegistryDep, actor: ActorDep
) -> Response:
    """Remove one tag from a model."""
    registry.delete_registered_model_tag(actor, name, key)
    return Response(status_code=204)


# -- versions ---------------------------------------------------------------------------------


@router.post(_MODEL + "/versions", status_code=201)
def create_model_version(
    name: str, body: CreateModelVersion, registry: RegistryDep, actor: ActorDep
) -> ModelVersion:
    """Copy, verify and register a package (``runs:/``, ``models:/``, ``s3://`` or a server
    folder) as the model's next version."""
    return registry.create_model_version(actor, name, body)


@router.get(_MODEL + "/versions")
def list_model_versions(
    name: str,
    registry: RegistryDep,
    actor: ActorDep,
    max_results: MaxResults = LIMITS.page_default_results,
    page_token: PageToken = None,
) -> ModelVersionPage:
    """A model's versions, newest first."""
    registry.get_registered_model(actor, name)
    page = registry.search_model_versions(
        actor, name=name, max_results=max_results, page_token=page_token
    )
    return ModelVersionPage(model_versions=page.items, next_page_token=page.next_page_token)


@router.get(_VERSION)
@short_read
def get_model_version(
    name: str, version: str, registry: RegistryDep, actor: ActorDep
) -> ModelVersion:
    """One version: source, run, digest, signature, metrics, aliases, approval."""
    return registry.get_model_version(actor, name, version)


@router.patch(_VERSION)
def update_model_version(
    name: str, version: str, body: UpdateDescription, registry: RegistryDep, actor: ActorDep
) -> ModelVersion:
    """Replace a version's description (its files never change)."""
    return registry.update_model_version(actor, name, version, body.description)


@router.delete(_VERSION, status_code=204)
def delete_model_version(
    name: str, version: str, registry: RegistryDep, actor: ActorDep
) -> Response:
    """Delete a version, the aliases pointing at it, and its registered files."""
    registry.delete_model_version(actor, name, version)
    return Response(status_code=204)


@router.put(_VERSION + "/tags/{key:path}", status_code=204)
def set_model_version_tag(
    name: str, version: str, key: str, body: SetTag, registry: RegistryDep, actor: ActorDep
) -> Response:
    """Set one tag on a version."""
    registry.set_model_version_tag(actor, name, version, _key(key), body.value)
    return Response(status_code=204)


@router.delete(_VERSION + "/tags/{key:path}", status_code=204)
def delete_model_version_tag(
    name: str, version: str, key: str, registry: RegistryDep, actor: ActorDep
) -> Response:
    """Remove one tag from a version."""
    registry.delete_model_version_tag(actor, name, version, key)
    return Response(status_code=204)


@router.post(_VERSION + "/approval")
def set_approval(
    name: str, version: str, body: SetApproval, registry: RegistryDep, actor: ActorDep
) -> ModelVersion:
    """Approve or reject a version (or reset it to pending), recording who, when and why."""
    return registry.set_approval(actor, name, version, body)


class ApprovalHistory(BaseModel):
    approvals: list[Approval]


@router.get(_VERSION + "/approvals")
def approval_history(
    name: str, version: str, registry: RegistryDep, actor: ActorDep
) -> ApprovalHistory:
    """Every approval decision on a version, oldest first (the version shows the latest)."""
    return ApprovalHistory(approvals=registry.approval_history(actor, name, version))


@router.get(_VERSION + "/lineage")
def get_lineage(name: str, version: str, registry: RegistryDep, actor: ActorDep) -> Lineage:
    """The version, its run, the datasets the run read and the code version it ran."""
    return registry.lineage(actor, name, version)


@router.get(_VERSION + "/files")
def list_version_files(
    name: str,
    version: str,
    registry: RegistryDep,
    actor: ActorDep,
    path: Annotated[str, Query(max_length=4096)] = "",
    recursive: bool = True,
) -> VersionFiles:
    """The files of a version's package, relative to its root."""
    return VersionFiles(
        files=registry.list_version_files(actor, name, version, path, recursive=recursive)
    )


@router.get(_VERSION + "/files/{path:path}", response_model=None)
async def get_version_file(
    name: str, version: str, path: str, services: ServicesDep, actor: ActorDep
) -> StreamingResponse:
    """Download one file of a version's package."""
    key = await run_in_threadpool(services.registry.version_file_key, actor, name, version, path)
    info = await run_in_threadpool(services.artifacts.stat, key)
    if info.is_dir:
        raise InvalidArgument(f"{path!r} is a folder; list it instead", field="path")
    return await download(services.artifacts, key, key.rsplit("/", 1)[-1])


# -- aliases ----------------------------------------------------------------------------------


@router.get(_MODEL + "/aliases/{alias}")
def get_version_by_alias(
    name: str, alias: str, registry: RegistryDep, actor: ActorDep
) -> ModelVersion:
    """The version an alias points at."""
    return registry.get_version_by_alias(actor, name, alias)


@router.put(_MODEL + "/aliases/{alias}")
def set_alias(
    name: str, alias: str, body: SetAlias, registry: RegistryDep, actor: ActorDep
) -> ModelVersion:
    """Point an alias (``champion``, ``challenger``...) at a version, moving it atomically."""
    return registry.set_alias(actor, name, alias, body.version)


@router.delete(_MODEL + "/aliases/{alias}", status_code=204)
def delete_alias(name: str, alias: str, registry: RegistryDep, actor: ActorDep) -> Response:
    """Remove an alias (the version stays)."""
    registry.delete_alias(actor, name, alias)
    return Response(status_code=204)


# -- URIs -------------------------------------------------------------------------------------


@router.get("/model-uris")
def resolve_model_uri(
    registry: RegistryDep,
    actor: ActorDep,
    uri: Annotated[str, Query(min_length=1, max_length=1000)],
) -> ResolvedModel:
    """What a ``models:/`` or ``runs:/`` URI names: the package's files and its digest."""
    return registry.resolve(actor, uri)

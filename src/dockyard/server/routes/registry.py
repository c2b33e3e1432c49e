"""Native REST routes for the registry: ``/api/v1/registered-models`` and ``/api/v1/model-uris``.

Who acts (a version's creator, an approver) comes from the ``X-Dockyard-User`` header until
accounts exist; without it the actor is ``anonymous``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from dockyard.errors import InvalidArgument
from dockyard.registry import (
    ANONYMOUS,
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
from dockyard.server._deps import RegistryDep, ServicesDep
from dockyard.server._streaming import download
from dockyard.tracking import validate_key

router = APIRouter(prefix="/api/v1", tags=["registry"])

_MODEL = "/registered-models/{name}"
_VERSION = _MODEL + "/versions/{version}"

PageToken = Annotated[str | None, Query(max_length=1000)]
MaxResults = Annotated[int, Query(ge=1, le=1000)]


def _user(x_dockyard_user: Annotated[str | None, Header(max_length=256)] = None) -> str:
    return x_dockyard_user or ANONYMOUS


UserDep = Annotated[str, Depends(_user)]


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
def create_registered_model(body: CreateRegisteredModel, registry: RegistryDep) -> RegisteredModel:
    """Create a registered model (a name that versions are registered under)."""
    return registry.create_registered_model(body)


@router.get("/registered-models")
def search_registered_models(
    registry: RegistryDep,
    name_like: Annotated[str | None, Query(max_length=256)] = None,
    max_results: MaxResults = 100,
    page_token: PageToken = None,
) -> RegisteredModelPage:
    """Models by name; ``name_like`` is a case-insensitive SQL LIKE pattern (``wine%``)."""
    page = registry.search_registered_models(
        name_like=name_like, max_results=max_results, page_token=page_token
    )
    return RegisteredModelPage(registered_models=page.items, next_page_token=page.next_page_token)


@router.get(_MODEL)
def get_registered_model(name: str, registry: RegistryDep) -> RegisteredModel:
    """A model with its tags, aliases and latest version number."""
    return registry.get_registered_model(name)


@router.patch(_MODEL)
def update_registered_model(
    name: str, body: UpdateDescription, registry: RegistryDep
) -> RegisteredModel:
    """Replace a model's description."""
    return registry.update_registered_model(name, body.description)


@router.delete(_MODEL, status_code=204)
def delete_registered_model(name: str, registry: RegistryDep) -> Response:
    """Delete a model with all its versions, aliases and registered files."""
    registry.delete_registered_model(name)
    return Response(status_code=204)


@router.put(_MODEL + "/tags/{key:path}", status_code=204)
def set_registered_model_tag(name: str, key: str, body: SetTag, registry: RegistryDep) -> Response:
    """Set one tag on a model."""
    registry.set_registered_model_tag(name, _key(key), body.value)
    return Response(status_code=204)


@router.delete(_MODEL + "/tags/{key:path}", status_code=204)
def delete_registered_model_tag(name: str, key: str, registry: RegistryDep) -> Response:
    """Remove one tag from a model."""
    registry.delete_registered_model_tag(name, key)
    return Response(status_code=204)


# -- versions ---------------------------------------------------------------------------------


@router.post(_MODEL + "/versions", status_code=201)
def create_model_version(
    name: str, body: CreateModelVersion, registry: RegistryDep, user: UserDep
) -> ModelVersion:
    """Copy, verify and register a package (``runs:/``, ``models:/``, ``s3://`` or a server
    folder) as the model's next version."""
    return registry.create_model_version(name, body, user=user)


@router.get(_MODEL + "/versions")
def list_model_versions(
    name: str,
    registry: RegistryDep,
    max_results: MaxResults = 100,
    page_token: PageToken = None,
) -> ModelVersionPage:
    """A model's versions, newest first."""
    registry.get_registered_model(name)
    page = registry.search_model_versions(name=name, max_results=max_results, page_token=page_token)
    return ModelVersionPage(model_versions=page.items, next_page_token=page.next_page_token)


@router.get(_VERSION)
def get_model_version(name: str, version: str, registry: RegistryDep) -> ModelVersion:
    """One version: source, run, digest, signature, metrics, aliases, approval."""
    return registry.get_model_version(name, version)


@router.patch(_VERSION)
def update_model_version(
    name: str, version: str, body: UpdateDescription, registry: RegistryDep
) -> ModelVersion:
    """Replace a version's description (its files never change)."""
    return registry.update_model_version(name, version, body.description)


@router.delete(_VERSION, status_code=204)
def delete_model_version(name: str, version: str, registry: RegistryDep) -> Response:
    """Delete a version, the aliases pointing at it, and its registered files."""
    registry.delete_model_version(name, version)
    return Response(status_code=204)


@router.put(_VERSION + "/tags/{key:path}", status_code=204)
def set_model_version_tag(
    name: str, version: str, key: str, body: SetTag, registry: RegistryDep
) -> Response:
    """Set one tag on a version."""
    registry.set_model_version_tag(name, version, _key(key), body.value)
    return Response(status_code=204)


@router.delete(_VERSION + "/tags/{key:path}", status_code=204)
def delete_model_version_tag(name: str, version: str, key: str, registry: RegistryDep) -> Response:
    """Remove one tag from a version."""
    registry.delete_model_version_tag(name, version, key)
    return Response(status_code=204)


@router.post(_VERSION + "/approval")
def set_approval(
    name: str, version: str, body: SetApproval, registry: RegistryDep, user: UserDep
) -> ModelVersion:
    """Approve or reject a version (or reset it to pending), recording who, when and why."""
    return registry.set_approval(name, version, body, user=user)


@router.get(_VERSION + "/lineage")
def get_lineage(name: str, version: str, registry: RegistryDep) -> Lineage:
    """The version, its run, the datasets the run read and the code version it ran."""
    return registry.lineage(name, version)


@router.get(_VERSION + "/files")
def list_version_files(
    name: str,
    version: str,
    registry: RegistryDep,
    path: Annotated[str, Query(max_length=4096)] = "",
    recursive: bool = True,
) -> VersionFiles:
    """The files of a version's package, relative to its root."""
    return VersionFiles(files=registry.list_version_files(name, version, path, recursive=recursive))


@router.get(_VERSION + "/files/{path:path}", response_model=None)
async def get_version_file(
    name: str, version: str, path: str, services: ServicesDep
) -> StreamingResponse:
    """Download one file of a version's package."""
    key = await run_in_threadpool(services.registry.version_file_key, name, version, path)
    info = await run_in_threadpool(services.artifacts.stat, key)
    if info.is_dir:
        raise InvalidArgument(f"{path!r} is a folder; list it instead", field="path")
    return await download(services.artifacts, key, key.rsplit("/", 1)[-1])


# -- aliases ----------------------------------------------------------------------------------


@router.get(_MODEL + "/aliases/{alias}")
def get_version_by_alias(name: str, alias: str, registry: RegistryDep) -> ModelVersion:
    """The version an alias points at."""
    return registry.get_version_by_alias(name, alias)


@router.put(_MODEL + "/aliases/{alias}")
def set_alias(name: str, alias: str, body: SetAlias, registry: RegistryDep) -> ModelVersion:
    """Point an alias (``champion``, ``challenger``...) at a version, moving it atomically."""
    return registry.set_alias(name, alias, body.version)


@router.delete(_MODEL + "/aliases/{alias}", status_code=204)
def delete_alias(name: str, alias: str, registry: RegistryDep) -> Response:
    """Remove an alias (the version stays)."""
    registry.delete_alias(name, alias)
    return Response(status_code=204)


# -- URIs -------------------------------------------------------------------------------------


@router.get("/model-uris")
def resolve_model_uri(
    registry: RegistryDep, uri: Annotated[str, Query(min_length=1, max_length=1000)]
) -> ResolvedModel:
    """What a ``models:/`` or ``runs:/`` URI names: the package's files and its digest."""
    return registry.resolve(uri)

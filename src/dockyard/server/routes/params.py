"""Native REST routes of the parameter store: ``/api/v1/params``.

Names start with ``/``, so they travel in the query string or the body, never in the path.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from dockyard.api.params import (
    LabelParameter,
    LabelResult,
    Parameter,
    ParameterList,
    PutParameter,
    PutResult,
)
from dockyard.server._deps import ActorDep, ParamsDep
from dockyard.server._route import OneHopRoute

router = APIRouter(prefix="/api/v1/params", tags=["params"], route_class=OneHopRoute)


@router.post("")
def put_parameter(request: PutParameter, params: ParamsDep, actor: ActorDep) -> PutResult:
    """Create a parameter, or with ``overwrite`` put a new version of one (409 when it exists
    and ``overwrite`` is not set)."""
    return params.put(actor, request)


@router.get("")
def get_parameters_by_path(
    params: ParamsDep,
    actor: ActorDep,
    path: str = "/",
    recursive: bool = False,
    max_results: int = 10,
    page_token: str | None = None,
) -> ParameterList:
    """The latest versions of the parameters under ``path`` the caller may read (direct
    children, or all with ``recursive``); SecureString values are left out."""
    return params.get_by_path(
        actor, path, recursive=recursive, max_results=max_results, page_token=page_token
    )


@router.get("/value")
def get_parameter(
    name: str, params: ParamsDep, actor: ActorDep, with_decryption: bool = False
) -> Parameter:
    """One version: ``name``, ``name:3`` or ``name:label``. A SecureString's value is in the
    answer only ``with_decryption``, for a caller allowed to decrypt it."""
    return params.get(actor, name, with_decryption=with_decryption)


@router.get("/history")
def get_parameter_history(
    name: str,
    params: ParamsDep,
    actor: ActorDep,
    max_results: int = 50,
    page_token: str | None = None,
) -> ParameterList:
    """Every version, oldest first, with labels; SecureString values are left out."""
    return params.history(actor, name, max_results=max_results, page_token=page_token)


@router.post("/labels")
def label_parameter_version(
    request: LabelParameter, params: ParamsDep, actor: ActorDep
) -> LabelResult:
    """Put labels on a version (the latest by default); a label moves from another version."""
    return params.label(actor, request)


@router.delete("", status_code=204)
def delete_parameter(name: str, params: ParamsDep, actor: ActorDep) -> Response:
    """Delete a parameter with all its versions and labels."""
    params.delete(actor, name)
    return Response(status_code=204)

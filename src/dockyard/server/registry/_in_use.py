"""Which endpoints serve a registered model's versions: what a delete must not pull away.

An endpoint names its models by URI (``models:/wine/3``, ``models:/wine@champion``,
``models:/wine/latest``), and its workers fetch them again whenever one starts (a crash, a
scale-out, a server restart). A version an endpoint serves, or is rolling out, therefore stays
until the endpoint stops naming it. An alias or ``latest`` counts for the version it resolves
to when the delete is asked, in the delete's own transaction: the check and the delete see the
same registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import Connection

from dockyard.errors import DockyardError, InUse
from dockyard.models.uris import RegistryRef, parse_model_uri
from dockyard.server.registry._repository import RegistryRepository

__all__ = ["ModelUsers", "refuse_if_served"]

#: ``(endpoint name, model URI)`` for every model an endpoint serves or is rolling out, read
#: in the caller's transaction.
ModelUsers = Callable[[Connection], Iterable[tuple[str, str]]]


def _served_versions(
    conn: Connection,
    repo: RegistryRepository,
    model_id: str,
    name: str,
    users: Iterable[tuple[str, str]],
) -> dict[str, set[int]]:
    """The versions of model ``name`` each endpoint serves."""
    served: dict[str, set[int]] = {}
    for endpoint, uri in users:
        try:
            ref = parse_model_uri(uri)
        except DockyardError:
            continue  # not a model URI the registry resolves
        if not isinstance(ref, RegistryRef) or ref.name != name:
            continue
        if ref.version is not None:
            number: int | None = ref.version
        elif ref.alias is not None:
            number = repo.alias_version_or_none(conn, model_id, ref.alias)
        else:
            number = repo.latest_ready(conn, model_id)
        if number is not None:
            served.setdefault(endpoint, set()).add(number)
    return served


def refuse_if_served(
    conn: Connection,
    repo: RegistryRepository,
    users: ModelUsers | None,
    model_id: str,
    name: str,
    version: int | None = None,
) -> None:
    """Raise :class:`~dockyard.errors.InUse` if an endpoint serves ``version`` of the model
    (any version when None), naming the endpoints in the message and in
    ``details["endpoints"]``."""
    if users is None:
        return
    served = _served_versions(conn, repo, model_id, name, users(conn))
    if version is not None:
        served = {e: {version} for e, numbers in served.items() if version in numbers}
    if not served:
        return
    endpoints = sorted(served)
    listed = ", ".join(
        e if version is not None else f"{e} (version {', '.join(map(str, sorted(served[e])))})"
        for e in endpoints
    )
    what = f"version {version} of model {name!r}" if version is not None else f"model {name!r}"
    noun = "endpoint" if len(endpoints) == 1 else "endpoints"
    raise InUse(
        f"{what} is served by {noun} {listed}: update or delete "
        f"{'it' if len(endpoints) == 1 else 'them'} first",
        field="version" if version is not None else "name",
        details={"endpoints": endpoints},
    )

"""Which endpoints serve a registered model's versions: what a delete or rename must not pull
away.

An endpoint names its models by URI (``models:/wine/3``, ``models:/wine@champion``,
``models:/wine/latest``); when it is created or updated, the server pins each registry URI to
the version it names then (:func:`pinned_version`, in the endpoint's own transaction), and its
workers load that version whenever one starts (a crash, a scale-out, a server restart). A
pinned version therefore stays until the endpoint stops serving it, while the alias itself may
move or go: the endpoint no longer depends on it. A config stored before versions were pinned
counts for the version its alias or ``latest`` resolves to when the delete is asked, in the
delete's own transaction: the check and the delete see the same registry.

Pins name the model by name (``models:/wine/3``), so a model an endpoint serves cannot be
renamed either: the endpoint's workers could no longer find it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import Connection

from dockyard.errors import DockyardError, InUse, NotFound
from dockyard.models.uris import RegistryRef, parse_model_uri
from dockyard.server.registry._repository import RegistryRepository

__all__ = ["ModelUsers", "pinned_version", "refuse_if_served"]

#: ``(endpoint name, model URI)`` for every model an endpoint serves or is rolling out, read
#: in the caller's transaction.
ModelUsers = Callable[[Connection], Iterable[tuple[str, str]]]


def pinned_version(
    conn: Connection, repo: RegistryRepository, uri: str, field: str = "uri"
) -> int | None:
    """The registered version ``uri`` names now (an alias or ``latest`` resolved), or None for
    a URI outside the registry.

    Raises:
        NotFound: The model, version or alias does not exist, or the model has no ready
            version (for ``latest``); the error names ``field``.
    """
    ref = parse_model_uri(uri, field)
    if not isinstance(ref, RegistryRef):
        return None
    try:
        model_id = repo.model_id(conn, ref.name)
        if ref.alias is not None:
            return repo.alias_version(conn, model_id, ref.name, ref.alias)
        if ref.latest:
            number = repo.latest_ready(conn, model_id)
            if number is None:
                raise NotFound(f"registered model {ref.name!r} has no ready version")
            return number
        assert ref.version is not None
        repo.version_row(conn, model_id, ref.name, ref.version)
        return ref.version
    except NotFound as exc:
        raise NotFound(f"{uri}: {exc.message}", field=field) from None


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
    *,
    action: str = "delete",
) -> None:
    """Raise :class:`~dockyard.errors.InUse` if an endpoint serves ``version`` of the model
    (any version when None), naming the endpoints in the message and in
    ``details["endpoints"]``; ``action`` is what was refused (``delete``, ``rename``)."""
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
    them = "it" if len(endpoints) == 1 else "them"
    message = f"{what} is served by {noun} {listed}: update or delete {them} first"
    if action != "delete":
        message = (
            f"cannot {action} {what}: it is served by {noun} {listed}; "
            f"update or delete {them} first"
        )
    raise InUse(
        message,
        field="version" if version is not None else "name",
        details={"endpoints": endpoints},
    )

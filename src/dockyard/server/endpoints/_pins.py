"""Pinning: an endpoint serves fixed model versions until it is updated.

A variant may name its model through an alias or ``latest`` (``models:/wine@champion``). When
the endpoint is created or updated, each such URI given is resolved, in the same transaction
as the change, to the version it names then, stored beside the URI as the variant's
``model_version``; the workers load that version (``served_uri``) whenever one starts, and the
registry keeps it from being deleted. Moving the alias afterwards changes nothing the endpoint
serves: an update that names the alias again re-resolves it (how a new champion is promoted),
one that leaves the variants out, or sends them back with the versions ``describe`` showed,
keeps their pins.

A config stored before versions were pinned has none: its workers resolve the alias as they
always did, and its next update pins what the new fleet loads.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from dockyard.api.endpoints import EndpointConfig

__all__ = ["PinModel", "pin", "unpinned"]

#: ``(connection, model URI, field) -> version``: the registered version a URI names now, in
#: the caller's transaction; None for a URI outside the registry.
PinModel = Callable[[Connection, str, str], int | None]


def unpinned(config: EndpointConfig, current: EndpointConfig | None = None) -> EndpointConfig:
    """``config`` with only the pins ``current`` (the config in service, None for a create)
    holds for the same URI: those stay, every other is dropped, to be resolved afresh.

    So a variant an update leaves out, or sends back as ``describe`` showed it, keeps its
    version, while one named without a version (``models:/wine@champion`` again) is resolved
    again; a version a client made up is never taken as given.
    """
    held: set[tuple[str, int]] = set()
    if current is not None:
        held = {(v.model_uri, v.model_version) for v in current.variants if v.model_version}
        if current.shadow is not None and current.shadow.model_version is not None:
            held.add((current.shadow.model_uri, current.shadow.model_version))

    def kept(uri: str, version: int | None) -> int | None:
        return version if version is not None and (uri, version) in held else None

    variants = [
        v.model_copy(update={"model_version": kept(v.model_uri, v.model_version)})
        for v in config.variants
    ]
    shadow = config.shadow
    if shadow is not None:
        shadow = shadow.model_copy(
            update={"model_version": kept(shadow.model_uri, shadow.model_version)}
        )
    return config.model_copy(update={"variants": variants, "shadow": shadow})


def pin(conn: Connection, config: EndpointConfig, version_of: PinModel) -> EndpointConfig:
    """``config`` with every variant (and the shadow) that has no pin pinned to the version
    its URI names now."""
    variants = [
        v
        if v.model_version is not None
        else v.model_copy(
            update={"model_version": version_of(conn, v.model_uri, f"variants.{i}.model_uri")}
        )
        for i, v in enumerate(config.variants)
    ]
    shadow = config.shadow
    if shadow is not None and shadow.model_version is None:
        number = version_of(conn, shadow.model_uri, "shadow.model_uri")
        shadow = shadow.model_copy(update={"model_version": number})
    return config.model_copy(update={"variants": variants, "shadow": shadow})

"""Who may name which area of the artifact store in a spec.

A spec may name a location inside the artifact store by URI (a run's artifacts as a channel, a
registered package as a model, another transform's output as an input). The store's layout
says which resource owns each area, and reading it needs what reading that resource needs, so
a URI cannot reach what the API would refuse:

================================  ======================================================
``<experiment id>/...``           read on that experiment (runs' and models' artifacts)
``registry/<model id>/...``       read on that registered model
``data/users/<area>/...``         its account; others too where the default permission is read
``data/...``                      anyone (uploads of a server without accounts)
``transform/<job>/...``           read on that job's experiment; writing: that job only
``capture/<endpoint>/...``        read on that endpoint; writing: that endpoint only
``checkpoints/<area>/...``        writing: its account; reading: as ``data/users/``
anything else                     admins
================================  ======================================================

A personal ``<area>`` belongs to one account for good (:mod:`._areas`): the account's name,
unless an account deleted earlier had that name. The area of a deleted account belongs to no
account: admins write it, and read it as everyone does where the default permission is read.

Where a spec may write at all (``transform/``, ``capture/``, ``checkpoints/``) is decided first
by :class:`dockyard.artifacts.roots.AllowedRoots`.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from dockyard.errors import PermissionDenied
from dockyard.server.actor import Actor, Level
from dockyard.server.auth._access import Access
from dockyard.server.auth._areas import area_of
from dockyard.server.store import schema

__all__ = ["StoreAreas"]


class StoreAreas:
    """The per-area rule of the table above.

    Args:
        access: The permission rules.
    """

    def __init__(self, access: Access) -> None:
        self._access = access

    def check(
        self,
        conn: Connection,
        actor: Actor,
        key: str,
        field: str,
        *,
        write: bool = False,
        owner: str | None = None,
    ) -> None:
        """PermissionDenied unless ``actor`` may read (or, with ``write``, write) ``key``.

        Args:
            key: The location's key inside the store (``AllowedRoots.check`` answers it).
            field: The spec field that names it, for the error.
            owner: The job or endpoint being submitted, for the areas only it may write.
        """
        parts = key.split("/")
        area = parts[0]
        name = parts[1] if len(parts) > 1 else ""
        what = f"name {key!r} in {field}"
        if write:
            if area in ("transform", "capture") and name != owner:
                raise PermissionDenied(
                    f"{actor.label} may not {what}: a spec writes only {area}/{owner}/ in the "
                    f"artifact store, its own area",
                    field=field,
                )
            if area == "checkpoints":
                self._personal(conn, actor, name, what, field, "checkpoints/")
            return
        try:
            self._read(conn, actor, parts, what, field)
        except PermissionDenied as exc:
            if exc.field is None:  # name the spec's field, not the resource's
                raise PermissionDenied(exc.message, field=field, details=exc.details) from None
            raise

    def _read(
        self, conn: Connection, actor: Actor, parts: list[str], what: str, field: str
    ) -> None:
        area = parts[0]
        name = parts[1] if len(parts) > 1 else ""
        if area.isdigit():
            self._access.require(conn, actor, Level.READ, "experiment", area, what)
        elif area == "registry":
            self._access.require(conn, actor, Level.READ, "registered_model", name, what)
        elif area == "data":
            if name == "users" and self._access.default < Level.READ:
                self._personal(conn, actor, parts[2] if len(parts) > 2 else "", what, field)
        elif area == "transform":
            self._job(conn, actor, name, what)
        elif area == "capture":
            self._access.require(conn, actor, Level.READ, "endpoint", name, what)
        elif area == "checkpoints" and self._access.default < Level.READ:
            self._personal(conn, actor, name, what, field)
        else:
            self._access.require_admin(actor, what)

    def _personal(
        self, conn: Connection, actor: Actor, name: str, what: str, field: str, yours: str = ""
    ) -> None:
        if actor.user_id is None or actor.is_admin:
            return
        # By the account's area, never its name: a name may have belonged to a deleted account.
        mine = area_of(conn, actor.user_id)
        if mine is not None and name == mine:
            return
        hint = f"; use {yours}{mine}/" if yours and mine is not None else ""
        raise PermissionDenied(
            f"{actor.label} may not {what}: that area is not yours{hint}", field=field
        )

    def _job(self, conn: Connection, actor: Actor, name: str, what: str) -> None:
        jobs = schema.jobs
        found = conn.execute(select(jobs.c.experiment_id).where(jobs.c.name == name)).first()
        if found is None or found.experiment_id is None:
            self._access.require_admin(actor, what)
            return
        self._access.require(conn, actor, Level.READ, "experiment", str(found.experiment_id), what)

"""Permissions: what an actor may do with a resource, decided in one place.

Services call :class:`Access` inside their transactions; routes and protocol adapters never
decide. The rules:

- **Roles.** ``admin`` may do anything. ``member`` may create experiments, registered models,
  endpoints and jobs, and owns what they create (a ``manage`` grant). ``viewer`` never writes.
- **Levels on a resource** (an experiment, a registered model, an endpoint): ``read`` < ``edit``
  < ``manage``, granted to a user or to every signed-in user (``*``). Without a grant, a user
  has the server's ``default_permission`` (``read`` unless configured).
- **Runs are their author's.** Changing a run needs ``edit`` on its experiment and being the
  run's author, or ``manage`` on the experiment.
  Logged models (MLflow 3) follow the same rule with their creator as author
  (:mod:`dockyard.server.tracking._logged_models`).
- **Jobs** are submitted with ``edit`` on their experiment and stopped by their submitter or an
  experiment manager. A job's own token reads what its submitter may read and changes only its
  run, runs nested under it (which it creates where its submitter may), and the model it
  registers into. A new run is nested only under a run its creator may read. What only a
  job's runner does (fetch its launch, report its status, append to its log) needs the
  runner's own token.
- **Notifications.** Subscriptions send events outside Dockyard, whatever resource they are
  about, so creating, reading, replaying or deleting one needs the ``admin`` role (a member
  could otherwise read events about resources hidden from them). Members create custom topics;
  a topic is its creator's: only its creator (or an admin) publishes to it, as only they see
  what is published there (:meth:`Access.require_topic`). Deleting a topic needs ``admin``.
  Anyone signed in lists topics. Confirming a subscription needs no account: the token its
  endpoint was sent is the permission (:mod:`dockyard.server.notifications._confirmations`).
- **Approvals** need ``edit`` on the model and, with ``approval_separation`` (the default), come
  from someone other than the version's author.
- **Parameters** have hierarchical names; a grant on a path ending in ``/`` (``/team/``) covers
  every name under it, a grant on a name covers that name, and the account that created a
  parameter owns it (``manage``). Creating a name needs the member role; a new version or a
  label ``edit``; deleting ``manage``. Decrypting a SecureString needs more than the default
  permission: an explicit grant (``read`` or more) on the name or a path above it, owning it,
  or the admin role (:class:`PathAccess`).
- **Triggers** start work by themselves, as their creator: a trigger is its creator's alone.
  Creating one needs the member role; reading, firing and deleting it, being its creator or
  an admin. Its work is submitted with the creator's account as it is when it fires, so the
  job rules above still decide what it may start. Its hook answers to its secret, not to a
  token. **Pipelines** are owned alike (:meth:`Access.require_own`). A read-only credential
  of the creator (or of an admin) reads either and runs, fires or changes none; a job's
  credential uses neither.

Without accounts (the embedded default, or a loopback server with no users) every actor is an
admin: the same checks run and pass. Decisions are cached per process for a few seconds, so a
hot path (logging metrics) costs a dictionary lookup; a revoked grant stops working within that
time on other server processes, at once on this one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, delete, select

from dockyard.errors import InvalidArgument, PermissionDenied
from dockyard.server.actor import Actor, Level, Role
from dockyard.server.store import schema, upsert

__all__ = ["EVERYONE", "Access", "PathAccess"]

_G = schema.grants
EVERYONE = "*"
_TTL_S = 2.0
_MAX_CACHE = 20_000


class Access:
    """The permission rules.

    Args:
        default_permission: What a signed-in user may do where nobody granted them anything.
        approval_separation: Whether a version's author may approve it.
    """

    def __init__(self, *, default_permission: str = "read", approval_separation: bool = True):
        self.default = Level.parse(default_permission)
        self.approval_separation = approval_separation
        self._cache: dict[tuple[int, str, str], tuple[float, Level]] = {}

    # -- levels ---------------------------------------------------------------------------------

    def level(self, conn: Connection, actor: Actor, kind: str, resource_id: str) -> Level:
        """The actor's level on one resource."""
        # Anonymous, local and system actors exist only where no sign-in is needed.
        if actor.user_id is None or actor.role is Role.ADMIN:
            level = Level.MANAGE
        else:
            level = self._granted(conn, actor.user_id, kind, str(resource_id))
            if actor.role is Role.VIEWER:
                level = min(level, Level.READ)
        if actor.job is not None or actor.read_only:
            level = min(level, Level.READ)
        return level

    def _granted(self, conn: Connection, user_id: int, kind: str, resource_id: str) -> Level:
        key = (user_id, kind, resource_id)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        rows = conn.execute(
            select(_G.c.level).where(
                _G.c.kind == kind,
                _G.c.resource_id == resource_id,
                _G.c.principal.in_((str(user_id), EVERYONE)),
            )
        ).scalars()
        level = max([self.default, *(Level.parse(r) for r in rows)])
        if len(self._cache) >= _MAX_CACHE:
            self._cache.clear()
        self._cache[key] = (now + _TTL_S, level)
        return level

    def require(
        self, conn: Connection, actor: Actor, needed: Level, kind: str, resource_id: str, what: str
    ) -> None:
        """PermissionDenied unless the actor has ``needed`` on the resource."""
        if self.level(conn, actor, kind, resource_id) >= needed:
            return
        raise PermissionDenied(
            f"{actor.label} may not {what}: it needs {needed.label} permission on "
            f"{kind.replace('_', ' ')} {_shown(conn, kind, resource_id)}"
            + (" (this token is read-only)" if actor.read_only else "")
            + (" (a job's token changes only its own run and model)" if actor.job else ""),
            details={"needed": needed.label, "kind": kind, "resource": str(resource_id)},
        )

    def require_role(self, actor: Actor, role: Role, what: str) -> None:
        """PermissionDenied unless the actor's role is at least ``role`` (and may write)."""
        order = (Role.VIEWER, Role.MEMBER, Role.ADMIN)
        writes = role is not Role.VIEWER
        if order.index(actor.role) >= order.index(role) and not (
            writes and (actor.read_only or actor.job is not None)
        ):
            return
        why = (
            "this token is read-only"
            if actor.read_only
            else "a job's token changes only its own run and model"
            if actor.job is not None
            else f"it needs the {role.value} role"
        )
        raise PermissionDenied(f"{actor.label} may not {what}: {why}")

    def require_registration(
        self, conn: Connection, actor: Actor, model_id: str | None, what: str
    ) -> None:
        """PermissionDenied unless the account that submitted ``actor``'s job may register into
        the model its ``output.register_as`` names, as it would register itself: the member
        role to create it (``model_id`` None), ``edit`` on it to add versions. A job's token
        holds no more than its submitter: whoever may submit a job writes its spec, the model
        it names included."""
        submitter = replace(actor, job=None)
        if model_id is None:
            self.require_role(submitter, Role.MEMBER, what)
        else:
            self.require(conn, submitter, Level.EDIT, "registered_model", model_id, what)

    def require_job_runner(self, actor: Actor, job_id: str, job_name: str, what: str) -> None:
        """PermissionDenied unless ``actor`` is the runner of job ``job_id``: its runner token
        (:class:`JobScope` with ``runner``), or, on a server without accounts (where no tokens
        exist and every caller may already do anything), an actor that is not an account."""
        if actor.job is not None:
            if actor.job.job_id == job_id and actor.job.runner:
                return
            raise PermissionDenied(
                f"{actor.label} may not {what}: only the runner of job {job_name} may"
            )
        if actor.user_id is None and not actor.read_only:
            return
        raise PermissionDenied(
            f"{actor.label} may not {what}: only the runner of job {job_name} may, "
            "with the token it was started with"
        )

    def require_subscriptions(self, actor: Actor, what: str) -> None:
        """Managing subscriptions (see the rules above): the admin role, a writing token."""
        self.require_role(actor, Role.ADMIN, what)

    def require_publish(self, actor: Actor, what: str) -> None:
        """Creating custom topics: a member who may write."""
        self.require_role(actor, Role.MEMBER, what)

    def require_topic(self, actor: Actor, owner_id: int | None, name: str, what: str) -> None:
        """Publishing to custom topic ``name``: a member who may write and created it, or an
        admin. Its events are visible to their publisher and admins only, so a topic shared
        with every member would let anyone speak in its creator's name."""
        self.require_publish(actor, what)
        if actor.user_id is None or actor.role is Role.ADMIN:
            return
        if owner_id is None or owner_id != actor.user_id:
            raise PermissionDenied(
                f"{actor.label} may not {what}: topic {name} is its creator's (or an admin's)",
                details={"kind": "topic", "resource": name[:64]},
            )

    def is_acting_owner(self, actor: Actor, owner_id: int | None) -> bool:
        """Whether ``actor`` is the account ``owner_id`` (by id: a name may have been deleted
        and given to a new account) and its role still lets it change things: a creator
        demoted to viewer, a read-only credential and a job's token act as no owner."""
        return (
            owner_id is not None
            and actor.user_id == owner_id
            and actor.job is None
            and not actor.read_only
            and actor.role is not Role.VIEWER
        )

    def may_use_trigger(self, actor: Actor, owner_id: int | None, *, read: bool = False) -> bool:
        """Whether ``actor`` may fire, change or delete a trigger ``owner_id`` created (with
        ``read``: read it, which a read-only credential of its creator or an admin may)."""
        if actor.job is not None or (actor.read_only and not read):
            return False
        if actor.user_id is None or actor.role is Role.ADMIN:
            return True
        if not read and actor.role is Role.VIEWER:  # a creator demoted since only reads
            return False
        return owner_id is not None and owner_id == actor.user_id

    def require_trigger(
        self, actor: Actor, owner_id: int | None, name: str, what: str, *, read: bool = False
    ) -> None:
        """PermissionDenied unless ``actor`` created trigger ``name`` or is an admin."""
        self.require_own(actor, owner_id, f"trigger {name}", what, read=read)

    def may_use_own(self, actor: Actor, owner_id: int | None, *, read: bool = False) -> bool:
        """Whether ``actor`` may use what the account ``owner_id`` created and owns alone (a
        trigger, a pipeline): its creator, or an admin; anyone on a server without accounts.
        With ``read``, only read it: a read-only credential of the same accounts may."""
        return self.may_use_trigger(actor, owner_id, read=read)

    def require_own(
        self, actor: Actor, owner_id: int | None, resource: str, what: str, *, read: bool = False
    ) -> None:
        """PermissionDenied unless ``actor`` created ``resource`` (``pipeline retrain``) or is
        an admin (``read``: see :meth:`may_use_own`)."""
        if not self.may_use_own(actor, owner_id, read=read):
            # a job's credential uses nothing owned alone, its creator's included; a read-only
            # one reads what its account may, and runs or changes none of it
            why = (
                "a read-only credential reads pipelines and triggers, but runs and changes none"
                if actor.read_only and self.may_use_own(actor, owner_id, read=True)
                else "a viewer reads its pipelines and triggers, but runs and changes none"
                if actor.role is Role.VIEWER and self.may_use_own(actor, owner_id, read=True)
                else "a job's credential uses no pipeline or trigger"
                if actor.job is not None
                else f"{resource} is its creator's (or an admin's)"
            )
            raise PermissionDenied(f"{actor.label} may not {what}: {why}")

    def require_writing(self, actor: Actor, what: str) -> None:
        """PermissionDenied for a read-only credential, which changes nothing, where whatever
        else the caller holds decides (a task's token answers its callback, a job's included)."""
        if actor.read_only:
            raise PermissionDenied(f"{actor.label} may not {what}: this token is read-only")

    def require_admin(self, actor: Actor, what: str) -> None:
        if not actor.is_admin:
            raise PermissionDenied(f"{actor.label} may not {what}: it needs the admin role")

    def credential_owner(self, actor: Actor, user: str | None, what: str) -> str:
        """Whose new credential (``what``: tokens, access keys) ``actor`` makes: its own, or,
        for an admin, the account ``user`` names. A job's or a read-only credential makes
        none, and an actor with no account must name one."""
        if actor.job is not None or actor.read_only:
            raise PermissionDenied(f"{actor.label} may not create {what} with this credential")
        if actor.user_id is None and user is None:
            raise InvalidArgument(
                f"{what} belong to accounts: name one with 'user' (no account is signed in)",
                field="user",
            )
        owner = user or actor.name
        if owner != actor.name:
            self.require_admin(actor, f"create {what} for {owner!r}")
        return owner

    # -- runs -----------------------------------------------------------------------------------

    def require_run_write(
        self,
        conn: Connection,
        actor: Actor,
        run: Any,
        what: str,
        parents: Callable[[str], str | None],
        owner: Callable[[], int | None],
    ) -> None:
        """May ``actor`` change ``run`` (a RunInfo)? ``parents`` maps a run id to its parent's;
        ``owner`` gives the account that made the run (asked only when it decides: an author
        goes by account id, as a name may since have been given to a new account)."""
        if actor.job is not None:
            if actor.job.run_id is not None and _descends(run.run_id, actor.job.run_id, parents):
                return
            raise PermissionDenied(
                f"{actor.label} may not {what}: a job's token changes only its own run "
                f"({actor.job.run_id}) and runs nested under it"
            )
        if actor.user_id is None:
            return
        experiment = str(run.experiment_id)
        level = self.level(conn, actor, "experiment", experiment)
        if level >= Level.MANAGE or (level >= Level.EDIT and self.is_acting_owner(actor, owner())):
            return
        if level >= Level.EDIT:
            raise PermissionDenied(
                f"{actor.label} may not {what}: run {run.run_id} belongs to "
                f"{run.user_id or 'nobody'} (changing others' runs needs manage permission on "
                f"experiment {experiment})"
            )
        self.require(conn, actor, Level.EDIT, "experiment", experiment, what)

    def require_run_create(
        self,
        conn: Connection,
        actor: Actor,
        experiment_id: str,
        parent_run_id: str | None,
        parents: Callable[[str], str | None],
    ) -> None:
        if actor.job is not None:
            if (
                parent_run_id is not None
                and actor.job.run_id is not None
                and _descends(parent_run_id, actor.job.run_id, parents)
            ):
                # Nested under its own run, and where its submitter may create runs: a job's
                # token holds no more than its submitter.
                self.require(
                    conn,
                    replace(actor, job=None),
                    Level.EDIT,
                    "experiment",
                    experiment_id,
                    "create runs in it",
                )
                return
            raise PermissionDenied(
                f"{actor.label} may not create a run here: a job's token creates only runs nested "
                f"under its own run ({actor.job.run_id})"
            )
        self.require(conn, actor, Level.EDIT, "experiment", experiment_id, "create runs in it")

    # -- grants ---------------------------------------------------------------------------------

    def own(self, conn: Connection, actor: Actor, kind: str, resource_id: str) -> None:
        """Make ``actor`` the owner of a resource it just created."""
        if actor.user_id is not None and actor.job is None:
            self.grant(conn, kind, resource_id, str(actor.user_id), Level.MANAGE)

    def grant(
        self, conn: Connection, kind: str, resource_id: str, principal: str, level: Level
    ) -> None:
        """Set (or with ``Level.NONE`` remove) one grant."""
        if level is Level.NONE:
            conn.execute(
                delete(_G).where(
                    _G.c.kind == kind,
                    _G.c.resource_id == str(resource_id),
                    _G.c.principal == principal,
                )
            )
        else:
            upsert(
                conn,
                _G,
                [
                    {
                        "kind": kind,
                        "resource_id": str(resource_id),
                        "principal": principal,
                        "level": level.label,
                    }
                ],
                keys=("kind", "resource_id", "principal"),
            )
        self._cache.clear()

    def forget(self, conn: Connection, kind: str, resource_id: str) -> None:
        """Drop every grant on a resource that no longer exists."""
        conn.execute(delete(_G).where(_G.c.kind == kind, _G.c.resource_id == str(resource_id)))
        self._cache.clear()

    def grants(self, conn: Connection, kind: str, resource_id: str) -> list[tuple[str, Level]]:
        rows = conn.execute(
            select(_G.c.principal, _G.c.level).where(
                _G.c.kind == kind, _G.c.resource_id == str(resource_id)
            )
        ).all()
        return [(r.principal, Level.parse(r.level)) for r in rows]

    # -- hierarchical names (parameters) --------------------------------------------------------

    def paths(self, conn: Connection, actor: Actor, kind: str) -> PathAccess:
        """The actor's grants on the names and paths of ``kind``, read once: a listing asks
        about many names."""
        if actor.user_id is None or actor.role is Role.ADMIN:
            return PathAccess(actor, self.default, None)
        rows = conn.execute(
            select(_G.c.resource_id, _G.c.level).where(
                _G.c.kind == kind, _G.c.principal.in_((str(actor.user_id), EVERYONE))
            )
        ).all()
        grants: dict[str, Level] = {}
        for row in rows:
            grants[row.resource_id] = max(
                grants.get(row.resource_id, Level.NONE), Level.parse(row.level)
            )
        return PathAccess(actor, self.default, grants)

    # -- listings -------------------------------------------------------------------------------

    def readable(self, conn: Connection, actor: Actor, kind: str) -> set[str] | None:
        """Ids of the resources of ``kind`` the actor may read; None when it may read all."""
        if actor.user_id is None or actor.role is Role.ADMIN or self.default >= Level.READ:
            return None
        rows = conn.execute(
            select(_G.c.resource_id, _G.c.level).where(
                _G.c.kind == kind, _G.c.principal.in_((str(actor.user_id), EVERYONE))
            )
        ).all()
        return {r.resource_id for r in rows if Level.parse(r.level) >= Level.READ}

    def visibility(
        self, conn: Connection, actor: Actor, kinds: Iterable[str]
    ) -> Callable[[str, str], bool]:
        """A filter for event scopes (``kind:id``) this actor may see."""
        if actor.is_admin or actor.user_id is None:
            return lambda scope, who: True
        sets = {kind: self.readable(conn, actor, kind) for kind in kinds}
        me = actor.name

        def visible(scope: str, who: str) -> bool:
            kind, _, ident = scope.partition(":")
            if kind == "parameter":  # grants on paths above the name count; so does writing it
                allowed = sets.get(kind)
                return (
                    allowed is None or who == me or any(p in allowed for p in path_prefixes(ident))
                )
            if kind in sets:
                allowed = sets[kind]
                return allowed is None or ident in allowed
            return who == me or who.startswith(f"{me} (")

        return visible


def path_prefixes(name: str) -> list[str]:
    """Where a grant covering ``name`` may be: ``/``, each path above it (``/a/``), the name."""
    parts = name[1:].split("/")
    return ["/", *("/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts))), name]


@dataclass(frozen=True, slots=True)
class PathAccess:
    """One actor's permissions on hierarchical names (parameters): see the module docstring.

    ``grants`` maps a granted name or path to the best level the actor holds there; None means
    everything is allowed (an admin, or a server without accounts).
    """

    actor: Actor
    default: Level
    grants: dict[str, Level] | None

    def _capped(self, level: Level) -> Level:
        if self.actor.role is Role.VIEWER or self.actor.job is not None or self.actor.read_only:
            return min(level, Level.READ)
        return level

    def explicit(self, name: str, owner_id: int | None) -> Level:
        """The level granted on ``name`` or a path above it, or owned; the default aside."""
        if self.grants is None:
            return self._capped(Level.MANAGE)
        level = (
            Level.MANAGE if owner_id is not None and owner_id == self.actor.user_id else Level.NONE
        )
        for path in path_prefixes(name):
            level = max(level, self.grants.get(path, Level.NONE))
        return self._capped(level)

    def level(self, name: str, owner_id: int | None) -> Level:
        if self.grants is None:
            return self._capped(Level.MANAGE)
        return max(self.explicit(name, owner_id), self._capped(self.default))

    def may_decrypt(self, name: str, owner_id: int | None) -> bool:
        """A SecureString's clear value: never on the server's default permission alone."""
        return self.explicit(name, owner_id) >= Level.READ

    def require(
        self, needed: Level, name: str, owner_id: int | None, what: str, kind: str = "parameter"
    ) -> None:
        if self.level(name, owner_id) >= needed:
            return
        raise PermissionDenied(
            f"{self.actor.label} may not {what}: it needs {needed.label} permission on "
            f"{kind} {name} or a path above it"
            + (" (this token is read-only)" if self.actor.read_only else "")
            + (" (a job's token only reads)" if self.actor.job else ""),
            details={"needed": needed.label, "kind": kind, "resource": name[:256]},
        )


def _shown(conn: Connection, kind: str, resource_id: str) -> str:
    """The resource as its users name it: a registered model's grants are kept under its
    internal id (a rename keeps them), which means nothing to the caller, nor to ``dockyard
    grants set``, which takes the name."""
    if kind != "registered_model":
        return str(resource_id)
    m = schema.registered_models
    name = conn.execute(select(m.c.name).where(m.c.model_id == resource_id)).scalar()
    return repr(name) if name is not None else str(resource_id)


def _descends(run_id: str, ancestor: str, parents: Callable[[str], str | None]) -> bool:
    current: str | None = run_id
    for _ in range(32):  # nesting deeper than this is not a job's child run
        if current is None:
            return False
        if current == ancestor:
            return True
        current = parents(current)
    return False

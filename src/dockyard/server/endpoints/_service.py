"""Endpoint rules: create, update (a rollout), delete, describe, API keys. The supervisor does
the work."""

from __future__ import annotations

import builtins
import hashlib
import os
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from pydantic import ValidationError
from sqlalchemy import Connection

from dockyard.api.endpoints import (
    Endpoint,
    EndpointConfig,
    EndpointKey,
    EndpointStatus,
    EndpointUpdate,
    NewEndpointKey,
    Rollout,
)
from dockyard.api.serving import new_api_key
from dockyard.api.serving.config import ApiKey
from dockyard.errors import Conflict, InUse, InvalidArgument, NotFound, invalid_from_validation
from dockyard.server.actor import Actor, Level, Role
from dockyard.server.auth import Access, StoreAreas
from dockyard.server.endpoints._fleet import Fleet, replica_addresses
from dockyard.server.endpoints._launcher import load_launcher
from dockyard.server.endpoints._logs import EndpointLogs
from dockyard.server.endpoints._pins import PinModel, pin, unpinned
from dockyard.server.endpoints._repository import EndpointRepository
from dockyard.server.events import EventLog
from dockyard.server.store import Database
from dockyard.server.tracking import now_ms
from dockyard.settings import Settings

if TYPE_CHECKING:
    from dockyard.server.params import ParamService

__all__ = ["EndpointService"]

# A config or an update of one: params resolve in either, keeping its kind.
C = TypeVar("C", EndpointConfig, EndpointUpdate)

_BUSY = (
    EndpointStatus.CREATING,
    EndpointStatus.UPDATING,
    EndpointStatus.ROLLING_BACK,
    EndpointStatus.DELETING,
)


def _free_port(host: str, taken: set[int]) -> int:
    """A port free on ``host`` that no endpoint has; ``host`` must be an address of this machine."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(100):
        with socket.socket(family) as sock:
            try:
                sock.bind((host, 0))
            except OSError as exc:
                raise InvalidArgument(
                    f"cannot bind {host} on this machine ({exc.strerror}): give an address of "
                    "one of its interfaces, 127.0.0.1 (the default) or 0.0.0.0",
                    field="host",
                ) from None
            port = int(sock.getsockname()[1])
        if port not in taken:
            return port
    raise Conflict("no free port for the endpoint")  # pragma: no cover - 100 collisions


_KIND = "endpoint"
_SYSTEM = Actor.system("supervisor")


class EndpointService:
    """The endpoints' rules; state changes are carried out by the supervisor.

    Creating needs the member role (the creator owns the endpoint) and read access to every
    model it serves; updating (which moves traffic) needs ``edit`` on the endpoint; deleting,
    and making or revoking its API keys, need ``manage``. Every change, the supervisor's
    included, is appended to the event log.
    """

    def __init__(self, db: Database, settings: Settings, events: EventLog, access: Access) -> None:
        self._db = db
        self._events = events
        self._access = access
        self._repo = EndpointRepository()
        self._settings = settings
        self.roots = settings.allowed_roots()
        self._areas = StoreAreas(access)
        self.wake = threading.Event()
        # Set by the server: checks that a model URI names something the actor may load.
        self.check_model: Callable[[Actor, str, str], None] | None = None
        # Set by the server: the registered version a model URI names now (see _pins).
        self.pin_model: PinModel | None = None
        # Set by the server: resolves {{param:/name}} references in configs.
        self.params: ParamService | None = None
        # Set by the server: the monitoring schedules that watch an endpoint, read in the
        # caller's transaction (an endpoint they watch is not deleted from under them).
        self.watchers: Callable[[Connection, str], builtins.list[str]] | None = None

    def _resolve_params(self, actor: Actor, config: C) -> tuple[C, builtins.list[str]]:
        """The config with its String parameter references resolved with ``actor``'s
        permissions, and ``name:version`` of each used. An endpoint has no environment, so a
        SecureString is refused."""
        body = config.model_dump(mode="json", exclude_unset=True)
        if self.params is None or b"{{" not in orjson.dumps(body):
            return config, []
        body, uses = self.params.resolve(actor, body, secure_in=lambda field: False)
        try:
            resolved = type(config).model_validate(body)
        except ValidationError as exc:
            raise invalid_from_validation(exc.errors()) from exc
        return resolved, sorted({f"{u.name}:{u.version}" for u in uses})

    def _check_models(self, actor: Actor, config: EndpointConfig) -> None:
        # A pinned variant is checked by its version: its alias may have moved or gone.
        models = [(v.served_uri, f"variants.{i}.model_uri") for i, v in enumerate(config.variants)]
        if config.shadow is not None:
            models.append((config.shadow.served_uri, "shadow.model_uri"))
        # The allowed roots first, before anything looks at the disk (no existence oracle).
        locations = [(uri, field, False) for uri, field in models]
        if config.capture.destination is not None:
            locations.append((config.capture.destination, "capture.destination", True))
        for uri, field, write in locations:
            key = self.roots.check(uri, field, write=write)
            if key is not None:
                with self._db.read() as conn:
                    self._areas.check(conn, actor, key, field, write=write, owner=config.name)
        if self.check_model is None:
            return
        for uri, field in models:
            self.check_model(actor, uri, field)

    def _pin(self, conn: Connection, config: EndpointConfig) -> EndpointConfig:
        """Pin what has no pin yet to the versions its URIs name now (in ``conn``'s
        transaction, so no delete slips between the look-up and the write)."""
        return config if self.pin_model is None else pin(conn, config, self.pin_model)

    def _event(
        self, conn: Any, actor: Actor, type: str, name: str, body: dict[str, Any] | None = None
    ) -> None:
        self._events.append(conn, actor, type, _KIND, name, scope=f"{_KIND}:{name}", body=body)

    def create(self, actor: Actor, config: EndpointConfig) -> Endpoint:
        """Record the endpoint (Creating); the supervisor starts its workers.

        It binds loopback unless its config names another address, whatever the server binds.
        """
        self._access.require_role(actor, Role.MEMBER, "create endpoints")
        config, used = self._resolve_params(actor, config)
        self._check_models(actor, config)
        self._refuse_earlier_capture(actor, config)
        config = config.model_copy(update={"host": config.bind_host})  # stored explicitly
        config = unpinned(config)  # the server pins, whatever was given
        now = now_ms()
        with self._db.write() as conn:
            if self._repo.exists(conn, config.name):
                raise Conflict(f"endpoint {config.name!r} exists; update it instead", field="name")
            config = self._pin(conn, config)
            taken = self._repo.ports(conn)
            if config.port is not None and config.port in taken:
                raise Conflict(f"port {config.port} is used by another endpoint", field="port")
            free = _free_port(config.bind_host, taken)  # also proves the address can be bound
            port = config.port or free
            self._repo.insert(
                conn,
                name=config.name,
                status=EndpointStatus.CREATING.value,
                config=config.model_dump_json(),
                port=port,
                created_time=now,
                updated_time=now,
            )
            self._repo.event(conn, config.name, EndpointStatus.CREATING, now, "created")
            self._access.own(conn, actor, _KIND, config.name)
            self._event(conn, actor, "endpoint.created", config.name, _summary(config, used))
            endpoint = self._repo.get(conn, config.name)
        self.wake.set()
        return endpoint

    def _refuse_earlier_capture(self, actor: Actor, config: EndpointConfig) -> None:
        """An endpoint's readers read the traffic captured in its capture location
        (``capture/<name>/``, or ``<capture.destination>/<name>/``), which deleting an endpoint
        leaves there: a new endpoint of a deleted one's name would give its creator another
        account's captured requests and answers. Only an account that made every endpoint of
        that name so far (or an admin) makes one where such traffic is left, or moves one's
        capture there."""
        if actor.is_admin or actor.user_id is None:
            return
        from dockyard.artifacts import open_artifact_store

        destination = config.capture.destination
        store = open_artifact_store(
            destination or self._settings.resolved_artifact_root,
            s3_endpoint_url=self._settings.s3_endpoint_url,
        )
        prefix = config.name if destination else f"capture/{config.name}"
        if not store.list(prefix):
            return
        # Which endpoint of the name captured what lies there is not known: any made by
        # another account may have. The newest such creator is named.
        creator = None
        known = False  # whether any endpoint of the name is known to have been made
        before = 2**62
        while creator is None:
            earlier = self._events.read(
                types=["endpoint.created"],
                resource_type=_KIND,
                resource_id=config.name,
                before=before,
                limit=500,
            )
            if not earlier:
                break
            known = True
            creator = next((e.actor for e in earlier if e.actor != actor.name), None)
            before = earlier[-1].id
        if known and creator is None:
            return
        where = f"{destination.rstrip('/')}/{config.name}/" if destination else f"{prefix}/"
        raise Conflict(
            f"an earlier endpoint named {config.name!r}"
            + (f" (made by {creator})" if creator else "")
            + f" left its captured traffic in {where}, which this endpoint's readers would "
            "read: choose another name, or ask an admin to remove that traffic or to make "
            "the endpoint",
            field="name",
        )

    def update(
        self,
        actor: Actor,
        name: str,
        config: EndpointConfig | EndpointUpdate,
        rollout: Rollout | None = None,
    ) -> Endpoint:
        """Roll out ``config`` (blue/green, as its rollout policy or ``rollout`` says).

        ``config`` is merged over the current one (:meth:`EndpointConfig.merged_over`): what
        it leaves out, data capture included, stays as it is.
        """
        if config.name is not None and config.name != name:
            raise InvalidArgument(
                f"the config names endpoint {config.name!r}, not {name!r}", field="name"
            )
        with self._db.read() as conn:
            current = EndpointConfig.model_validate_json(self._repo.row(conn, name).config)
            self._access.require(conn, actor, Level.EDIT, _KIND, name, "update it")
        config, used = self._resolve_params(actor, config)
        try:
            # What the update names anew is pinned afresh (an alias named again is resolved
            # again); what it leaves out or sends back pinned keeps its version.
            config = unpinned(config.merged_over(current), current)
        except ValidationError as exc:
            raise invalid_from_validation(exc.errors()) from exc
        if rollout is not None:
            config = config.model_copy(update={"rollout": rollout})
        self._check_models(actor, config)
        if config.capture.destination != current.capture.destination:
            # A capture location the endpoint moves to is checked as one it is made with.
            self._refuse_earlier_capture(actor, config)
        now = now_ms()
        with self._db.write() as conn:
            row = self._repo.row(conn, name)
            status = EndpointStatus(row.status)
            if status in _BUSY:
                raise Conflict(
                    f"endpoint {name!r} is {status.value}; wait until it is InService", field="name"
                )
            current = EndpointConfig.model_validate_json(row.config)
            if config.port not in (None, row.port) or current.port not in (None, config.port):
                raise InvalidArgument("an endpoint keeps its port across updates", field="port")
            # Workers bind once: an update that leaves the address out keeps it.
            if config.host is None:
                config = config.model_copy(update={"host": current.bind_host})
            elif config.host != current.bind_host:
                raise InvalidArgument(
                    f"an endpoint keeps its host across updates (it binds {current.bind_host}); "
                    "delete and create it to move it",
                    field="host",
                )
            config = self._pin(conn, config)
            self._repo.update(
                conn,
                name,
                status=EndpointStatus.UPDATING.value,
                pending_config=config.model_dump_json(),
                updated_time=now,
                failure_reason=None,
            )
            self._repo.event(
                conn,
                name,
                EndpointStatus.UPDATING,
                now,
                f"rolling out ({config.rollout.describe()})",
            )
            self._event(conn, actor, "endpoint.updated", name, _summary(config, used))
            endpoint = self._repo.get(conn, name)
        self.wake.set()
        return endpoint

    def delete(self, actor: Actor, name: str) -> Endpoint:
        """Drain and remove the endpoint's workers, then forget it."""
        now = now_ms()
        with self._db.write() as conn:
            self._repo.row(conn, name)  # 404 before any permission question
            self._access.require(conn, actor, Level.MANAGE, _KIND, name, "delete it")
            self._refuse_if_watched(conn, name)
            self._repo.update(conn, name, status=EndpointStatus.DELETING.value, updated_time=now)
            self._repo.event(conn, name, EndpointStatus.DELETING, now, "delete requested")
            self._event(conn, actor, "endpoint.delete_requested", name)
            endpoint = self._repo.get(conn, name)
        self.wake.set()
        return endpoint

    def _refuse_if_watched(self, conn: Connection, name: str) -> None:
        """InUse naming the monitoring schedules that watch ``name``: deleted first, as
        SageMaker asks, they would otherwise fail every window."""
        watching = sorted(self.watchers(conn, name)) if self.watchers is not None else []
        if not watching:
            return
        noun = "schedule" if len(watching) == 1 else "schedules"
        raise InUse(
            f"endpoint {name!r} is watched by monitoring {noun} {', '.join(watching)}: "
            f"delete {'it' if len(watching) == 1 else 'them'} first",
            field="name",
            details={"monitoring_schedules": watching},
        )

    def get(self, actor: Actor, name: str) -> Endpoint:
        with self._db.read() as conn:
            self._repo.row(conn, name)  # 404 before any permission question
            self._access.require(conn, actor, Level.READ, _KIND, name, "read it")
            return self._repo.get(conn, name)

    def logs(self, actor: Actor, name: str) -> EndpointLogs:
        """The logs of the endpoint's workers (who may read the endpoint may read them)."""
        self.get(actor, name)
        folder = self._settings.home / "endpoints" / name
        return Fleet(folder, load_launcher(self._settings)).logs()

    def running_workers(self, name: str) -> int:
        """How many worker processes serve the endpoint now (the launcher's live ones)."""
        folder = self._settings.home / "endpoints" / name
        return len(Fleet(folder, load_launcher(self._settings)).workers)

    def replicas(self, name: str) -> list[tuple[str, int]]:
        """The addresses of the endpoint's replicas when its workers each have one (the Ray
        launcher's); empty when they all serve the endpoint's own port."""
        return replica_addresses(self._settings.home / "endpoints" / name)

    def list(self, actor: Actor) -> list[Endpoint]:
        with self._db.read() as conn:
            readable = self._access.readable(conn, actor, _KIND)
            return [
                self._repo.entity(r, [])
                for r in self._repo.rows(conn)
                if readable is None or r.name in readable
            ]

    def require(self, actor: Actor, name: str, level: Level, what: str) -> None:
        """PermissionDenied unless ``actor`` holds ``level`` on the endpoint (NotFound first)."""
        with self._db.read() as conn:
            self._repo.row(conn, name)
            self._access.require(conn, actor, level, _KIND, name, what)

    def capture_destination(self, actor: Actor, name: str) -> str | None:
        """Where the endpoint's captured traffic is, once the actor may read the endpoint: its
        ``capture.destination`` (under which records lie in ``<name>/``), or None for the
        store's ``capture/<name>/``."""
        with self._db.read() as conn:
            self._repo.row(conn, name)
            self._access.require(conn, actor, Level.READ, _KIND, name, "read its captured data")
            endpoint = self._repo.get(conn, name)
        destination = endpoint.config.capture.destination
        if destination is not None:
            self.roots.check(destination, "capture.destination")  # roots may have narrowed
        return destination

    # -- API keys -----------------------------------------------------------------------------

    def create_key(self, actor: Actor, name: str) -> NewEndpointKey:
        """Make an API key for the endpoint; the answer is the only place the key appears.

        A key lets its holder call the endpoint, so making one needs ``manage`` on it, as
        granting access does. The endpoint's workers accept it once the supervisor pushes it to
        them (within a second or so); it matters only when the config has ``require_api_key``.
        """
        key_id, key, digest = new_api_key()
        now = now_ms()
        with self._db.write() as conn:
            row = self._repo.row(conn, name)
            self._access.require(conn, actor, Level.MANAGE, _KIND, name, "make API keys for it")
            self._repo.insert_key(
                conn, key_id=key_id, endpoint=name, sha256=digest, created_time=now
            )
            status = EndpointStatus(row.status)
            self._repo.event(conn, name, status, now, f"API key {key_id} created")
            self._event(conn, actor, "endpoint.key_created", name, {"key_id": key_id})
        self.wake.set()
        return NewEndpointKey(key_id=key_id, endpoint=name, created_time=now, key=key)

    def list_keys(self, actor: Actor, name: str) -> builtins.list[EndpointKey]:
        """The endpoint's keys (ids and creation times), oldest first."""
        with self._db.read() as conn:
            self._repo.row(conn, name)  # 404 before any permission question
            self._access.require(conn, actor, Level.READ, _KIND, name, "list its API keys")
            return [
                EndpointKey(key_id=k.key_id, endpoint=name, created_time=k.created_time)
                for k in self._repo.keys(conn, name)
            ]

    def delete_key(self, actor: Actor, name: str, key_id: str) -> None:
        """Revoke a key (``manage``): the workers refuse it once the supervisor pushes the new
        key set."""
        now = now_ms()
        with self._db.write() as conn:
            row = self._repo.row(conn, name)
            self._access.require(conn, actor, Level.MANAGE, _KIND, name, "revoke its API keys")
            if not self._repo.delete_key(conn, name, key_id):
                raise NotFound(f"endpoint {name!r} has no API key {key_id!r}", field="key_id")
            status = EndpointStatus(row.status)
            self._repo.event(conn, name, status, now, f"API key {key_id} revoked")
            self._event(conn, actor, "endpoint.key_revoked", name, {"key_id": key_id})
        self.wake.set()

    def key_digests(self, name: str) -> tuple[ApiKey, ...]:
        """What the endpoint's workers need to check keys (for the supervisor): the endpoint's
        keys, and the server's own (:meth:`proxy_key`)."""
        with self._db.read() as conn:
            keys = [ApiKey(id=k.key_id, sha256=k.sha256) for k in self._repo.keys(conn, name)]
        key = self.proxy_key(name)
        proxy = ApiKey(id=key[4:16], sha256=hashlib.sha256(key.encode()).hexdigest())
        return (*keys, proxy)

    def proxy_key(self, name: str) -> str:
        """The key the server passes requests on to the endpoint's workers with.

        Requests that reach an endpoint through the server's port (SageMaker Runtime's path)
        were admitted by the server's own sign-in and grants; the endpoint's API keys are for
        callers of its own port. The key lives in a file of the endpoint's folder (0600), made
        by whichever server process needs it first, so every process on this machine reads the
        same one; it is never listed, and goes when the endpoint does.
        """
        path = self._settings.home / "endpoints" / name / "proxy.key"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        _, key, _ = new_api_key()
        draft = path.with_name(f".proxy.key.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        try:
            os.link(draft, path)  # published whole, or not at all if another process won
        except FileExistsError:
            key = path.read_text().strip()
        finally:
            draft.unlink(missing_ok=True)
        return key

    def served_models(self, conn: Connection) -> builtins.list[tuple[str, str]]:
        """``(endpoint, model URI)`` for every model an endpoint serves or is rolling out, read
        in the caller's transaction: the registry keeps those versions from being deleted. A
        pinned variant counts by its pinned version (``models:/wine/3``), not the alias it
        named.

        An endpoint being deleted no longer counts; a failed one still does (an update can
        bring it back with the same models)."""
        served = []
        for row in self._repo.rows(conn):
            if row.status == EndpointStatus.DELETING.value:
                continue
            for text in (row.config, row.pending_config):
                if not text:
                    continue
                config = EndpointConfig.model_validate_json(text)
                served += [(row.name, v.served_uri) for v in config.variants]
                if config.shadow is not None:
                    served.append((row.name, config.shadow.served_uri))
        return served

    # -- used by the supervisor ----------------------------------------------------------------

    def rows(self) -> builtins.list[Any]:
        with self._db.read() as conn:
            return self._repo.rows(conn)

    def transition(self, name: str, status: EndpointStatus, message: str, **values: Any) -> None:
        now = now_ms()
        if "traffic" in values:
            values["traffic"] = orjson.dumps(values["traffic"]).decode()
        with self._db.write() as conn:
            if not self._repo.exists(conn, name):
                return
            self._repo.update(conn, name, status=status.value, updated_time=now, **values)
            self._repo.event(conn, name, status, now, message)
            body: dict[str, Any] = {"status": status.value, "message": message[:500]}
            if values.get("failure_reason"):
                body["failure_reason"] = str(values["failure_reason"])[:500]
            self._event(conn, _SYSTEM, "endpoint.status_changed", name, body)

    def set_traffic(self, name: str, traffic: dict[str, float]) -> None:
        with self._db.write() as conn:
            self._repo.update(conn, name, traffic=orjson.dumps(traffic).decode())
            self._event(conn, _SYSTEM, "endpoint.traffic_changed", name, {"traffic": traffic})

    def remove(self, name: str) -> None:
        with self._db.write() as conn:
            self._repo.remove(conn, name)
            self._access.forget(conn, _KIND, name)
            self._event(conn, _SYSTEM, "endpoint.deleted", name)


def _summary(config: EndpointConfig, parameters: builtins.list[str]) -> dict[str, Any]:
    """The event body: the models served (the URIs given; ``versions`` the registered
    versions they were pinned to), and the parameter versions the config used."""
    variants = {v.name: v.model_uri for v in config.variants}
    summary: dict[str, Any] = {"variants": variants}
    pinned = {v.name: v.model_version for v in config.variants if v.model_version is not None}
    if config.shadow is not None:
        summary["shadow"] = config.shadow.model_uri
        if config.shadow.model_version is not None:
            pinned[config.shadow.name] = config.shadow.model_version
    if pinned:
        summary["versions"] = pinned
    body: dict[str, Any] = {"config": summary}
    if parameters:
        body["parameters"] = parameters
    return body

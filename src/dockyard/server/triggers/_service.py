"""The triggers' rules: create, list, read, update, delete, fire by hand, history, hooks; and
:meth:`TriggerService.fire_cause`, through which every source fires.

Firing one cause, exactly once::

    1. claim: insert the firing (unique per trigger and cause key) and take the cooldown
       (a conditional update of the trigger), with the source's cursor, in one transaction.
       A cause already claimed, by this server or another, before or after a restart, stops
       here; a cause in the cooldown is recorded as skipped.
    2. submit the work as the trigger's creator, named from the cause (_work.job_name).
    3. record the job (fired) or the error (failed), with a trigger.fired / trigger.failed
       event, in one transaction.

A crash between 1 and 3 leaves a pending firing; :meth:`retry_stale` (run by the schedule
loop) submits it again, and finds the job already there when 2 had happened.

Permissions: a trigger is its creator's (:meth:`dockyard.server.auth.Access.require_trigger`; a
read-only credential of theirs only reads it); its work is submitted with the creator's account,
so it can start only what they could.
"""

from __future__ import annotations

import builtins
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from dockyard.api.triggers import (
    FireRequest,
    Firing,
    FiringStatus,
    GitSource,
    HookResult,
    NewTrigger,
    ObjectSource,
    PipelineTarget,
    ScheduleSource,
    Target,
    Trigger,
    TriggerConfig,
    TriggerKind,
    TriggerUpdate,
)
from dockyard.artifacts import artifact_uri
from dockyard.errors import (
    AlreadyExists,
    Conflict,
    DockyardError,
    InvalidArgument,
    NotFound,
    Unauthenticated,
    invalid_from_validation,
)
from dockyard.server.actor import Actor, Role
from dockyard.server.auth import Access, AuthService, StoreAreas
from dockyard.server.events import EventLog
from dockyard.server.pipelines import StateMachineMissing
from dockyard.server.store import Database, schema
from dockyard.server.triggers import _git, _objects
from dockyard.server.triggers._repository import TriggerRepository
from dockyard.server.triggers._schedule import next_slot, slot_iso
from dockyard.server.triggers._views import HOOK_PREFIX
from dockyard.server.triggers._views import firing as _firing
from dockyard.server.triggers._views import trigger as _trigger
from dockyard.server.triggers._work import execution_input, job_name, work_body, work_named
from dockyard.settings import Settings

__all__ = ["HOOK_PREFIX", "TriggerService"]

KIND = "trigger"
MAX_PAGE = 500
#: A pending firing older than this is taken for one a crash interrupted.
STALE_MS = 60_000
_E = schema.events


def now_ms() -> int:
    return time.time_ns() // 1_000_000


#: Refused hooks recorded per source address and second (and at once, in a burst).
_DENIED_PER_S = 5.0


class TriggerService:
    """Triggers and their firings.

    Args:
        jobs: Submits the work (``submit`` / ``submit_transform``).
        artifacts: Where transforms write by default.
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        events: EventLog,
        access: Access,
        auth: AuthService,
        jobs: Any,
        artifacts: Any,
        pipelines: Any = None,
    ) -> None:
        self._db = db
        self._pipelines = pipelines
        self._settings = settings
        self._events = events
        self._access = access
        self._auth = auth
        self._jobs = jobs
        self._artifacts = artifacts
        self._repo = TriggerRepository()
        self._roots = settings.allowed_roots()
        self._areas = StoreAreas(access)
        self._denials = _DenialBudget()
        #: Set by the server: refuses a model URI naming nothing the actor may load.
        self.check_model: Callable[[Actor, str, str], None] | None = None

    def _event(
        self,
        conn: Connection,
        actor: Actor,
        type: str,
        name: str,
        body: dict[str, Any] | None = None,
        outcome: str = "ok",
    ) -> None:
        self._events.append(
            conn, actor, type, KIND, name, scope=f"{KIND}:{name}", body=body, outcome=outcome
        )

    # -- create, read, delete -------------------------------------------------------------------

    def create(self, actor: Actor, config: TriggerConfig, *, now: int | None = None) -> NewTrigger:
        """Save a trigger (member role; its creator owns it). Its source is checked here: the
        cron expression and zone, the rate, the prefix (inside the allowed roots), the event
        patterns and filter, and the work's kind."""
        self._access.require_role(actor, Role.MEMBER, "create triggers")
        now = now if now is not None else now_ms()
        self._check_work(actor, config.target)
        kind = config.kind
        state = self._start_state(config, now, owner=actor)
        secret = None
        if kind in (TriggerKind.GIT, TriggerKind.OBJECTS):
            secret = config.secret or secrets.token_urlsafe(32)
        row = {
            "trigger_id": secrets.token_hex(8),
            "name": config.name,
            "kind": kind.value,
            "config": orjson.dumps(
                {
                    "source": getattr(config, kind.value).model_dump(mode="json"),
                    "description": config.description,
                }
            ).decode(),
            "target": config.target.model_dump_json(),
            "secret": secret,
            "enabled": True,
            "cooldown_s": config.cooldown_s,
            "state": orjson.dumps(state).decode(),
            "last_fired_time": None,
            "owner_id": actor.user_id if actor.job is None else None,
            "created_by": actor.label[:256],
            "created_time": now,
        }
        with self._db.write() as conn:
            if self._repo.find(conn, config.name) is not None:
                raise AlreadyExists(f"trigger {config.name} exists already", field="name")
            row["after_event_id"] = int(conn.execute(select(func.max(_E.c.id))).scalar() or 0)
            self._repo.insert(conn, **row)
            self._event(conn, actor, "trigger.created", config.name, {"kind": kind.value})
        return NewTrigger(**_trigger(row).model_dump(), secret=secret)

    def _check_work(self, actor: Actor, target: Target) -> None:
        """Refuse work that every firing would fail to start, naming its field: a spec of the
        wrong shape, a pipeline that does not exist, a model ``actor`` cannot load. What a
        firing fills in (``{{trigger.<field>}}``) and what may change until then (data,
        capacity) is checked at each firing, as at any submit."""
        checked = _check_target(target)
        if isinstance(checked, PipelineTarget):
            self._check_pipeline(actor, checked.pipeline)
            return
        uri = getattr(checked, "model_uri", None)
        if isinstance(uri, str) and "{{trigger." not in uri and self.check_model is not None:
            self.check_model(actor, uri, "target.spec.model_uri")

    def _check_pipeline(self, actor: Actor, pipeline: str) -> None:
        from dockyard.api.pipelines import state_machine_arn

        if self._pipelines is None:
            raise InvalidArgument("this server runs no pipelines", field="target.kind")
        try:
            self._pipelines.describe(actor, state_machine_arn(pipeline))
        except NotFound:
            raise InvalidArgument(
                f"there is no pipeline named {pipeline!r}", field="target.spec.pipeline"
            ) from None

    def _start_state(
        self,
        source: TriggerConfig | TriggerUpdate,
        now: int,
        *,
        owner: Actor,
        existing: bool = False,
    ) -> dict[str, Any]:
        """Check a source and return the state it starts from: a schedule's next slot, a
        prefix's cursor. ``existing``: the source of a trigger being updated or enabled, whose
        objects already there never fire (include_existing is for a new trigger only). A prefix
        in the artifact store must be one ``owner`` may read: firings name its files."""
        state: dict[str, Any] = {}
        if source.schedule is not None:
            state["next_time"] = next_slot(source.schedule, now, now)
        if source.objects is not None:
            key = self._roots.check(source.objects.prefix, "objects.prefix")
            if key is not None:
                with self._db.read() as conn:
                    self._areas.check(conn, owner, key, "objects.prefix")
            if source.objects.poll and (existing or not source.objects.include_existing):
                seen = self._list(source.objects.prefix, None, everything=True)
                state["after"] = seen[-1] if seen else None
        if source.events is not None:
            from dockyard.server.notifications import validate_policy

            validate_policy(source.events.filter)
            for i, pattern in enumerate(source.events.events):
                if pattern.startswith("trigger.") or pattern in ("*", "trigger.*"):
                    raise InvalidArgument(
                        f"{pattern!r}: a trigger may not follow triggers' own events (it would "
                        "start itself)",
                        field=f"events.events.{i}",
                    )
        return state

    def update(
        self, actor: Actor, name: str, change: TriggerUpdate, *, now: int | None = None
    ) -> Trigger:
        """Change a trigger (its creator or an admin): enable or disable it, its cooldown,
        its source (of the same kind), its work or description. Appends ``trigger.updated``
        with the fields changed.

        Enabling it, or changing its source, starts the source from now (see
        :class:`~dockyard.api.triggers.TriggerUpdate`), so what came while it was disabled
        does not fire. A firing already claimed is not undone.
        """
        self._access.require_role(actor, Role.MEMBER, f"update trigger {name}")
        now = now if now is not None else now_ms()
        with self._db.read() as conn:
            row = self._repo.require(conn, name)
        self._access.require_trigger(actor, row.owner_id, name, "update it")
        kind = TriggerKind(row.kind)
        given = change.source
        if given is not None and given[0] is not kind:
            raise InvalidArgument(
                f"trigger {name} is a {kind.value} trigger: its source may not become "
                f"{given[0].value}",
                field=given[0].value,
            )
        if change.target is not None:  # checked as it will run: as the trigger's owner
            self._check_work(self._owner(row), change.target)
        config = orjson.loads(row.config)
        values: dict[str, Any] = {}
        changed: builtins.list[str] = []
        if given is not None:
            config["source"] = given[1].model_dump(mode="json")
            changed.append(kind.value)
        if change.description is not None:
            config["description"] = change.description
            changed.append("description")
        if changed:
            values["config"] = orjson.dumps(config).decode()
        if change.target is not None:
            values["target"] = change.target.model_dump_json()
            changed.append("target")
        if change.cooldown_s is not None:
            values["cooldown_s"] = change.cooldown_s
            changed.append("cooldown_s")
        enabling = change.enabled is True and not row.enabled
        if change.enabled is not None and change.enabled != bool(row.enabled):
            values["enabled"] = change.enabled
            changed.append("enabled")
        restart = given is not None or enabling
        if restart:
            source = TriggerUpdate.model_validate({kind.value: config["source"]})
            # A prefix is checked as the trigger's owner will list it.
            owner = self._owner(row) if kind is TriggerKind.OBJECTS else actor
            state = self._start_state(source, now, owner=owner, existing=True)
            values["state"] = orjson.dumps(state).decode()
        with self._db.write() as conn:
            if restart:
                values["after_event_id"] = int(
                    conn.execute(select(func.max(_E.c.id))).scalar() or 0
                )
            if values:
                self._repo.change(conn, row.trigger_id, values)
                body: dict[str, Any] = {"changed": changed}
                if "enabled" in values:
                    body["enabled"] = values["enabled"]
                self._event(conn, actor, "trigger.updated", name, body)
            fresh = self._repo.require(conn, name)
        return _trigger(fresh)

    def list(self, actor: Actor) -> builtins.list[Trigger]:
        """The triggers ``actor`` may see: its own, or every one for an admin."""
        with self._db.read() as conn:
            rows = self._repo.all(conn)
        return [
            _trigger(r) for r in rows if self._access.may_use_trigger(actor, r.owner_id, read=True)
        ]

    def get(self, actor: Actor, name: str) -> Trigger:
        with self._db.read() as conn:
            row = self._repo.require(conn, name)
        self._access.require_trigger(actor, row.owner_id, name, "read it", read=True)
        return _trigger(row)

    def delete(self, actor: Actor, name: str) -> None:
        """Delete a trigger and its history; a hook posted to it afterwards is refused."""
        with self._db.write() as conn:
            row = self._repo.require(conn, name)
            self._access.require_trigger(actor, row.owner_id, name, "delete it")
            self._repo.remove(conn, row.trigger_id)
            self._event(conn, actor, "trigger.deleted", name)

    def history(
        self, actor: Actor, name: str, *, limit: int = 100, before: int | None = None
    ) -> builtins.list[Firing]:
        """Its firings, newest first."""
        limit = max(1, min(limit, MAX_PAGE))
        with self._db.read() as conn:
            row = self._repo.require(conn, name)
            self._access.require_trigger(actor, row.owner_id, name, "read its history", read=True)
            rows = self._repo.firings(conn, row.trigger_id, limit, before)
        return [_firing(r, name) for r in rows]

    def fire(self, actor: Actor, name: str, request: FireRequest) -> Firing:
        """Fire by hand (its creator or an admin); the same ``key`` fires once."""
        with self._db.read() as conn:
            row = self._repo.require(conn, name)
        self._access.require_trigger(actor, row.owner_id, name, "fire it")
        self._access.require_role(actor, Role.MEMBER, f"fire trigger {name}")
        if not row.enabled:
            raise Conflict(f"trigger {name} is disabled: enable it to fire it", field="name")
        key = f"manual:{request.key or secrets.token_hex(8)}"
        cause = {**request.cause, "by": actor.name}
        return self.fire_cause(row, key, cause, manual=True)

    # -- hooks ----------------------------------------------------------------------------------

    def receive(
        self, name: str, headers: Mapping[str, str], body: bytes, source: str
    ) -> HookResult:
        """A push or an object notification posted to a trigger's hook.

        Raises:
            Unauthenticated: No such trigger, or the signature or token does not match (the
                same answer either way; recorded as a ``trigger.hook_denied`` event).
        """
        with self._db.read() as conn:
            row = self._repo.find(conn, name)
        outsider = Actor.anonymous(source)
        try:
            if row is None or row.secret is None:
                raise Unauthenticated(f"no trigger {name} takes hooks")
            if row.kind == TriggerKind.GIT.value:
                provider = _git.provider_of(headers)
                if provider is None:
                    raise Unauthenticated(
                        "a push carries X-Hub-Signature-256 (GitHub) or X-Gitlab-Token (GitLab)"
                    )
                _git.verify(provider, headers, body, row.secret)
            else:
                provider = None
                _objects.verify(headers, row.secret)
        except Unauthenticated as exc:
            if self._denials.take(source):  # a flood of refused posts must not flood the log
                with self._db.write() as conn:
                    self._event(
                        conn,
                        outsider,
                        "trigger.hook_denied",
                        name[:64],
                        {"reason": exc.message},
                        outcome="denied",
                    )
            raise
        envelope = _objects.read_sns(headers, body) if provider is None else None
        if envelope is not None and envelope["Type"] == "SubscriptionConfirmation":
            return self._sns_subscription(row, envelope)  # no firing: recorded even if disabled
        if not row.enabled:
            return HookResult(ignored="the trigger is disabled")
        source_config = orjson.loads(row.config)["source"]
        if provider is not None:
            event = _git.event_name(provider, headers)
            if event not in ("push", "Push Hook"):
                return HookResult(ignored=f"{event or 'this'} event is not a push")
            push = _git.read_push(provider, body, headers.get("content-type", ""))
            why = _git.matches(GitSource.model_validate(source_config), push)
            if why is not None:
                return HookResult(ignored=why)
            key = f"push:{push['repository']}:{push['branch']}:{push['sha']}"
            return HookResult(fired=self.fire_cause(row, key, push))
        prefix = ObjectSource.model_validate(source_config).prefix
        if envelope is not None:
            if envelope["Type"] != "Notification":
                return HookResult(ignored=f"SNS {envelope['Type']} needs no answer")
            if _objects.is_test_event(envelope["Message"]):
                return HookResult(ignored="S3's test event names no object")
            body = envelope["Message"].encode()
        found = _objects.read_notification(prefix, body)
        if not found:
            return HookResult(ignored=f"no created object under {prefix}")
        key = "objects:" + ",".join(f"{o['key']}@{o['sequencer']}" for o in found)
        key = key if len(key) <= 300 else "objects:" + _digest(key)
        return HookResult(fired=self.fire_cause(row, key, _objects.cause(prefix, found)))

    def _sns_subscription(self, row: Any, envelope: _objects.SnsEnvelope) -> HookResult:
        """Record an SNS subscription confirmation, for the trigger's owner to confirm it
        (``curl "<SubscribeURL>"`` or ``aws sns confirm-subscription``): opening the URL on
        the server would make it call out wherever a posted body said."""
        topic = str(envelope["TopicArn"])[:300]
        try:  # as its owner's, who may then read it (the log shows each user their own)
            by = self._owner(row)
        except DockyardError:
            by = Actor.system(f"trigger {row.name}")
        with self._db.write() as conn:
            self._event(
                conn,
                by,
                "trigger.sns_subscription",
                row.name,
                {
                    "topic_arn": topic,
                    "subscribe_url": str(envelope["SubscribeURL"])[:2000],
                    "message_id": str(envelope.get("MessageId", ""))[:100],
                },
            )
        return HookResult(
            ignored=f"SNS subscription to {topic} recorded: its owner confirms it by opening the "
            "SubscribeURL of the trigger.sns_subscription event"
        )

    # -- firing ---------------------------------------------------------------------------------

    def fire_cause(
        self,
        row: Any,
        cause_key: str,
        cause: dict[str, Any],
        *,
        state: dict[str, Any] | None = None,
        now: int | None = None,
        manual: bool = False,
        defer_in_cooldown: bool = False,
    ) -> Firing:
        """Fire ``row`` for one cause, once (see the module docstring). ``state`` is the
        source's new cursor, saved with the claim. ``manual`` firings ignore the cooldown but
        start it. With ``defer_in_cooldown`` a cause in the cooldown is not recorded (nor the
        cursor moved): it fires when the cooldown ends.

        Raises:
            Conflict: ``defer_in_cooldown`` and the cooldown is running (nothing recorded);
                the trigger is disabled (nothing recorded: a disabled trigger never fires);
                its source or work changed since ``row`` was read (nothing recorded).
        """
        now = now if now is not None else now_ms()
        cause_key = cause_key[:300]
        name = row.name
        with self._db.write() as conn:
            fresh = self._repo.by_id(conn, row.trigger_id)
            if fresh is None:
                raise NotFound(f"trigger {name} was deleted", field="name")
            if not fresh.enabled:  # disabled since the caller read it
                raise Conflict(f"trigger {name} is disabled", field="name")
            if (fresh.config, fresh.target) != (row.config, row.target):
                # Changed since the caller read it: its cause and cursor are the old source's.
                raise Conflict(f"trigger {name} changed while firing; the next pass sees it")
            firing_id = self._repo.claim(
                conn,
                trigger_id=row.trigger_id,
                cause_key=cause_key,
                cause=orjson.dumps(cause).decode(),
                status=FiringStatus.PENDING.value,
                created_time=now,
                updated_time=now,
            )
            if firing_id is None:  # this cause fired already, here or on another server
                found = conn.execute(
                    select(schema.trigger_firings).where(
                        schema.trigger_firings.c.trigger_id == row.trigger_id,
                        schema.trigger_firings.c.cause_key == cause_key,
                    )
                ).one()
                if state is not None:
                    self._repo.set_state(conn, row.trigger_id, orjson.dumps(state).decode())
                return _firing(found, name)
            took = self._repo.take_cooldown(conn, fresh, now, ignore_cooldown=manual)
            if not took and defer_in_cooldown:
                raise _Deferred(f"trigger {name} is cooling down")
            if state is not None:
                self._repo.set_state(conn, row.trigger_id, orjson.dumps(state).decode())
            if not took:
                error = f"cooldown: it fired at {fresh.last_fired_time} ms, {fresh.cooldown_s:g} s"
                self._repo.finish(
                    conn, firing_id, status=FiringStatus.SKIPPED.value, error=error[:1000]
                )
                return _firing(self._repo.firing(conn, firing_id), name)
        return self._submit(row, firing_id, cause_key, cause)

    def _submit(self, row: Any, firing_id: int, cause_key: str, cause: dict[str, Any]) -> Firing:
        name = row.name
        # The firing is recorded as its creator's doing (who may then see it in the event
        # log, as their job's events), or the server's when the account is gone.
        by = Actor.system(f"trigger {name}")
        target = Target.model_validate_json(row.target)
        job = job_name(name, cause_key)
        status, error = FiringStatus.FIRED, None
        try:
            actor = by = self._owner(row)
            if target.kind == "pipeline":
                self._start_execution(actor, target, name, job, cause_key, cause)
            else:
                self._submit_job(actor, target, name, job, cause_key, cause)
        except DockyardError as exc:
            status, error = FiringStatus.FAILED, exc.message
            if exc.field:
                error = f"{exc.field}: {error}"
        with self._db.write() as conn:
            self._repo.finish(
                conn,
                firing_id,
                status=status.value,
                job=job if status is FiringStatus.FIRED else None,
                error=error[:1000] if error else None,
                updated_time=now_ms(),
            )
            said: dict[str, Any] = {"firing_id": firing_id, "cause": cause_key}
            if status is FiringStatus.FIRED:
                said["job"] = job
                self._event(conn, by, "trigger.fired", name, said)
            else:
                said["error"] = (error or "")[:300]
                self._event(conn, by, "trigger.failed", name, said)
            return _firing(self._repo.firing(conn, firing_id), name)

    def _submit_job(
        self,
        actor: Actor,
        target: Target,
        trigger: str,
        job: str,
        cause_key: str,
        cause: dict[str, Any],
    ) -> None:
        try:
            self._jobs.get(actor, job)  # submitted before a crash: done already
            return
        except NotFound:
            pass
        body = work_body(target.kind, target.spec, trigger, cause_key, cause)
        if target.kind == "training":
            from pydantic import ValidationError

            from dockyard.api.jobs import TrainingJobSpec

            try:
                spec = TrainingJobSpec.model_validate(body)
            except ValidationError as exc:
                raise invalid_from_validation(exc.errors()) from exc
            self._jobs.submit(actor, spec)
        else:
            root = artifact_uri(self._artifacts, "transform")
            self._jobs.submit_transform(actor, body, root)

    def _start_execution(
        self,
        actor: Actor,
        target: Target,
        trigger: str,
        execution: str,
        cause_key: str,
        cause: dict[str, Any],
    ) -> None:
        """Start the pipeline's execution named for this cause; one already started under
        that name (a retry after a crash) is the same firing."""
        from dockyard.api.pipelines import StartExecution, state_machine_arn

        if self._pipelines is None:
            raise InvalidArgument("this server runs no pipelines", field="target.kind")
        spec = PipelineTarget.model_validate(target.spec)
        text = orjson.dumps(execution_input(target.spec, trigger, cause_key, cause)).decode()
        request = StartExecution(name=execution, input=text)
        try:
            self._pipelines.start(actor, state_machine_arn(spec.pipeline), request)
        except AlreadyExists:
            return
        except StateMachineMissing:  # deleted since the trigger was made: name the field
            raise NotFound(
                f"there is no pipeline named {spec.pipeline!r}", field="target.spec.pipeline"
            ) from None

    def _owner(self, row: Any) -> Actor:
        """Who the work is submitted as: the trigger's creator, as they are now."""
        if row.owner_id is None:  # a server without accounts: its creator's name
            return Actor.system(row.created_by).at("trigger")
        return self._auth.account_actor(int(row.owner_id)).at("trigger")

    def retry_stale(self, now: int | None = None) -> int:
        """Submit again the firings a crash left pending; how many there were."""
        now = now if now is not None else now_ms()
        with self._db.read() as conn:
            stale = self._repo.stale(conn, now - STALE_MS)
            rows = {s.trigger_id: self._repo.by_id(conn, s.trigger_id) for s in stale}
        for firing in stale:
            row = rows.get(firing.trigger_id)
            if row is not None:
                self._submit(row, firing.firing_id, firing.cause_key, orjson.loads(firing.cause))
        return len(stale)

    # -- what the loops read --------------------------------------------------------------------

    def enabled(self, kind: TriggerKind) -> builtins.list[Any]:
        with self._db.read() as conn:
            return self._repo.all(conn, kind.value)

    def _list(
        self, prefix: str, after: str | None, *, everything: bool = False
    ) -> builtins.list[str]:
        if everything:
            from dockyard.artifacts import open_artifact_store

            store = open_artifact_store(
                prefix.rstrip("/"), s3_endpoint_url=self._settings.s3_endpoint_url
            )
            return sorted(i.path for i in store.list("", recursive=True) if not i.is_dir)
        return _objects.list_new(prefix, after, s3_endpoint_url=self._settings.s3_endpoint_url)

    def _owner_reads(self, row: Any, prefix: str) -> bool:
        """Whether the trigger's owner may still read ``prefix`` (a grant may have gone since
        the trigger was made, or the owner been disabled): its firings name the files there."""
        try:
            key = self._roots.check(prefix, "objects.prefix")
            if key is not None:
                owner = self._owner(row)
                with self._db.read() as conn:
                    self._areas.check(conn, owner, key, "objects.prefix")
        except DockyardError:
            return False
        return True

    def poll_objects(self, row: Any, now: int | None = None) -> Firing | None:
        """List a prefix trigger's new objects and fire once for them (see _objects)."""
        state = orjson.loads(row.state)
        source = ObjectSource.model_validate(orjson.loads(row.config)["source"])
        if not source.poll:
            return None
        prefix = source.prefix
        if not self._owner_reads(row, prefix):
            return None
        keys = self._list(prefix, state.get("after"))
        if not keys:
            return None
        found = [{"uri": _objects.uri_of(prefix, k), "key": k} for k in keys]
        try:
            return self.fire_cause(
                row,
                f"objects:{keys[-1]}",
                _objects.cause(prefix, found),
                state={**state, "after": keys[-1]},
                now=now,
                defer_in_cooldown=True,
            )
        except _Deferred:
            return None

    def fire_schedule(self, row: Any, now: int) -> Firing | None:
        """Fire a schedule trigger for its latest due slot and move it to the next; missed
        older slots (the server was down) are not made up."""
        state = orjson.loads(row.state)
        due = state.get("next_time")
        if due is None or due > now:
            return None
        source = ScheduleSource.model_validate(orjson.loads(row.config)["source"])
        slot = int(due)
        for _ in range(100_000):  # bounded: a minutely cron over a long outage
            following = next_slot(source, slot, int(row.created_time))
            if following > now:
                break
            slot = following
        following = next_slot(source, max(slot, now), int(row.created_time))
        cause = {"slot": slot_iso(slot, source.timezone), "slot_ms": slot}
        return self.fire_cause(
            row, f"schedule:{slot}", cause, state={**state, "next_time": following}, now=now
        )

    def fire_event(self, row: Any, event: Any) -> Firing | None:
        """Fire ``row`` for ``event``; nothing when the trigger's creator may not read that
        event (another account's experiment or model): its cause would tell them of it, nor
        when it is about work this trigger started (it would start itself without end: a
        pipeline whose execution starts another, each a few milliseconds)."""
        work = work_named(event.resource_type, str(event.resource_id), row.name)
        if work is not None:
            with self._db.read() as conn:
                made = self._repo.made(conn, row.trigger_id, work)
            if any(f.job == work or job_name(row.name, f.cause_key) == work for f in made):
                return None
        try:
            visible = self._auth.event_filter(self._owner(row))
        except DockyardError:  # a creator deleted or disabled since: the firing fails, saying so
            visible = None
        if visible is not None and not self._events.read(
            after=event.id - 1, before=event.id + 1, limit=1, visible=visible
        ):
            return None
        cause = {
            "event_id": event.id,
            "event_type": event.type,
            "resource_type": event.resource_type,
            "resource_id": event.resource_id,
            "actor": event.actor,
            **{f"body_{k}": v for k, v in event.body.items() if isinstance(v, (str, int, float))},
        }
        return self.fire_cause(row, f"event:{event.id}", cause)


class _Deferred(InvalidArgument):
    """A cause held back by the cooldown, to fire when it ends."""


def _check_target(target: Target) -> Any:
    """The target's spec validated, or an error naming ``target.spec.<field>``.

    Its shape only: ``{{trigger.<field>}}`` placeholders stay as written; what names other
    things (a pipeline, a model) is checked by :meth:`TriggerService._check_work`."""
    from pydantic import BaseModel, ValidationError

    spec = dict(target.spec)
    spec.pop("name", None)  # each firing names its job
    model: type[BaseModel]
    if target.kind == "pipeline":
        model, spec = PipelineTarget, dict(target.spec)
    elif target.kind == "training":
        from dockyard.api.jobs import TrainingJobSpec

        model = TrainingJobSpec
    else:
        from dockyard.api.jobs import TransformJobSpec, default_output

        model = TransformJobSpec
        spec = default_output(spec)  # the output folder is picked at submission
    try:
        return model.model_validate(spec)
    except ValidationError as exc:
        errors = [{**e, "loc": ("target", "spec", *e["loc"])} for e in exc.errors()]
        raise invalid_from_validation(errors) from None


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


class _DenialBudget:
    """How many refused hooks each source address may still have recorded: a burst of
    ``_DENIED_PER_S``, refilled at that rate (hooks are open to anyone, and each record is a
    database write)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budget: dict[str, tuple[float, float]] = {}
        self.dropped = 0

    def take(self, source: str) -> bool:
        """Whether a refusal from ``source`` is recorded now (and counts against its budget)."""
        now = time.monotonic()
        with self._lock:
            tokens, seen = self._budget.get(source, (_DENIED_PER_S, now))
            tokens = min(_DENIED_PER_S, tokens + (now - seen) * _DENIED_PER_S)
            if tokens < 1:
                self.dropped += 1
                self._budget[source] = (tokens, now)
                return False
            if len(self._budget) > 10_000:
                self._budget.clear()
            self._budget[source] = (tokens - 1, now)
            return True

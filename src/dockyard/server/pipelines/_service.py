"""The rules of pipelines: state machines (create, update, delete, read), executions (start,
stop, redrive, read, history) and task callbacks. Every change is one transaction with its
``pipeline.*`` event; executions move through :class:`~dockyard.server.pipelines._engine.Engine`.

Who may: creating a state machine needs the member role; it is then its creator's: reading,
changing, running it and its executions need to be that account or an admin (as triggers).
Validating a definition, and answering a task whose token one holds (the token is the
credential), need an account. Tasks run with the permissions of the execution's starter.
"""

from __future__ import annotations

import time
import uuid
from functools import partial
from typing import Any

import anyio.to_thread
import orjson

from dockyard.api.pipelines import (
    MAX_TAGS,
    Execution,
    ExecutionList,
    ExecutionStatus,
    History,
    MachineType,
    StartedExecution,
    StartExecution,
    StateMachine,
    StateMachineConfig,
    StateMachineList,
    StateMachineUpdate,
    StopExecution,
    Tagging,
    TaskFailure,
    TaskHeartbeat,
    TaskSuccess,
    Validation,
    execution_arn,
    is_express_arn,
    parse_execution_arn,
    parse_state_machine_arn,
    state_machine_arn,
)
from dockyard.errors import InvalidArgument
from dockyard.server.actor import Actor, Role
from dockyard.server.auth import Access
from dockyard.server.events import EventLog
from dockyard.server.pipelines import _views
from dockyard.server.pipelines._definitions import (
    ParsedDefinitions,
    check_definition,
    validation,
)
from dockyard.server.pipelines._engine import TERMINAL, Engine
from dockyard.server.pipelines._errors import (
    ExecutionExists,
    ExecutionMissing,
    ExecutionNotRedrivable,
    StateMachineExists,
    StateMachineMissing,
    TaskMissing,
    TooManyTags,
)
from dockyard.server.pipelines._tasks import Integrations
from dockyard.server.store import Database, GroupedWrites, WriterBusy

__all__ = ["PipelineService"]

KIND = "state_machine"
MAX_PAGE = 1000
#: The largest input and definition (characters) an execution may start with on the event
#: loop: each state entered writes its input and output (with what the definition adds to
#: them) into the history, so large ones are work for a thread.
BRIEF_INPUT = 16 * 1024
#: The longest an Express execution runs (AWS's five minutes): past it, it times out.
EXPRESS_MAX_S = 300


def _express_limited(definition: dict[str, Any]) -> dict[str, Any]:
    """``definition`` with its TimeoutSeconds at most :data:`EXPRESS_MAX_S`."""
    given = definition.get("TimeoutSeconds")
    if isinstance(given, int) and not isinstance(given, bool) and 0 < given <= EXPRESS_MAX_S:
        return definition
    return {**definition, "TimeoutSeconds": EXPRESS_MAX_S}


def _tags(machine: Any) -> dict[str, str]:
    found: dict[str, str] = orjson.loads(machine.tags or "{}")
    return found


def _input(text: str, field: str = "input") -> Any:
    # the interpreter stays unloaded
    from dockyard.asl.history import MAX_DEPTH, nests_too_deep

    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"{field} is not JSON: {exc}", field=field) from None
    if nests_too_deep(value, len(text)):
        raise InvalidArgument(f"{field} nests deeper than {MAX_DEPTH} levels", field=field)
    return value


def _machine_arn(arn: str) -> tuple[str, str]:
    """A state machine's ARN as this server names it, and its name: an ARN of any region and
    account (one copied from AWS) names the machine of that name here; a version or alias
    qualifier is dropped (versions are not kept)."""
    name = parse_state_machine_arn(arn)
    return state_machine_arn(name), name


def _execution_arn(arn: str) -> str:
    """An execution's ARN as this server names it (any region and account)."""
    machine, name = parse_execution_arn(arn)
    return execution_arn(machine, name, express=is_express_arn(arn))


class PipelineService:
    """State machines, executions and task callbacks (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        events: EventLog,
        access: Access,
        engine: Engine,
        integrations: Integrations,
    ) -> None:
        self._db = db
        self._events = events
        self._access = access
        self.engine = engine
        self.integrations = integrations
        self._repo = engine.repo
        self._definitions: ParsedDefinitions | None = None
        self._grouped = GroupedWrites(db)

    def _event(self, conn: Any, actor: Actor, type: str, name: str, body: dict[str, Any]) -> None:
        arn = state_machine_arn(name)
        self._events.append(conn, actor, type, KIND, arn, scope=f"pipeline:{name}", body=body)

    def _own(
        self,
        conn: Any,
        actor: Actor,
        machine_arn: str,
        what: str,
        *,
        share: bool = False,
        read: bool = False,
    ) -> Any:
        """The state machine's row, when ``actor`` may ``what`` on it (``share``: see
        :meth:`PipelineRepository.machine`; ``read``: ``what`` only reads)."""
        row = self._repo.machine(conn, machine_arn, share=share)
        self._access.require_own(actor, row.owner_id, f"pipeline {row.name}", what, read=read)
        return row

    def _own_execution(
        self,
        conn: Any,
        actor: Actor,
        arn: str,
        what: str,
        *,
        share: bool = False,
        read: bool = False,
    ) -> Any:
        """The execution's row, when ``actor`` may ``what`` on its state machine (an execution
        of a deleted state machine does not exist; ``share``: see :meth:`_own`)."""
        row = self._repo.execution(conn, arn)
        try:
            self._own(conn, actor, row.state_machine_arn, what, share=share, read=read)
        except StateMachineMissing:
            raise ExecutionMissing(
                f"Execution Does Not Exist: '{arn}'", field="executionArn"
            ) from None
        return row

    # -- state machines -------------------------------------------------------------------------

    def validate(self, definition: str, *, express: bool = False) -> Validation:
        return validation(self.engine.core, self.integrations, definition, express=express)

    def create(self, actor: Actor, config: StateMachineConfig) -> StateMachine:
        self._access.require_role(actor, Role.MEMBER, "create state machines")
        express = config.type is MachineType.EXPRESS
        check_definition(self.engine.core, self.integrations, config.definition, express=express)
        arn = state_machine_arn(config.name)
        now = self.engine.clock()
        with self._db.write() as conn:
            if self._repo.machine_exists(conn, arn):
                existing = self._repo.machine(conn, arn)
                if (
                    existing.definition == config.definition
                    and existing.role_arn == config.role_arn
                    and self._access.may_use_own(actor, existing.owner_id)
                ):
                    # AWS: the same request again is no error (but another account's machine
                    # of that name is not the caller's to be told it made)
                    return _views.machine(existing)
                raise StateMachineExists(f"State Machine Already Exists: '{arn}'", field="name")
            self._repo.insert_machine(
                conn,
                arn=arn,
                name=config.name,
                definition=config.definition,
                role_arn=config.role_arn,
                type=config.type.value,
                description=config.description,
                revision_id=str(uuid.uuid4()),
                owner_id=actor.user_id if actor.job is None else None,
                created_by=actor.label,
                created_time=now,
                updated_time=now,
                tags=orjson.dumps(config.tags).decode(),
            )
            self._event(
                conn,
                actor,
                "pipeline.state_machine.created",
                config.name,
                {"type": config.type.value},
            )
            return _views.machine(self._repo.machine(conn, arn))

    def update(self, actor: Actor, arn: str, change: StateMachineUpdate) -> StateMachine:
        self._access.require_role(actor, Role.MEMBER, "update state machines")
        arn, name = _machine_arn(arn)
        if change.definition is None and change.role_arn is None and change.description is None:
            raise InvalidArgument("give a definition, a role or a description to change")
        if change.definition is not None:
            with self._db.read() as conn:
                express = self._repo.machine(conn, arn).type == MachineType.EXPRESS.value
            check_definition(
                self.engine.core, self.integrations, change.definition, express=express
            )
        values: dict[str, Any] = {
            k: v
            for k, v in (
                ("definition", change.definition),
                ("role_arn", change.role_arn),
                ("description", change.description),
            )
            if v is not None
        }
        values.update(revision_id=str(uuid.uuid4()), updated_time=self.engine.clock())
        with self._db.write() as conn:
            self._own(conn, actor, arn, "update it")
            self._repo.change_machine(conn, arn, values)
            changed = sorted(set(values) - {"revision_id", "updated_time"})
            self._event(conn, actor, "pipeline.state_machine.updated", name, {"changed": changed})
            return _views.machine(self._repo.machine(conn, arn))

    def delete(self, actor: Actor, arn: str) -> None:
        """Delete a state machine; its running executions are stopped first (as AWS does). Its
        executions are kept but no longer found (see ``retire_executions``): not through a
        machine created again under the name, whoever creates it."""
        self._access.require_role(actor, Role.MEMBER, "delete state machines")
        arn, name = _machine_arn(arn)
        with self._db.write() as conn:
            self._own(conn, actor, arn, "delete it")
            # The DELETE waits for the starts that hold the machine's row (PostgreSQL), so the
            # executions read after it include theirs.
            self._repo.delete_machine(conn, arn)
            running = self._repo.executions(conn, arn, "RUNNING", None, 10_000)
            retired = self._repo.retire_executions(conn, arn)
            self._event(
                conn, actor, "pipeline.state_machine.deleted", name, {"executions": retired}
            )
        # Stopped once the machine is gone, so none starts between the two; they are no
        # longer found by ARN, so the engine is fed directly (the check above was the caller's).
        for row in running:
            self.engine.feed(
                row.arn,
                lambda core, conn: [core.stop_requested("States.Aborted", "state machine deleted")],
                actor=actor,
            )

    def tags(self, actor: Actor, arn: str) -> dict[str, str]:
        """The state machine's tags."""
        arn, _ = _machine_arn(arn)
        with self._db.read() as conn:
            return _tags(self._own(conn, actor, arn, "read it", read=True))

    def tag(self, actor: Actor, arn: str, request: Tagging) -> None:
        """Add the request's tags to the state machine's, or change their values (at most
        :data:`MAX_TAGS` in all: TooManyTags)."""
        self._access.require_role(actor, Role.MEMBER, "tag state machines")
        arn, name = _machine_arn(arn)
        tags = request.tags
        with self._db.write() as conn:
            merged = {**_tags(self._own(conn, actor, arn, "tag it")), **tags}
            if len(merged) > MAX_TAGS:
                raise TooManyTags(
                    f"{name} would have {len(merged)} tags; at most {MAX_TAGS}", field="tags"
                )
            self._repo.change_machine(conn, arn, {"tags": orjson.dumps(merged).decode()})
            self._event(conn, actor, "pipeline.state_machine.tagged", name, {"keys": sorted(tags)})

    def untag(self, actor: Actor, arn: str, keys: list[str]) -> None:
        """Remove the tags with ``keys`` from the state machine (a key it lacks is no error)."""
        self._access.require_role(actor, Role.MEMBER, "tag state machines")
        arn, name = _machine_arn(arn)
        with self._db.write() as conn:
            kept = _tags(self._own(conn, actor, arn, "untag it"))
            for key in keys:
                kept.pop(key, None)
            self._repo.change_machine(conn, arn, {"tags": orjson.dumps(kept).decode()})
            self._event(conn, actor, "pipeline.state_machine.untagged", name, {"keys": keys})

    def describe(self, actor: Actor, arn: str) -> StateMachine:
        arn, _ = _machine_arn(arn)
        with self._db.read() as conn:
            return _views.machine(self._own(conn, actor, arn, "read it", read=True))

    def list(
        self,
        actor: Actor,
        next_token: str | None = None,
        limit: int = 100,
        *,
        activity: bool = False,
    ) -> StateMachineList:
        """A page of the state machines ``actor`` may read, by name; with ``activity``, each
        with its newest execution and how many of its executions run now."""
        after = _views.decode_token(next_token, "machines", lambda v: isinstance(v, str))
        limit = max(1, min(limit, MAX_PAGE))
        if self._access.may_use_own(actor, None, read=True):  # an admin, or no accounts
            owner = None
        elif self._access.may_use_own(actor, actor.user_id, read=True):
            owner = actor.user_id  # a member: its own, filtered before paging (no empty pages)
        else:
            return StateMachineList(state_machines=[])
        with self._db.read() as conn:
            rows = self._repo.machines(conn, after, limit + 1, owner)
            page = rows[:limit]
            latest, running = (
                self._repo.activity(conn, [r.arn for r in page]) if activity else ({}, {})
            )
        token = None
        if len(rows) > limit:
            token = _views.encode_token("machines", rows[limit - 1].name)
        return StateMachineList(
            state_machines=[
                _views.machine_summary(r, latest.get(r.arn), running.get(r.arn, 0))
                if activity
                else _views.machine_summary(r)
                for r in page
            ],
            next_page_token=token,
            next_token=token,
        )

    # -- executions -----------------------------------------------------------------------------

    def start(self, actor: Actor, machine_arn: str, request: StartExecution) -> StartedExecution:
        machine_arn, name = self._check_start(actor, machine_arn, request)
        return self._start_alone(actor, machine_arn, request, name)

    async def start_soon(
        self, actor: Actor, machine_arn: str, request: StartExecution
    ) -> StartedExecution:
        """:meth:`start` from an event loop. On SQLite, an execution that runs briefly (see
        :func:`~dockyard.server.pipelines._definitions.runs_briefly`) starts on the loop, in
        one transaction with the starts that arrive with it (group commit); any other in a
        thread."""
        machine_arn, name = self._check_start(actor, machine_arn, request)
        if self._grouped.groups:
            try:
                work = partial(
                    self._start_in, actor=actor, machine_arn=machine_arn, request=request, name=name
                )
                return await self._grouped.write(work)
            except WriterBusy:  # it runs long: nothing was written
                pass
        return await anyio.to_thread.run_sync(self._start_alone, actor, machine_arn, request, name)

    def _start_alone(
        self, actor: Actor, machine_arn: str, request: StartExecution, name: str
    ) -> StartedExecution:
        with self._db.write() as conn:
            return self._start_in(conn, actor, machine_arn, request, name)

    def _check_start(
        self, actor: Actor, machine_arn: str, request: StartExecution
    ) -> tuple[str, str]:
        """The checks of a start that need no transaction; the state machine's ARN as this
        server names it, and the execution's name."""
        self._access.require_role(actor, Role.MEMBER, "start executions")
        machine_arn, _ = _machine_arn(machine_arn)
        _input(request.input)
        return machine_arn, request.name or str(uuid.uuid4())

    def _start_in(
        self, conn: Any, actor: Actor, machine_arn: str, request: StartExecution, name: str
    ) -> StartedExecution:
        machine = self._own(conn, actor, machine_arn, "start executions of it", share=True)
        express = machine.type == MachineType.EXPRESS.value
        arn = execution_arn(machine.name, name, express=express)
        found = self._repo.find_execution(conn, arn)
        if found is not None:
            if found.status == "RUNNING" and found.input == request.input:
                return StartedExecution(execution_arn=arn, start_time=found.start_time)
            raise ExecutionExists(f"Execution Already Exists: '{arn}'", field="name")
        definition = self._parsed(machine)
        if express:
            definition = _express_limited(definition)
        if not self._db.may_wait() and not (
            len(request.input) <= BRIEF_INPUT
            and len(machine.definition) <= BRIEF_INPUT
            and self._briefly(machine)
        ):
            raise WriterBusy("this execution may run long: not on the event loop")
        started = self.engine.begin(
            conn, actor, machine, arn, name, request.input, definition=definition
        )
        return StartedExecution(execution_arn=arn, start_time=started)

    def _parsed(self, machine: Any) -> dict[str, Any]:
        return self._cache().get(machine.arn, machine.revision_id, machine.definition)

    def _briefly(self, machine: Any) -> bool:
        return self._cache().brief(machine.arn, machine.revision_id, machine.definition)

    def _cache(self) -> ParsedDefinitions:
        core = self.engine.core  # tests swap the core: the cache belongs to one core
        if self._definitions is None or self._definitions.core is not core:
            self._definitions = ParsedDefinitions(core)
        return self._definitions

    def describe_execution(self, actor: Actor, arn: str) -> Execution:
        arn = _execution_arn(arn)
        with self._db.read_statement() as conn:  # the row and its machine's owner at once
            row = self._repo.described_execution(conn, arn)
        if row.machine_name is None:  # an execution of a deleted state machine (_own_execution)
            raise ExecutionMissing(f"Execution Does Not Exist: '{arn}'", field="executionArn")
        self._access.require_own(
            actor,
            row.machine_owner_id,
            f"pipeline {row.machine_name}",
            "read its executions",
            read=True,
        )
        return _views.execution(row)

    def machine_for_execution(self, actor: Actor, arn: str) -> StateMachine:
        """The state machine as the execution ``arn`` started with it."""
        arn = _execution_arn(arn)
        with self._db.read() as conn:
            row = self._own_execution(conn, actor, arn, "read its executions", read=True)
            machine = self._repo.machine(conn, row.state_machine_arn)
            first = self._repo.history(conn, arn, 0, 1, False)
        # the role it started with, as its ExecutionStarted event records it
        started = first[0].details if first else {}
        role = started.get("executionStartedEventDetails", {}).get("roleArn", "")
        return _views.machine(
            machine, definition=row.definition, revision=row.revision_id, role_arn=role
        )

    def wait(self, actor: Actor, arn: str, timeout: float) -> Execution:
        """The execution once it has ended, or as it is after ``timeout`` seconds; woken by the
        event log (an execution ending appends ``pipeline.execution.*``)."""
        deadline = time.monotonic() + timeout
        found = self.describe_execution(actor, arn)
        while found.status not in TERMINAL:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._events.wait(min(remaining, 0.5))
            found = self.describe_execution(actor, arn)
        return found

    async def await_(self, actor: Actor, arn: str, timeout: float) -> Execution:
        """:meth:`wait` on the event loop: no thread is held while the execution runs (a
        StartSyncExecution may wait minutes, and waits holding threads would starve every
        other request of the pool)."""
        deadline = time.monotonic() + timeout
        found = await anyio.to_thread.run_sync(self.describe_execution, actor, arn)
        while found.status not in TERMINAL:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await self._events.appended(min(remaining, 0.5))
            found = await anyio.to_thread.run_sync(self.describe_execution, actor, arn)
        return found

    def list_executions(
        self,
        actor: Actor,
        machine_arn: str,
        *,
        status: ExecutionStatus | None = None,
        next_token: str | None = None,
        limit: int = 100,
        redriven: bool | None = None,
    ) -> ExecutionList:
        """A state machine's executions, newest first; ``redriven``: only those redriven at least
        once (True) or never (False)."""
        machine_arn, _ = _machine_arn(machine_arn)
        # a token continues the listing it came from, filters included
        filters = f"{status.value if status else ''}:{'' if redriven is None else redriven}"
        kind = f"executions:{machine_arn}" + (f":{filters}" if filters != ":" else "")
        before = _views.decode_token(
            next_token, kind, lambda v: isinstance(v, list) and _views.is_position(v)
        )
        limit = max(1, min(limit, MAX_PAGE))
        with self._db.read() as conn:
            self._own(conn, actor, machine_arn, "list its executions", read=True)
            rows = self._repo.executions(
                conn,
                machine_arn,
                status.value if status else None,
                (before[0], before[1]) if before is not None else None,
                limit + 1,
                redriven=redriven,
            )
        token = None
        if len(rows) > limit:
            last = rows[limit - 1]
            token = _views.encode_token(kind, [last.start_time, last.arn])
        executions = [_views.summary(r) for r in rows[:limit]]
        return ExecutionList(executions=executions, next_page_token=token, next_token=token)

    def history(
        self,
        actor: Actor,
        arn: str,
        *,
        next_token: str | None = None,
        limit: int = 100,
        reverse: bool = False,
    ) -> History:
        arn = _execution_arn(arn)
        kind = f"history:{arn}:{'reverse' if reverse else 'forward'}"
        after = _views.decode_token(
            next_token, kind, lambda v: not isinstance(v, list) and _views.is_position(v)
        )
        limit = max(1, min(limit, MAX_PAGE))
        with self._db.read() as conn:
            self._own_execution(conn, actor, arn, "read its executions", read=True)
            rows = self._repo.history(conn, arn, after or 0, limit + 1, reverse)
        token = None
        if len(rows) > limit:
            token = _views.encode_token(kind, rows[limit - 1].event_id)
        events = [_views.history_event(r) for r in rows[:limit]]
        return History(events=events, next_page_token=token, next_token=token)

    def stop(self, actor: Actor, arn: str, request: StopExecution) -> Execution:
        """Abort a running execution (its tasks are stopped, its timers dropped)."""
        self._access.require_role(actor, Role.MEMBER, "stop executions")
        arn = _execution_arn(arn)
        with self._db.read() as conn:
            self._own_execution(conn, actor, arn, "stop its executions")
        self.engine.feed(
            arn,
            lambda core, conn: [core.stop_requested(request.error, request.cause)],
            actor=actor,
        )
        return self.describe_execution(actor, arn)

    def redrive(self, actor: Actor, arn: str) -> int:
        """Run a failed, timed out or aborted execution again from where it stopped."""
        self._access.require_role(actor, Role.MEMBER, "redrive executions")
        arn = _execution_arn(arn)
        with self._db.write() as conn:
            # The machine's row first, as a start and a delete take it (PostgreSQL): a delete
            # then waits for this redrive, and stops the execution it sets running.
            self._own_execution(conn, actor, arn, "redrive its executions", share=True)
            row = self._repo.execution(conn, arn, lock=True)
            if row.status not in ("FAILED", "TIMED_OUT", "ABORTED"):
                raise ExecutionNotRedrivable(
                    f"Execution {arn} is {row.status}: only a failed, timed out or aborted "
                    "execution can be redriven",
                    field="executionArn",
                )
            if row.arn.split(":")[5] == "express":
                raise ExecutionNotRedrivable("Express executions cannot be redriven")
            return self.engine.redrive(conn, actor, row)

    # -- task callbacks -------------------------------------------------------------------------

    def _callback(self, actor: Actor, token: str, make: Any) -> None:
        self._access.require_writing(actor, "answer tasks")
        with self._db.read() as conn:
            task = self._repo.task_by_token(conn, token)
        if task is None or task.status not in ("scheduled", "started"):
            raise TaskMissing("Task Does Not Exist: no open task has this token", field="taskToken")
        claimed: list[bool] = []

        def completions(core: Any, conn: Any) -> list[Any]:
            if not self.engine.finish_task(conn, task.task_key, only=("scheduled", "started")):
                return []
            claimed.append(True)
            done = make(core, task.task_id)
            outcome = "failed" if hasattr(done, "error") else "succeeded"
            machine = task.execution_arn.split(":")[6]
            self._events.append(
                conn,
                actor,
                f"pipeline.task.{outcome}",
                "execution",
                task.execution_arn,
                scope=f"pipeline:{machine}",
                body={"state": task.state_name, "task_id": task.task_id},
            )
            return [done]

        self.engine.feed(task.execution_arn, completions, actor=actor)
        if not claimed:
            raise TaskMissing("Task Timed Out or already answered", field="taskToken")

    def task_success(self, actor: Actor, request: TaskSuccess) -> None:
        output = _input(request.output, "output")
        self._callback(
            actor, request.task_token, lambda core, tid: core.task_succeeded(tid, output)
        )

    def task_failure(self, actor: Actor, request: TaskFailure) -> None:
        error = request.error or "States.TaskFailed"
        self._callback(
            actor, request.task_token, lambda core, tid: core.task_failed(tid, error, request.cause)
        )

    def task_heartbeat(self, actor: Actor, request: TaskHeartbeat) -> None:
        self._access.require_writing(actor, "answer tasks")
        now = self.engine.clock()
        with self._db.write() as conn:
            task = self._repo.task_by_token(conn, request.task_token)
            if task is None or task.status not in ("scheduled", "started"):
                raise TaskMissing(
                    "Task Does Not Exist: no open task has this token", field="taskToken"
                )
            if task.heartbeat_s:
                deadline = now + int(task.heartbeat_s * 1000)
                self._repo.change_task(conn, task.task_key, {"heartbeat_deadline": deadline})

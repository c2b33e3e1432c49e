"""Carrying out the effects a transition recorded: start scheduled tasks, look at started ones,
stop cancelled ones, fire due timers and overdue heartbeats. The engine loop calls these; each
completion goes back through :meth:`Engine.feed`, which claims the task's row in its own
transaction (a completion is fed once, whoever sees it first).

A completion the runner feeds (a task's answer, a timer) carries the execution on at once:
the tasks its transition schedules that answer without waiting on anything (the ``request``
pattern without a callback: a function call, a parameter read, a message) are recorded as
started in that same transition (:class:`~dockyard.server.pipelines._engine.Claims`), and a
worker thread starts them right after the commit (the one that fed the answer, when it was a
worker; a function call runs on it; when one transition starts several, the others run beside
it on other workers), with no engine-loop pass and no write of their own in between. Each such
task costs one transaction: its answer and the next transition. A crash in between leaves its
row started in the background, which the loop schedules again when it resumes.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import orjson

from dockyard.errors import DockyardError
from dockyard.server.actor import Actor
from dockyard.server.pipelines._engine import Claims, Engine
from dockyard.server.pipelines._tasks import (
    REQUEST,
    TOKEN,
    Failed,
    InBackground,
    Integrations,
    Succeeded,
    TaskCall,
    Waiting,
)
from dockyard.server.store import Database

__all__ = ["TaskRunner"]

log = logging.getLogger("dockyard.server.pipelines")

#: The handle of work running on a worker thread of this process (a function call): nothing
#: to poll; cancelling it ends the work (the function's process).
BACKGROUND = "background"

#: How the runner finds the actor an execution's tasks act as: (owner id, created by).
OwnerOf = Callable[[Any], Actor]


class TaskRunner:
    """Starts, polls and stops tasks; fires timers (see the module docstring).

    Args:
        owner: The actor an execution's tasks act as, from its row.
        workers: Threads for work that runs in the background (function calls).
    """

    def __init__(
        self,
        db: Database,
        engine: Engine,
        integrations: Integrations,
        owner: OwnerOf,
        *,
        workers: int = 4,
    ) -> None:
        self._db = db
        self._engine = engine
        self._repo = engine.repo
        self._integrations = integrations
        self._owner = owner
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="dockyard-pipeline-task")
        self._running: set[str] = set()
        self._queued = 0  # submitted to the workers, not yet begun
        self._queued_lock = threading.Lock()

    def clock(self) -> int:
        return self._engine.clock()

    def heard(self) -> None:
        """Another process recorded work: the loop acts at once (if it leads here)."""
        self._engine.signal_here()

    def take_signal(self) -> bool:
        """Whether a transition left work since the last call (see :meth:`Engine.signal`)."""
        signalled, self._engine.signalled = self._engine.signalled, False
        return signalled

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _submit(self, work: Callable[..., None], *args: Any) -> None:
        """Run ``work(*args)`` on a worker thread, counted in :attr:`_queued` until it begins."""

        def begun() -> None:
            with self._queued_lock:
                self._queued -= 1
            work(*args)

        with self._queued_lock:
            self._queued += 1
        self._pool.submit(begun)

    # -- completions ----------------------------------------------------------------------------

    def complete(self, task: Any, outcome: Succeeded | Failed) -> None:
        """Feed ``task``'s outcome to its execution, unless it was fed or cancelled already;
        the tasks its transition claims start on a worker thread."""
        self._hand_over(self._feed(task, outcome))

    def _hand_over(self, claims: Claims) -> None:
        """The tasks a transition fed from the engine loop claimed start on a worker thread."""
        if claims.taken:
            self._submit(self._carry_on, claims)

    def _feed(self, task: Any, outcome: Succeeded | Failed) -> Claims:
        """Feed ``task``'s outcome; the tasks the transition claimed for this runner."""

        def completions(core: Any, conn: Any) -> list[Any]:
            if not self._engine.finish_task(conn, task.task_key):
                return []
            if isinstance(outcome, Succeeded):
                return [core.task_succeeded(task.task_id, outcome.output)]
            return [core.task_failed(task.task_id, outcome.error, outcome.cause)]

        claims = Claims(self._claim)
        self._engine.feed(task.execution_arn, completions, claims=claims)
        return claims

    def _claim(self, effect: Any) -> dict[str, Any] | None:
        """The columns that record a StartTask as started by this runner, when its integration
        answers without waiting on anything (see the module docstring); None: the loop starts it."""
        if effect.task_token is not None:
            return None
        resolved = self._integrations.resolve(effect.resource)
        if resolved is None or resolved[2] != REQUEST:
            return None
        return {
            "status": "started",
            "handle": BACKGROUND,
            "started_time": self._engine.clock(),
            "starts": 1,
        }

    def _carry_on(self, claims: Claims) -> None:
        """Start the tasks ``claims`` took and feed their answers, on this thread, as long as
        each transition leaves one task to run (more go to other worker threads)."""
        if not claims.taken:
            return
        try:
            actor = self._owner(claims.execution)
        except DockyardError as exc:
            failed = Failed("States.TaskFailed", f"the execution's owner: {exc.message}")
            for values in claims.taken:
                self.complete(SimpleNamespace(**values), failed)
            return
        self._carry(deque((SimpleNamespace(**values), actor) for values in claims.taken))

    def _carry(self, queue: deque[tuple[Any, Actor]]) -> None:
        """Carry out ``queue``'s tasks and those their transitions claim (see :meth:`_carry_on`);
        after the first, when other work waits for a worker, the rest queues behind it: a long
        chain of tasks holds a worker no longer than one task at a time."""
        first = True
        while queue:
            if not first and self._queued:
                self._submit(self._carry, queue)
                return
            first = False
            task, actor = queue.popleft()
            try:
                outcome = self._begin(task, actor)
                if isinstance(outcome, InBackground):
                    if queue:  # another branch's task waits: this one runs beside it
                        self._background(task, outcome, waits_for_token=False)
                        continue
                    self._running.add(task.task_key)
                    try:
                        outcome = self._run(outcome)
                    finally:
                        self._running.discard(task.task_key)
                if isinstance(outcome, Waiting):
                    self._hold(task, outcome.handle)
                    continue
                taken = self._feed(task, outcome).taken
            except Exception:
                log.exception("pipeline task %s: carrying it out failed", task.task_key)
                continue  # its row stays started: the loop takes it up when it resumes
            queue.extend((SimpleNamespace(**values), actor) for values in taken)

    def _begin(self, task: Any, actor: Actor) -> Any:
        """Start claimed ``task``: its integration's first answer."""
        resolved = self._integrations.resolve(task.resource)
        if resolved is None:
            return Failed("States.Runtime", f"unknown resource {task.resource!r}")
        integration, base, mode = resolved
        call = TaskCall(
            key=task.task_key,
            execution_arn=task.execution_arn,
            state_name=task.state_name,
            resource=task.resource,
            base=base,
            mode=mode,
            payload=orjson.loads(task.payload),
            actor=actor,
        )
        try:
            return integration.start(call)
        except Exception as exc:  # an integration's bug fails its task, not the runner
            log.exception("pipeline task %s failed to start", task.task_key)
            return Failed("States.TaskFailed", f"{type(exc).__name__}: {exc}"[:2000])

    def _hold(self, task: Any, handle: str | None) -> None:
        """A claimed task waits on ``handle``: the loop polls it from now on."""
        with self._db.write() as conn:
            self._repo.change_task(conn, task.task_key, {"handle": handle}, only=("started",))

    def _call(self, task: Any) -> TaskCall | Failed:
        resolved = self._integrations.resolve(task.resource)
        if resolved is None:
            return Failed("States.Runtime", f"unknown resource {task.resource!r}")
        _, base, mode = resolved
        with self._db.read() as conn:
            execution = self._repo.execution(conn, task.execution_arn)
        try:
            actor = self._owner(execution)
        except DockyardError as exc:
            return Failed("States.TaskFailed", f"the execution's owner: {exc.message}")
        return TaskCall(
            key=task.task_key,
            execution_arn=task.execution_arn,
            state_name=task.state_name,
            resource=task.resource,
            base=base,
            mode=mode,
            payload=orjson.loads(task.payload),
            actor=actor,
            token=task.task_token,
        )

    # -- starting -------------------------------------------------------------------------------

    def start_scheduled(self) -> int:
        with self._db.read() as conn:
            tasks = self._repo.tasks(conn, "scheduled")
        for task in tasks:
            self.start(task)
        return len(tasks)

    def start(self, task: Any) -> None:
        call = self._call(task)
        if isinstance(call, Failed):
            self.complete(task, call)
            return
        integration = self._integrations.resolve(task.resource)[0]  # type: ignore[index]
        try:
            outcome = integration.start(call)
        except Exception as exc:  # an integration's bug fails its task, not the loop
            log.exception("pipeline task %s failed to start", task.task_key)
            outcome = Failed("States.TaskFailed", f"{type(exc).__name__}: {exc}"[:2000])
        self._started(task, call, outcome)

    def _started(self, task: Any, call: TaskCall, outcome: Any) -> None:
        waits_for_token = call.mode == TOKEN
        if isinstance(outcome, Failed) or (isinstance(outcome, Succeeded) and not waits_for_token):
            self._mark(task, None)
            self.complete(task, outcome)
            return
        handle = (
            outcome.handle
            if isinstance(outcome, Waiting)
            else BACKGROUND
            if isinstance(outcome, InBackground)
            else None
        )
        if not self._mark(task, handle):
            # Cancelled, or answered by a callback, while it started: what it started goes.
            if handle is not None:
                self._stop(task, call, handle)
            return
        if isinstance(outcome, InBackground):
            self._background(task, outcome, waits_for_token)

    def _mark(self, task: Any, handle: str | None) -> bool:
        """Record ``task`` as started on ``handle``; False when it is no longer scheduled."""
        now = self._engine.clock()
        values: dict[str, Any] = {
            "status": "started",
            "handle": handle,
            "started_time": now,
            "starts": task.starts + 1,
        }
        if task.task_token and task.heartbeat_s:
            values["heartbeat_deadline"] = now + int(task.heartbeat_s * 1000)
        with self._db.write() as conn:
            return bool(self._repo.change_task(conn, task.task_key, values, only=("scheduled",)))

    def _run(self, work: InBackground) -> Succeeded | Failed:
        """Run ``work`` on this thread: its outcome."""
        try:
            return work.run()
        except Exception as exc:
            return Failed("States.TaskFailed", f"{type(exc).__name__}: {exc}"[:2000])

    def _background(self, task: Any, work: InBackground, waits_for_token: bool) -> None:
        if task.task_key in self._running:
            return
        self._running.add(task.task_key)

        def run() -> None:
            try:
                outcome = self._run(work)
            finally:
                self._running.discard(task.task_key)
            if waits_for_token and isinstance(outcome, Succeeded):
                return  # the callback answers the task
            try:
                claims = self._feed(task, outcome)
            except Exception:
                log.exception("pipeline task %s: recording its outcome failed", task.task_key)
                self._engine.signal()
                return
            self._carry_on(claims)

        self._submit(run)

    def reschedule_interrupted(self) -> int:
        """On taking the lead: work a crash interrupted in the background (a function call:
        started, waiting on no handle and no callback) is scheduled to run again (as Lambda, at
        least once). Jobs are waited on by name and callbacks keep waiting: never restarted."""
        with self._db.write() as conn:
            started = self._repo.tasks(conn, "started", limit=10_000)
            lost = [t for t in started if t.handle == BACKGROUND and t.task_token is None]
            for task in lost:
                self._repo.set_task_status(conn, task.task_key, "scheduled", only=("started",))
        return len(lost)

    # -- waiting and stopping -------------------------------------------------------------------

    def poll_started(self) -> None:
        with self._db.read() as conn:
            started = [
                t
                for t in self._repo.tasks(conn, "started", 1000)
                if t.handle not in (None, BACKGROUND)
            ]
        for task in started:
            call = self._call(task)
            if isinstance(call, Failed):
                self.complete(task, call)
                continue
            integration = self._integrations.resolve(task.resource)[0]  # type: ignore[index]
            try:
                outcome = integration.poll(call, task.handle)
            except DockyardError as exc:
                outcome = Failed("States.TaskFailed", exc.message)
            if outcome is not None:
                self.complete(task, outcome)

    def stop_cancelled(self) -> None:
        with self._db.read() as conn:
            cancelling = self._repo.tasks(conn, "cancelling")
        for task in cancelling:
            resolved = self._integrations.resolve(task.resource)
            call = self._call(task)
            if task.handle and resolved is not None and not isinstance(call, Failed):
                self._stop(task, call, task.handle)
            with self._db.write() as conn:
                self._repo.set_task_status(conn, task.task_key, "cancelled", only=("cancelling",))

    def _stop(self, task: Any, call: TaskCall, handle: str) -> None:
        resolved = self._integrations.resolve(task.resource)
        if resolved is None:
            return
        try:
            resolved[0].cancel(call, handle)
        except DockyardError as exc:
            log.warning("pipeline task %s: stopping: %s", task.task_key, exc.message)

    def fire_timers(self) -> None:
        now = self._engine.clock()
        with self._db.read() as conn:
            due = self._repo.due_timers(conn, now)
        for timer in due:

            def completions(core: Any, conn: Any, timer: Any = timer) -> list[Any]:
                if not self._repo.cancel_timer(conn, timer.execution_arn, timer.timer_id):
                    return []  # fired, or cancelled, meanwhile
                return [core.timer_fired(timer.timer_id)]

            claims = Claims(self._claim)
            self._engine.feed(timer.execution_arn, completions, claims=claims)
            self._hand_over(claims)

    def expire_heartbeats(self) -> None:
        with self._db.read() as conn:
            overdue = self._repo.overdue_heartbeats(conn, self._engine.clock())
        for task in overdue:
            self.complete(task, Failed("States.HeartbeatTimeout", "no heartbeat in time"))

    def next_due(self) -> int | None:
        """When the soonest timer or heartbeat deadline falls (ms), if any."""
        with self._db.read() as conn:
            found = [self._repo.next_timer(conn), self._repo.next_heartbeat(conn)]
        due = [d for d in found if d is not None]
        return min(due) if due else None

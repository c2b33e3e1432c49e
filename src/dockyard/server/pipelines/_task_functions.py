"""Python functions as tasks: Dockyard's Lambda.

Resources: ``dockyard:function:NAME``, ``arn:aws:lambda:<region>:<account>:function:NAME``
(the payload is the event; the answer is the function's result) and
``arn:aws:states:::lambda:invoke`` (``FunctionName`` and ``Payload`` in the parameters; the
answer is ``{"Payload": result, "StatusCode": 200, ...}``, as Step Functions gives it). Names
resolve through ``DOCKYARD_PIPELINE_FUNCTIONS`` (``{"score": "mypkg.tasks:score"}``); a version
or alias after a name (``:$LATEST``, ``:prod``) is accepted and dropped.

Each call is a process of its own (:mod:`dockyard.runtime.functions`; forked from a warm process
that imported the functions' modules once, :mod:`~dockyard.server.pipelines._function_calls`,
or started cold when it cannot fork; with the Ray executor, a Ray task on one of the cluster's
nodes, so a Map's calls fan out across them), in a session of its own,
under an address-space limit (``RLIMIT_AS``) and a timeout, so a function that leaks, hangs or
crashes fails its task and nothing else. A function's exception fails the task with the
exception's class name as the error and Lambda's JSON (``errorMessage``, ``errorType``,
``stackTrace``) as the cause; a timeout fails it with ``States.Timeout``. A call interrupted by a
server crash runs again when the engine resumes (as Lambda, at least once).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any

import orjson

from dockyard.api.pipelines import CallEnded, CallLost, RemoteCalls, run_cold, without_settings
from dockyard.errors import InvalidArgument
from dockyard.plugins import FUNCTION_CALLERS, load, names
from dockyard.server.pipelines._function_calls import WarmCalls
from dockyard.server.pipelines._tasks import (
    REQUEST,
    TOKEN,
    BaseIntegration,
    Failed,
    InBackground,
    Outcome,
    Succeeded,
    TaskCall,
)
from dockyard.settings import Settings

__all__ = ["FunctionTask"]

INVOKE = "arn:aws:states:::lambda:invoke"
PREFIXES = ("dockyard:function:", "arn:aws:lambda:")
_MAX_ANSWER = 256 * 1024
_DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
_NEEDS_NAME = "lambda:invoke needs a FunctionName parameter (the function's name or ARN)"


class FunctionTask(BaseIntegration):
    """Runs registered Python functions (see the module docstring)."""

    modes = frozenset({REQUEST, TOKEN})

    def __init__(self, settings: Settings) -> None:
        self._functions = dict(settings.pipeline_functions)
        self._timeout = settings.pipeline_function_timeout_s
        self._memory = settings.pipeline_function_memory_mb
        # The calls running now, by task key: cancelling a task (a stop, TimeoutSeconds)
        # kills its call's process tree.
        self._running: dict[str, Callable[[], None]] = {}
        self._lock = threading.Lock()
        self._warm: WarmCalls | None = None
        # With the Ray executor, calls run on the cluster, so a Map fans out across its nodes.
        self._settings = settings
        self._on_cluster = settings.executor in names(FUNCTION_CALLERS)
        self._cluster: RemoteCalls | None = None

    def _name(self, base: str, payload: Any) -> str | None:
        if base == INVOKE:
            found = payload.get("FunctionName") if isinstance(payload, dict) else None
            return None if found is None else self._unqualified(str(found))
        return self._unqualified(base) if ":function:" in base else None

    def _unqualified(self, reference: str) -> str:
        """The function a Lambda reference names: its name, ``NAME:QUALIFIER``, a full or
        partial ARN (``123456789012:function:NAME``), each with an optional version or alias
        (``:$LATEST``, ``:3``, ``:prod``: Workflow Studio writes ``:$LATEST``). A function has
        one version here, so the qualifier is dropped."""
        name = reference.rsplit(":function:", 1)[-1]
        return name if name in self._functions else name.split(":", 1)[0]

    def check(self, base: str, payload: Any) -> None:
        if base == INVOKE:
            if payload is None or isinstance(payload, str):
                # no parameters (the state's input is the request) or JSONata Arguments
                # computed as a whole: FunctionName is checked when the task runs
                return
            given = payload if isinstance(payload, dict) else {}
            if "FunctionName" not in given:
                if "FunctionName.$" in given:
                    return  # a path: checked when the task runs
                raise InvalidArgument(_NEEDS_NAME, field="Parameters")
            found = given["FunctionName"]
            if found is None:
                raise InvalidArgument(_NEEDS_NAME, field="Parameters")
            if isinstance(found, str) and "{%" in found:
                return  # a JSONata expression: checked when the task runs
        name = self._name(base, payload)
        if name is not None and name not in self._functions:
            field = "Parameters" if base == INVOKE else None  # FunctionName, or the resource
            raise InvalidArgument(f"no function named {name!r}{self._known()}", field=field)

    def _known(self) -> str:
        if not self._functions:
            return " (none is registered: set DOCKYARD_PIPELINE_FUNCTIONS)"
        return f" (registered: {', '.join(sorted(self._functions))})"

    def start(self, call: TaskCall) -> Outcome:
        name = self._name(call.base, call.payload)
        if name is None:
            return Failed("States.TaskFailed", _NEEDS_NAME)
        if name not in self._functions:
            # A name computed when the task runs: Lambda's own error for a function it lacks
            # (lambda:invoke, a Lambda ARN) is what a Catch written for AWS names.
            lambda_name = call.base == INVOKE or call.base.startswith("arn:aws:lambda:")
            error = "Lambda.ResourceNotFoundException" if lambda_name else "States.TaskFailed"
            return Failed(error, f"no function named {name!r}{self._known()}")
        event = call.payload.get("Payload", {}) if call.base == INVOKE else call.payload
        wrap = call.base == INVOKE

        def run() -> Succeeded | Failed:
            outcome = self.invoke(name, event, call.key)
            if wrap and isinstance(outcome, Succeeded):
                return Succeeded(
                    {"Payload": outcome.output, "StatusCode": 200, "ExecutedVersion": "$LATEST"}
                )
            if isinstance(outcome, Failed) and outcome.error == _DATA_LIMIT_EXCEEDED:
                # as AWS words it, naming the integration ('lambda') or the function's ARN
                return Failed(_DATA_LIMIT_EXCEEDED, _too_large("lambda" if wrap else call.base))
            return outcome

        return InBackground(run)

    def invoke(self, name: str, event: Any, key: str) -> Succeeded | Failed:
        """Call function ``name`` with ``event`` in a process of its own: on the cluster when the
        server's executor is Ray; else forked from the warm process when it can, or started
        cold."""
        data = orjson.dumps(event)
        reference = self._functions[name]
        call_env = {"DOCKYARD_FUNCTION_NAME": name, "DOCKYARD_TASK_KEY": key}

        def running(kill: Callable[[], None]) -> None:
            with self._lock:
                self._running[key] = kill

        try:
            ended = self._call(reference, data, call_env, running)
        except TimeoutError:
            return Failed("States.Timeout", f"function {name} ran past {self._timeout:g} s")
        except CallLost as exc:
            return Failed("Function.Crashed", f"function {name} did not answer: {exc}")
        finally:
            with self._lock:
                self._running.pop(key, None)
        if ended.code == -signal.SIGKILL and not ended.out:
            return Failed("States.TaskFailed", f"function {name} was stopped")
        return _answer(name, ended.code, ended.out, ended.err)

    def _call(
        self,
        reference: str,
        data: bytes,
        call_env: dict[str, str],
        running: Callable[[Callable[[], None]], None],
    ) -> CallEnded:
        with self._lock:
            if self._on_cluster and self._cluster is None:
                caller = load(FUNCTION_CALLERS, self._settings.executor, what="function caller")
                self._cluster = caller(self._settings)
            if not self._on_cluster and self._warm is None and self._functions:
                env = without_settings(os.environ)
                self._warm = WarmCalls(sorted(set(self._functions.values())), env)
            cluster, warm = self._cluster, self._warm
        limits = (self._memory, self._timeout)
        if cluster is not None:
            return cluster.call(reference, data, call_env, *limits, running)
        ended = None if warm is None else warm.call(reference, data, call_env, *limits, running)
        if ended is None:
            env = {**without_settings(os.environ), **call_env}
            ended = run_cold(reference, data, env, *limits, running)
        return ended

    def cancel(self, call: TaskCall, handle: str) -> None:
        with self._lock:
            kill = self._running.get(call.key)
        if kill is not None:
            kill()

    def close(self) -> None:
        with self._lock:
            if self._warm is not None:
                self._warm.close()
            if self._cluster is not None:
                self._cluster.close()


def _too_large(what: str) -> str:
    return (
        f"The state/task '{what}' returned a result with a size exceeding the maximum number "
        "of bytes service limit."
    )


def _answer(name: str, code: int, out: bytes, err: bytes) -> Succeeded | Failed:
    try:
        answer = orjson.loads(out[:_MAX_ANSWER]) if out else None
    except orjson.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        tail = err.decode(errors="replace")[-1000:].strip()
        cause = f"function {name} ended (exit {code}) without an answer: {tail or 'no output'}"
        if len(out) > _MAX_ANSWER:
            return Failed(_DATA_LIMIT_EXCEEDED, _too_large(f"dockyard:function:{name}"))
        return Failed("Function.Crashed", cause)
    if answer.get("ok"):
        return Succeeded(answer.get("result"))
    details = {k: answer.get(k) for k in ("errorMessage", "errorType", "stackTrace")}
    error = str(answer.get("errorType") or "Function.Error")
    return Failed(error, orjson.dumps(details).decode())

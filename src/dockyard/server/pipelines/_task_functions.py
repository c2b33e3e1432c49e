"""Python functions as tasks: Dockyard's Lambda.

Resources: ``dockyard:function:NAME``, ``arn:aws:lambda:<region>:<account>:function:NAME``
(the payload is the event; the answer is the function's result) and
``arn:aws:states:::lambda:invoke`` (``FunctionName`` and ``Payload`` in the parameters; the
answer is ``{"Payload": result, "StatusCode": 200, ...}``, as Step Functions gives it). Names
resolve through ``DOCKYARD_PIPELINE_FUNCTIONS`` (``{"score": "mypkg.tasks:score"}``).

Each call is a process of its own (:mod:`dockyard.runtime.functions`; forked from a warm process
that imported the functions' modules once, :mod:`~dockyard.server.pipelines._function_calls`,
or started cold when it cannot fork), in a session of its own,
under an address-space limit (``RLIMIT_AS``) and a timeout, so a function that leaks, hangs or
crashes fails its task and nothing else. A function's exception fails the task with the
exception's class name as the error and Lambda's JSON (``errorMessage``, ``errorType``,
``stackTrace``) as the cause; a timeout fails it with ``States.Timeout``. A call interrupted by a
server crash runs again when the engine resumes (as Lambda, at least once).
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import orjson

from dockyard.errors import InvalidArgument
from dockyard.server.pipelines._function_calls import CallEnded, WarmCalls
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


def _limits(memory_mb: int) -> Callable[[], None]:
    size = memory_mb * 1024 * 1024

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


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

    def _name(self, base: str, payload: Any) -> str | None:
        if base == INVOKE:
            found = payload.get("FunctionName") if isinstance(payload, dict) else None
            return None if found is None else str(found).rsplit(":function:", 1)[-1]
        return base.rsplit(":function:", 1)[-1] if ":function:" in base else None

    def check(self, base: str, payload: Any) -> None:
        if base == INVOKE and isinstance(payload, dict) and "FunctionName" not in payload:
            if "FunctionName.$" not in payload:
                raise InvalidArgument("lambda:invoke needs a FunctionName parameter")
            return
        name = self._name(base, payload)
        if name is not None and name not in self._functions:
            raise InvalidArgument(f"no function named {name!r}{self._known()}")

    def _known(self) -> str:
        if not self._functions:
            return " (none is registered: set DOCKYARD_PIPELINE_FUNCTIONS)"
        return f" (registered: {', '.join(sorted(self._functions))})"

    def start(self, call: TaskCall) -> Outcome:
        name = self._name(call.base, call.payload)
        if name is None or name not in self._functions:
            return Failed("States.TaskFailed", f"no function named {name!r}{self._known()}")
        event = call.payload.get("Payload", {}) if call.base == INVOKE else call.payload
        wrap = call.base == INVOKE

        def run() -> Succeeded | Failed:
            outcome = self.invoke(name, event, call.key)
            if wrap and isinstance(outcome, Succeeded):
                return Succeeded(
                    {"Payload": outcome.output, "StatusCode": 200, "ExecutedVersion": "$LATEST"}
                )
            return outcome

        return InBackground(run)

    def invoke(self, name: str, event: Any, key: str) -> Succeeded | Failed:
        """Call function ``name`` with ``event`` in a process of its own: forked from the warm
        process when it can, else started cold."""
        data = orjson.dumps(event)
        call_env = {"DOCKYARD_FUNCTION_NAME": name, "DOCKYARD_TASK_KEY": key}
        with self._lock:
            if self._warm is None and self._functions:
                self._warm = WarmCalls(sorted(set(self._functions.values())), _server_free_env())
            warm = self._warm

        def running(kill: Callable[[], None]) -> None:
            with self._lock:
                self._running[key] = kill

        try:
            ended = (
                None
                if warm is None
                else warm.call(
                    self._functions[name], data, call_env, self._memory, self._timeout, running
                )
            )
            if ended is None:
                ended = self._cold(name, data, call_env, running)
        except TimeoutError:
            return Failed("States.Timeout", f"function {name} ran past {self._timeout:g} s")
        finally:
            with self._lock:
                self._running.pop(key, None)
        if ended.code == -signal.SIGKILL and not ended.out:
            return Failed("States.TaskFailed", f"function {name} was stopped")
        return _answer(name, ended.code, ended.out, ended.err)

    def _cold(
        self,
        name: str,
        data: bytes,
        call_env: dict[str, str],
        running: Callable[[Callable[[], None]], None],
    ) -> CallEnded:
        """The call in a fresh interpreter; TimeoutError once killed after the timeout."""
        # A function acts on its input, not as the server: none of the server's own settings
        # (its database URL, token, parameter key) reach it.
        proc = subprocess.Popen(
            [sys.executable, "-m", "dockyard.runtime.functions", self._functions[name]],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**_server_free_env(), **call_env},
            start_new_session=True,  # a timeout kills the function's whole tree
            preexec_fn=_limits(self._memory),  # noqa: PLW1509 - only setrlimit, before exec
        )
        running(lambda: _kill(proc))
        try:
            out, err = proc.communicate(data, timeout=self._timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.communicate()
            raise TimeoutError from None
        return CallEnded(proc.returncode, out, err)

    def cancel(self, call: TaskCall, handle: str) -> None:
        with self._lock:
            kill = self._running.get(call.key)
        if kill is not None:
            kill()

    def close(self) -> None:
        with self._lock:
            if self._warm is not None:
                self._warm.close()


def _server_free_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _answer(name: str, code: int, out: bytes, err: bytes) -> Succeeded | Failed:
    try:
        answer = orjson.loads(out[:_MAX_ANSWER]) if out else None
    except orjson.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        tail = err.decode(errors="replace")[-1000:].strip()
        cause = f"function {name} ended (exit {code}) without an answer: {tail or 'no output'}"
        if len(out) > _MAX_ANSWER:
            return Failed("States.DataLimitExceeded", f"function {name} answered over 256 KiB")
        return Failed("Function.Crashed", cause)
    if answer.get("ok"):
        return Succeeded(answer.get("result"))
    details = {k: answer.get(k) for k in ("errorMessage", "errorType", "stackTrace")}
    error = str(answer.get("errorType") or "Function.Error")
    return Failed(error, orjson.dumps(details).decode())

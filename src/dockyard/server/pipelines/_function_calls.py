"""Function calls forked from a warm process (:mod:`dockyard.runtime.functions._warm`).

A cold call starts an interpreter and imports the function's module: ~hundreds of ms. The warm
process has imported the registered functions' modules once and forks each call, which then
runs as a cold one would (its own session and rlimits, no ``DOCKYARD_*`` settings of the server,
the same answer on a pipe). :class:`WarmCalls` is the server's side: it starts the warm process
on first use, sends it calls and hands each caller its child's exit code, answer and log.
When the warm process cannot fork (an imported module started a thread) or died, a call is
answered ``None`` and the caller starts it cold.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

import orjson

from dockyard.api.pipelines import CallEnded

__all__ = ["WarmCalls"]

#: How long to wait for the warm process to import the functions' modules and say it is ready.
_READY_S = 120.0
#: How long to wait for a forked child's pid, and for a killed child's end.
_REPLY_S = 30.0


class _Pending:
    def __init__(self) -> None:
        self.pid: int | None = None
        self.forked = threading.Event()
        self.ended: CallEnded | None = None
        self.done = threading.Event()
        self.error: str | None = None
        self.killed = False  # asked to stop, perhaps before its pid was known
        self.lock = threading.Lock()

    def kill(self) -> None:
        with self.lock:
            self.killed = True
            pid = self.pid
        if pid is not None and not self.done.is_set():  # once reaped, the pid is not its own
            _kill(pid)

    def forked_as(self, pid: int) -> None:
        with self.lock:
            self.pid = pid
            killed = self.killed
        if killed:  # stopped while it was being forked
            _kill(pid)
        self.forked.set()


class WarmCalls:
    """Calls functions in children of one warm process (see the module docstring).

    Args:
        references: The functions' ``module:attr``; their modules are imported once.
        env: The warm process's environment (the server's, without its ``DOCKYARD_*`` settings).
    """

    def __init__(self, references: list[str], env: dict[str, str]) -> None:
        self._references = references
        self._env = env
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._refused: str | None = None

    def _started(self) -> subprocess.Popen[bytes] | None:
        """The running warm process (started if need be; lock held); None: calls go cold."""
        if self._refused is not None:
            return None
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        proc = subprocess.Popen(
            [sys.executable, "-m", "dockyard.runtime.functions", "--warm", *self._references],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self._env,
            start_new_session=True,  # the server's Ctrl-C is not the warm process's
            close_fds=True,
        )
        assert proc.stdout is not None
        ready: dict[str, Any] = {}
        got = threading.Event()
        threading.Thread(
            target=self._read, args=(proc.stdout, ready, got), name="functions-warm", daemon=True
        ).start()
        if not got.wait(_READY_S) or "ready" not in ready:
            self._refused = str(ready.get("cold") or "the warm process did not start")
            _end(proc)
            return None
        self._proc = proc
        return proc

    def _read(self, stream: IO[bytes], ready: dict[str, Any], got: threading.Event) -> None:
        for line in stream:
            try:
                message = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if "ready" in message or "cold" in message:
                ready.update(message)
                got.set()
                continue
            pending = self._pending.get(message.get("id"))
            if pending is None:
                continue
            if "pid" in message:
                pending.forked_as(int(message["pid"]))
            elif "error" in message:
                pending.error = str(message["error"])
                pending.forked.set()
                pending.done.set()
            elif "code" in message:
                pending.ended = CallEnded(
                    int(message["code"]), message["out"].encode(), message["err"].encode()
                )
                pending.done.set()
        stream.close()
        got.set()
        for pending in list(self._pending.values()):  # the warm process died: its calls fail
            pending.error = pending.error or "the warm process exited"
            pending.forked.set()
            pending.done.set()

    def call(
        self,
        reference: str,
        event: bytes,
        env: dict[str, str],
        memory_mb: int,
        timeout: float,
        running: Callable[[Callable[[], None]], None],
    ) -> CallEnded | None:
        """Run ``reference`` on ``event`` in a forked child; its end, or None when the warm
        process cannot fork (start the call cold). ``running`` receives a function that kills
        the call. Raises TimeoutError (the call was killed) after ``timeout`` seconds."""
        call_id = next(self._ids)
        pending = _Pending()
        request = {
            "id": call_id,
            "ref": reference,
            "event": event.decode(),
            "env": env,
            "memory_mb": memory_mb,
        }
        with self._lock:
            proc = self._started()
            if proc is None or proc.stdin is None:
                return None
            self._pending[call_id] = pending
            running(pending.kill)  # from now on: a stop before the fork answers still kills
            try:
                proc.stdin.write(orjson.dumps(request) + b"\n")
                proc.stdin.flush()
            except OSError:
                self._pending.pop(call_id, None)
                return None
        try:
            if not pending.forked.wait(_REPLY_S) or pending.pid is None:
                if pending.killed:  # stopped meanwhile: not to be started cold either
                    return CallEnded(-signal.SIGKILL, b"", b"")
                return None
            if not pending.done.wait(timeout):
                pending.kill()
                pending.done.wait(_REPLY_S)
                raise TimeoutError
            if pending.ended is None:  # the warm process died under the call: as a crash
                return CallEnded(-signal.SIGKILL, b"", (pending.error or "").encode())
            return pending.ended
        finally:
            self._pending.pop(call_id, None)

    def close(self) -> None:
        with self._lock:
            if self._proc is not None:
                _end(self._proc)
                self._proc = None


def _end(proc: subprocess.Popen[bytes]) -> None:
    """End the warm process: its input closes (it kills the calls still running and exits),
    then it is killed if it has not exited within a few seconds."""
    with contextlib.suppress(OSError):
        if proc.stdin is not None:
            proc.stdin.close()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _kill(pid: int) -> None:
    """Kill a call's session, and the call itself: just forked, it may not have made its
    session yet (then it has started nothing else)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)

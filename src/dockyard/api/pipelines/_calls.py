"""How a pipeline function call is started: ``python -m dockyard.runtime.functions module:attr``
in a session of its own (a timeout kills its whole tree), under an address-space limit, with the
event on standard input and the answer document on standard output.

The server starts a call this way when its warm process cannot fork one; a Ray node starts
every call this way (:mod:`dockyard.runtime.functions._ray`). :class:`RemoteCalls` is what runs
calls elsewhere than on the server's machine (chosen by the executor's name,
:data:`dockyard.plugins.FUNCTION_CALLERS`).
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Protocol

__all__ = [
    "CallEnded",
    "CallLost",
    "RemoteCalls",
    "apply_limits",
    "kill_tree",
    "run_cold",
    "without_settings",
]


class CallLost(Exception):
    """The call never answered: its node was lost, or it could not start there."""


class CallEnded:
    """A call's end: exit code (negative: killed by that signal), answer, log tail."""

    def __init__(self, code: int, out: bytes, err: bytes) -> None:
        self.code = code
        self.out = out
        self.err = err


def apply_limits(memory_mb: int) -> None:
    """In the call's process: its address-space limit, and no core dumps."""
    size = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (size, size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def without_settings(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """``environ`` without Dockyard's settings: a function acts on its input, not as the
    server (its database URL, token and parameter key never reach it)."""
    return {k: v for k, v in environ.items() if not k.startswith("DOCKYARD_")}


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """Kill the call's process and everything it started (its session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def run_cold(
    reference: str,
    data: bytes,
    env: dict[str, str],
    memory_mb: int,
    timeout_s: float,
    running: Callable[[Callable[[], None]], None] | None = None,
) -> CallEnded:
    """Call ``reference`` with the JSON ``data`` in a fresh interpreter whose environment is
    ``env``; ``running`` is handed a way to kill the call once it started.

    Raises:
        TimeoutError: The call ran past ``timeout_s`` and was killed.
    """
    proc = subprocess.Popen(
        # With the caller's pid: the call ends if its caller dies (a server killed outright).
        [sys.executable, "-m", "dockyard.runtime.functions", reference, str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # a timeout kills the function's whole tree
        preexec_fn=lambda: apply_limits(memory_mb),  # noqa: PLW1509 - only setrlimit, before exec
    )
    if running is not None:
        running(lambda: kill_tree(proc))
    try:
        out, err = proc.communicate(data, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_tree(proc)
        proc.communicate()
        raise TimeoutError from None
    except BaseException:  # interrupted (a cancelled Ray task): the call dies with its caller
        kill_tree(proc)
        proc.communicate()
        raise
    return CallEnded(proc.returncode, out, err)


class RemoteCalls(Protocol):
    """Runs function calls away from the server (on a cluster's nodes)."""

    def call(
        self,
        reference: str,
        data: bytes,
        env: dict[str, str],
        memory_mb: int,
        timeout_s: float,
        running: Callable[[Callable[[], None]], None],
    ) -> CallEnded:
        """Run one call and wait for its end; ``running`` gets a way to stop it.

        Raises:
            TimeoutError: The call ran past ``timeout_s`` and was killed.
            CallLost: The call never answered (its node was lost, or it could not start).
        """
        ...

    def close(self) -> None:
        """Stop the calls still running."""
        ...

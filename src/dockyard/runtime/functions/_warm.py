"""The warm process that forks pipeline function calls:
``python -m dockyard.runtime.functions --warm [module:attr ...]``.

A call in a fresh interpreter spends ~hundreds of ms starting Python and importing the
function's module. This process imports the registered functions' modules once and forks one
child per call. The child makes itself what a fresh call's process would be: a session of its
own (a timeout kills its whole tree), the call's address-space limit, ``/dev/null`` as input,
its output and prints on pipes of its own, the call's environment variables, default signal
handling; it then answers exactly as a cold call does and exits.

Requests are JSON lines on standard input: ``{"id", "ref", "event", "env", "memory_mb"}``.
Replies are JSON lines on standard output: ``{"id", "pid"}`` once forked (or ``{"id",
"error"}``), then ``{"id", "code", "out", "err"}`` once the child's pipes closed and it was
reaped. The process runs no thread, so a fork never copies a lock another thread held; if a
module it imported started one, it says ``{"cold": "..."}`` and exits (calls then start cold).
It exits when its standard input closes, killing the calls still running: their answers have
nowhere to go (the server that asked stopped or crashed, and runs them again when it resumes),
and a call left running would run beside its own repetition, past its timeout, unwatched. On
Linux a call also dies with the warm process itself (``PR_SET_PDEATHSIG``), should that be
killed outright.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import resource
import select
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from dockyard.runtime.functions._call import answer

__all__ = ["serve"]

_ERR_TAIL = 4000
_PR_SET_PDEATHSIG = 1


def _write(message: dict[str, Any]) -> None:
    data = json.dumps(message).encode() + b"\n"
    while data:
        data = data[os.write(1, data) :]


def _death_signal() -> Callable[[int], None] | None:
    """What a forked call runs to be killed when the warm process ``parent`` dies (Linux);
    None elsewhere. Looked up once, before any fork."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def arm(parent: int) -> None:
        # It fires when the forking thread ends: the warm process runs no other.
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the warm process died before the request took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return arm


def _child(
    request: dict[str, Any],
    out_w: int,
    err_w: int,
    closing: list[int],
    tie: Callable[[int], None] | None,
    parent: int,
) -> None:
    """In the forked child: become a fresh call's process, answer, exit (never returns)."""
    code = 0
    try:
        if tie is not None:
            tie(parent)
        os.setsid()
        for fd in closing:
            with contextlib.suppress(OSError):
                os.close(fd)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        size = int(request["memory_mb"]) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(err_w, 1)  # prints go to the log, never into the answer
        os.dup2(err_w, 2)
        for key in [k for k in os.environ if k.startswith("DOCKYARD_")]:
            del os.environ[key]
        os.environ.update(request.get("env") or {})
        data = answer(str(request["ref"]), str(request.get("event") or "null")).encode()
        while data:
            data = data[os.write(out_w, data) :]
    except BaseException:
        code = 70
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


class _Call:
    """A forked call: its answer and log pipes, read until both close."""

    def __init__(self, call_id: Any, pid: int, out_r: int, err_r: int) -> None:
        self.id = call_id
        self.pid = pid
        self.out_fd = out_r
        self.read: dict[int, bytearray] = {out_r: bytearray(), err_r: bytearray()}
        self.open = {out_r, err_r}


def serve(references: list[str]) -> int:
    for reference in references:
        with contextlib.suppress(BaseException):  # the call reports its own import error
            importlib.import_module(reference.partition(":")[0])
    if threading.active_count() > 1:
        _write({"cold": "an imported module started a thread: calls start cold"})
        return 0
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tie = _death_signal()
    # A child's pipes close just before it becomes reapable: SIGCHLD wakes the loop to reap it.
    chld_r, chld_w = os.pipe()
    os.set_blocking(chld_w, False)
    signal.set_wakeup_fd(chld_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    _write({"ready": True})
    calls: dict[int, _Call] = {}  # by read descriptor
    done: list[_Call] = []  # pipes closed, not yet reaped
    buffered = b""
    stdin = sys.stdin.fileno()
    while True:
        waiting = [stdin, chld_r, *calls]
        readable, _, _ = select.select(waiting, [], [], 1.0 if done else None)
        for fd in readable:
            if fd == chld_r:
                os.read(chld_r, 1 << 12)
                continue
            if fd == stdin:
                chunk = os.read(stdin, 1 << 16)
                if not chunk:
                    _kill_calls({call.pid for call in (*calls.values(), *done)})
                    return 0
                buffered += chunk
                *lines, buffered = buffered.split(b"\n")
                for line in lines:
                    if line.strip():
                        _fork(json.loads(line), calls, [chld_r, chld_w], tie)
                continue
            call = calls[fd]
            chunk = os.read(fd, 1 << 16)
            if chunk:
                call.read[fd] += chunk
                continue
            os.close(fd)
            del calls[fd]
            call.open.discard(fd)
            if not call.open:
                done.append(call)
        for call in list(done):
            pid, status = os.waitpid(call.pid, os.WNOHANG)
            if pid == 0:
                continue
            done.remove(call)
            out = bytes(call.read.pop(call.out_fd))
            err = b"".join(bytes(rest) for rest in call.read.values())
            _write(
                {
                    "id": call.id,
                    "code": os.waitstatus_to_exitcode(status),
                    "out": out.decode(errors="replace"),
                    "err": err[-_ERR_TAIL:].decode(errors="replace"),
                }
            )


def _kill_calls(pids: set[int]) -> None:
    """Kill each call's session, and the call itself (just forked, it may not have made its
    session yet: then it has started nothing else)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _fork(
    request: dict[str, Any],
    calls: dict[int, _Call],
    own: list[int],
    tie: Callable[[int], None] | None,
) -> None:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError as exc:
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        _write({"id": request.get("id"), "error": f"fork: {exc}"})
        return
    if pid == 0:
        signal.set_wakeup_fd(-1)
        _child(request, out_w, err_w, [out_r, err_r, *calls, *own, 1], tie, parent)
    os.close(out_w)
    os.close(err_w)
    call = _Call(request.get("id"), pid, out_r, err_r)
    calls[out_r] = call
    calls[err_r] = call
    _write({"id": call.id, "pid": pid})

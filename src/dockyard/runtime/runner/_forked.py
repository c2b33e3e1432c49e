"""The job's process as a fork of the runner, for Dockyard's own code the runner has loaded.

A runner forked from the warm process (:mod:`dockyard.runtime.runner._zygote`) has a transform's
modules imported already; starting ``python -m dockyard.runtime.runner._transform`` would import
them all again.
:func:`fork_job` instead forks the runner and calls the job's entry point in the child, which
first makes itself what ``subprocess.Popen`` would have made: its own session, the death
signal against the runner (``preexec``), output into the runner's pipe, no other descriptor of
the runner's, the job's working folder and clean environment, default signal handling. It is
only used while the runner is single-threaded (the caller checks), so the child never inherits
a lock another thread held; user code never runs this way (it needs ``exec``: a job user,
``/opt/ml``, its own interpreter).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, NoReturn

__all__ = ["ForkedProcess", "exit_child", "fork_job"]


class ForkedProcess:
    """What the runner uses of ``subprocess.Popen`` for a forked job's process."""

    def __init__(self, pid: int, stdout: IO[bytes]) -> None:
        self.pid = pid
        self.stdout: IO[bytes] | None = stdout
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The exit code once the process ended (it is reaped then), else None."""
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit code, raising ``subprocess.TimeoutExpired`` after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired([str(self.pid)], timeout or 0.0)
            time.sleep(0.005)
        return code


def fork_job(
    main: Callable[[], int],
    cwd: Path,
    env: dict[str, str],
    preexec: Callable[[], None] | None,
) -> ForkedProcess:
    """Fork a process running ``main()``, as ``Popen(start_new_session=True, stdout=PIPE,
    stderr=STDOUT, cwd=cwd, env=env, preexec_fn=preexec)`` would start a command.

    Raises:
        RuntimeError: This process runs more than one thread.
        OSError: The fork failed.
    """
    if threading.active_count() != 1:
        raise RuntimeError("a job's process is forked only from a single-threaded runner")
    read, write = os.pipe()
    # Nothing half-written may be written twice; no garbage of the runner's (a file object
    # whose descriptor the child closes) may be collected in the child. Frozen rather than
    # collected: a collection here cost ~5 ms of every job's start, and a runner ends with
    # its job, so what little garbage the freeze keeps goes with it.
    sys.stdout.flush()
    sys.stderr.flush()
    gc.freeze()
    pid = os.fork()
    if pid:
        os.close(write)
        return ForkedProcess(pid, os.fdopen(read, "rb"))

    def child() -> int:
        os.setsid()
        if preexec is not None:
            preexec()
        os.dup2(write, 1)
        os.dup2(write, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        return main()

    exit_child(child)


def exit_child(body: Callable[[], int]) -> NoReturn:
    """End a forked child as a process ends: ``body()``'s code, ``SystemExit``'s, or 1 with
    the traceback printed; output flushed, and none of the parent's clean-up run (``_exit``)."""
    code = 1
    try:
        code = body()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)

"""Signals between the runner and the job's process tree."""

from __future__ import annotations

import contextlib
import os
import select
import signal
from collections.abc import Callable

__all__ = ["ExitWatch", "die_with_runner", "keep_private", "signal_group"]

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4


def die_with_runner() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has Linux SIGKILL the child when this runner dies; None elsewhere.

    The death signal survives ``exec`` and ``setsid`` (the child's own session). It fires when
    the *thread* that started the child ends, which here is the runner's main thread, so in
    effect when the runner does. A transform's worker processes arm it themselves against
    their own parent, so the whole tree goes.
    """
    try:
        import ctypes

        # Looked up here: between fork and exec the child should do as little as possible.
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    runner = os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != runner:  # the runner died before the request took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return arm


def keep_private() -> bool:
    """Make this process's memory and ``/proc/<pid>/environ`` unreadable by other processes of
    its user, and refuse to let them trace it (Linux ``PR_SET_DUMPABLE`` 0); False elsewhere.

    A job's code may run as the runner's own user. Without this it could read the runner's
    token from the runner's memory or its original environment and act as the runner. Programs
    the runner starts with ``exec`` are dumpable again, as usual; a job forked from the runner
    stays private too.
    """
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return False
    return bool(prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0)


def signal_group(pid: int, sig: int) -> None:
    """Send ``sig`` to the process group ``pid`` leads (the job's whole tree)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


class ExitWatch:
    """Waits for a child of this process to end without polling for it.

    ``subprocess.Popen.wait(timeout)`` sleeps between checks (up to 50 ms), which a short job
    paid once more on its way to its final status. A pidfd (Linux 5.3+) becomes readable the
    moment the process ends. It only waits: the caller reaps the child (``poll``), so its pid
    cannot be reused while the pidfd is open.
    """

    def __init__(self, pid: int) -> None:
        self._poll: select.poll | None = None
        self._fd: int | None = None
        try:
            self._fd = os.pidfd_open(pid)
        except (AttributeError, OSError):  # not Linux, an old kernel, or a sandbox refusing it
            return
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLIN)

    def wait(self, timeout: float) -> bool:
        """Wait until the process ends or ``timeout`` seconds pass; False at once when there
        is no pidfd to wait on (the caller waits its own way)."""
        if self._poll is None:
            return False
        self._poll.poll(timeout * 1000)
        return True

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._poll = None

    def __enter__(self) -> ExitWatch:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

"""Signals between the runner and the job's process tree."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable

__all__ = ["die_with_runner", "signal_group"]

_PR_SET_PDEATHSIG = 1


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


def signal_group(pid: int, sig: int) -> None:
    """Send ``sig`` to the process group ``pid`` leads (the job's whole tree)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)

"""Which queued jobs start now: first in, first out over CPUs; controllers never wait.

Jobs that use CPUs start in queue order while they fit, and none overtakes the first one that
does not fit (a large job is not starved by a stream of small ones). Jobs queued with 0 CPUs
are controllers (:class:`~dockyard.server.jobs._kinds.JobKind` ``holds_capacity=False``): they only
start child jobs and wait for them, so they start at once, wherever they are in the queue, and
never count against the CPUs. A controller therefore never blocks its own children (which queue
behind it) and never waits behind them: no head-of-line deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

__all__ = ["admit"]

K = TypeVar("K")
_EPSILON = 1e-9


def admit(queued: Sequence[tuple[K, float]], used: float, capacity: float) -> list[K]:
    """The keys of the queued jobs to start now, in queue order.

    Args:
        queued: ``(key, cpus)`` of every queued job, oldest first.
        used: CPUs the running jobs hold.
        capacity: CPUs the executor offers.
    """
    started: list[K] = []
    blocked = False
    for key, cpus in queued:
        if cpus <= 0:
            started.append(key)
        elif not blocked and used + cpus <= capacity + _EPSILON:
            started.append(key)
            used += cpus
        else:
            blocked = True  # first in, first out: nothing overtakes the head of the queue
    return started

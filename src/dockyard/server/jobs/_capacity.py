"""Which queued jobs start now: first in, first out over CPUs and GPUs; controllers never wait.

Jobs that use CPUs start in queue order while they fit (their CPUs and their GPUs), and none
overtakes the first one that does not fit (a large job is not starved by a stream of small
ones). Jobs queued with 0 CPUs are controllers (:class:`~dockyard.server.jobs._kinds.JobKind`
``holds_capacity=False``): they only start child jobs and wait for them, so they start at once,
wherever they are in the queue, and never count against the CPUs. A controller therefore never
blocks its own children (which queue behind it) and never waits behind them: no head-of-line
deadlock. Each executor has a queue of its own: a job waiting for the cluster's GPUs does not
hold back one bound for the local machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Need", "admit"]

K = TypeVar("K")
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Need:
    """CPUs and GPUs: what a job asks for, what running jobs hold, what an executor offers."""

    cpus: float
    gpus: float = 0.0

    def __add__(self, other: Need) -> Need:
        return Need(self.cpus + other.cpus, self.gpus + other.gpus)

    def fits(self, capacity: Need) -> bool:
        """Whether this much is within ``capacity``."""
        return self.cpus <= capacity.cpus + _EPSILON and self.gpus <= capacity.gpus + _EPSILON


def admit(queued: Sequence[tuple[K, Need]], used: Need, capacity: Need) -> list[K]:
    """The keys of the queued jobs to start now, in queue order.

    Args:
        queued: ``(key, need)`` of every queued job of one executor, oldest first.
        used: What that executor's running jobs hold.
        capacity: What that executor offers.
    """
    started: list[K] = []
    blocked = False
    for key, need in queued:
        if need.cpus <= 0:
            started.append(key)
        elif not blocked and (used + need).fits(capacity):
            started.append(key)
            used = used + need
        else:
            blocked = True  # first in, first out: nothing overtakes the head of the queue
    return started

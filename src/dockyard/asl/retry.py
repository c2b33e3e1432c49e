"""Which Retrier or Catcher handles an error, and how long a retry waits.

Matching follows AWS: ``ErrorEquals`` lists names; ``States.ALL`` matches any error and
``States.TaskFailed`` any error except ``States.Timeout`` (and a heartbeat timeout); neither
matches the terminal ``States.DataLimitExceeded``, which only a Retrier or Catcher naming it
takes ("a terminal error that can't be caught by the States.ALL error type") unless the
Task's work reported it (AWS records a Lambda result over the limit as the task's failure,
which States.ALL takes), nor
``States.Runtime``, which nothing takes (it "will always cause the execution to fail").
A Retrier's wait before retry *n* (counted from 0) is::

    min(IntervalSeconds * BackoffRate ** n, MaxDelaySeconds)      defaults 1 s, 2.0, none

and with ``JitterStrategy: FULL`` a uniform draw in [0, that], from the execution's seeded
generator so that advancing the same snapshot twice gives the same timer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from dockyard.asl.effects import MAX_TIMER_SECONDS
from dockyard.asl.errors import ALL, HEARTBEAT_TIMEOUT, RUNTIME, TASK_FAILED, TERMINAL, TIMEOUT

__all__ = ["delay_seconds", "error_matches", "seeded_fraction"]


def error_matches(names: Iterable[str], error: str, *, task: bool = False) -> bool:
    """Whether a Retrier's or Catcher's ``ErrorEquals`` covers ``error``; ``task``: the Task's
    work reported it (an integration's result over the limit is the task's failure, which
    ``States.ALL`` takes, as AWS records it)."""
    if error == RUNTIME:
        return False
    if error in TERMINAL and not task:
        return error in names
    for name in names:
        if name in (error, ALL):
            return True
        if name == TASK_FAILED and error not in (TIMEOUT, HEARTBEAT_TIMEOUT):
            return True
        if name == TIMEOUT and error == HEARTBEAT_TIMEOUT:
            return True
    return False


def seeded_fraction(seed: Any, salt: str) -> float:
    """A deterministic draw in [0, 1) from the execution's seed and a per-use salt."""
    digest = hashlib.sha256(f"{seed}:{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def delay_seconds(retrier: Mapping[str, Any], attempt: int, *, seed: Any, salt: str) -> float:
    """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
    interval = float(retrier.get("IntervalSeconds", 1))
    rate = float(retrier.get("BackoffRate", 2.0))
    try:
        delay = min(interval * rate**attempt, MAX_TIMER_SECONDS)
    except OverflowError:  # a large BackoffRate to a large power: past any timer
        delay = MAX_TIMER_SECONDS
    cap = retrier.get("MaxDelaySeconds")
    if cap is not None:
        delay = min(delay, float(cap))
    if retrier.get("JitterStrategy", "NONE") == "FULL":
        delay *= seeded_fraction(seed, salt)
    return delay

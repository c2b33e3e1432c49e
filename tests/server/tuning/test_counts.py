"""A tuning job's trial counts: each trial counted once, as SageMaker's counters add up."""

from __future__ import annotations

from types import SimpleNamespace

from dockyard.api.tuning import TrialStatus
from dockyard.server.tuning._views import counts


def _trial(status: TrialStatus, attempts: int = 1) -> SimpleNamespace:
    return SimpleNamespace(status=status, attempts=attempts, reason=None)


def test_a_trial_waiting_for_its_next_attempt_is_retrying_and_nothing_else() -> None:
    rows = [
        _trial(TrialStatus.COMPLETED, attempts=2),  # failed once, then completed
        _trial(TrialStatus.PENDING, attempts=2),  # failed once, waits to run again
        _trial(TrialStatus.IN_PROGRESS),
        _trial(TrialStatus.PENDING),
        _trial(TrialStatus.FAILED),
    ]
    found = counts(rows)
    assert (found.completed, found.in_progress, found.retrying, found.failed) == (1, 2, 1, 1)
    assert found.retried == 2  # trials that have needed another attempt, however they stand
    assert found.completed + found.in_progress + found.retrying + found.failed + (
        found.stopped
    ) == len(rows)

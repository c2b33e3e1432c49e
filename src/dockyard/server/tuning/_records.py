"""Trial rows as the strategy sees them (:class:`~dockyard.server.tuning._strategy.TrialRecord`),
and the objective's intermediate values as the rows keep them (JSON, steps as keys)."""

from __future__ import annotations

from typing import Any

import orjson
from optuna.trial import TrialState

from dockyard.api.tuning import STOPPED_EARLY, TrialStatus
from dockyard.server.tuning._strategy import TrialRecord

__all__ = ["dump_steps", "record", "steps_of"]


def steps_of(trial: Any) -> dict[int, float]:
    return {int(k): float(v) for k, v in orjson.loads(trial.intermediate).items()}


def dump_steps(steps: dict[int, float]) -> str:
    return orjson.dumps({str(k): v for k, v in steps.items()}).decode()


def record(trial: Any, steps: dict[int, float] | None = None) -> TrialRecord:
    status = TrialStatus(trial.status)
    intermediate = steps if steps is not None else steps_of(trial)
    state = {
        TrialStatus.PENDING: TrialState.RUNNING,
        TrialStatus.IN_PROGRESS: TrialState.RUNNING,
        TrialStatus.COMPLETED: TrialState.COMPLETE,
        TrialStatus.FAILED: TrialState.FAIL,
        TrialStatus.STOPPED: TrialState.PRUNED
        if trial.reason == STOPPED_EARLY
        else TrialState.FAIL,
    }[status]
    return TrialRecord(
        number=trial.number,
        params=orjson.loads(trial.params),
        state=state,
        value=trial.value,
        intermediate=intermediate,
        system_attrs=orjson.loads(trial.system_attrs),
    )

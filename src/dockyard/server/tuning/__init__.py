"""Hyperparameter tuning: SageMaker's tuning jobs on Optuna, every trial a training job.

Layout::

    _strategy.py    the strategies on Optuna (Random, Grid, Bayesian with TPE or a GP,
                    Hyperband as successive halving; the median rule), rebuilt from the rows
    _repository.py  SQL for tuning jobs and trials
    _views.py       rows as the API returns them: trials, counts, the best trial
    _service.py     the rules: create (checked once), read, stop; who trials run as
    _controller.py  one pass over one tuning job: follow, stop early, retry, end, launch
    _loop.py        the leader-locked loop that makes the passes

The database is the study: each trial is a row written before its job is submitted, under a
name derived from it, so a restart neither repeats nor loses a trial. Events: ``tuning.started``,
``tuning.trial.started`` / ``.completed`` / ``.pruned`` / ``.stopped`` / ``.failed`` /
``.retried``, ``tuning.stop_requested``, ``tuning.completed`` / ``.failed`` / ``.stopped``.

The API's requests and resources are in :mod:`dockyard.api.tuning`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.server.tuning._controller import TuningController
    from dockyard.server.tuning._loop import TuningLoop
    from dockyard.server.tuning._service import TuningService

__all__ = ["TuningController", "TuningLoop", "TuningService"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "TuningController": "._controller",
        "TuningLoop": "._loop",
        "TuningService": "._service",
    },
)

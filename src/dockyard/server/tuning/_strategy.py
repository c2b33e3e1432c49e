"""The search strategies on Optuna, rebuilt from the database on every decision.

Dockyard's tables are the study's storage: each decision (the next trial's hyperparameters, or
whether a running trial stops) builds an in-memory Optuna study from the tuning job's trial
rows (``study.add_trial``), asks it, and keeps nothing. A restarted server, or another one that
takes the lead, decides from the same rows, so no state lives in a process. The sampler's seed
is the job's ``RandomSeed`` mixed with the trial's number, so a seeded job proposes the same
sequence however often the study is rebuilt.

=============  ==========================================  ========================================
strategy       sampler                                     stops trials early
=============  ==========================================  ========================================
Random         ``RandomSampler``                           the median rule when early stopping Auto
Grid           each point of the grid once, shuffled       the median rule when early stopping Auto
Bayesian       ``TPESampler`` (constant liar for parallel  the median rule when early stopping Auto
               trials) or ``GPSampler``
Hyperband      ``RandomSampler``                           asynchronous successive halving over
                                                           the intermediate values' steps
=============  ==========================================  ========================================

Values are mapped to Optuna's distributions and back: ReverseLogarithmic searches ``1 - x`` on
a log scale; hyperparameters reach the job as strings (SageMaker's contract).
"""

from __future__ import annotations

import itertools
import logging
import math
import random
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState, create_trial

from dockyard.api.tuning import (
    BayesianSampler,
    EarlyStopping,
    ObjectiveType,
    ScalingType,
    Strategy,
    TuningConfig,
)

__all__ = ["Proposal", "Searcher", "TrialRecord", "stops_early"]

optuna.logging.set_verbosity(logging.WARNING)

Value = int | float | str
#: The system attribute that ties a study's trial to its row.
_NUMBER = "dockyard.number"


@dataclass(frozen=True)
class TrialRecord:
    """What the study needs of one trial row.

    Attributes:
        params: The hyperparameters as the job gets them, typed.
        state: Optuna's state: RUNNING, COMPLETE, PRUNED or FAIL.
        value: The final objective (COMPLETE); the last intermediate one (PRUNED).
        intermediate: The objective by step, as logged so far.
        system_attrs: What the pruner keeps per trial.
    """

    number: int
    params: dict[str, Value]
    state: TrialState
    value: float | None = None
    intermediate: dict[int, float] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Proposal:
    params: dict[str, Value]


def stops_early(config: TuningConfig) -> bool:
    """Whether the strategy stops trials on their intermediate metrics (Hyperband, or early
    stopping ``Auto``)."""
    return config.strategy is Strategy.HYPERBAND or config.early_stopping is EarlyStopping.AUTO


class Searcher:
    """One tuning job's strategy: proposes trials and decides which running ones stop."""

    def __init__(self, config: TuningConfig, study_name: str) -> None:
        self._config = config
        self._name = study_name
        self._space = _space(config)

    @property
    def stops_early(self) -> bool:
        return stops_early(self._config)

    # -- the study --------------------------------------------------------------------------------

    def _sampler(self, number: int) -> optuna.samplers.BaseSampler:
        config = self._config
        seed = config.random_seed
        mixed = None if seed is None else (seed * 1_000_003 + number) % (2**32)
        if config.strategy is Strategy.BAYESIAN:
            if config.bayesian_sampler is BayesianSampler.GP:
                return optuna.samplers.GPSampler(seed=mixed)
            return optuna.samplers.TPESampler(seed=mixed, constant_liar=True)
        return optuna.samplers.RandomSampler(seed=mixed)

    def _pruner(self) -> optuna.pruners.BasePruner:
        config = self._config
        if config.strategy is Strategy.HYPERBAND:
            return optuna.pruners.SuccessiveHalvingPruner(
                min_resource=config.hyperband.min_resource, reduction_factor=3
            )
        if config.early_stopping is EarlyStopping.AUTO:
            return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
        return optuna.pruners.NopPruner()

    def _study(self, trials: list[TrialRecord], number: int) -> optuna.Study:
        direction = (
            StudyDirection.MAXIMIZE
            if self._config.objective.type is ObjectiveType.MAXIMIZE
            else StudyDirection.MINIMIZE
        )
        study = optuna.create_study(
            study_name=self._name,
            direction=direction,
            sampler=self._sampler(number),
            pruner=self._pruner(),
        )
        frozen = [self._frozen(t) for t in sorted(trials, key=lambda t: t.number)]
        study.add_trials([f for f in frozen if f is not None])
        return study

    def _frozen(self, record: TrialRecord) -> FrozenTrial | None:
        params: dict[str, Any] = {}
        distributions: dict[str, BaseDistribution] = {}
        for name, given in record.params.items():
            distribution = self._space.get(name)
            if distribution is None:
                continue  # a warm-start parent's hyperparameter this job does not tune
            inner = _to_inner(self._config, name, given)
            if inner is None or not distribution._contains(distribution.to_internal_repr(inner)):
                return None  # outside this job's ranges: it says nothing about them
            params[name], distributions[name] = inner, distribution
        if not params:
            return None
        state, value = record.state, record.value
        if state is TrialState.COMPLETE and (value is None or not math.isfinite(value)):
            state, value = TrialState.FAIL, None
        if state is TrialState.PRUNED:
            value = None
        return create_trial(
            state=state,
            value=value,
            params=params,
            distributions=distributions,
            intermediate_values=dict(record.intermediate),
            system_attrs={**record.system_attrs, _NUMBER: record.number},
        )

    # -- decisions --------------------------------------------------------------------------------

    def propose(self, trials: list[TrialRecord], number: int) -> Proposal | None:
        """The hyperparameters of trial ``number``, given every trial so far (running ones
        included, so parallel trials spread out); None when a grid is exhausted."""
        if self._config.strategy is Strategy.GRID:
            return self._next_point(trials)
        # Random points (Random, and Hyperband's) come from the sampler's seed alone: the study
        # of every trial so far, rebuilt on each launch, cost ~14 ms at 200 trials for nothing.
        history = trials if self._config.strategy is Strategy.BAYESIAN else []
        trial = self._study(history, number).ask(self._space)
        return Proposal(
            {name: _to_outer(self._config, name, v) for name, v in trial.params.items()}
        )

    def _next_point(self, trials: list[TrialRecord]) -> Proposal | None:
        """The first point of the grid (in an order shuffled by the seed) no trial has."""
        space = _grid_space(self._config)
        names = sorted(space)
        points = list(itertools.product(*(space[n].choices for n in names)))
        random.Random(self._config.random_seed or 0).shuffle(points)
        # The job's own trials only: a warm-start parent's point is no reason to skip it here.
        taken = {tuple(str(t.params.get(n)) for n in names) for t in trials if t.number >= 0}
        for point in points:
            if tuple(str(v) for v in point) not in taken:
                return Proposal(
                    {n: _to_outer(self._config, n, v) for n, v in zip(names, point, strict=True)}
                )
        return None

    def importance(self, trials: list[TrialRecord]) -> dict[str, float]:
        """How much each hyperparameter explains the completed trials' objective (fANOVA,
        summing to 1); empty before two trials completed or when nothing varies."""
        study = self._study([t for t in trials if t.number >= 0], 0)
        if len(study.get_trials(states=(TrialState.COMPLETE,))) < 2:
            return {}
        from optuna.importance import FanovaImportanceEvaluator, get_param_importances

        try:
            found = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0))
        except (RuntimeError, ValueError):  # one value only of every hyperparameter, and such
            return {}
        return {name: float(value) for name, value in found.items()}

    def should_stop(self, trials: list[TrialRecord], number: int) -> tuple[bool, dict[str, Any]]:
        """Whether running trial ``number`` stops early at its latest step, and the pruner's
        attributes for it afterwards (to save with the trial)."""
        study = self._study(trials, number)
        mine = next((t for t in study.trials if t.system_attrs.get(_NUMBER) == number), None)
        if mine is None or mine.state is not TrialState.RUNNING or not mine.intermediate_values:
            return False, {}
        stop = bool(study.pruner.prune(study, mine))
        after = study._storage.get_trial(mine._trial_id).system_attrs
        return stop, {k: v for k, v in after.items() if k != _NUMBER}


def _space(config: TuningConfig) -> dict[str, BaseDistribution]:
    if config.strategy is Strategy.GRID:
        return dict(_grid_space(config))
    ranges = config.parameter_ranges
    space: dict[str, BaseDistribution] = {}
    for i in ranges.integer:
        space[i.name] = IntDistribution(
            i.min_value, i.max_value, log=i.scaling_type is ScalingType.LOGARITHMIC
        )
    for c in ranges.continuous:
        if c.scaling_type is ScalingType.REVERSE_LOGARITHMIC:
            space[c.name] = FloatDistribution(1 - c.max_value, 1 - c.min_value, log=True)
        else:
            space[c.name] = FloatDistribution(
                c.min_value, c.max_value, log=c.scaling_type is ScalingType.LOGARITHMIC
            )
    for k in ranges.categorical:
        space[k.name] = CategoricalDistribution(list(k.values))
    return space


def _grid_space(config: TuningConfig) -> dict[str, CategoricalDistribution]:
    ranges = config.parameter_ranges
    space: dict[str, CategoricalDistribution] = {}
    for i in ranges.integer:
        space[i.name] = CategoricalDistribution(list(range(i.min_value, i.max_value + 1)))
    for k in ranges.categorical:
        space[k.name] = CategoricalDistribution(list(k.values))
    return space


def _reverse_log(config: TuningConfig, name: str) -> bool:
    return any(
        c.name == name and c.scaling_type is ScalingType.REVERSE_LOGARITHMIC
        for c in config.parameter_ranges.continuous
    )


def _to_inner(config: TuningConfig, name: str, value: Value) -> Value | None:
    """A hyperparameter's value as this job's distribution holds it (None: it cannot)."""
    ranges = config.parameter_ranges
    try:
        if any(k.name == name for k in ranges.categorical):
            return str(value)
        if any(i.name == name for i in ranges.integer):
            number = float(value)
            return int(number) if number.is_integer() else None
        number = float(value)
        return 1 - number if _reverse_log(config, name) else number
    except (TypeError, ValueError):
        return None


def _to_outer(config: TuningConfig, name: str, value: Any) -> Value:
    if isinstance(value, float) and _reverse_log(config, name):
        return 1 - value
    if isinstance(value, (int, float, str)):
        return value
    return str(value)

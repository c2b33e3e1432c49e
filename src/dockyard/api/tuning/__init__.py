"""Tuning jobs as the API accepts and returns them: the spec (SageMaker's
``CreateHyperParameterTuningJob`` spellings or snake_case), tuning jobs and trials."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.api.tuning._entities import (
        STOPPED_EARLY,
        Importance,
        Trial,
        TrialCounts,
        TrialList,
        TrialStatus,
        TuningJob,
        TuningJobList,
        TuningJobStatus,
    )
    from dockyard.api.tuning._spec import (
        MAX_GRID,
        BayesianSampler,
        CategoricalRange,
        CompletionCriteria,
        ContinuousRange,
        EarlyStopping,
        HyperbandConfig,
        IntegerRange,
        Objective,
        ObjectiveType,
        ParameterRanges,
        ResourceLimits,
        ScalingType,
        Strategy,
        TuningConfig,
        TuningJobName,
        TuningJobSpec,
        WarmStart,
        WarmStartType,
        sagemaker_definition,
    )

__all__ = [
    "MAX_GRID",
    "STOPPED_EARLY",
    "BayesianSampler",
    "CategoricalRange",
    "CompletionCriteria",
    "ContinuousRange",
    "EarlyStopping",
    "HyperbandConfig",
    "Importance",
    "IntegerRange",
    "Objective",
    "ObjectiveType",
    "ParameterRanges",
    "ResourceLimits",
    "ScalingType",
    "Strategy",
    "Trial",
    "TrialCounts",
    "TrialList",
    "TrialStatus",
    "TuningConfig",
    "TuningJob",
    "TuningJobList",
    "TuningJobName",
    "TuningJobSpec",
    "TuningJobStatus",
    "WarmStart",
    "WarmStartType",
    "sagemaker_definition",
]
_ENTITIES = {
    "STOPPED_EARLY",
    "Importance",
    "Trial",
    "TrialCounts",
    "TrialList",
    "TrialStatus",
    "TuningJob",
    "TuningJobList",
    "TuningJobStatus",
}
__getattr__, __dir__ = exports(
    __name__, {n: "._entities" if n in _ENTITIES else "._spec" for n in __all__}
)

"""The tuning job spec: SageMaker's ``CreateHyperParameterTuningJob`` body, or the same in
snake_case, validated by one set of frozen models.

Both spellings of every field are accepted (``MaxNumberOfTrainingJobs`` or ``max_jobs``), so a
SageMaker request body, a YAML file and the SDK's arguments land in the same model. The trials'
training job is Dockyard's own :class:`~dockyard.api.jobs.TrainingJobSpec` (with SageMaker's
``StaticHyperParameters`` and ``MetricDefinitions`` accepted as its ``hyperparameters`` and
``metric_definitions``). Limits follow SageMaker's: 30 ranges, 30 values per categorical range,
500 training jobs, 100 in parallel, 5 parent tuning jobs.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from dockyard.api.jobs import ExecutorName, TagKey, TrainingJobSpec

__all__ = [
    "MAX_GRID",
    "BayesianSampler",
    "CategoricalRange",
    "CompletionCriteria",
    "ContinuousRange",
    "EarlyStopping",
    "HyperbandConfig",
    "IntegerRange",
    "Objective",
    "ObjectiveType",
    "ParameterRanges",
    "ResourceLimits",
    "ScalingType",
    "Strategy",
    "TuningConfig",
    "TuningJobName",
    "TuningJobSpec",
    "WarmStart",
    "WarmStartType",
    "sagemaker_definition",
]

#: At most this many combinations in a grid search (SageMaker's limit on grid size).
MAX_GRID = 10_000

TuningJobName = Annotated[
    str, StringConstraints(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$", max_length=32)
]
ParamName = Annotated[str, StringConstraints(min_length=1, max_length=256)]


def _either(*names: str) -> Any:
    return AliasChoices(*names)


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ScalingType(StrEnum):
    """How a numeric range is searched: evenly (Linear), by order of magnitude (Logarithmic),
    or close to 1 (ReverseLogarithmic, for values in [0, 1) such as momentum)."""

    AUTO = "Auto"
    LINEAR = "Linear"
    LOGARITHMIC = "Logarithmic"
    REVERSE_LOGARITHMIC = "ReverseLogarithmic"


class Strategy(StrEnum):
    RANDOM = "Random"
    GRID = "Grid"
    BAYESIAN = "Bayesian"
    HYPERBAND = "Hyperband"


class ObjectiveType(StrEnum):
    MINIMIZE = "Minimize"
    MAXIMIZE = "Maximize"


class EarlyStopping(StrEnum):
    """``Auto``: stop a trial whose intermediate objective is worse than the median of the
    trials before it at the same step."""

    OFF = "Off"
    AUTO = "Auto"


class WarmStartType(StrEnum):
    IDENTICAL_DATA_AND_ALGORITHM = "IdenticalDataAndAlgorithm"
    TRANSFER_LEARNING = "TransferLearning"


class BayesianSampler(StrEnum):
    """The model behind the Bayesian strategy: Optuna's TPE, or a Gaussian process (better on
    a few continuous parameters and small budgets, slower per trial)."""

    TPE = "tpe"
    GP = "gp"


class IntegerRange(_Spec):
    name: ParamName = Field(validation_alias=_either("name", "Name"))
    min_value: int = Field(validation_alias=_either("min_value", "MinValue"))
    max_value: int = Field(validation_alias=_either("max_value", "MaxValue"))
    scaling_type: ScalingType = Field(
        default=ScalingType.AUTO, validation_alias=_either("scaling_type", "ScalingType")
    )

    @model_validator(mode="after")
    def _bounds(self) -> IntegerRange:
        if self.min_value > self.max_value:
            raise ValueError(f"min_value {self.min_value} is above max_value {self.max_value}")
        if self.scaling_type is ScalingType.LOGARITHMIC and self.min_value <= 0:
            raise ValueError("a Logarithmic range needs min_value above 0")
        if self.scaling_type is ScalingType.REVERSE_LOGARITHMIC:
            raise ValueError("ReverseLogarithmic applies to continuous ranges only")
        return self


class ContinuousRange(_Spec):
    name: ParamName = Field(validation_alias=_either("name", "Name"))
    min_value: float = Field(validation_alias=_either("min_value", "MinValue"))
    max_value: float = Field(validation_alias=_either("max_value", "MaxValue"))
    scaling_type: ScalingType = Field(
        default=ScalingType.AUTO, validation_alias=_either("scaling_type", "ScalingType")
    )

    @model_validator(mode="after")
    def _bounds(self) -> ContinuousRange:
        if not (math.isfinite(self.min_value) and math.isfinite(self.max_value)):
            raise ValueError("min_value and max_value must be finite")
        if self.min_value > self.max_value:
            raise ValueError(f"min_value {self.min_value} is above max_value {self.max_value}")
        if self.scaling_type is ScalingType.LOGARITHMIC and self.min_value <= 0:
            raise ValueError("a Logarithmic range needs min_value above 0")
        if self.scaling_type is ScalingType.REVERSE_LOGARITHMIC and not (
            self.min_value >= 0 and self.max_value < 1
        ):
            raise ValueError("a ReverseLogarithmic range lies in [0, 1): 0 <= min, max < 1")
        return self


class CategoricalRange(_Spec):
    name: ParamName = Field(validation_alias=_either("name", "Name"))
    values: list[Annotated[str, StringConstraints(max_length=256)]] = Field(
        min_length=1, max_length=30, validation_alias=_either("values", "Values")
    )

    @model_validator(mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        # SageMaker's values are strings; YAML and SDK callers write numbers and booleans.
        if isinstance(value, dict):
            value = dict(value)
            for key in ("values", "Values"):
                if isinstance(value.get(key), list):
                    value[key] = [
                        ("true" if v else "false")
                        if isinstance(v, bool)
                        else str(v)
                        if isinstance(v, (int, float))
                        else v
                        for v in value[key]
                    ]
        return value

    @model_validator(mode="after")
    def _distinct(self) -> CategoricalRange:
        if len(set(self.values)) != len(self.values):
            raise ValueError("values must be distinct")
        return self


class ParameterRanges(_Spec):
    integer: list[IntegerRange] = Field(
        default_factory=list,
        max_length=30,
        validation_alias=_either("integer", "IntegerParameterRanges"),
    )
    continuous: list[ContinuousRange] = Field(
        default_factory=list,
        max_length=30,
        validation_alias=_either("continuous", "ContinuousParameterRanges"),
    )
    categorical: list[CategoricalRange] = Field(
        default_factory=list,
        max_length=30,
        validation_alias=_either("categorical", "CategoricalParameterRanges"),
    )

    @property
    def names(self) -> list[str]:
        return [
            *(r.name for r in self.integer),
            *(r.name for r in self.continuous),
            *(r.name for r in self.categorical),
        ]

    @model_validator(mode="after")
    def _names(self) -> ParameterRanges:
        names = self.names
        if not names:
            raise ValueError("give at least one range to search")
        if len(names) > 30:
            raise ValueError(f"at most 30 ranges in all (got {len(names)})")
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"a hyperparameter has one range: {', '.join(twice)} has several")
        return self


class Objective(_Spec):
    type: ObjectiveType = Field(validation_alias=_either("type", "Type"))
    metric_name: Annotated[str, StringConstraints(min_length=1, max_length=255)] = Field(
        validation_alias=_either("metric_name", "MetricName")
    )


class ResourceLimits(_Spec):
    max_jobs: int | None = Field(
        default=None, ge=1, le=500, validation_alias=_either("max_jobs", "MaxNumberOfTrainingJobs")
    )
    max_parallel_jobs: int = Field(
        default=1,
        ge=1,
        le=100,
        validation_alias=_either("max_parallel_jobs", "MaxParallelTrainingJobs"),
    )
    max_runtime_s: int | None = Field(
        default=None,
        ge=1,
        le=30 * 86_400,
        validation_alias=_either("max_runtime_s", "MaxRuntimeInSeconds"),
    )


class BestObjectiveNotImproving(_Spec):
    max_jobs_not_improving: int = Field(
        ge=3,
        le=500,
        validation_alias=_either("max_jobs_not_improving", "MaxNumberOfTrainingJobsNotImproving"),
    )


class CompletionCriteria(_Spec):
    target_objective_value: float | None = Field(
        default=None,
        validation_alias=_either("target_objective_value", "TargetObjectiveMetricValue"),
    )
    best_objective_not_improving: BestObjectiveNotImproving | None = Field(
        default=None,
        validation_alias=_either("best_objective_not_improving", "BestObjectiveNotImproving"),
    )


class HyperbandConfig(_Spec):
    """Asynchronous successive halving over a resource (epochs, boosting rounds): trials are
    compared at rungs min_resource * 3^k steps of their intermediate objective, and the worse
    two thirds at each rung stopped. ``resource_parameter``: a hyperparameter set to
    ``max_resource`` in every trial (``num_round`` for the built-in XGBoost)."""

    min_resource: int = Field(
        default=1, ge=1, validation_alias=_either("min_resource", "MinResource")
    )
    max_resource: int | None = Field(
        default=None, ge=1, validation_alias=_either("max_resource", "MaxResource")
    )
    resource_parameter: ParamName | None = Field(
        default=None, validation_alias=_either("resource_parameter", "ResourceParameter")
    )

    @model_validator(mode="after")
    def _order(self) -> HyperbandConfig:
        if self.max_resource is not None and self.max_resource < self.min_resource:
            raise ValueError("max_resource is below min_resource")
        if self.resource_parameter and self.max_resource is None:
            raise ValueError("resource_parameter needs max_resource, the value trials get")
        return self


class TuningConfig(_Spec):
    """SageMaker's ``HyperParameterTuningJobConfig``."""

    strategy: Strategy = Field(
        default=Strategy.BAYESIAN, validation_alias=_either("strategy", "Strategy")
    )
    objective: Objective = Field(
        validation_alias=_either("objective", "HyperParameterTuningJobObjective")
    )
    resource_limits: ResourceLimits = Field(
        default_factory=ResourceLimits,
        validation_alias=_either("resource_limits", "ResourceLimits"),
    )
    parameter_ranges: ParameterRanges = Field(
        validation_alias=_either("parameter_ranges", "ParameterRanges")
    )
    early_stopping: EarlyStopping = Field(
        default=EarlyStopping.OFF,
        validation_alias=_either("early_stopping", "TrainingJobEarlyStoppingType"),
    )
    completion_criteria: CompletionCriteria = Field(
        default_factory=CompletionCriteria,
        validation_alias=_either("completion_criteria", "TuningJobCompletionCriteria"),
    )
    random_seed: int | None = Field(
        default=None, ge=0, le=2**31 - 1, validation_alias=_either("random_seed", "RandomSeed")
    )
    bayesian_sampler: BayesianSampler = Field(
        default=BayesianSampler.TPE, validation_alias=_either("bayesian_sampler", "BayesianSampler")
    )
    hyperband: HyperbandConfig = Field(
        default_factory=HyperbandConfig, validation_alias=_either("hyperband", "StrategyConfig")
    )

    @model_validator(mode="before")
    @classmethod
    def _strategy_config(cls, value: Any) -> Any:
        # SageMaker nests Hyperband's settings: StrategyConfig.HyperbandStrategyConfig.
        if isinstance(value, dict) and isinstance(value.get("StrategyConfig"), dict):
            value = dict(value)
            value["StrategyConfig"] = value["StrategyConfig"].get("HyperbandStrategyConfig", {})
        return value

    @model_validator(mode="after")
    def _coherent(self) -> TuningConfig:
        ranges = self.parameter_ranges
        if self.strategy is Strategy.GRID:
            if ranges.continuous:
                raise ValueError(
                    "the Grid strategy searches categorical and integer ranges only "
                    f"(continuous: {', '.join(r.name for r in ranges.continuous)})"
                )
            if self.grid_size() > MAX_GRID:
                raise ValueError(f"the grid has {self.grid_size()} points; at most {MAX_GRID}")
            if self.resource_limits.max_jobs is not None:
                raise ValueError(
                    "the Grid strategy runs every point of the grid once: leave out "
                    "resource_limits.max_jobs (MaxNumberOfTrainingJobs)"
                )
        elif self.resource_limits.max_jobs is None:
            raise ValueError(
                f"resource_limits.max_jobs (MaxNumberOfTrainingJobs) is needed by the "
                f"{self.strategy.value} strategy"
            )
        if self.strategy is Strategy.HYPERBAND and self.early_stopping is EarlyStopping.AUTO:
            raise ValueError(
                "Hyperband stops trials itself: early_stopping (TrainingJobEarlyStoppingType) "
                "must be Off"
            )
        return self

    def grid_size(self) -> int:
        size = 1
        for r in self.parameter_ranges.categorical:
            size *= len(r.values)
        for i in self.parameter_ranges.integer:
            size *= i.max_value - i.min_value + 1
        return size

    @property
    def max_jobs(self) -> int:
        """How many trials the job runs at most (the grid's size for Grid)."""
        limit = self.resource_limits.max_jobs
        return limit if limit is not None else self.grid_size()


class ParentJob(_Spec):
    name: TuningJobName = Field(validation_alias=_either("name", "HyperParameterTuningJobName"))


class WarmStart(_Spec):
    """Trials of up to 5 earlier tuning jobs seed this one's strategy: with identical data and
    algorithm, as they are; with transfer learning, on the ranges both jobs share."""

    parents: list[ParentJob] = Field(
        min_length=1,
        max_length=5,
        validation_alias=_either("parents", "ParentHyperParameterTuningJobs"),
    )
    type: WarmStartType = Field(validation_alias=_either("type", "WarmStartType"))

    @model_validator(mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, dict):
            value = dict(value)
            for key in ("parents", "ParentHyperParameterTuningJobs"):
                if isinstance(value.get(key), list):
                    value[key] = [{"name": p} if isinstance(p, str) else p for p in value[key]]
        return value


#: The parts of a training job definition only SageMaker's CreateTrainingJob shape has: a
#: definition naming one of them (or ``AlgorithmSpecification.TrainingImage``) is read as
#: SageMaker reads it, by the server's SageMaker adapter, whichever route it came by.
_SAGEMAKER_ONLY = (
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "HyperParameterTuningResourceConfig",
    "StoppingCondition",
    "RoleArn",
    "CheckpointConfig",
    "RetryStrategy",
    "Environment",
)


def sagemaker_definition(body: Any) -> bool:
    """Whether a tuning job body's training job definition is SageMaker's CreateTrainingJob
    shape (an image, ``InputDataConfig``...) rather than Dockyard's training job spec."""
    if not isinstance(body, dict):
        return False
    definition = body.get("TrainingJobDefinition", body.get("training_job"))
    if not isinstance(definition, dict):
        return isinstance(body.get("TrainingJobDefinitions"), list)
    algorithm = definition.get("AlgorithmSpecification")
    if isinstance(algorithm, dict) and (
        "TrainingImage" in algorithm or "AlgorithmName" in algorithm
    ):
        return True
    return any(key in definition for key in _SAGEMAKER_ONLY)


def _training_aliases(value: Any) -> Any:
    """SageMaker's names for a training job definition's parts, as Dockyard's spec calls them."""
    if not isinstance(value, dict):
        return value
    value = dict(value)
    for theirs, ours in (
        ("StaticHyperParameters", "hyperparameters"),
        ("MetricDefinitions", "metric_definitions"),
    ):
        if theirs in value:
            value[ours] = value.pop(theirs)
    algorithm = value.pop("AlgorithmSpecification", None)
    if isinstance(algorithm, dict) and "MetricDefinitions" in algorithm:
        value["metric_definitions"] = algorithm["MetricDefinitions"]
    return value


class TuningJobSpec(_Spec):
    """A tuning job: how to search, and the training job each trial runs with its
    hyperparameters (the spec's static ones plus the trial's)."""

    name: TuningJobName | None = Field(
        default=None, validation_alias=_either("name", "HyperParameterTuningJobName")
    )
    config: TuningConfig = Field(
        validation_alias=_either("config", "HyperParameterTuningJobConfig")
    )
    training_job: TrainingJobSpec = Field(
        validation_alias=_either("training_job", "TrainingJobDefinition")
    )
    warm_start: WarmStart | None = Field(
        default=None, validation_alias=_either("warm_start", "WarmStartConfig")
    )
    experiment: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    tags: dict[TagKey, Annotated[str, StringConstraints(max_length=256)]] = Field(
        default_factory=dict, max_length=50
    )
    #: The executor the trials run on (None: ``training_job.executor``, else the server's
    #: default); written into ``training_job``, so each trial's spec says it.
    executor: ExecutorName | None = None

    @model_validator(mode="before")
    @classmethod
    def _definition(cls, value: Any) -> Any:
        if isinstance(value, dict):
            value = dict(value)
            for key in ("training_job", "TrainingJobDefinition"):
                if key in value:
                    value[key] = _training_aliases(value[key])
            if isinstance(value.get("Tags"), list):  # SageMaker's [{"Key", "Value"}]
                value["tags"] = {t.get("Key"): t.get("Value") for t in value.pop("Tags")}
        return value

    @model_validator(mode="after")
    def _trials_executor(self) -> TuningJobSpec:
        chosen, trials = self.executor, self.training_job.executor
        if chosen is None or chosen == trials:
            return self
        if trials is not None:
            raise ValueError(
                f"executor is {chosen!r} but training_job.executor is {trials!r}: name the "
                "trials' executor once"
            )
        definition = self.training_job.model_copy(update={"executor": chosen})
        return self.model_copy(update={"training_job": definition})

    @model_validator(mode="after")
    def _no_clash(self) -> TuningJobSpec:
        static = set(self.training_job.hyperparameters)
        tuned = sorted(static & set(self.config.parameter_ranges.names))
        if tuned:
            raise ValueError(
                f"training_job.hyperparameters fixes {', '.join(tuned)}, which a range also "
                "tunes: give each hyperparameter a static value or a range, not both"
            )
        resource = self.config.hyperband.resource_parameter
        if resource and resource in self.config.parameter_ranges.names:
            raise ValueError(f"the Hyperband resource {resource!r} may not also be tuned")
        if self.training_job.name is not None:
            raise ValueError(
                "training_job.name: trials are named after the tuning job; leave it out"
            )
        return self

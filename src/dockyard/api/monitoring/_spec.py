"""A monitoring schedule's spec: what is watched, against which baseline, how often, with which
thresholds; validated once, by one set of frozen models, for a JSON body, a YAML file and the
SDK's keyword arguments alike.

Shape (every section but ``name``, ``target`` and ``baseline`` has defaults)::

    name: churn-drift
    target: {endpoint: churn, variant: blue}          # or {transform_job: score-0412, side: input}
    baseline: {uri: s3://lake/baselines/churn/}       # statistics.json + constraints.json there
    #   or  {suggest_from: {dataset_uri: s3://lake/train.csv}}       a baseline job runs first
    #   or  {suggest_from: {training_job: train-0412, channel: train}}
    #   or  {suggest_from: {run_id: 3f.., dataset: training}}        a run's logged input
    schedule: hourly                                  # each completed hour, or a cron expression
    data: {columns: [a, b, c], capture_side: input}   # how captured bodies become rows
    check: {drift_metric: psi, thresholds: {psi: 0.2}}
    model_quality:                                    # optional: needs ground truth
      problem_type: binary
      ground_truth_delay_hours: 2                     # check each hour 2 hours after it ends
      thresholds: {accuracy: {min: 0.8}, rmse: {max: 3}}
    experiment: monitoring                            # where model-quality metrics are logged
    executor: ray                                     # which of the server's executors runs
                                                      # its jobs (default: the server's)
    reports_uri: s3://lake/monitoring/                # where executions write their reports
                                                      # (default: the artifact store's)
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from dockyard.api.jobs import ExecutorName

__all__ = [
    "HOURLY",
    "BaselineSource",
    "CheckConfig",
    "DataConfig",
    "ModelQualityConfig",
    "MonitoringScheduleSpec",
    "MonitoringTarget",
    "ProblemType",
    "ScheduleName",
    "SuggestFrom",
    "Threshold",
    "UpdateMonitoringSchedule",
    "check_schedule",
]

#: ``schedule: hourly``: one check per completed hour of capture.
HOURLY = "hourly"

ScheduleName = Annotated[
    str, StringConstraints(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", max_length=63)
]
_Uri = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
_Name = Annotated[str, StringConstraints(min_length=1, max_length=256)]
# Five cron fields or a macro; the server parses it fully (each field's range) at create.
_CRON = re.compile(r"^(@[a-z]+|(\S+\s+){4}\S+)$")
_MACROS = ("@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually")


def check_schedule(value: str) -> str:
    """``hourly``, a cron macro or five cron fields (the server checks each field's range)."""
    text = value.strip()
    if text != HOURLY and not _CRON.match(text):
        raise ValueError(
            f"{text[:60]!r}: 'hourly' (each completed hour of capture) or a cron expression "
            "of 5 fields (minute hour day-of-month month day-of-week)"
        )
    if text.startswith("@") and text not in _MACROS:
        raise ValueError(f"{text!r}: known macros are {', '.join(_MACROS)}")
    return text


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MonitoringTarget(_Spec):
    """What is watched: an endpoint's captured traffic (all variants, or one), or a batch
    transform job's input or output files."""

    endpoint: _Name | None = None
    variant: _Name | None = None
    transform_job: _Name | None = None
    #: For a transform job: which files are checked (its input, or its output records).
    side: Literal["input", "output"] = "input"

    @model_validator(mode="after")
    def _one_target(self) -> MonitoringTarget:
        if (self.endpoint is None) == (self.transform_job is None):
            raise ValueError("name exactly one of endpoint or transform_job")
        if self.variant is not None and self.endpoint is None:
            raise ValueError("variant applies to an endpoint target only")
        return self


class SuggestFrom(_Spec):
    """Where a suggested baseline's data is: a dataset URI, a training job's input channel, or
    a run's logged input (by its dataset name)."""

    dataset_uri: _Uri | None = None
    training_job: _Name | None = None
    channel: _Name = "train"
    run_id: _Name | None = None
    dataset: _Name | None = None
    format: Literal["csv", "jsonl", "parquet"] | None = None
    header: bool | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SuggestFrom:
        given = [n for n in ("dataset_uri", "training_job", "run_id") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError("name exactly one of dataset_uri, training_job or run_id")
        if self.dataset is not None and self.run_id is None:
            raise ValueError("dataset names a run's logged input: give run_id too")
        return self


class BaselineSource(_Spec):
    """A baseline: a folder (local or ``s3://``) holding ``statistics.json`` and
    ``constraints.json`` in SageMaker's formats, or where to suggest one from."""

    uri: _Uri | None = None
    suggest_from: SuggestFrom | None = None

    @model_validator(mode="after")
    def _one(self) -> BaselineSource:
        if (self.uri is None) == (self.suggest_from is None):
            raise ValueError("give either uri or suggest_from")
        return self


class DataConfig(_Spec):
    """How captured or transformed records become rows (see the core's ``Dataset``)."""

    #: Column names for headerless CSV bodies and bare arrays (default ``_c0``.. ``_cN``).
    columns: tuple[_Name, ...] | None = Field(default=None, max_length=10_000)
    #: Which half of each captured exchange is checked: the requests (features), the
    #: responses (predictions), or both.
    capture_side: Literal["input", "output", "both"] = "input"
    header: bool | None = None
    format: Literal["csv", "jsonl", "parquet"] | None = None


class CheckConfig(_Spec):
    """Data-quality and drift options, passed to the core's ``CheckOptions``: the metric that
    decides ``baseline_drift_check`` (``distance``, SageMaker's, by default; ``psi``, ``js``,
    ``ks``, ``wasserstein``, ``chi_square``) and thresholds by metric over its documented
    defaults. ``distance``'s default is the baseline's ``comparison_threshold`` (0.1, as
    SageMaker suggests it), which is edited in ``constraints.json``."""

    drift_metric: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    thresholds: dict[Annotated[str, StringConstraints(max_length=64)], float] = Field(
        default_factory=dict, max_length=50
    )

    def options(self) -> dict[str, Any]:
        """The keyword arguments of the core's ``CheckOptions`` that this config sets."""
        found: dict[str, Any] = {}
        if self.drift_metric is not None:
            found["drift_metric"] = self.drift_metric
        if self.thresholds:
            found["thresholds"] = dict(self.thresholds)
        return found


class ProblemType(StrEnum):
    REGRESSION = "regression"
    BINARY = "binary"
    MULTICLASS = "multiclass"


class Threshold(_Spec):
    """Bounds of one model-quality metric: a value below ``min`` or above ``max`` is a
    violation."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _some(self) -> Threshold:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is above max")
        return self


class ModelQualityConfig(_Spec):
    """Model quality: captured predictions joined with uploaded ground truth by inference id.

    ``prediction_field`` picks the prediction out of a JSON answer that holds objects (``{"
    predictions": [{"label": 1, "score": 0.9}]}``: ``label``); ``probability_field`` likewise
    for the positive class's probability (binary AUC). Bare numbers need neither.
    """

    problem_type: ProblemType
    #: How long after a window labels are expected: its check waits this many hours more, so
    #: the labels of its traffic are joined (SageMaker's end-time offset). Later labels need a
    #: manual run of the window.
    ground_truth_delay_hours: int = Field(default=0, ge=0, le=168)
    prediction_field: _Name | None = None
    probability_field: _Name | None = None
    thresholds: dict[Annotated[str, StringConstraints(max_length=64)], Threshold] = Field(
        default_factory=dict, max_length=50
    )


class MonitoringScheduleSpec(_Spec):
    """A monitoring schedule (see the module docstring for the whole shape)."""

    name: ScheduleName
    target: MonitoringTarget
    baseline: BaselineSource
    schedule: Annotated[str, StringConstraints(min_length=1, max_length=200)] = HOURLY
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "UTC"
    data: DataConfig = DataConfig()
    check: CheckConfig = CheckConfig()
    model_quality: ModelQualityConfig | None = None
    experiment: _Name | None = None
    executor: ExecutorName | None = None
    reports_uri: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = Field(
        default=None,
        description="where executions write their reports, each under "
        "<reports_uri>/<schedule>/<execution id>/ (an S3 prefix or a folder a job may write "
        "to); default: the artifact store's monitoring/ folder",
    )
    enabled: bool = True
    tags: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=250)],
        Annotated[str, StringConstraints(max_length=5000)],
    ] = Field(default_factory=dict, max_length=50)

    @field_validator("schedule")
    @classmethod
    def _schedule_shape(cls, value: str) -> str:
        return check_schedule(value)

    @property
    def is_hourly(self) -> bool:
        return self.schedule.strip() == HOURLY


class UpdateMonitoringSchedule(_Spec):
    """What an update may change; fields left out keep their values (``executor`` given as
    null goes back to the server's default)."""

    schedule: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    baseline: BaselineSource | None = None
    data: DataConfig | None = None
    check: CheckConfig | None = None
    model_quality: ModelQualityConfig | None = None
    executor: ExecutorName | None = None
    reports_uri: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = None
    enabled: bool | None = None

    @field_validator("schedule")
    @classmethod
    def _schedule_shape(cls, value: str | None) -> str | None:
        return None if value is None else check_schedule(value)

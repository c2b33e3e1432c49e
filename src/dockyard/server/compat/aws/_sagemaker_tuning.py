"""Hyperparameter tuning jobs: Create / Describe / List / Stop and
ListTrainingJobsForHyperParameterTuningJob, over :mod:`dockyard.server.tuning`.

A HyperParameterTuningJobName is the Dockyard tuning job's. ``HyperParameterTuningJobConfig``
is Dockyard's tuning config in SageMaker's spelling (Strategy, ResourceLimits, the objective,
ParameterRanges, TrainingJobEarlyStoppingType, RandomSeed, StrategyConfig,
TuningJobCompletionCriteria), validated as it is; ``TrainingJobDefinition`` is read as a
CreateTrainingJob body would be (the built-in images, or a framework image in script mode),
with ``StaticHyperParameters`` as its hyperparameters; ``WarmStartConfig`` names parent tuning
jobs. A multi-algorithm ``TrainingJobDefinitions`` list is refused unless it has one entry.

Each trial is a Dockyard training job named ``<tuning job>-<NNN>`` (``-r1`` for its retry),
which DescribeTrainingJob answers for like any other, so ``best_estimator()`` attaches to it.
"""

from __future__ import annotations

import re
from typing import Any

from dockyard.api.jobs import TrainingJobSpec
from dockyard.api.tuning import Trial, TrialStatus, TuningJob, TuningJobSpec
from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._errors import AwsError
from dockyard.server.compat.aws._fields import optional, required, seconds
from dockyard.server.compat.aws._sagemaker_hyperparameters import as_sent
from dockyard.server.compat.aws._sagemaker_shapes import (
    Body,
    aws_fields,
    drop_none,
    job_status,
    page_token,
    sagemaker_arn,
    tag_list,
)
from dockyard.server.compat.aws._sagemaker_training import (
    TRAINING_FIELDS,
    definition_fields,
    training_spec,
)

__all__ = ["ACTIONS", "native_tuning_spec"]

#: SageMaker's own hyperparameter naming a tuning job's objective; it answers it back among
#: the static hyperparameters (the SDK's ``HyperparameterTuner.attach`` removes it).
OBJECTIVE_HP = "_tuning_objective_metric"
_FIELDS = {
    "name": "HyperParameterTuningJobName",
    "config": "HyperParameterTuningJobConfig",
    "training_job": "TrainingJobDefinition",
    "warm_start": "WarmStartConfig",
    "tags": "Tags",
}
#: Dockyard's names inside a training job definition, as SageMaker's: a training job's, but
#: for its fixed hyperparameters' (a definition has no name or tags of its own).
_DEFINITION_FIELDS = {
    **{k: v for k, v in TRAINING_FIELDS.items() if k not in ("name", "tags")},
    "hyperparameters": "StaticHyperParameters",
}
_CONFIG_FIELDS = {
    "strategy": "Strategy",
    "objective": "HyperParameterTuningJobObjective",
    "resource_limits": "ResourceLimits",
    "parameter_ranges": "ParameterRanges",
    "early_stopping": "TrainingJobEarlyStoppingType",
    "completion_criteria": "TuningJobCompletionCriteria",
    "random_seed": "RandomSeed",
    "hyperband": "StrategyConfig",
}
_TRIAL_SORT = ("Name", "CreationTime", "Status", "FinalObjectiveMetricValue")
_JOB_SORT = ("Name", "CreationTime", "Status")
_ORDERS = ("Ascending", "Descending")


def _missing(name: str) -> AwsError:
    return AwsError(
        "ResourceNotFound", f"Amazon SageMaker can't find a tuning job with name {name}"
    )


def _tuning(services: Services, actor: Actor, name: str) -> TuningJob:
    try:
        return services.tuning.get(actor, name)
    except NotFound:
        raise _missing(name) from None


# -- create -----------------------------------------------------------------------------------


def _definition(body: Body) -> Body:
    one = optional(body, "TrainingJobDefinition", dict)
    many = optional(body, "TrainingJobDefinitions", list)
    if one is None and many is not None:
        if len(many) != 1 or not isinstance(many[0], dict):
            raise InvalidArgument(
                "TrainingJobDefinitions: Dockyard tunes one training job definition per "
                "tuning job (give TrainingJobDefinition)",
                field="TrainingJobDefinitions",
            )
        one = many[0]
    if one is None:
        raise InvalidArgument(
            "1 validation error detected: TrainingJobDefinition must not be null",
            field="TrainingJobDefinition",
        )
    return dict(one)


def _trial_spec(definition: Body) -> TrainingJobSpec:
    """The training job each trial runs, read as CreateTrainingJob reads its body."""
    theirs = sorted(k for k in definition if not k[:1].isupper())
    if theirs:  # Dockyard's spelling mixed into SageMaker's shape would be silently lost
        raise InvalidArgument(
            f"TrainingJobDefinition.{theirs[0]}: this definition has SageMaker's shape "
            "(AlgorithmSpecification.TrainingImage, InputDataConfig...), so give SageMaker's "
            "fields (InputDataConfig, ResourceConfig, StaticHyperParameters...), or Dockyard's "
            "training job spec (entry_point, inputs...) without them",
            field=f"TrainingJobDefinition.{theirs[0]}",
        )
    static = optional(definition, "StaticHyperParameters", dict, {})
    resources = definition.get("ResourceConfig") or definition.get(
        "HyperParameterTuningResourceConfig"
    )
    request = {
        **{
            k: v
            for k, v in definition.items()
            if k
            in (
                "AlgorithmSpecification",
                "RoleArn",
                "InputDataConfig",
                "OutputDataConfig",
                "StoppingCondition",
                "RetryStrategy",
                "CheckpointConfig",
                "Environment",
            )
        },
        "TrainingJobName": "trial",
        "HyperParameters": {k: v for k, v in static.items() if k != OBJECTIVE_HP},
        "ResourceConfig": resources,
    }
    try:
        spec = training_spec(request)
    except InvalidArgument as exc:
        head, dot, rest = (exc.field or "").partition(".")
        field = f"TrainingJobDefinition.{_DEFINITION_FIELDS.get(head, head)}{dot}{rest}"
        message = exc.message.replace("HyperParameters", "StaticHyperParameters")
        message = message.replace("TrainingJobName: ", "")
        if not message.startswith("TrainingJobDefinition"):
            message = f"TrainingJobDefinition.{message}"
        raise InvalidArgument(message, field=field.rstrip(".")) from None
    return spec.model_copy(update={"name": None})


def native_tuning_spec(body: Body) -> TuningJobSpec:
    """A body for Dockyard's own route (``POST /api/v1/tuning-jobs``, ``dockyard tuning
    submit``) whose training job definition has SageMaker's shape: the definition read as
    CreateHyperParameterTuningJob reads it, the rest as Dockyard's spec (either spelling)."""
    keys = ("TrainingJobDefinition", "TrainingJobDefinitions", "training_job")
    rest = {k: v for k, v in body.items() if k not in keys}
    native = body.get("training_job")
    definition = dict(native) if isinstance(native, dict) else _definition(body)
    trial = _trial_spec(definition)
    try:
        return TuningJobSpec.model_validate({**rest, "training_job": trial})
    except (DockyardError, ValueError) as exc:
        return _renamed(exc)  # type: ignore[no-any-return]


def create_tuning_job(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "HyperParameterTuningJobName")
    config = required(body, "HyperParameterTuningJobConfig", dict)
    trial = _trial_spec(_definition(body))
    request: Body = {
        "name": name,
        "config": config,
        "training_job": trial,
        "tags": tag_list(body.get("Tags")),
    }
    warm = optional(body, "WarmStartConfig", dict)
    if warm is not None:
        request["warm_start"] = warm
    try:
        spec = TuningJobSpec.model_validate(request)
        services.tuning.create(actor, spec)
    except (DockyardError, ValueError) as exc:
        _renamed(exc)
    return {"HyperParameterTuningJobArn": sagemaker_arn("hyper-parameter-tuning-job", name)}


def _renamed(exc: Exception) -> Any:
    """Dockyard's field names as the request's: ``config.resource_limits.max_jobs`` is
    ``HyperParameterTuningJobConfig.ResourceLimits.max_jobs``."""
    try:
        aws_fields(exc, _FIELDS)
    except InvalidArgument as renamed:
        field = renamed.field or ""
        prefix = "TrainingJobDefinition."
        if field.startswith(prefix):  # a trial's spec refused when the job is made
            head, dot, rest = field.removeprefix(prefix).partition(".")
            if head in _DEFINITION_FIELDS:
                new = f"{prefix}{_DEFINITION_FIELDS[head]}{dot}{rest}"
                raise InvalidArgument(renamed.message.replace(field, new), field=new) from None
        prefix = "HyperParameterTuningJobConfig."
        if field.startswith(prefix):
            head, dot, rest = field.removeprefix(prefix).partition(".")
            new = f"{prefix}{_CONFIG_FIELDS.get(head, head)}{dot}{rest}"
            raise InvalidArgument(renamed.message.replace(field, new), field=new) from None
        parent = re.fullmatch(r"WarmStartConfig\.parents\.(\d+)\.name", field)
        if parent is not None:
            new = f"WarmStartConfig.ParentHyperParameterTuningJobs[{parent.group(1)}]"
            raise InvalidArgument(renamed.message.replace(field, new), field=new) from None
        raise


# -- describe ---------------------------------------------------------------------------------


def _number(value: float | int) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _ranges(ranges: Body) -> Body:
    return {
        "IntegerParameterRanges": [
            {
                "Name": r["name"],
                "MinValue": str(r["min_value"]),
                "MaxValue": str(r["max_value"]),
                "ScalingType": r["scaling_type"],
            }
            for r in ranges.get("integer", [])
        ],
        "ContinuousParameterRanges": [
            {
                "Name": r["name"],
                "MinValue": _number(r["min_value"]),
                "MaxValue": _number(r["max_value"]),
                "ScalingType": r["scaling_type"],
            }
            for r in ranges.get("continuous", [])
        ],
        "CategoricalParameterRanges": [
            {"Name": r["name"], "Values": list(r["values"])} for r in ranges.get("categorical", [])
        ],
    }


def _config(config: Body) -> Body:
    limits = config["resource_limits"]
    objective = config["objective"]
    max_jobs = limits.get("max_jobs")
    return drop_none(
        {
            "Strategy": config["strategy"],
            "HyperParameterTuningJobObjective": {
                "Type": objective["type"],
                "MetricName": objective["metric_name"],
            },
            "ResourceLimits": drop_none(
                {
                    "MaxNumberOfTrainingJobs": max_jobs,
                    "MaxParallelTrainingJobs": limits["max_parallel_jobs"],
                    "MaxRuntimeInSeconds": limits.get("max_runtime_s"),
                }
            ),
            "ParameterRanges": _ranges(config["parameter_ranges"]),
            "TrainingJobEarlyStoppingType": config["early_stopping"],
            "RandomSeed": config.get("random_seed"),
        }
    )


def _definition_of(job: TuningJob) -> Body:
    """The TrainingJobDefinition back from the trials' training spec."""
    spec = job.spec["training_job"]
    static = as_sent(spec)  # script mode's sagemaker_* and JSON-encoded values, as sent
    static[OBJECTIVE_HP] = job.spec["config"]["objective"]["metric_name"]
    return drop_none(
        {
            "StaticHyperParameters": static,
            **definition_fields(spec),
        }
    )


def _counters(job: TuningJob) -> tuple[Body, Body]:
    counts = job.counts
    training = {
        "Completed": counts.completed,
        "InProgress": counts.in_progress,
        # Each trial counts once: a retried one under how it stands now, one waiting for its
        # next attempt as RetryableError.
        "RetryableError": counts.retrying,
        "NonRetryableError": counts.failed,
        "Stopped": counts.stopped,
    }
    objective = {
        "Succeeded": counts.completed,
        "Pending": counts.in_progress + counts.retrying,
        "Failed": counts.failed + counts.stopped,
    }
    return training, objective


def _trial_status(trial: Trial) -> str:
    return job_status(
        "InProgress" if trial.status is TrialStatus.PENDING else str(trial.status.value)
    )


def _objective_status(trial: Trial) -> str:
    if trial.status is TrialStatus.COMPLETED and trial.objective is not None:
        return "Succeeded"
    return "Pending" if not trial.status.is_terminal else "Failed"


def _trial_summary(services: Services, actor: Actor, job: TuningJob, trial: Trial) -> Body:
    objective = job.spec["config"]["objective"]
    start = end = None
    try:
        found = services.jobs.get(actor, trial.job)
    except NotFound:
        found = None
    if found is not None:
        start = found.start_time
        end = found.end_time if found.status.is_terminal else None
    return drop_none(
        {
            "TrainingJobName": trial.job,
            "TrainingJobArn": sagemaker_arn("training-job", trial.job),
            "TuningJobName": job.name,
            "CreationTime": seconds(trial.created_time),
            "TrainingStartTime": seconds(start),
            "TrainingEndTime": seconds(end or trial.end_time),
            "TrainingJobStatus": _trial_status(trial),
            "TunedHyperParameters": {
                k: v if isinstance(v, str) else _number(v) for k, v in trial.hyperparameters.items()
            },
            "FailureReason": trial.reason if trial.status is not TrialStatus.COMPLETED else None,
            "FinalHyperParameterTuningJobObjectiveMetric": (
                {
                    "Type": objective["type"],
                    "MetricName": objective["metric_name"],
                    "Value": trial.objective,
                }
                if trial.objective is not None
                else None
            ),
            "ObjectiveStatus": _objective_status(trial),
        }
    )


def _last_modified(job: TuningJob) -> int:
    return job.end_time or job.created_time


def describe_tuning_job(services: Services, actor: Actor, body: Body) -> Body:
    job = _tuning(services, actor, required(body, "HyperParameterTuningJobName"))
    training, objective = _counters(job)
    warm = job.spec.get("warm_start")
    answer: Body = {
        "HyperParameterTuningJobName": job.name,
        "HyperParameterTuningJobArn": sagemaker_arn("hyper-parameter-tuning-job", job.name),
        "HyperParameterTuningJobConfig": _config(job.spec["config"]),
        "TrainingJobDefinition": _definition_of(job),
        "HyperParameterTuningJobStatus": str(job.status.value),
        "CreationTime": seconds(job.created_time),
        "HyperParameterTuningEndTime": seconds(job.end_time),
        "LastModifiedTime": seconds(_last_modified(job)),
        "TrainingJobStatusCounters": training,
        "ObjectiveStatusCounters": objective,
        "FailureReason": job.failure_reason,
        "WarmStartConfig": (
            {
                "ParentHyperParameterTuningJobs": [
                    {"HyperParameterTuningJobName": p["name"]} for p in warm["parents"]
                ],
                "WarmStartType": warm["type"],
            }
            if warm
            else None
        ),
    }
    if job.best_trial is not None:
        answer["BestTrainingJob"] = _trial_summary(services, actor, job, job.best_trial)
    return drop_none(answer)


# -- list -------------------------------------------------------------------------------------


def _limit(body: Body) -> int:
    limit = optional(body, "MaxResults", int, 100)
    if not 1 <= limit <= 100:
        raise InvalidArgument("MaxResults must be between 1 and 100", field="MaxResults")
    return int(limit)


def _choice(body: Body, field: str, choices: tuple[str, ...], default: str) -> str:
    value = optional(body, field, str, default)
    if value not in choices:
        raise InvalidArgument(f"{field} must be one of {', '.join(choices)}", field=field)
    return str(value)


def _submitted(services: Services, actor: Actor, job: str) -> bool:
    try:
        services.jobs.get(actor, job)
    except NotFound:
        return False
    return True


def list_training_jobs_for_tuning_job(services: Services, actor: Actor, body: Body) -> Body:
    """A tuning job's trials; by Name ascending unless SortBy and SortOrder say otherwise.
    Sorting by FinalObjectiveMetricValue leaves out trials without one, as SageMaker does."""
    job = _tuning(services, actor, required(body, "HyperParameterTuningJobName"))
    limit = _limit(body)
    sort = _choice(body, "SortBy", _TRIAL_SORT, "Name")
    descending = _choice(body, "SortOrder", _ORDERS, "Ascending") == "Descending"
    status = optional(body, "StatusEquals")
    offset = page_token(body.get("NextToken"))
    # A trial recorded but whose job is not submitted yet is left out: DescribeTrainingJob
    # could not answer for the name it would list.
    trials = [
        t
        for t in services.tuning.trials(actor, job.name)
        if t.status is not TrialStatus.PENDING or _submitted(services, actor, t.job)
    ]
    if status is not None:
        trials = [t for t in trials if _trial_status(t) == status]
    if sort == "FinalObjectiveMetricValue":
        trials = [t for t in trials if t.objective is not None]
    key: dict[str, Any] = {
        "Name": lambda t: t.job,
        "CreationTime": lambda t: (t.created_time, t.number),
        "Status": lambda t: (_trial_status(t), t.job),
        "FinalObjectiveMetricValue": lambda t: (t.objective, t.number),
    }
    trials.sort(key=key[sort], reverse=descending)
    page = trials[offset : offset + limit]
    answer: Body = {"TrainingJobSummaries": [_trial_summary(services, actor, job, t) for t in page]}
    if offset + limit < len(trials):
        answer["NextToken"] = str(offset + limit)
    return answer


def _all_tuning_jobs(services: Services, actor: Actor) -> list[TuningJob]:
    found: list[TuningJob] = []
    token: str | None = None
    while True:
        page = services.tuning.page(actor, max_results=1000, page_token=token)
        found.extend(page.items)
        token = page.next_page_token
        if token is None:
            return found


def _time(body: Body, field: str) -> float | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, (int, float)):
        raise InvalidArgument(f"{field} must be a time", field=field)
    return float(value)


def list_tuning_jobs(services: Services, actor: Actor, body: Body) -> Body:
    limit = _limit(body)
    sort = _choice(body, "SortBy", _JOB_SORT, "Name")
    descending = _choice(body, "SortOrder", _ORDERS, "Ascending") == "Descending"
    contains = (optional(body, "NameContains") or "").lower()
    status = optional(body, "StatusEquals")
    offset = page_token(body.get("NextToken"))
    bounds = {f: _time(body, f) for f in ("CreationTimeAfter", "CreationTimeBefore")}
    chosen = []
    for job in _all_tuning_jobs(services, actor):
        created = job.created_time / 1000
        if contains not in job.name.lower() or (status and str(job.status.value) != status):
            continue
        after, before = bounds["CreationTimeAfter"], bounds["CreationTimeBefore"]
        if (after is not None and created <= after) or (before is not None and created >= before):
            continue
        chosen.append(job)
    key: dict[str, Any] = {
        "Name": lambda j: j.name,
        "CreationTime": lambda j: (j.created_time, j.name),
        "Status": lambda j: (str(j.status.value), j.name),
    }
    chosen.sort(key=key[sort], reverse=descending)
    page = chosen[offset : offset + limit]
    summaries = []
    for job in page:
        training, objective = _counters(job)
        config = _config(job.spec["config"])
        summaries.append(
            drop_none(
                {
                    "HyperParameterTuningJobName": job.name,
                    "HyperParameterTuningJobArn": sagemaker_arn(
                        "hyper-parameter-tuning-job", job.name
                    ),
                    "HyperParameterTuningJobStatus": str(job.status.value),
                    "Strategy": config["Strategy"],
                    "CreationTime": seconds(job.created_time),
                    "HyperParameterTuningEndTime": seconds(job.end_time),
                    "LastModifiedTime": seconds(_last_modified(job)),
                    "TrainingJobStatusCounters": training,
                    "ObjectiveStatusCounters": objective,
                    "ResourceLimits": config["ResourceLimits"],
                }
            )
        )
    answer: Body = {"HyperParameterTuningJobSummaries": summaries}
    if offset + limit < len(chosen):
        answer["NextToken"] = str(offset + limit)
    return answer


def stop_tuning_job(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "HyperParameterTuningJobName")
    _tuning(services, actor, name)
    services.tuning.stop(actor, name)
    return {}


ACTIONS: dict[str, Any] = {
    "CreateHyperParameterTuningJob": create_tuning_job,
    "DescribeHyperParameterTuningJob": describe_tuning_job,
    "ListHyperParameterTuningJobs": list_tuning_jobs,
    "StopHyperParameterTuningJob": stop_tuning_job,
    "ListTrainingJobsForHyperParameterTuningJob": list_training_jobs_for_tuning_job,
}

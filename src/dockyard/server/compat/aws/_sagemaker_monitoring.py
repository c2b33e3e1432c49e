"""Data-quality job definitions and monitoring schedules, over :mod:`dockyard.server.monitoring`.

A data-quality job definition (baseline statistics and constraints, the endpoint watched, the
output) is kept as a parameter, ``/sagemaker/data-quality-job-definitions/<name>`` (its request
as JSON), like an endpoint config. CreateMonitoringSchedule turns the named definition, or an
inline ``MonitoringJobDefinition``, into a Dockyard monitoring schedule of the same name:

- ``EndpointInput.EndpointName`` is the schedule's endpoint target (its captured requests);
- the baseline's ``StatisticsResource`` and ``ConstraintsResource`` must be ``statistics.json``
  and ``constraints.json`` of one folder (as ``suggest_baseline()`` writes them): the folder is
  the schedule's baseline;
- ``cron(0 * ? * * *)`` (``CronExpressionGenerator.hourly()``) is Dockyard's ``hourly``; other
  AWS cron expressions become five-field cron (``?`` is ``*``, days of week 1-7 are 0-6).

The config a schedule was made from is kept as ``/sagemaker/monitoring-schedules/<name>``.
Statuses are SageMaker's own (Pending while a baseline is suggested, Scheduled, Stopped,
Failed; executions Pending, InProgress, Completed, CompletedWithViolations, Failed); each
execution's job answers DescribeProcessingJob. Executions write their reports to Dockyard's
artifact store (``monitoring/<schedule>/<execution>``), not to the definition's output S3 URI.

An unknown schedule, definition or processing job is ``ResourceNotFound``, as SageMaker answers
it (the SDK's ``delete_monitoring_schedule()`` waits for that), not ValidationException.

Not supported yet (refused naming the field): monitoring types other than DataQuality,
BatchTransformInput, one-time schedules (``NOW``), record pre-processor and post-analytics
scripts.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import orjson

from dockyard.api.monitoring import (
    HOURLY,
    MonitoringExecution,
    MonitoringSchedule,
    MonitoringScheduleSpec,
    UpdateMonitoringSchedule,
)
from dockyard.api.params import PutParameter
from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._errors import AwsError
from dockyard.server.compat.aws._fields import optional, required, seconds
from dockyard.server.compat.aws._sagemaker_processing import processing_job_arn
from dockyard.server.compat.aws._sagemaker_shapes import (
    Body,
    aws_fields,
    drop_none,
    page_token,
    sagemaker_arn,
    tag_list,
)

__all__ = ["ACTIONS", "dockyard_schedule"]

DEFINITIONS = "/sagemaker/data-quality-job-definitions/"
SCHEDULES = "/sagemaker/monitoring-schedules/"
DATA_QUALITY = "DataQuality"
_HOURLY_AWS = "cron(0 * ? * * *)"
_AWS_CRON = re.compile(r"^cron\((?P<fields>[^)]*)\)$")
_CONFIG = "MonitoringScheduleConfig"
_SCHEDULE_FIELD = f"{_CONFIG}.ScheduleConfig.ScheduleExpression"
_FIELDS = {
    "name": "MonitoringScheduleName",
    "target": f"{_CONFIG}.MonitoringJobDefinition.MonitoringInputs",
    "baseline": f"{_CONFIG}.MonitoringJobDefinition.BaselineConfig",
    "schedule": _SCHEDULE_FIELD,
    "tags": "Tags",
}


def _missing(what: str, kind: str, name: str) -> AwsError:
    return AwsError("ResourceNotFound", f'Could not find {what} "{sagemaker_arn(kind, name)}".')


# -- schedule expressions -----------------------------------------------------------------------


def dockyard_schedule(expression: str) -> str:
    """An AWS schedule expression as Dockyard's: ``hourly`` or five cron fields."""
    text = expression.strip()
    if text.upper() == "NOW":
        raise InvalidArgument(
            f"{_SCHEDULE_FIELD}: one-time schedules (NOW) are not supported by Dockyard yet; "
            "run a window now with Dockyard's monitoring API",
            field=_SCHEDULE_FIELD,
        )
    found = _AWS_CRON.match(text)
    fields = found.group("fields").split() if found else []
    if len(fields) != 6:
        raise InvalidArgument(
            f"{_SCHEDULE_FIELD}: {text[:80]!r} is not an AWS cron expression "
            "(cron(minutes hours day-of-month month day-of-week year))",
            field=_SCHEDULE_FIELD,
        )
    minute, hour, day, month, weekday, year = (f.replace("?", "*") for f in fields)
    if year != "*":
        raise InvalidArgument(f"{_SCHEDULE_FIELD}: the year field must be *", field=_SCHEDULE_FIELD)
    if (minute, hour, day, month, weekday) == ("0", "*", "*", "*", "*"):
        return HOURLY
    # AWS numbers days of week 1 (Sunday) to 7; cron 0 to 6.
    weekday = re.sub(r"\d+", lambda m: str(int(m.group()) - 1), weekday)
    return f"{minute} {hour} {day} {month} {weekday}"


def _aws_schedule(schedule: str) -> str:
    if schedule.strip() == HOURLY:
        return _HOURLY_AWS
    fields = schedule.split()
    if len(fields) != 5:  # a macro
        return schedule
    minute, hour, day, month, weekday = fields
    if weekday != "*":
        weekday = re.sub(r"\d+", lambda m: str(int(m.group()) + 1), weekday)
        day = "?"
    elif day == "*":
        day = "?"
    return f"cron({minute} {hour} {day} {month} {weekday} *)"


# -- job definitions ----------------------------------------------------------------------------


def _stored(services: Services, actor: Actor, path: str) -> tuple[Body, int] | None:
    try:
        found = services.params.get(actor, path)
    except (NotFound, InvalidArgument):
        return None
    return orjson.loads(found.value or "{}"), found.modified_time


def _endpoint_input(job_input: Any, field: str) -> str:
    if not isinstance(job_input, dict):
        raise InvalidArgument(f"{field} must be an object", field=field)
    if job_input.get("BatchTransformInput"):
        raise InvalidArgument(
            f"{field}.BatchTransformInput is not supported by Dockyard yet: watch an endpoint",
            field=f"{field}.BatchTransformInput",
        )
    endpoint = job_input.get("EndpointInput")
    if not isinstance(endpoint, dict):
        raise InvalidArgument(
            f"{field}.EndpointInput must be given", field=f"{field}.EndpointInput"
        )
    name: str = required(endpoint, "EndpointName")
    return name


def _baseline_uri(baseline: Any, field: str) -> str:
    """The folder holding ``statistics.json`` and ``constraints.json``."""
    if not isinstance(baseline, dict):
        raise InvalidArgument(
            f"{field}: Dockyard checks against a baseline: give StatisticsResource and "
            "ConstraintsResource",
            field=field,
        )
    folders = set()
    for resource, file in (
        ("StatisticsResource", "statistics.json"),
        ("ConstraintsResource", "constraints.json"),
    ):
        where = f"{field}.{resource}"
        given = baseline.get(resource)
        uri = given.get("S3Uri") if isinstance(given, dict) else None
        if not isinstance(uri, str) or not uri:
            raise InvalidArgument(f"{where}.S3Uri must be given", field=where)
        folder, _, name = uri.rstrip("/").rpartition("/")
        if name != file:
            raise InvalidArgument(
                f"{where}.S3Uri: Dockyard reads {file} (as suggest_baseline writes it), "
                f"not {name!r}",
                field=where,
            )
        folders.add(folder)
    if len(folders) != 1:
        raise InvalidArgument(
            f"{field}: statistics.json and constraints.json must be in one folder", field=field
        )
    return folders.pop()


def _check_scripts(app: Any, field: str) -> None:
    if not isinstance(app, dict):
        return
    for script in ("RecordPreprocessorSourceUri", "PostAnalyticsProcessorSourceUri"):
        if app.get(script):
            raise InvalidArgument(
                f"{field}.{script} is not supported by Dockyard yet", field=f"{field}.{script}"
            )


def create_job_definition(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "JobDefinitionName")
    _endpoint_input(required(body, "DataQualityJobInput", dict), "DataQualityJobInput")
    required(body, "DataQualityJobOutputConfig", dict)
    _check_scripts(body.get("DataQualityAppSpecification"), "DataQualityAppSpecification")
    if body.get("DataQualityBaselineConfig") is not None:
        _baseline_uri(body["DataQualityBaselineConfig"], "DataQualityBaselineConfig")
    tag_list(body.get("Tags"))
    try:
        services.params.put(
            actor, PutParameter(name=DEFINITIONS + name, value=orjson.dumps(body).decode())
        )
    except DockyardError as exc:
        if exc.status_code == 409:
            raise AwsError("ResourceInUse", f"Job definition {name!r} already exists") from None
        aws_fields(exc, {"name": "JobDefinitionName", "value": "DataQualityJobInput"})
    return {"JobDefinitionArn": sagemaker_arn("data-quality-job-definition", name)}


def _definition(services: Services, actor: Actor, name: str) -> tuple[Body, int]:
    found = _stored(services, actor, DEFINITIONS + name)
    if found is None:
        raise _missing("job definition", "data-quality-job-definition", name)
    return found


def describe_job_definition(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "JobDefinitionName")
    stored, modified = _definition(services, actor, name)
    stored.pop("Tags", None)
    return {
        **stored,
        "JobDefinitionArn": sagemaker_arn("data-quality-job-definition", name),
        "CreationTime": seconds(modified),
    }


def delete_job_definition(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "JobDefinitionName")
    try:
        services.params.delete(actor, DEFINITIONS + name)
    except (NotFound, InvalidArgument):
        raise _missing("job definition", "data-quality-job-definition", name) from None
    return {}


def list_job_definitions(services: Services, actor: Actor, body: Body) -> Body:
    limit = optional(body, "MaxResults", int, 10)
    if not 1 <= limit <= 50:
        raise InvalidArgument("MaxResults must be between 1 and 50", field="MaxResults")
    contains = (optional(body, "NameContains") or "").lower()
    endpoint = optional(body, "EndpointName")
    found = services.params.get_by_path(
        actor, DEFINITIONS.rstrip("/"), max_results=limit, page_token=body.get("NextToken")
    )
    summaries = []
    for parameter in found.parameters:
        name = parameter.name.removeprefix(DEFINITIONS)
        stored = orjson.loads(parameter.value or "{}")
        watched = (stored.get("DataQualityJobInput") or {}).get("EndpointInput") or {}
        if contains not in name.lower():
            continue
        if endpoint is not None and watched.get("EndpointName") != endpoint:
            continue
        summaries.append(
            drop_none(
                {
                    "MonitoringJobDefinitionName": name,
                    "MonitoringJobDefinitionArn": sagemaker_arn(
                        "data-quality-job-definition", name
                    ),
                    "CreationTime": seconds(parameter.modified_time),
                    "EndpointName": watched.get("EndpointName"),
                }
            )
        )
    return drop_none({"JobDefinitionSummaries": summaries, "NextToken": found.next_page_token})


# -- schedules ----------------------------------------------------------------------------------


def _definition_of(services: Services, actor: Actor, config: Body) -> tuple[str, str]:
    """(endpoint, baseline folder) of a schedule config's definition, named or inline."""
    kind = config.get("MonitoringType") or DATA_QUALITY
    if kind != DATA_QUALITY:
        raise InvalidArgument(
            f"{_CONFIG}.MonitoringType: {kind!r} is not supported by Dockyard yet "
            f"(only {DATA_QUALITY})",
            field=f"{_CONFIG}.MonitoringType",
        )
    named = config.get("MonitoringJobDefinitionName")
    if named is not None:
        stored, _ = _definition(services, actor, str(named))
        return (
            _endpoint_input(stored.get("DataQualityJobInput"), "DataQualityJobInput"),
            _baseline_uri(stored.get("DataQualityBaselineConfig"), "DataQualityBaselineConfig"),
        )
    field = f"{_CONFIG}.MonitoringJobDefinition"
    inline = config.get("MonitoringJobDefinition")
    if not isinstance(inline, dict):
        raise InvalidArgument(
            f"{_CONFIG}: give MonitoringJobDefinitionName or MonitoringJobDefinition",
            field=_CONFIG,
        )
    _check_scripts(inline.get("MonitoringAppSpecification"), f"{field}.MonitoringAppSpecification")
    inputs = inline.get("MonitoringInputs")
    if not isinstance(inputs, list) or len(inputs) != 1:
        raise InvalidArgument(
            f"{field}.MonitoringInputs must hold one input", field=f"{field}.MonitoringInputs"
        )
    return (
        _endpoint_input(inputs[0], f"{field}.MonitoringInputs[0]"),
        _baseline_uri(inline.get("BaselineConfig"), f"{field}.BaselineConfig"),
    )


def _expression(config: Body) -> str:
    schedule = config.get("ScheduleConfig")
    if not isinstance(schedule, dict) or not isinstance(schedule.get("ScheduleExpression"), str):
        raise InvalidArgument(f"{_SCHEDULE_FIELD} must be given", field=_SCHEDULE_FIELD)
    return dockyard_schedule(schedule["ScheduleExpression"])


def _schedule(services: Services, actor: Actor, name: str) -> MonitoringSchedule:
    try:
        return services.monitoring.get(actor, name)
    except NotFound:
        raise _missing("monitoring schedule", "monitoring-schedule", name) from None


def _remember(services: Services, actor: Actor, name: str, config: Body) -> None:
    services.params.put(
        actor,
        PutParameter(name=SCHEDULES + name, value=orjson.dumps(config).decode(), overwrite=True),
    )


def create_schedule(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "MonitoringScheduleName")
    config = required(body, _CONFIG, dict)
    endpoint, baseline = _definition_of(services, actor, config)
    try:
        spec = MonitoringScheduleSpec.model_validate(
            {
                "name": name,
                "target": {"endpoint": endpoint},
                "baseline": {"uri": baseline},
                "schedule": _expression(config),
                "tags": tag_list(body.get("Tags")),
            }
        )
        services.monitoring.create(actor, spec)
    except (DockyardError, ValueError) as exc:
        if isinstance(exc, DockyardError) and exc.status_code == 409:
            raise AwsError(
                "ResourceInUse", f"Monitoring schedule {name!r} already exists"
            ) from None
        aws_fields(exc, _FIELDS)
    _remember(services, actor, name, config)
    return {"MonitoringScheduleArn": sagemaker_arn("monitoring-schedule", name)}


def _config_of(services: Services, actor: Actor, schedule: MonitoringSchedule) -> Body:
    """The config a schedule was made from; one made by Dockyard's API, as SageMaker would
    show it."""
    found = _stored(services, actor, SCHEDULES + schedule.name)
    config: Body = dict(found[0]) if found is not None else {"MonitoringType": DATA_QUALITY}
    config["ScheduleConfig"] = {"ScheduleExpression": _aws_schedule(schedule.spec.schedule)}
    return config


def _execution_summary(execution: MonitoringExecution, config: Body, endpoint: str | None) -> Body:
    return drop_none(
        {
            "MonitoringScheduleName": execution.schedule,
            "ScheduledTime": seconds(execution.window_end),
            "CreationTime": seconds(execution.created_time),
            "LastModifiedTime": seconds(execution.end_time or execution.created_time),
            "MonitoringExecutionStatus": execution.status.value,
            "ProcessingJobArn": processing_job_arn(execution.job) if execution.job else None,
            "EndpointName": endpoint,
            "FailureReason": execution.failure_reason,
            "MonitoringJobDefinitionName": config.get("MonitoringJobDefinitionName"),
            "MonitoringType": DATA_QUALITY,
        }
    )


def describe_schedule(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "MonitoringScheduleName")
    schedule = _schedule(services, actor, name)
    config = _config_of(services, actor, schedule)
    last = schedule.last_execution
    return drop_none(
        {
            "MonitoringScheduleArn": sagemaker_arn("monitoring-schedule", name),
            "MonitoringScheduleName": name,
            "MonitoringScheduleStatus": schedule.status.value,
            "MonitoringType": DATA_QUALITY,
            "FailureReason": schedule.failure_reason,
            "CreationTime": seconds(schedule.created_time),
            "LastModifiedTime": seconds(schedule.updated_time),
            "MonitoringScheduleConfig": config,
            "EndpointName": schedule.spec.target.endpoint,
            "LastMonitoringExecutionSummary": _execution_summary(
                last, config, schedule.spec.target.endpoint
            )
            if last is not None and last.kind == "data_quality"
            else None,
        }
    )


def list_schedules(services: Services, actor: Actor, body: Body) -> Body:
    limit = optional(body, "MaxResults", int, 10)
    if not 1 <= limit <= 100:
        raise InvalidArgument("MaxResults must be between 1 and 100", field="MaxResults")
    contains = (optional(body, "NameContains") or "").lower()
    endpoint = optional(body, "EndpointName")
    status = optional(body, "StatusEquals")
    offset = page_token(body.get("NextToken"))
    chosen = [
        s
        for s in _all_schedules(services, actor)
        if contains in s.name.lower()
        and (endpoint is None or s.spec.target.endpoint == endpoint)
        and (status is None or s.status.value == status)
    ]
    answer: Body = {
        "MonitoringScheduleSummaries": [
            drop_none(
                {
                    "MonitoringScheduleName": s.name,
                    "MonitoringScheduleArn": sagemaker_arn("monitoring-schedule", s.name),
                    "CreationTime": seconds(s.created_time),
                    "LastModifiedTime": seconds(s.updated_time),
                    "MonitoringScheduleStatus": s.status.value,
                    "EndpointName": s.spec.target.endpoint,
                    "MonitoringJobDefinitionName": _config_of(services, actor, s).get(
                        "MonitoringJobDefinitionName"
                    ),
                    "MonitoringType": DATA_QUALITY,
                }
            )
            for s in chosen[offset : offset + limit]
        ]
    }
    if offset + limit < len(chosen):
        answer["NextToken"] = str(offset + limit)
    return answer


def _all_schedules(services: Services, actor: Actor) -> list[MonitoringSchedule]:
    found: list[MonitoringSchedule] = []
    token: str | None = None
    for _ in range(100):  # bounded: 100 pages of 1000
        page = services.monitoring.page(actor, max_results=1000, page_token=token)
        found.extend(page.items)
        token = page.next_page_token
        if token is None:
            break
    return found


def _change(services: Services, actor: Actor, name: str, change: UpdateMonitoringSchedule) -> None:
    try:
        services.monitoring.update(actor, name, change)
    except NotFound:
        raise _missing("monitoring schedule", "monitoring-schedule", name) from None
    except DockyardError as exc:
        aws_fields(exc, _FIELDS)


def update_schedule(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "MonitoringScheduleName")
    config = required(body, _CONFIG, dict)
    current = _schedule(services, actor, name)
    endpoint, baseline = _definition_of(services, actor, config)
    if endpoint != current.spec.target.endpoint:
        raise InvalidArgument(
            f"{_CONFIG}: a schedule watches one endpoint ({current.spec.target.endpoint}); "
            "delete it and create another to watch a different one",
            field=f"{_CONFIG}.EndpointInput",
        )
    fields: dict[str, Any] = {"schedule": _expression(config)}
    if baseline != current.baseline_uri:
        fields["baseline"] = {"uri": baseline}
    try:
        change = UpdateMonitoringSchedule.model_validate(fields)
    except ValueError as exc:
        aws_fields(exc, _FIELDS)
    _change(services, actor, name, change)
    _remember(services, actor, name, config)
    return {"MonitoringScheduleArn": sagemaker_arn("monitoring-schedule", name)}


def _enable(services: Services, actor: Actor, body: Body, enabled: bool) -> Body:
    name = required(body, "MonitoringScheduleName")
    _change(services, actor, name, UpdateMonitoringSchedule(enabled=enabled))
    return {}


def start_schedule(services: Services, actor: Actor, body: Body) -> Body:
    return _enable(services, actor, body, True)


def stop_schedule(services: Services, actor: Actor, body: Body) -> Body:
    return _enable(services, actor, body, False)


def delete_schedule(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "MonitoringScheduleName")
    try:
        services.monitoring.delete(actor, name)
    except NotFound:
        raise _missing("monitoring schedule", "monitoring-schedule", name) from None
    with contextlib.suppress(NotFound, InvalidArgument):
        services.params.delete(actor, SCHEDULES + name)
    return {}


def list_executions(services: Services, actor: Actor, body: Body) -> Body:
    limit = optional(body, "MaxResults", int, 10)
    if not 1 <= limit <= 100:
        raise InvalidArgument("MaxResults must be between 1 and 100", field="MaxResults")
    named = optional(body, "MonitoringScheduleName")
    endpoint = optional(body, "EndpointName")
    status = optional(body, "StatusEquals")
    descending = optional(body, "SortOrder", str, "Descending") != "Ascending"
    offset = page_token(body.get("NextToken"))
    schedules = (
        [_schedule(services, actor, named)]
        if named is not None
        else _all_schedules(services, actor)
    )
    found: list[Body] = []
    for schedule in schedules:
        if endpoint is not None and schedule.spec.target.endpoint != endpoint:
            continue
        config = _config_of(services, actor, schedule)
        page = services.monitoring.executions(actor, schedule.name, max_results=1000)
        found.extend(
            _execution_summary(e, config, schedule.spec.target.endpoint)
            for e in page.items
            if e.kind == "data_quality" and (status is None or e.status.value == status)
        )
    found.sort(key=lambda s: float(s["ScheduledTime"]), reverse=descending)
    answer: Body = {"MonitoringExecutionSummaries": found[offset : offset + limit]}
    if offset + limit < len(found):
        answer["NextToken"] = str(offset + limit)
    return answer


ACTIONS: dict[str, Any] = {
    "CreateDataQualityJobDefinition": create_job_definition,
    "DescribeDataQualityJobDefinition": describe_job_definition,
    "DeleteDataQualityJobDefinition": delete_job_definition,
    "ListDataQualityJobDefinitions": list_job_definitions,
    "CreateMonitoringSchedule": create_schedule,
    "DescribeMonitoringSchedule": describe_schedule,
    "ListMonitoringSchedules": list_schedules,
    "UpdateMonitoringSchedule": update_schedule,
    "DeleteMonitoringSchedule": delete_schedule,
    "StartMonitoringSchedule": start_schedule,
    "StopMonitoringSchedule": stop_schedule,
    "ListMonitoringExecutions": list_executions,
}

"""Monitoring schedules and their executions, over :mod:`dockyard.server.monitoring`.

CreateMonitoringSchedule turns a data-quality job definition (named, see
:mod:`~dockyard.server.compat.aws._sagemaker_job_definitions`, or an inline
``MonitoringJobDefinition``) into a Dockyard monitoring schedule of the same name:

- ``EndpointInput.EndpointName`` is the schedule's endpoint target (its captured requests);
- the baseline's ``StatisticsResource`` and ``ConstraintsResource`` must be ``statistics.json``
  and ``constraints.json`` of one folder (as ``suggest_baseline()`` writes them): the folder is
  the schedule's baseline;
- ``cron(0 * ? * * *)`` (``CronExpressionGenerator.hourly()``) is Dockyard's ``hourly``; other
  AWS cron expressions become five-field cron (``?`` is ``*``, days of week 1-7 are 0-6).

The config a schedule was made from is kept as ``/sagemaker/monitoring-schedules/<name>``.
Statuses are SageMaker's own (Pending while a baseline is suggested, Scheduled, Stopped,
Failed; executions Pending, InProgress, Completed, CompletedWithViolations, Failed); each
execution's job answers DescribeProcessingJob, whose output ``S3Uri`` is where the execution
wrote its reports (``statistics.json``, ``constraint_violations.json``): that is where the
SDK's ``latest_monitoring_statistics()`` and ``latest_monitoring_constraint_violations()``
read them, with its own S3 client. On a server whose artifact store is S3, executions write to
the store (``monitoring/<schedule>/<execution>``); on one whose store is a local folder, which
the SDK cannot read, they write under the definition's output S3 URI instead
(``<S3Uri>/<schedule>/<execution>``: the schedule's ``reports_uri``), as SageMaker does, so
the SDK finds them without S3 for the store. An update that names another output URI moves
later executions' reports there.

An unknown schedule, definition or processing job is ``ResourceNotFound``, as SageMaker answers
it (the SDK's ``delete_monitoring_schedule()`` waits for that), not ValidationException.

Not supported yet (refused naming the field): monitoring types other than DataQuality,
BatchTransformInput, one-time schedules (``NOW``), record pre-processor and post-analytics
scripts.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, NoReturn

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
from dockyard.server.compat.aws._sagemaker_job_definitions import (
    DATA_QUALITY,
    definition_of,
    missing,
    output_of,
    stored,
)
from dockyard.server.compat.aws._sagemaker_processing import processing_job_arn
from dockyard.server.compat.aws._sagemaker_shapes import (
    Body,
    aws_fields,
    drop_none,
    one_page,
    page_token,
    sagemaker_arn,
    tag_list,
)

__all__ = ["ACTIONS", "dockyard_schedule"]

SCHEDULES = "/sagemaker/monitoring-schedules/"  # reserved for the server (params.RESERVED_PATHS)
#: Who keeps ``SCHEDULES`` records: the server, once the caller's change to the schedule (or
#: their reading of it) was allowed; no account may write there.
_KEEPER = Actor.system("sagemaker")
_HOURLY_AWS = "cron(0 * ? * * *)"
_AWS_CRON = re.compile(r"^cron\((?P<fields>[^)]*)\)$")
_CONFIG = "MonitoringScheduleConfig"
_SCHEDULE_FIELD = f"{_CONFIG}.ScheduleConfig.ScheduleExpression"
_OUTPUT = f"{_CONFIG}.MonitoringJobDefinition.MonitoringOutputConfig"
_FIELDS = {
    "name": "MonitoringScheduleName",
    "reports_uri": _OUTPUT,
    "target": f"{_CONFIG}.MonitoringJobDefinition.MonitoringInputs",
    "baseline": f"{_CONFIG}.MonitoringJobDefinition.BaselineConfig",
    "schedule": _SCHEDULE_FIELD,
    "tags": "Tags",
}


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


# -- schedules ----------------------------------------------------------------------------------


def _expression(config: Body) -> str:
    schedule = config.get("ScheduleConfig")
    if not isinstance(schedule, dict) or not isinstance(schedule.get("ScheduleExpression"), str):
        raise InvalidArgument(f"{_SCHEDULE_FIELD} must be given", field=_SCHEDULE_FIELD)
    return dockyard_schedule(schedule["ScheduleExpression"])


def _schedule(services: Services, actor: Actor, name: str) -> MonitoringSchedule:
    try:
        return services.monitoring.get(actor, name)
    except NotFound:
        raise missing("monitoring schedule", "monitoring-schedule", name) from None


def _remember(services: Services, actor: Actor, name: str, config: Body) -> None:
    services.params.put(
        _KEEPER,
        PutParameter(name=SCHEDULES + name, value=orjson.dumps(config).decode(), overwrite=True),
    )


def _respelled(exc: Exception, config: Body) -> NoReturn:
    """``exc`` in the request's words. The baseline's files are where the request named them:
    the inline definition's BaselineConfig, or the named definition's
    DataQualityBaselineConfig."""
    named = config.get("MonitoringJobDefinitionName")
    baseline = (
        f"{_CONFIG}.MonitoringJobDefinitionName"
        if named is not None
        else f"{_CONFIG}.MonitoringJobDefinition.BaselineConfig"
    )
    try:
        output = f"{_CONFIG}.MonitoringJobDefinitionName" if named is not None else _OUTPUT
        aws_fields(exc, {**_FIELDS, "baseline": baseline, "reports_uri": output})
    except InvalidArgument as renamed:
        field = renamed.field or ""
        if not field.startswith(f"{baseline}."):  # baseline.uri: the folder the files are in
            raise
        message = renamed.message.removeprefix(f"{field}: ")
        if named is not None:
            message = f"job definition {named!r}: DataQualityBaselineConfig: {message}"
        raise InvalidArgument(f"{baseline}: {message}", field=baseline) from None


def _reports_uri(services: Services, actor: Actor, config: Body) -> str | None:
    """Where executions write their reports for the SDK to read them: the store (None) when it
    is S3, else the definition's output S3 URI (None when it names none)."""
    if services.settings.resolved_artifact_root.startswith("s3://"):
        return None
    return output_of(services, actor, config)


def create_schedule(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "MonitoringScheduleName")
    config = required(body, _CONFIG, dict)
    endpoint, baseline = definition_of(services, actor, config)
    try:
        spec = MonitoringScheduleSpec.model_validate(
            drop_none(
                {
                    "name": name,
                    "target": {"endpoint": endpoint},
                    "baseline": {"uri": baseline},
                    "schedule": _expression(config),
                    "reports_uri": _reports_uri(services, actor, config),
                    "tags": tag_list(body.get("Tags")),
                }
            )
        )
        services.monitoring.create(actor, spec)
    except (DockyardError, ValueError) as exc:
        if isinstance(exc, DockyardError) and exc.status_code == 409:
            raise AwsError(
                "ResourceInUse", f"Monitoring schedule {name!r} already exists"
            ) from None
        _respelled(exc, config)
    _remember(services, actor, name, config)
    return {"MonitoringScheduleArn": sagemaker_arn("monitoring-schedule", name)}


def _config_of(services: Services, actor: Actor, schedule: MonitoringSchedule) -> Body:
    """The config a schedule was made from; one made by Dockyard's API, as SageMaker would
    show it."""
    found = stored(services, _KEEPER, SCHEDULES + schedule.name)
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
    contains = (optional(body, "NameContains") or "").lower()
    endpoint = optional(body, "EndpointName")
    status = optional(body, "StatusEquals")
    chosen = [
        s
        for s in _all_schedules(services, actor)
        if contains in s.name.lower()
        and (endpoint is None or s.spec.target.endpoint == endpoint)
        and (status is None or s.status.value == status)
    ]
    return one_page(
        body,
        chosen,
        "MonitoringScheduleSummaries",
        lambda s: drop_none(
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
        ),
        default=10,
    )


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


def _change(
    services: Services,
    actor: Actor,
    name: str,
    change: UpdateMonitoringSchedule,
    config: Body | None = None,
) -> None:
    try:
        services.monitoring.update(actor, name, change)
    except NotFound:
        raise missing("monitoring schedule", "monitoring-schedule", name) from None
    except DockyardError as exc:
        _respelled(exc, config or {})


def update_schedule(services: Services, actor: Actor, body: Body) -> Body:
    name = required(body, "MonitoringScheduleName")
    config = required(body, _CONFIG, dict)
    current = _schedule(services, actor, name)
    endpoint, baseline = definition_of(services, actor, config)
    if endpoint != current.spec.target.endpoint:
        raise InvalidArgument(
            f"{_CONFIG}: a schedule watches one endpoint ({current.spec.target.endpoint}); "
            "delete it and create another to watch a different one",
            field=f"{_CONFIG}.EndpointInput",
        )
    fields: dict[str, Any] = {"schedule": _expression(config)}
    if baseline != current.baseline_uri:
        fields["baseline"] = {"uri": baseline}
    reports = _reports_uri(services, actor, config)
    if reports is not None and reports != current.spec.reports_uri:
        fields["reports_uri"] = reports
    try:
        change = UpdateMonitoringSchedule.model_validate(fields)
    except ValueError as exc:
        aws_fields(exc, _FIELDS)
    _change(services, actor, name, change, config)
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
        raise missing("monitoring schedule", "monitoring-schedule", name) from None
    with contextlib.suppress(NotFound, InvalidArgument):
        services.params.delete(_KEEPER, SCHEDULES + name)
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
    "CreateMonitoringSchedule": create_schedule,
    "DescribeMonitoringSchedule": describe_schedule,
    "ListMonitoringSchedules": list_schedules,
    "UpdateMonitoringSchedule": update_schedule,
    "DeleteMonitoringSchedule": delete_schedule,
    "StartMonitoringSchedule": start_schedule,
    "StopMonitoringSchedule": stop_schedule,
    "ListMonitoringExecutions": list_executions,
}

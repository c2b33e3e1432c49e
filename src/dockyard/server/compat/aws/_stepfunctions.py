"""``AWSStepFunctions.*``: Step Functions' API over :mod:`dockyard.server.pipelines`.

Each action reads AWS's request fields into the pipelines API's typed requests and answers in
AWS's shapes (times as seconds since the epoch, history events with their detail objects).
Versions and aliases, logging, tracing and map runs are not kept; the fields are accepted
and ignored, as they change nothing an execution does here (but ListExecutions of a map run is
refused: it would answer with the machine's executions instead).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from enum import StrEnum
from typing import Any

import anyio.to_thread
from pydantic import ValidationError

from dockyard.api.pipelines import (
    MAX_TAGS,
    Execution,
    ExecutionStatus,
    MachineType,
    StartExecution,
    StateMachine,
    StateMachineConfig,
    StateMachineUpdate,
    StopExecution,
    Tagging,
    TaskFailure,
    TaskHeartbeat,
    TaskSuccess,
    is_express_arn,
)
from dockyard.errors import InvalidArgument
from dockyard.server._route import short_read
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._arn import REGION
from dockyard.server.compat.aws._errors import AwsError
from dockyard.server.compat.aws._fields import member, optional, required, seconds
from dockyard.server.pipelines import InvalidDefinition, StateMachineMissing, TooManyTags

__all__ = ["ACTIONS", "CONTENT_TYPE"]

CONTENT_TYPE = "application/x-amz-json-1.0"
#: Longest StartSyncExecution waits: past the five minutes an Express execution may run
#: (the pipelines' EXPRESS_MAX_S), when it has timed out.
SYNC_WAIT_S = 330.0
Body = dict[str, Any]


@contextmanager
def _named_as_aws() -> Iterator[None]:
    """A request field refused under the name AWS gives it (``taskToken``, ``roleArn``), not
    the pipelines API's (``task_token``, ``role_arn``)."""
    try:
        yield
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ())]
        if loc:
            head, *rest = loc[0].split("_")
            loc[0] = head + "".join(word.capitalize() for word in rest)
        said = str(first.get("msg")).removeprefix("Value error, ")
        field = loc[0] if loc else None
        raise InvalidArgument(f"{'.'.join(loc)}: {said}", field=field) from None


@contextmanager
def _definition_as_aws() -> Iterator[None]:
    """A definition refused in AWS's words: every problem as ``CODE: message at /location``,
    the list quoted (``Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: ... at
    /States/A/Type, MISSING_TRANSITION_TARGET: ...'``), which scripts written for AWS match
    on; the native API keeps its own wording."""
    try:
        yield
    except InvalidDefinition as exc:
        found = exc.details.get("problems")
        if not isinstance(found, list) or not found:
            raise
        said = ", ".join(
            f"{p.get('code')}: {p.get('message')}"
            + (f" at {p['location']}" if p.get("location") else "")
            for p in found
            if isinstance(p, dict)
        )
        raise AwsError("InvalidDefinition", f"Invalid State Machine Definition: '{said}'") from None


def _machine(found: StateMachine) -> Body:
    return {
        "stateMachineArn": found.arn,
        "name": found.name,
        "status": found.status,
        "definition": found.definition,
        "roleArn": found.role_arn,
        "type": found.type.value,
        "creationDate": seconds(found.created_time),
        "description": found.description,
        "revisionId": found.revision_id,
    }


def _execution(found: Execution) -> Body:
    answer: Body = {
        "executionArn": found.arn,
        "stateMachineArn": found.state_machine_arn,
        "name": found.name,
        "status": found.status.value,
        "startDate": seconds(found.start_time),
        "input": found.input,
        "inputDetails": {"included": True},
        "redriveCount": found.redrive_count,
        "stateMachineVersionArn": None,
    }
    for key, value in (
        ("stopDate", seconds(found.stop_time)),
        ("output", found.output),
        ("error", found.error),
        ("cause", found.cause),
        ("redriveDate", seconds(found.redrive_time)),
    ):
        if value is not None:
            answer[key] = value
    if found.output is not None:
        answer["outputDetails"] = {"included": True}
    # Express executions are never redriven (RedriveExecution refuses them).
    express = is_express_arn(found.arn)
    redrivable = found.status.value in ("FAILED", "TIMED_OUT", "ABORTED") and not express
    answer["redriveStatus"] = "REDRIVABLE" if redrivable else "NOT_REDRIVABLE"
    return {k: v for k, v in answer.items() if v is not None}


def create_state_machine(services: Services, actor: Actor, body: Body) -> Body:
    with _named_as_aws():
        config = _config(body)
    with _definition_as_aws():
        made = services.pipelines.create(actor, config)
    return {"stateMachineArn": made.arn, "creationDate": seconds(made.created_time)}


def _config(body: Body) -> StateMachineConfig:
    return StateMachineConfig(
        name=required(body, "name"),
        definition=required(body, "definition"),
        role_arn=optional(body, "roleArn", default=""),
        type=member(body, "type", MachineType) or MachineType.STANDARD,
        description=optional(body, "description", default=""),
        tags=_tags_given(body),
    )


def update_state_machine(services: Services, actor: Actor, body: Body) -> Body:
    with _named_as_aws():
        change = StateMachineUpdate(
            definition=optional(body, "definition"),
            role_arn=optional(body, "roleArn"),
            description=optional(body, "description"),
        )
    if change.definition is None and change.role_arn is None and change.description is None:
        raise AwsError(
            "MissingRequiredParameter",
            "UpdateStateMachine needs a definition or a roleArn (or a description) to change; "
            "logging, tracing and encryption settings are not kept here",
        )
    with _definition_as_aws():
        made = services.pipelines.update(actor, required(body, "stateMachineArn"), change)
    return {"updateDate": seconds(made.updated_time), "revisionId": made.revision_id}


@short_read
def describe_state_machine(services: Services, actor: Actor, body: Body) -> Body:
    return _machine(services.pipelines.describe(actor, required(body, "stateMachineArn")))


#: The largest page a listing gives (AWS's maxResults bound).
MAX_PAGE = 1000


def _page_size(body: Body) -> int:
    """``maxResults`` as AWS reads it: 0 to 1000, 0 (or none) for the default page of 100."""
    size = optional(body, "maxResults", int, 0)
    if not 0 <= size <= MAX_PAGE:
        bound = f"less than or equal to {MAX_PAGE}" if size > 0 else "greater than or equal to 0"
        raise InvalidArgument(
            f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy "
            f"constraint: Member must have value {bound}",
            field="maxResults",
        )
    return int(size) or 100


def list_state_machines(services: Services, actor: Actor, body: Body) -> Body:
    found = services.pipelines.list(actor, optional(body, "nextToken"), _page_size(body))
    answer: Body = {
        "stateMachines": [
            {
                "stateMachineArn": m.arn,
                "name": m.name,
                "type": m.type.value,
                "creationDate": seconds(m.created_time),
            }
            for m in found.state_machines
        ]
    }
    if found.next_token:
        answer["nextToken"] = found.next_token
    return answer


def delete_state_machine(services: Services, actor: Actor, body: Body) -> Body:
    """As AWS: deleting a state machine that does not exist (or is gone already) succeeds."""
    with suppress(StateMachineMissing):
        services.pipelines.delete(actor, required(body, "stateMachineArn"))
    return {}


class Severity(StrEnum):
    ERROR = "ERROR"
    WARNING = "WARNING"


#: ValidateStateMachineDefinition's default and largest maxResults.
MAX_DIAGNOSTICS = 100


def validate_definition(services: Services, actor: Actor, body: Body) -> Body:
    """The definition's diagnostics as AWS answers them: errors only unless ``severity`` is
    WARNING, at most ``maxResults`` (0: the default, 100), ``truncated`` when there were more;
    ``result`` counts every error."""
    severity = member(body, "severity", Severity) or Severity.ERROR
    express = member(body, "type", MachineType) is MachineType.EXPRESS
    limit = optional(body, "maxResults", int, 0) or MAX_DIAGNOSTICS
    if not 0 < limit <= MAX_DIAGNOSTICS:
        raise InvalidArgument(
            f"maxResults is 0 to {MAX_DIAGNOSTICS}, got {limit}", field="maxResults"
        )
    found = services.pipelines.validate(required(body, "definition"), express=express)
    shown = [d for d in found.diagnostics if severity is Severity.WARNING or d.severity == "ERROR"]
    return {
        "result": found.result,
        "diagnostics": [d.model_dump() for d in shown[:limit]],
        "truncated": len(shown) > limit,
    }


def _start(body: Body) -> StartExecution:
    return StartExecution(name=optional(body, "name"), input=optional(body, "input", default="{}"))


async def start_execution(services: Services, actor: Actor, body: Body) -> Body:
    """On the event loop: a brief execution starts there, in a transaction shared with the
    starts that arrive with it (:meth:`PipelineService.start_soon`)."""
    machine = required(body, "stateMachineArn")
    started = await services.pipelines.start_soon(actor, machine, _start(body))
    return {"executionArn": started.execution_arn, "startDate": seconds(started.start_time)}


async def start_sync_execution(services: Services, actor: Actor, body: Body) -> Body:
    """Waits on the event loop for the execution to end, holding no thread meanwhile."""
    arn = required(body, "stateMachineArn")
    machine = await anyio.to_thread.run_sync(services.pipelines.describe, actor, arn)
    if machine.type is not MachineType.EXPRESS:
        raise AwsError(
            "StateMachineTypeNotSupported",
            "StartSyncExecution runs EXPRESS state machines only; use StartExecution",
        )
    request = _start(body)
    started = await anyio.to_thread.run_sync(services.pipelines.start, actor, arn, request)
    ended = await services.pipelines.await_(actor, started.execution_arn, SYNC_WAIT_S)
    answer = _execution(ended)
    for key in ("redriveCount", "redriveStatus", "stateMachineVersionArn"):
        answer.pop(key, None)
    answer.setdefault("stopDate", seconds(ended.stop_time or started.start_time))
    return answer


@short_read
def describe_execution(services: Services, actor: Actor, body: Body) -> Body:
    return _execution(services.pipelines.describe_execution(actor, required(body, "executionArn")))


class RedriveFilter(StrEnum):
    REDRIVEN = "REDRIVEN"
    NOT_REDRIVEN = "NOT_REDRIVEN"


def list_executions(services: Services, actor: Actor, body: Body) -> Body:
    if body.get("mapRunArn") is not None:
        raise AwsError(
            "ValidationException",
            "mapRunArn: map runs are not kept here (a distributed Map's items run inside its "
            "execution, its results in the Map's output); list executions by stateMachineArn",
        )
    redrive = member(body, "redriveFilter", RedriveFilter)
    status = member(body, "statusFilter", ExecutionStatus)
    if status is ExecutionStatus.PENDING_REDRIVE:
        # As AWS: only a Map Run's child executions wait to be redriven, and map runs are not
        # kept; a state machine's executions never are PENDING_REDRIVE.
        raise AwsError(
            "ValidationException",
            "statusFilter PENDING_REDRIVE lists a Map Run's child executions (mapRunArn); "
            "it is not accepted with a stateMachineArn",
        )
    found = services.pipelines.list_executions(
        actor,
        required(body, "stateMachineArn"),
        status=status,
        next_token=optional(body, "nextToken"),
        limit=_page_size(body),
        redriven=None if redrive is None else redrive is RedriveFilter.REDRIVEN,
    )
    answer: Body = {
        "executions": [
            {
                k: v
                for k, v in {
                    "executionArn": e.arn,
                    "stateMachineArn": e.state_machine_arn,
                    "name": e.name,
                    "status": e.status.value,
                    "startDate": seconds(e.start_time),
                    "stopDate": seconds(e.stop_time),
                    "redriveCount": e.redrive_count,
                }.items()
                if v is not None
            }
            for e in found.executions
        ]
    }
    if found.next_token:
        answer["nextToken"] = found.next_token
    return answer


def get_execution_history(services: Services, actor: Actor, body: Body) -> Body:
    found = services.pipelines.history(
        actor,
        required(body, "executionArn"),
        next_token=optional(body, "nextToken"),
        limit=_page_size(body),
        reverse=bool(optional(body, "reverseOrder", bool, False)),
    )
    data = bool(optional(body, "includeExecutionData", bool, True))
    answer: Body = {
        "events": [
            {
                "timestamp": seconds(e.time),
                "type": e.type,
                "id": e.id,
                "previousEventId": e.previous_event_id,
                **_in_region(e.details if data else _without_data(e.details)),
            }
            for e in found.events
        ]
    }
    if found.next_token:
        answer["nextToken"] = found.next_token
    return answer


def _in_region(details: Body) -> Body:
    """A TaskScheduled event names the region its task runs in, which AWS's model requires
    (1 character at least): this server's, where the interpreter, which has none, leaves it
    empty."""
    scheduled = details.get("taskScheduledEventDetails")
    if isinstance(scheduled, dict) and not scheduled.get("region"):
        return {**details, "taskScheduledEventDetails": {**scheduled, "region": REGION}}
    return details


def _without_data(details: Body) -> Body:
    """Detail objects without their input and output (``includeExecutionData=False``)."""
    return {
        key: {k: v for k, v in value.items() if k not in ("input", "output")}
        if isinstance(value, dict)
        else value
        for key, value in details.items()
    }


def stop_execution(services: Services, actor: Actor, body: Body) -> Body:
    request = StopExecution(error=optional(body, "error"), cause=optional(body, "cause"))
    stopped = services.pipelines.stop(actor, required(body, "executionArn"), request)
    return {"stopDate": seconds(stopped.stop_time)}


def redrive_execution(services: Services, actor: Actor, body: Body) -> Body:
    return {
        "redriveDate": seconds(services.pipelines.redrive(actor, required(body, "executionArn")))
    }


def send_task_success(services: Services, actor: Actor, body: Body) -> Body:
    with _named_as_aws():
        request = TaskSuccess(
            task_token=required(body, "taskToken"), output=required(body, "output")
        )
    services.pipelines.task_success(actor, request)
    return {}


def send_task_failure(services: Services, actor: Actor, body: Body) -> Body:
    with _named_as_aws():
        request = TaskFailure(
            task_token=required(body, "taskToken"),
            error=optional(body, "error"),
            cause=optional(body, "cause"),
        )
    services.pipelines.task_failure(actor, request)
    return {}


def send_task_heartbeat(services: Services, actor: Actor, body: Body) -> Body:
    with _named_as_aws():
        request = TaskHeartbeat(task_token=required(body, "taskToken"))
    services.pipelines.task_heartbeat(actor, request)
    return {}


def describe_state_machine_for_execution(services: Services, actor: Actor, body: Body) -> Body:
    found = services.pipelines.machine_for_execution(actor, required(body, "executionArn"))
    return {
        "stateMachineArn": found.arn,
        "name": found.name,
        "definition": found.definition,
        "roleArn": found.role_arn,
        "updateDate": seconds(found.updated_time),
        "revisionId": found.revision_id,
    }


def _tags_given(body: Body) -> dict[str, str]:
    """The ``tags`` list (``[{"key": ..., "value": ...}]``) as a mapping."""
    given = body.get("tags")
    if given is None:
        return {}
    if not isinstance(given, list):
        raise AwsError("ValidationException", "tags: expected a list of {key, value}")
    if len(given) > MAX_TAGS:
        raise TooManyTags(f"{len(given)} tags; at most {MAX_TAGS}", field="tags")
    tags: dict[str, str] = {}
    for i, tag in enumerate(given):
        key = tag.get("key") if isinstance(tag, dict) else None
        value = tag.get("value", "") if isinstance(tag, dict) else None
        if not isinstance(key, str) or not isinstance(value, str):
            raise AwsError("ValidationException", f"tags[{i}]: expected {{key, value}} strings")
        tags[key] = value
    return tags


@contextmanager
def _resource(arn: str) -> Iterator[None]:
    """The tagging actions' names for a state machine that does not exist."""
    try:
        yield
    except StateMachineMissing:
        raise AwsError("ResourceNotFound", f"Resource not found: '{arn[:300]}'") from None


def tag_resource(services: Services, actor: Actor, body: Body) -> Body:
    arn = required(body, "resourceArn")
    request = Tagging(tags=_tags_given(body))
    with _resource(arn):
        services.pipelines.tag(actor, arn, request)
    return {}


def untag_resource(services: Services, actor: Actor, body: Body) -> Body:
    arn = required(body, "resourceArn")
    keys = body.get("tagKeys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise AwsError("ValidationException", "tagKeys: expected a list of strings")
    with _resource(arn):
        services.pipelines.untag(actor, arn, keys)
    return {}


@short_read
def list_tags_for_resource(services: Services, actor: Actor, body: Body) -> Body:
    arn = required(body, "resourceArn")
    with _resource(arn):
        found = services.pipelines.tags(actor, arn)
    return {"tags": [{"key": k, "value": v} for k, v in sorted(found.items())]}


ACTIONS = {
    "CreateStateMachine": create_state_machine,
    "UpdateStateMachine": update_state_machine,
    "DescribeStateMachine": describe_state_machine,
    "ListStateMachines": list_state_machines,
    "DeleteStateMachine": delete_state_machine,
    "ValidateStateMachineDefinition": validate_definition,
    "StartExecution": start_execution,
    "StartSyncExecution": start_sync_execution,
    "DescribeExecution": describe_execution,
    "ListExecutions": list_executions,
    "GetExecutionHistory": get_execution_history,
    "StopExecution": stop_execution,
    "RedriveExecution": redrive_execution,
    "SendTaskSuccess": send_task_success,
    "SendTaskFailure": send_task_failure,
    "SendTaskHeartbeat": send_task_heartbeat,
    "DescribeStateMachineForExecution": describe_state_machine_for_execution,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}

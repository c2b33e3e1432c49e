"""Pipelines from Python: state machines in the Amazon States Language, run by the server.

    dy.create_pipeline("retrain", "retrain.asl.json")        # a file, JSON text or a dict
    run = dy.start_execution("retrain", {"data": "s3://..."})
    dy.describe_execution("retrain", run.execution_arn, wait=60)
    dy.execution_history("retrain", run.execution_arn)

Executions are named by their name or their ARN; the same calls as boto3's ``stepfunctions``
client, which also works against the server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockyard.api.pipelines import (
    Execution,
    ExecutionList,
    History,
    HistoryEvent,
    StartedExecution,
    StartExecution,
    StateMachine,
    StateMachineConfig,
    StateMachineList,
    StateMachineSummary,
    StateMachineUpdate,
    StopExecution,
    TaskFailure,
    TaskHeartbeat,
    TaskSuccess,
    ValidateDefinition,
    Validation,
    parse_execution_arn,
    parse_state_machine_arn,
)
from dockyard.client.http import Client, from_answer, routes
from dockyard.client.sdk._requests import build_request
from dockyard.errors import InvalidArgument

__all__ = [
    "create_pipeline",
    "delete_pipeline",
    "describe_execution",
    "execution_definition",
    "execution_history",
    "get_pipeline",
    "list_executions",
    "list_pipelines",
    "redrive_execution",
    "send_task_failure",
    "send_task_heartbeat",
    "send_task_success",
    "start_execution",
    "stop_execution",
    "update_pipeline",
    "validate_pipeline",
]


def _client(client: Client | None) -> Client:
    """``client``, or a real server process: executions need its engine loop, as jobs need its
    queue (without ``DOCKYARD_URI`` the SDK starts a local server, as for jobs)."""
    if client is not None:
        return client
    from dockyard.client.sdk._context import context

    return context().server()


def definition_text(definition: str | Path | Mapping[str, Any]) -> str:
    """A definition as JSON text: a mapping, JSON text, or the path of a ``.json`` file."""
    if isinstance(definition, Mapping):
        return _json(definition, "definition")
    if not isinstance(definition, (str, Path)):
        raise InvalidArgument(
            "a definition is a mapping, JSON text or the path of a file, "
            f"got {type(definition).__name__}",
            field="definition",
        )
    if isinstance(definition, Path) or not definition.lstrip().startswith("{"):
        path = Path(definition).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise InvalidArgument(
                f"cannot read the definition file {str(path)[:300]}: {reason}", field="definition"
            ) from None
    return definition


def _json(value: Any, field: str) -> str:
    """``value`` as JSON text (UTF-8 as is: limits count bytes, and \\u escapes would triple
    non-ASCII text); InvalidArgument naming ``field`` when it is not JSON (a set, NaN)."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"{field} is not JSON: {exc}", field=field) from None


def _machine(pipeline: str) -> str:
    """A state machine's name, from its name or its ARN (of any region, account, or
    qualifier, as the server reads ARNs)."""
    if pipeline.startswith("arn:"):
        return parse_state_machine_arn(pipeline, field="pipeline")
    return pipeline


def _at(pipeline: str, execution: str) -> dict[str, str]:
    """An execution route's path parameters."""
    return {"name": _machine(pipeline), "execution": _execution(pipeline, execution)}


def _execution(pipeline: str, execution: str) -> str:
    """An execution's name, from its name or its ARN; an ARN of another state machine's
    execution is refused (its name alone could name an execution of ``pipeline``)."""
    if not execution.startswith("arn:"):
        return execution
    machine, name = parse_execution_arn(execution, field="execution")
    if machine != _machine(pipeline):
        raise InvalidArgument(
            f"{execution[:200]!r} is an execution of state machine {machine!r}, "
            f"not of {_machine(pipeline)!r}",
            field="execution",
        )
    return name


def create_pipeline(
    name: str,
    definition: str | Path | Mapping[str, Any],
    *,
    role_arn: str = "",
    type: str = "STANDARD",
    description: str = "",
    client: Client | None = None,
) -> StateMachine:
    """Create a state machine; its definition is checked by the server (each problem named
    with its place, every Task's resource one the server runs)."""
    config = build_request(
        StateMachineConfig,
        name=name,
        definition=definition_text(definition),
        role_arn=role_arn,
        type=type,
        description=description,
    )
    return from_answer(StateMachine, _client(client).call(routes.CREATE_PIPELINE(), config))


def update_pipeline(
    name: str,
    definition: str | Path | Mapping[str, Any] | None = None,
    *,
    role_arn: str | None = None,
    description: str | None = None,
    client: Client | None = None,
) -> StateMachine:
    """A new definition, role or description; running executions keep theirs."""
    body: dict[str, Any] = {"role_arn": role_arn, "description": description}
    if definition is not None:
        body["definition"] = definition_text(definition)
    change = build_request(StateMachineUpdate, {k: v for k, v in body.items() if v is not None})
    answer = _client(client).call(routes.UPDATE_PIPELINE(name=_machine(name)), change)
    return from_answer(StateMachine, answer)


def get_pipeline(name: str, *, client: Client | None = None) -> StateMachine:
    return from_answer(StateMachine, _client(client).call(routes.GET_PIPELINE(name=_machine(name))))


def list_pipelines(
    *, activity: bool = False, client: Client | None = None
) -> list[StateMachineSummary]:
    """Every state machine, by name (all pages); with ``activity``, each with its newest
    execution and how many of its executions run now (None from a server older than them)."""
    found: list[StateMachineSummary] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"activity": True} if activity else {}
        params.update(_page_params(token))
        page = from_answer(
            StateMachineList, _client(client).call(routes.LIST_PIPELINES(), params=params or None)
        )
        found += page.state_machines
        token = page.next_page_token or page.next_token
        if not token:
            return found


def delete_pipeline(name: str, *, client: Client | None = None) -> None:
    """Delete a state machine; its running executions are stopped."""
    _client(client).call(routes.DELETE_PIPELINE(name=_machine(name)))


def validate_pipeline(
    definition: str | Path | Mapping[str, Any], *, client: Client | None = None
) -> Validation:
    """Check a definition without storing it: ``result`` OK or FAIL, with ``diagnostics``."""
    request = build_request(ValidateDefinition, definition=definition_text(definition))
    return from_answer(Validation, _client(client).call(routes.VALIDATE_PIPELINE(), request))


def start_execution(
    pipeline: str,
    input: Any = None,
    *,
    name: str | None = None,
    client: Client | None = None,
) -> StartedExecution:
    """Start an execution of ``pipeline`` with ``input`` (any JSON value; JSON text is sent
    as is). With a ``name``, starting again with the same input is the same execution."""
    value = {} if input is None else input
    text = input if isinstance(input, str) else _json(value, "input")
    request = build_request(StartExecution, name=name, input=text)
    answer = _client(client).call(
        routes.START_EXECUTION(name=_machine(pipeline)), request, retry=name is not None
    )
    return from_answer(StartedExecution, answer)


def describe_execution(
    pipeline: str, execution: str, *, wait: float = 0, client: Client | None = None
) -> Execution:
    """An execution (by name or ARN); with ``wait``, once it ended or after that many seconds
    (at most 60 per call)."""
    route = routes.GET_EXECUTION(**_at(pipeline, execution))
    params = {"wait": wait} if wait else None
    answer = _client(client).call(route, params=params, timeout=wait + 30 if wait else None)
    return from_answer(Execution, answer)


def list_executions(
    pipeline: str, *, status: str | None = None, client: Client | None = None
) -> ExecutionList:
    """The newest executions of ``pipeline`` (one page)."""
    params = {"status": status} if status else None
    answer = _client(client).call(routes.LIST_EXECUTIONS(name=_machine(pipeline)), params=params)
    return from_answer(ExecutionList, answer)


def execution_definition(
    pipeline: str, execution: str, *, client: Client | None = None
) -> StateMachine:
    """The pipeline as ``execution`` started with it: its definition then, whatever
    updates came since."""
    route = routes.GET_EXECUTION_DEFINITION(**_at(pipeline, execution))
    return from_answer(StateMachine, _client(client).call(route))


def execution_history(
    pipeline: str, execution: str, *, client: Client | None = None
) -> list[HistoryEvent]:
    """Every history event of an execution, oldest first."""
    route = routes.GET_EXECUTION_HISTORY(**_at(pipeline, execution))
    found: list[HistoryEvent] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"max_results": 1000, "limit": 1000, **_page_params(token)}
        page = from_answer(History, _client(client).call(route, params=params))
        found += page.events
        token = page.next_page_token or page.next_token
        if not token:
            return found


def stop_execution(
    pipeline: str,
    execution: str,
    *,
    error: str | None = None,
    cause: str | None = None,
    client: Client | None = None,
) -> Execution:
    """Abort an execution: its tasks are stopped, its timers dropped."""
    request = build_request(StopExecution, error=error, cause=cause)
    route = routes.STOP_EXECUTION(**_at(pipeline, execution))
    return from_answer(Execution, _client(client).call(route, request))


def redrive_execution(pipeline: str, execution: str, *, client: Client | None = None) -> Execution:
    """Run a failed, timed out or aborted execution again from the state that failed."""
    route = routes.REDRIVE_EXECUTION(**_at(pipeline, execution))
    return from_answer(Execution, _client(client).call(route))


def send_task_success(token: str, output: Any, *, client: Client | None = None) -> None:
    """Answer a ``.waitForTaskToken`` task with ``output`` (any JSON value)."""
    text = output if isinstance(output, str) else _json(output, "output")
    request = build_request(TaskSuccess, task_token=token, output=text)
    _client(client).call(routes.SEND_TASK_SUCCESS(), request)


def send_task_failure(
    token: str,
    *,
    error: str | None = None,
    cause: str | None = None,
    client: Client | None = None,
) -> None:
    request = build_request(TaskFailure, task_token=token, error=error, cause=cause)
    _client(client).call(routes.SEND_TASK_FAILURE(), request)


def send_task_heartbeat(token: str, *, client: Client | None = None) -> None:
    request = build_request(TaskHeartbeat, task_token=token)
    _client(client).call(routes.SEND_TASK_HEARTBEAT(), request)


def _page_params(token: str | None) -> dict[str, str]:
    """The next page's token, under the name every native list reads and under the older name
    a server before it reads in these lists (which ignores the other)."""
    return {"page_token": token, "next_token": token} if token else {}

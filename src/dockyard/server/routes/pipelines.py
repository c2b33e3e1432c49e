"""Pipelines: ``/api/v1/pipelines`` (state machines by name, their executions, history, stop,
redrive) and ``/api/v1/pipelines/tasks/*`` (the callbacks of ``.waitForTaskToken`` tasks).

The same operations answer boto3's ``stepfunctions`` client through
:mod:`dockyard.server.compat.aws`; here resources are named by name, not ARN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Response

from dockyard.api.pipelines import (
    Execution,
    ExecutionList,
    ExecutionStatus,
    History,
    MachineType,
    StartedExecution,
    StartExecution,
    StateMachine,
    StateMachineConfig,
    StateMachineList,
    StateMachineUpdate,
    StopExecution,
    Tagging,
    TaskFailure,
    TaskHeartbeat,
    TaskSuccess,
    ValidateDefinition,
    Validation,
    check_name,
    execution_arn,
    state_machine_arn,
)
from dockyard.limits import LIMITS
from dockyard.server._deps import ActorDep, ServicesDep
from dockyard.server._route import OneHopRoute
from dockyard.server._services import Services
from dockyard.server.actor import Actor

router = APIRouter(prefix="/api/v1/pipelines", tags=["pipelines"], route_class=OneHopRoute)

#: Longest a describe may wait for an execution to end (``?wait=``).
MAX_WAIT_S = 60.0


def _machine(name: str) -> str:
    """The ARN of the state machine a path names: a name with a ``:`` would read as an ARN's
    qualifier (``a:b`` as machine ``a``), so it is refused as the name it is."""
    return state_machine_arn(check_name(name))


def _execution(services: Services, actor: Actor, name: str, execution: str) -> str:
    machine = services.pipelines.describe(actor, _machine(name))
    express = machine.type is MachineType.EXPRESS
    return execution_arn(name, check_name(execution, "execution"), express=express)


@router.post("", status_code=201)
def create_pipeline(
    config: StateMachineConfig, services: ServicesDep, actor: ActorDep
) -> StateMachine:
    """A state machine; its definition is checked (the language's rules, and every Task's
    resource is one this server runs), the errors naming the state."""
    return services.pipelines.create(actor, config)


@dataclass(frozen=True, slots=True)
class _Page:
    size: int
    token: str | None


def _page(
    max_results: Annotated[int | None, Query(ge=1, le=1000)] = None,
    page_token: Annotated[str | None, Query(max_length=LIMITS.page_token_length)] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000, include_in_schema=False)] = None,
    next_token: Annotated[
        str | None, Query(max_length=LIMITS.page_token_length, include_in_schema=False)
    ] = None,
) -> _Page:
    """A page as every native list asks for one (``max_results``, ``page_token``; 100 by
    default); the older ``limit`` and ``next_token`` of these lists are still read."""
    return _Page(max_results or limit or 100, page_token or next_token)


PageDep = Annotated[_Page, Depends(_page)]


@router.get("", response_model_exclude_none=True)
def list_pipelines(
    services: ServicesDep,
    actor: ActorDep,
    page: PageDep,
    activity: bool = False,
) -> StateMachineList:
    """The state machines by name; with ``activity``, each with its newest execution and how
    many run now. Without it, a listing has only the fields a client older than them reads
    (its models refuse fields they do not know)."""
    return services.pipelines.list(actor, page.token, page.size, activity=activity)


@router.post("/validate")
def validate_pipeline(request: ValidateDefinition, services: ServicesDep) -> Validation:
    """Check a definition without storing it: OK, or FAIL with each problem and its place."""
    return services.pipelines.validate(request.definition)


@router.post("/tasks/success", status_code=204)
def send_task_success(request: TaskSuccess, services: ServicesDep, actor: ActorDep) -> Response:
    """Answer a ``.waitForTaskToken`` task with its output."""
    services.pipelines.task_success(actor, request)
    return Response(status_code=204)


@router.post("/tasks/failure", status_code=204)
def send_task_failure(request: TaskFailure, services: ServicesDep, actor: ActorDep) -> Response:
    services.pipelines.task_failure(actor, request)
    return Response(status_code=204)


@router.post("/tasks/heartbeat", status_code=204)
def send_task_heartbeat(request: TaskHeartbeat, services: ServicesDep, actor: ActorDep) -> Response:
    """Keep a task with ``HeartbeatSeconds`` from timing out."""
    services.pipelines.task_heartbeat(actor, request)
    return Response(status_code=204)


@router.get("/{name}")
def get_pipeline(name: str, services: ServicesDep, actor: ActorDep) -> StateMachine:
    return services.pipelines.describe(actor, _machine(name))


@router.get("/{name}/tags")
def get_pipeline_tags(name: str, services: ServicesDep, actor: ActorDep) -> dict[str, str]:
    """The state machine's tags (boto3: ListTagsForResource)."""
    return services.pipelines.tags(actor, _machine(name))


@router.patch("/{name}/tags", status_code=204)
def tag_pipeline(name: str, request: Tagging, services: ServicesDep, actor: ActorDep) -> Response:
    """Add tags, or change their values: at most 50 in all (boto3: TagResource)."""
    services.pipelines.tag(actor, _machine(name), request)
    return Response(status_code=204)


@router.delete("/{name}/tags", status_code=204)
def untag_pipeline(
    name: str, services: ServicesDep, actor: ActorDep, key: Annotated[list[str], Query()]
) -> Response:
    """Remove the tags ``?key=...`` names (boto3: UntagResource)."""
    services.pipelines.untag(actor, _machine(name), key)
    return Response(status_code=204)


@router.patch("/{name}")
def update_pipeline(
    name: str, change: StateMachineUpdate, services: ServicesDep, actor: ActorDep
) -> StateMachine:
    """A new definition, role or description; running executions keep the one they began with."""
    return services.pipelines.update(actor, _machine(name), change)


@router.delete("/{name}", status_code=204)
def delete_pipeline(name: str, services: ServicesDep, actor: ActorDep) -> Response:
    """Delete it; its running executions are stopped."""
    services.pipelines.delete(actor, _machine(name))
    return Response(status_code=204)


@router.post("/{name}/executions", status_code=201)
async def start_execution(
    name: str, request: StartExecution, services: ServicesDep, actor: ActorDep
) -> StartedExecution:
    """Start an execution (the same name and input again, while it runs, is the same one)."""
    return await services.pipelines.start_soon(actor, _machine(name), request)


@router.get("/{name}/executions")
def list_executions(
    name: str,
    services: ServicesDep,
    actor: ActorDep,
    page: PageDep,
    status: ExecutionStatus | None = None,
) -> ExecutionList:
    """Its executions, newest first."""
    return services.pipelines.list_executions(
        actor, _machine(name), status=status, next_token=page.token, limit=page.size
    )


@router.get("/{name}/executions/{execution}")
async def get_execution(
    name: str,
    execution: str,
    services: ServicesDep,
    actor: ActorDep,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_S)] = 0,
) -> Execution:
    """An execution; with ``wait``, once it has ended or after that many seconds (waiting on
    the event loop: a long poll holds no thread of the pool)."""
    if wait:
        arn = await anyio.to_thread.run_sync(_execution, services, actor, name, execution)
        return await services.pipelines.await_(actor, arn, wait)
    return await anyio.to_thread.run_sync(_described, services, actor, name, execution)


def _described(services: Services, actor: Actor, name: str, execution: str) -> Execution:
    return services.pipelines.describe_execution(
        actor, _execution(services, actor, name, execution)
    )


@router.get("/{name}/executions/{execution}/definition")
def get_execution_definition(
    name: str, execution: str, services: ServicesDep, actor: ActorDep
) -> StateMachine:
    """The state machine as the execution started with it (its definition then: an update
    since changes the machine, not its running or past executions)."""
    arn = _execution(services, actor, name, execution)
    return services.pipelines.machine_for_execution(actor, arn)


@router.get("/{name}/executions/{execution}/history")
def get_history(
    name: str,
    execution: str,
    services: ServicesDep,
    actor: ActorDep,
    page: PageDep,
    reverse: bool = False,
) -> History:
    """Its history events, oldest first (``reverse``: newest first)."""
    arn = _execution(services, actor, name, execution)
    return services.pipelines.history(
        actor, arn, next_token=page.token, limit=page.size, reverse=reverse
    )


@router.post("/{name}/executions/{execution}/stop")
def stop_execution(
    name: str,
    execution: str,
    services: ServicesDep,
    actor: ActorDep,
    request: StopExecution | None = None,
) -> Execution:
    """Abort it: its tasks are stopped (a job gets SIGTERM), its timers dropped."""
    arn = _execution(services, actor, name, execution)
    return services.pipelines.stop(actor, arn, request or StopExecution())


@router.post("/{name}/executions/{execution}/redrive")
def redrive_execution(
    name: str, execution: str, services: ServicesDep, actor: ActorDep
) -> Execution:
    """Run a failed, timed out or aborted execution again from the state that failed."""
    arn = _execution(services, actor, name, execution)
    services.pipelines.redrive(actor, arn)
    return services.pipelines.describe_execution(actor, arn)

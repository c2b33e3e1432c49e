"""Monitoring schedules: ``/api/v1/monitoring-schedules`` (create, list, describe, update,
delete, run a window now, executions with their violations and reports, ground truth)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from dockyard.api.monitoring import (
    GroundTruthUploaded,
    MonitoringExecution,
    MonitoringExecutionList,
    MonitoringSchedule,
    MonitoringScheduleList,
    MonitoringScheduleSpec,
    RunMonitoringSchedule,
    UpdateMonitoringSchedule,
    ViolationList,
)
from dockyard.errors import InvalidArgument
from dockyard.limits import LIMITS
from dockyard.server._deps import ActorDep, ServicesDep
from dockyard.server._route import OneHopRoute

router = APIRouter(
    prefix="/api/v1/monitoring-schedules", tags=["monitoring"], route_class=OneHopRoute
)

MaxResults = Annotated[int, Query(ge=1, le=LIMITS.page_max_results)]
PageToken = Annotated[str | None, Query(max_length=LIMITS.page_token_length)]
#: A ground-truth upload's body (100,000 labels of a few hundred bytes each fit).
_MAX_GROUND_TRUTH_BYTES = 64 << 20
#: A report is HTML made from captured data: never run scripts from it on the API's origin.
_REPORT_HEADERS = {
    "Content-Security-Policy": (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    ),
    "X-Content-Type-Options": "nosniff",
}


@router.post("", status_code=201)
def create_schedule(
    spec: MonitoringScheduleSpec, services: ServicesDep, actor: ActorDep
) -> MonitoringSchedule:
    """Create a schedule; a baseline to suggest runs as its first job."""
    return services.monitoring.create(actor, spec)


@router.get("")
def list_schedules(
    services: ServicesDep,
    actor: ActorDep,
    max_results: MaxResults = LIMITS.page_default_results,
    page_token: PageToken = None,
) -> MonitoringScheduleList:
    """Schedules you may read, newest first, each with its last execution."""
    page = services.monitoring.page(actor, max_results=max_results, page_token=page_token)
    return MonitoringScheduleList(
        monitoring_schedules=page.items, next_page_token=page.next_page_token
    )


@router.get("/{name}")
def describe_schedule(name: str, services: ServicesDep, actor: ActorDep) -> MonitoringSchedule:
    return services.monitoring.get(actor, name)


@router.patch("/{name}")
def update_schedule(
    name: str, change: UpdateMonitoringSchedule, services: ServicesDep, actor: ActorDep
) -> MonitoringSchedule:
    """Change the fields given; ``enabled: false`` stops it, ``true`` starts it from now."""
    return services.monitoring.update(actor, name, change)


@router.delete("/{name}", status_code=204)
def delete_schedule(name: str, services: ServicesDep, actor: ActorDep) -> Response:
    services.monitoring.delete(actor, name)
    return Response(status_code=204)


@router.post("/{name}/run", status_code=202)
def run_schedule(
    name: str,
    services: ServicesDep,
    actor: ActorDep,
    window: RunMonitoringSchedule | None = None,
) -> MonitoringExecution:
    """Check a window now (``{"start", "end"}`` in ms; default the last completed hour)."""
    return services.monitoring.run(actor, name, window or RunMonitoringSchedule())


@router.get("/{name}/executions")
def list_executions(
    name: str,
    services: ServicesDep,
    actor: ActorDep,
    max_results: MaxResults = LIMITS.page_default_results,
    page_token: PageToken = None,
) -> MonitoringExecutionList:
    """Executions, latest window first."""
    page = services.monitoring.executions(
        actor, name, max_results=max_results, page_token=page_token
    )
    return MonitoringExecutionList(executions=page.items, next_page_token=page.next_page_token)


@router.get("/{name}/executions/{execution_id}")
def describe_execution(
    name: str, execution_id: str, services: ServicesDep, actor: ActorDep
) -> MonitoringExecution:
    """One execution with its violations."""
    return services.monitoring.execution(actor, name, execution_id)


@router.get("/{name}/executions/{execution_id}/report")
def execution_report(
    name: str, execution_id: str, services: ServicesDep, actor: ActorDep
) -> Response:
    """The execution's HTML report (baseline against current, a plot per feature)."""
    html = services.monitoring.report(actor, name, execution_id)
    return Response(content=html, media_type="text/html", headers=_REPORT_HEADERS)


@router.get("/{name}/violations")
def list_violations(
    name: str,
    services: ServicesDep,
    actor: ActorDep,
    max_results: MaxResults = LIMITS.page_default_results,
    page_token: PageToken = None,
) -> ViolationList:
    """Violations of the executions that found some, latest window first; each names its
    execution and window."""
    page = services.monitoring.executions(
        actor, name, max_results=max_results, page_token=page_token, with_violations=True
    )
    violations = [
        {
            **v,
            "execution_id": e.execution_id,
            "window_start": e.window_start,
            "window_end": e.window_end,
        }
        for e in page.items
        for v in e.violations or []
    ]
    return ViolationList(violations=violations, next_page_token=page.next_page_token)


@router.post("/{name}/ground-truth", status_code=201)
async def upload_ground_truth(
    name: str, request: Request, services: ServicesDep, actor: ActorDep
) -> GroundTruthUploaded:
    """Labels by inference id: a JSON list or JSON Lines of ``{"inference_id", "label"}``."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_GROUND_TRUTH_BYTES:
            raise InvalidArgument(
                f"a ground-truth upload is at most {_MAX_GROUND_TRUTH_BYTES >> 20} MB: split it",
                field="body",
            )
    return await run_in_threadpool(
        services.monitoring.upload_ground_truth, actor, name, bytes(body)
    )

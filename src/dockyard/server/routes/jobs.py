"""Native REST routes for jobs: ``/api/v1/jobs``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from dockyard.jobs import Job, TrainingJobSpec
from dockyard.server._deps import JobsDep

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


class JobList(BaseModel):
    jobs: list[Job]


@router.post("/training", status_code=201)
def submit_training_job(spec: TrainingJobSpec, jobs: JobsDep) -> Job:
    """Queue a training job; the spec is validated here, once, with errors naming the field."""
    return jobs.submit(spec, kind="training")


@router.get("")
def list_jobs(
    jobs: JobsDep,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[list[str] | None, Query(max_length=10)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JobList:
    """Jobs, newest first."""
    return JobList(jobs=jobs.list(kind=kind, status=status, limit=limit, offset=offset))


@router.get("/{name}")
def describe_job(name: str, jobs: JobsDep) -> Job:
    """A job with its spec, status, failure reason and status history."""
    return jobs.get(name)


@router.post("/{name}/stop")
def stop_job(name: str, jobs: JobsDep) -> Job:
    """Stop a job: SIGTERM, then SIGKILL after the grace period."""
    return jobs.stop(name)


@router.get("/{name}/logs")
async def job_logs(
    name: str,
    jobs: JobsDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=16 << 20)] = 1 << 20,
) -> Response:
    """Log bytes from ``offset``. ``X-Next-Offset`` says where to continue and
    ``X-Job-Ended`` whether more can come: poll to follow a running job."""
    data, next_offset, ended = await run_in_threadpool(jobs.read_log, name, offset, limit)
    return Response(
        data,
        media_type="text/plain; charset=utf-8",
        headers={"X-Next-Offset": str(next_offset), "X-Job-Ended": str(ended).lower()},
    )

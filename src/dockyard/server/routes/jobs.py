"""Native REST routes for jobs: ``/api/v1/jobs``, and the few a job's runner calls (its launch,
its reports, its log), which only the runner's own token may use."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from dockyard.api.jobs import (
    Job,
    JobControl,
    JobLaunch,
    JobStatus,
    LogAppended,
    RunnerReport,
    TrainingJobSpec,
)
from dockyard.artifacts import artifact_uri
from dockyard.artifacts.paths import normalize_artifact_path
from dockyard.errors import InvalidArgument
from dockyard.limits import LIMITS
from dockyard.server._deps import ActorDep, JobsDep, ServicesDep
from dockyard.server._route import OneHopRoute
from dockyard.server._streaming import download
from dockyard.server.tracking import encode_page_token

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], route_class=OneHopRoute)

# The databases' largest integer (a 64-bit OFFSET); beyond it a list is simply empty.
_MAX_OFFSET = 2**63 - 1


class JobList(BaseModel):
    jobs: list[Job]
    next_page_token: str | None = None


@router.post("/training", status_code=201)
def submit_training_job(spec: TrainingJobSpec, jobs: JobsDep, actor: ActorDep) -> Job:
    """Queue a training job; the spec is validated here, once, with errors naming the field."""
    return jobs.submit(actor, spec)


@router.post("/transform", status_code=201)
def submit_transform_job(
    services: ServicesDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]
) -> Job:
    """Queue a batch transform job.

    The body is a transform spec (``dockyard.runtime.batch.TransformSpec``: SageMaker's
    CreateTransformJob fields, either spelling) plus ``name``, ``experiment`` and ``tags``.
    Without an output URI, outputs go to ``transform/<job name>/`` in the artifact store.
    """
    root = artifact_uri(services.artifacts, "transform")
    return services.jobs.submit_transform(actor, body, root)


@router.post("/{name}/resume")
def resume_job(name: str, jobs: JobsDep, actor: ActorDep) -> Job:
    """Queue a failed or stopped transform job again; finished shards are not redone."""
    return jobs.resume(actor, name)


@router.get("")
def list_jobs(
    jobs: JobsDep,
    actor: ActorDep,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    # One of the statuses, spelt as jobs show them: another word matched nothing, silently.
    status: Annotated[list[JobStatus] | None, Query(max_length=10)] = None,
    max_results: Annotated[int | None, Query(ge=1, le=LIMITS.page_max_results)] = None,
    page_token: Annotated[str | None, Query(max_length=LIMITS.page_token_length)] = None,
    limit: Annotated[
        int,
        Query(ge=1, le=LIMITS.page_max_results, description="Older name of max_results."),
    ] = LIMITS.page_default_results,
    offset: Annotated[
        int, Query(ge=0, le=_MAX_OFFSET, description="Older paging; use page_token.")
    ] = 0,
) -> JobList:
    """Jobs, newest first, a page at a time like every native list: ``max_results`` and the
    ``next_page_token`` of the page before. ``limit`` and ``offset`` are still accepted."""
    if offset and page_token:
        raise InvalidArgument("give page_token or offset, not both", field="offset")
    if offset:
        page_token = encode_page_token(offset)
    page = jobs.page(
        actor, kind=kind, status=status, max_results=max_results or limit, page_token=page_token
    )
    return JobList(jobs=page.items, next_page_token=page.next_page_token)


@router.get("/{name}")
async def describe_job(
    name: str,
    jobs: JobsDep,
    actor: ActorDep,
    wait: Annotated[float, Query(ge=0, le=60)] = 0,
) -> Job:
    """A job with its spec, status, failure reason and status history.

    With ``wait``, a long poll: the answer comes when the job has ended, or after ``wait``
    seconds with the job as it is then, so a client waiting for a job asks once in a while
    instead of every fraction of a second.
    """
    if wait > 0:
        return await jobs.await_job(actor, name, wait)
    return await run_in_threadpool(jobs.get, actor, name)


class OutputFile(BaseModel):
    path: str
    size: int | None


class OutputList(BaseModel):
    uri: str
    files: list[OutputFile]


@router.get("/{name}/outputs")
def list_job_outputs(name: str, jobs: JobsDep, actor: ActorDep) -> OutputList:
    """A transform job's output files (paths relative to its output URI)."""
    uri, store = jobs.outputs(actor, name)
    files = [OutputFile(path=e.path, size=e.size) for e in store.list("", recursive=True)]
    return OutputList(uri=uri, files=files)


@router.get("/{name}/outputs/{path:path}")
async def get_job_output(name: str, path: str, jobs: JobsDep, actor: ActorDep) -> StreamingResponse:
    """One output file of a transform job."""
    _, store = await run_in_threadpool(jobs.outputs, actor, name)
    key = normalize_artifact_path(path)
    return await download(store, key, key.rsplit("/", 1)[-1])


@router.post("/{name}/stop")
def stop_job(name: str, jobs: JobsDep, actor: ActorDep) -> Job:
    """Stop a job: SIGTERM, then SIGKILL after the grace period."""
    return jobs.stop(actor, name)


@router.get("/{name}/logs")
async def job_logs(
    name: str,
    jobs: JobsDep,
    actor: ActorDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=16 << 20)] = 1 << 20,
) -> Response:
    """Log bytes from ``offset``. ``X-Next-Offset`` says where to continue and
    ``X-Job-Ended`` whether more can come: poll to follow a running job."""
    data, next_offset, ended = await run_in_threadpool(jobs.read_log, actor, name, offset, limit)
    return Response(
        data,
        media_type="text/plain; charset=utf-8",
        headers={"X-Next-Offset": str(next_offset), "X-Job-Ended": str(ended).lower()},
    )


# -- what a job's runner calls ---------------------------------------------------------------------


@router.post("/{name}/launch")
def launch_job(name: str, jobs: JobsDep, actor: ActorDep) -> JobLaunch:
    """The launch description of a started job: what its runner fetches first (its runner's
    token only)."""
    return jobs.launch(actor, name)


@router.post("/{name}/reports")
def report_job(name: str, report: RunnerReport, jobs: JobsDep, actor: ActorDep) -> JobControl:
    """Status transitions and progress from the job's runner; the answer is the job's control
    state (whether to stop). Lines already applied are skipped, so a retry changes nothing."""
    return jobs.report(actor, name, report)


@router.post("/{name}/logs")
async def append_job_log(
    name: str,
    request: Request,
    jobs: JobsDep,
    actor: ActorDep,
    offset: Annotated[int, Query(ge=0, le=_MAX_OFFSET)],
) -> LogAppended:
    """Append the body to the job's log at ``offset`` (its runner's token only). Bytes the log
    holds already are not stored twice; an offset past the end is refused with 409 and the
    log's size in ``details``."""
    data = await request.body()
    size = await run_in_threadpool(jobs.append_log, actor, name, offset, data)
    return LogAppended(size=size)

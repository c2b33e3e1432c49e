"""Native REST routes for logged models (MLflow 3's ``log_model`` makes one per call):
``/api/v1/runs/{run_id}/logged-models`` (the models a run produced) and
``/api/v1/logged-models/{model_id}`` with its files (read-only here: clients write them through
MLflow's API).

A logged model's files live under the model, not under the run's artifacts, so a run page that
looked only at the run's folder would say the run logged no model.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from dockyard.api.tracking import LoggedModel
from dockyard.server._deps import ActorDep, ServicesDep
from dockyard.server._route import OneHopRoute
from dockyard.server._streaming import download_under
from dockyard.server.routes.artifacts import ArtifactList, files_under

router = APIRouter(prefix="/api/v1", tags=["logged models"], route_class=OneHopRoute)


class LoggedModelList(BaseModel):
    models: list[LoggedModel]


@router.get("/runs/{run_id}/logged-models")
def run_logged_models(run_id: str, services: ServicesDep, actor: ActorDep) -> LoggedModelList:
    """The active logged models a run produced (its source run, or an output it logged)."""
    return LoggedModelList(models=services.logged_models.of_run(actor, run_id))


@router.get("/logged-models/{model_id}")
def get_logged_model(model_id: str, services: ServicesDep, actor: ActorDep) -> LoggedModel:
    """One logged model with its tags, params and linked metrics."""
    return services.logged_models.get(actor, model_id)


@router.get("/logged-models/{model_id}/artifacts")
async def list_logged_model_files(
    model_id: str,
    services: ServicesDep,
    actor: ActorDep,
    path: Annotated[str, Query(max_length=4096)] = "",
) -> ArtifactList:
    """Files and folders directly under ``path`` in the model's files."""
    prefix = await run_in_threadpool(services.logged_models.artifact_prefix, actor, model_id)
    return await files_under(services.artifacts, prefix, path)


@router.get("/logged-models/{model_id}/artifacts/{path:path}", response_model=None)
async def get_logged_model_file(
    model_id: str, path: str, services: ServicesDep, actor: ActorDep
) -> StreamingResponse:
    """Download one of the model's files."""
    prefix = await run_in_threadpool(services.logged_models.artifact_prefix, actor, model_id)
    return await download_under(services.artifacts, prefix, path)

"""Native REST routes for experiments: ``/api/v1/experiments``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel

from dockyard.api.tracking import (
    CreateExperiment,
    Experiment,
    LifecycleStage,
    TagIn,
    UpdateExperiment,
    ViewType,
)
from dockyard.limits import LIMITS
from dockyard.server._deps import ActorDep, TrackingDep
from dockyard.server._route import OneHopRoute, short_read

router = APIRouter(prefix="/api/v1/experiments", tags=["experiments"], route_class=OneHopRoute)


class ExperimentPage(BaseModel):
    experiments: list[Experiment]
    next_page_token: str | None = None


@router.post("", status_code=201)
def create_experiment(body: CreateExperiment, tracking: TrackingDep, actor: ActorDep) -> Experiment:
    """Create an experiment; its name must be unused."""
    return tracking.create_experiment(actor, body)


@router.get("")
def list_experiments(
    tracking: TrackingDep,
    actor: ActorDep,
    view: ViewType = ViewType.ACTIVE_ONLY,
    name_like: Annotated[str | None, Query(max_length=500)] = None,
    max_results: Annotated[int, Query(ge=1, le=LIMITS.search_max_results)] = 1000,
    page_token: Annotated[str | None, Query(max_length=LIMITS.page_token_length)] = None,
) -> ExperimentPage:
    """List experiments, optionally filtered by a SQL LIKE pattern on the name."""
    page = tracking.search_experiments(
        actor, view=view, name_like=name_like, max_results=max_results, page_token=page_token
    )
    return ExperimentPage(experiments=page.items, next_page_token=page.next_page_token)


@router.get("/by-name/{name:path}")
@short_read
def get_experiment_by_name(name: str, tracking: TrackingDep, actor: ActorDep) -> Experiment:
    """Look an experiment up by its unique name."""
    return tracking.get_experiment_by_name(actor, name)


@router.put("/by-name/{name:path}")
def ensure_experiment(
    name: Annotated[str, Path(min_length=1, max_length=LIMITS.experiment_name_length)],
    tracking: TrackingDep,
    actor: ActorDep,
) -> Experiment:
    """The experiment with this name, created first if there is none (get or create)."""
    return tracking.ensure_experiment(actor, CreateExperiment(name=name))


@router.get("/{experiment_id}")
@short_read
def get_experiment(experiment_id: str, tracking: TrackingDep, actor: ActorDep) -> Experiment:
    """One experiment with its tags."""
    return tracking.get_experiment(actor, experiment_id)


@router.patch("/{experiment_id}")
def update_experiment(
    experiment_id: str, body: UpdateExperiment, tracking: TrackingDep, actor: ActorDep
) -> Experiment:
    """Rename an experiment."""
    return tracking.rename_experiment(actor, experiment_id, body.name)


@router.delete("/{experiment_id}", status_code=204)
def delete_experiment(experiment_id: str, tracking: TrackingDep, actor: ActorDep) -> Response:
    """Soft-delete an experiment (restorable)."""
    tracking.set_experiment_stage(actor, experiment_id, LifecycleStage.DELETED)
    return Response(status_code=204)


@router.post("/{experiment_id}/restore")
def restore_experiment(experiment_id: str, tracking: TrackingDep, actor: ActorDep) -> Experiment:
    """Undo a soft delete."""
    tracking.set_experiment_stage(actor, experiment_id, LifecycleStage.ACTIVE)
    return tracking.get_experiment(actor, experiment_id)


@router.put("/{experiment_id}/tags")
def set_experiment_tag(
    experiment_id: str, body: TagIn, tracking: TrackingDep, actor: ActorDep
) -> Experiment:
    """Set (or overwrite) one tag."""
    tracking.set_experiment_tag(actor, experiment_id, body.key, body.value)
    return tracking.get_experiment(actor, experiment_id)


@router.delete("/{experiment_id}/tags/{key:path}", status_code=204)
def delete_experiment_tag(
    experiment_id: str, key: str, tracking: TrackingDep, actor: ActorDep
) -> Response:
    """Remove one tag."""
    tracking.delete_experiment_tag(actor, experiment_id, key)
    return Response(status_code=204)

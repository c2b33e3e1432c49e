"""Tuning jobs: ``/api/v1/tuning-jobs`` (create, list, describe with the best trial, trials,
parameter importance, stop). Creating takes SageMaker's ``CreateHyperParameterTuningJob``
spellings or snake_case."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import ValidationError

from dockyard.api.tuning import (
    Importance,
    TrialList,
    TuningJob,
    TuningJobList,
    TuningJobSpec,
    sagemaker_definition,
)
from dockyard.errors import invalid_from_validation
from dockyard.limits import LIMITS
from dockyard.server._deps import ActorDep, ServicesDep
from dockyard.server._route import OneHopRoute
from dockyard.server.compat.aws import native_tuning_spec

router = APIRouter(prefix="/api/v1/tuning-jobs", tags=["tuning"], route_class=OneHopRoute)


@router.post("", status_code=201)
def create_tuning_job(
    body: Annotated[dict[str, Any], Body()], services: ServicesDep, actor: ActorDep
) -> TuningJob:
    """Start a tuning job; its trials are training jobs the server submits as you. A training
    job definition in SageMaker's CreateTrainingJob shape (``AlgorithmSpecification``,
    ``InputDataConfig``...) is read as the SageMaker API reads it."""
    if sagemaker_definition(body):
        spec = native_tuning_spec(body)
    else:
        try:
            spec = TuningJobSpec.model_validate(body)
        except ValidationError as exc:
            raise invalid_from_validation(exc.errors()) from None
    return services.tuning.create(actor, spec)


@router.get("")
def list_tuning_jobs(
    services: ServicesDep,
    actor: ActorDep,
    status: Annotated[list[str] | None, Query(max_length=10)] = None,
    max_results: Annotated[int, Query(ge=1, le=LIMITS.page_max_results)] = (
        LIMITS.page_default_results
    ),
    page_token: Annotated[str | None, Query(max_length=LIMITS.page_token_length)] = None,
) -> TuningJobList:
    """Tuning jobs you may read, newest first, a page at a time."""
    page = services.tuning.page(
        actor, status=status, max_results=max_results, page_token=page_token
    )
    return TuningJobList(tuning_jobs=page.items, next_page_token=page.next_page_token)


@router.get("/{name}")
def describe_tuning_job(name: str, services: ServicesDep, actor: ActorDep) -> TuningJob:
    """A tuning job, its trial counts and its best trial."""
    return services.tuning.get(actor, name)


@router.get("/{name}/trials")
def list_trials(name: str, services: ServicesDep, actor: ActorDep) -> TrialList:
    """Every trial, by number: hyperparameters, objective, status, job."""
    return TrialList(trials=services.tuning.trials(actor, name))


@router.get("/{name}/importance")
def importance(name: str, services: ServicesDep, actor: ActorDep) -> Importance:
    """How much each hyperparameter explains the objective (fANOVA over completed trials)."""
    return Importance(importance=services.tuning.importance(actor, name))


@router.post("/{name}/stop")
def stop_tuning_job(name: str, services: ServicesDep, actor: ActorDep) -> TuningJob:
    """Stop it: running trials are stopped, then it ends Stopped."""
    return services.tuning.stop(actor, name)

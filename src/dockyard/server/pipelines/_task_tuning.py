"""Tuning as a task: ``dockyard:tune[.sync]`` and
``arn:aws:states:::sagemaker:createHyperParameterTuningJob[.sync]``.

The parameters are a tuning job spec (:mod:`dockyard.api.tuning`: SageMaker's
CreateHyperParameterTuningJob body or snake_case); a training job definition in SageMaker's
CreateTrainingJob shape (an image, ``InputDataConfig``...) is read as the server's SageMaker API
reads it (:data:`._task_sagemaker.SageMakerTuning`), script mode's included. The tuning job is
named from the task's key unless the spec names it, so a restart finds it instead of starting
another. With ``.sync`` the task ends when the tuning job does: Completed answers with the
best trial, Failed or Stopped fail the task (``Tuning.Failed``, ``Tuning.Stopped``). Stopping
the execution stops the tuning job.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from dockyard.errors import (
    AlreadyExists,
    DockyardError,
    InvalidArgument,
    NotFound,
    invalid_from_validation,
)
from dockyard.server.pipelines._task_jobs import _dynamic
from dockyard.server.pipelines._task_sagemaker import SageMakerTuning
from dockyard.server.pipelines._tasks import (
    REQUEST,
    SYNC,
    BaseIntegration,
    Failed,
    Outcome,
    Succeeded,
    TaskCall,
    Waiting,
    work_name,
)

__all__ = ["TUNE", "TuningTask"]

TUNE = ("dockyard:tune", "arn:aws:states:::sagemaker:createHyperParameterTuningJob")


def _answer(job: Any, sagemaker: bool) -> dict[str, Any]:
    best = job.best_trial
    if not sagemaker:
        return {
            "name": job.name,
            "status": str(job.status),
            "run_id": job.run_id,
            "best_trial": None if best is None else best.model_dump(mode="json"),
            "counts": job.counts.model_dump(mode="json"),
        }
    answer: dict[str, Any] = {
        "HyperParameterTuningJobName": job.name,
        "HyperParameterTuningJobStatus": str(job.status),
        "TrainingJobStatusCounters": {
            "Completed": job.counts.completed,
            "InProgress": job.counts.in_progress,
            "Stopped": job.counts.stopped,
            "NonRetryableError": job.counts.failed,
        },
    }
    if best is not None:
        answer["BestTrainingJob"] = {
            "TrainingJobName": best.job,
            "TunedHyperParameters": {k: str(v) for k, v in best.hyperparameters.items()},
            "FinalHyperParameterTuningJobObjectiveMetric": {"Value": best.objective},
        }
    return answer


class TuningTask(BaseIntegration):
    """Starts a tuning job and, for ``.sync``, waits for it to end."""

    modes = frozenset({REQUEST, SYNC})

    def __init__(self, tuning: Any, sagemaker_tuning: SageMakerTuning | None = None) -> None:
        self._tuning = tuning
        self._sagemaker_tuning = sagemaker_tuning

    def _spec(self, payload: dict[str, Any]) -> Any:
        from dockyard.api.tuning import TuningJobSpec, sagemaker_definition

        if sagemaker_definition(payload) and self._sagemaker_tuning is not None:
            return self._sagemaker_tuning(payload)
        try:
            return TuningJobSpec.model_validate(payload)
        except ValidationError as exc:
            raise invalid_from_validation(exc.errors()) from None

    def check(self, base: str, payload: Any) -> None:
        """A spec written out in full is checked when the state machine is created."""
        if isinstance(payload, dict) and not _dynamic(payload):
            self._spec(payload)

    def start(self, call: TaskCall) -> Outcome:
        try:
            if not isinstance(call.payload, dict):
                raise InvalidArgument("a tuning task's parameters must be a JSON object")
            spec = self._spec(call.payload)
            name = spec.name or work_name("tune", call.key)
            try:
                job = self._tuning.get(call.actor, name)
            except NotFound:
                try:
                    job = self._tuning.create(call.actor, spec.model_copy(update={"name": name}))
                except AlreadyExists:
                    job = self._tuning.get(call.actor, name)
        except DockyardError as exc:
            return Failed("Tuning.ValidationException", exc.message)
        except ValueError as exc:
            return Failed("Tuning.ValidationException", str(exc)[:2000])
        if call.mode == SYNC:
            return Waiting(job.name)
        return Succeeded(_answer(job, call.base.startswith("arn:")))

    def poll(self, call: TaskCall, handle: str) -> Succeeded | Failed | None:
        job = self._tuning.get(call.actor, handle)
        if not job.status.is_terminal:
            return None
        status = str(job.status)
        if status != "Completed":
            return Failed(
                f"Tuning.{status}", job.failure_reason or f"tuning job {job.name} {status}"
            )
        return Succeeded(_answer(job, call.base.startswith("arn:")))

    def cancel(self, call: TaskCall, handle: str) -> None:
        self._tuning.stop(call.actor, handle)

"""SageMaker's model and endpoint-config calls as tasks, as Step Functions writes them.

- ``arn:aws:states:::sagemaker:createModel``: CreateModel's request (``ModelName``,
  ``PrimaryContainer`` with ``ModelDataUrl``, a training task's
  ``ModelArtifacts.S3ModelArtifacts``); answers ``{"ModelArn": ...}``.
- ``arn:aws:states:::sagemaker:createEndpointConfig``: CreateEndpointConfig's request
  (``EndpointConfigName``, ``ProductionVariants`` naming models); answers
  ``{"EndpointConfigArn": ...}``.
- ``createEndpoint`` / ``updateEndpoint`` with SageMaker's ``EndpointName`` and
  ``EndpointConfigName`` (:mod:`._task_endpoints` hands them here); answers
  ``{"EndpointArn": ...}``.

Each runs what the server's SageMaker API runs for the same request (the server hands its
handlers in as :data:`SageMakerRequests`), on a worker thread (CreateModel of a ``model.tar.gz``
waits for the job that unpacks it). A refusal fails the task with Step Functions' name for a
SageMaker error, ``SageMaker.AmazonSageMakerException``, and a cause carrying SageMaker's
error code, as AWS writes it. As in Step Functions these calls are request-response only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dockyard.errors import AlreadyExists, DockyardError, InvalidArgument
from dockyard.server.pipelines._tasks import (
    REQUEST,
    BaseIntegration,
    Failed,
    InBackground,
    Outcome,
    Succeeded,
    TaskCall,
    require,
)

if TYPE_CHECKING:
    from dockyard.api.jobs import TrainingJobSpec
    from dockyard.api.tuning import TuningJobSpec
    from dockyard.server.actor import Actor

__all__ = [
    "SAGEMAKER",
    "SDK_PREFIX",
    "SageMakerRequests",
    "SageMakerSdkTask",
    "SageMakerTask",
    "SageMakerTraining",
    "SageMakerTransform",
    "SageMakerTuning",
    "refused",
    "sagemaker_call",
]

CREATE_MODEL = "arn:aws:states:::sagemaker:createModel"
CREATE_ENDPOINT_CONFIG = "arn:aws:states:::sagemaker:createEndpointConfig"
SAGEMAKER = (CREATE_MODEL, CREATE_ENDPOINT_CONFIG)
ERROR = "SageMaker.AmazonSageMakerException"

#: The SageMaker action each resource base runs.
_ACTIONS = {
    CREATE_MODEL: "CreateModel",
    CREATE_ENDPOINT_CONFIG: "CreateEndpointConfig",
    "arn:aws:states:::sagemaker:createEndpoint": "CreateEndpoint",
    "arn:aws:states:::sagemaker:updateEndpoint": "UpdateEndpoint",
}
_REQUIRED = {
    CREATE_MODEL: (("ModelName",),),
    CREATE_ENDPOINT_CONFIG: (("EndpointConfigName",), ("ProductionVariants",)),
}


#: Runs SageMaker's action (``CreateModel``...) for an actor with its request, as the server's
#: SageMaker API does, and answers as it answers; raises a DockyardError when it refuses (with
#: SageMaker's error code as ``kind`` where the API has one). Given by the server, which holds
#: the API: this package does not import it.
SageMakerRequests = Callable[["Actor", str, dict[str, Any]], dict[str, Any]]

#: Reads SageMaker's CreateTrainingJob request as the server's SageMaker API reads it (a built-in
#: algorithm's image, or a framework image's script mode: ``sagemaker_program`` and
#: ``sagemaker_submit_directory``) into the training job it submits; raises a DockyardError
#: naming the request's field. Given by the server, as :data:`SageMakerRequests` is.
SageMakerTraining = Callable[[dict[str, Any]], "TrainingJobSpec"]

#: Reads SageMaker's CreateTransformJob request for an actor as the server's SageMaker API
#: reads it (``ModelName`` a SageMaker model, kept to answer back; the name aliased when a
#: training job has it) into the transform job spec it submits. Given by the server.
SageMakerTransform = Callable[["Actor", dict[str, Any]], dict[str, Any]]

#: Reads a tuning job body whose training job definition has SageMaker's shape
#: (``AlgorithmSpecification.TrainingImage``, ``InputDataConfig``...) as the server's SageMaker
#: API reads CreateHyperParameterTuningJob's. Given by the server.
SageMakerTuning = Callable[[dict[str, Any]], "TuningJobSpec"]


def sagemaker_call(run: SageMakerRequests, call: TaskCall) -> Succeeded | Failed:
    """Run the SageMaker action of ``call.base`` with the task's parameters as its request."""
    action = _ACTIONS[call.base]
    if not isinstance(call.payload, dict):
        return Failed(ERROR, f"{action}: the task's parameters must be a JSON object")
    try:
        return Succeeded(run(call.actor, action, dict(call.payload)))
    except DockyardError as exc:
        code = getattr(exc, "kind", None)  # SageMaker's own error code
        if code is None and isinstance(exc, AlreadyExists):
            code = "ResourceInUse"
        return refused(exc.message, code if isinstance(code, str) else None)
    except ValueError as exc:  # a request pydantic refused
        return refused(str(exc)[:2000])


def refused(message: str, code: str | None = None) -> Failed:
    """A SageMaker call refused, as Step Functions reports one:
    ``SageMaker.AmazonSageMakerException`` with SageMaker's error code in the cause
    (``ValidationException`` unless given)."""
    return Failed(
        ERROR,
        f"{message} (Service: AmazonSageMaker; Status Code: 400; "
        f"Error Code: {code or 'ValidationException'})",
    )


class SageMakerTask(BaseIntegration):
    """CreateModel and CreateEndpointConfig (see the module docstring)."""

    modes = frozenset({REQUEST})

    def __init__(self, run: SageMakerRequests) -> None:
        self._run = run

    def check(self, base: str, payload: Any) -> None:
        require(payload, f"sagemaker:{base.rpartition(':')[2]}", *_REQUIRED[base])

    def start(self, call: TaskCall) -> Outcome:
        return InBackground(lambda: sagemaker_call(self._run, call))


#: ``arn:aws:states:::aws-sdk:sagemaker:<action>``: Step Functions' AWS SDK integration.
SDK_PREFIX = "arn:aws:states:::aws-sdk:sagemaker:"


def sdk_action(base: str) -> str:
    """SageMaker's action an AWS SDK resource names: ``describeTrainingJob`` is
    ``DescribeTrainingJob``."""
    name = base.removeprefix(SDK_PREFIX)
    return name[:1].upper() + name[1:]


class SageMakerSdkTask(BaseIntegration):
    """``arn:aws:states:::aws-sdk:sagemaker:<action>`` (``describeTrainingJob``,
    ``listTrainingJobsForHyperParameterTuningJob``...): any action the server's SageMaker API
    answers, request-response as AWS SDK integrations are, answered as that API answers. A
    refusal is ``SageMaker.<ErrorCode>``, as Step Functions names an AWS SDK integration's
    errors (``SageMaker.ValidationException``)."""

    modes = frozenset({REQUEST})

    def __init__(self, run: SageMakerRequests, answers: Callable[[str], bool]) -> None:
        self._run = run
        self._answers = answers

    def check(self, base: str, payload: Any) -> None:
        action = sdk_action(base)
        if not self._answers(action):
            raise InvalidArgument(
                f"aws-sdk:sagemaker:{base.removeprefix(SDK_PREFIX)[:100]} is not an action "
                "Dockyard's SageMaker API answers",
                field="Resource",
            )
        if payload is not None and not isinstance(payload, dict):
            raise InvalidArgument(f"{action}: the task's parameters must be a JSON object")

    def start(self, call: TaskCall) -> Outcome:
        return InBackground(lambda: self._call(call))

    def _call(self, call: TaskCall) -> Succeeded | Failed:
        action = sdk_action(call.base)
        if not self._answers(action):
            return Failed("States.TaskFailed", f"{action} is not an action Dockyard answers")
        payload = call.payload if call.payload is not None else {}
        if not isinstance(payload, dict):
            return Failed("SageMaker.ValidationException", f"{action}: parameters not an object")
        try:
            return Succeeded(self._run(call.actor, action, dict(payload)))
        except DockyardError as exc:
            code = getattr(exc, "kind", None)
            if not isinstance(code, str):
                code = "ResourceInUse" if isinstance(exc, AlreadyExists) else "ValidationException"
            return Failed(f"SageMaker.{code}", exc.message)
        except ValueError as exc:  # a request pydantic refused
            return Failed("SageMaker.ValidationException", str(exc)[:2000])

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

Each runs what the server's SageMaker API runs for the same request
(:mod:`dockyard.server.compat.aws`), on a worker thread (CreateModel of a ``model.tar.gz``
waits for the job that unpacks it). A refusal fails the task with Step Functions' name for a
SageMaker error, ``SageMaker.AmazonSageMakerException``, and a cause carrying SageMaker's
error code, as AWS writes it. As in Step Functions these calls are request-response only.
"""

from __future__ import annotations

from typing import Any

from dockyard.errors import AlreadyExists, DockyardError
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

__all__ = ["SAGEMAKER", "SageMakerTask", "refused", "sagemaker_call"]

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


def sagemaker_call(services: Any, call: TaskCall) -> Succeeded | Failed:
    """Run the SageMaker action of ``call.base`` with the task's parameters as its request."""
    from dockyard.server.compat.aws import _sagemaker_endpoints, _sagemaker_models
    from dockyard.server.compat.aws._errors import AwsError

    action = _ACTIONS[call.base]
    handler = {**_sagemaker_models.ACTIONS, **_sagemaker_endpoints.ACTIONS}[action]
    if not isinstance(call.payload, dict):
        return Failed(ERROR, f"{action}: the task's parameters must be a JSON object")
    try:
        return Succeeded(handler(services, call.actor, dict(call.payload)))
    except AwsError as exc:
        return refused(exc.message, exc.kind)
    except DockyardError as exc:
        return refused(exc.message, "ResourceInUse" if isinstance(exc, AlreadyExists) else None)
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

    def __init__(self, services: Any) -> None:
        self._services = services

    def check(self, base: str, payload: Any) -> None:
        require(payload, f"sagemaker:{base.rpartition(':')[2]}", *_REQUIRED[base])

    def start(self, call: TaskCall) -> Outcome:
        return InBackground(lambda: sagemaker_call(self._services, call))

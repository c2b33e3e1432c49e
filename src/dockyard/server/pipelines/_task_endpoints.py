"""Deploying as a task: create an endpoint, or roll an update out to an existing one.

``dockyard:endpoint:deploy`` takes an endpoint config (:mod:`dockyard.api.endpoints`: ``name``,
``variants``...). As a plain request it answers once the change is accepted; with ``.sync`` it
answers when the endpoint is InService with the new config, and fails with
``Endpoint.RolledBack`` when the rollout was rolled back, ``Endpoint.Failed`` when the endpoint
failed. ``arn:aws:states:::sagemaker:createEndpoint`` and ``updateEndpoint`` take the same
config, or SageMaker's own request (``EndpointName`` and ``EndpointConfigName``, a config a
``createEndpointConfig`` task made), run as the SageMaker API runs it
(:mod:`._task_sagemaker`) and answered as it answers (``{"EndpointArn": ...}``).
"""

from __future__ import annotations

from typing import Any

from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.server.pipelines._task_sagemaker import SageMakerRequests, sagemaker_call
from dockyard.server.pipelines._tasks import (
    REQUEST,
    SYNC,
    BaseIntegration,
    Failed,
    Outcome,
    Succeeded,
    TaskCall,
    Waiting,
)

__all__ = ["DEPLOY", "EndpointTask"]

DEPLOY = (
    "dockyard:endpoint:deploy",
    "arn:aws:states:::sagemaker:createEndpoint",
    "arn:aws:states:::sagemaker:updateEndpoint",
)


def _view(endpoint: Any) -> dict[str, Any]:
    return {
        "EndpointName": endpoint.name,
        "EndpointStatus": str(endpoint.status),
        "Url": endpoint.url,
        "FailureReason": endpoint.failure_reason,
    }


class EndpointTask(BaseIntegration):
    """Creates or updates endpoints (see the module docstring)."""

    modes = frozenset({REQUEST, SYNC})

    def __init__(self, endpoints: Any, sagemaker: SageMakerRequests | None = None) -> None:
        self._endpoints = endpoints
        self._sagemaker = sagemaker  # runs SageMaker's own requests

    def start(self, call: TaskCall) -> Outcome:
        from dockyard.api.endpoints import EndpointConfig, EndpointUpdate

        if (
            self._sagemaker is not None
            and call.base.startswith("arn:")
            and isinstance(call.payload, dict)
            and "EndpointConfigName" in call.payload
        ):
            answer = sagemaker_call(self._sagemaker, call)
            if isinstance(answer, Failed) or call.mode != SYNC:
                return answer
            return Waiting(str(call.payload.get("EndpointName")))
        try:
            if not isinstance(call.payload, dict):
                raise InvalidArgument("the task's parameters must be an endpoint config")
            name = call.payload.get("name")
            if not isinstance(name, str):
                raise InvalidArgument("the task's parameters name no endpoint: give its name")
            try:
                self._endpoints.get(call.actor, name)
            except NotFound:  # a new endpoint: the whole config
                endpoint = self._endpoints.create(
                    call.actor, EndpointConfig.model_validate(call.payload)
                )
            else:  # an update names what changes (scaling alone, say), as the API's does
                update = EndpointUpdate.model_validate(call.payload)
                endpoint = self._endpoints.update(call.actor, name, update)
        except DockyardError as exc:
            return Failed("Endpoint.ValidationException", exc.message)
        except ValueError as exc:
            return Failed("Endpoint.ValidationException", str(exc)[:2000])
        if call.mode == SYNC:
            return Waiting(endpoint.name)
        return Succeeded(_view(endpoint))

    def poll(self, call: TaskCall, handle: str) -> Succeeded | Failed | None:
        endpoint = self._endpoints.get(call.actor, handle)
        status = str(endpoint.status)
        if status == "Failed":
            return Failed("Endpoint.Failed", endpoint.failure_reason)
        if status != "InService" or endpoint.pending_config is not None:
            return None
        if endpoint.failure_reason:
            return Failed("Endpoint.RolledBack", endpoint.failure_reason)
        return Succeeded(_view(endpoint))

"""Endpoints as the API accepts and returns them: configurations, variants, rollouts, status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.api.endpoints._entities import (
        Endpoint,
        EndpointEvent,
        EndpointKey,
        EndpointStatus,
        NewEndpointKey,
        RolloutStep,
        endpoint_url,
    )
    from dockyard.api.endpoints._logs import EndpointLogPage, WorkerLogInfo
    from dockyard.api.endpoints._spec import (
        DataCapture,
        EndpointConfig,
        EndpointUpdate,
        ProductionVariant,
        Rollout,
        Scaling,
        ShadowVariant,
        Thresholds,
    )

__all__ = [
    "DataCapture",
    "Endpoint",
    "EndpointConfig",
    "EndpointEvent",
    "EndpointKey",
    "EndpointLogPage",
    "EndpointStatus",
    "EndpointUpdate",
    "NewEndpointKey",
    "ProductionVariant",
    "Rollout",
    "RolloutStep",
    "Scaling",
    "ShadowVariant",
    "Thresholds",
    "WorkerLogInfo",
    "endpoint_url",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "DataCapture": "._spec",
        "Endpoint": "._entities",
        "EndpointConfig": "._spec",
        "EndpointEvent": "._entities",
        "EndpointKey": "._entities",
        "EndpointLogPage": "._logs",
        "EndpointStatus": "._entities",
        "EndpointUpdate": "._spec",
        "NewEndpointKey": "._entities",
        "ProductionVariant": "._spec",
        "Rollout": "._spec",
        "RolloutStep": "._entities",
        "Scaling": "._spec",
        "ShadowVariant": "._spec",
        "Thresholds": "._spec",
        "WorkerLogInfo": "._logs",
        "endpoint_url": "._entities",
    },
)

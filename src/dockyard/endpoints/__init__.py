"""Real-time endpoints: the control plane (configs, rollouts, scaling) over serving workers."""

from __future__ import annotations

from dockyard.endpoints._entities import (
    Endpoint,
    EndpointEvent,
    EndpointKey,
    EndpointStatus,
    NewEndpointKey,
)
from dockyard.endpoints._spec import (
    DataCapture,
    EndpointConfig,
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
    "EndpointStatus",
    "NewEndpointKey",
    "ProductionVariant",
    "Rollout",
    "Scaling",
    "ShadowVariant",
    "Thresholds",
]

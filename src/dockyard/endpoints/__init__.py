"""Real-time endpoints: the control plane (configs, rollouts, scaling) over serving workers."""

from __future__ import annotations

from dockyard.endpoints._entities import (
    Endpoint,
    EndpointEvent,
    EndpointKey,
    EndpointStatus,
    NewEndpointKey,
    RolloutStep,
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
    "RolloutStep",
    "Scaling",
    "ShadowVariant",
    "Thresholds",
]

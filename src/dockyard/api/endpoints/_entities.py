"""Endpoints as the API returns them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dockyard.api.endpoints._spec import EndpointConfig

__all__ = [
    "Endpoint",
    "EndpointEvent",
    "EndpointKey",
    "EndpointStatus",
    "NewEndpointKey",
    "RolloutStep",
    "endpoint_url",
]

_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def endpoint_url(host: str, port: int) -> str:
    """The URL of an endpoint bound to ``host:port``, as this machine reaches it.

    An endpoint bound to every interface is shown at its loopback address: the server cannot
    know which of its names a remote client uses.
    """
    host = _WILDCARDS.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class EndpointStatus(StrEnum):
    """An endpoint's life, with SageMaker's names."""

    CREATING = "Creating"
    IN_SERVICE = "InService"
    UPDATING = "Updating"
    ROLLING_BACK = "RollingBack"
    FAILED = "Failed"
    DELETING = "Deleting"


class EndpointEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    time: int
    status: EndpointStatus
    message: str = ""


class RolloutStep(BaseModel):
    """Where an update stands: its traffic step, how long that step has left, and what the new
    configuration answered during it.

    ``phase`` is ``baking`` until the step's bake ends, then ``waiting_for_traffic`` while the
    new configuration has answered fewer than ``min_requests`` (the step is rolled back at
    ``give_up_time``). ``time_left_s`` counts down to the end of the bake, or, while waiting,
    to ``give_up_time``.
    """

    model_config = ConfigDict(frozen=True)

    step: int
    steps: int
    share: float
    phase: Literal["baking", "waiting_for_traffic"]
    started_time: int
    bake_until_time: int
    give_up_time: int
    requests: int
    min_requests: int
    time_left_s: float = 0.0


class Endpoint(BaseModel):
    """An endpoint: where it answers, what it serves, what it is doing."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: EndpointStatus
    url: str
    config: EndpointConfig
    pending_config: EndpointConfig | None = None
    failure_reason: str | None = None
    workers: int = 0
    traffic: dict[str, float] = Field(default_factory=dict)
    created_time: int
    updated_time: int
    events: list[EndpointEvent] = Field(default_factory=list)
    rollout: RolloutStep | None = Field(
        default=None, description="the step an update (status Updating) is in, while baked"
    )
    stats: dict[str, Any] | None = None


class EndpointKey(BaseModel):
    """An API key of an endpoint, as lists show it: its id and age, never the key."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    endpoint: str
    created_time: int


class NewEndpointKey(EndpointKey):
    """A key just made: the only answer that carries ``key`` (only its digest is stored)."""

    key: str

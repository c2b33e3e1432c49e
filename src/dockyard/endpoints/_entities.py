"""Endpoints as the API returns them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dockyard.endpoints._spec import EndpointConfig

__all__ = [
    "Endpoint",
    "EndpointEvent",
    "EndpointKey",
    "EndpointStatus",
    "NewEndpointKey",
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

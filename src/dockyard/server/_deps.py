"""FastAPI dependencies: how a route reaches the services of its app."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from dockyard.auth import Actor, AuthService
from dockyard.endpoints._service import EndpointService
from dockyard.jobs._service import JobService
from dockyard.registry import RegistryService
from dockyard.server._auth import actor_of
from dockyard.server._services import Services
from dockyard.tracking import TrackingService

__all__ = [
    "ActorDep",
    "AuthDep",
    "EndpointsDep",
    "JobsDep",
    "RegistryDep",
    "ServicesDep",
    "TrackingDep",
]


def _services(request: Request) -> Services:
    return cast(Services, request.app.state.services)


def _tracking(request: Request) -> TrackingService:
    return _services(request).tracking


def _jobs(request: Request) -> JobService:
    return _services(request).jobs


def _endpoints(request: Request) -> EndpointService:
    return _services(request).endpoints


def _registry(request: Request) -> RegistryService:
    return _services(request).registry


def _auth(request: Request) -> AuthService:
    return _services(request).auth


def _actor(request: Request) -> Actor:
    """Who is asking, as the authentication layer established it."""
    return actor_of(request.scope)


ServicesDep = Annotated[Services, Depends(_services)]
ActorDep = Annotated[Actor, Depends(_actor)]
AuthDep = Annotated[AuthService, Depends(_auth)]
TrackingDep = Annotated[TrackingService, Depends(_tracking)]
JobsDep = Annotated[JobService, Depends(_jobs)]
EndpointsDep = Annotated[EndpointService, Depends(_endpoints)]
RegistryDep = Annotated[RegistryService, Depends(_registry)]

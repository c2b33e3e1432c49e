"""FastAPI dependencies: how a route reaches the services of its app, and who is asking.

They are ``async`` although they wait for nothing: FastAPI runs a plain ``def`` dependency in
the thread pool, one thread hop per dependency per request (about 100 µs each under load,
measured on a small GET), while an ``async`` one is a plain call on the event loop.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from dockyard.server._auth import actor_of
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.auth import AuthService
from dockyard.server.endpoints import EndpointService
from dockyard.server.jobs import JobService
from dockyard.server.params import ParamService
from dockyard.server.registry import RegistryService
from dockyard.server.tracking import TrackingService

__all__ = [
    "ActorDep",
    "AuthDep",
    "EndpointsDep",
    "JobsDep",
    "ParamsDep",
    "RegistryDep",
    "ServicesDep",
    "TrackingDep",
]


def _of(request: Request) -> Services:
    return cast(Services, request.app.state.services)


async def _services(request: Request) -> Services:
    return _of(request)


async def _tracking(request: Request) -> TrackingService:
    return _of(request).tracking


async def _jobs(request: Request) -> JobService:
    return _of(request).jobs


async def _endpoints(request: Request) -> EndpointService:
    return _of(request).endpoints


async def _params(request: Request) -> ParamService:
    return _of(request).params


async def _registry(request: Request) -> RegistryService:
    return _of(request).registry


async def _auth(request: Request) -> AuthService:
    return _of(request).auth


async def _actor(request: Request) -> Actor:
    """Who is asking, as the authentication layer established it."""
    return actor_of(request.scope)


ServicesDep = Annotated[Services, Depends(_services)]
ActorDep = Annotated[Actor, Depends(_actor)]
AuthDep = Annotated[AuthService, Depends(_auth)]
TrackingDep = Annotated[TrackingService, Depends(_tracking)]
JobsDep = Annotated[JobService, Depends(_jobs)]
EndpointsDep = Annotated[EndpointService, Depends(_endpoints)]
RegistryDep = Annotated[RegistryService, Depends(_registry)]
ParamsDep = Annotated[ParamService, Depends(_params)]

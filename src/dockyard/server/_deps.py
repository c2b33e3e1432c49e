"""FastAPI dependencies: how a route reaches the services of its app, and who is asking.

Each reads its value off the request alone: the routes of
:class:`~dockyard.server._route.OneHopRoute` compute them without FastAPI's dependency solving
(:func:`~dockyard.server._route.from_request`); other routes call them as FastAPI does.

They are ``async`` although they wait for nothing: FastAPI runs a plain ``def`` dependency in
the thread pool, one thread hop per dependency per request (about 100 µs each under load,
measured on a small GET), while an ``async`` one is a plain call on the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar, cast

from fastapi import Depends, Request

from dockyard.server._auth import actor_of
from dockyard.server._route import from_request
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


T = TypeVar("T")


def _of(request: Request) -> Services:
    return cast(Services, request.app.state.services)


def _dependency(provider: Callable[[Request], T]) -> Callable[[Request], Awaitable[T]]:
    """A FastAPI dependency of the value ``provider`` reads off the request."""

    @from_request(provider)
    async def dependency(request: Request) -> T:
        return provider(request)

    return dependency


_services = _dependency(_of)
_tracking = _dependency(lambda request: _of(request).tracking)
_jobs = _dependency(lambda request: _of(request).jobs)
_endpoints = _dependency(lambda request: _of(request).endpoints)
_params = _dependency(lambda request: _of(request).params)
_registry = _dependency(lambda request: _of(request).registry)
_auth = _dependency(lambda request: _of(request).auth)
#: Who is asking, as the authentication layer established it.
_actor = _dependency(lambda request: actor_of(request.scope))

ServicesDep = Annotated[Services, Depends(_services)]
ActorDep = Annotated[Actor, Depends(_actor)]
AuthDep = Annotated[AuthService, Depends(_auth)]
TrackingDep = Annotated[TrackingService, Depends(_tracking)]
JobsDep = Annotated[JobService, Depends(_jobs)]
EndpointsDep = Annotated[EndpointService, Depends(_endpoints)]
RegistryDep = Annotated[RegistryService, Depends(_registry)]
ParamsDep = Annotated[ParamService, Depends(_params)]

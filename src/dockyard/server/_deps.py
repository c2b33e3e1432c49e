"""FastAPI dependencies: how a route reaches the services of its app."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from dockyard.jobs._service import JobService
from dockyard.server._services import Services
from dockyard.tracking import TrackingService

__all__ = ["JobsDep", "ServicesDep", "TrackingDep"]


def _services(request: Request) -> Services:
    return cast(Services, request.app.state.services)


def _tracking(request: Request) -> TrackingService:
    return _services(request).tracking


def _jobs(request: Request) -> JobService:
    return _services(request).jobs


ServicesDep = Annotated[Services, Depends(_services)]
TrackingDep = Annotated[TrackingService, Depends(_tracking)]
JobsDep = Annotated[JobService, Depends(_jobs)]

"""The event log: ``GET /api/v1/events`` (``dockyard audit``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from dockyard.events import Event
from dockyard.server._deps import ActorDep, ServicesDep

router = APIRouter(prefix="/api/v1/events", tags=["events"])


class EventPage(BaseModel):
    events: list[Event]
    next_after: int = 0


@router.get("")
def list_events(
    actor: ActorDep,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, lt=2**63)] = 0,
    type: Annotated[list[str] | None, Query(max_length=20)] = None,
    resource_type: Annotated[str | None, Query(max_length=32)] = None,
    resource_id: Annotated[str | None, Query(max_length=256)] = None,
    user: Annotated[str | None, Query(alias="actor", max_length=256)] = None,
    outcome: Annotated[str | None, Query(max_length=16)] = None,
    since: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
    until: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventPage:
    """Events after id ``after``, oldest first, filtered by type (``job.*`` matches a prefix),
    resource, actor, outcome (``denied``) and time (ms). Admins see every event; others see
    those about resources they may read, and their own. Continue with ``after=next_after``."""
    visible = services.auth.event_filter(actor)
    events = services.events.read(
        after=after,
        types=type,
        resource_type=resource_type,
        resource_id=resource_id,
        actor=user,
        outcome=outcome,
        since=since,
        until=until,
        limit=limit,
        visible=visible,
    )
    return EventPage(events=events, next_after=events[-1].id if events else after)

"""The event log: ``GET /api/v1/events`` (``dockyard audit``) and ``GET /api/v1/events/stream``
(server-sent events, for the web UI's live views)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from dockyard.draining import draining
from dockyard.errors import DockyardError
from dockyard.limits import LIMITS
from dockyard.server._auth import Credentials
from dockyard.server._deps import ActorDep, ServicesDep
from dockyard.server._route import OneHopRoute
from dockyard.server.events import Event

router = APIRouter(prefix="/api/v1/events", tags=["events"], route_class=OneHopRoute)


class EventPage(BaseModel):
    events: list[Event]
    next_after: int = 0
    next_before: int | None = None


@router.get("")
def list_events(
    actor: ActorDep,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, lt=2**63)] = 0,
    type: Annotated[list[str] | None, Query(max_length=20)] = None,
    resource_type: Annotated[str | None, Query(max_length=32)] = None,
    resource_id: Annotated[str | None, Query(max_length=256)] = None,
    scope: Annotated[str | None, Query(max_length=300)] = None,
    user: Annotated[str | None, Query(alias="actor", max_length=256)] = None,
    outcome: Annotated[str | None, Query(max_length=16)] = None,
    since: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
    until: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
    limit: Annotated[int, Query(ge=1, le=LIMITS.page_max_results)] = LIMITS.page_default_results,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> EventPage:
    """Events after id ``after``, oldest first, filtered by type (``job.*`` matches a prefix),
    resource, scope (``experiment:<id>``: an experiment and its runs), actor, outcome
    (``denied``) and time (ms). Admins see every event; others see
    those about resources they may read, and their own. Continue with ``after=next_after``.
    With ``before`` (``9223372036854775807`` for the end of the log), the events below that id,
    newest first; continue with ``before=next_before``."""
    visible = services.auth.event_filter(actor)
    events = services.events.read(
        after=after,
        types=type,
        resource_type=resource_type,
        resource_id=resource_id,
        scope=scope,
        actor=user,
        outcome=outcome,
        since=since,
        until=until,
        limit=limit,
        visible=visible,
        before=before,
    )
    if before is not None:
        newest = max((e.id for e in events), default=after)
        return EventPage(
            events=events,
            next_after=newest,
            next_before=events[-1].id if len(events) == limit else None,
        )
    return EventPage(events=events, next_after=events[-1].id if events else after)


# A stream ends after this long and the browser's EventSource reconnects from the last id it
# saw (Last-Event-ID). A server shutting down ends its streams at once (dockyard.draining).
STREAM_S = 25.0
# Meanwhile the reader's credentials and what they may see are looked at again this often: a
# revoked token, an ended session, a disabled account or a changed role ends the stream (the
# reconnection is refused or sees what the reader may see now); a withdrawn grant hides that
# resource's events from then on.
_RECHECK_S = 2.0
_HEARTBEAT_S = 10.0
# Appends wake followers before their transaction commits; reading this much later finds them.
_SETTLE_S = 0.05
# Appends by other server processes (--workers) wake no one here: look this often anyway.
_POLL_S = 2.0


@router.get("/stream", response_class=StreamingResponse)
async def stream_events(
    request: Request,
    actor: ActorDep,
    services: ServicesDep,
    after: Annotated[int | None, Query(ge=0, lt=2**63)] = None,
    type: Annotated[list[str] | None, Query(max_length=20)] = None,
    resource_type: Annotated[str | None, Query(max_length=32)] = None,
    resource_id: Annotated[str | None, Query(max_length=256)] = None,
    scope: Annotated[str | None, Query(max_length=300)] = None,
    duration_s: Annotated[float, Query(gt=0, le=STREAM_S)] = STREAM_S,
) -> StreamingResponse:
    """Server-sent events: each event after id ``after`` (default: from now on) as it is
    appended, as ``id: <id>`` and ``data: <event JSON>``, filtered like ``GET /api/v1/events``
    and by what the reader may see. The stream ends after ``duration_s`` (at most 25 s), or at
    once when the server begins to shut down; EventSource reconnects with ``Last-Event-ID``,
    which takes precedence over ``after``."""
    last_seen = request.headers.get("last-event-id", "")
    if last_seen.isascii() and last_seen.isdigit() and len(last_seen) < 19:
        after = int(last_seen)
    visible = await run_in_threadpool(services.auth.event_filter, actor)
    credentials = Credentials(services.auth)
    if after is None:
        after = await run_in_threadpool(services.events.latest_id)
    log = services.events

    def scan(cursor: int) -> tuple[list[Event], int]:
        return log.scan(
            after=cursor,
            types=type,
            resource_type=resource_type,
            resource_id=resource_id,
            scope=scope,
            limit=200,
            visible=visible,
        )

    stopping = draining(request.scope)

    async def still_allowed() -> bool:
        """Whether the reader's credentials still stand for the same account with the same
        role; if so, what it may see is read again."""
        nonlocal visible
        try:
            now = await credentials.again(request.scope, actor)
        except DockyardError:
            return False
        if (now.user_id, now.role, now.read_only) != (actor.user_id, actor.role, actor.read_only):
            return False
        visible = await run_in_threadpool(services.auth.event_filter, now)
        return True

    async def appended_or_stopping(wait: float) -> bool:
        """Wait for an append (True), the server to begin shutting down, or ``wait`` s."""
        if stopping is None:
            return await log.appended(wait)
        append = asyncio.ensure_future(log.appended(wait))
        stop = asyncio.ensure_future(stopping.wait())
        done, _ = await asyncio.wait((append, stop), return_when=asyncio.FIRST_COMPLETED)
        for task in (append, stop):
            task.cancel()
        return append in done and append.result()

    async def follow() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        ends = loop.time() + duration_s
        cursor = after
        yield b"retry: 1000\n\n"
        quiet_since = recheck_at = loop.time()
        # A client that went away is noticed when a write fails: at the latest, a heartbeat.
        while loop.time() < ends and not (stopping is not None and stopping.is_set()):
            if loop.time() - recheck_at >= _RECHECK_S:
                if not await still_allowed():
                    return
                recheck_at = loop.time()
            # A database connection is held only for each read, never while waiting.
            events, cursor = await run_in_threadpool(scan, cursor)
            for event in events:
                yield b"id: %d\ndata: %s\n\n" % (event.id, event.model_dump_json().encode())
            if events:
                quiet_since = loop.time()
                continue
            if loop.time() - quiet_since >= _HEARTBEAT_S:
                yield b": keep-alive\n\n"
                quiet_since = loop.time()
            wait = min(_POLL_S, ends - loop.time(), _HEARTBEAT_S)
            if wait > 0 and await appended_or_stopping(wait):
                await asyncio.sleep(_SETTLE_S)

    return StreamingResponse(
        follow(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )

"""The event log: append in the caller's transaction, read by id, remember where consumers are.

Ids must commit in increasing order, or a consumer that read up to id 10 could later miss an
event 9 that committed after it. SQLite has one writer at a time, so they do. PostgreSQL hands
out sequence values when rows are inserted, not when they commit: appending takes a
transaction-scoped advisory lock first, so event-writing transactions commit their events in id
order. The lock is held only from the append to the commit (services append last).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, func, or_, select, text

from dockyard.server.actor import Actor
from dockyard.server.events._entities import Event
from dockyard.server.events._peers import Peers
from dockyard.server.store import Database, DriverInsert, after_commit, schema, upsert

__all__ = ["EventLog", "Visible", "type_in"]

_E = schema.events
_C = schema.event_cursors
# Arbitrary constant naming the event log's advisory lock in PostgreSQL.
_PG_LOCK = 0x64796576
_COLUMNS = (
    "time",
    "type",
    "resource_type",
    "resource_id",
    "scope",
    "actor",
    "source",
    "outcome",
    "body",
    "credential",
)
# Every change appends one: its row goes to the driver as a tuple (see DriverInsert).
_INSERT = DriverInsert(lambda _: _E.insert(), _COLUMNS)
MAX_BODY = 4096
MAX_PAGE = 1000

#: Decides whether the reader may see an event with this ``scope``.
Visible = Callable[[str, str], bool]


def type_in(types: Sequence[str], type: str) -> bool:
    """Whether ``type`` is one of ``types``, where ``job.*`` names every ``job.`` type (as
    :meth:`EventLog.read` filters them)."""
    return any(type == t or (t.endswith(".*") and type.startswith(t[:-1])) for t in types)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _body(body: Mapping[str, Any] | None) -> str:
    if not body:
        return "{}"
    encoded = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY, default=str)
    if len(encoded) > MAX_BODY:
        # A body is a summary, not a payload: keep the keys, cut long values.
        short = {k: (v if len(str(v)) <= 200 else str(v)[:200] + "...") for k, v in body.items()}
        encoded = orjson.dumps(short, default=str)[:MAX_BODY]
        if len(encoded) >= MAX_BODY:
            encoded = orjson.dumps({"truncated": True, "keys": sorted(body)[:50]})
    return encoded.decode()


class EventLog:
    """Appends and reads events over the metadata database.

    Args:
        db: The metadata database.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pg = db.dialect == "postgresql"
        # Readers in this process (live views) wait here rather than polling the database.
        self._appended = threading.Condition()
        # Readers on event loops (the UI's event stream) wait on futures, not threads.
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
        # Background loops that consume the log tick when it grows (EventConsumer).
        self._listeners: set[Callable[[str], None]] = set()
        self.last_seen = 0
        self._peers: Peers | None = None

    def append(
        self,
        conn: Connection,
        actor: Actor,
        type: str,
        resource_type: str,
        resource_id: str,
        *,
        scope: str,
        body: Mapping[str, Any] | None = None,
        outcome: str = "ok",
    ) -> None:
        """Record a change inside the transaction ``conn`` that makes it."""
        if self._pg:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        row = (
            _now_ms(),
            type,
            resource_type,
            str(resource_id)[:256],
            scope[:300],
            actor.label[:256],
            actor.source[:64],
            outcome,
            _body(body),
            actor.credential[:80],
        )
        _INSERT.execute(conn, [row])
        after_commit(lambda: self._committed(type))

    def record(
        self, actor: Actor, type: str, resource_type: str, resource_id: str, **fields: Any
    ) -> None:
        """:meth:`append` in a transaction of its own (a refused attempt, an upload)."""
        with self._db.write() as conn:
            self.append(conn, actor, type, resource_type, resource_id, **fields)

    def wake_peers(self, peers: Peers | None) -> None:
        """Also tell ``peers`` (the other server processes on this machine) of each committed
        append; None stops telling them."""
        self._peers = peers

    @property
    def tells_peers(self) -> bool:
        """Whether appends here wake the server's other processes on this machine."""
        return self._peers is not None

    def tell_peers(self, type: str) -> None:
        """Wake the readers of the server's other processes as an append of ``type`` would,
        without one (a wake-up that is no event: new work for a loop wherever it leads)."""
        peers = self._peers
        if peers is not None:
            peers.send(type)

    def _committed(self, type: str) -> None:
        self.notify(type)
        self.tell_peers(type)

    def announce(self, type: str) -> None:
        """Wake the readers of this process and of the others as a committed append of
        ``type`` would, storing nothing: a wake-up that is no event (a job reaching its end, say).
        Call it after the commit that it announces (:func:`after_commit`)."""
        self._committed(type)

    def notify(self, type: str = "") -> None:
        """Wake readers waiting in this process: called once an append of ``type`` commits
        (with no type, listeners of every type are woken)."""
        with self._appended:
            self._appended.notify_all()
            waiters = list(self._waiters)
            listeners = list(self._listeners)
        for loop, future in waiters:
            loop.call_soon_threadsafe(_wake, future)
        for listener in listeners:
            listener(type)

    def on_append(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(type)`` (quickly, without blocking) after every committed append
        in this process."""
        with self._appended:
            self._listeners.add(listener)

    def off_append(self, listener: Callable[[str], None]) -> None:
        with self._appended:
            self._listeners.discard(listener)

    async def appended(self, timeout: float) -> bool:
        """Wait, on the running event loop, for an append in this process or ``timeout``
        seconds; True when woken by an append (after it committed). Holds no thread and no
        connection meanwhile."""
        loop = asyncio.get_running_loop()
        entry = (loop, loop.create_future())
        with self._appended:
            self._waiters.add(entry)
        try:
            await asyncio.wait_for(entry[1], timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._appended:
                self._waiters.discard(entry)

    def wait(self, timeout: float) -> bool:
        """Block until an append in this process commits, or ``timeout`` seconds; True when
        woken by an append."""
        with self._appended:
            return self._appended.wait(timeout)

    def read(
        self,
        *,
        after: int = 0,
        types: list[str] | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        actor: str | None = None,
        outcome: str | None = None,
        since: int | None = None,
        until: int | None = None,
        limit: int = 100,
        visible: Visible | None = None,
        before: int | None = None,
        scope: str | None = None,
    ) -> list[Event]:
        """Events after id ``after``, oldest first, matching every filter given.

        ``types`` entries ending in ``.*`` match a prefix (``job.*``). ``scope`` keeps the
        events whose permissions one resource decides (``experiment:12``: an experiment and
        its runs). ``visible`` drops events
        the reader may not see; pages are filled past them. With ``before``, the events below
        that id (and above ``after``), newest first: the end of the log, then backwards.
        """
        return self.scan(
            after=after,
            types=types,
            resource_type=resource_type,
            resource_id=resource_id,
            actor=actor,
            outcome=outcome,
            since=since,
            until=until,
            limit=limit,
            visible=visible,
            before=before,
            scope=scope,
        )[0]

    def scan(
        self,
        *,
        after: int = 0,
        types: list[str] | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        actor: str | None = None,
        outcome: str | None = None,
        since: int | None = None,
        until: int | None = None,
        limit: int = 100,
        visible: Visible | None = None,
        before: int | None = None,
        scope: str | None = None,
    ) -> tuple[list[Event], int]:
        """As :meth:`read`, and the id of the last event looked at: a follower continues
        from there, past events it may not see, instead of reading them again."""
        limit = max(1, min(limit, MAX_PAGE))
        query = select(_E).where(_E.c.id > after)
        if types:
            query = query.where(_of_types(types))
        if resource_type is not None:
            query = query.where(_E.c.resource_type == resource_type)
        if resource_id is not None:
            query = query.where(_E.c.resource_id == resource_id)
        if actor is not None:
            query = query.where(_E.c.actor == actor)
        if scope is not None:
            query = query.where(_E.c.scope == scope)
        if outcome is not None:
            query = query.where(_E.c.outcome == outcome)
        if since is not None:
            query = query.where(_E.c.time >= since)
        if until is not None:
            query = query.where(_E.c.time < until)
        found: list[Event] = []
        descending = before is not None
        cursor = before if before is not None else after
        for _ in range(20):  # bounded: a reader who may see little does not scan the whole log
            page = (
                query.where(_E.c.id < cursor).order_by(_E.c.id.desc())
                if descending
                else query.where(_E.c.id > cursor).order_by(_E.c.id)
            )
            with self._db.read() as conn:
                rows = conn.execute(page.limit(limit)).all()
            for row in rows:
                cursor = row.id
                if visible is None or visible(row.scope, row.actor):
                    found.append(_event(row))
                    if len(found) == limit:
                        return found, cursor
            if len(rows) < limit:
                break
        return found, cursor

    def skim(self, *, after: int, types: list[str], limit: int) -> tuple[list[Event], int]:
        """The events of ``types`` after id ``after`` (at most ``limit``, oldest first), and the
        id to go on from: the last of them when there are any (what follows may matter once
        they are handled), else the end of the log as this read saw it, past the events of
        other types unread.

        For a follower that wants none of the others: the log's ids grow in commit order (one
        writer on SQLite; appends serialised on PostgreSQL), so nothing can appear later below
        the end seen here.
        """
        limit = max(1, min(limit, MAX_PAGE))
        with self._db.read() as conn:
            end = int(conn.execute(select(func.max(_E.c.id))).scalar() or 0)
            rows = conn.execute(
                select(_E)
                .where(_E.c.id > after, _E.c.id <= end, _of_types(types))
                .order_by(_E.c.id)
                .limit(limit)
            ).all()
        if rows:
            return [_event(row) for row in rows], rows[-1].id
        return [], max(end, after)

    def latest_id(self) -> int:
        with self._db.read() as conn:
            return int(
                conn.execute(select(_E.c.id).order_by(_E.c.id.desc()).limit(1)).scalar() or 0
            )

    # -- durable cursors -----------------------------------------------------------------------

    def position(self, name: str) -> int:
        """Where the consumer ``name`` has read up to (0 for a new one)."""
        with self._db.read() as conn:
            found = conn.execute(select(_C.c.position).where(_C.c.name == name)).scalar()
        return int(found or 0)

    def advance(self, conn: Connection, name: str, position: int) -> None:
        """Move ``name``'s cursor to ``position`` inside the consumer's own transaction, so a
        consumer that records what it did and where it is in one commit never repeats work."""
        upsert(
            conn,
            _C,
            [{"name": name, "position": position, "updated_time": _now_ms()}],
            keys=("name",),
        )


def _of_types(types: Sequence[str]) -> ColumnElement[bool]:
    """Events whose type is one of ``types`` (``job.*``: every ``job.`` type)."""
    exact = [t for t in types if not t.endswith(".*")]
    prefixes = [t[:-1] for t in types if t.endswith(".*")]
    clauses: list[ColumnElement[bool]] = [_E.c.type.in_(exact)] if exact else []
    clauses += [_E.c.type.startswith(p, autoescape=True) for p in prefixes]
    return or_(*clauses)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _event(row: Any) -> Event:
    return Event(
        id=row.id,
        time=row.time,
        type=row.type,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        actor=row.actor,
        source=row.source,
        outcome=row.outcome,
        body=orjson.loads(row.body),
        credential=row.credential,
    )

"""SQL for endpoints and their status history; callers own the transaction."""

from __future__ import annotations

import builtins
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.api.endpoints import (
    Endpoint,
    EndpointConfig,
    EndpointEvent,
    EndpointStatus,
    endpoint_url,
)
from dockyard.errors import AlreadyExists, NotFound
from dockyard.server.store import schema

__all__ = ["EndpointRepository"]

_T = schema.endpoints
_E = schema.endpoint_events
_K = schema.endpoint_keys


class EndpointRepository:
    """Reads and writes endpoint rows."""

    def insert(self, conn: Connection, **values: Any) -> None:
        try:
            # In a savepoint: on PostgreSQL a failed statement aborts the whole transaction,
            # and which column clashed (another server took the name or port meanwhile) is
            # asked below in that same transaction.
            with conn.begin_nested():
                conn.execute(_T.insert().values(**values))
        except IntegrityError as exc:
            taken = "name" if self.exists(conn, values["name"]) else "port"
            raise AlreadyExists(
                f"an endpoint with this {taken} exists ({values[taken]})", field=taken
            ) from exc

    def exists(self, conn: Connection, name: str) -> bool:
        return conn.execute(select(_T.c.name).where(_T.c.name == name)).first() is not None

    def row(self, conn: Connection, name: str) -> Any:
        row = conn.execute(select(_T).where(_T.c.name == name)).first()
        if row is None:
            raise NotFound(f"endpoint {name!r} does not exist", field="name")
        return row

    def rows(self, conn: Connection) -> builtins.list[Any]:
        return list(conn.execute(select(_T).order_by(_T.c.name)).all())

    def ports(self, conn: Connection) -> set[int]:
        return {int(p) for (p,) in conn.execute(select(_T.c.port))}

    def event(
        self, conn: Connection, name: str, status: EndpointStatus, time_ms: int, message: str
    ) -> None:
        seq = conn.execute(
            select(func.coalesce(func.max(_E.c.seq), -1) + 1).where(_E.c.name == name)
        ).scalar_one()
        conn.execute(
            _E.insert().values(
                name=name, seq=seq, time=time_ms, status=status.value, message=message[:4000]
            )
        )

    def update(self, conn: Connection, name: str, **values: Any) -> None:
        conn.execute(update(_T).where(_T.c.name == name).values(**values))

    def remove(self, conn: Connection, name: str) -> None:
        conn.execute(delete(_E).where(_E.c.name == name))
        conn.execute(delete(_K).where(_K.c.endpoint == name))
        conn.execute(delete(_T).where(_T.c.name == name))

    # -- API keys -----------------------------------------------------------------------------

    def insert_key(self, conn: Connection, **values: Any) -> None:
        conn.execute(_K.insert().values(**values))

    def keys(self, conn: Connection, name: str) -> builtins.list[Any]:
        """The endpoint's key rows, oldest first."""
        query = select(_K).where(_K.c.endpoint == name).order_by(_K.c.created_time, _K.c.key_id)
        return list(conn.execute(query).all())

    def delete_key(self, conn: Connection, name: str, key_id: str) -> bool:
        """Whether a key was deleted."""
        done = conn.execute(delete(_K).where(_K.c.endpoint == name, _K.c.key_id == key_id))
        return bool(done.rowcount)

    def get(self, conn: Connection, name: str, with_events: bool = True) -> Endpoint:
        row = self.row(conn, name)
        events = []
        if with_events:
            events = [
                EndpointEvent(time=e.time, status=EndpointStatus(e.status), message=e.message)
                for e in conn.execute(select(_E).where(_E.c.name == name).order_by(_E.c.seq))
            ]
        return self.entity(row, events)

    @staticmethod
    def entity(row: Any, events: builtins.list[EndpointEvent]) -> Endpoint:
        pending = row.pending_config
        config = EndpointConfig.model_validate_json(row.config)
        return Endpoint(
            name=row.name,
            status=EndpointStatus(row.status),
            url=endpoint_url(config.bind_host, row.port),
            config=config,
            pending_config=EndpointConfig.model_validate_json(pending) if pending else None,
            failure_reason=row.failure_reason,
            traffic=orjson.loads(row.traffic),
            created_time=row.created_time,
            updated_time=row.updated_time,
            events=events,
        )

"""SQL for accounts, tokens and sessions; callers own the transaction."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, Row, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.errors import AlreadyExists, NotFound
from dockyard.server.auth._entities import TokenInfo, User
from dockyard.server.store import schema

__all__ = ["AuthRepository"]

_U = schema.users
_T = schema.tokens
_S = schema.sessions
_A = schema.personal_areas
# An account's row, with its personal area in the artifact store.
_USER = select(_U, _A.c.area).outerjoin(_A, _A.c.user_id == _U.c.user_id)


def user_entity(row: Any) -> User:
    return User(
        name=row.name,
        role=row.role,
        disabled=bool(row.disabled),
        has_password=row.password_hash is not None,
        area=row.area,
        created_time=row.created_time,
        updated_time=row.updated_time,
    )


def token_entity(row: Any, user: str) -> TokenInfo:
    scopes = orjson.loads(row.scopes) if row.scopes else {}
    job = scopes.get("job") if isinstance(scopes, dict) else None
    return TokenInfo(
        token_id=row.token_id,
        user=user,
        name=row.name,
        read_only=bool(isinstance(scopes, dict) and scopes.get("read_only")),
        job=job.get("job_name") if isinstance(job, dict) else None,
        created_time=row.created_time,
        expires_time=row.expires_time,
        revoked_time=row.revoked_time,
    )


class AuthRepository:
    """Reads and writes the identity tables."""

    # -- users ----------------------------------------------------------------------------------

    def count_users(self, conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(_U)).scalar_one())

    def count_admins(self, conn: Connection) -> int:
        query = select(func.count()).select_from(_U).where(_U.c.role == "admin", ~_U.c.disabled)
        return int(conn.execute(query).scalar_one())

    def create_user(
        self, conn: Connection, *, name: str, role: str, password_hash: str | None, now: int
    ) -> int:
        try:
            result = conn.execute(
                _U.insert()
                .values(
                    **self._fresh_id(conn),
                    name=name,
                    role=role,
                    password_hash=password_hash,
                    disabled=False,
                    created_time=now,
                    updated_time=now,
                )
                .returning(_U.c.user_id)
            )
        except IntegrityError as exc:
            raise AlreadyExists(f"user {name!r} already exists", field="name") from exc
        return int(result.scalar_one())

    @staticmethod
    def _fresh_id(conn: Connection) -> dict[str, int]:
        """An id that owns nothing yet, where the database would hand out a used one.

        Resources remember their owner by account id (``owner_id``) so that a deleted name
        given to a new account gets nothing of the old one's. SQLite's rowid is the largest in
        use plus one, so the id of the newest account, deleted, would come back with what it
        owned; here it is also past every id an ``owner_id`` column still names (an id that
        owned nothing may come back: its grants, tokens and sessions went with it).
        PostgreSQL's sequence never hands an id out twice.
        """
        if conn.dialect.name != "sqlite":
            return {}
        columns = [_U.c.user_id] + [
            table.c.owner_id for table in schema.metadata.tables.values() if "owner_id" in table.c
        ]
        highest = [select(func.max(column)).scalar_subquery() for column in columns]
        used = conn.execute(select(*highest)).one()
        return {"user_id": max((int(v) for v in used if v is not None), default=0) + 1}

    def user_row(self, conn: Connection, name: str) -> Row[Any]:
        row = conn.execute(_USER.where(_U.c.name == name)).first()
        if row is None:
            raise NotFound(f"user {name!r} does not exist", field="user")
        return row

    def user_row_by_id(self, conn: Connection, user_id: int) -> Row[Any] | None:
        return conn.execute(_USER.where(_U.c.user_id == user_id)).first()

    def users(self, conn: Connection) -> list[Row[Any]]:
        return list(conn.execute(_USER.order_by(_U.c.name)).all())

    def update_user(self, conn: Connection, user_id: int, **values: Any) -> None:
        conn.execute(update(_U).where(_U.c.user_id == user_id).values(**values))

    def delete_user(self, conn: Connection, user_id: int) -> None:
        conn.execute(delete(_T).where(_T.c.user_id == user_id))
        conn.execute(delete(_S).where(_S.c.user_id == user_id))
        conn.execute(delete(_U).where(_U.c.user_id == user_id))
        conn.execute(delete(schema.grants).where(schema.grants.c.principal == str(user_id)))

    # -- tokens ---------------------------------------------------------------------------------

    def insert_token(self, conn: Connection, values: dict[str, Any]) -> None:
        conn.execute(_T.insert().values(**values))

    def token_with_user(self, conn: Connection, token_id: str) -> Row[Any] | None:
        return _with_user(conn, _T, _T.c.token_id == token_id)

    def tokens(self, conn: Connection, user_id: int | None) -> list[Row[Any]]:
        query = select(_T, _U.c.name.label("user_name")).join(_U, _U.c.user_id == _T.c.user_id)
        if user_id is not None:
            query = query.where(_T.c.user_id == user_id)
        return list(conn.execute(query.order_by(_T.c.created_time)).all())

    def revoke_tokens(self, conn: Connection, now: int, **where: Any) -> int:
        query = update(_T).where(_T.c.revoked_time.is_(None))
        for column, value in where.items():
            query = query.where(_T.c[column] == value)
        return int(conn.execute(query.values(revoked_time=now)).rowcount)

    # -- sessions -------------------------------------------------------------------------------

    def insert_session(self, conn: Connection, values: dict[str, Any]) -> None:
        conn.execute(_S.insert().values(**values))

    def session_with_user(self, conn: Connection, session_id: str) -> Row[Any] | None:
        return _with_user(conn, _S, _S.c.session_id == session_id)

    def delete_session(self, conn: Connection, session_id: str) -> None:
        conn.execute(delete(_S).where(_S.c.session_id == session_id))

    def delete_sessions_of(self, conn: Connection, user_id: int) -> None:
        conn.execute(delete(_S).where(_S.c.user_id == user_id))

    def delete_expired_sessions(self, conn: Connection, now: int) -> None:
        conn.execute(delete(_S).where(_S.c.expires_time < now))


def _with_user(conn: Connection, table: Any, where: Any) -> Row[Any] | None:
    """One token or session row with its account's name, role and disabled flag."""
    query = (
        select(table, _U.c.name.label("user_name"), _U.c.role, _U.c.disabled)
        .join(_U, _U.c.user_id == table.c.user_id)
        .where(where)
    )
    return conn.execute(query).first()

"""Access keys: an access key id and a secret that boto3 and the SageMaker SDK sign with.

An access key stands for its account as a token does (read-only if made so, expiring,
revocable, recorded in the audit log), but it is never sent: a client signs each request with
it (AWS SigV4) and the server recomputes the signature (:mod:`._sigv4`). An HMAC can only be
recomputed by someone holding what it was made with, so the server keeps the **secret itself**,
as it keeps webhook secrets, not a digest as for tokens: whoever can read the metadata database
can sign as any key's owner until the key is revoked. Keys are therefore short-lived by default
(``token_ttl_days``) and revocable at once.

An id reads ``DYAK`` and 16 upper-case hex digits (20 characters, as AWS's), the secret 40
URL-safe characters. A key checked in the last few seconds is answered from memory; a
revocation takes effect at once on this server process and within ``_TTL_S`` on others.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Final

from sqlalchemy import Connection, Row, select, update

from dockyard.errors import NotFound
from dockyard.server.actor import Actor, ActorKind, Role
from dockyard.server.auth._access import Access
from dockyard.server.auth._entities import AccessKeyInfo, CreateAccessKey, CreatedAccessKey
from dockyard.server.auth._sigv4 import SignatureRejected
from dockyard.server.events import EventLog
from dockyard.server.store import Database, schema
from dockyard.settings import Settings

__all__ = ["KEY_PREFIX", "AccessKeys"]

KEY_PREFIX: Final = "DYAK"
_K = schema.access_keys
_U = schema.users
_TTL_S = 5.0
_MAX_CACHE = 10_000
_DAY_MS = 86_400_000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _unrecognized(message: str) -> SignatureRejected:
    return SignatureRejected(
        message, json_code="UnrecognizedClientException", query_code="InvalidClientTokenId"
    )


def _entity(row: Any, user: str) -> AccessKeyInfo:
    return AccessKeyInfo(
        access_key_id=row.key_id,
        user=user,
        name=row.name,
        read_only=bool(row.read_only),
        created_time=row.created_time,
        expires_time=row.expires_time,
        revoked_time=row.revoked_time,
    )


class AccessKeys:
    """Access keys over the metadata database.

    Args:
        db: The metadata database.
        events: The event log (keys made and revoked are recorded).
        access: The permission rules.
        settings: ``token_ttl_days``, the default lifetime.
    """

    def __init__(self, db: Database, events: EventLog, access: Access, settings: Settings):
        self._db = db
        self._events = events
        self._access = access
        self._settings = settings
        self._cache: dict[str, tuple[float, Actor, str]] = {}

    def remembered(self, key_id: str) -> tuple[Actor, str] | None:
        """What :meth:`signer` answered for ``key_id`` within the last few seconds, without
        reading the database (so the event loop may ask); None when it has to read it."""
        hit = self._cache.get(key_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1], hit[2]
        return None

    def signer(self, key_id: str) -> tuple[Actor, str]:
        """The actor an access key stands for and its secret, to check a signature with;
        :class:`SignatureRejected` (``UnrecognizedClientException``) naming why it is not
        valid."""
        now = time.monotonic()
        hit = self.remembered(key_id)
        if hit is not None:
            return hit
        if not key_id.startswith(KEY_PREFIX):
            raise _unrecognized(f"{key_id[:40]!r} is not a Dockyard access key id (DYAK...)")
        with self._db.read() as conn:
            row = self._row(conn, key_id)
        if row is None:
            raise _unrecognized(f"the access key {key_id[:40]!r} does not exist")
        if row.revoked_time is not None:
            raise _unrecognized(f"the access key {key_id} was revoked")
        if row.expires_time is not None and row.expires_time <= _now_ms():
            raise _unrecognized(f"the access key {key_id} has expired; create a new one")
        if row.disabled:
            raise _unrecognized(f"user {row.user_name!r} is disabled")
        actor = Actor(
            ActorKind.USER,
            row.user_name,
            Role(row.role),
            user_id=int(row.user_id),
            read_only=bool(row.read_only),
            credential=f"access key {key_id}",
        )
        ttl = _TTL_S
        if row.expires_time is not None:
            ttl = min(ttl, (row.expires_time - _now_ms()) / 1000)
        if len(self._cache) >= _MAX_CACHE:
            self._cache.clear()
        self._cache[key_id] = (now + ttl, actor, str(row.secret))
        return actor, str(row.secret)

    def forget(self) -> None:
        """Drop remembered keys (after a revocation, a disabled or deleted account)."""
        self._cache.clear()

    def create(self, actor: Actor, request: CreateAccessKey) -> CreatedAccessKey:
        """A new access key for the actor (admins: for any account); its secret shown once."""
        owner = self._access.credential_owner(actor, request.user, "access keys")
        ttl_days = request.ttl_days or self._settings.token_ttl_days
        now = _now_ms()
        key_id = KEY_PREFIX + secrets.token_hex(8).upper()
        secret = secrets.token_urlsafe(30)
        with self._db.write() as conn:
            user = conn.execute(select(_U.c.user_id).where(_U.c.name == owner)).first()
            if user is None:
                raise NotFound(f"user {owner!r} does not exist", field="user")
            values = {
                "key_id": key_id,
                "user_id": int(user.user_id),
                "name": request.name,
                "secret": secret,
                "read_only": request.read_only,
                "created_time": now,
                "expires_time": now + int(ttl_days * _DAY_MS),
                "revoked_time": None,
            }
            conn.execute(_K.insert().values(**values))
            self._events.append(
                conn,
                actor,
                "access_key.created",
                "access_key",
                key_id,
                scope="auth",
                body={"user": owner, "name": request.name, "read_only": request.read_only},
            )
            row = self._row(conn, key_id)
        return CreatedAccessKey(**_entity(row, owner).model_dump(), secret_access_key=secret)

    def list(self, actor: Actor, user: str | None = None) -> list[AccessKeyInfo]:
        """The actor's access keys; admins name another account with ``user``. An actor with
        no account lists every key."""
        if user is not None and user != actor.name:
            self._access.require_admin(actor, f"list the access keys of {user!r}")
        query = select(_K, _U.c.name.label("user_name")).join(_U, _U.c.user_id == _K.c.user_id)
        with self._db.read() as conn:
            if user is not None or actor.user_id is not None:
                name = user or actor.name
                if conn.execute(select(_U.c.user_id).where(_U.c.name == name)).first() is None:
                    raise NotFound(f"user {name!r} does not exist", field="user")
                query = query.where(_U.c.name == name)
            rows = conn.execute(query.order_by(_K.c.created_time)).all()
        return [_entity(r, r.user_name) for r in rows]

    def revoke(self, actor: Actor, key_id: str) -> None:
        """Revoke an access key (yours, or any for admins); it stops signing at once."""
        with self._db.write() as conn:
            row = self._row(conn, key_id)
            if row is None:
                raise NotFound(f"access key {key_id[:40]!r} does not exist", field="access_key_id")
            if row.user_id != actor.user_id or actor.job is not None:
                self._access.require_admin(actor, f"revoke an access key of {row.user_name!r}")
            self._access.require_writing(actor, "revoke an access key")
            conn.execute(
                update(_K)
                .where(_K.c.key_id == key_id, _K.c.revoked_time.is_(None))
                .values(revoked_time=_now_ms())
            )
            self._events.append(
                conn,
                actor,
                "access_key.revoked",
                "access_key",
                key_id,
                scope="auth",
                body={"user": row.user_name},
            )
        self.forget()

    @staticmethod
    def revoke_all(conn: Connection, user_id: int, now: int) -> None:
        """Revoke every key of an account being disabled (inside that transaction)."""
        conn.execute(
            update(_K)
            .where(_K.c.user_id == user_id, _K.c.revoked_time.is_(None))
            .values(revoked_time=now)
        )

    @staticmethod
    def _row(conn: Connection, key_id: str) -> Row[Any] | None:
        query = (
            select(_K, _U.c.name.label("user_name"), _U.c.role, _U.c.disabled)
            .join(_U, _U.c.user_id == _K.c.user_id)
            .where(_K.c.key_id == key_id)
        )
        return conn.execute(query).first()

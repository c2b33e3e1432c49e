"""Accounts, tokens, sessions and grants; and turning a credential into an :class:`Actor`.

Authentication runs on every request, so its answers are cached in this process: a token
already seen costs one SHA-256 and a dictionary lookup; a password (MLflow's basic auth sends
it with every request) is checked with scrypt once, then remembered under a keyed digest, with
the stored hash it matched, for a minute: the account is read again every ``_TOKEN_TTL_S``, and
scrypt runs again only when its hash changed. A revoked token, a disabled account or a changed
password or role takes effect at once on this server process and within ``_TOKEN_TTL_S`` on the
others.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from typing import Any

import orjson
from sqlalchemy import Connection, select

from dockyard.errors import (
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
)
from dockyard.server.actor import Actor, ActorKind, JobScope, Level, Role
from dockyard.server.auth._access import EVERYONE, Access
from dockyard.server.auth._access_keys import AccessKeys
from dockyard.server.auth._areas import area_of, claim_area, retire_area
from dockyard.server.auth._entities import (
    RESOURCE_KINDS,
    CreatedToken,
    CreateToken,
    CreateUser,
    Grant,
    Login,
    SessionInfo,
    SetGrant,
    TokenInfo,
    UpdateUser,
    User,
)
from dockyard.server.auth._repository import AuthRepository, token_entity, user_entity
from dockyard.server.auth._secrets import (
    hash_password,
    new_credential,
    parse_credential,
    secret_digest,
    verify_password,
)
from dockyard.server.events import EventLog, Visible
from dockyard.server.store import Database, schema
from dockyard.settings import Settings

__all__ = ["TOKEN_PREFIX", "AuthService", "SessionCookie"]

TOKEN_PREFIX = "dyt"
SESSION_PREFIX = "dys"
_TOKEN_TTL_S = 5.0
_PASSWORD_TTL_S = 60.0
_REQUIRED_RECHECK_S = 2.0
_FAILURES_WINDOW_S = 600.0
_MAX_FAILURES = 10
_MAX_CACHE = 10_000
_DAY_MS = 86_400_000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class SessionCookie:
    """A new browser session: the cookie's value and what the page needs to know."""

    def __init__(self, value: str, info: SessionInfo, max_age_s: int) -> None:
        self.value = value
        self.info = info
        self.max_age_s = max_age_s


class _Throttle:
    """Refuses sign-in attempts for a name or address after repeated failures."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                seen = self._failures.get(key)
                while seen and seen[0] < now - _FAILURES_WINDOW_S:
                    seen.popleft()
                if seen and len(seen) >= _MAX_FAILURES:
                    wait = int(seen[0] + _FAILURES_WINDOW_S - now) + 1
                    raise RateLimited(
                        f"too many failed sign-ins; try again in {wait} s",
                        details={"retry_after_s": wait},
                    )

    def blocked(self, *keys: str) -> bool:
        try:
            self.check(*keys)
        except RateLimited:
            return True
        return False

    def failed(self, *keys: str) -> None:
        with self._lock:
            if len(self._failures) > _MAX_CACHE:
                self._failures.clear()
            for key in keys:
                self._failures.setdefault(key, deque(maxlen=_MAX_FAILURES)).append(time.monotonic())


class AuthService:
    """Identity over the metadata database.

    Args:
        db: The metadata database.
        events: The event log (sign-ins, tokens, accounts and grants are recorded).
        access: The permission rules.
        settings: ``auth``, ``token_ttl_days``, ``session_ttl_h``.
    """

    def __init__(self, db: Database, events: EventLog, access: Access, settings: Settings):
        self._db = db
        self._events = events
        self._access = access
        self._settings = settings
        self._repo = AuthRepository()
        self._key = secrets.token_bytes(32)  # keys the password cache; never leaves memory
        self._tokens: dict[str, tuple[float, Actor]] = {}
        self._passwords: dict[bytes, tuple[float, Actor]] = {}
        # keyed digest of a name and password -> (until, the stored hash it was checked against)
        self._verified: dict[bytes, tuple[float, str]] = {}
        self._required_at = 0.0
        self._required = settings.auth == "on"
        self._throttle = _Throttle()
        #: Access keys, whose SigV4 signatures stand for their accounts as tokens do.
        self.access_keys = AccessKeys(db, events, access, settings)

    # -- is sign-in required? ------------------------------------------------------------------

    @property
    def required(self) -> bool:
        """Whether requests must carry credentials: always with ``auth=on``; with ``auto``, once
        any account exists (it never turns off again in a running process)."""
        if self._required:
            return True
        now = time.monotonic()
        if now - self._required_at > _REQUIRED_RECHECK_S:
            self._required_at = now
            with self._db.read() as conn:
                self._required = self._repo.count_users(conn) > 0
        return self._required

    # -- credentials -> actor ------------------------------------------------------------------

    def cached_token(self, text: str) -> Actor | None:
        """The actor of a token checked in the last few seconds (no database, no wait)."""
        hit = self._tokens.get(text)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def by_token(self, text: str) -> Actor:
        """The actor a bearer token stands for; Unauthenticated when it is not valid."""
        now = time.monotonic()
        hit = self._tokens.get(text)
        if hit is not None and hit[0] > now:
            return hit[1]
        credential = parse_credential(text, TOKEN_PREFIX)
        if credential is None:
            raise Unauthenticated("the bearer token is not a Dockyard token")
        with self._db.read() as conn:
            row = self._repo.token_with_user(conn, credential.id)
        if row is None or not hmac.compare_digest(row.secret_hash, credential.digest):
            raise Unauthenticated("invalid token")
        if row.revoked_time is not None:
            raise Unauthenticated("this token was revoked")
        if row.expires_time is not None and row.expires_time <= _now_ms():
            raise Unauthenticated("this token has expired; create a new one")
        if row.disabled:
            raise Unauthenticated(f"user {row.user_name!r} is disabled")
        scopes = orjson.loads(row.scopes) if row.scopes else {}
        job = None
        if isinstance(scopes, dict) and isinstance(scopes.get("job"), dict):
            job = JobScope(**scopes["job"])
        actor = Actor(
            ActorKind.JOB if job else ActorKind.USER,
            row.user_name,
            Role(row.role),
            user_id=int(row.user_id),
            read_only=bool(isinstance(scopes, dict) and scopes.get("read_only")),
            job=job,
            token_id=row.token_id,
            credential=f"token {row.token_id}",
        )
        ttl = _TOKEN_TTL_S
        if row.expires_time is not None:
            ttl = min(ttl, (row.expires_time - _now_ms()) / 1000)
        self._remember(self._tokens, text, now + ttl, actor)
        return actor

    def account_actor(self, user_id: int) -> Actor:
        """The account ``user_id`` as an actor, as it is now (for work it set up earlier: a
        trigger firing). NotFound or PermissionDenied when it was deleted or disabled."""
        with self._db.read() as conn:
            row = self._repo.user_row_by_id(conn, user_id)
        if row is None:
            raise NotFound(f"account {user_id} no longer exists")
        if row.disabled:
            raise PermissionDenied(f"user {row.name!r} is disabled")
        return Actor(ActorKind.USER, row.name, Role(row.role), user_id=int(row.user_id))

    def personal_area(self, actor: Actor) -> str | None:
        """The actor's account's personal area of the artifact store (``data/users/<area>/``,
        ``checkpoints/<area>/``); None for actors without an account. Read each time, never
        cached by id: on SQLite the id of a deleted account may be handed out again."""
        if not actor.is_person or actor.user_id is None:
            return None
        with self._db.read() as conn:
            area = area_of(conn, actor.user_id)
        if area is None:  # deleted while the request was on its way
            raise Unauthenticated(f"the account {actor.name!r} no longer exists")
        return area

    def cached_password(self, username: str, password: str, source: str) -> Actor | None:
        """The account of a name and password checked in the last minute, unless this address
        is being throttled (no scrypt, no database, no wait)."""
        if self._throttle.blocked(f"addr:{source}", f"user:{username}@{source}"):
            return None
        hit = self._passwords.get(self._password_key(username, password))
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def _password_key(self, username: str, password: str) -> bytes:
        return hmac.new(self._key, f"{username}\0{password}".encode(), hashlib.sha256).digest()

    def by_password(self, username: str, password: str, source: str) -> Actor:
        """The account signed in with a name and password (MLflow's basic auth, ``login``)."""
        # Failures are counted per address (and per name from that address), and checked before
        # the cache: a guesser is slowed down even when the right password is cached, and
        # cannot lock the account's owner out from elsewhere.
        keys = (f"addr:{source}", f"user:{username}@{source}")
        self._throttle.check(*keys)
        key = self._password_key(username, password)
        now = time.monotonic()
        hit = self._passwords.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self._db.read() as conn:
            row = conn.execute(select(schema.users).where(schema.users.c.name == username)).first()
        # Another server process may have disabled the account, changed its role or password
        # since this one last looked: the row is read again once the actor's short cache
        # lapses, and scrypt is skipped only while the stored hash is the one it matched.
        verified = self._verified.get(key)
        known = (
            row is not None
            and row.password_hash is not None
            and verified is not None
            and verified[0] > now
            and hmac.compare_digest(verified[1], row.password_hash)
        )
        stored = None if row is None else row.password_hash  # None: a decoy is checked
        if not (known or verify_password(password, stored)) or row is None:
            self._throttle.failed(*keys)
            raise Unauthenticated("wrong user name or password")
        if row.disabled:
            raise Unauthenticated(f"user {username!r} is disabled")
        if not known:
            if len(self._verified) >= _MAX_CACHE:
                self._verified.clear()
            self._verified[key] = (now + _PASSWORD_TTL_S, str(row.password_hash))
        actor = Actor(
            ActorKind.USER,
            row.name,
            Role(row.role),
            user_id=int(row.user_id),
            credential="password",
        )
        self._remember(self._passwords, key, now + _TOKEN_TTL_S, actor)
        return actor

    @property
    def sessions_read_inline(self) -> bool:
        """Whether :meth:`by_session` may run on the event loop: on SQLite its read is a local
        indexed lookup, cheaper than a hop to a thread (see ``server/_route.py``); on
        PostgreSQL it is a network round trip and goes to a thread."""
        return self._db.dialect == "sqlite"

    def by_session(self, cookie: str) -> tuple[Actor, str]:
        """The actor of a browser session and the digest of its CSRF token (read each time:
        a signed-out session ends at once, in every server process)."""
        credential = parse_credential(cookie, SESSION_PREFIX)
        if credential is None:
            raise Unauthenticated("not signed in")
        with self._db.read() as conn:
            row = self._repo.session_with_user(conn, credential.id)
        if row is None or not hmac.compare_digest(row.secret_hash, credential.digest):
            raise Unauthenticated("this session has ended; sign in again")
        if row.expires_time <= _now_ms():
            raise Unauthenticated("this session has expired; sign in again")
        if row.disabled:
            raise Unauthenticated(f"user {row.user_name!r} is disabled")
        actor = Actor(
            ActorKind.USER,
            row.user_name,
            Role(row.role),
            user_id=int(row.user_id),
            credential="browser session",
        )
        return actor, str(row.csrf_hash)

    @staticmethod
    def _remember(
        cache: dict[Any, tuple[float, Actor]], key: Any, until: float, actor: Actor
    ) -> None:
        if len(cache) >= _MAX_CACHE:
            cache.clear()
        cache[key] = (until, actor)

    def forget_credentials(self) -> None:
        """Drop cached sign-ins (after a revocation, a password change, a disabled account)."""
        self._tokens.clear()
        self._passwords.clear()
        self._verified.clear()
        self.access_keys.forget()

    # -- accounts -------------------------------------------------------------------------------

    def create_user(self, actor: Actor, request: CreateUser) -> User:
        """Create an account. The first account must be an admin (it turns sign-in on)."""
        now = _now_ms()
        password = hash_password(request.password) if request.password else None
        with self._db.write() as conn:
            first = self._repo.count_users(conn) == 0
            if first and request.role is not Role.ADMIN:
                raise InvalidArgument(
                    "the first account must be an admin (--role admin): creating it turns "
                    "sign-in on",
                    field="role",
                )
            if not first:
                self._access.require_admin(actor, "create accounts")
            user_id = self._repo.create_user(
                conn, name=request.name, role=request.role.value, password_hash=password, now=now
            )
            area = claim_area(conn, request.name, user_id, now)
            self._events.append(
                conn,
                actor,
                "user.created",
                "user",
                request.name,
                scope="auth",
                body={"role": request.role.value, "password": password is not None, "area": area},
            )
            row = self._repo.user_row(conn, request.name)
        self._required_at = 0.0
        return user_entity(row)

    def list_users(self, actor: Actor) -> list[User]:
        self._access.require_admin(actor, "list accounts")
        with self._db.read() as conn:
            return [user_entity(r) for r in self._repo.users(conn)]

    def get_user(self, actor: Actor, name: str) -> User:
        if name != actor.name:
            self._access.require_admin(actor, "read other accounts")
        with self._db.read() as conn:
            return user_entity(self._repo.user_row(conn, name))

    def update_user(self, actor: Actor, name: str, request: UpdateUser) -> User:
        """Change an account's role, password or disabled flag. Users change their own password,
        giving the one they have (``current_password``): a session or token someone else holds
        cannot take the account over. The rest is for admins. The last active admin cannot be
        demoted or disabled. A new password ends the account's browser sessions."""
        own_password_only = name == actor.name and request.role is None and request.disabled is None
        if not own_password_only:
            self._access.require_admin(actor, f"change the account {name!r}")
        elif actor.job is not None or actor.read_only:
            self._access.require_admin(actor, "change a password")
        values: dict[str, Any] = {"updated_time": _now_ms()}
        if request.role is not None:
            values["role"] = request.role.value
        if request.disabled is not None:
            values["disabled"] = request.disabled
        if request.password is not None:
            if name == actor.name:  # before the new one is hashed: a wrong guess costs one scrypt
                self._check_current_password(actor, name, request.current_password)
            values["password_hash"] = hash_password(request.password)
        with self._db.write() as conn:
            row = self._repo.user_row(conn, name)
            demotes = row.role == Role.ADMIN.value and (
                values.get("role", Role.ADMIN.value) != Role.ADMIN.value or values.get("disabled")
            )
            if demotes and self._repo.count_admins(conn) <= 1:
                raise InvalidArgument(
                    f"{name!r} is the last admin: make another admin first", field="role"
                )
            self._repo.update_user(conn, int(row.user_id), **values)
            if values.get("disabled"):
                self._repo.revoke_tokens(conn, values["updated_time"], user_id=int(row.user_id))
                self.access_keys.revoke_all(conn, int(row.user_id), values["updated_time"])
            if "password_hash" in values:
                self._repo.delete_sessions_of(conn, int(row.user_id))
            changed = sorted(k for k in values if k != "updated_time")
            body: dict[str, Any] = {
                "changed": ["password" if k == "password_hash" else k for k in changed]
            }
            if request.role is not None:
                body["role"] = request.role.value
            self._events.append(conn, actor, "user.updated", "user", name, scope="auth", body=body)
            row = self._repo.user_row(conn, name)
        self.forget_credentials()
        return user_entity(row)

    def _check_current_password(self, actor: Actor, name: str, given: str | None) -> None:
        """Refuse an own password change without the password the account has now (none
        needed for a first one); wrong guesses count toward sign-in's throttle."""
        source = actor.source
        keys = (f"addr:{source}", f"user:{name}@{source}")
        self._throttle.check(*keys)  # RateLimited, saying when to try again
        with self._db.read() as conn:
            stored = self._repo.user_row(conn, name).password_hash
        if stored is None:
            return
        if given is None:
            raise InvalidArgument(
                "changing your own password needs the one you have now", field="current_password"
            )
        if not verify_password(given, stored):
            self._throttle.failed(*keys)
            raise PermissionDenied(
                "current_password is not this account's password", field="current_password"
            )

    def delete_user(self, actor: Actor, name: str) -> None:
        self._access.require_admin(actor, "delete accounts")
        with self._db.write() as conn:
            row = self._repo.user_row(conn, name)
            if row.role == Role.ADMIN.value and self._repo.count_admins(conn) <= 1:
                raise InvalidArgument(f"{name!r} is the last admin: make another admin first")
            self._repo.delete_user(conn, int(row.user_id))
            # Its files stay (jobs and models may still name them), writable by admins only:
            # the area is never handed out again, so an account made later under this name
            # gets a new one.
            retire_area(conn, int(row.user_id), _now_ms())
            body = {"area": row.area} if row.area is not None else None
            self._events.append(conn, actor, "user.deleted", "user", name, scope="auth", body=body)
        self.forget_credentials()

    # -- tokens ---------------------------------------------------------------------------------

    def create_token(self, actor: Actor, request: CreateToken) -> CreatedToken:
        """A new API token for the actor (admins: for any account), shown once."""
        owner = self._access.credential_owner(actor, request.user, "tokens")
        ttl_days = request.ttl_days or self._settings.token_ttl_days
        now = _now_ms()
        credential = new_credential()
        scopes = {"read_only": True} if request.read_only else {}
        with self._db.write() as conn:
            row = self._repo.user_row(conn, owner)
            values = {
                "token_id": credential.id,
                "user_id": int(row.user_id),
                "name": request.name,
                "secret_hash": credential.digest,
                "scopes": orjson.dumps(scopes).decode(),
                "job_id": None,
                "created_time": now,
                "expires_time": now + int(ttl_days * _DAY_MS),
                "revoked_time": None,
            }
            self._repo.insert_token(conn, values)
            self._events.append(
                conn,
                actor,
                "token.created",
                "token",
                credential.id,
                scope="auth",
                body={"user": owner, "name": request.name, "read_only": request.read_only},
            )
        info = token_entity(_Row(values), owner)
        return CreatedToken(**info.model_dump(), token=credential.text(TOKEN_PREFIX))

    def list_tokens(self, actor: Actor, user: str | None = None) -> list[TokenInfo]:
        """The actor's tokens; admins name another account with ``user``. An actor with no
        account (the local owner, anonymous on a server without accounts) lists every token."""
        if user is not None and user != actor.name:
            self._access.require_admin(actor, f"list the tokens of {user!r}")
        with self._db.read() as conn:
            if user is None and actor.user_id is None:
                rows = self._repo.tokens(conn, None)
            else:
                target = self._repo.user_row(conn, user or actor.name)
                rows = self._repo.tokens(conn, int(target.user_id))
        return [token_entity(r, r.user_name) for r in rows]

    def revoke_token(self, actor: Actor, token_id: str) -> None:
        with self._db.write() as conn:
            row = self._repo.token_with_user(conn, token_id)
            if row is None:
                raise NotFound(f"token {token_id!r} does not exist", field="token_id")
            if row.user_id != actor.user_id or actor.job is not None:
                self._access.require_admin(actor, f"revoke a token of {row.user_name!r}")
            if token_id != actor.token_id:  # a read-only token revokes itself, no other
                self._access.require_writing(actor, "revoke another token")
            self._repo.revoke_tokens(conn, _now_ms(), token_id=token_id)
            self._events.append(
                conn,
                actor,
                "token.revoked",
                "token",
                token_id,
                scope="auth",
                body={"user": row.user_name},
            )
        self.forget_credentials()

    def mint_job_token(
        self, conn: Connection, user_id: int, scope: JobScope, ttl_s: float
    ) -> str | None:
        """A token for one job, on behalf of the account ``user_id`` that submitted it (None
        when that account was deleted since: an account made later under the same name is
        someone else). Minted inside the transaction that starts the job."""
        row = self._repo.user_row_by_id(conn, user_id)
        if row is None:
            return None
        credential = new_credential()
        now = _now_ms()
        self._repo.insert_token(
            conn,
            {
                "token_id": credential.id,
                "user_id": int(row.user_id),
                "name": f"job {scope.job_name}",
                "secret_hash": credential.digest,
                "scopes": orjson.dumps({"job": dataclasses.asdict(scope)}).decode(),
                "job_id": scope.job_id,
                "created_time": now,
                "expires_time": now + int(ttl_s * 1000),
                "revoked_time": None,
            },
        )
        return credential.text(TOKEN_PREFIX)

    def revoke_job_tokens(self, conn: Connection, job_id: str) -> None:
        """Revoke a job's tokens once it has ended (inside the transaction that ends it)."""
        if self._repo.revoke_tokens(conn, _now_ms(), job_id=job_id):
            self.forget_credentials()

    # -- browser sessions -----------------------------------------------------------------------

    def login(self, request: Login, source: str) -> SessionCookie:
        """Start a browser session after checking the password."""
        actor = self.by_password(request.username, request.password, source).at(source)
        credential = new_credential()
        csrf = secrets.token_urlsafe(32)
        now = _now_ms()
        ttl_ms = int(self._settings.session_ttl_h * 3_600_000)
        with self._db.write() as conn:
            self._repo.delete_expired_sessions(conn, now)
            self._repo.insert_session(
                conn,
                {
                    "session_id": credential.id,
                    "user_id": actor.user_id,
                    "secret_hash": credential.digest,
                    "csrf_hash": secret_digest(csrf),
                    "created_time": now,
                    "expires_time": now + ttl_ms,
                },
            )
            self._events.append(conn, actor, "session.created", "user", actor.name, scope="auth")
        info = SessionInfo(
            user=actor.name, role=actor.role, csrf_token=csrf, expires_time=now + ttl_ms
        )
        return SessionCookie(credential.text(SESSION_PREFIX), info, ttl_ms // 1000)

    def logout(self, actor: Actor, cookie: str) -> None:
        credential = parse_credential(cookie, SESSION_PREFIX)
        if credential is None:
            return
        with self._db.write() as conn:
            self._repo.delete_session(conn, credential.id)
            self._events.append(conn, actor, "session.deleted", "user", actor.name, scope="auth")

    # -- the event log's readers ----------------------------------------------------------------

    def event_filter(self, actor: Actor) -> Visible | None:
        """Which events ``actor`` may read (None: all)."""
        if actor.is_admin or actor.user_id is None:
            return None
        with self._db.read() as conn:
            return self._access.visibility(conn, actor, RESOURCE_KINDS)

    # -- grants ---------------------------------------------------------------------------------

    def set_grant(self, actor: Actor, request: SetGrant) -> Grant:
        """Give a user (or everyone, ``*``) a level on a resource; needs ``manage`` on it."""
        level = Level.parse(request.level)
        with self._db.write() as conn:
            resource_id = _resource_id(conn, request.kind, request.resource)
            self._require(
                conn, actor, Level.MANAGE, request.kind, resource_id, "grant access to it"
            )
            if request.user == EVERYONE:
                principal = EVERYONE
            else:
                principal = str(self._repo.user_row(conn, request.user).user_id)
            self._access.grant(conn, request.kind, resource_id, principal, level)
            self._events.append(
                conn,
                actor,
                "grant.set",
                request.kind,
                resource_id,
                scope=f"{request.kind}:{resource_id}",
                body={"user": request.user, "level": level.label},
            )
        return Grant(
            kind=request.kind, resource=request.resource, user=request.user, level=level.label
        )

    def _require(
        self, conn: Connection, actor: Actor, needed: Level, kind: str, resource_id: str, what: str
    ) -> None:
        if kind != "parameter":
            self._access.require(conn, actor, needed, kind, resource_id, what)
            return
        # A parameter's grants are on its name or a path above it, and its creator owns it.
        p = schema.parameters
        owner = conn.execute(select(p.c.owner_id).where(p.c.name == resource_id)).scalar()
        self._access.paths(conn, actor, kind).require(needed, resource_id, owner, what)

    def list_grants(self, actor: Actor, kind: str, resource: str) -> list[Grant]:
        with self._db.read() as conn:
            resource_id = _resource_id(conn, kind, resource)
            self._require(conn, actor, Level.READ, kind, resource_id, "see who may use it")
            names = {str(r.user_id): r.name for r in self._repo.users(conn)}
            return [
                Grant(kind=kind, resource=resource, user=names.get(p, p), level=level.label)
                for p, level in self._access.grants(conn, kind, resource_id)
            ]


class _Row:
    """Attribute access over a dict, to build an entity from values just inserted."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _parameter_resource(conn: Connection, resource: str) -> str:
    """A parameter's name (which must exist), or a path ending in ``/`` that covers every name
    under it, existing or not (``/`` covers all)."""
    from dockyard.api.params import check_name, check_path

    if resource.endswith("/"):
        return check_path(resource, field="resource")
    check_name(resource, field="resource")
    p = schema.parameters
    if conn.execute(select(p.c.name).where(p.c.name == resource)).first() is None:
        raise NotFound(
            f"parameter {resource!r} does not exist (a path ending in / may be granted before "
            "anything is under it)",
            field="resource",
        )
    return resource


def _resource_id(conn: Connection, kind: str, resource: str) -> str:
    """The id grants are kept under: experiments by id (or found by name), models by their
    internal id (a rename keeps its grants), endpoints by name. NotFound names the resource."""
    if kind == "experiment":
        e = schema.experiments
        if resource.isascii() and resource.isdigit() and len(resource) < 19:
            query = select(e.c.experiment_id).where(e.c.experiment_id == int(resource))
        else:
            query = select(e.c.experiment_id).where(e.c.name == resource)
    elif kind == "registered_model":
        m = schema.registered_models
        query = select(m.c.model_id).where(m.c.name == resource)
    elif kind == "parameter":
        return _parameter_resource(conn, resource)
    else:
        p = schema.endpoints
        query = select(p.c.name).where(p.c.name == resource)
    found = conn.execute(query).scalar()
    if found is None:
        raise NotFound(f"{kind.replace('_', ' ')} {resource!r} does not exist", field="resource")
    return str(found)

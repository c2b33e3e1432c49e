"""Identity and permissions: accounts, API tokens, browser sessions, roles and grants.

Runs in the server. One ASGI middleware (:mod:`dockyard.server._auth`) turns each request's
credentials into an :class:`Actor` (bearer token, MLflow's basic auth, a session cookie with its
CSRF token, or anonymous where sign-in is not required); services take that actor as their first
argument and ask :class:`Access` whether it may act. Layout::

    _actor.py       Actor, Role, Level, JobScope: the words
    _secrets.py     scrypt password hashes; bearer credentials <prefix>_<id>_<secret>
    _access.py      the permission rules, in one place (read its docstring)
    _entities.py    request and resource models of the API
    _repository.py  SQL for users, tokens, sessions
    _service.py     accounts, tokens, sessions, grants; credential -> Actor, cached
    _store.py       which areas of the artifact store a spec may name, by their owners
"""

from __future__ import annotations

from dockyard.auth._access import EVERYONE, Access, PathAccess
from dockyard.auth._actor import Actor, ActorKind, JobScope, Level, Role
from dockyard.auth._entities import (
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
from dockyard.auth._service import TOKEN_PREFIX, AuthService, SessionCookie
from dockyard.auth._store import StoreAreas

__all__ = [
    "EVERYONE",
    "TOKEN_PREFIX",
    "Access",
    "Actor",
    "ActorKind",
    "AuthService",
    "CreateToken",
    "CreateUser",
    "CreatedToken",
    "Grant",
    "JobScope",
    "Level",
    "Login",
    "PathAccess",
    "Role",
    "SessionCookie",
    "SessionInfo",
    "SetGrant",
    "StoreAreas",
    "TokenInfo",
    "UpdateUser",
    "User",
]

"""Identity and permissions: accounts, API tokens, browser sessions, roles and grants.

Runs in the server. One ASGI middleware (:mod:`dockyard.server._auth`) turns each request's
credentials into an :class:`Actor` (bearer token, MLflow's basic auth, a session cookie with its
CSRF token, or anonymous where sign-in is not required); services take that actor as their first
argument and ask :class:`Access` whether it may act. Layout::

    _actor.py       Actor, Role, Level, JobScope: the words
    _secrets.py     scrypt password hashes; bearer credentials <prefix>_<id>_<secret>
    _sigv4.py       AWS SigV4 signatures, checked against an access key's secret
    _access_keys.py access keys (DYAK...): their secrets, kept to check signatures
    _access.py      the permission rules, in one place (read its docstring)
    _entities.py    request and resource models of the API
    _repository.py  SQL for users, tokens, sessions
    _service.py     accounts, tokens, sessions, grants; credential -> Actor, cached
    _store.py       which areas of the artifact store a spec may name, by their owners
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.server.auth._access import EVERYONE, Access, PathAccess
    from dockyard.server.auth._access_keys import KEY_PREFIX, AccessKeys
    from dockyard.server.auth._entities import (
        AccessKeyInfo,
        CreateAccessKey,
        CreatedAccessKey,
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
    from dockyard.server.auth._secrets import secret_digest
    from dockyard.server.auth._service import TOKEN_PREFIX, AuthService, SessionCookie
    from dockyard.server.auth._sigv4 import (
        SignatureRejected,
        SignedRequest,
        check_signature,
        parse_authorization,
    )
    from dockyard.server.auth._store import StoreAreas

__all__ = [
    "EVERYONE",
    "KEY_PREFIX",
    "TOKEN_PREFIX",
    "Access",
    "AccessKeyInfo",
    "AccessKeys",
    "AuthService",
    "CreateAccessKey",
    "CreateToken",
    "CreateUser",
    "CreatedAccessKey",
    "CreatedToken",
    "Grant",
    "Login",
    "PathAccess",
    "SessionCookie",
    "SessionInfo",
    "SetGrant",
    "SignatureRejected",
    "SignedRequest",
    "StoreAreas",
    "TokenInfo",
    "UpdateUser",
    "User",
    "check_signature",
    "parse_authorization",
    "secret_digest",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "Access": "._access",
        "AccessKeyInfo": "._entities",
        "AccessKeys": "._access_keys",
        "CreateAccessKey": "._entities",
        "CreatedAccessKey": "._entities",
        "KEY_PREFIX": "._access_keys",
        "SignatureRejected": "._sigv4",
        "SignedRequest": "._sigv4",
        "check_signature": "._sigv4",
        "parse_authorization": "._sigv4",
        "AuthService": "._service",
        "CreateToken": "._entities",
        "CreateUser": "._entities",
        "CreatedToken": "._entities",
        "EVERYONE": "._access",
        "Grant": "._entities",
        "Login": "._entities",
        "PathAccess": "._access",
        "SessionCookie": "._service",
        "SessionInfo": "._entities",
        "SetGrant": "._entities",
        "StoreAreas": "._store",
        "TOKEN_PREFIX": "._service",
        "TokenInfo": "._entities",
        "UpdateUser": "._entities",
        "User": "._entities",
        "secret_digest": "._secrets",
    },
)

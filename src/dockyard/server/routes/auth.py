"""Accounts, tokens, access keys, browser sessions and grants: ``/api/v1/users``, ``/tokens``,
``/access-keys``, ``/session``, ``/grants``, ``/whoami``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from dockyard.server._auth import SESSION_COOKIE
from dockyard.server._deps import ActorDep, AuthDep
from dockyard.server._route import OneHopRoute
from dockyard.server.actor import ActorKind
from dockyard.server.auth import (
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

router = APIRouter(prefix="/api/v1", tags=["auth"], route_class=OneHopRoute)

UserName = Annotated[str, Query(min_length=1, max_length=64)]


class WhoAmI(BaseModel):
    name: str
    kind: str
    role: str
    read_only: bool
    job: str | None = None
    auth_required: bool


class UserList(BaseModel):
    users: list[User]


class TokenList(BaseModel):
    tokens: list[TokenInfo]


class AccessKeyList(BaseModel):
    access_keys: list[AccessKeyInfo]


class GrantList(BaseModel):
    grants: list[Grant]


# async: it reads only the actor and the sign-in flag, which the authentication layer has just
# consulted on the loop itself; a thread hop would cost more than the answer.
@router.get("/whoami")
async def whoami(actor: ActorDep, auth: AuthDep) -> WhoAmI:
    """Who this request acts as, and whether the server requires signing in."""
    return WhoAmI(
        name=actor.name,
        kind=actor.kind.value,
        role=actor.role.value,
        read_only=actor.read_only,
        job=actor.job.job_name if actor.job else None,
        auth_required=auth.required,
    )


# -- browser sessions ---------------------------------------------------------------------------


class SessionState(BaseModel):
    """Whether this request is signed in, and as whom (``whoami`` is null when it is not)."""

    signed_in: bool
    auth_required: bool
    whoami: WhoAmI | None = None


@router.get("/session")
async def session_state(actor: ActorDep, auth: AuthDep) -> SessionState:
    """Who this request acts as, answered (never refused) without credentials: the web UI asks
    this first, and a browser that has not signed in yet is not an error (a 401 would be one
    in its console). Where sign-in is not required, an anonymous request is signed in."""
    if auth.required and actor.kind is ActorKind.ANONYMOUS:
        return SessionState(signed_in=False, auth_required=True)
    return SessionState(
        signed_in=True, auth_required=auth.required, whoami=await whoami(actor, auth)
    )


@router.post("/session")
async def login(body: Login, request: Request, response: Response, auth: AuthDep) -> SessionInfo:
    """Sign in with a name and password: sets the session cookie and answers the CSRF token
    every change made with the cookie must carry in ``X-CSRF-Token``."""
    source = request.client.host if request.client else ""
    session = await run_in_threadpool(auth.login, body, source)
    response.set_cookie(
        SESSION_COOKIE,
        session.value,
        max_age=session.max_age_s,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return session.info


@router.delete("/session", status_code=204)
def logout(request: Request, actor: ActorDep, auth: AuthDep) -> Response:
    """End the browser session."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        auth.logout(actor, cookie)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- accounts -----------------------------------------------------------------------------------


@router.post("/users", status_code=201)
def create_user(body: CreateUser, actor: ActorDep, auth: AuthDep) -> User:
    """Create an account (admins; the first account, which must be an admin, by anyone who may
    reach a server without accounts)."""
    return auth.create_user(actor, body)


@router.get("/users")
def list_users(actor: ActorDep, auth: AuthDep) -> UserList:
    """Every account (admins)."""
    return UserList(users=auth.list_users(actor))


@router.get("/users/{name}")
def get_user(name: str, actor: ActorDep, auth: AuthDep) -> User:
    """One account (your own, or any for admins)."""
    return auth.get_user(actor, name)


@router.patch("/users/{name}")
def update_user(name: str, body: UpdateUser, actor: ActorDep, auth: AuthDep) -> User:
    """Change a role, a password or the disabled flag (your own password, or anything for
    admins). Disabling an account revokes its tokens."""
    return auth.update_user(actor, name, body)


@router.delete("/users/{name}", status_code=204)
def delete_user(name: str, actor: ActorDep, auth: AuthDep) -> Response:
    """Delete an account with its tokens, sessions and grants (admins)."""
    auth.delete_user(actor, name)
    return Response(status_code=204)


# -- tokens -------------------------------------------------------------------------------------


@router.post("/tokens", status_code=201)
def create_token(body: CreateToken, actor: ActorDep, auth: AuthDep) -> CreatedToken:
    """A new API token, shown once in ``token``; stored only as a digest."""
    return auth.create_token(actor, body)


@router.get("/tokens")
def list_tokens(actor: ActorDep, auth: AuthDep, user: UserName | None = None) -> TokenList:
    """Your tokens (admins: anyone's with ``user``); never their secrets."""
    return TokenList(tokens=auth.list_tokens(actor, user))


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, actor: ActorDep, auth: AuthDep) -> Response:
    """Revoke a token (yours, or any for admins)."""
    auth.revoke_token(actor, token_id)
    return Response(status_code=204)


# -- access keys --------------------------------------------------------------------------------


@router.post("/access-keys", status_code=201)
def create_access_key(body: CreateAccessKey, actor: ActorDep, auth: AuthDep) -> CreatedAccessKey:
    """A new access key for AWS clients (SigV4); its secret is shown once, in
    ``secret_access_key``, and kept by the server to check signatures."""
    return auth.access_keys.create(actor, body)


@router.get("/access-keys")
def list_access_keys(actor: ActorDep, auth: AuthDep, user: UserName | None = None) -> AccessKeyList:
    """Your access keys (admins: anyone's with ``user``); never their secrets."""
    return AccessKeyList(access_keys=auth.access_keys.list(actor, user))


@router.delete("/access-keys/{access_key_id}", status_code=204)
def revoke_access_key(access_key_id: str, actor: ActorDep, auth: AuthDep) -> Response:
    """Revoke an access key (yours, or any for admins)."""
    auth.access_keys.revoke(actor, access_key_id)
    return Response(status_code=204)


# -- grants -------------------------------------------------------------------------------------


@router.put("/grants")
def set_grant(body: SetGrant, actor: ActorDep, auth: AuthDep) -> Grant:
    """Give a user (or ``*``, everyone signed in) a level on an experiment, registered model or
    endpoint; ``none`` removes it. Needs ``manage`` on the resource."""
    return auth.set_grant(actor, body)


@router.get("/grants")
def list_grants(
    actor: ActorDep,
    auth: AuthDep,
    kind: Annotated[str, Query(max_length=32)],
    resource: Annotated[str, Query(min_length=1, max_length=256)],
) -> GrantList:
    """Who holds which level on one resource."""
    return GrantList(grants=auth.list_grants(actor, kind, resource))

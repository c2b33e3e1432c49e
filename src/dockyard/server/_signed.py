"""Requests signed with an access key (AWS SigV4): who signed them, checked.

A signature covers the body's SHA-256, so a request whose ``Authorization`` names a Dockyard
access key (``Credential=DYAK.../...``) is read whole here, up to the server's request size
limit, before any route sees it, then handed on as received. The key's secret comes from
:class:`dockyard.server.auth.AccessKeys` (remembered for a few seconds, so a busy client costs
four HMACs and a SHA-256 of its body per request, no database read).

A signed request whose key id is not a Dockyard access key keeps the older path of
:mod:`dockyard.server._auth`: its session token (``X-Amz-Security-Token``) is the credential.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.types import Message, Receive, Scope

from dockyard.errors import PayloadTooLarge
from dockyard.server.actor import Actor
from dockyard.server.auth import (
    KEY_PREFIX,
    AuthService,
    SignedRequest,
    check_signature,
    parse_authorization,
)

__all__ = ["access_key_of", "signed_actor"]


def access_key_of(authorization: str) -> SignedRequest | None:
    """The parsed header when it names a Dockyard access key; None for any other key id (the
    session token is then the credential). IncompleteSignature when it is malformed."""
    credential = authorization.partition("Credential=")[2]
    if not credential.strip().startswith(KEY_PREFIX):
        return None
    return parse_authorization(authorization)


async def signed_actor(
    auth: AuthService,
    signed: SignedRequest,
    scope: Scope,
    receive: Receive,
    max_bytes: int,
) -> tuple[Actor, Receive]:
    """The access key's actor once the request's signature is checked, and a ``receive`` that
    replays the body read to check it. SignatureRejected shaped for AWS otherwise."""
    keys = auth.access_keys
    # A key seen lately is answered here; reading one from the database goes to a thread
    # (a hop costs more than the whole check of a busy client's request).
    known = keys.remembered(signed.key_id)
    if known is None:
        known = await run_in_threadpool(keys.signer, signed.key_id)
    actor, secret = known
    body = await _body(receive, max_bytes)
    check_signature(
        signed,
        secret,
        method=scope["method"],
        # Some ASGI servers put the query in raw_path too; the path is what is signed here.
        raw_path=(scope.get("raw_path") or scope["path"].encode()).split(b"?", 1)[0],
        query=scope.get("query_string", b""),
        headers=scope["headers"],
        body=body,
        now=datetime.now(UTC),
    )
    return actor, _replay(body, receive)


async def _body(receive: Receive, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(
                f"request body over the {max_bytes // (1024 * 1024)} MB limit", field="body"
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, then: Receive) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await then()  # after the body: disconnect notices

    return receive

"""Requests signed with an access key (AWS SigV4): who signed them, checked.

A signature covers the body's SHA-256, so a request whose ``Authorization`` names a Dockyard
access key (``Credential=DYAK.../...``) is read whole here, up to the server's request size
limit, before any route sees it, then handed on as received. Until it is checked, a body holds
at most :data:`IN_MEMORY` bytes of memory; the rest waits in a temporary file. The key's secret
comes from :class:`dockyard.server.auth.AccessKeys` (remembered for a few seconds, so a busy
client costs four HMACs and a SHA-256 of its body per request, no database read).

A signed request whose key id is not a Dockyard access key keeps the older path of
:mod:`dockyard.server._auth`: its session token (``X-Amz-Security-Token``) is the credential.
"""

from __future__ import annotations

import hashlib
import tempfile
import weakref
from datetime import UTC, datetime
from typing import IO

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

__all__ = ["IN_MEMORY", "access_key_of", "signed_actor"]

#: Of a signed body read before its signature is checked, what is held in memory; the rest waits
#: in a temporary file.
IN_MEMORY = 1024 * 1024


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
    body = await _Body.read(receive, max_bytes)
    try:
        check_signature(
            signed,
            secret,
            method=scope["method"],
            # Some ASGI servers put the query in raw_path too; the path is what is signed here.
            raw_path=(scope.get("raw_path") or scope["path"].encode()).split(b"?", 1)[0],
            query=scope.get("query_string", b""),
            headers=scope["headers"],
            body_sha256=body.sha256,
            now=datetime.now(UTC),
        )
    except BaseException:
        body.close()
        raise
    return actor, body.replay(receive)


class _Body:
    """A request body read to check its signature: held in memory up to :data:`IN_MEMORY`,
    beyond that in a temporary file, so a body nobody has signed yet costs no more memory than
    that, however large the request size limit lets it be. Hashed as it arrives."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.file: IO[bytes] | None = None
        self._hash = hashlib.sha256()

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    @classmethod
    async def read(cls, receive: Receive, max_bytes: int) -> _Body:
        body = cls()
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    break
                body.add(message.get("body", b""), max_bytes)
                if not message.get("more_body", False):
                    break
        except BaseException:
            body.close()
            raise
        return body

    def add(self, chunk: bytes, max_bytes: int) -> None:
        self.size += len(chunk)
        if self.size > max_bytes:
            raise PayloadTooLarge(
                f"request body over the {max_bytes // (1024 * 1024)} MB limit", field="body"
            )
        self._hash.update(chunk)
        if self.file is None and self.size > IN_MEMORY:
            self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by replay or close)
            for held in self.chunks:
                self.file.write(held)
            self.chunks = []
        if self.file is not None:
            self.file.write(chunk)
        else:
            self.chunks.append(chunk)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()

    def replay(self, then: Receive) -> Receive:
        """A ``receive`` that gives the body as it came (in pieces, from a file), then
        whatever ``then`` gives (disconnect notices)."""
        file = self.file
        if file is not None:
            file.seek(0)
        whole = b"".join(self.chunks) if file is None else b""
        done = False

        async def receive() -> Message:
            nonlocal done
            if done:
                return await then()
            if file is None:
                done = True
                return {"type": "http.request", "body": whole, "more_body": False}
            piece = file.read(IN_MEMORY)
            more = file.tell() < self.size
            if not more:
                done = True
                file.close()
            return {"type": "http.request", "body": piece, "more_body": more}

        if file is not None:  # a route that reads no further still lets the file go
            weakref.finalize(receive, file.close)
        return receive
